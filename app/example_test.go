package app_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/pype-go/pype/app"
	"github.com/pype-go/pype/app/apptest"
	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/venues"
)

// A backfill fetches what is missing, a second one nothing; verify proves
// the result complete.
func Example() {
	dir, _ := os.MkdirTemp("", "pype-example")
	defer os.RemoveAll(dir)

	reg := venues.NewRegistry() // in the CLI: venues/all.Registry()
	fake := &apptest.Venue{}    // a deterministic in-memory venue
	_ = fake.Register(reg)
	a := &app.App{Venues: reg, DataDir: dir, Logger: slog.New(slog.DiscardHandler),
		Now: func() time.Time { return time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC) }}

	req := app.BackfillRequest{
		Venue:   "fake",
		Symbols: []domain.Symbol{domain.NewSymbol("BTC", "USDT")},
		Type:    domain.OHLC,
		Span:    domain.Span1h,
		Range:   domain.Range{Start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano(), End: time.Date(2024, 1, 3, 0, 0, 0, 0, time.UTC).UnixNano()},
	}
	ctx := context.Background()
	for range 2 {
		res, err := a.Backfill(ctx, req)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s: %d missing range(s), %d bars added\n", res.Status, len(res.Datasets[0].Missing), res.Added())
	}
	vr, _ := a.Verify(ctx, app.VerifyRequest{})
	fmt.Println("verified:", vr.OK(), vr.Verdicts[0].Report.Rows, "bars")
	for b, err := range a.ReadOHLC(ctx, app.Selector{Venue: "fake", Symbol: req.Symbols[0], Span: domain.Span1h,
		Range: domain.Range{Start: req.Range.Start, End: req.Range.Start + int64(2*time.Hour)}}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(domain.FormatNs(b.OpenTime), b.Open, b.Close, b.Trades)
	}
	// Output:
	// succeeded: 1 missing range(s), 48 bars added
	// succeeded: 0 missing range(s), 0 bars added
	// verified: true 48 bars
	// 2024-01-01T00:00:00Z 100 100.63 60
	// 2024-01-01T01:00:00Z 100.7 101.33 60
}
