package sim

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
)

var testNow = time.Date(2024, 3, 15, 12, 30, 0, 0, time.UTC)

func testMarket(t testing.TB, hist time.Duration) *Market {
	t.Helper()
	m, err := NewMarket(MarketConfig{Venue: "test", Seed: 42, Now: testNow, History: hist, Frozen: true})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var btc = domain.NewSymbol("BTC", "USDT")

func TestTradeIDsContiguousAcrossHourAndDayBoundaries(t *testing.T) {
	m := testMarket(t, 3*24*time.Hour)
	sr := m.Series(btc)
	cut := m.NowMs()
	// Start one hour before a day boundary and walk 26 hours.
	day := domain.FloorDiv(m.StartMs(), 86400_000)*86400_000 + 86400_000
	from := day - 3600_000
	var prevAgg, prevTrade, prevT int64
	n := 0
	for a := range sr.AggTradesFrom(from, cut) {
		if a.Time >= day+25*3600_000 {
			break
		}
		if n > 0 {
			if a.ID != prevAgg+1 {
				t.Fatalf("agg id gap: %d after %d", a.ID, prevAgg)
			}
			if a.FirstTradeID != prevTrade+1 {
				t.Fatalf("trade id gap: %d after %d", a.FirstTradeID, prevTrade)
			}
			if a.Time < prevT {
				t.Fatalf("time goes back: %d after %d", a.Time, prevT)
			}
		}
		if a.LastTradeID < a.FirstTradeID || a.Qty < a.LastTradeID-a.FirstTradeID+1 || a.Price < 1 {
			t.Fatalf("bad agg %+v", a)
		}
		prevAgg, prevTrade, prevT = a.ID, a.LastTradeID, a.Time
		n++
	}
	if n < 1000 {
		t.Fatalf("only %d aggs in 26 h", n)
	}
	// Raw trades are contiguous too, and agree with the aggs.
	var prev int64
	k := 0
	for tr := range sr.TradesFrom(from, cut) {
		if tr.Time >= day+3600_000 {
			break
		}
		if k > 0 && tr.ID != prev+1 {
			t.Fatalf("raw trade gap %d after %d", tr.ID, prev)
		}
		prev = tr.ID
		k++
	}
}

func TestRandomAccessEqualsSequential(t *testing.T) {
	// A day in month three, generated directly in a fresh market, equals the
	// same day reached by walking every trade from the start in another.
	hist := 95 * 24 * time.Hour
	direct := testMarket(t, hist)
	seq := testMarket(t, hist)
	day := domain.FloorDiv(direct.StartMs(), 86400_000)*86400_000 + 70*86400_000
	cut := direct.NowMs()

	var want []AggTrade
	for a := range direct.Series(btc).AggTradesFrom(day, cut) {
		if a.Time >= day+86400_000 {
			break
		}
		want = append(want, a)
	}
	if len(want) == 0 {
		t.Fatal("no trades")
	}
	sr := seq.Series(btc)
	if testing.Short() {
		// Sequential in hour steps (every hour generated, in order).
		for h := seq.StartMs(); h < day; h += 3600_000 {
			sr.hour(h / 3600_000)
		}
	} else {
		for a := range sr.AggTradesFrom(seq.StartMs(), cut) {
			if a.Time >= day {
				break
			}
		}
	}
	i := 0
	for a := range sr.AggTradesFrom(day, cut) {
		if a.Time >= day+86400_000 {
			break
		}
		if i >= len(want) || a != want[i] {
			t.Fatalf("trade %d differs: %+v vs %+v", i, a, want[min(i, len(want)-1)])
		}
		i++
	}
	if i != len(want) {
		t.Fatalf("sequential has %d trades, direct %d", i, len(want))
	}
	// And by id.
	first := want[0].ID
	j := 0
	for a := range direct.Series(btc).AggTradesFromID(first, cut) {
		if j == 100 {
			break
		}
		if a != want[j] {
			t.Fatalf("by id %d differs", j)
		}
		j++
	}
}

func TestCandlesEqualAggregationOfTrades(t *testing.T) {
	m := testMarket(t, 4*24*time.Hour)
	sr := m.Series(btc)
	cut := m.NowMs()
	r := rand.New(rand.NewPCG(1, 2))
	spans := []domain.Span{domain.Span1s, domain.Span1m, domain.Span3m, domain.Span5m, domain.Span15m,
		domain.Span1h, domain.Span4h, domain.Span1d, domain.Span1w, domain.Span1M}
	for iter := 0; iter < 12; iter++ {
		span := spans[iter%len(spans)]
		from := m.StartMs() + r.Int64N(cut-m.StartMs())
		width := int64(span.Duration().Milliseconds()) * (1 + r.Int64N(30))
		if span == domain.Span1s {
			width = 120_000
		}
		to := from + width
		got := sr.Candles(span, from, to, cut, 1000, false)
		// Reference: bucket every trade in the window by span.Floor.
		first := span.Ceil(from*msNs) / msNs
		var want []Candle
		for tr := range sr.TradesFrom(first, cut) {
			o := span.Floor(tr.Time*msNs) / msNs
			if o > to {
				break
			}
			if len(want) == 0 || want[len(want)-1].OpenTime != o {
				want = append(want, Candle{OpenTime: o, Open: tr.Price, High: tr.Price, Low: tr.Price, FirstTradeID: tr.ID})
			}
			c := &want[len(want)-1]
			c.High = max(c.High, tr.Price)
			c.Low = min(c.Low, tr.Price)
			c.Close = tr.Price
			c.Volume += tr.Qty
			c.Quote.AddMul(uint64(tr.Price), uint64(tr.Qty))
			if !tr.BuyerMaker {
				c.TakerBuyVolume += tr.Qty
			}
			c.Trades++
			c.LastTradeID = tr.ID
		}
		if len(got) != len(want) {
			t.Fatalf("%s [%d,%d]: %d candles, want %d", span, from, to, len(got), len(want))
		}
		for i := range got {
			g, w := got[i], want[i]
			if g.OpenTime != w.OpenTime || g.Open != w.Open || g.High != w.High || g.Low != w.Low || g.Close != w.Close ||
				g.Volume != w.Volume || g.Quote != w.Quote || g.TakerBuyVolume != w.TakerBuyVolume || g.Trades != w.Trades ||
				g.FirstTradeID != w.FirstTradeID || g.LastTradeID != w.LastTradeID {
				t.Fatalf("%s candle %d: got %+v want %+v", span, i, g, w)
			}
		}
		// Latest mode returns the tail of the same list.
		if len(want) > 3 {
			tail := sr.Candles(span, 0, to, cut, 3, true)
			if len(tail) != 3 || tail[2].OpenTime != want[len(want)-1].OpenTime || tail[0].OpenTime != want[len(want)-3].OpenTime {
				t.Fatalf("%s latest: %+v", span, tail)
			}
		}
	}
}

func TestQuietHoursProduceNoCandle(t *testing.T) {
	m := testMarket(t, 60*24*time.Hour)
	sr := m.Series(btc)
	found := 0
	for h := m.StartMs(); h < m.NowMs()-3600_000; h += 3600_000 {
		if !sr.IsQuietHour(h) {
			continue
		}
		found++
		if c := sr.Candles(domain.Span1h, h, h, m.NowMs(), 10, false); len(c) != 0 {
			t.Fatalf("quiet hour %d has a candle", h)
		}
		if c := sr.Candles(domain.Span1m, h, h+3599_999, m.NowMs(), 100, false); len(c) != 0 {
			t.Fatalf("quiet hour %d has minute candles", h)
		}
		for a := range sr.AggTradesFrom(h, m.NowMs()) {
			if a.Time < h+3600_000 {
				t.Fatalf("quiet hour has a trade")
			}
			break
		}
	}
	if found == 0 {
		t.Fatal("no quiet hour in 60 days")
	}
}

func TestDeterminism(t *testing.T) {
	a, b := testMarket(t, 48*time.Hour), testMarket(t, 48*time.Hour)
	ca := a.Series(btc).Candles(domain.Span5m, 0, a.NowMs(), a.NowMs(), 200, true)
	cb := b.Series(btc).Candles(domain.Span5m, 0, b.NowMs(), b.NowMs(), 200, true)
	if len(ca) != 200 || len(ca) != len(cb) {
		t.Fatalf("lens %d %d", len(ca), len(cb))
	}
	for i := range ca {
		if ca[i] != cb[i] {
			t.Fatal("same seed, different candles")
		}
	}
	other, _ := NewMarket(MarketConfig{Venue: "test", Seed: 43, Now: testNow, History: 48 * time.Hour, Frozen: true})
	co := other.Series(btc).Candles(domain.Span5m, 0, a.NowMs(), a.NowMs(), 200, true)
	if co[0] == ca[0] {
		t.Fatal("different seeds, same candle")
	}
}

func TestVisibilityCutoff(t *testing.T) {
	m := testMarket(t, 24*time.Hour)
	sr := m.Series(btc)
	cut := m.NowMs()
	n := 0
	for a := range sr.AggTradesBackward(cut+3600_000, cut) {
		if a.Time > cut {
			t.Fatal("future trade visible")
		}
		n++
		if n > 10 {
			break
		}
	}
	c := sr.Candles(domain.Span1h, 0, cut+10*3600_000, cut, 5, true)
	if last := c[len(c)-1]; last.LastTime > cut || last.OpenTime != domain.FloorDiv(cut, 3600_000)*3600_000 {
		t.Fatalf("last candle %+v", last)
	}
}
