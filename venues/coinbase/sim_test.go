package coinbase

import (
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
	"github.com/pype-go/pype/sim/simtest"
	"github.com/pype-go/pype/transport/ws"
	"github.com/pype-go/pype/venues"
)

// simNow is the simulator's fixed virtual now in the end-to-end tests.
var simNow = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

var btcusd = domain.NewSymbol("BTC", "USD")

// startSim starts a frozen Coinbase simulator. Rate limits are off unless
// a test turns them on: the venue's 10 requests/s would make long
// backfills slow, and the limiter is tested on its own.
func startSim(t testing.TB, opts ...simtest.Option) *simtest.Sim {
	t.Helper()
	base := []simtest.Option{simtest.Venues(Name), simtest.Seed(7), simtest.Now(simNow), simtest.Frozen(),
		simtest.History(31 * 24 * time.Hour), simtest.Configure(func(c *sim.Config) { c.Limits.Disabled = true })}
	return simtest.Start(t, append(base, opts...)...)
}

func openSim(t testing.TB, s *simtest.Sim, cfg venues.Config, opts ...Option) *Adapter {
	t.Helper()
	cfg.RESTURL, cfg.WSURL = s.REST(Name), s.WS(Name)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.WeightLimit == 0 {
		cfg.WeightLimit = 10000
	}
	base := []Option{WithRetries(10, 2*time.Millisecond), WithWSBackoff(ws.BackoffFunc(func(int) time.Duration { return 10 * time.Millisecond }))}
	a, err := Open(t.Context(), cfg, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func sameBar(g, w domain.OHLCBar) bool {
	return g.OpenTime == w.OpenTime && g.Open.Cmp(w.Open) == 0 && g.High.Cmp(w.High) == 0 && g.Low.Cmp(w.Low) == 0 &&
		g.Close.Cmp(w.Close) == 0 && g.Volume.Cmp(w.Volume) == 0
}

func sameBars(t *testing.T, got, want []domain.OHLCBar) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d bars, want %d", len(got), len(want))
	}
	for i := range want {
		if !sameBar(got[i], want[i]) || !got[i].Closed {
			t.Fatalf("bar %d (%s) = %+v, want %+v", i, domain.FormatNs(want[i].OpenTime), got[i], want[i])
		}
	}
}

// closedTruth is the truth's candles without the bar still forming.
func closedTruth(t testing.TB, s *simtest.Sim, span domain.Span, r domain.Range) []domain.OHLCBar {
	t.Helper()
	want, err := s.Truth(Name).Candles("BTC/USD", span, r.Start, r.End)
	if err != nil {
		t.Fatal(err)
	}
	for len(want) > 0 && !want[len(want)-1].Closed {
		want = want[:len(want)-1]
	}
	return want
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

func TestSimCandles(t *testing.T) {
	s := startSim(t)
	a := openSim(t, s, venues.Config{})
	for _, tc := range []struct {
		span domain.Span
		back time.Duration
	}{
		{domain.Span1m, 3 * 24 * time.Hour},
		{domain.Span5m, 5 * 24 * time.Hour},
		{domain.Span15m, 7 * 24 * time.Hour},
		{domain.Span1h, 30 * 24 * time.Hour},
		{domain.Span6h, 30 * 24 * time.Hour},
		{domain.Span1d, 30 * 24 * time.Hour},
	} {
		t.Run(tc.span.String(), func(t *testing.T) {
			// An unaligned start and an end in the future.
			r := domain.Range{Start: domain.Nanos(simNow.Add(-tc.back).Add(17 * time.Second)), End: domain.Nanos(simNow.Add(time.Hour))}
			var covered time.Duration
			got := collectBars(t, a, venues.CandleRequest{Symbol: btcusd, Span: tc.span, Range: r,
				Covered: func(c domain.Range) { covered += c.Duration() }})
			sameBars(t, got, closedTruth(t, s, tc.span, r))
			if want := time.Duration(tc.span.Floor(domain.Nanos(simNow)) - r.Start); covered != want {
				t.Fatalf("covered %v, want %v", covered, want)
			}
		})
	}
}

func TestSimTradesEqualTruth(t *testing.T) {
	s := startSim(t)
	a := openSim(t, s, venues.Config{}, WithTradeChunk(3))
	// Three hours ending 20 days ago: the range's ids are found by search.
	end := simNow.Add(-20 * 24 * time.Hour)
	r := domain.Range{Start: domain.Nanos(end.Add(-3 * time.Hour)), End: domain.Nanos(end)}
	var got []domain.Trade
	var gaps []venues.Gap
	var covered time.Duration
	for tr, err := range a.BackfillTrades(t.Context(), venues.TradeRequest{Symbol: btcusd, Range: r,
		Gap: func(g venues.Gap) { gaps = append(gaps, g) }, Covered: func(c domain.Range) { covered += c.Duration() }}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, tr)
	}
	want, err := s.Truth(Name).Trades("BTC/USD", r.Start, r.End)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d trades, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.Time != w.Time || g.Price.Cmp(w.Price) != 0 || g.Amount.Cmp(w.Amount) != 0 || g.Side != w.Side {
			t.Fatalf("trade %d = %+v, want %+v", i, g, w)
		}
	}
	if len(gaps) != 0 {
		t.Fatalf("gaps %v", gaps)
	}
	if covered != r.Duration() {
		t.Fatalf("covered %v of %v", covered, r.Duration())
	}
	// Same-millisecond bursts exist, and some straddle page seams.
	same := 0
	for i := 1; i < len(want); i++ {
		if want[i].Time == want[i-1].Time {
			same++
		}
	}
	if same == 0 {
		t.Fatal("no same-millisecond trades in the range")
	}
	// Pages hold ids [first+1000k, first+1000(k+1)): some seams cut a
	// millisecond burst in two, and nothing was lost or repeated there.
	first, _ := strconv.ParseInt(want[0].ID, 10, 64)
	cut := 0
	for i := 1000; i < len(want); i += 1000 {
		if id, _ := strconv.ParseInt(want[i].ID, 10, 64); id == first+int64(i) && want[i].Time == want[i-1].Time {
			cut++
		}
	}
	if cut == 0 {
		t.Fatal("no page seam inside a same-millisecond burst")
	}
	t.Logf("%d trades, %d sharing a millisecond with the previous one", len(got), same)
}

