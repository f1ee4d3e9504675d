package bybit

import (
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
	"github.com/pype-go/pype/sim/simtest"
	"github.com/pype-go/pype/venues"
)

// simNow is the simulator's fixed virtual now in the end-to-end tests.
var simNow = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

var (
	btcusdt     = domain.NewSymbol("BTC", "USDT")
	btcusdtPerp = domain.Symbol{Base: "BTC", Quote: "USDT", Market: domain.Perp}
)

func startSim(t testing.TB, opts ...simtest.Option) *simtest.Sim {
	t.Helper()
	base := []simtest.Option{simtest.Venues("bybit"), simtest.Seed(7), simtest.Now(simNow), simtest.Frozen(), simtest.History(31 * 24 * time.Hour)}
	return simtest.Start(t, append(base, opts...)...)
}

func openSim(t testing.TB, s *simtest.Sim, cfg venues.Config, opts ...Option) *Adapter {
	t.Helper()
	cfg.RESTURL, cfg.WSURL = s.REST("bybit"), s.WS("bybit")
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

// sameBars compares bars field by field; Bybit klines carry no trade count.
func sameBars(t *testing.T, got, want []domain.OHLCBar) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d bars, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.OpenTime != w.OpenTime || g.Open.Cmp(w.Open) != 0 || g.High.Cmp(w.High) != 0 || g.Low.Cmp(w.Low) != 0 ||
			g.Close.Cmp(w.Close) != 0 || g.Volume.Cmp(w.Volume) != 0 || g.QuoteVolume.Cmp(w.QuoteVolume) != 0 || !g.Closed {
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
	want, err := s.Truth("bybit").Candles(sym.String(), span, r.Start, r.End)
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
	r := domain.Range{Start: domain.Nanos(simNow.Add(-5*24*time.Hour - 17*time.Minute)), End: domain.Nanos(simNow)}
	for _, sym := range []domain.Symbol{btcusdt, btcusdtPerp} {
		var covered time.Duration
		got := collectBars(t, a, venues.CandleRequest{Symbol: sym, Span: domain.Span1m, Range: r,
			Covered: func(c domain.Range) { covered += c.Duration() }})
		sameBars(t, got, truthBars(t, s, sym, domain.Span1m, r))
		if len(got) < 5*24*60*9/10 {
			t.Fatalf("%s: only %d bars", sym, len(got))
		}
		if covered != r.Duration() {
			t.Fatalf("%s: covered %v of %v", sym, covered, r.Duration())
		}
	}
}

func TestSimCandleSpans(t *testing.T) {
	s := startSim(t, simtest.Configure(func(c *sim.Config) { c.TradesPerSecond = 0.05 }))
	a := openSim(t, s, venues.Config{})
	for _, tc := range []struct {
		span domain.Span
		from time.Duration
	}{
		{domain.Span1M, 30 * 24 * time.Hour},
		{domain.Span1w, 30 * 24 * time.Hour},
		{domain.Span1d, 30 * 24 * time.Hour},
		{domain.Span12h, 10 * 24 * time.Hour},
		{domain.Span2h, 3 * 24 * time.Hour},
		{domain.Span3m, 12 * time.Hour},
	} {
		t.Run(tc.span.String(), func(t *testing.T) {
			r := domain.Range{Start: domain.Nanos(simNow.Add(-tc.from)), End: domain.Nanos(simNow)}
			want := truthBars(t, s, btcusdt, tc.span, r)
			if len(want) == 0 {
				t.Fatal("no bars in the truth")
			}
			sameBars(t, collectBars(t, a, venues.CandleRequest{Symbol: btcusdt, Span: tc.span, Range: r}), want)
		})
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
		{"span", venues.CandleRequest{Symbol: btcusdt, Span: domain.Span8h, Range: r}, []error{ErrInvalidInterval, domain.ErrNoCapability}},
		{"symbol", venues.CandleRequest{Symbol: domain.NewSymbol("BTC", "XYZ"), Span: domain.Span1m, Range: r}, []error{ErrInvalidSymbol}},
		{"range", venues.CandleRequest{Symbol: btcusdt, Span: domain.Span1m, Range: domain.Range{Start: r.End, End: r.Start}}, nil},
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
}
