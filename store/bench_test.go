package store

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
)

// benchRows is one day partition of trades per benchmark iteration.
const benchRows = 1_000_000

func benchWriteTrades(b *testing.B, compression string) {
	ctx := context.Background()
	s := openTest(b, Options{Compression: compression})
	batch := make([]domain.Trade, 10_000)
	step := 20 * time.Hour / benchRows
	// Pre-build the batches so the benchmark measures the store.
	batches := make([][]domain.Trade, benchRows/len(batch))
	for i := range batches {
		batches[i] = make([]domain.Trade, len(batch))
		fillTrades(batches[i], i*len(batch), step)
	}
	b.ResetTimer()
	var rows int64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		id := tradesID
		id.Venue = "bench" + itoa(i) // a fresh dataset each time: measures the write, not a merge
		w, err := s.TradeWriter(id, testProv)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for _, bt := range batches {
			if err := w.Write(ctx, bt); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(ctx); err != nil {
			b.Fatal(err)
		}
		rows += benchRows
		st := w.Stats()
		if fi, err := os.Stat(st.Files[0]); err == nil {
			b.ReportMetric(float64(fi.Size())/float64(st.Committed), "bytes/row")
		}
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkWriteTrades measures domain.Trade → committed Parquet file
// (conversion, encoding, compression, fsync, rename) on one goroutine.
func BenchmarkWriteTrades(b *testing.B) {
	for _, c := range []string{"zstd", "snappy", "none"} {
		b.Run(c, func(b *testing.B) { benchWriteTrades(b, c) })
	}
}

// BenchmarkMergeTrades measures committing a day of trades into an
// existing day that already holds half of them.
func BenchmarkMergeTrades(b *testing.B) {
	ctx := context.Background()
	s := openTest(b, Options{})
	step := 20 * time.Hour / benchRows
	batch := make([]domain.Trade, benchRows)
	fillTrades(batch, 0, step)
	var rows int64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		id := tradesID
		id.Venue = "merge" + itoa(i)
		w, _ := s.TradeWriter(id, testProv)
		_ = w.Write(ctx, batch[:benchRows/2])
		if err := w.Close(ctx); err != nil {
			b.Fatal(err)
		}
		w, _ = s.TradeWriter(id, testProv2)
		b.StartTimer()
		if err := w.Write(ctx, batch); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(ctx); err != nil {
			b.Fatal(err)
		}
		rows += benchRows + benchRows/2 // rows read plus rows written
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkReadTrades measures Parquet file → domain.Trade via ReadTrades.
func BenchmarkReadTrades(b *testing.B) {
	ctx := context.Background()
	s := openTest(b, Options{})
	batch := make([]domain.Trade, benchRows)
	fillTrades(batch, 0, 20*time.Hour/benchRows)
	writeTrades(b, s, testProv, batch)
	b.ResetTimer()
	var rows int64
	for i := 0; i < b.N; i++ {
		for _, err := range s.ReadTrades(ctx, tradesID, allTime()) {
			if err != nil {
				b.Fatal(err)
			}
			rows++
		}
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkWriteOHLC measures a year of 1m bars (12 monthly files).
func BenchmarkWriteOHLC(b *testing.B) {
	ctx := context.Background()
	s := openTest(b, Options{})
	const n = 525_600
	bars := make([]domain.OHLCBar, n)
	for i := range bars {
		bars[i] = mkBar(i, domain.Span1m, "100.25")
	}
	b.ResetTimer()
	var rows int64
	for i := 0; i < b.N; i++ {
		id := ohlc1m
		id.Venue = "bench" + itoa(i)
		w, _ := s.OHLCWriter(id, testProv)
		if err := w.Write(ctx, bars); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(ctx); err != nil {
			b.Fatal(err)
		}
		rows += n
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
