package bitfinex

import (
	"log/slog"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim/simtest"
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
	base := []simtest.Option{simtest.Venues(Name), simtest.Seed(7), simtest.Now(simNow), simtest.Frozen(), simtest.History(20 * 24 * time.Hour)}
	return simtest.Start(t, append(base, opts...)...)
}

func openSim(t testing.TB, s *simtest.Sim, cfg venues.Config, opts ...Option) *Adapter {
	t.Helper()
	cfg.RESTURL, cfg.WSURL = s.REST(Name)+"/v2", s.WS(Name)+"/ws/2"
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	base := []Option{WithRetries(10, 5*time.Millisecond), WithBlockPause(50 * time.Millisecond), WithClock(func() time.Time { return simNow })}
	a, err := Open(t.Context(), cfg, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func TestSimSmoke(t *testing.T) {
	s := startSim(t)
	a := openSim(t, s, venues.Config{})
	r := domain.Range{Start: domain.Nanos(simNow.Add(-6 * time.Hour)), End: domain.Nanos(simNow)}
	var got []domain.OHLCBar
	for b, err := range a.BackfillCandles(t.Context(), venues.CandleRequest{Symbol: btcusd, Span: domain.Span1m, Range: r}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b)
	}
	want, err := s.Truth(Name).Candles("BTC/USD", domain.Span1m, r.Start, r.End)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("got %d bars, want %d", len(got), len(want))
	var trades []domain.Trade
	for tr, err := range a.BackfillTrades(t.Context(), venues.TradeRequest{Symbol: btcusd, Range: r}) {
		if err != nil {
			t.Fatal(err)
		}
		trades = append(trades, tr)
	}
	wt, _ := s.Truth(Name).Trades("BTC/USD", r.Start, r.End)
	t.Logf("got %d trades, want %d", len(trades), len(wt))
	b, err := a.BookSnapshot(t.Context(), dogeusd, 25)
	t.Log(b.Bids[:2], b.Asks[:2], err)
}
