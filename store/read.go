package store

import (
	"context"
	"encoding/binary"
	"errors"
	"io/fs"
	"iter"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
	"github.com/pype-go/pype/domain"
)

// ReadOHLC yields the bars of an OHLC dataset with open time in r, in time
// order, across partitions. Bars read back have Closed set. An unreadable
// file ends the sequence with a *CorruptFileError naming it.
func (s *Store) ReadOHLC(ctx context.Context, id domain.DatasetID, r domain.Range) iter.Seq2[domain.OHLCBar, error] {
	return func(yield func(domain.OHLCBar, error) bool) {
		if err := checkRead(id, domain.OHLC, r); err != nil {
			yield(domain.OHLCBar{}, err)
			return
		}
		for row, err := range readRows(ctx, s, id, ohlcKind, r) {
			if err != nil {
				yield(domain.OHLCBar{}, err)
				return
			}
			b, err := ohlcFromRow(row.path, row.row)
			if !yield(b, err) || err != nil {
				return
			}
		}
	}
}

// ReadTrades yields the trades of a trades dataset with time in r, ordered
// by (time, trade id).
func (s *Store) ReadTrades(ctx context.Context, id domain.DatasetID, r domain.Range) iter.Seq2[domain.Trade, error] {
	return func(yield func(domain.Trade, error) bool) {
		if err := checkRead(id, domain.Trades, r); err != nil {
			yield(domain.Trade{}, err)
			return
		}
		for row, err := range readRows(ctx, s, id, tradeKind, r) {
			if err != nil {
				yield(domain.Trade{}, err)
				return
			}
			t, err := tradeFromRow(row.path, row.row)
			if !yield(t, err) || err != nil {
				return
			}
		}
	}
}

// ReadBooks yields the order-book snapshots of a book dataset with time in
// r, one per (time, seq), in that order. Bids are best (highest) first,
// asks best (lowest) first.
func (s *Store) ReadBooks(ctx context.Context, id domain.DatasetID, r domain.Range) iter.Seq2[domain.BookSnapshot, error] {
	return func(yield func(domain.BookSnapshot, error) bool) {
		if err := checkRead(id, domain.Book, r); err != nil {
			yield(domain.BookSnapshot{}, err)
			return
		}
		var cur domain.BookSnapshot
		have := false
		for row, err := range readRows(ctx, s, id, bookKind, r) {
			if err != nil {
				yield(domain.BookSnapshot{}, err)
				return
			}
			br := row.row
			if have && (br.Ts != cur.Time || br.Seq != cur.Seq) {
				if !yield(cur, nil) {
					return
				}
				have = false
			}
			if !have {
				cur = domain.BookSnapshot{Symbol: id.Symbol, Time: br.Ts, Seq: br.Seq, RecvTime: br.RecvTs}
				have = true
			}
			var lv domain.BookLevel
			var ok bool
			if lv.Price, ok = mustFromFloat(br.Price); !ok {
				yield(domain.BookSnapshot{}, rowError(row.path, br.Ts, "price", br.Price))
				return
			}
			if lv.Amount, ok = mustFromFloat(br.Amount); !ok {
				yield(domain.BookSnapshot{}, rowError(row.path, br.Ts, "amount", br.Amount))
				return
			}
			if br.Side == sideBid {
				cur.Bids = append(cur.Bids, lv)
			} else {
				cur.Asks = append(cur.Asks, lv)
			}
		}
		if have {
			yield(cur, nil)
		}
	}
}

func checkRead(id domain.DatasetID, want domain.DataType, r domain.Range) error {
	if err := checkID(id, want); err != nil {
		return err
	}
	return r.Validate()
}

// fileRow is a row and the file it came from (for error messages).
type fileRow[R any] struct {
	path string
	row  *R
}

// readRows yields the rows with time in r from the partition files of id,
// in key order. Row groups whose time statistics lie outside r are skipped.
func readRows[R comparable](ctx context.Context, s *Store, id domain.DatasetID, kind *rowKind[R], r domain.Range) iter.Seq2[fileRow[R], error] {
	return func(yield func(fileRow[R], error) bool) {
		files, err := s.listFiles(id)
		if err != nil {
			yield(fileRow[R]{}, err)
			return
		}
		for _, f := range files {
			if f.part.end <= r.Start || f.part.start >= r.End {
				continue
			}
			if err := ctx.Err(); err != nil {
				yield(fileRow[R]{}, err)
				return
			}
			if !readFile(ctx, f.path, kind, r, yield) {
				return
			}
		}
	}
}

// readFile yields the rows of one file in r; false means stop.
func readFile[R comparable](ctx context.Context, path string, kind *rowKind[R], r domain.Range, yield func(fileRow[R], error) bool) bool {
	pf, err := openPartFile(path, kind)
	if errors.Is(err, fs.ErrNotExist) {
		return true // replaced or removed since listing
	}
	if err != nil {
		yield(fileRow[R]{}, err)
		return false
	}
	defer pf.close()
	leaf, _ := pf.pf.Schema().Lookup(kind.tsCol)
	groups := pf.pf.RowGroups()
	md := pf.pf.Metadata()
	buf := make([]R, 1024)
	for gi, g := range groups {
		if gi < len(md.RowGroups) {
			if lo, hi, ok := int64Stats(md.RowGroups[gi].Columns, leaf.ColumnIndex); ok && (hi < r.Start || lo >= r.End) {
				continue
			}
		}
		src := &fileSource[R]{pf: pf, groups: []parquet.RowGroup{g}, buf: buf}
		for n := 0; ; n++ {
			if n&0x3fff == 0 && ctx.Err() != nil {
				src.close()
				yield(fileRow[R]{}, ctx.Err())
				return false
			}
			row, err := src.next()
			if err != nil {
				src.close()
				yield(fileRow[R]{}, err)
				return false
			}
			if row == nil {
				break
			}
			ts := kind.ts(row)
			if ts < r.Start {
				continue
			}
			if ts >= r.End {
				src.close()
				return true // rows are sorted by time
			}
			if !yield(fileRow[R]{path: path, row: row}, nil) {
				src.close()
				return false
			}
		}
		src.close()
	}
	return true
}

// int64Stats returns the min and max statistics of an INT64 column chunk.
func int64Stats(cols []format.ColumnChunk, idx int) (lo, hi int64, ok bool) {
	if idx < 0 || idx >= len(cols) {
		return 0, 0, false
	}
	st := cols[idx].MetaData.Statistics
	mn, mx := st.MinValue, st.MaxValue
	if len(mn) != 8 || len(mx) != 8 {
		return 0, 0, false
	}
	return int64(binary.LittleEndian.Uint64(mn)), int64(binary.LittleEndian.Uint64(mx)), true
}
