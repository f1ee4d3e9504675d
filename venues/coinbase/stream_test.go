package coinbase

import (
	"strconv"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/transport/ws"
	"github.com/pype-go/pype/venues"
)

// flowFixture is a tradeFlow over the fake REST history (ids 1…100000, one
// trade per 10 ms), collecting what it delivers.
func flowFixture(t *testing.T, lost map[int64]bool) (*tradeFlow, *fakeREST, *prodState, *[]int64, *[]venues.Gap) {
	return flowFixtureTo(t, 100_000, lost)
}

// flowFixtureTo is flowFixture with the venue's newest trade (and clock,
// one second later) at newest.
func flowFixtureTo(t *testing.T, newest int64, lost map[int64]bool) (*tradeFlow, *fakeREST, *prodState, *[]int64, *[]venues.Gap) {
	f := &fakeREST{first: 1, newest: newest, timeOf: func(id int64) int64 { return 1_700_000_000_000 + id*10 }, lost: lost}
	a := openFake(t, newFake(t, f), venues.Config{})
	ps := &prodState{sym: btcusd, product: "BTC-USD"}
	var got []int64
	var gaps []venues.Gap
	h := &tradeFlow{ctx: t.Context(), a: a, byProduct: map[string]*prodState{"BTC-USD": ps}, order: []*prodState{ps},
		gapFn: func(g venues.Gap) { gaps = append(gaps, g) }}
	h.deliver = func(_ *prodState, tr domain.Trade) bool {
		id, _ := strconv.ParseInt(tr.ID, 10, 64)
		got = append(got, id)
		return true
	}
	return h, f, ps, &got, &gaps
}

func matchMsg(f *fakeREST, id int64) *wsMsg {
	return &wsMsg{Kind: msgMatch, Product: []byte("BTC-USD"), Trade: trade{ID: id, Trade: domain.Trade{ID: strconv.FormatInt(id, 10),
		Time: domain.MillisToNanos(f.timeOf(id)), Price: d("100.00"), Amount: d("0.001"), Side: domain.Buy}}}
}

func TestTradeFlowFillsJumpsAndDropsDuplicates(t *testing.T) {
	h, f, ps, got, gaps := flowFixture(t, nil)
	ps.last = 50_000
	for _, id := range []int64{50_001, 50_001, 50_002, 52_600, 52_599, 52_601} {
		if !h.match(ps, matchMsg(f, id), 1) {
			t.Fatal("stopped")
		}
	}
	if len(*got) != 2601 || (*got)[0] != 50_001 || (*got)[2600] != 52_601 || len(*gaps) != 0 || h.filled != 2597 {
		t.Fatalf("%d trades (%v … %v), %d filled, gaps %v", len(*got), (*got)[0], (*got)[len(*got)-1], h.filled, *gaps)
	}
	for i := 1; i < len(*got); i++ {
		if (*got)[i] != (*got)[i-1]+1 {
			t.Fatalf("ids %d then %d", (*got)[i-1], (*got)[i])
		}
	}
}

func TestTradeFlowHeartbeatAheadTwiceFills(t *testing.T) {
	h, _, ps, got, _ := flowFixture(t, nil)
	ps.last = 99_990
	hb := &wsMsg{Kind: msgHeartbeat, Product: []byte("BTC-USD"), LastTradeID: 99_995}
	h.heartbeat(ps, hb) // once: maybe a match in flight
	if len(*got) != 0 {
		t.Fatal("filled on the first heartbeat")
	}
	hb.LastTradeID = 99_997
	h.heartbeat(ps, hb) // twice: lost — fill up to the first one's id
	if len(*got) != 5 || ps.last != 99_995 {
		t.Fatalf("%v, last %d", *got, ps.last)
	}
	// Catch up with the newest after a reconnection.
	if !h.resumed() || ps.last != 100_000 || len(*got) != 10 {
		t.Fatalf("%v, last %d", *got, ps.last)
	}
	// A heartbeat at or behind the stream clears the pending one.
	hb.LastTradeID = 100_000
	h.heartbeat(ps, hb)
	if ps.hbAhead != 0 {
		t.Fatal("pending heartbeat kept")
	}
}

func TestTradeFlowReportsIDsRESTCannotServe(t *testing.T) {
	lost := map[int64]bool{}
	for id := int64(70_010); id < 70_020; id++ {
		lost[id] = true
	}
	h, f, ps, got, gaps := flowFixture(t, lost)
	ps.last = 70_000
	h.match(ps, matchMsg(f, 70_100), 1)
	if len(*got) != 90 || len(*gaps) != 1 || (*gaps)[0].FirstID != "70010" || (*gaps)[0].LastID != "70019" {
		t.Fatalf("%d trades, gaps %+v", len(*got), *gaps)
	}
}

