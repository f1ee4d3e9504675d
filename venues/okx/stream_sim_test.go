package okx

import (
	"context"
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

func startLiveSim(t testing.TB, speed float64, faults sim.Faults, opts ...simtest.Option) *simtest.Sim {
	t.Helper()
	base := []simtest.Option{simtest.Venues(Name), simtest.Seed(11), simtest.Now(simNow), simtest.Speed(speed),
		simtest.History(3 * 24 * time.Hour), simtest.Faults(Name, faults)}
	return simtest.Start(t, append(base, opts...)...)
}

// bookAtSeq returns the simulator's book right after seqId seq (seqIds are
// the market's update ids, which grow strictly with the 100 ms step).
func bookAtSeq(t testing.TB, s *simtest.Sim, sym domain.Symbol, seq int64, depth int) domain.BookSnapshot {
	t.Helper()
	sr, err := s.Market(Name).Lookup(sym.String())
	if err != nil {
		t.Fatal(err)
	}
	hi := sim.BookStep(s.Market(Name).NowMs()) + 10
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
	tests := []struct {
		name     string
		faults   sim.Faults
		checksum string // okx.checksumErrorEvery
		fault    string // a fault kind that must have fired
	}{
		{"gaps drops duplicates", sim.Faults{DepthGapEvery: 50, WSDropEvery: 700, WSDuplicateRate: 0.01}, "", "depth_gap"},
		{"checksum corruption", sim.Faults{}, "40", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := []simtest.Option{}
			if tc.checksum != "" {
				opts = append(opts, simtest.Configure(func(c *sim.Config) { c.Options = map[string]string{"okx.checksumErrorEvery": tc.checksum} }))
			}
			s := startLiveSim(t, 10, tc.faults, opts...)
			checkBooks(t, s, openSim(t, s, venues.Config{}, fastReconnect))
			st := s.Stats(Name)
			if tc.fault != "" && (st.Faults[tc.fault] == 0 || st.Faults["ws_drop"] == 0) {
				t.Fatalf("faults not exercised: %v", st.Faults)
			}
		})
	}
}

// checkBooks streams two books and compares every live state with the
// simulator's book at the same seqId, until both were resynced twice.
func checkBooks(t *testing.T, s *simtest.Sim, a *Adapter) {
	syms := []domain.Symbol{btcusdt, domain.NewSymbol("ETH", "USDT")}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	notLive, checked := 0, 0
	wasLive := map[domain.Symbol]bool{}
	resynced := map[domain.Symbol]int{}
	for ev, err := range a.StreamBooks(ctx, venues.StreamRequest{Symbols: syms, Depth: 30}) {
		if err != nil {
			t.Fatal(err)
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
		wasLive[ev.Symbol] = true
		want := bookAtSeq(t, s, ev.Symbol, ev.Book.Seq, 30)
		if want.Seq != ev.Book.Seq {
			t.Fatalf("%s: seq %d, venue %d", ev.Symbol, ev.Book.Seq, want.Seq)
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
		if checked >= 600 && resynced[syms[0]] > 1 && resynced[syms[1]] > 1 {
			break
		}
	}
	st := s.Stats(Name)
	t.Logf("checked %d, not-live %d, resyncs %v, faults %v, ws connections %d", checked, notLive, resynced, st.Faults, st.WSConnectionsTotal)
	if checked < 600 || resynced[syms[0]] < 2 || resynced[syms[1]] < 2 {
		t.Fatalf("too little exercised: %d books checked, resyncs %v", checked, resynced)
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
	st := s.Stats(Name)
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
		want, err := s.Truth(Name).Trades(sym.String(), tr[0].Time, tr[len(tr)-1].Time+1)
		if err != nil {
			t.Fatal(err)
		}
		// The stream may start and end inside a millisecond.
		for len(want) > 0 && want[0].ID != tr[0].ID {
			want = want[1:]
		}
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
	want, err := s.Truth(Name).Candles("BTC/USDT", domain.Span1m, closed[0].OpenTime, closed[len(closed)-1].OpenTime+1)
	if err != nil {
		t.Fatal(err)
	}
	sameBars(t, closed, want)
	if partial == 0 || s.Stats(Name).Faults["ws_drop"] == 0 {
		t.Fatalf("partial %d, faults %v", partial, s.Stats(Name).Faults)
	}
}

// TestSimKeepAlive: OKX drops a connection silent for 30 s; the adapter's
// idle "ping" keeps a quiet one (a frozen market pushes nothing) open.
func TestSimKeepAlive(t *testing.T) {
	s := simtest.Start(t, simtest.Venues(Name), simtest.Seed(3), simtest.Now(simNow), simtest.Frozen(), simtest.History(24*time.Hour),
		simtest.Configure(func(c *sim.Config) { c.Options = map[string]string{"okx.idleTimeout": "400ms"} }))
	a := openSim(t, s, venues.Config{}, WithPingInterval(100*time.Millisecond), fastReconnect)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	for _, err := range a.StreamTrades(ctx, venues.StreamRequest{Symbols: []domain.Symbol{btcusdt}}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Stats(Name).WSConnectionsTotal; n != 1 {
		t.Fatalf("%d connections: the idle connection was dropped", n)
	}
}