func TestSimErrors(t *testing.T) {
	s := startSim(t)
	a := openSim(t, s, venues.Config{})
	r := domain.Range{Start: domain.Nanos(simNow.Add(-time.Hour)), End: domain.Nanos(simNow)}
	for _, err := range a.BackfillCandles(t.Context(), venues.CandleRequest{Symbol: btcusd, Span: domain.Span4h, Range: r}) {
		var ge *GranularityError
		if !errors.Is(err, ErrInvalidGranularity) || !errors.Is(err, domain.ErrNoCapability) || !errors.As(err, &ge) {
			t.Fatalf("4h: %v", err)
		}
	}
	for _, err := range a.StreamCandles(t.Context(), venues.StreamRequest{Symbols: []domain.Symbol{btcusd}, Span: domain.Span1w}) {
		if !errors.Is(err, ErrInvalidGranularity) {
			t.Fatalf("stream 1w: %v", err)
		}
	}
	for _, err := range a.StreamTrades(t.Context(), venues.StreamRequest{Symbols: []domain.Symbol{domain.NewSymbol("BTC", "EUR")}}) {
		if !errors.Is(err, ErrInvalidSymbol) {
			t.Fatalf("stream BTC/EUR: %v", err)
		}
	}
	for _, err := range a.StreamBooks(t.Context(), venues.StreamRequest{}) {
		if err == nil {
			t.Fatal("stream without symbols")
		}
	}
	if _, err := a.Candles(t.Context(), btcusd, domain.Span1m, domain.Range{Start: r.Start - int64(5*time.Hour), End: r.End}); !errors.Is(err, ErrTooManyCandles) {
		t.Fatalf("360 bars in one page: %v", err)
	}
	for _, err := range a.BackfillTrades(t.Context(), venues.TradeRequest{Symbol: domain.NewSymbol("DOGE", "USD"), Range: r}) {
		var se *SymbolError
		if !errors.Is(err, ErrInvalidSymbol) || !errors.As(err, &se) || !slices.Contains(se.Suggestions, "BTC/USD") && len(se.Suggestions) > 0 {
			t.Fatalf("DOGE: %v", err)
		}
		t.Log(err)
	}
}

func collectTrades(t *testing.T, a *Adapter, r domain.Range) []domain.Trade {
	t.Helper()
	var got []domain.Trade
	for tr, err := range a.BackfillTrades(t.Context(), venues.TradeRequest{Symbol: btcusd, Range: r}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, tr)
	}
	return got
}

