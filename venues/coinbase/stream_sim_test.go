package coinbase

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
	"github.com/pype-go/pype/sim/simtest"
	"github.com/pype-go/pype/venues"
)

var ethusd = domain.NewSymbol("ETH", "USD")

// startLiveSim starts a simulator whose clock runs (speed× wall time) from
// simNow, for the stream tests.
func startLiveSim(t testing.TB, speed float64, opts ...simtest.Option) *simtest.Sim {
	t.Helper()
	base := []simtest.Option{simtest.Venues(Name), simtest.Seed(7), simtest.Now(simNow), simtest.Speed(speed),
		simtest.History(3 * 24 * time.Hour), simtest.Configure(func(c *sim.Config) {
			c.Limits.Disabled = true
			if c.Options == nil {
				c.Options = map[string]string{}
			}
			c.Options["coinbase.heartbeat"] = "100ms"
		})}
	return simtest.Start(t, append(base, opts...)...)
}

func TestSimStreamTradesGaplessAcrossDrops(t *testing.T) {
	s := startLiveSim(t, 60, simtest.Faults(Name, sim.Faults{WSDropEvery: 400, WSDuplicateRate: 0.01}))
	var gapMu sync.Mutex
	var gaps []venues.Gap
	a := openSim(t, s, venues.Config{})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	got := map[domain.Symbol][]domain.Trade{}
	n := 0
	for ev, err := range a.StreamTrades(ctx, venues.StreamRequest{Symbols: []domain.Symbol{btcusd, ethusd},
		Gap: func(g venues.Gap) { gapMu.Lock(); gaps = append(gaps, g); gapMu.Unlock() }}) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Trade.RecvTime == 0 {
			t.Fatalf("no receive time: %+v", ev)
		}
		got[ev.Symbol] = append(got[ev.Symbol], ev.Trade)
		if n++; n >= 2000 {
			break
		}
	}
	if ctx.Err() != nil {
		t.Fatalf("only %d trades before the timeout", n)
	}
	st := s.Stats(Name)
	if st.Faults[sim.FaultWSDrop] < 2 {
		t.Fatalf("only %d connection drops injected", st.Faults[sim.FaultWSDrop])
	}
	// Holes were filled over REST.
	if st.Endpoints["/products/BTC-USD/trades"]+st.Endpoints["/products/ETH-USD/trades"] == 0 {
		t.Fatalf("no REST fill: %v", st.Endpoints)
	}
	if len(gaps) != 0 {
		t.Fatalf("gaps: %+v", gaps)
	}
	for sym, ts := range got {
		first, _ := strconv.ParseInt(ts[0].ID, 10, 64)
		last, _ := strconv.ParseInt(ts[len(ts)-1].ID, 10, 64)
		if int64(len(ts)) != last-first+1 {
			t.Fatalf("%s: %d trades for ids %d..%d", sym, len(ts), first, last)
		}
		want, err := s.Truth(Name).Trades(sym.String(), ts[0].Time, ts[len(ts)-1].Time+1)
		if err != nil {
			t.Fatal(err)
		}
		// The truth starts at the first trade's millisecond, which may hold
		// earlier ids.
		for len(want) > 0 && want[0].ID != ts[0].ID {
			want = want[1:]
		}
		if len(want) < len(ts) {
			t.Fatalf("%s: truth has %d trades, stream %d", sym, len(want), len(ts))
		}
		for i, tr := range ts {
			w := want[i]
			if tr.ID != w.ID || tr.Time != w.Time || tr.Price.Cmp(w.Price) != 0 || tr.Amount.Cmp(w.Amount) != 0 || tr.Side != w.Side {
				t.Fatalf("%s trade %d = %+v, want %+v", sym, i, tr, w)
			}
		}
	}
}

