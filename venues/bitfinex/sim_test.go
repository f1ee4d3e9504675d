package bitfinex

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
	simbitfinex "github.com/pype-go/pype/sim/bitfinex"
	"github.com/pype-go/pype/sim/simtest"
	"github.com/pype-go/pype/transport/ratelimit"
	"github.com/pype-go/pype/venues"
)

// simNow is the simulator's fixed virtual now in the end-to-end backfill
// tests.
var simNow = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

var (
	btcusd  = domain.MustParseSymbol("BTC/USD")
	btcusdt = domain.MustParseSymbol("BTC/USDT")
	dogeusd = domain.MustParseSymbol("DOGE/USD")
)

func startSim(t testing.TB, opts ...simtest.Option) *simtest.Sim {
	t.Helper()
	base := []simtest.Option{simtest.Venues(Name), simtest.Seed(7), simtest.Now(simNow), simtest.Frozen(), simtest.History(40 * 24 * time.Hour)}
	return simtest.Start(t, append(base, opts...)...)
}

func openSim(t testing.TB, s *simtest.Sim, cfg venues.Config, opts ...Option) *Adapter {
	t.Helper()
	cfg.RESTURL, cfg.WSURL = s.REST(Name)+"/v2", s.WS(Name)+"/ws/2"
	if cfg.Logger == nil {
		cfg.Logger = discard()
	}
	base := []Option{WithRetries(10, 5*time.Millisecond), WithBlockPause(50 * time.Millisecond), WithClock(func() time.Time { return simNow })}
	a, err := Open(t.Context(), cfg, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// fast raises the adapter's per-endpoint limits (the simulator's are
// raised in the tests that use it).
func fast() Option {
	return WithRateLimits(ratelimit.Rule{Name: RuleTrades, Limit: 1 << 20, Interval: time.Minute},
		ratelimit.Rule{Name: RuleCandles, Limit: 1 << 20, Interval: time.Minute})
}

// noSimLimits raises the simulator's per-endpoint limits 1000 times.
func noSimLimits() simtest.Option { return simtest.WeightLimit(1000 * simbitfinex.UnitsPerMinute) }

// sameBars compares OHLCV (Bitfinex has no quote volume or trade count).
func sameBars(t *testing.T, got, want []domain.OHLCBar) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d bars, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.OpenTime != w.OpenTime || g.Open.Cmp(w.Open) != 0 || g.High.Cmp(w.High) != 0 || g.Low.Cmp(w.Low) != 0 ||
			g.Close.Cmp(w.Close) != 0 || g.Volume.Cmp(w.Volume) != 0 || !g.Closed {
			t.Fatalf("bar %d (%s) = %+v, want %+v", i, domain.FormatNs(w.OpenTime), g, w)
		}
	}
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

func closedOnly(bars []domain.OHLCBar) []domain.OHLCBar {
	for len(bars) > 0 && !bars[len(bars)-1].Closed {
		bars = bars[:len(bars)-1]
	}
	return bars
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

func collectTrades(t *testing.T, a *Adapter, req venues.TradeRequest) []domain.Trade {
	t.Helper()
	var got []domain.Trade
	for tr, err := range a.BackfillTrades(t.Context(), req) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, tr)
	}
	return got
}

