package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/pype-go/pype/domain"
)

func TestVerifyOHLCGrid(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	h := int64(time.Hour)
	w, _ := s.OHLCWriter(ohlc1h, testProv)
	// Bars 0..9 except 3 and 4 (a venue gap inside coverage) and 8 (never
	// covered: only [0, 7h) was declared complete).
	var bars []domain.OHLCBar
	for i := range 10 {
		if i == 3 || i == 4 || i == 8 {
			continue
		}
		bars = append(bars, mkBar(i, domain.Span1h, "1"))
	}
	if err := w.Write(ctx, bars); err != nil {
		t.Fatal(err)
	}
	if err := w.Cover(ctx, domain.Range{Start: day0, End: day0 + 7*h}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Verify(ctx, ohlc1h, domain.Range{Start: day0, End: day0 + 10*h})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows != 7 || rep.VenueGapBars != 2 || rep.MissingBars != 1 || rep.OffGrid != 0 || rep.Duplicates != 0 {
		t.Fatalf("report = %+v", rep)
	}
	want := []Gap{
		{Range: domain.Range{Start: day0 + 3*h, End: day0 + 5*h}, Missing: 2, Covered: true},
		{Range: domain.Range{Start: day0 + 8*h, End: day0 + 9*h}, Missing: 1},
	}
	if len(rep.Gaps) != 2 || rep.Gaps[0] != want[0] || rep.Gaps[1] != want[1] {
		t.Errorf("gaps = %+v, want %+v", rep.Gaps, want)
	}
	if len(rep.Uncovered) != 1 || rep.Uncovered[0] != (domain.Range{Start: day0 + 7*h, End: day0 + 10*h}) {
		t.Errorf("uncovered = %v", rep.Uncovered)
	}
	if rep.OK() {
		t.Error("OK() with missing bars")
	}
	// Bars after the last one, up to the range end, are missing too.
	rep, _ = s.Verify(ctx, ohlc1h, domain.Range{Start: day0, End: day0 + 12*h})
	if rep.MissingBars != 3 {
		t.Errorf("trailing missing bars = %d, want 3", rep.MissingBars)
	}
	// A clean covered range is OK.
	rep, _ = s.Verify(ctx, ohlc1h, domain.Range{Start: day0, End: day0 + 3*h})
	if !rep.OK() {
		t.Errorf("clean range not OK: %+v", rep)
	}
}

func TestVerifyTradeIDs(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	var trades []domain.Trade
	for i := range 100 {
		if i >= 40 && i < 45 {
			continue // ids 1040..1044 missing
		}
		trades = append(trades, mkTrade(i))
	}
	writeTrades(t, s, testProv, trades, domain.Range{Start: day0, End: day0 + int64(time.Hour)})
	rep, err := s.Verify(ctx, tradesID, domain.Range{Start: day0, End: day0 + int64(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.IDsChecked || rep.MissingIDs != 5 || len(rep.Gaps) != 1 || rep.Gaps[0].FromID != "1039" || rep.Gaps[0].ToID != "1045" || !rep.Gaps[0].Covered {
		t.Fatalf("report = %+v", rep)
	}
	if rep.OK() || len(rep.Uncovered) != 0 {
		t.Errorf("OK = %v, uncovered = %v", rep.OK(), rep.Uncovered)
	}

	// Non-numeric ids switch the continuity check off.
	s2 := openTest(t, Options{})
	tr := mkTrade(0)
	tr.ID = "a-1"
	writeTrades(t, s2, testProv, []domain.Trade{mkTrade(1), tr, mkTrade(5)})
	rep, _ = s2.Verify(ctx, tradesID, allTime())
	if rep.IDsChecked || rep.MissingIDs != 0 || len(rep.Gaps) != 0 {
		t.Errorf("non-numeric ids: %+v", rep)
	}
}

// TestVerifyForeignFile checks a partition written by another tool with
// duplicates, disorder and a misplaced row.
func TestVerifyForeignFile(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	rows := []TradeRow{
		{Ts: day0 + 10, ID: "1", Price: 1, Amount: 1, Side: "buy"},
		{Ts: day0 + 10, ID: "1", Price: 1, Amount: 1, Side: "buy"}, // duplicate
		{Ts: day0 + 30, ID: "3", Price: 1, Amount: 1},
		{Ts: day0 + 20, ID: "2", Price: 1, Amount: 1},                    // out of order
		{Ts: day0 + 2*int64(24*time.Hour), ID: "9", Price: 1, Amount: 1}, // another day's row
	}
	path := s.PartitionPath(tradesID, day0)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	pw := parquet.NewGenericWriter[TradeRow](f)
	if _, err := pw.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	rep, err := s.Verify(ctx, tradesID, allTime())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Duplicates != 1 || rep.OutOfOrder != 1 || rep.Misplaced != 1 || rep.Rows != 5 {
		t.Errorf("report = %+v", rep)
	}
	// Inventory falls back to statistics for the time bounds.
	info, _ := s.Info(ctx, tradesID)
	if info.Rows != 5 || info.First != day0+10 || info.Last != day0+2*int64(24*time.Hour) {
		t.Errorf("info = rows %d first %d last %d", info.Rows, info.First-day0, info.Last-day0)
	}
	// A new write merges into it and normalises it.
	writeTrades(t, s, testProv, []domain.Trade{{ID: "4", Time: day0 + 40, Price: dec("1"), Amount: dec("1")}})
	rep, _ = s.Verify(ctx, tradesID, domain.Range{Start: day0, End: day0 + int64(24*time.Hour)})
	if rep.Duplicates != 0 || rep.OutOfOrder != 0 || rep.Rows != 4 {
		t.Errorf("after merge: %+v", rep)
	}
}

func TestConcurrentWritersSameDataset(t *testing.T) {
	s := openTest(t, Options{MaxBufferRows: 500})
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	var commits [8]int
	for g := range 8 {
		wg.Go(func() {
			w, err := s.TradeWriter(tradesID, domain.Provenance{Venue: "binance", RunID: itoa(g)})
			if err != nil {
				errs <- err
				return
			}
			var batch []domain.Trade
			for i := g * 300; i < g*300+600; i++ { // overlaps the next writer
				batch = append(batch, mkTrade(i))
			}
			if err := w.Write(ctx, batch); err != nil {
				errs <- err
				return
			}
			errs <- w.Close(ctx)
			commits[g] = w.Stats().Commits
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got := collect(t, s.ReadTrades(ctx, tradesID, allTime()))
	if len(got) != 7*300+600 {
		t.Fatalf("rows = %d, want %d (lost update?)", len(got), 7*300+600)
	}
	// A writer whose rows were all present already leaves the file alone
	// (and adds no record); every other writer adds its own record.
	want := 0
	for _, c := range commits {
		if c > 0 {
			want++
		}
	}
	info, _ := s.Info(ctx, tradesID)
	if n := len(info.Partitions[0].Provenance); n != want || want == 0 {
		t.Errorf("provenance records = %d, want %d", n, want)
	}
}

func TestCancelledContext(t *testing.T) {
	s := openTest(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	w, _ := s.TradeWriter(tradesID, testProv)
	if err := w.Write(ctx, []domain.Trade{mkTrade(1)}); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := w.Write(ctx, []domain.Trade{mkTrade(2)}); !errors.Is(err, context.Canceled) {
		t.Errorf("write = %v", err)
	}
	if err := w.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("close = %v", err)
	}
	assertNoTemp(t, s)
	for _, err := range s.ReadTrades(ctx, tradesID, allTime()) {
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("read = %v", err)
		}
	}
}
