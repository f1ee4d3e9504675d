package okx

import (
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim/simtest"
	"github.com/pype-go/pype/venues"
)

// simNow is the simulator's fixed virtual now in the end-to-end tests.
var simNow = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

var btcusdt = domain.NewSymbol("BTC", "USDT")

func startSim(t testing.TB, opts ...simtest.Option) *simtest.Sim {
	t.Helper()
	base := []simtest.Option{simtest.Venues(Name), simtest.Seed(7), simtest.Now(simNow), simtest.Frozen(), simtest.History(31 * 24 * time.Hour)}
	return simtest.Start(t, append(base, opts...)...)
}

func openSim(t testing.TB, s *simtest.Sim, cfg venues.Config, opts ...Option) *Adapter {
	t.Helper()
	cfg.RESTURL, cfg.WSURL = s.REST(Name), s.WS(Name)
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
			g.Close.Cmp(w.Close) != 0 || g.Volume.Cmp(w.Volume) != 0 || g.QuoteVolume.Cmp(w.QuoteVolume) != 0 || !g.Closed {
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

func TestSimCandles(t *testing.T) {
	s := startSim(t)
	a := openSim(t, s, venues.Config{})
	r := domain.Range{Start: domain.Nanos(simNow.Add(-3 * 24 * time.Hour)), End: domain.Nanos(simNow)}
	var got []domain.OHLCBar
	var covered time.Duration
	for b, err := range a.BackfillCandles(t.Context(), venues.CandleRequest{Symbol: btcusdt, Span: domain.Span1m, Range: r,
		Covered: func(c domain.Range) { covered += c.Duration() }}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b)
	}
	want, err := s.Truth(Name).Candles("BTC/USDT", domain.Span1m, r.Start, r.End)
	if err != nil {
		t.Fatal(err)
	}
	sameBars(t, got, want)
	if covered != r.Duration() {
		t.Fatalf("covered %v of %v", covered, r.Duration())
	}
	if st := s.Stats(Name); st.Status429 != 0 {
		t.Fatalf("429s: %+v", st)
	}
}

func TestSimTrades(t *testing.T) {
	s := startSim(t)
	a := openSim(t, s, venues.Config{}, WithTradeWindow(10*time.Minute))
	r := domain.Range{Start: domain.Nanos(simNow.Add(-time.Hour)), End: domain.Nanos(simNow.Add(-10 * time.Minute))}
	var got []domain.Trade
	for tr, err := range a.BackfillTrades(t.Context(), venues.TradeRequest{Symbol: btcusdt, Range: r}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, tr)
	}
	want, err := s.Truth(Name).Trades("BTC/USDT", r.Start, r.End)
	if err != nil {
		t.Fatal(err)
	}
	sameTrades(t, got, want)
	t.Logf("%d trades, stats %+v", len(got), s.Stats(Name))
	_ = errors.Is
}
