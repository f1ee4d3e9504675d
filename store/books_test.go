package store

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/govalues/decimal"
	"github.com/parquet-go/parquet-go"
	"github.com/pype-go/pype/domain"
)

// bookState is a depth-3 book whose prices start at base (asks from
// base+1 up, bids from base down).
func bookState(ts, seq, base int64) domain.BookSnapshot {
	b := domain.BookSnapshot{Symbol: btc, Time: ts, Seq: seq, RecvTime: ts + 5}
	for i := range int64(3) {
		b.Asks = append(b.Asks, domain.BookLevel{Price: decimal.MustNew(101+base+i, 0), Amount: dec("1")})
		b.Bids = append(b.Bids, domain.BookLevel{Price: decimal.MustNew(100+base-i, 0), Amount: dec("2")})
	}
	return b
}

func sameBook(a, b domain.BookSnapshot) bool {
	eq := func(x, y []domain.BookLevel) bool {
		return slices.EqualFunc(x, y, func(p, q domain.BookLevel) bool { return p.Price.Cmp(q.Price) == 0 && p.Amount.Cmp(q.Amount) == 0 })
	}
	return a.Time == b.Time && a.Seq == b.Seq && a.RecvTime == b.RecvTime && eq(a.Bids, b.Bids) && eq(a.Asks, b.Asks)
}

