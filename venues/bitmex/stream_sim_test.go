package bitmex

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
	base := []simtest.Option{simtest.Venues(Name), simtest.Seed(11), simtest.Now(simNow), simtest.Speed(speed),
		simtest.History(2 * 24 * time.Hour), simtest.Faults(Name, faults), simtest.WeightLimit(testLimit)}
	return simtest.Start(t, append(base, opts...)...)
}

// checkAgainstTruth verifies that trades (one symbol, in stream order) are
// the venue's trades, in order, without duplicates or holes between the
// first and the last one streamed.
func checkAgainstTruth(t *testing.T, s *simtest.Sim, sym domain.Symbol, got []domain.Trade) {
	t.Helper()
	if len(got) < 100 {
		t.Fatalf("%s: %d trades", sym, len(got))
	}
	// The stream was stopped at an arbitrary trade: the rest of its
	// millisecond may not have been yielded yet.
	end := got[len(got)-1].Time
	for len(got) > 0 && got[len(got)-1].Time == end {
		got = got[:len(got)-1]
	}
	want := truthTrades(t, s, sym, domain.Range{Start: got[0].Time, End: end})
	// The first millisecond may have begun before the stream did.
	for len(want) > 0 && want[0].ID != got[0].ID {
		want = want[1:]
	}
	for i := range got {
		if i >= len(want) {
			t.Fatalf("%s: %d trades streamed, the venue has %d", sym, len(got), len(want))
		}
		g, w := got[i], want[i]
		if g.ID != w.ID {
			t.Fatalf("%s: trade %d is %s at %s, the venue's is %s at %s", sym, i, g.ID, domain.FormatNs(g.Time), w.ID, domain.FormatNs(w.Time))
		}
		if g.Time != w.Time || g.Price.Cmp(w.Price) != 0 || g.Amount.Cmp(w.Amount) != 0 || g.Side != w.Side || g.RecvTime == 0 {
			t.Fatalf("%s: trade %+v, venue %+v", sym, g, w)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d trades streamed, the venue has %d", sym, len(got), len(want))
	}
}

func TestSimTradeStreamFillsHolesOverREST(t *testing.T) {
	s := startLiveSim(t, 200, sim.Faults{WSDropEvery: 25, WSDuplicateRate: 0.05})
	a := openSim(t, s, venues.Config{}, fastReconnect)
	syms := []domain.Symbol{xbtusd, xbtusdt}
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
		if n++; n >= 1000 && s.Stats(Name).Faults["ws_drop"] >= 3 && len(got[xbtusdt]) >= 100 {
			break
		}
	}
	if len(gaps) != 0 {
		t.Fatalf("gaps %v", gaps)
	}
	for _, sym := range syms {
		checkAgainstTruth(t, s, sym, got[sym])
	}
	st := s.Stats(Name)
	t.Logf("trades %d, ws drops %d, duplicates %d, connections %d, REST requests %v", n, st.Faults["ws_drop"], st.Faults["ws_duplicate"], st.WSConnectionsTotal, st.Requests)
}

func TestSimCandleStream(t *testing.T) {
	s := startLiveSim(t, 300, sim.Faults{WSDropEvery: 6, WSDuplicateRate: 0.1})
	a := openSim(t, s, venues.Config{}, fastReconnect)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	closed := map[domain.Symbol][]domain.OHLCBar{}
	syms := []domain.Symbol{xbtusd, solusdt}
	for ev, err := range a.StreamCandles(ctx, venues.StreamRequest{Symbols: syms, Span: domain.Span1m, Partial: true}) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Span != domain.Span1m || ev.Bar.RecvTime == 0 || !ev.Bar.Closed || ev.Bar.Trades == 0 {
			t.Fatalf("event %+v", ev)
		}
		closed[ev.Symbol] = append(closed[ev.Symbol], ev.Bar)
		if len(closed[xbtusd]) >= 8 && len(closed[solusdt]) >= 4 && s.Stats(Name).Faults["ws_drop"] >= 2 {
			break
		}
	}
	for _, sym := range syms {
		bars := closed[sym]
		sameBars(t, bars, truthBars(t, s, sym, domain.Span1m, domain.Range{Start: bars[0].OpenTime, End: bars[len(bars)-1].OpenTime + 1}))
	}
	t.Logf("faults %v", s.Stats(Name).Faults)
}

