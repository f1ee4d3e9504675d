package okx_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
	"github.com/pype-go/pype/sim/simvenues"
	"github.com/pype-go/pype/venues"
	"github.com/pype-go/pype/venues/okx"
)

// Backfill daily candles from the simulator (the same calls work against
// https://www.okx.com). Days open at 00:00 UTC: pype reads OKX's 1Dutc
// bars, not the Hong Kong aligned 1D.
func ExampleAdapter_BackfillCandles() {
	ctx := context.Background()
	now := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	srv, err := simvenues.Start(ctx, sim.Config{Venues: []string{"okx"}, Seed: 7, Now: now, Frozen: true, History: 10 * 24 * time.Hour})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	v := srv.Venue("okx")
	a, err := okx.Open(ctx, venues.Config{RESTURL: v.RESTURL, WSURL: v.WSURL, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer a.Close()
	req := venues.CandleRequest{
		Symbol: domain.MustParseSymbol("BTC/USDT"),
		Span:   domain.Span1d,
		Range:  domain.Range{Start: domain.Nanos(now.Add(-3 * 24 * time.Hour)), End: domain.Nanos(now)},
	}
	for bar, err := range a.BackfillCandles(ctx, req) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(domain.Time(bar.OpenTime).Format(time.RFC3339), bar.Closed)
	}
	// Output:
	// 2024-02-27T00:00:00Z true
	// 2024-02-28T00:00:00Z true
	// 2024-02-29T00:00:00Z true
}

// Bar names: spans of 6 hours and more map to OKX's UTC-aligned bars.
func ExampleBar() {
	for _, s := range []domain.Span{domain.Span1m, domain.Span4h, domain.Span1d, domain.Span1w, domain.Span8h} {
		b, err := okx.Bar(s)
		fmt.Println(s, b, err != nil)
	}
	// Output:
	// 1m 1m false
	// 4h 4H false
	// 1d 1Dutc false
	// 1w 1Wutc false
	// 8h  true
}
