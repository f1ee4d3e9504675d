package bybit

import (
	"context"
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

func startLiveSim(t testing.TB, speed float64, faults sim.Faults, opts ...simtest.Option) *simtest.Sim {
	t.Helper()
	base := []simtest.Option{simtest.Venues("bybit"), simtest.Seed(11), simtest.Now(simNow), simtest.Speed(speed),
		simtest.History(3 * 24 * time.Hour), simtest.Faults("bybit", faults)}
	return simtest.Start(t, append(base, opts...)...)
}

// checkAgainstTruth verifies that trades (one symbol, in stream order) are
// the venue's trades without duplicates, in order, and that every venue
// trade between the first and the last one streamed is there unless it lies
// in a reported gap.
func checkAgainstTruth(t *testing.T, s *simtest.Sim, sym domain.Symbol, got []domain.Trade, gaps []venues.Gap) (missing int) {
	t.Helper()
	if len(got) < 100 {
		t.Fatalf("%s: %d trades", sym, len(got))
	}
	want := truthTrades(t, s, sym, domain.Range{Start: got[0].Time, End: got[len(got)-1].Time + 1})
	pos := map[string]int{}
	for i, w := range want {
		pos[w.ID] = i
	}
	last := -1
	seen := map[string]bool{}
	for i, g := range got {
		if seen[g.ID] {
			t.Fatalf("%s: trade %s yielded twice", sym, g.ID)
		}
		seen[g.ID] = true
		p, ok := pos[g.ID]
		if !ok {
			t.Fatalf("%s: trade %d (%s at %s) is not a venue trade", sym, i, g.ID, domain.FormatNs(g.Time))
		}
		w := want[p]
		if g.Time != w.Time || g.Price.Cmp(w.Price) != 0 || g.Amount.Cmp(w.Amount) != 0 || g.Side != w.Side {
			t.Fatalf("%s: trade %+v, venue %+v", sym, g, w)
		}
		if p < last {
			t.Fatalf("%s: trade %s out of order", sym, g.ID)
		}
		last = p
		if g.RecvTime == 0 {
			t.Fatal("no receive time")
		}
	}
	first := pos[got[0].ID]
	for _, w := range want[first:last] {
		if seen[w.ID] {
			continue
		}
		missing++
		covered := false
		for _, gp := range gaps {
			covered = covered || (gp.Symbol == sym && gp.Range.Contains(w.Time))
		}
		if !covered {
			t.Fatalf("%s: venue trade %s at %s missing and not reported as a gap (gaps %v)", sym, w.ID, domain.FormatNs(w.Time), gaps)
		}
	}
	return missing
}

func TestSimTradeStreamRefillsHoles(t *testing.T) {
	// Linear: recent-trade reaches 1000 trades back, more than a
	// reconnection loses, so the stream has no gap and no duplicate.
	s := startLiveSim(t, 100, sim.Faults{WSDropEvery: 40, WSDuplicateRate: 0.05})
	a := openSim(t, s, venues.Config{}, fastReconnect)
	ethPerp := domain.Symbol{Base: "ETH", Quote: "USDT", Market: domain.Perp}
	syms := []domain.Symbol{btcusdtPerp, ethPerp}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	got := map[domain.Symbol][]domain.Trade{}
	var gaps []venues.Gap
	n := 0
	for ev, err := range a.StreamTrades(ctx, venues.StreamRequest{Symbols: syms, Gap: func(g venues.Gap) { gaps = append(gaps, g) }}) {
		if err != nil {
			t.Fatal(err)
		}
		got[ev.Symbol] = append(got[ev.Symbol], ev.Trade)
		if n++; n >= 1500 && s.Stats("bybit").Faults["ws_drop"] >= 3 {
			break
		}
	}
	if len(gaps) != 0 {
		t.Fatalf("gaps %v", gaps)
	}
	for _, sym := range syms {
		if m := checkAgainstTruth(t, s, sym, got[sym], nil); m != 0 {
			t.Fatalf("%s: %d trades missing", sym, m)
		}
	}
	st := s.Stats("bybit")
	t.Logf("trades %d, ws drops %d, duplicates %d, connections %d, REST requests %v", n, st.Faults["ws_drop"], st.Faults["ws_duplicate"], st.WSConnectionsTotal, st.Requests)
}

func TestSimTradeStreamReportsUnrecoverableHoles(t *testing.T) {
	// Spot: recent-trade serves only 60 trades; at this speed a
	// reconnection loses more, which must be reported as a gap — and every
	// trade not streamed must lie in a reported gap.
	s := startLiveSim(t, 1500, sim.Faults{WSDropEvery: 30})
	a := openSim(t, s, venues.Config{}, fastReconnect)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var got []domain.Trade
	var gaps []venues.Gap
	for ev, err := range a.StreamTrades(ctx, venues.StreamRequest{Symbols: []domain.Symbol{btcusdt}, Gap: func(g venues.Gap) { gaps = append(gaps, g) }}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev.Trade)
		if len(gaps) >= 2 && len(got) >= 500 {
			break
		}
	}
	missing := checkAgainstTruth(t, s, btcusdt, got, gaps)
	if missing == 0 {
		t.Fatalf("gaps %v reported but nothing missing", gaps)
	}
	for _, g := range gaps {
		if g.Range.Start >= g.Range.End || g.Reason == "" {
			t.Fatalf("gap %+v", g)
		}
	}
	t.Logf("trades %d, missing %d, gaps %d, drops %d", len(got), missing, len(gaps), s.Stats("bybit").Faults["ws_drop"])
}