func TestSimStreamCandles(t *testing.T) {
	// 120× speed: a 1-minute bar every half second.
	s := startLiveSim(t, 120, simtest.Faults(Name, sim.Faults{WSDropEvery: 1500}))
	a := openSim(t, s, venues.Config{})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var got []domain.OHLCBar
	partial := 0
	for ev, err := range a.StreamCandles(ctx, venues.StreamRequest{Symbols: []domain.Symbol{btcusd}, Span: domain.Span1m, Partial: true}) {
		if err != nil {
			t.Fatal(err)
		}
		if !ev.Bar.Closed {
			partial++
			continue
		}
		got = append(got, ev.Bar)
		if len(got) == 6 {
			break
		}
	}
	if partial == 0 {
		t.Fatal("no forming bar")
	}
	want, err := s.Truth(Name).Candles("BTC/USD", domain.Span1m, got[0].OpenTime, got[len(got)-1].OpenTime+1)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != len(got) {
		t.Fatalf("got %d bars, truth %d", len(got), len(want))
	}
	for i := range want {
		if !sameBar(got[i], want[i]) || got[i].Trades != want[i].Trades {
			t.Fatalf("bar %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// sameTop reports whether a streamed book equals the truth's top levels at
// the book's time.
func sameTop(t testing.TB, s *simtest.Sim, b domain.BookSnapshot, depth int) bool {
	t.Helper()
	want, err := s.Truth(Name).Book(b.Symbol.String(), b.Time, depth)
	if err != nil {
		t.Fatal(err)
	}
	eq := func(x, y []domain.BookLevel) bool {
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if x[i].Price.Cmp(y[i].Price) != 0 || x[i].Amount.Cmp(y[i].Amount) != 0 {
				return false
			}
		}
		return true
	}
	return eq(b.Bids, want.Bids) && eq(b.Asks, want.Asks)
}

// snapSeqs records the synthetic sequence numbers of the level2 snapshots
// a StreamBooks applies, so a test can tell the book event that follows a
// snapshot ("just loaded from a snapshot") from one that follows updates.
type snapSeqs struct {
	mu   sync.Mutex
	seqs map[domain.Symbol]map[int64]bool
}

// option hooks s into an adapter.
func (s *snapSeqs) option() Option {
	return func(o *options) {
		o.onSnapshot = func(sym domain.Symbol, seq int64) {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.seqs == nil {
				s.seqs = map[domain.Symbol]map[int64]bool{}
			}
			if s.seqs[sym] == nil {
				s.seqs[sym] = map[int64]bool{}
			}
			s.seqs[sym][seq] = true
		}
	}
}

// fromSnapshot reports whether b is the state a snapshot just loaded.
func (s *snapSeqs) fromSnapshot(b domain.BookSnapshot) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seqs[b.Symbol][b.Seq]
}

func TestSimStreamBooksAcrossReconnects(t *testing.T) {
	s := startLiveSim(t, 5, simtest.Faults(Name, sim.Faults{WSDropEvery: 150}))
	var snaps snapSeqs
	a := openSim(t, s, venues.Config{}, snaps.option())
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	checked, notLive, fromSnap := 0, 0, 0
	for ev, err := range a.StreamBooks(ctx, venues.StreamRequest{Symbols: []domain.Symbol{btcusd, ethusd}, Depth: 25}) {
		if err != nil {
			t.Fatal(err)
		}
		if !ev.Live {
			notLive++
			if len(ev.Book.Bids)+len(ev.Book.Asks) != 0 {
				t.Fatalf("a book that is not live carries levels: %+v", ev)
			}
			continue
		}
		if ev.Book.Time == 0 {
			t.Fatalf("%s book without a venue time: %+v", ev.Symbol, ev.Book)
		}
		if snaps.fromSnapshot(ev.Book) {
			// Just loaded from a snapshot, which carries no time: it is
			// stamped with the venue's clock as measured from /time (the
			// simulator's, years behind the local clock), not with the
			// local clock, so a consumer never mixes the two.
			if d := time.Duration(ev.Book.Time - domain.Nanos(simNow)); d < 0 || d > time.Hour {
				t.Fatalf("%s snapshot stamped %s, %s after the venue's start %s", ev.Symbol, domain.FormatNs(ev.Book.Time), d, simNow)
			}
			fromSnap++
			continue // the truth at an estimated time may differ
		}
		if !sameTop(t, s, ev.Book, 25) {
			t.Fatalf("%s book at %s differs from the truth", ev.Symbol, domain.FormatNs(ev.Book.Time))
		}
		if checked++; checked >= 300 {
			break
		}
	}
	if ctx.Err() != nil {
		t.Fatalf("only %d books checked before the timeout", checked)
	}
	if drops := s.Stats(Name).Faults[sim.FaultWSDrop]; drops < 2 || notLive < 2 || fromSnap < 2 {
		t.Fatalf("%d drops, %d not-live events, %d books from snapshots", drops, notLive, fromSnap)
	}
}

func TestSimStreamBooksRefreshHealsDroppedUpdates(t *testing.T) {
	s := startLiveSim(t, 5, simtest.Faults(Name, sim.Faults{DepthGapEvery: 40}))
	var snaps snapSeqs
	a := openSim(t, s, venues.Config{}, WithBookRefresh(time.Second), snaps.option())
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	diverged, healed, events, notLive := false, 0, 0, 0
	for ev, err := range a.StreamBooks(ctx, venues.StreamRequest{Symbols: []domain.Symbol{btcusd}, Depth: 200}) {
		if err != nil {
			t.Fatal(err)
		}
		if !ev.Live {
			notLive++ // a refresh: the book waits for its fresh snapshot
			continue
		}
		if snaps.fromSnapshot(ev.Book) {
			continue // just loaded from a snapshot: stamped with an estimated venue time
		}
		events++
		if !sameTop(t, s, ev.Book, 200) {
			diverged, healed = true, 0
			continue
		}
		if diverged {
			healed++
		}
		if healed >= 5 && notLive >= 1 && s.Stats(Name).Faults[sim.FaultDepthGap] >= 2 {
			break
		}
	}
	if ctx.Err() != nil {
		t.Fatalf("no healed book before the timeout (%d events, diverged %v)", events, diverged)
	}
}