// TestSimCandles backfills 20 days of 1m bars (3 pages of 10000) and
// checks them against the simulator's truth, with full coverage and no
// 429 (the adapter keeps to 30 requests per minute).
func TestSimCandles(t *testing.T) {
	s := startSim(t)
	a := openSim(t, s, venues.Config{})
	r := domain.Range{Start: domain.Nanos(simNow.Add(-20 * 24 * time.Hour)), End: domain.Nanos(simNow)}
	var covered time.Duration
	got := collectBars(t, a, venues.CandleRequest{Symbol: btcusd, Span: domain.Span1m, Range: r,
		Covered: func(c domain.Range) { covered += c.Duration() }})
	want, err := s.Truth(Name).Candles("BTC/USD", domain.Span1m, r.Start, r.End)
	if err != nil {
		t.Fatal(err)
	}
	sameBars(t, got, closedOnly(want))
	if len(got) < 20*24*60*9/10 || covered != r.Duration() {
		t.Fatalf("%d bars, covered %v of %v", len(got), covered, r.Duration())
	}
	if st := s.Stats(Name); st.Status429 != 0 || st.Endpoints["/v2/candles/trade:1m:tBTCUSD/hist"] > 4 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSimCandleSpans(t *testing.T) {
	s := startSim(t, simtest.Configure(func(c *sim.Config) { c.TradesPerSecond = 0.02 }))
	a := openSim(t, s, venues.Config{})
	tests := []struct {
		span domain.Span
		from time.Duration
		sym  domain.Symbol
	}{
		{domain.Span5m, 3 * 24 * time.Hour, btcusd},
		{3 * domain.Span1h, 30 * 24 * time.Hour, btcusdt},
		{domain.Span12h, 30 * 24 * time.Hour, dogeusd},
		{domain.Span1d, 35 * 24 * time.Hour, btcusd},
		{domain.Span1w, 35 * 24 * time.Hour, btcusd},
		{2 * domain.Span1w, 39 * 24 * time.Hour, btcusd},
		{domain.Span1M, 39 * 24 * time.Hour, btcusd},
	}
	for _, tc := range tests {
		t.Run(tc.span.String(), func(t *testing.T) {
			// Start mid-bar: the bar containing the start is not asked for.
			r := domain.Range{Start: domain.Nanos(simNow.Add(-tc.from)) + 1, End: domain.Nanos(simNow)}
			got := collectBars(t, a, venues.CandleRequest{Symbol: tc.sym, Span: tc.span, Range: r})
			want, err := s.Truth(Name).Candles(tc.sym.String(), tc.span, r.Start, r.End)
			if err != nil {
				t.Fatal(err)
			}
			if len(closedOnly(want)) == 0 {
				t.Fatal("no bars in the truth")
			}
			sameBars(t, got, closedOnly(want))
		})
	}
}

func TestSimCandleErrors(t *testing.T) {
	s := startSim(t)
	a := openSim(t, s, venues.Config{})
	r := domain.Range{Start: domain.Nanos(simNow.Add(-time.Hour)), End: domain.Nanos(simNow)}
	cases := []struct {
		name string
		req  venues.CandleRequest
		is   []error
	}{
		{"span 2h", venues.CandleRequest{Symbol: btcusd, Span: domain.Span2h, Range: r}, []error{ErrInvalidTimeframe, domain.ErrNoCapability}},
		{"unknown symbol", venues.CandleRequest{Symbol: domain.MustParseSymbol("BTC/EUR"), Span: domain.Span1m, Range: r}, []error{ErrInvalidSymbol}},
		{"perp", venues.CandleRequest{Symbol: domain.MustParseSymbol("BTC/USD:perp"), Span: domain.Span1m, Range: r}, []error{domain.ErrNoCapability}},
		{"empty range", venues.CandleRequest{Symbol: btcusd, Span: domain.Span1m, Range: domain.Range{Start: r.End, End: r.Start}}, nil},
	}
	for _, tc := range cases {
		var err error
		for _, e := range a.BackfillCandles(t.Context(), tc.req) {
			err = e
		}
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, want := range tc.is {
			if !errors.Is(err, want) {
				t.Errorf("%s: %v is not %v", tc.name, err, want)
			}
		}
	}
	// The venue's own answer to a bad limit: HTTP 500 ["error",10020,…],
	// which is not retried.
	_, err := a.get(t.Context(), candlePath("1m", "tBTCUSD"), map[string][]string{"limit": {"20000"}})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 500 || ae.Code != codeParams || !errors.Is(err, ErrInvalidParameter) || ae.Temporary() {
		t.Fatalf("limit 20000: %v", err)
	}
	if n := s.Stats(Name).Endpoints["/v2/candles/trade:1m:tBTCUSD/hist"]; n != 1 {
		t.Fatalf("a parameter error was retried: %d requests", n)
	}
}

// maxBurst returns the largest number of trades sharing a millisecond.
func maxBurst(trades []domain.Trade) int {
	best, run := 0, 0
	for i := range trades {
		if i > 0 && trades[i].Time == trades[i-1].Time {
			run++
		} else {
			run = 1
		}
		best = max(best, run)
	}
	return best
}

// TestSimTradesPageSeams drains trades with small pages so that page
// seams fall inside bursts of same-millisecond trades — and whole pages
// hold one millisecond, which takes the descending completion path.
func TestSimTradesPageSeams(t *testing.T) {
	s := startSim(t, noSimLimits())
	r := domain.Range{Start: domain.Nanos(simNow.Add(-40 * time.Minute)), End: domain.Nanos(simNow.Add(-10 * time.Minute))}
	want, err := s.Truth(Name).Trades("BTC/USD", r.Start, r.End)
	if err != nil {
		t.Fatal(err)
	}
	burst := maxBurst(want)
	t.Logf("%d trades, max %d in one ms", len(want), burst)
	if burst < 4 {
		t.Fatalf("the simulated market has no burst (max %d trades in one ms)", burst)
	}
	for _, limit := range []int{burst/2 + 1, burst + 1, 97} {
		t.Run(strconv.Itoa(limit), func(t *testing.T) {
			tr := &http.Transport{}
			t.Cleanup(tr.CloseIdleConnections)
			rt := &countingTransport{base: tr}
			a := openSim(t, s, venues.Config{HTTPClient: &http.Client{Transport: rt}}, fast(), WithPageLimits(MaxCandles, limit))
			var covered time.Duration
			got := collectTrades(t, a, venues.TradeRequest{Symbol: btcusd, Range: r, Covered: func(c domain.Range) { covered += c.Duration() }})
			sameTrades(t, got, want)
			if covered != r.Duration() {
				t.Fatalf("covered %v of %v", covered, r.Duration())
			}
			// A page holding one millisecond only is completed by a
			// descending page.
			if desc := rt.count("sort=-1"); (limit <= burst) != (desc > 0) {
				t.Fatalf("limit %d, burst %d: %d descending pages", limit, burst, desc)
			}
		})
	}
}

// TestSimTradesFaults drains two days of trades through 5xx answers,
// connection resets, truncated bodies, injected 429s and latency.
func TestSimTradesFaults(t *testing.T) {
	s := startSim(t, noSimLimits(), simtest.Faults(Name, sim.Faults{ServerErrorRate: 0.15, ResetRate: 0.1, TruncateRate: 0.1,
		RateLimitRate: 0.1, Latency: time.Millisecond, Jitter: 2 * time.Millisecond}))
	a := openSim(t, s, venues.Config{}, fast(), WithRetries(20, time.Millisecond), WithPageLimits(300, 2000))
	r := domain.Range{Start: domain.Nanos(simNow.Add(-48 * time.Hour)), End: domain.Nanos(simNow.Add(-12 * time.Hour))}
	got := collectTrades(t, a, venues.TradeRequest{Symbol: btcusdt, Range: r})
	want, err := s.Truth(Name).Trades("BTC/USDT", r.Start, r.End)
	if err != nil {
		t.Fatal(err)
	}
	sameTrades(t, got, want)
	bars := collectBars(t, a, venues.CandleRequest{Symbol: btcusdt, Span: domain.Span1m, Range: r})
	wantBars, _ := s.Truth(Name).Candles("BTC/USDT", domain.Span1m, r.Start, r.End)
	sameBars(t, bars, wantBars)
	st := s.Stats(Name)
	if st.Faults[sim.FaultServerError] == 0 || st.Faults[sim.FaultReset] == 0 || st.Faults[sim.FaultTruncate] == 0 || st.Faults[sim.FaultRateLimit] == 0 {
		t.Fatalf("faults not exercised: %+v", st.Faults)
	}
}

// TestSimRateLimitBlocksOneEndpoint: with the adapter's trades limit set
// above the venue's, the venue answers 429 and blocks the trades endpoint;
// the adapter pauses only its trades limiter, waits the block out and
// completes, while candle requests go on unpaused.
func TestSimRateLimitBlocksOneEndpoint(t *testing.T) {
	clk := &offsetClock{}
	s := startSim(t, simtest.Configure(func(c *sim.Config) {
		c.Options = map[string]string{"bitfinex.blockDuration": "200ms"}
		c.Clock = clk // the venue's per-minute windows can be moved on
	}))
	// The venue's minute passes whenever it has refused a request.
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		seen := int64(0)
		for {
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if n := s.Stats(Name).Status429; n > seen {
				seen = n
				clk.add(time.Minute)
			}
		}
	}()
	defer func() { close(done); wg.Wait() }()
	a := openSim(t, s, venues.Config{}, WithRateLimits(ratelimit.Rule{Name: RuleTrades, Limit: 1000, Interval: time.Minute}),
		WithBlockPause(200*time.Millisecond), WithPageLimits(MaxCandles, 100))
	r := domain.Range{Start: domain.Nanos(simNow.Add(-2 * time.Hour)), End: domain.Nanos(simNow.Add(-time.Hour - 50*time.Minute))}
	got := collectTrades(t, a, venues.TradeRequest{Symbol: btcusd, Range: r})
	want, _ := s.Truth(Name).Trades("BTC/USD", r.Start, r.End)
	sameTrades(t, got, want)
	st := a.LimiterStats()
	if st[RuleTrades].Pauses == 0 || st[RuleCandles].Pauses != 0 || s.Stats(Name).Status429 == 0 {
		t.Fatalf("limiter stats %+v, sim 429s %d", st, s.Stats(Name).Status429)
	}
	if _, err := a.Candles(t.Context(), btcusd, domain.Span1m, r, 0); err != nil {
		t.Fatalf("candles blocked too: %v", err)
	}
}

