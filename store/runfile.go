package store

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/parquet-go/parquet-go"
)

// sortedFile writes rows, already sorted by kind.cmp, into a temporary
// Parquet file. It de-duplicates adjacent equal keys, keeping the last row
// (the newest), by holding the last row back until the next one differs.
type sortedFile[R comparable] struct {
	s     *Store
	kind  *rowKind[R]
	f     writeFile
	pw    *parquet.GenericWriter[R]
	final string // the partition file this temp file is destined for

	last    R
	hasLast bool
	rows    int64 // rows written to pw (excluding last)
	first   int64
	lastTs  int64
	one     [1]R
	closed  bool
	removed bool
}

func newSortedFile[R comparable](s *Store, kind *rowKind[R], dir, final, pattern string) (*sortedFile[R], error) {
	f, err := s.fs.CreateTemp(dir, pattern)
	if err != nil {
		return nil, &WriteError{Path: final, Op: "create temporary file for", Err: err}
	}
	pw := parquet.NewGenericWriter[R](f,
		kind.schema,
		parquet.Compression(s.codec.codec),
		parquet.MaxRowsPerRowGroup(int64(s.opts.RowGroupRows)),
		parquet.DataPageVersion(1), // the most widely readable page format
		parquet.CreatedBy("pype", "", ""),
		parquet.SortingWriterConfig(parquet.SortingColumns(parquet.Ascending(kind.tsCol))),
	)
	return &sortedFile[R]{s: s, kind: kind, f: f, pw: pw, final: final}, nil
}

func (w *sortedFile[R]) name() string { return w.f.Name() }

// canAppend reports whether r may follow the rows written so far.
func (w *sortedFile[R]) canAppend(r *R) bool {
	if w.kind.group != nil {
		// A record (a book snapshot) must not be continued by rows of
		// another state of it: the run would hold their union.
		return !w.hasLast || w.kind.group(&w.last, r) < 0
	}
	return !w.hasLast || w.kind.cmp(&w.last, r) <= 0
}

// add writes one row; rows must come in non-decreasing key order.
func (w *sortedFile[R]) add(r *R) error {
	if w.hasLast {
		if w.kind.cmp(&w.last, r) == 0 {
			w.last = *r
			return nil
		}
		w.one[0] = w.last
		if err := w.write(w.one[:]); err != nil {
			return err
		}
	}
	w.last, w.hasLast = *r, true
	return nil
}

// addSorted writes rows that are sorted and free of duplicate keys among
// themselves, the fast path for in-order batches.
func (w *sortedFile[R]) addSorted(rows []R) error {
	if len(rows) == 0 {
		return nil
	}
	if err := w.add(&rows[0]); err != nil {
		return err
	}
	if len(rows) == 1 {
		return nil
	}
	w.one[0] = w.last
	if err := w.write(w.one[:]); err != nil {
		return err
	}
	if err := w.write(rows[1 : len(rows)-1]); err != nil {
		return err
	}
	w.last = rows[len(rows)-1]
	return nil
}

func (w *sortedFile[R]) write(rows []R) error {
	if len(rows) == 0 {
		return nil
	}
	if w.rows == 0 {
		w.first = w.kind.ts(&rows[0])
	}
	if _, err := w.pw.Write(rows); err != nil {
		return &WriteError{Path: w.final, Op: "write", Err: err}
	}
	w.rows += int64(len(rows))
	w.lastTs = w.kind.ts(&rows[len(rows)-1])
	return nil
}

// numRows counts the rows including the held-back last one.
func (w *sortedFile[R]) numRows() int64 {
	if w.hasLast {
		return w.rows + 1
	}
	return w.rows
}

// finish writes the held-back row, the metadata and the footer, then syncs
// and closes the file. meta may be nil (spilled runs carry none).
func (w *sortedFile[R]) finish(meta func(first, last int64, ok bool) map[string]string) error {
	if w.closed {
		return nil
	}
	if w.hasLast {
		w.one[0] = w.last
		if err := w.write(w.one[:]); err != nil {
			return err
		}
		w.hasLast = false
	}
	if meta != nil {
		for k, v := range meta(w.first, w.lastTs, w.rows > 0) {
			w.pw.SetKeyValueMetadata(k, v)
		}
	}
	w.closed = true
	if err := w.pw.Close(); err != nil {
		_ = w.f.Close()
		return &WriteError{Path: w.final, Op: "write", Err: err}
	}
	if err := w.f.Sync(); err != nil {
		_ = w.f.Close()
		return &WriteError{Path: w.final, Op: "sync", Err: err}
	}
	if err := w.f.Close(); err != nil {
		return &WriteError{Path: w.final, Op: "close", Err: err}
	}
	return nil
}