// TestSimBooksStayEqualToTheVenue compares every live book yielded with
// the venue's at its time: a 100 ms book step is delivered as a delete, an
// insert and an update message, and only complete steps may be yielded,
// across dropped connections
// and duplicated messages, with orderBookL2_25 and the full orderBookL2
// (whose updates, in the legacy feed, carry no price).
func TestSimBooksStayEqualToTheVenue(t *testing.T) {
	for _, tc := range []struct {
		name   string
		depth  int
		legacy string
	}{
		{"orderBookL2_25", 20, "false"},
		{"orderBookL2 legacy", 40, "true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startLiveSim(t, 30, sim.Faults{WSDropEvery: 500, WSDuplicateRate: 0.02},
				simtest.Configure(func(c *sim.Config) { c.Options = map[string]string{"bitmex.legacyL2": tc.legacy} }))
			a := openSim(t, s, venues.Config{}, fastReconnect, WithResubscribeTimeout(2*time.Second))
			syms := []domain.Symbol{xbtusd, xbtusdt}
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			truth := s.Truth(Name)
			checked, notLive := 0, 0
			check := func(ev venues.BookEvent) {
				want, err := truth.Book(ev.Symbol.String(), ev.Book.Time, tc.depth)
				if err != nil {
					t.Fatal(err)
				}
				if len(want.Bids) != tc.depth || !sameLevels(ev.Book.Bids, want.Bids) || !sameLevels(ev.Book.Asks, want.Asks) {
					t.Fatalf("%s at %s: book %v / %v, venue %v / %v", ev.Symbol, domain.FormatNs(ev.Book.Time), ev.Book.Bids[:2], ev.Book.Asks[:2], want.Bids[:2], want.Asks[:2])
				}
				checked++
			}
			for ev, err := range a.StreamBooks(ctx, venues.StreamRequest{Symbols: syms, Depth: tc.depth}) {
				if err != nil {
					t.Fatal(err)
				}
				if !ev.Live {
					if len(ev.Book.Bids)+len(ev.Book.Asks) != 0 {
						t.Fatal("a book that is not live carries levels")
					}
					notLive++
					continue
				}
				// Every live event is a complete step (never the state
				// between a step's delete, insert and update messages).
				check(ev)
				if checked >= 600 && notLive >= 2 {
					break
				}
			}
			st := s.Stats(Name)
			t.Logf("checked %d steps, not-live events %d, faults %v, ws connections %d", checked, notLive, st.Faults, st.WSConnectionsTotal)
			if checked < 600 || st.Faults["ws_drop"] == 0 {
				t.Fatalf("too little exercised: %d steps checked, faults %v", checked, st.Faults)
			}
		})
	}
}

// TestSimBookGapsAreDetected: the venue skips order-book messages
// (depthgap). BitMEX has no sequence number, so a lost size update cannot
// be seen — but a lost insert or delete is, when the level is next
// touched, and the book is resynchronised from a fresh partial, after
// which it equals the venue's again.
func TestSimBookGapsAreDetected(t *testing.T) {
	s := startLiveSim(t, 25, sim.Faults{DepthGapEvery: 15})
	a := openSim(t, s, venues.Config{}, fastReconnect, WithResubscribeTimeout(2*time.Second))
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	truth := s.Truth(Name)
	resyncs, afterResync, wasLive := 0, 0, false
	fresh := false // the book was just rebuilt from a partial
	for ev, err := range a.StreamBooks(ctx, venues.StreamRequest{Symbols: []domain.Symbol{xbtusd}, Depth: 25}) {
		if err != nil {
			t.Fatal(err)
		}
		if !ev.Live {
			if wasLive {
				resyncs++
			}
			wasLive, fresh = false, true
			continue
		}
		if fresh {
			// The first live state after a resync is the partial: it
			// must be the venue's book.
			want, err := truth.Book(xbtusd.String(), ev.Book.Time, 25)
			if err != nil {
				t.Fatal(err)
			}
			if !sameLevels(ev.Book.Bids, want.Bids) || !sameLevels(ev.Book.Asks, want.Asks) {
				t.Fatalf("book after the partial at %s differs from the venue's", domain.FormatNs(ev.Book.Time))
			}
			if resyncs > 0 {
				afterResync++
			}
			fresh = false
		}
		wasLive = true
		if resyncs >= 3 && afterResync >= 3 {
			break
		}
	}
	st := s.Stats(Name)
	if st.Faults["depth_gap"] == 0 || resyncs < 3 {
		t.Fatalf("gaps %v, resyncs %d", st.Faults, resyncs)
	}
	t.Logf("resyncs %d, faults %v", resyncs, st.Faults)
}

// TestSimKeepAlive: on a quiet connection the adapter sends "ping" and the
// venue's "pong" keeps the connection (no reconnection).
func TestSimKeepAlive(t *testing.T) {
	s := startSim(t) // frozen clock: no trade at all
	a := openSim(t, s, venues.Config{}, WithPingInterval(50*time.Millisecond))
	ctx, cancel := context.WithTimeout(t.Context(), 700*time.Millisecond)
	defer cancel()
	for _, err := range a.StreamTrades(ctx, venues.StreamRequest{Symbols: []domain.Symbol{xbtusd}}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Stats(Name).WSConnectionsTotal; n != 1 {
		t.Fatalf("%d connections: the quiet connection was not kept alive", n)
	}
}
