package bybit_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
	"github.com/pype-go/pype/sim/simvenues"
	"github.com/pype-go/pype/venues"
	"github.com/pype-go/pype/venues/bybit"
)

// Example backfills hourly candles of the BTCUSDT perpetual from the
// simulator, then shows that an old trade range is refused rather than
// served partially (Bybit serves only recent trades over REST).
func Example() {
	ctx := context.Background()
	now := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	srv, err := simvenues.Start(ctx, sim.Config{Venues: []string{"bybit"}, Seed: 7, Now: now, Frozen: true, History: 48 * time.Hour})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	v := srv.Venue("bybit")

	a, err := bybit.Open(ctx, venues.Config{RESTURL: v.RESTURL, WSURL: v.WSURL, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	defer a.Close()

	perp := domain.MustParseSymbol("BTC/USDT:perp")
	cat, name, _ := a.VenueSymbol(ctx, perp)
	fmt.Println(perp, "is", cat, name)

	r := domain.Range{Start: domain.Nanos(now.Add(-3 * time.Hour)), End: domain.Nanos(now)}
	for bar, err := range a.BackfillCandles(ctx, venues.CandleRequest{Symbol: perp, Span: domain.Span1h, Range: r}) {
		if err != nil {
			panic(err)
		}
		fmt.Println(domain.FormatNs(bar.OpenTime), "close", bar.Close)
	}

	day := domain.Range{Start: domain.Nanos(now.Add(-24 * time.Hour)), End: domain.Nanos(now)}
	for _, err := range a.BackfillTrades(ctx, venues.TradeRequest{Symbol: perp, Range: day}) {
		var he *bybit.TradeHistoryError
		fmt.Println("capability error:", errors.Is(err, domain.ErrNoCapability), errors.As(err, &he) && he.Served == 1000)
	}
	// Output:
	// BTC/USDT:perp is linear BTCUSDT
	// 2024-02-29T21:00:00Z close 41567.1
	// 2024-02-29T22:00:00Z close 41640.2
	// 2024-02-29T23:00:00Z close 41900.7
	// capability error: true true
}