func TestSimCandleStream(t *testing.T) {
	s := startLiveSim(t, 150, sim.Faults{WSDropEvery: 40, WSDuplicateRate: 0.05})
	a := openSim(t, s, venues.Config{}, fastReconnect)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	closed := map[domain.Symbol][]domain.OHLCBar{}
	partial := 0
	syms := []domain.Symbol{btcusdt, btcusdtPerp}
	for ev, err := range a.StreamCandles(ctx, venues.StreamRequest{Symbols: syms, Span: domain.Span1m, Partial: true}) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Span != domain.Span1m || ev.Bar.RecvTime == 0 {
			t.Fatalf("event %+v", ev)
		}
		if !ev.Bar.Closed {
			partial++
			continue
		}
		closed[ev.Symbol] = append(closed[ev.Symbol], ev.Bar)
		if len(closed[btcusdt]) >= 6 && len(closed[btcusdtPerp]) >= 6 {
			break
		}
	}
	for _, sym := range syms {
		bars := closed[sym]
		want, err := s.Truth("bybit").Candles(sym.String(), domain.Span1m, bars[0].OpenTime, bars[len(bars)-1].OpenTime+1)
		if err != nil {
			t.Fatal(err)
		}
		sameBars(t, bars, want)
	}
	if partial == 0 || s.Stats("bybit").Faults["ws_drop"] == 0 {
		t.Fatalf("partial %d, faults %v", partial, s.Stats("bybit").Faults)
	}
}

func TestSimBooksStayEqualToTheVenue(t *testing.T) {
	s := startLiveSim(t, 10, sim.Faults{DepthGapEvery: 80, WSDropEvery: 700, WSDuplicateRate: 0.02},
		simtest.Configure(func(c *sim.Config) { c.Options = map[string]string{"bybit.restartEvery": "150"} }))
	a := openSim(t, s, venues.Config{}, fastReconnect, WithResubscribeTimeout(2*time.Second))
	syms := []domain.Symbol{btcusdt, btcusdtPerp}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	truth := s.Truth("bybit")
	checked := 0
	wasLive := map[domain.Symbol]bool{}
	resynced := map[domain.Symbol]int{}
	for ev, err := range a.StreamBooks(ctx, venues.StreamRequest{Symbols: syms, Depth: 20}) {
		if err != nil {
			t.Fatal(err)
		}
		if !ev.Live {
			if wasLive[ev.Symbol] {
				resynced[ev.Symbol]++
			}
			wasLive[ev.Symbol] = false
			if len(ev.Book.Bids)+len(ev.Book.Asks) != 0 {
				t.Fatal("a book that is not live carries levels")
			}
			continue
		}
		wasLive[ev.Symbol] = true
		want, err := truth.Book(ev.Symbol.String(), ev.Book.Time, 20)
		if err != nil {
			t.Fatal(err)
		}
		checkSide := func(side string, got, want []domain.BookLevel) {
			if len(got) != len(want) {
				t.Fatalf("%s %s at %s (u %d): %d levels, want %d", ev.Symbol, side, domain.FormatNs(ev.Book.Time), ev.Book.Seq, len(got), len(want))
			}
			for i := range want {
				if got[i].Price.Cmp(want[i].Price) != 0 || got[i].Amount.Cmp(want[i].Amount) != 0 {
					t.Fatalf("%s %s at %s (u %d) level %d: %s@%s, want %s@%s", ev.Symbol, side, domain.FormatNs(ev.Book.Time), ev.Book.Seq, i,
						got[i].Amount, got[i].Price, want[i].Amount, want[i].Price)
				}
			}
		}
		checkSide("bids", ev.Book.Bids, want.Bids)
		checkSide("asks", ev.Book.Asks, want.Asks)
		checked++
		if checked >= 1000 && resynced[syms[0]] > 0 && resynced[syms[1]] > 0 {
			break
		}
	}
	st := s.Stats("bybit")
	t.Logf("checked %d, resyncs %v, faults %v, ws connections %d", checked, resynced, st.Faults, st.WSConnectionsTotal)
	if checked < 1000 || resynced[syms[0]] == 0 || resynced[syms[1]] == 0 {
		t.Fatalf("too little exercised: %d books checked, resyncs %v", checked, resynced)
	}
	if st.Faults["depth_gap"] == 0 {
		t.Fatalf("faults not exercised: %v", st.Faults)
	}
}
