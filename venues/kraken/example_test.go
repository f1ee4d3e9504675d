package kraken_test

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
	"github.com/pype-go/pype/venues/kraken"
)

// exampleVenue starts the simulator (a frozen market at 2024-03-01) and
// opens the adapter on it; in real use, kraken.Open(ctx, venues.Config{})
// talks to api.kraken.com.
func exampleVenue(ctx context.Context, opts ...kraken.Option) (*kraken.Adapter, func()) {
	now := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	srv, err := simvenues.Start(ctx, sim.Config{Venues: []string{"kraken"}, Seed: 1, Now: now, Frozen: true, History: 48 * time.Hour})
	if err != nil {
		panic(err)
	}
	v := srv.Venue("kraken")
	a, err := kraken.Open(ctx, venues.Config{RESTURL: v.RESTURL, WSURL: v.WSURL + "/v2", Logger: slog.New(slog.DiscardHandler)}, opts...)
	if err != nil {
		panic(err)
	}
	return a, func() { a.Close(); srv.Close() }
}

func ExampleAdapter_BackfillCandles() {
	ctx := context.Background()
	a, done := exampleVenue(ctx)
	defer done()
	btc := domain.NewSymbol("BTC", "USD")
	end := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	r := domain.Range{Start: domain.Nanos(end.Add(-3 * time.Hour)), End: domain.Nanos(end)}
	for bar, err := range a.BackfillCandles(ctx, venues.CandleRequest{Symbol: btc, Span: domain.Span1h, Range: r}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(domain.FormatNs(bar.OpenTime), bar.Trades > 0, bar.Closed)
	}
	// Older than the 720 most recent 1m bars: a capability error.
	r.Start = domain.Nanos(end.Add(-24 * time.Hour))
	for _, err := range a.BackfillCandles(ctx, venues.CandleRequest{Symbol: btc, Span: domain.Span1m, Range: r}) {
		fmt.Println(errors.Is(err, domain.ErrNoCapability), errors.Is(err, kraken.ErrHistoryTooOld))
	}
	// Output:
	// 2024-02-29T21:00:00Z true true
	// 2024-02-29T22:00:00Z true true
	// 2024-02-29T23:00:00Z true true
	// true true
}

func ExampleAdapter_DeriveCandles() {
	ctx := context.Background()
	a, done := exampleVenue(ctx)
	defer done()
	start := time.Date(2024, 2, 28, 6, 0, 0, 0, time.UTC) // beyond OHLC's reach for 5m bars
	r := domain.Range{Start: domain.Nanos(start), End: domain.Nanos(start.Add(15 * time.Minute))}
	for bar, err := range a.DeriveCandles(ctx, venues.CandleRequest{Symbol: domain.NewSymbol("BTC", "USD"), Span: domain.Span5m, Range: r}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(domain.FormatNs(bar.OpenTime), bar.Trades > 0, !bar.QuoteVolume.IsZero())
	}
	// Output:
	// 2024-02-28T06:00:00Z true true
	// 2024-02-28T06:05:00Z true true
	// 2024-02-28T06:10:00Z true true
}

func ExampleAdapter_VenueSymbol() {
	ctx := context.Background()
	a, done := exampleVenue(ctx)
	defer done()
	for _, s := range []string{"BTC/USD", "ETH/BTC", "DOGE/USD"} {
		alt, err := a.VenueSymbol(ctx, domain.MustParseSymbol(s))
		fmt.Println(s, alt, err)
	}
	sym, _ := a.Symbol(ctx, "XXBTZUSD")
	fmt.Println(sym)
	// Output:
	// BTC/USD XBTUSD <nil>
	// ETH/BTC ETHXBT <nil>
	// DOGE/USD XDGUSD <nil>
	// BTC/USD
}
