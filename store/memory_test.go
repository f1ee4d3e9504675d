package store

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
)

// fillTrades fills batch with trades n, n+1, ... one every step.
func fillTrades(batch []domain.Trade, n int, step time.Duration) {
	for i := range batch {
		k := n + i
		batch[i] = mkTrade(k % 1000)
		batch[i].Time = day0 + int64(k)*int64(step)
		batch[i].ID = itoa(1_000_000 + k)
	}
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return string(b[i:])
}

// TestBoundedMemory writes 2 million trades (two days) and checks that the
// live heap stays far below the size of the data: the writer buffers at
// most MaxBufferRows rows and streams row groups to disk.
func TestBoundedMemory(t *testing.T) {
	total := 2_000_000
	if testing.Short() || raceEnabled {
		total = 400_000 // same code path, fewer rows under -race
	}
	const batchSize = 10_000
	const bound = 96 << 20
	s := openTest(t, Options{})
	ctx := context.Background()
	w, err := s.TradeWriter(tradesID, testProv)
	if err != nil {
		t.Fatal(err)
	}
	step := 48 * time.Hour / time.Duration(total) // spread over two day partitions
	batch := make([]domain.Trade, batchSize)
	var peak uint64
	var ms runtime.MemStats
	sample := func() {
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapAlloc)
	}
	runtime.GC()
	for n := 0; n < total; n += batchSize {
		fillTrades(batch, n, step)
		if err := w.Write(ctx, batch); err != nil {
			t.Fatal(err)
		}
		if n%(10*batchSize) == 0 {
			runtime.GC() // measure live data, not garbage awaiting collection
			sample()
		}
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	sample()
	st := w.Stats()
	if st.Committed != int64(total) || st.Commits != 2 {
		t.Fatalf("stats = %+v, want %d rows in 2 commits", st, total)
	}
	t.Logf("%d trades, peak live heap %.1f MiB, spills %d", total, float64(peak)/(1<<20), st.Spills)
	if peak > bound {
		t.Errorf("peak live heap %.1f MiB exceeds %d MiB", float64(peak)/(1<<20), bound>>20)
	}
	// Reading back is streamed too.
	runtime.GC()
	n := 0
	var prev int64
	for tr, err := range s.ReadTrades(ctx, tradesID, allTime()) {
		if err != nil {
			t.Fatal(err)
		}
		if tr.Time < prev {
			t.Fatal("out of order")
		}
		prev = tr.Time
		n++
		if n%200_000 == 0 {
			runtime.GC()
			sample()
		}
	}
	if n != total {
		t.Fatalf("read %d, want %d", n, total)
	}
	if peak > bound {
		t.Errorf("peak live heap while reading %.1f MiB exceeds %d MiB", float64(peak)/(1<<20), bound>>20)
	}
}

// TestBoundedMemoryMerge merges a large batch into a large existing day:
// the merge streams both sides.
func TestBoundedMemoryMerge(t *testing.T) {
	total := 600_000
	if testing.Short() || raceEnabled {
		total = 100_000
	}
	s := openTest(t, Options{MaxBufferRows: 50_000})
	ctx := context.Background()
	step := 20 * time.Hour / time.Duration(total)
	batch := make([]domain.Trade, 10_000)
	for pass := range 2 {
		w, _ := s.TradeWriter(tradesID, testProv)
		for n := pass * 5000; n < total; n += len(batch) { // pass 2 overlaps and extends
			fillTrades(batch, n, step)
			if err := w.Write(ctx, batch); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	info, _ := s.Info(ctx, tradesID)
	if info.Rows != int64(total+5000) {
		t.Fatalf("rows = %d, want %d", info.Rows, total+5000)
	}
	rep, err := s.Verify(ctx, tradesID, allTime())
	if err != nil || rep.Duplicates != 0 || rep.OutOfOrder != 0 || rep.MissingIDs != 0 || !rep.IDsChecked {
		t.Fatalf("verify = %+v, %v", rep, err)
	}
}
