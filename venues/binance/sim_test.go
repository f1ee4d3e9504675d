package binance

import (
	"errors"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
	"github.com/pype-go/pype/sim/simtest"
	"github.com/pype-go/pype/venues"
)

// simNow is the simulator's fixed virtual now in the end-to-end tests.
var simNow = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

func startSim(t testing.TB, opts ...simtest.Option) *simtest.Sim {
	t.Helper()
	base := []simtest.Option{simtest.Venues("binance"), simtest.Seed(7), simtest.Now(simNow), simtest.Frozen(), simtest.History(31 * 24 * time.Hour)}
	return simtest.Start(t, append(base, opts...)...)
}

func openSim(t testing.TB, s *simtest.Sim, cfg venues.Config, opts ...Option) *Adapter {
	t.Helper()
	cfg.RESTURL, cfg.WSURL = s.REST("binance"), s.WS("binance")
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a, err := Open(t.Context(), cfg, append([]Option{WithRetries(10, 5*time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func sameBars(t *testing.T, got, want []domain.OHLCBar) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d bars, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.OpenTime != w.OpenTime || g.Open.Cmp(w.Open) != 0 || g.High.Cmp(w.High) != 0 || g.Low.Cmp(w.Low) != 0 ||
			g.Close.Cmp(w.Close) != 0 || g.Volume.Cmp(w.Volume) != 0 || g.QuoteVolume.Cmp(w.QuoteVolume) != 0 ||
			g.Trades != w.Trades || !g.Closed {
			t.Fatalf("bar %d (%s) = %+v, want %+v", i, domain.FormatNs(w.OpenTime), g, w)
		}
	}
}

func TestSimCandles30Days(t *testing.T) {
	s := startSim(t)
	a := openSim(t, s, venues.Config{Concurrency: 4})
	r := domain.Range{Start: domain.Nanos(simNow.Add(-30 * 24 * time.Hour)), End: domain.Nanos(simNow)}
	var got []domain.OHLCBar
	var covered time.Duration
	for b, err := range a.BackfillCandles(t.Context(), venues.CandleRequest{Symbol: btcusdt, Span: domain.Span1m, Range: r,
		Covered: func(c domain.Range) { covered += c.Duration() }}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b)
	}
	want, err := s.Truth("binance").Candles("BTC/USDT", domain.Span1m, r.Start, r.End)
	if err != nil {
		t.Fatal(err)
	}
	sameBars(t, got, want)
	if len(got) < 30*24*60*9/10 {
		t.Fatalf("only %d bars in 30 days", len(got))
	}
	if covered != r.Duration() {
		t.Fatalf("covered %v of %v", covered, r.Duration())
	}
	if st := s.Stats("binance"); st.Status429 != 0 {
		t.Fatalf("429s: %+v", st)
	}

	// The same backfill through 5xx, resets, truncated bodies and latency
	// gives exactly the same bars.
	s.SetFaults("binance", sim.Faults{Latency: time.Millisecond, ServerErrorRate: 0.1, ResetRate: 0.1, TruncateRate: 0.1})
	var again []domain.OHLCBar
	for b, err := range a.BackfillCandles(t.Context(), venues.CandleRequest{Symbol: btcusdt, Span: domain.Span1m, Range: r}) {
		if err != nil {
			t.Fatal(err)
		}
		again = append(again, b)
	}
	sameBars(t, again, want)
	if f := s.Stats("binance").Faults; f["5xx"]+f["reset"]+f["truncate"] == 0 {
		t.Fatalf("no fault injected: %v", f)
	}
}

func TestSimCandleSpansAndErrors(t *testing.T) {
	s := startSim(t, simtest.Configure(func(c *sim.Config) { c.TradesPerSecond = 0.05 }))
	a := openSim(t, s, venues.Config{})
	tests := []struct {
		span domain.Span
		from time.Duration
	}{
		{domain.Span1s, 30 * time.Minute},
		{domain.Span1M, 30 * 24 * time.Hour},
		{domain.Span1w, 30 * 24 * time.Hour},
		{domain.Span4h, 10 * 24 * time.Hour},
	}
	for _, tc := range tests {
		r := domain.Range{Start: domain.Nanos(simNow.Add(-tc.from)), End: domain.Nanos(simNow)}
		var got []domain.OHLCBar
		for b, err := range a.BackfillCandles(t.Context(), venues.CandleRequest{Symbol: btcusdt, Span: tc.span, Range: r}) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, b)
		}
		want, err := s.Truth("binance").Candles("BTC/USDT", tc.span, r.Start, r.End)
		if err != nil {
			t.Fatal(err)
		}
		// The truth includes the bar still forming at now; history does not.
		for len(want) > 0 && !want[len(want)-1].Closed {
			want = want[:len(want)-1]
		}
		t.Run(tc.span.String(), func(t *testing.T) {
			if len(want) == 0 {
				t.Fatal("no bars in the truth")
			}
			sameBars(t, got, want)
		})
	}
	// Errors: a span Binance does not serve, an unknown symbol.
	r := domain.Range{Start: domain.Nanos(simNow.Add(-time.Hour)), End: domain.Nanos(simNow)}
	for _, err := range a.BackfillCandles(t.Context(), venues.CandleRequest{Symbol: btcusdt, Span: 2 * domain.Span1d, Range: r}) {
		var ie *IntervalError
		if !errors.Is(err, ErrInvalidInterval) || !errors.Is(err, domain.ErrNoCapability) || !errors.As(err, &ie) {
			t.Fatalf("2d: %v", err)
		}
	}
	for _, err := range a.BackfillCandles(t.Context(), venues.CandleRequest{Symbol: domain.NewSymbol("DOGE", "USDT"), Span: domain.Span1m, Range: r}) {
		if !errors.Is(err, ErrInvalidSymbol) {
			t.Fatalf("DOGE: %v", err)
		}
	}
}

