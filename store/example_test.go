package store_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/govalues/decimal"
	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/store"
)

func Example() {
	dir, _ := os.MkdirTemp("", "pype-data")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	s, err := store.Open(dir, store.Options{})
	if err != nil {
		log.Fatal(err)
	}
	id := domain.DatasetID{Venue: "binance", Symbol: domain.MustParseSymbol("BTC/USDT"), Type: domain.Trades}
	w, err := s.TradeWriter(id, domain.Provenance{Venue: "binance", Transport: domain.REST, RunID: "example", Source: "sim"})
	if err != nil {
		log.Fatal(err)
	}
	day := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	trades := []domain.Trade{
		{ID: "1", Time: day + 1_000_000, Price: decimal.MustParse("67432.15"), Amount: decimal.MustParse("0.012"), Side: domain.Buy},
		{ID: "2", Time: day + 2_000_000, Price: decimal.MustParse("67432.16"), Amount: decimal.MustParse("0.5"), Side: domain.Sell},
		{ID: "2", Time: day + 2_000_000, Price: decimal.MustParse("67432.16"), Amount: decimal.MustParse("0.5"), Side: domain.Sell}, // duplicate
	}
	if err := w.Write(ctx, trades); err != nil {
		log.Fatal(err)
	}
	// The first hour was fetched completely.
	if err := w.Cover(ctx, domain.Range{Start: day, End: day + int64(time.Hour)}); err != nil {
		log.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		log.Fatal(err)
	}

	for t, err := range s.ReadTrades(ctx, id, domain.Range{Start: day, End: day + int64(time.Hour)}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(t.ID, domain.FormatNs(t.Time), t.Price, t.Amount, t.Side)
	}
	info, _ := s.Info(ctx, id)
	fmt.Println("rows:", info.Rows, "coverage:", info.Coverage)
	// Output:
	// 1 2024-03-01T00:00:00.001Z 67432.15 0.012 buy
	// 2 2024-03-01T00:00:00.002Z 67432.16 0.5 sell
	// rows: 2 coverage: [[2024-03-01T00:00:00Z, 2024-03-01T01:00:00Z)]
}