// offsetClock is the wall clock moved on by a test-controlled offset.
type offsetClock struct{ off atomic.Int64 }

func (c *offsetClock) Now() time.Time      { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *offsetClock) add(d time.Duration) { c.off.Add(int64(d)) }

func TestSimBookSnapshot(t *testing.T) {
	s := startSim(t)
	a := openSim(t, s, venues.Config{})
	for _, depth := range []int{1, 10, 25, 26, 100} {
		for _, sym := range []domain.Symbol{btcusd, dogeusd} {
			got, err := a.BookSnapshot(t.Context(), sym, depth)
			if err != nil {
				t.Fatal(err)
			}
			want, err := s.Truth(Name).Book(sym.String(), domain.Nanos(simNow), depth)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Bids) != depth || len(got.Asks) != depth {
				t.Fatalf("%s depth %d: %d bids, %d asks", sym, depth, len(got.Bids), len(got.Asks))
			}
			for i := range want.Bids {
				if got.Bids[i].Price.Cmp(want.Bids[i].Price) != 0 || got.Bids[i].Amount.Cmp(want.Bids[i].Amount) != 0 ||
					got.Asks[i].Price.Cmp(want.Asks[i].Price) != 0 || got.Asks[i].Amount.Cmp(want.Asks[i].Amount) != 0 {
					t.Fatalf("%s depth %d level %d: %v %v, want %v %v", sym, depth, i, got.Bids[i], got.Asks[i], want.Bids[i], want.Asks[i])
				}
			}
		}
	}
	if _, err := a.BookSnapshot(t.Context(), btcusd, 101); !errors.Is(err, domain.ErrNoCapability) {
		t.Fatalf("depth 101: %v", err)
	}
	if _, err := a.BookSnapshot(t.Context(), domain.MustParseSymbol("XRP/USD"), 25); !errors.Is(err, ErrInvalidSymbol) {
		t.Fatalf("unknown symbol: %v", err)
	}
	// The venue's answer to an unknown symbol on the book endpoint.
	_, err := a.get(t.Context(), bookPath("tXRPUSD"), nil)
	if !errors.Is(err, ErrInvalidSymbol) {
		t.Fatalf("venue unknown symbol: %v", err)
	}
}

func TestSimMarkets(t *testing.T) {
	s := startSim(t)
	a := openSim(t, s, venues.Config{})
	ms, err := a.Markets(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.Symbol.String()+"="+m.VenueSymbol)
	}
	slices.Sort(got)
	want := []string{"BTC/USD=tBTCUSD", "BTC/USDT=tBTCUST", "DOGE/USD=tDOGE:USD", "ETH/BTC=tETHBTC", "ETH/USD=tETHUSD"}
	if !slices.Equal(got, want) {
		t.Fatalf("markets %v, want %v", got, want)
	}
	if sym, err := a.Symbol(t.Context(), "tBTCUST"); err != nil || sym != btcusdt {
		t.Fatalf("Symbol(tBTCUST) = %v, %v", sym, err)
	}
}

// countingTransport counts requests whose query contains a substring.
type countingTransport struct {
	base http.RoundTripper
	mu   sync.Mutex
	qs   []string
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.qs = append(c.qs, r.URL.RawQuery)
	c.mu.Unlock()
	return c.base.RoundTrip(r)
}

func (c *countingTransport) count(sub string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, q := range c.qs {
		if strings.Contains(q, sub) {
			n++
		}
	}
	return n
}
