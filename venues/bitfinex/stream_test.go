package bitfinex

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators/orderbook"
	"github.com/pype-go/pype/sim"
	"github.com/pype-go/pype/sim/simtest"
	"github.com/pype-go/pype/transport/ws"
	"github.com/pype-go/pype/venues"
)

// Live streams run against the simulator with a running virtual clock: a
// fast one (Speed) for trades and candles, a manual one for books so the
// test can stop the market and compare the final book with the truth.

var liveStart = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// manualClock is a wall clock the test moves.
type manualClock struct{ ns atomic.Int64 }

func (c *manualClock) Now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *manualClock) add(d time.Duration) { c.ns.Add(int64(d)) }

func startLive(t testing.TB, clk sim.Clock, speed float64, faults sim.Faults, options map[string]string) *simtest.Sim {
	t.Helper()
	return simtest.Start(t, simtest.Venues(Name), simtest.Seed(11), simtest.History(2*time.Hour), noSimLimits(),
		simtest.Faults(Name, faults), simtest.Configure(func(c *sim.Config) {
			if clk != nil {
				c.Clock = clk
				c.Now = clk.Now()
			}
			c.Speed = speed
			o := map[string]string{"bitfinex.streamTick": "5ms"}
			for k, v := range options {
				o["bitfinex."+k] = v
			}
			c.Options = o
		}))
}

