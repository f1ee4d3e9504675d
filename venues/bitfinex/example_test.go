package bitfinex_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
	"github.com/pype-go/pype/sim/simvenues"
	"github.com/pype-go/pype/venues"
	"github.com/pype-go/pype/venues/bitfinex"
)

// Backfill hourly candles from the simulator's Bitfinex (a real client
// leaves the URLs empty for https://api-pub.bitfinex.com/v2; a URL without
// a path gets /v2 or /ws/2 appended).
func ExampleAdapter_BackfillCandles() {
	ctx := context.Background()
	now := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	srv, err := simvenues.Start(ctx, sim.Config{Venues: []string{"bitfinex"}, Seed: 1, Now: now, Frozen: true, History: 48 * time.Hour})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	v := srv.Venue("bitfinex")
	a, err := bitfinex.Open(ctx, venues.Config{RESTURL: v.RESTURL, WSURL: v.WSURL, Logger: slog.New(slog.DiscardHandler)},
		bitfinex.WithClock(func() time.Time { return now }))
	if err != nil {
		panic(err)
	}
	defer a.Close()
	req := venues.CandleRequest{Symbol: domain.MustParseSymbol("BTC/USDT"), Span: domain.Span1h,
		Range: domain.Range{Start: domain.Nanos(now.Add(-3 * time.Hour)), End: domain.Nanos(now)}}
	for bar, err := range a.BackfillCandles(ctx, req) {
		if err != nil {
			panic(err)
		}
		fmt.Println(domain.Time(bar.OpenTime).Format(time.RFC3339), bar.Closed)
	}
	vs, _ := a.VenueSymbol(ctx, req.Symbol)
	fmt.Println(vs)
	// Output:
	// 2024-02-29T21:00:00Z true
	// 2024-02-29T22:00:00Z true
	// 2024-02-29T23:00:00Z true
	// tBTCUST
}

// Bitfinex's names: USDT is UST, long codes use a colon; time frames are
// 1m … 1D, 1W, 14D, 1M.
func ExampleJoinPair() {
	fmt.Println(bitfinex.JoinPair("BTC", "UST"), bitfinex.JoinPair("DOGE", "USD"))
	tf, _ := bitfinex.Timeframe(domain.MustParseSpan("14d"))
	_, err := bitfinex.Timeframe(domain.Span2h)
	fmt.Println(tf, err != nil)
	// Output:
	// tBTCUST tDOGE:USD
	// 14D true
}