func TestCandleAggregationAndSeeding(t *testing.T) {
	// One trade per 10 ms; 1m bars hold 6000 trades. The stream starts at
	// trade 90_000 (last_match), 30 s into a minute (the venue's clock is
	// 1 s later): the minute's first 3000 trades come from REST (3 pages).
	start := int64(90_000)
	h, f, ps, _, _ := flowFixtureTo(t, start, nil)
	a := h.a
	var bars []domain.OHLCBar
	c := &candleStream{tradeFlow: *h, span: domain.Span1m, req: venues.StreamRequest{Span: domain.Span1m}}
	c.yield = func(ev venues.CandleEvent, _ error) bool { bars = append(bars, ev.Bar); return true }
	c.deliver = c.add
	a.opt.seedPages = 10
	ps.agg = &barAgg{completeFrom: 1 << 62}
	lm := matchMsg(f, start)
	lm.Kind = msgLastMatch
	if !c.seed(ps, lm) || ps.last != start {
		t.Fatalf("seed: last %d", ps.last)
	}
	open := domain.Span1m.Floor(domain.MillisToNanos(f.timeOf(start)))
	if ps.agg.completeFrom != open || !ps.agg.has || ps.agg.bar.OpenTime != open {
		t.Fatalf("agg %+v", ps.agg)
	}
	// Stream the rest of this minute and the next two; a heartbeat closes
	// the third.
	end := start + 13_000
	for id := start + 1; id <= end; id++ {
		c.match(ps, matchMsg(f, id), 1)
	}
	hb := &wsMsg{Kind: msgHeartbeat, Product: []byte("BTC-USD"), LastTradeID: end, Time: domain.MillisToNanos(f.timeOf(end)) + int64(time.Minute)}
	c.message(wsFrame(), hb)
	if len(bars) != 3 {
		t.Fatalf("%d bars", len(bars))
	}
	for i, b := range bars {
		from := (b.OpenTime/1e6 - 1_700_000_000_000) / 10
		if from*10+1_700_000_000_000 < b.OpenTime/1e6 {
			from++
		}
		to := from + int64(time.Minute/time.Millisecond)/10 - 1
		if i == 2 {
			to = end
		}
		if vol, _ := d("0.001").Mul(d(strconv.FormatInt(to-from+1, 10))); b.Trades != to-from+1 || !b.Closed || b.Volume.Cmp(vol) != 0 {
			t.Fatalf("bar %d: %+v (ids %d…%d)", i, b, from, to)
		}
	}
}

func wsFrame() ws.Frame { return ws.Frame{Received: 1} }

func TestCandleStreamSkipsBarsWithLostTrades(t *testing.T) {
	start := int64(90_000) // 30 s into a minute
	lost := map[int64]bool{}
	for id := start + 1000; id < start+1010; id++ {
		lost[id] = true // 10 s later, in the same minute
	}
	h, f, ps, _, _ := flowFixtureTo(t, start+20_000, lost)
	var bars []domain.OHLCBar
	var gaps []venues.Gap
	c := &candleStream{tradeFlow: *h, span: domain.Span1m, req: venues.StreamRequest{Span: domain.Span1m, Gap: func(g venues.Gap) { gaps = append(gaps, g) }}}
	c.yield = func(ev venues.CandleEvent, _ error) bool { bars = append(bars, ev.Bar); return true }
	c.deliver = c.add
	c.onGap = c.lost
	ps.agg = &barAgg{completeFrom: 1 << 62}
	ps.last = start
	ps.agg.completeFrom = domain.Span1m.Floor(domain.MillisToNanos(f.timeOf(start)))
	// The stream jumps over the lost ids (REST cannot serve them either),
	// then runs through the next two minutes.
	for id := start + 1; id <= start+13_000; id++ {
		if !lost[id] {
			c.match(ps, matchMsg(f, id), 1)
		}
	}
	lostMinute := domain.Span1m.Floor(domain.MillisToNanos(f.timeOf(start + 1000)))
	if len(bars) != 1 || bars[0].OpenTime != domain.Span1m.Next(lostMinute) {
		t.Fatalf("%d bars: %+v", len(bars), bars)
	}
	if len(gaps) != 1 || gaps[0].Range != (domain.Range{Start: lostMinute, End: domain.Span1m.Next(lostMinute)}) {
		t.Fatalf("gaps %+v", gaps)
	}
}