func openLive(t testing.TB, s *simtest.Sim, opts ...Option) *Adapter {
	t.Helper()
	m := s.Market(Name)
	base := []Option{WithRetries(10, 5*time.Millisecond), WithBlockPause(50 * time.Millisecond), fast(),
		WithClock(func() time.Time { return time.Unix(0, m.Now()) }),
		WithWSBackoff(ws.BackoffFunc(func(int) time.Duration { return 5 * time.Millisecond })),
		WithConnectionsPerMinute(1000), WithBookBackoff(func(int) time.Duration { return time.Millisecond }),
		WithResubscribeTimeout(500 * time.Millisecond)}
	a, err := Open(t.Context(), venues.Config{RESTURL: s.REST(Name), WSURL: s.WS(Name), Logger: discard()}, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// TestStreamTradesNoGap streams two symbols through dropped connections,
// duplicated frames, the venue's reconnect request (20051) and a
// maintenance pause (20060/20061); the trades yielded must be exactly the
// venue's, without gap or duplicate.
func TestStreamTradesNoGap(t *testing.T) {
	cases := []struct {
		name    string
		faults  sim.Faults
		options map[string]string
	}{
		{"drops", sim.Faults{WSDropEvery: 120, WSDuplicateRate: 0.02}, nil},
		{"reconnect-info", sim.Faults{}, map[string]string{"reconnectAfter": "150"}},
		{"maintenance", sim.Faults{}, map[string]string{"maintenanceAfter": "150", "maintenanceFor": "200ms"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startLive(t, nil, 200, tc.faults, tc.options)
			a := openLive(t, s)
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			got := map[domain.Symbol][]domain.Trade{}
			for ev, err := range a.StreamTrades(ctx, venues.StreamRequest{Symbols: []domain.Symbol{btcusd, domain.MustParseSymbol("ETH/USD")}}) {
				if err != nil {
					t.Fatal(err)
				}
				if ev.Trade.RecvTime == 0 {
					t.Fatal("no receive time")
				}
				got[ev.Symbol] = append(got[ev.Symbol], ev.Trade)
				if len(got[btcusd]) >= 400 && len(got[domain.MustParseSymbol("ETH/USD")]) >= 150 && s.Stats(Name).WSConnectionsTotal >= 3 {
					break
				}
			}
			for sym, trades := range got {
				first, _ := strconv.ParseInt(trades[0].ID, 10, 64)
				last, _ := strconv.ParseInt(trades[len(trades)-1].ID, 10, 64)
				truth, err := s.Truth(Name).Trades(sym.String(), trades[0].Time, trades[len(trades)-1].Time+1)
				if err != nil {
					t.Fatal(err)
				}
				var want []domain.Trade
				for _, tr := range truth {
					if id, _ := strconv.ParseInt(tr.ID, 10, 64); id >= first && id <= last {
						want = append(want, tr)
					}
				}
				sameTrades(t, trades, want)
			}
			st := s.Stats(Name)
			if st.WSConnectionsTotal < 3 || st.Endpoints["/v2/trades/tBTCUSD/hist"] == 0 {
				t.Fatalf("no reconnection or no REST fill: %+v", st)
			}
		})
	}
}

// TestStreamBooksResync keeps books through lost frames (sequence gaps)
// and corrupted checksums, then stops the market and checks that each
// book ends equal to the simulator's.
func TestStreamBooksResync(t *testing.T) {
	clk := &manualClock{}
	clk.ns.Store(liveStart.UnixNano())
	s := startLive(t, clk, 1, sim.Faults{DepthGapEvery: 25, WSDuplicateRate: 0.01}, map[string]string{"csCorruptEvery": "40", "bookCorruptEvery": "30"})
	var h *bookStream
	a := openLive(t, s, func(o *options) { o.onBookStream = func(b *bookStream) { h = b } })
	syms := []domain.Symbol{btcusd, dogeusd}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	// Move the market 100 ms every 2 ms until stopped.
	var wg sync.WaitGroup
	var stopped atomic.Bool
	stop := make(chan struct{})
	var steps atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer stopped.Store(true)
		tk := time.NewTicker(2 * time.Millisecond)
		defer tk.Stop()
		for range 600 {
			select {
			case <-stop:
				return
			case <-tk.C:
				clk.add(100 * time.Millisecond)
				steps.Add(1)
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()

	live, notLive := map[domain.Symbol]int{}, map[domain.Symbol]int{}
	stats := map[domain.Symbol]orderbook.Stats{}
	matched := map[domain.Symbol]bool{}
	for ev, err := range a.StreamBooks(ctx, venues.StreamRequest{Symbols: syms, Depth: 25}) {
		if err != nil {
			t.Fatal(err)
		}
		if !ev.Live {
			notLive[ev.Symbol]++
			if len(ev.Book.Bids)+len(ev.Book.Asks) != 0 {
				t.Fatal("a book that is not live shows levels")
			}
			continue
		}
		live[ev.Symbol]++
		b := ev.Book
		if len(b.Bids) == 0 || len(b.Asks) == 0 || b.Bids[0].Price.Cmp(b.Asks[0].Price) >= 0 || len(b.Bids) > 25 {
			t.Fatalf("%s: bad live book %v / %v", ev.Symbol, b.Bids[:min(2, len(b.Bids))], b.Asks[:min(2, len(b.Asks))])
		}
		if !stopped.Load() {
			continue
		}
		want, err := s.Truth(Name).Book(ev.Symbol.String(), s.Market(Name).Now(), 25)
		if err != nil {
			t.Fatal(err)
		}
		matched[ev.Symbol] = sameBook(b, want)
		if matched[btcusd] && matched[dogeusd] {
			for _, sym := range syms {
				st, _ := h.eng.Stats(sym)
				stats[sym] = st
			}
			break
		}
	}
	if !matched[btcusd] || !matched[dogeusd] {
		t.Fatalf("books did not end equal to the venue's: %v (live events %v, not live %v)", matched, live, notLive)
	}
	st := s.Stats(Name)
	if st.Faults[sim.FaultDepthGap] == 0 || st.Faults["checksum_corrupt"] == 0 || st.Faults["book_corrupt"] == 0 || notLive[btcusd] < 2 || notLive[dogeusd] < 2 {
		t.Fatalf("faults %v, not-live events %v, steps %d", st.Faults, notLive, steps.Load())
	}
	// Silent corruptions are only visible to the checksum.
	for _, sym := range syms {
		if st := stats[sym]; st.ChecksumChecks < 100 || st.ChecksumFailures == 0 || st.Snapshots < 2 {
			t.Errorf("%s: engine stats %+v", sym, st)
		}
	}
}

func sameBook(got, want domain.BookSnapshot) bool {
	if len(got.Bids) != len(want.Bids) || len(got.Asks) != len(want.Asks) {
		return false
	}
	for i := range want.Bids {
		if got.Bids[i].Price.Cmp(want.Bids[i].Price) != 0 || got.Bids[i].Amount.Cmp(want.Bids[i].Amount) != 0 {
			return false
		}
	}
	for i := range want.Asks {
		if got.Asks[i].Price.Cmp(want.Asks[i].Price) != 0 || got.Asks[i].Amount.Cmp(want.Asks[i].Amount) != 0 {
			return false
		}
	}
	return true
}

// TestStreamCandles streams 1m bars through dropped connections: every
// closed bar once, in order, equal to the venue's; forming bars with
// Partial.
func TestStreamCandles(t *testing.T) {
	s := startLive(t, nil, 900, sim.Faults{WSDropEvery: 60}, nil)
	a := openLive(t, s)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var closed []domain.OHLCBar
	partial := 0
	for ev, err := range a.StreamCandles(ctx, venues.StreamRequest{Symbols: []domain.Symbol{btcusd}, Span: domain.Span1m, Partial: true}) {
		if err != nil {
			t.Fatal(err)
		}
		if !ev.Bar.Closed {
			partial++
			continue
		}
		closed = append(closed, ev.Bar)
		if len(closed) >= 12 && s.Stats(Name).WSConnectionsTotal >= 3 {
			break
		}
	}
	want, err := s.Truth(Name).Candles("BTC/USD", domain.Span1m, closed[0].OpenTime, closed[len(closed)-1].OpenTime+1)
	if err != nil {
		t.Fatal(err)
	}
	sameBars(t, closed, want)
	if partial == 0 {
		t.Fatal("no forming bar reported")
	}
}

func TestStreamErrors(t *testing.T) {
	s := startLive(t, nil, 1, sim.Faults{}, map[string]string{"maxChannels": "1"})
	a := openLive(t, s, WithChannelsPerConnection(2))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var err error
	for _, e := range a.StreamTrades(ctx, venues.StreamRequest{Symbols: []domain.Symbol{btcusd, dogeusd}}) {
		if e != nil {
			err = e
			break
		}
	}
	var se *SubscribeError
	if !errors.As(err, &se) || se.Code != 10305 {
		t.Fatalf("channel limit: %v", err)
	}
	for _, e := range a.StreamCandles(ctx, venues.StreamRequest{Symbols: []domain.Symbol{btcusd}, Span: domain.Span2h}) {
		err = e
	}
	if !errors.Is(err, ErrInvalidTimeframe) {
		t.Fatalf("span 2h: %v", err)
	}
	for _, e := range a.StreamBooks(ctx, venues.StreamRequest{Symbols: []domain.Symbol{domain.MustParseSymbol("XRP/USD")}}) {
		err = e
	}
	if !errors.Is(err, ErrInvalidSymbol) {
		t.Fatalf("unknown symbol: %v", err)
	}
	for _, e := range a.StreamBooks(ctx, venues.StreamRequest{Symbols: []domain.Symbol{btcusd}, Depth: 500}) {
		err = e
	}
	if !errors.Is(err, domain.ErrNoCapability) {
		t.Fatalf("depth 500: %v", err)
	}
}
