package binance

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
	"github.com/pype-go/pype/sim/simtest"
	"github.com/pype-go/pype/transport/ws"
	"github.com/pype-go/pype/venues"
)

// fastReconnect makes dropped test connections come back at once.
var fastReconnect = WithWSBackoff(ws.BackoffFunc(func(int) time.Duration { return 20 * time.Millisecond }))

func startLiveSim(t testing.TB, speed float64, faults sim.Faults) *simtest.Sim {
	t.Helper()
	return simtest.Start(t, simtest.Venues("binance"), simtest.Seed(11), simtest.Now(simNow), simtest.Speed(speed),
		simtest.History(3*24*time.Hour), simtest.Faults("binance", faults))
}

var debugBooks = false

// bookAtSeq returns the simulator's book right after update id seq (update
// ids grow strictly with the 100 ms book step).
func bookAtSeq(t testing.TB, s *simtest.Sim, sym domain.Symbol, seq int64, depth int) domain.BookSnapshot {
	t.Helper()
	sr, err := s.Market("binance").Lookup(sym.String())
	if err != nil {
		t.Fatal(err)
	}
	hi := sim.BookStep(s.Market("binance").NowMs()) + 10
	lo := hi - 10_000_000
	for lo < hi {
		mid := lo + (hi-lo)/2
		if sr.UpdateID(mid) < seq {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return sr.DomainBook(sr.Book(lo, depth))
}

func TestSimBooksStayEqualToTheVenue(t *testing.T) {
	s := startLiveSim(t, 10, sim.Faults{DepthGapEvery: 151, WSDropEvery: 701, WSDuplicateRate: 0.02})
	var lg *slog.Logger
	if debugBooks {
		lg = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	a := openSim(t, s, venues.Config{Logger: lg}, fastReconnect)
	syms := []domain.Symbol{btcusdt, domain.NewSymbol("ETH", "USDT")}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	live, notLive, checked := 0, 0, 0
	wasLive := map[domain.Symbol]bool{}
	resynced := map[domain.Symbol]int{}
	perSym := map[domain.Symbol]int{}
	for ev, err := range a.StreamBooks(ctx, venues.StreamRequest{Symbols: syms, Depth: 20}) {
		if err != nil {
			t.Fatal(err)
		}
		if debugBooks {
			t.Logf("event %s live=%v seq=%d", ev.Symbol, ev.Live, ev.Book.Seq)
		}
		if !ev.Live {
			notLive++
			if wasLive[ev.Symbol] {
				resynced[ev.Symbol]++
			}
			wasLive[ev.Symbol] = false
			if len(ev.Book.Bids)+len(ev.Book.Asks) != 0 {
				t.Fatal("a book that is not live carries levels")
			}
			continue
		}
		live++
		perSym[ev.Symbol]++
		wasLive[ev.Symbol] = true
		want := bookAtSeq(t, s, ev.Symbol, ev.Book.Seq, 20)
		if want.Seq != ev.Book.Seq {
			t.Fatalf("%s at %s: seq %d, venue %d", ev.Symbol, domain.FormatNs(ev.Book.Time), ev.Book.Seq, want.Seq)
		}
		checkSide := func(side string, got, want []domain.BookLevel) {
			if len(got) != len(want) {
				t.Fatalf("%s %s seq %d: %d levels, want %d", ev.Symbol, side, ev.Book.Seq, len(got), len(want))
			}
			for i := range want {
				if got[i].Price.Cmp(want[i].Price) != 0 || got[i].Amount.Cmp(want[i].Amount) != 0 {
					t.Fatalf("%s %s seq %d level %d: %s@%s, want %s@%s", ev.Symbol, side, ev.Book.Seq, i,
						got[i].Amount, got[i].Price, want[i].Amount, want[i].Price)
				}
			}
		}
		checkSide("bids", ev.Book.Bids, want.Bids)
		checkSide("asks", ev.Book.Asks, want.Asks)
		checked++
		if checked >= 1500 && resynced[syms[0]] > 1 && resynced[syms[1]] > 1 && s.Stats("binance").Faults["ws_drop"] > 0 {
			break
		}
	}
	st := s.Stats("binance")
	t.Logf("live events %d %v (checked %d), not-live %d, resyncs %v, faults %v, ws connections %d", live, perSym, checked, notLive, resynced, st.Faults, st.WSConnectionsTotal)
	if checked < 1500 || resynced[syms[0]] == 0 || resynced[syms[1]] == 0 {
		t.Fatalf("too little exercised: %d books checked, resyncs %v", checked, resynced)
	}
	if st.Faults["depth_gap"] == 0 || st.Faults["ws_drop"] == 0 || st.Faults["ws_duplicate"] == 0 {
		t.Fatalf("faults not exercised: %v", st.Faults)
	}
}

func TestSimTradeStreamHasNoGap(t *testing.T) {
	s := startLiveSim(t, 50, sim.Faults{WSDropEvery: 150, WSDuplicateRate: 0.05})
	a := openSim(t, s, venues.Config{}, fastReconnect)
	syms := []domain.Symbol{btcusdt, domain.NewSymbol("ETH", "USDT")}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	got := map[domain.Symbol][]domain.Trade{}
	n := 0
	var gaps []venues.Gap
	for ev, err := range a.StreamTrades(ctx, venues.StreamRequest{Symbols: syms, Gap: func(g venues.Gap) { gaps = append(gaps, g) }}) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Trade.RecvTime == 0 {
			t.Fatal("no receive time")
		}
		got[ev.Symbol] = append(got[ev.Symbol], ev.Trade)
		if n++; n >= 1000 {
			break
		}
	}
	st := s.Stats("binance")
	if st.Faults["ws_drop"] < 3 {
		t.Fatalf("connections dropped %d times only", st.Faults["ws_drop"])
	}
	if len(gaps) != 0 {
		t.Fatalf("gaps %v", gaps)
	}
	for _, sym := range syms {
		tr := got[sym]
		if len(tr) < 100 {
			t.Fatalf("%s: %d trades", sym, len(tr))
		}
		r := domain.Range{Start: tr[0].Time, End: tr[len(tr)-1].Time + 1}
		want := aggTruth(t, s, sym.String(), r)
		// The truth starts at the first trade's millisecond; the stream may
		// have started in the middle of it.
		for len(want) > 0 && want[0].ID != tr[0].ID {
			want = want[1:]
		}
		// and ends at the last trade's millisecond.
		last, _ := strconv.ParseInt(tr[len(tr)-1].ID, 10, 64)
		for len(want) > 0 {
			if id, _ := strconv.ParseInt(want[len(want)-1].ID, 10, 64); id > last {
				want = want[:len(want)-1]
				continue
			}
			break
		}
		sameTrades(t, tr, want)
	}
	t.Logf("trades %d, ws drops %d, connections %d", n, st.Faults["ws_drop"], st.WSConnectionsTotal)
}

func TestSimCandleStream(t *testing.T) {
	s := startLiveSim(t, 150, sim.Faults{WSDropEvery: 40, WSDuplicateRate: 0.05})
	a := openSim(t, s, venues.Config{}, fastReconnect)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var closed []domain.OHLCBar
	partial := 0
	for ev, err := range a.StreamCandles(ctx, venues.StreamRequest{Symbols: []domain.Symbol{btcusdt}, Span: domain.Span1m, Partial: true}) {
		if err != nil {
			t.Fatal(err)
		}
		if !ev.Bar.Closed {
			partial++
			continue
		}
		closed = append(closed, ev.Bar)
		if len(closed) >= 6 {
			break
		}
	}
	want, err := s.Truth("binance").Candles("BTC/USDT", domain.Span1m, closed[0].OpenTime, closed[len(closed)-1].OpenTime+1)
	if err != nil {
		t.Fatal(err)
	}
	sameBars(t, closed, want)
	if partial == 0 || s.Stats("binance").Faults["ws_drop"] == 0 {
		t.Fatalf("partial %d, drops %v", partial, s.Stats("binance").Faults)
	}
}

// Connections are replaced before their lifetime ends (Binance cuts at
// 24 h) with an overlap: the trade stream has neither gap nor duplicate and
// needs no REST, and the books stay live throughout.
func TestSimPlannedReconnectIsSeamless(t *testing.T) {
	s := startLiveSim(t, 50, sim.Faults{})
	a := openSim(t, s, venues.Config{}, fastReconnect, WithConnectionLifetime(700*time.Millisecond, 200*time.Millisecond))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var prev int64
	n := 0
	for ev, err := range a.StreamTrades(ctx, venues.StreamRequest{Symbols: []domain.Symbol{btcusdt}}) {
		if err != nil {
			t.Fatal(err)
		}
		id, _ := strconv.ParseInt(ev.Trade.ID, 10, 64)
		if prev != 0 && id != prev+1 {
			t.Fatalf("trade id %d after %d", id, prev)
		}
		prev = id
		if n++; n >= 250 {
			break
		}
	}
	st := s.Stats("binance")
	if st.WSConnectionsTotal < 3 {
		t.Fatalf("only %d connections: no planned reconnect happened", st.WSConnectionsTotal)
	}
	if st.Endpoints["/api/v3/aggTrades"] != 0 {
		t.Fatalf("planned reconnects needed %d REST calls", st.Endpoints["/api/v3/aggTrades"])
	}

	// Books: live from the first snapshot to the end, across replacements.
	before := s.Stats("binance").WSConnectionsTotal
	wentLive, drops := false, 0
	for ev, err := range a.StreamBooks(ctx, venues.StreamRequest{Symbols: []domain.Symbol{btcusdt}, Depth: 5}) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Live {
			wentLive = true
		} else if wentLive {
			drops++
		}
		if s.Stats("binance").WSConnectionsTotal >= before+4 {
			break
		}
	}
	if drops != 0 {
		t.Fatalf("the book stopped being live %d times during planned reconnects", drops)
	}
}

// Streams are spread over connections (here 2 per connection) and, when the
// combined URL would be too long, subscribed with SUBSCRIBE messages.
func TestSimShardsAndSubscribeMessages(t *testing.T) {
	s := startLiveSim(t, 30, sim.Faults{})
	syms := []domain.Symbol{btcusdt, domain.NewSymbol("ETH", "USDT"), domain.NewSymbol("ETH", "BTC"), domain.NewSymbol("SOL", "USDT")}
	for _, mode := range []string{"url", "subscribe"} {
		opts := []Option{WithStreamsPerConnection(2)}
		if mode == "subscribe" {
			opts = append(opts, func(o *options) { o.urlLimit = 10 })
		}
		a := openSim(t, s, venues.Config{}, opts...)
		before := s.Stats("binance").WSConnectionsTotal
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		seen := map[domain.Symbol]bool{}
		for ev, err := range a.StreamTrades(ctx, venues.StreamRequest{Symbols: syms}) {
			if err != nil {
				t.Fatal(err)
			}
			seen[ev.Symbol] = true
			if len(seen) == len(syms) {
				break
			}
		}
		cancel()
		if len(seen) != len(syms) {
			t.Fatalf("%s: trades of %d symbols only", mode, len(seen))
		}
		if n := s.Stats("binance").WSConnectionsTotal - before; n != 2 {
			t.Fatalf("%s: %d connections for 4 streams at 2 per connection", mode, n)
		}
	}
}

// @trade (one event per fill): holes are filled from historicalTrades.
func TestSimRawTradeStreamHasNoGap(t *testing.T) {
	s := startLiveSim(t, 50, sim.Faults{WSDropEvery: 120})
	a := openSim(t, s, venues.Config{}, fastReconnect, WithRawTrades(true))
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var got []domain.Trade
	for ev, err := range a.StreamTrades(ctx, venues.StreamRequest{Symbols: []domain.Symbol{btcusdt}}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev.Trade)
		if len(got) >= 500 {
			break
		}
	}
	st := s.Stats("binance")
	if st.Faults["ws_drop"] == 0 || st.Endpoints["/api/v3/historicalTrades"] == 0 {
		t.Fatalf("drops %d, historicalTrades calls %d", st.Faults["ws_drop"], st.Endpoints["/api/v3/historicalTrades"])
	}
	want, err := s.Truth("binance").Trades("BTC/USDT", got[0].Time, got[len(got)-1].Time+1)
	if err != nil {
		t.Fatal(err)
	}
	for len(want) > 0 && want[0].ID != got[0].ID {
		want = want[1:]
	}
	want = want[:min(len(want), len(got))]
	sameTrades(t, got, want)
}
