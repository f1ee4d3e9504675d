package store

import (
	"bytes"
	"context"
	"errors"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
)

// assertNoTemp fails if temporary files are left in the dataset directory.
func assertNoTemp(t tb, s *Store) {
	t.Helper()
	_ = filepath.WalkDir(s.Dir(), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(d.Name(), ".tmp") {
			t.Errorf("temporary file left behind: %s", path)
		}
		return nil
	})
}

// failFS fails file writes once more than limit bytes were written in total
// (a disk that fills up), or renames when failRename is set.
type failFS struct {
	osFS
	limit      int64
	written    int64
	failRename bool
}

type failFile struct {
	*os.File
	fs *failFS
}

func (f *failFile) Write(p []byte) (int, error) {
	if f.fs.written+int64(len(p)) > f.fs.limit {
		return 0, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	f.fs.written += int64(len(p))
	return f.File.Write(p)
}

func (fs *failFS) CreateTemp(dir, pattern string) (writeFile, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	return &failFile{File: f, fs: fs}, nil
}

func (fs *failFS) Rename(a, b string) error {
	if fs.failRename {
		return &os.LinkError{Op: "rename", Old: a, New: b, Err: syscall.EIO}
	}
	return os.Rename(a, b)
}

func TestFailedWriteLeavesPreviousFile(t *testing.T) {
	for _, tc := range []struct {
		name string
		fs   *failFS
	}{
		{"disk full at once", &failFS{limit: 0}},
		{"disk full midway", &failFS{limit: 3_000}},
		{"rename fails", &failFS{limit: 1 << 40, failRename: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ctx := context.Background()
			good, err := Open(dir, Options{Logger: quietLog})
			if err != nil {
				t.Fatal(err)
			}
			var first []domain.Trade
			for i := range 1000 {
				first = append(first, mkTrade(i))
			}
			writeTrades(t, good, testProv, first)
			path := good.PartitionPath(tradesID, day0)
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}

			bad, err := Open(dir, Options{Logger: quietLog, fs: tc.fs})
			if err != nil {
				t.Fatal(err)
			}
			w, err := bad.TradeWriter(tradesID, testProv2)
			if err != nil {
				t.Fatal(err)
			}
			var more []domain.Trade
			for i := 500; i < 5000; i++ {
				more = append(more, mkTrade(i))
			}
			if err := w.Write(ctx, more); err != nil {
				t.Fatal(err)
			}
			err = w.Close(ctx)
			var we *WriteError
			if !errors.As(err, &we) {
				t.Fatalf("Close error = %v, want *WriteError", err)
			}
			if we.Path != path || !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name %s", err, path)
			}
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(before, after) {
				t.Fatal("previous partition file changed after a failed write")
			}
			assertNoTemp(t, good)
			if got := collect(t, good.ReadTrades(ctx, tradesID, allTime())); len(got) != 1000 {
				t.Errorf("rows after failed write = %d, want 1000", len(got))
			}
		})
	}
}

func TestSpillFailureIsReported(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, Options{MaxBufferRows: 100, fs: &failFS{limit: 0}})
	w, err := s.TradeWriter(tradesID, testProv)
	if err != nil {
		t.Fatal(err)
	}
	var batch []domain.Trade
	for i := range 1000 {
		batch = append(batch, mkTrade(i))
	}
	// Spilled runs are only closed (and their writes surface) at commit.
	err = w.Write(ctx, batch)
	if err == nil {
		err = w.Close(ctx)
	} else {
		w.Abort()
	}
	var we *WriteError
	if !errors.As(err, &we) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("error = %v, want *WriteError wrapping ENOSPC", err)
	}
	assertNoTemp(t, s)
	if _, err := os.Stat(s.PartitionPath(tradesID, day0)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("partition file exists after failed write: %v", err)
	}
}

func TestCorruptFileNotOverwritten(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content func(good []byte) []byte
	}{
		{"garbage", func([]byte) []byte { return []byte("this is not parquet at all, just text") }},
		{"truncated", func(good []byte) []byte { return good[:len(good)/2] }},
		{"empty", func([]byte) []byte { return nil }},
		{"flipped footer", func(good []byte) []byte {
			b := bytes.Clone(good)
			for i := len(b) - 200; i < len(b)-8; i++ {
				b[i] ^= 0x5a
			}
			return b
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t, Options{})
			ctx := context.Background()
			var trades []domain.Trade
			for i := range 2000 {
				trades = append(trades, mkTrade(i))
			}
			writeTrades(t, s, testProv, trades)
			path := s.PartitionPath(tradesID, day0)
			good, _ := os.ReadFile(path)
			bad := tc.content(good)
			if err := os.WriteFile(path, bad, 0o644); err != nil {
				t.Fatal(err)
			}

			w, _ := s.TradeWriter(tradesID, testProv2)
			if err := w.Write(ctx, []domain.Trade{mkTrade(5000)}); err != nil {
				t.Fatal(err)
			}
			err := w.Close(ctx)
			var ce *CorruptFileError
			if !errors.As(err, &ce) || ce.Path != path || !strings.Contains(err.Error(), path) {
				t.Fatalf("Close error = %v, want *CorruptFileError naming %s", err, path)
			}
			now, _ := os.ReadFile(path)
			if !bytes.Equal(now, bad) {
				t.Fatal("corrupt file was modified")
			}
			assertNoTemp(t, s)

			// Readers report it too.
			var readErr error
			next, stop := iter.Pull2(s.ReadTrades(ctx, tradesID, allTime()))
			defer stop()
			for {
				_, err, ok := next()
				if !ok {
					break
				}
				if err != nil {
					readErr = err
					break
				}
			}
			if !errors.As(readErr, &ce) || ce.Path != path {
				t.Errorf("read error = %v, want *CorruptFileError", readErr)
			}
			info, err := s.Info(ctx, tradesID)
			if err != nil || len(info.Corrupt) != 1 || info.Corrupt[0] != path {
				t.Errorf("info corrupt = %v, %v", info.Corrupt, err)
			}
			rep, err := s.Verify(ctx, tradesID, allTime())
			if err != nil || len(rep.Problems) == 0 || rep.OK() {
				t.Errorf("verify = %+v, %v", rep, err)
			}
		})
	}
}

func TestUnusableDataDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"", file, filepath.Join(file, "sub")} {
		_, err := Open(dir, Options{})
		var de *DataDirError
		if !errors.As(err, &de) || de.Dir != filepath.Clean(dir) && dir != "" {
			t.Errorf("Open(%q) = %v, want *DataDirError", dir, err)
		}
		if err != nil && !strings.Contains(err.Error(), "writable directory") {
			t.Errorf("message %q gives no hint", err)
		}
	}
	// A directory where files cannot be created.
	_, err := Open(t.TempDir(), Options{fs: &noCreateFS{}})
	var de *DataDirError
	if !errors.As(err, &de) {
		t.Errorf("Open(read-only) = %v, want *DataDirError", err)
	}
}

type noCreateFS struct{ osFS }

func (noCreateFS) CreateTemp(dir, pattern string) (writeFile, error) {
	return nil, &os.PathError{Op: "open", Path: dir, Err: syscall.EROFS}
}

func TestBadInput(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	if _, err := s.TradeWriter(ohlc1h, testProv); err == nil || !strings.Contains(err.Error(), "trades") {
		t.Errorf("TradeWriter(ohlc) = %v", err)
	}
	if _, err := s.OHLCWriter(domain.DatasetID{Venue: "x", Symbol: btc, Type: domain.OHLC}, testProv); err == nil {
		t.Error("OHLC without span accepted")
	}
	w, _ := s.TradeWriter(tradesID, testProv)
	var re *domain.RangeError
	if err := w.Cover(ctx, domain.Range{Start: 5, End: 5}); !errors.As(err, &re) {
		t.Errorf("empty cover = %v", err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, []domain.Trade{mkTrade(1)}); !errors.Is(err, ErrClosed) {
		t.Errorf("write after close = %v", err)
	}
	for _, err := range s.ReadTrades(ctx, tradesID, domain.Range{Start: 10, End: 1}) {
		if !errors.As(err, &re) {
			t.Errorf("inverted read range = %v", err)
		}
	}
	if _, err := Open(t.TempDir(), Options{Compression: "brotli9"}); err == nil || !strings.Contains(err.Error(), "zstd") {
		t.Errorf("bad compression = %v", err)
	}
}

func TestAbortDropsPending(t *testing.T) {
	s := openTest(t, Options{MaxBufferRows: 10})
	ctx := context.Background()
	w, _ := s.TradeWriter(tradesID, testProv)
	var batch []domain.Trade
	for i := range 100 {
		batch = append(batch, mkTrade(i))
	}
	if err := w.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	w.Abort()
	assertNoTemp(t, s)
	if _, err := os.Stat(s.PartitionPath(tradesID, day0)); !errors.Is(err, os.ErrNotExist) {
		t.Error("aborted writer committed a file")
	}
}

func TestRemoveTemp(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	writeTrades(t, s, testProv, []domain.Trade{mkTrade(1)})
	dir := s.DatasetDir(tradesID)
	old := filepath.Join(dir, ".2024-03-01.parquet.tmp-123")
	fresh := filepath.Join(dir, ".2024-03-01.run-456.tmp")
	for _, f := range []string{old, fresh} {
		if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The store clock is fixedNow (2025-01-01); age the old file beyond a day.
	if err := os.Chtimes(old, fixedNow.Add(-48*time.Hour), fixedNow.Add(-48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(fresh, fixedNow.Add(-time.Hour), fixedNow.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	info, _ := s.Info(ctx, tradesID)
	if len(info.Temp) != 2 || info.Files != 1 {
		t.Fatalf("temp = %v, files = %d", info.Temp, info.Files)
	}
	removed, err := s.RemoveTemp(ctx, tradesID, 24*time.Hour)
	if err != nil || len(removed) != 1 || removed[0] != old {
		t.Fatalf("removed = %v, %v", removed, err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Error("fresh temp file removed")
	}
}