// aggTruth is the simulator's ground truth of aggregate trades in r (the
// sim's Truth.Trades lists the fills; Binance's backfill serves aggTrades).
func aggTruth(t testing.TB, s *simtest.Sim, sym string, r domain.Range) []domain.Trade {
	t.Helper()
	m := s.Market("binance")
	sr, err := m.Lookup(sym)
	if err != nil {
		t.Fatal(err)
	}
	var want []domain.Trade
	for at := range sr.AggTradesFrom(ceilMillis(r.Start), m.NowMs()) {
		ns := domain.MillisToNanos(at.Time)
		if ns >= r.End {
			break
		}
		side := domain.Buy
		if at.BuyerMaker {
			side = domain.Sell
		}
		want = append(want, domain.Trade{ID: strconv.FormatInt(at.ID, 10), Time: ns, Price: sr.Price(at.Price), Amount: sr.Qty(at.Qty), Side: side})
	}
	if len(want) == 0 {
		t.Fatal("no trades in the truth")
	}
	return want
}

func tradesTruth(t *testing.T, s *simtest.Sim, r domain.Range) []domain.Trade {
	t.Helper()
	return aggTruth(t, s, "BTC/USDT", r)
}

// sameMsAtPageSeams counts same-millisecond pairs split by a page seam of a
// single cursor that started at the first trade.
func sameMsAtPageSeams(trades []domain.Trade) int {
	n := 0
	for i := 1; i < len(trades); i++ {
		if i%MaxAggTrades == 0 && trades[i].Time == trades[i-1].Time {
			n++
		}
	}
	return n
}

func TestSimTradesBackfillMultiDay(t *testing.T) {
	s := startSim(t, simtest.Configure(func(c *sim.Config) { c.TradesPerSecond = 0.6 }))
	r := domain.Range{Start: domain.Nanos(simNow.Add(-50*time.Hour)) + 123_456_789, End: domain.Nanos(simNow.Add(-2 * time.Hour))}
	want := tradesTruth(t, s, r)
	if n := sameMsAtPageSeams(want); n == 0 {
		t.Fatal("the data has no same-millisecond burst at a page seam; the test proves less than it should")
	}
	for _, conc := range []int{1, 8} {
		a := openSim(t, s, venues.Config{Concurrency: conc}, smallWindows(8_000))
		var gaps []venues.Gap
		var covered time.Duration
		got, err := collectTrades(t, a, venues.TradeRequest{Symbol: btcusdt, Range: r,
			Gap: func(g venues.Gap) { gaps = append(gaps, g) }, Covered: func(c domain.Range) { covered += c.Duration() }})
		if err != nil {
			t.Fatal(err)
		}
		sameTrades(t, got, want)
		if len(gaps) != 0 || covered != r.Duration() {
			t.Fatalf("conc %d: gaps %v, covered %v of %v", conc, gaps, covered, r.Duration())
		}
	}
	if st := s.Stats("binance"); st.Status429 != 0 {
		t.Fatalf("429s: %d", st.Status429)
	}
}

func TestSimTradesBackfillWithFaults(t *testing.T) {
	s := startSim(t, simtest.Faults("binance", sim.Faults{Latency: time.Millisecond, Jitter: 2 * time.Millisecond,
		ServerErrorRate: 0.08, ResetRate: 0.08, TruncateRate: 0.08, RateLimitRate: 0.02}))
	r := domain.Range{Start: domain.Nanos(simNow.Add(-20 * time.Hour)), End: domain.Nanos(simNow.Add(-16 * time.Hour))}
	want := tradesTruth(t, s, r)
	a := openSim(t, s, venues.Config{Concurrency: 6}, smallWindows(4_000))
	got, err := collectTrades(t, a, venues.TradeRequest{Symbol: btcusdt, Range: r})
	if err != nil {
		t.Fatal(err)
	}
	sameTrades(t, got, want)
	st := s.Stats("binance")
	// 429s are drawn too (and honoured: every one pauses the adapter for
	// its Retry-After); TestBackfillTradesSurvivesFaults forces them.
	if st.Faults["5xx"] == 0 || st.Faults["reset"] == 0 || st.Faults["truncate"] == 0 {
		t.Fatalf("faults not exercised: %v", st.Faults)
	}
	t.Logf("faults: %v, 429s: %d", st.Faults, st.Status429)
}
