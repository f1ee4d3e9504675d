package bitmex_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
	"github.com/pype-go/pype/sim/simvenues"
	"github.com/pype-go/pype/venues"
	"github.com/pype-go/pype/venues/bitmex"
)

// startSim runs the BitMEX simulator at a fixed virtual time (a real
// program would use bitmex.DefaultRESTURL and DefaultWSURL).
func startSim(now time.Time) (*sim.Server, error) {
	return simvenues.Start(context.Background(), sim.Config{Venues: []string{"bitmex"}, Seed: 3, Now: now, Frozen: true,
		History: 3 * 24 * time.Hour, WeightLimit: 10000})
}

// Hourly candles of the XBTUSD perpetual. BitMEX stamps a bucket with its
// close; the adapter reports open times.
func ExampleAdapter_BackfillCandles() {
	now := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	srv, err := startSim(now)
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	v := srv.Venue("bitmex")
	ctx := context.Background()
	a, err := bitmex.Open(ctx, venues.Config{RESTURL: v.RESTURL, WSURL: v.WSURL, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	defer a.Close()
	sym := domain.MustParseSymbol("BTC/USD:perp")
	vs, _ := a.VenueSymbol(ctx, sym)
	fmt.Println(sym, "is", vs)
	req := venues.CandleRequest{Symbol: sym, Span: domain.Span1h,
		Range: domain.Range{Start: domain.Nanos(now.Add(-3 * time.Hour)), End: domain.Nanos(now)}}
	for bar, err := range a.BackfillCandles(ctx, req) {
		if err != nil {
			panic(err)
		}
		fmt.Println(domain.Time(bar.OpenTime).Format(time.RFC3339), bar.Closed, bar.Trades > 0)
	}
	// Output:
	// BTC/USD:perp is XBTUSD
	// 2024-02-29T21:00:00Z true true
	// 2024-02-29T22:00:00Z true true
	// 2024-02-29T23:00:00Z true true
}

// Every trade of a range, same-millisecond trades included, by trdMatchID.
func ExampleAdapter_BackfillTrades() {
	now := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	srv, err := startSim(now)
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	v := srv.Venue("bitmex")
	ctx := context.Background()
	a, err := bitmex.Open(ctx, venues.Config{RESTURL: v.RESTURL, WSURL: v.WSURL, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	defer a.Close()
	r := domain.Range{Start: domain.Nanos(now.Add(-10 * time.Minute)), End: domain.Nanos(now)}
	n, sameMs := 0, 0
	var prev domain.Trade
	for t, err := range a.BackfillTrades(ctx, venues.TradeRequest{Symbol: domain.MustParseSymbol("BTC/USDT:perp"), Range: r}) {
		if err != nil {
			panic(err)
		}
		if n > 0 && t.Time == prev.Time {
			sameMs++
		}
		n, prev = n+1, t
	}
	truth, _ := v.Truth().Trades("BTC/USDT:perp", r.Start, r.End)
	fmt.Println(n == len(truth), sameMs > 0)
	// Output:
	// true true
}
