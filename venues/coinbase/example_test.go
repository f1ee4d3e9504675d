package coinbase_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
	"github.com/pype-go/pype/sim/simvenues"
	"github.com/pype-go/pype/venues"
	"github.com/pype-go/pype/venues/coinbase"
)

// Backfill a day of hourly candles and an hour of trades from the local
// simulator (point RESTURL/WSURL at nothing to use the real venue).
func Example() {
	ctx := context.Background()
	now := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	// A frozen simulator without its rate limit, so the example runs fast.
	srv, err := simvenues.Start(ctx, sim.Config{Venues: []string{"coinbase"}, Seed: 1, Now: now, Frozen: true,
		History: 48 * time.Hour, Limits: sim.LimiterConfig{Disabled: true}})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	v := srv.Venue("coinbase")
	a, err := coinbase.Open(ctx, venues.Config{RESTURL: v.RESTURL, WSURL: v.WSURL, Logger: slog.New(slog.DiscardHandler),
		WeightLimit: 100}) // requests per second; the venue's default is 10

	if err != nil {
		panic(err)
	}
	defer a.Close()

	btc := domain.MustParseSymbol("BTC/USD")
	day := domain.Range{Start: domain.Nanos(now.Add(-24 * time.Hour)), End: domain.Nanos(now)}
	bars := 0
	for _, err := range a.BackfillCandles(ctx, venues.CandleRequest{Symbol: btc, Span: domain.Span1h, Range: day}) {
		if err != nil {
			panic(err)
		}
		bars++
	}
	hour := domain.Range{Start: domain.Nanos(now.Add(-time.Hour)), End: domain.Nanos(now)}
	var first, last domain.Trade
	n := 0
	for t, err := range a.BackfillTrades(ctx, venues.TradeRequest{Symbol: btc, Range: hour}) {
		if err != nil {
			panic(err)
		}
		if n == 0 {
			first = t
		}
		last, n = t, n+1
	}
	fmt.Println("hourly bars:", bars)
	fmt.Println("trades in the last hour form one id run:", n > 0 && idSpan(first, last) == n)

	// Output:
	// hourly bars: 24
	// trades in the last hour form one id run: true
}

func idSpan(a, b domain.Trade) int {
	var x, y int
	fmt.Sscan(a.ID, &x)
	fmt.Sscan(b.ID, &y)
	return y - x + 1
}