func sameTrades(t *testing.T, s *simtest.Sim, got []domain.Trade, r domain.Range) {
	t.Helper()
	want, err := s.Truth(Name).Trades("BTC/USD", r.Start, r.End)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d trades, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].ID != want[i].ID || got[i].Time != want[i].Time || got[i].Price.Cmp(want[i].Price) != 0 {
			t.Fatalf("trade %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestSimBackfillsWithFaults(t *testing.T) {
	faults := sim.Faults{ServerErrorRate: 0.1, ResetRate: 0.05, TruncateRate: 0.05, RateLimitRate: 0.1, Latency: time.Millisecond, Jitter: 2 * time.Millisecond}
	// The venue's rate limit is on (forced 429s come from the limiter):
	// the adapter paces at the published 10/s.
	s := startSim(t, simtest.Faults(Name, faults), simtest.Configure(func(c *sim.Config) { c.Limits.Disabled = false }))
	a := openSim(t, s, venues.Config{Concurrency: 4, WeightLimit: PublicRatePerSecond}, WithRetries(30, time.Millisecond), WithTradeChunk(2))
	r := domain.Range{Start: domain.Nanos(simNow.Add(-48 * time.Hour)), End: domain.Nanos(simNow.Add(-24 * time.Hour))}
	sameBars(t, collectBars(t, a, venues.CandleRequest{Symbol: btcusd, Span: domain.Span5m, Range: r}), closedTruth(t, s, domain.Span5m, r))
	tr := domain.Range{Start: domain.Nanos(simNow.Add(-50 * time.Hour)), End: domain.Nanos(simNow.Add(-49 * time.Hour))}
	sameTrades(t, s, collectTrades(t, a, tr), tr)
	st := s.Stats(Name)
	for _, k := range []string{sim.FaultServerError, sim.FaultReset, sim.FaultTruncate, sim.FaultRateLimit} {
		if st.Faults[k] == 0 {
			t.Fatalf("no %s fault injected: %+v", k, st.Faults)
		}
	}
}

func TestSimCandleWindowsUnderVenueVariants(t *testing.T) {
	r := domain.Range{Start: domain.Nanos(simNow.Add(-3 * 24 * time.Hour)), End: domain.Nanos(simNow)}
	for _, tc := range []struct {
		name string
		opts map[string]string
	}{
		{"end inclusive", map[string]string{"coinbase.candlesEnd": "inclusive"}},
		// A venue that silently keeps the newest 300 bars of a larger
		// range: windows never exceed 300, so nothing is cut.
		{"silent truncation at 300", map[string]string{"coinbase.candlesOverLimit": "truncate"}},
		// A venue rejecting windows over 100 bars ("... exceeds 100"):
		// windows are split to the maximum it names.
		{"rejecting over 100", map[string]string{"coinbase.candlesMax": "100"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startSim(t, simtest.Configure(func(c *sim.Config) { c.Options = tc.opts }))
			a := openSim(t, s, venues.Config{})
			sameBars(t, collectBars(t, a, venues.CandleRequest{Symbol: btcusd, Span: domain.Span1m, Range: r}), closedTruth(t, s, domain.Span1m, r))
		})
	}
}

func TestSimRateLimitRespected(t *testing.T) {
	s := simtest.Start(t, simtest.Venues(Name), simtest.Seed(7), simtest.Now(simNow), simtest.Frozen(), simtest.History(10*24*time.Hour))
	cfg := venues.Config{RESTURL: s.REST(Name), WSURL: s.WS(Name), Logger: slog.New(slog.DiscardHandler), Concurrency: 8}
	a, err := Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	// 25 requests at the published 10/s: about 2.5 s, and no 429.
	r := domain.Range{Start: domain.Nanos(simNow.Add(-23 * 300 * time.Minute)), End: domain.Nanos(simNow)}
	start := time.Now()
	got := collectBars(t, a, venues.CandleRequest{Symbol: btcusd, Span: domain.Span1m, Range: r})
	if len(got) == 0 {
		t.Fatal("no bars")
	}
	if st := s.Stats(Name); st.Status429 != 0 {
		t.Fatalf("%d 429s", st.Status429)
	}
	if el := time.Since(start); el < time.Second {
		t.Fatalf("25 requests in %v: the limiter did not pace", el)
	}
}

func TestSimBookSnapshot(t *testing.T) {
	s := startSim(t)
	a := openSim(t, s, venues.Config{})
	for _, depth := range []int{1, 50, 0} {
		b, err := a.BookSnapshot(t.Context(), btcusd, depth)
		if err != nil {
			t.Fatal(err)
		}
		want, err := s.Truth(Name).Book("BTC/USD", domain.Nanos(simNow), depth)
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Bids) != len(want.Bids) || len(b.Asks) != len(want.Asks) || b.Seq == 0 || b.Time != domain.Nanos(simNow) {
			t.Fatalf("depth %d: %d/%d levels (want %d/%d), seq %d", depth, len(b.Bids), len(b.Asks), len(want.Bids), len(want.Asks), b.Seq)
		}
		for i := range want.Bids {
			if b.Bids[i].Price.Cmp(want.Bids[i].Price) != 0 || b.Bids[i].Amount.Cmp(want.Bids[i].Amount) != 0 {
				t.Fatalf("bid %d %+v, want %+v", i, b.Bids[i], want.Bids[i])
			}
		}
	}
	if _, err := a.BookSnapshot(t.Context(), domain.NewSymbol("BTC", "EUR"), 10); !errors.Is(err, ErrInvalidSymbol) {
		t.Fatal(err)
	}
	ms, err := a.Markets(t.Context())
	if err != nil || len(ms) != 4 {
		t.Fatalf("%d markets, %v", len(ms), err)
	}
	m, err := a.Market(t.Context(), domain.NewSymbol("SOL", "USD"))
	if err != nil || m.VenueSymbol != "SOL-USD" || m.PriceTick.String() != "0.01" || m.AmountStep.String() != "0.001" || !m.Active {
		t.Fatalf("%+v %v", m, err)
	}
}
