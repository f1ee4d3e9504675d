package bitmex

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
	simbitmex "github.com/pype-go/pype/sim/bitmex"
	"github.com/pype-go/pype/sim/simtest"
	"github.com/pype-go/pype/venues"
)

// simNow is the simulator's fixed virtual now in the end-to-end tests.
var simNow = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

var (
	xbtusd  = domain.Symbol{Base: "BTC", Quote: "USD", Market: domain.Perp}
	xbtusdt = domain.Symbol{Base: "BTC", Quote: "USDT", Market: domain.Perp}
	solusdt = domain.Symbol{Base: "SOL", Quote: "USDT", Market: domain.Perp}
)

// testLimit is the request limit of most end-to-end tests: BitMEX's 30 per
// minute would make them wait for minutes. The adapter learns it from the
// x-ratelimit-limit header.
const testLimit = 100000

func startSim(t testing.TB, opts ...simtest.Option) *simtest.Sim {
	t.Helper()
	base := []simtest.Option{simtest.Venues(Name), simtest.Seed(7), simtest.Now(simNow), simtest.Frozen(),
		simtest.History(10 * 24 * time.Hour), simtest.WeightLimit(testLimit)}
	return simtest.Start(t, append(base, opts...)...)
}

func openSim(t testing.TB, s *simtest.Sim, cfg venues.Config, opts ...Option) *Adapter {
	t.Helper()
	cfg.RESTURL, cfg.WSURL = s.REST(Name), s.WS(Name)
	if cfg.Logger == nil {
		cfg.Logger = discard()
	}
	a, err := Open(t.Context(), cfg, append([]Option{WithRetries(10, 5*time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// sameBars compares bars field by field with the truth (QuoteVolume is
// BitMEX's foreignNotional, not the truth's Σ price × amount).
func sameBars(t *testing.T, got, want []domain.OHLCBar) {
	t.Helper()
	if len(got) != len(want) {
		n := min(len(got), len(want))
		for i := 0; i < n; i++ {
			if got[i].OpenTime != want[i].OpenTime {
				t.Fatalf("got %d bars, want %d; first difference at %d: %s vs %s", len(got), len(want), i,
					domain.FormatNs(got[i].OpenTime), domain.FormatNs(want[i].OpenTime))
			}
		}
		t.Fatalf("got %d bars, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.OpenTime != w.OpenTime || g.Open.Cmp(w.Open) != 0 || g.High.Cmp(w.High) != 0 || g.Low.Cmp(w.Low) != 0 ||
			g.Close.Cmp(w.Close) != 0 || g.Volume.Cmp(w.Volume) != 0 || g.Trades != w.Trades || !g.Closed {
			t.Fatalf("bar %d (%s) = %+v, want %+v", i, domain.FormatNs(w.OpenTime), g, w)
		}
	}
}

func collectBars(t *testing.T, a *Adapter, req venues.CandleRequest) []domain.OHLCBar {
	t.Helper()
	var got []domain.OHLCBar
	for b, err := range a.BackfillCandles(t.Context(), req) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b)
	}
	return got
}

func truthBars(t *testing.T, s *simtest.Sim, sym domain.Symbol, span domain.Span, r domain.Range) []domain.OHLCBar {
	t.Helper()
	want, err := s.Truth(Name).Candles(sym.String(), span, r.Start, r.End)
	if err != nil {
		t.Fatal(err)
	}
	for len(want) > 0 && !want[len(want)-1].Closed {
		want = want[:len(want)-1]
	}
	return want
}

func TestSimCandles(t *testing.T) {
	s := startSim(t)
	a := openSim(t, s, venues.Config{Concurrency: 4})
	// An unaligned start and an end at the virtual now: the bar in
	// progress is not history.
	r := domain.Range{Start: domain.Nanos(simNow.Add(-3*24*time.Hour - 17*time.Minute)), End: domain.Nanos(simNow) + int64(30*time.Second)}
	for _, sym := range []domain.Symbol{xbtusd, solusdt} {
		var covered time.Duration
		got := collectBars(t, a, venues.CandleRequest{Symbol: sym, Span: domain.Span1m, Range: r,
			Covered: func(c domain.Range) { covered += c.Duration() }})
		sameBars(t, got, truthBars(t, s, sym, domain.Span1m, r))
		if len(got) < 3*24*60*7/10 {
			t.Fatalf("%s: only %d bars", sym, len(got))
		}
		if want := time.Duration(domain.Nanos(simNow) - r.Start); covered != want {
			t.Fatalf("%s: covered %v of %v", sym, covered, want)
		}
	}
}

func TestSimCandleSpans(t *testing.T) {
	s := startSim(t, simtest.Configure(func(c *sim.Config) { c.TradesPerSecond = 0.01 }))
	a := openSim(t, s, venues.Config{})
	for _, tc := range []struct {
		span domain.Span
		from time.Duration
	}{
		{domain.Span1d, 9 * 24 * time.Hour},
		{domain.Span1h, 4 * 24 * time.Hour},
		{domain.Span5m, 2 * 24 * time.Hour},
		{domain.Span1m, 30 * time.Hour},
	} {
		t.Run(tc.span.String(), func(t *testing.T) {
			r := domain.Range{Start: domain.Nanos(simNow.Add(-tc.from)), End: domain.Nanos(simNow)}
			want := truthBars(t, s, xbtusd, tc.span, r)
			if len(want) == 0 {
				t.Fatal("no bars in the truth")
			}
			sameBars(t, collectBars(t, a, venues.CandleRequest{Symbol: xbtusd, Span: tc.span, Range: r}), want)
		})
	}
}

// TestSimEmptyBars: at a low trade rate many minutes are empty. BitMEX
// lists them; by default they are dropped (the truth has no bar there),
// WithEmptyBars keeps them as flat zero-volume bars at the previous close.
func TestSimEmptyBars(t *testing.T) {
	s := startSim(t, simtest.Configure(func(c *sim.Config) { c.TradesPerSecond = 0.003 }))
	r := domain.Range{Start: domain.Nanos(simNow.Add(-12 * time.Hour)), End: domain.Nanos(simNow)}
	want := truthBars(t, s, xbtusd, domain.Span1m, r)
	sameBars(t, collectBars(t, openSim(t, s, venues.Config{}), venues.CandleRequest{Symbol: xbtusd, Span: domain.Span1m, Range: r}), want)
	all := collectBars(t, openSim(t, s, venues.Config{}, WithEmptyBars(true)), venues.CandleRequest{Symbol: xbtusd, Span: domain.Span1m, Range: r})
	if len(all) != 12*60 || len(want) >= len(all) {
		t.Fatalf("%d bars with empties, %d without", len(all), len(want))
	}
	var prev domain.OHLCBar
	for i, b := range all {
		if b.Trades == 0 && i > 0 {
			if !b.Volume.IsZero() || b.Open.Cmp(prev.Close) != 0 || b.Close.Cmp(prev.Close) != 0 {
				t.Fatalf("empty bar %+v after %+v", b, prev)
			}
		}
		prev = b
	}
}

func TestSimCandleErrors(t *testing.T) {
	s := startSim(t)
	a := openSim(t, s, venues.Config{})
	r := domain.Range{Start: domain.Nanos(simNow.Add(-time.Hour)), End: domain.Nanos(simNow)}
	for _, tc := range []struct {
		name string
		req  venues.CandleRequest
		is   []error
	}{
		{"span", venues.CandleRequest{Symbol: xbtusd, Span: domain.Span15m, Range: r}, []error{ErrInvalidInterval, domain.ErrNoCapability}},
		{"symbol", venues.CandleRequest{Symbol: domain.Symbol{Base: "BTC", Quote: "EUR", Market: domain.Perp}, Span: domain.Span1m, Range: r}, []error{ErrInvalidSymbol}},
		{"spot", venues.CandleRequest{Symbol: domain.NewSymbol("BTC", "USDT"), Span: domain.Span1m, Range: r}, []error{domain.ErrNoCapability}},
		{"range", venues.CandleRequest{Symbol: xbtusd, Span: domain.Span1m, Range: domain.Range{Start: r.End, End: r.Start}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			for _, e := range a.BackfillCandles(t.Context(), tc.req) {
				err = e
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range tc.is {
				if !errors.Is(err, want) {
					t.Fatalf("%v is not %v", err, want)
				}
			}
			t.Log(err)
		})
	}
	// Without the local check the venue answers an unknown symbol with an
	// empty page: that is why the adapter checks.
	bars, err := a.buckets(t.Context(), "XBTEUR", "1m", domain.Span1m, r, 10)
	if err != nil || len(bars) != 0 {
		t.Fatalf("%v %v", bars, err)
	}
	_, err = a.buckets(t.Context(), "XBTUSD", "2h", domain.Span1h, r, 10)
	var ae *APIError
	if !errors.Is(err, ErrInvalidInterval) || !errors.As(err, &ae) || ae.Status != 400 {
		t.Fatalf("%v", err)
	}
}

// truthTrades returns the venue's trades with ids mapped to trdMatchIDs.
func truthTrades(t *testing.T, s *simtest.Sim, sym domain.Symbol, r domain.Range) []domain.Trade {
	t.Helper()
	want, err := s.Truth(Name).Trades(sym.String(), r.Start, r.End)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		id, err := strconv.ParseInt(want[i].ID, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		want[i].ID = simbitmex.TrdMatchID(id)
	}
	return want
}

func sameTrades(t *testing.T, got, want []domain.Trade) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d trades, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.Time != w.Time || g.Price.Cmp(w.Price) != 0 || g.Amount.Cmp(w.Amount) != 0 || g.Side != w.Side {
			t.Fatalf("trade %d = %+v, want %+v", i, g, w)
		}
	}
}

func collectTrades(t *testing.T, a *Adapter, req venues.TradeRequest) ([]domain.Trade, error) {
	t.Helper()
	var got []domain.Trade
	for tr, err := range a.BackfillTrades(t.Context(), req) {
		if err != nil {
			return got, err
		}
		got = append(got, tr)
	}
	return got, nil
}

// burstSeams counts page seams (every 1000th trade) that fall inside a
// millisecond shared with the next trade.
func burstSeams(trades []domain.Trade) int {
	n := 0
	for i := MaxCount; i < len(trades); i += MaxCount {
		if trades[i].Time == trades[i-1].Time {
			n++
		}
	}
	return n
}

func TestSimTrades(t *testing.T) {
	s := startSim(t)
	a := openSim(t, s, venues.Config{Concurrency: 3})
	r := domain.Range{Start: domain.Nanos(simNow.Add(-3*time.Hour - 123*time.Millisecond)), End: domain.Nanos(simNow.Add(-7 * time.Second))}
	want := truthTrades(t, s, xbtusd, r)
	var covered time.Duration
	got, err := collectTrades(t, a, venues.TradeRequest{Symbol: xbtusd, Range: r, Covered: func(c domain.Range) { covered += c.Duration() }})
	if err != nil {
		t.Fatal(err)
	}
	sameTrades(t, got, want)
	if covered != r.Duration() {
		t.Fatalf("covered %v of %v", covered, r.Duration())
	}
	t.Logf("%d trades, %d same-millisecond bursts straddle a 1000-row boundary of the truth", len(got), burstSeams(want))
}

// TestSimTradesSameMillisecondSeams drains with a single cursor and checks
// that pages ending inside a burst of same-millisecond trades neither lose
// nor repeat any: the cursor continues at that millisecond with an offset.
func TestSimTradesSameMillisecondSeams(t *testing.T) {
	s := startSim(t, simtest.Configure(func(c *sim.Config) { c.TradesPerSecond = 20 }))
	a := openSim(t, s, venues.Config{Concurrency: 1}, WithTradeWindow(24*time.Hour))
	r := domain.Range{Start: domain.Nanos(simNow.Add(-40 * time.Minute)), End: domain.Nanos(simNow)}
	want := truthTrades(t, s, xbtusd, r)
	got, err := collectTrades(t, a, venues.TradeRequest{Symbol: xbtusd, Range: r})
	if err != nil {
		t.Fatal(err)
	}
	sameTrades(t, got, want)
	// Prove the seams were exercised: walk the pages by hand.
	c := TradeCursor{From: domain.NanosToMillis(r.Start), End: domain.NanosToMillis(r.End)}
	inside := 0
	for range 200 {
		page, next, done, err := a.TradesPage(t.Context(), xbtusd, c, MaxCount)
		if err != nil {
			t.Fatal(err)
		}
		if next.Offset > 0 && next.From == domain.NanosToMillis(page[len(page)-1].Time) && next.Offset > 1 {
			inside++
		}
		if done {
			break
		}
		c = next
	}
	if inside == 0 {
		t.Fatal("no page ended inside a same-millisecond burst; the test exercises nothing")
	}
	t.Logf("%d trades; %d pages ended inside a burst", len(got), inside)
}

func TestSimTradesEmptyAndFuture(t *testing.T) {
	s := startSim(t)
	a := openSim(t, s, venues.Config{})
	// A range reaching past the venue's now: trades up to now, coverage up
	// to now only.
	r := domain.Range{Start: domain.Nanos(simNow.Add(-2 * time.Minute)), End: domain.Nanos(simNow.Add(time.Hour))}
	var covered time.Duration
	got, err := collectTrades(t, a, venues.TradeRequest{Symbol: xbtusdt, Range: r, Covered: func(c domain.Range) { covered += c.Duration() }})
	if err != nil {
		t.Fatal(err)
	}
	sameTrades(t, got, truthTrades(t, s, xbtusdt, r))
	if covered > 2*time.Minute+time.Second || covered < 2*time.Minute-time.Second {
		t.Fatalf("covered %v", covered)
	}
	// A range before the history: nothing, no error.
	old := domain.Range{Start: domain.Nanos(simNow.Add(-400 * 24 * time.Hour)), End: domain.Nanos(simNow.Add(-399 * 24 * time.Hour))}
	got, err = collectTrades(t, a, venues.TradeRequest{Symbol: xbtusdt, Range: old})
	if err != nil || len(got) != 0 {
		t.Fatalf("%d trades, %v", len(got), err)
	}
}

func TestSimBookSnapshot(t *testing.T) {
	s := startSim(t)
	a := openSim(t, s, venues.Config{})
	for _, depth := range []int{1, 25, 0} {
		b, err := a.BookSnapshot(t.Context(), xbtusd, depth)
		if err != nil {
			t.Fatal(err)
		}
		want, err := s.Truth(Name).Book(xbtusd.String(), domain.Nanos(simNow), depth)
		if err != nil {
			t.Fatal(err)
		}
		if !sameLevels(b.Bids, want.Bids) || !sameLevels(b.Asks, want.Asks) || len(b.Bids) == 0 || b.Symbol != xbtusd {
			t.Fatalf("depth %d: %d/%d levels, truth %d/%d", depth, len(b.Bids), len(b.Asks), len(want.Bids), len(want.Asks))
		}
		if depth > 0 && len(b.Bids) != depth {
			t.Fatalf("depth %d: %d bids", depth, len(b.Bids))
		}
	}
	if _, err := a.BookSnapshot(t.Context(), xbtusd, -1); !errors.Is(err, domain.ErrNoCapability) {
		t.Fatal(err)
	}
}

func TestSimMarkets(t *testing.T) {
	s := startSim(t)
	a := openSim(t, s, venues.Config{})
	ms, err := a.Markets(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 4 {
		t.Fatalf("%d markets: %+v", len(ms), ms)
	}
	m, in, err := a.Market(t.Context(), xbtusd)
	if err != nil || m.VenueSymbol != "XBTUSD" || !in.IsInverse || m.PriceTick.String() != "0.5" || m.AmountStep.String() != "100" {
		t.Fatalf("%+v %+v %v", m, in, err)
	}
	if sym, err := a.Symbol(t.Context(), "xbtusdt"); err != nil || sym != xbtusdt {
		t.Fatalf("%v %v", sym, err)
	}
	if _, err := a.Symbol(t.Context(), "XBT_USDT"); !errors.Is(err, domain.ErrNoCapability) {
		t.Fatalf("spot pair: %v", err)
	}
	// The server clock: the offset puts the adapter on the venue's time.
	if d := time.Duration(a.serverNow() - domain.Nanos(simNow)); d < -time.Minute || d > time.Minute {
		t.Fatalf("server now off by %v", d)
	}
	// The limit announced by the venue replaced BitMEX's default.
	if r := a.RateLimits(); len(r) != 1 || r[0].Limit != testLimit {
		t.Fatalf("rules %+v", r)
	}
}

// TestSimTradeWindowsFromDensity: over a long range the sub-windows are
// sized from the busiest day's trade count, so each holds about the target
// number of trades (memory stays bounded), and the stitched result is the
// truth.
func TestSimTradeWindowsFromDensity(t *testing.T) {
	s := startSim(t, simtest.Configure(func(c *sim.Config) { c.TradesPerSecond = 0.02 }))
	a := openSim(t, s, venues.Config{Concurrency: 2})
	a.opt.windowTrades = 300
	r := domain.Range{Start: domain.Nanos(simNow.Add(-3 * 24 * time.Hour)), End: domain.Nanos(simNow)}
	want := truthTrades(t, s, solusdt, r)
	busiest := 0
	for d := r.Start; d < r.End; d += int64(24 * time.Hour) {
		n := len(truthTrades(t, s, solusdt, domain.Range{Start: d, End: d + int64(24*time.Hour)}))
		busiest = max(busiest, n)
	}
	windows := 0
	got, err := collectTrades(t, a, venues.TradeRequest{Symbol: solusdt, Range: r, Progress: func(p venues.Progress) { windows = p.Total }})
	if err != nil {
		t.Fatal(err)
	}
	sameTrades(t, got, want)
	wantWindows := (3*busiest + 299) / 300
	if windows < wantWindows*9/10 || windows > wantWindows*11/10+1 {
		t.Fatalf("%d windows for %d trades (busiest day %d), want about %d", windows, len(want), busiest, wantWindows)
	}
	t.Logf("%d trades in %d windows", len(got), windows)
}