func writeBooks(t *testing.T, s *Store, batches ...[]domain.BookSnapshot) WriterStats {
	t.Helper()
	ctx := context.Background()
	w, err := s.BookWriter(bookID, testProv)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range batches {
		if err := w.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return w.Stats()
}

// TestBooksSameTimeNeverUnion: two different states with the same time
// must read back as two distinct states (different seq) or exactly the
// latest (same seq), never as one snapshot holding both states' levels —
// whether they meet in one batch, in spilled runs, or in a merge with the
// existing file.
func TestBooksSameTimeNeverUnion(t *testing.T) {
	t0 := day0 + int64(time.Hour)
	a, b := bookState(t0, 0, 0), bookState(t0, 0, 10) // BitMEX: no seq
	a2, b2 := bookState(t0, 7, 0), bookState(t0, 8, 10)
	other := bookState(t0+1, 0, 5)
	tests := []struct {
		name    string
		opts    Options
		batches [][]domain.BookSnapshot // written by one writer
		files   [][]domain.BookSnapshot // then one writer per element, each committed
		want    []domain.BookSnapshot
	}{
		{"same seq, one batch", Options{}, [][]domain.BookSnapshot{{a, b, other}}, nil, []domain.BookSnapshot{b, other}},
		{"same seq, one batch, out of order", Options{}, [][]domain.BookSnapshot{{other, a, b}}, nil, []domain.BookSnapshot{b, other}},
		{"same seq, latest fewer levels", Options{}, [][]domain.BookSnapshot{{a, shallow(b)}}, nil, []domain.BookSnapshot{shallow(b)}},
		{"same seq, spilled runs", Options{MaxBufferRows: 4}, [][]domain.BookSnapshot{{a}, {b}, {other}}, nil, []domain.BookSnapshot{b, other}},
		{"same seq, merged into the file", Options{}, nil, [][]domain.BookSnapshot{{a, other}, {b}}, []domain.BookSnapshot{b, other}},
		{"same seq, merged, latest fewer levels", Options{}, nil, [][]domain.BookSnapshot{{a}, {shallow(b)}}, []domain.BookSnapshot{shallow(b)}},
		{"distinct seq, one batch", Options{}, [][]domain.BookSnapshot{{a2, b2}}, nil, []domain.BookSnapshot{a2, b2}},
		{"distinct seq, merged", Options{}, nil, [][]domain.BookSnapshot{{b2}, {a2}}, []domain.BookSnapshot{a2, b2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTest(t, tt.opts)
			if tt.batches != nil {
				writeBooks(t, s, tt.batches...)
			}
			for _, f := range tt.files {
				writeBooks(t, s, f)
			}
			got := collect(t, s.ReadBooks(context.Background(), bookID, allTime()))
			if len(got) != len(tt.want) {
				t.Fatalf("read %d snapshots, want %d: %+v", len(got), len(tt.want), got)
			}
			for i := range got {
				if !sameBook(got[i], tt.want[i]) {
					t.Fatalf("snapshot %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
			rep, err := s.Verify(context.Background(), bookID, allTime())
			if err != nil || rep.BadBooks != 0 || rep.Duplicates != 0 || rep.OutOfOrder != 0 {
				t.Fatalf("verify %v %+v", err, rep)
			}
		})
	}
}

func shallow(b domain.BookSnapshot) domain.BookSnapshot {
	b.Asks, b.Bids = b.Asks[:1], b.Bids[:2]
	return b
}

func TestBooksRewriteSameStateUnchanged(t *testing.T) {
	s := openTest(t, Options{})
	in := []domain.BookSnapshot{bookState(day0+10, 0, 0), bookState(day0+20, 0, 3)}
	writeBooks(t, s, in)
	st := writeBooks(t, s, in)
	if st.Unchanged != 1 || st.Commits != 0 || st.Replaced != 0 {
		t.Fatalf("rewriting the same states: %+v", st)
	}
	st = writeBooks(t, s, []domain.BookSnapshot{shallow(in[1])})
	if st.Commits != 1 || st.Replaced != 3 || st.Added != 0 {
		// 3 levels of the old state are gone (counted as replaced), none added.
		t.Fatalf("replacing a state: %+v", st)
	}
}

// writeBookRows writes rows as a partition file, as another tool (or an
// older pype) could have.
func writeBookRows(t *testing.T, s *Store, rows []BookRow) {
	t.Helper()
	path := s.PartitionPath(bookID, day0)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pw := parquet.NewGenericWriter[BookRow](f)
	if _, err := pw.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyBadBooks(t *testing.T) {
	ok := []BookRow{
		{Ts: day0 + 1, Side: "ask", Price: 101, Amount: 1, Level: 0},
		{Ts: day0 + 1, Side: "ask", Price: 102, Amount: 1, Level: 1},
		{Ts: day0 + 1, Side: "bid", Price: 100, Amount: 1, Level: 0},
		{Ts: day0 + 1, Side: "bid", Price: 99, Amount: 1, Level: 1},
	}
	at := func(ts int64, rows []BookRow) []BookRow {
		out := slices.Clone(rows)
		for i := range out {
			out[i].Ts = day0 + ts
		}
		return out
	}
	union := []BookRow{ // two depth-2 states stored as one (the old merge)
		{Side: "ask", Price: 101, Amount: 1, Level: 0},
		{Side: "ask", Price: 101.5, Amount: 1, Level: 0},
		{Side: "ask", Price: 102, Amount: 1, Level: 1},
		{Side: "ask", Price: 102.5, Amount: 1, Level: 1},
		{Side: "bid", Price: 100, Amount: 1, Level: 0},
	}
	crossed := []BookRow{
		{Side: "ask", Price: 100, Amount: 1, Level: 0},
		{Side: "bid", Price: 100, Amount: 1, Level: 0},
	}
	skipped := []BookRow{
		{Side: "ask", Price: 101, Amount: 1, Level: 0},
		{Side: "ask", Price: 102, Amount: 1, Level: 2},
	}
	rows := slices.Concat(ok, at(2, union), at(3, ok), at(4, crossed), at(5, skipped))
	s := openTest(t, Options{})
	writeBookRows(t, s, rows)
	rep, err := s.Verify(context.Background(), bookID, allTime())
	if err != nil {
		t.Fatal(err)
	}
	if rep.BadBooks != 3 || !slices.Equal(rep.BadBookTimes, []int64{day0 + 2, day0 + 4, day0 + 5}) || rep.OK() {
		t.Fatalf("report: bad %d at %v, ok %v", rep.BadBooks, rep.BadBookTimes, rep.OK())
	}
}