// discard closes (if needed) and removes the temporary file.
func (w *sortedFile[R]) discard() {
	if w.removed {
		return
	}
	if !w.closed {
		w.closed = true
		_ = w.f.Close()
	}
	w.removed = true
	_ = w.s.fs.Remove(w.f.Name())
}

// partFile is an opened partition (or run) file.
type partFile struct {
	path string
	f    *os.File
	pf   *parquet.File
}

// openPartFile opens a Parquet file and checks that it has the columns of
// kind. Any failure is a *CorruptFileError naming the file; a missing file
// returns an error matching fs.ErrNotExist.
func openPartFile[R comparable](path string, kind *rowKind[R]) (*partFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, &CorruptFileError{Path: path, Err: err}
	}
	pf, err := openParquet(f, st.Size())
	if err != nil {
		f.Close()
		return nil, &CorruptFileError{Path: path, Err: err}
	}
	if err := checkSchema(pf.Schema(), kind.schema); err != nil {
		f.Close()
		return nil, &CorruptFileError{Path: path, Err: err}
	}
	return &partFile{path: path, f: f, pf: pf}, nil
}

// openParquet opens the footer, turning a panic inside the decoder into an
// error (a truncated or garbled file must never crash the process).
func openParquet(r io.ReaderAt, size int64) (pf *parquet.File, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("decoding footer: %v", p)
		}
	}()
	return parquet.OpenFile(r, size, parquet.SkipBloomFilters(true))
}

// checkSchema requires every column of want to exist in got with the same
// physical type; extra columns are allowed.
func checkSchema(got, want *parquet.Schema) error {
	for _, col := range want.Columns() {
		gl, ok := got.Lookup(col...)
		if !ok {
			return fmt.Errorf("missing column %q (has %s)", col[0], columnNames(got))
		}
		wl, _ := want.Lookup(col...)
		if gl.Node.Type().Kind() != wl.Node.Type().Kind() {
			return fmt.Errorf("column %q has type %s, want %s", col[0], gl.Node.Type(), wl.Node.Type())
		}
	}
	return nil
}

func columnNames(s *parquet.Schema) []string {
	var out []string
	for _, c := range s.Columns() {
		out = append(out, c[0])
	}
	return out
}

func (p *partFile) lookup(key string) string {
	v, _ := p.pf.Lookup(key)
	return v
}

func (p *partFile) close() { _ = p.f.Close() }

// fileSource streams the rows of an opened file in order.
type fileSource[R comparable] struct {
	pf     *partFile
	groups []parquet.RowGroup
	g      int
	rd     *parquet.GenericReader[R]
	buf    []R
	i, n   int
}

func newFileSource[R comparable](pf *partFile, bufRows int) *fileSource[R] {
	return &fileSource[R]{pf: pf, groups: pf.pf.RowGroups(), buf: make([]R, bufRows)}
}

// next returns the next row, or nil at the end.
func (s *fileSource[R]) next() (r *R, err error) {
	for s.i >= s.n {
		if err := s.fill(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil, nil
			}
			return nil, err
		}
	}
	r = &s.buf[s.i]
	s.i++
	return r, nil
}

func (s *fileSource[R]) fill() (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &CorruptFileError{Path: s.pf.path, Err: fmt.Errorf("decoding rows: %v", p)}
		}
	}()
	for {
		if s.rd == nil {
			if s.g >= len(s.groups) {
				return io.EOF
			}
			s.rd = parquet.NewGenericRowGroupReader[R](s.groups[s.g])
			s.g++
		}
		n, err := s.rd.Read(s.buf)
		s.i, s.n = 0, n
		if errors.Is(err, io.EOF) {
			_ = s.rd.Close()
			s.rd = nil
			if n > 0 {
				return nil
			}
			continue
		}
		if err != nil {
			return &CorruptFileError{Path: s.pf.path, Err: err}
		}
		if n > 0 {
			return nil
		}
	}
}

func (s *fileSource[R]) close() {
	if s.rd != nil {
		_ = s.rd.Close()
		s.rd = nil
	}
}
