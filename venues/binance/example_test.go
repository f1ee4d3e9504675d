package binance_test

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
	"github.com/pype-go/pype/venues/binance"
)

// startSim runs the simulator's Binance on loopback, frozen at a fixed
// instant, as a stand-in for api.binance.com.
func startSim() (*sim.Server, error) {
	return simvenues.Start(context.Background(), sim.Config{Venues: []string{"binance"}, Seed: 1,
		Now: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), Frozen: true, History: 48 * time.Hour})
}

func Example() {
	srv, err := startSim()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	ctx := context.Background()
	v := srv.Venue("binance")
	a, err := binance.Open(ctx, venues.Config{RESTURL: v.RESTURL, WSURL: v.WSURL, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer a.Close()

	btc := domain.NewSymbol("BTC", "USDT")
	vs, _ := a.VenueSymbol(ctx, btc)
	fmt.Println("venue symbol:", vs)

	day := domain.Range{Start: domain.Nanos(time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)), End: domain.Nanos(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC))}
	n := 0
	for _, err := range a.BackfillCandles(ctx, venues.CandleRequest{Symbol: btc, Span: domain.Span1h, Range: day}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		n++
	}
	fmt.Println("hourly candles:", n)

	_, err = a.VenueSymbol(ctx, domain.NewSymbol("BTC", "USDX"))
	fmt.Println("unknown symbol is ErrInvalidSymbol:", errors.Is(err, binance.ErrInvalidSymbol))
	_, err = binance.Interval(2 * domain.Span1d)
	fmt.Println(err)
	// Output:
	// venue symbol: BTCUSDT
	// hourly candles: 24
	// unknown symbol is ErrInvalidSymbol: true
	// binance: candle interval "2d" is not served (accepted: 1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M)
}

func ExampleAdapter_BackfillTrades() {
	srv, err := startSim()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	ctx := context.Background()
	v := srv.Venue("binance")
	a, err := binance.Open(ctx, venues.Config{RESTURL: v.RESTURL, WSURL: v.WSURL, Concurrency: 4, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer a.Close()
	hour := domain.Range{Start: domain.Nanos(time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC)), End: domain.Nanos(time.Date(2024, 2, 29, 13, 0, 0, 0, time.UTC))}
	var gaps int
	n, contiguous := 0, true
	var prev domain.Trade
	for t, err := range a.BackfillTrades(ctx, venues.TradeRequest{Symbol: domain.NewSymbol("BTC", "USDT"), Range: hour,
		Gap: func(venues.Gap) { gaps++ }}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		if n > 0 && t.Time < prev.Time {
			contiguous = false
		}
		prev = t
		n++
	}
	fmt.Println("trades > 0:", n > 0, "ordered:", contiguous, "gaps:", gaps)
	// Output:
	// trades > 0: true ordered: true gaps: 0
}
