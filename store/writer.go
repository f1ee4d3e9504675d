package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"time"

	"github.com/pype-go/pype/domain"
)

// WriterStats summarises what a Writer did so far.
type WriterStats struct {
	Records    int64    // records accepted by Write (bars, trades, snapshots)
	Rows       int64    // Parquet rows they became (book snapshots: one per level)
	Added      int64    // net rows added to the dataset by commits (new keys)
	Replaced   int64    // existing rows replaced by a newer version of the same key
	Inexact    int64    // values with more than 15 significant digits (stored rounded)
	Commits    int      // partition files written
	Unchanged  int      // partitions whose file already held every row (left untouched)
	Spills     int      // sorted runs spilled to temporary files
	Files      []string // partition files written, in commit order
	Committed  int64    // rows in the files written (after merge)
	LastCommit time.Time
}

// Writer appends the records of one dataset. It accepts batches in time
// order (out-of-order rows are accepted and sorted, at some cost), keeps at
// most Options.MaxBufferRows rows in memory (spilling sorted runs to
// temporary files beside the dataset), and commits whole partitions
// atomically: a partition file is only ever replaced by rename(2) of a
// complete, fsynced temporary file.
//
// A partition is committed when [Writer.Cover] declares it complete, when
// more than Options.MaxPendingPartitions are pending (oldest first), or on
// [Writer.Flush] / [Writer.Close]. Committing merges with the existing file,
// de-duplicating by the type's key with the newest row winning (OHLC: open
// time; trades: (time, trade id), or the whole tuple when there is no id;
// books: a snapshot, (time, sequence), is replaced as a whole by a later
// state written with the same time and sequence).
//
// A Writer is not safe for concurrent use; several Writers (in one or more
// processes) may write the same dataset, their commits are serialised.
type Writer[T any] struct {
	impl writerImpl[T]
}

type writerImpl[T any] interface {
	write(ctx context.Context, batch []T) error
	cover(ctx context.Context, r domain.Range) error
	flush(ctx context.Context) error
	abort()
	stats() WriterStats
	close(ctx context.Context) error
}

// Write adds a batch of records. Rows reach disk only when their partition
// is committed.
func (w *Writer[T]) Write(ctx context.Context, batch []T) error { return w.impl.write(ctx, batch) }

// Cover declares that every record with a time in r has been written (the
// range was requested and the venue answered completely, even if with no
// rows). Coverage is stored with the partitions (clipped to them and to the
// present) when they commit; partitions that r covers completely are
// committed now. Inventory and verify rely on coverage to tell a venue's
// real gaps from ranges never fetched, so only call Cover after a range was
// fetched successfully.
func (w *Writer[T]) Cover(ctx context.Context, r domain.Range) error { return w.impl.cover(ctx, r) }

// Flush commits every pending partition, including partitions that only
// gained coverage. On error the failed partitions' pending rows are
// discarded (their previous files are intact) and the Writer stays usable.
func (w *Writer[T]) Flush(ctx context.Context) error { return w.impl.flush(ctx) }

// Close flushes and releases the Writer. Use Abort instead to drop
// uncommitted rows.
func (w *Writer[T]) Close(ctx context.Context) error { return w.impl.close(ctx) }

// Abort discards uncommitted rows and temporary files. Committed partitions
// stay. It is safe to call after Close.
func (w *Writer[T]) Abort() { w.impl.abort() }

// Stats returns counters so far.
func (w *Writer[T]) Stats() WriterStats { return w.impl.stats() }

// OHLCWriter returns a Writer for an OHLC dataset.
func (s *Store) OHLCWriter(id domain.DatasetID, prov domain.Provenance) (*Writer[domain.OHLCBar], error) {
	impl, err := newDSWriter(s, id, prov, ohlcKind, ohlcToRows)
	if err != nil {
		return nil, err
	}
	return &Writer[domain.OHLCBar]{impl: impl}, nil
}

// TradeWriter returns a Writer for a trades dataset.
func (s *Store) TradeWriter(id domain.DatasetID, prov domain.Provenance) (*Writer[domain.Trade], error) {
	impl, err := newDSWriter(s, id, prov, tradeKind, tradeToRows)
	if err != nil {
		return nil, err
	}
	return &Writer[domain.Trade]{impl: impl}, nil
}

// BookWriter returns a Writer for an order-book snapshot dataset. Each
// snapshot is stored under its venue time (its receive time when the venue
// gives none), one row per level.
func (s *Store) BookWriter(id domain.DatasetID, prov domain.Provenance) (*Writer[domain.BookSnapshot], error) {
	impl, err := newDSWriter(s, id, prov, bookKind, bookToRows)
	if err != nil {
		return nil, err
	}
	return &Writer[domain.BookSnapshot]{impl: impl}, nil
}

// TypeError reports a dataset id whose type does not match the operation.
type TypeError struct {
	ID   domain.DatasetID
	Want domain.DataType
}

func (e *TypeError) Error() string {
	return fmt.Sprintf("store: dataset %s has type %q, this operation needs %q", e.ID, e.ID.Type, e.Want)
}

func checkID(id domain.DatasetID, want domain.DataType) error {
	if err := id.Validate(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if id.Type != want {
		return &TypeError{ID: id, Want: want}
	}
	return nil
}

const maxOpenTails = 4

type pending[R comparable] struct {
	part       partition
	buf        []R
	runs       []*sortedFile[R] // finished sorted runs, oldest first
	tail       *sortedFile[R]   // open run that in-order rows append to
	rowsIn     int64
	inexact    int64
	minTs      int64
	maxTs      int64
	firstWrite time.Time
	lastWrite  time.Time
}

type dsWriter[T any, R comparable] struct {
	s    *Store
	id   domain.DatasetID
	dir  string
	gran Granularity
	kind *rowKind[R]
	conv func([]R, *T, *convStats) []R
	prov domain.Provenance

	parts    map[int64]*pending[R]
	cur      *pending[R]
	buffered int
	covered  rangeSet // coverage not yet committed
	conv0    convStats
	warned   bool
	st       WriterStats
	scratch  []R
	closed   bool
}

func newDSWriter[T any, R comparable](s *Store, id domain.DatasetID, prov domain.Provenance, kind *rowKind[R], conv func([]R, *T, *convStats) []R) (*dsWriter[T, R], error) {
	if err := checkID(id, kind.typ); err != nil {
		return nil, err
	}
	dir := s.DatasetDir(id)
	if err := s.fs.MkdirAll(dir, 0o755); err != nil {
		return nil, &DataDirError{Dir: dir, Err: err}
	}
	if prov.Venue == "" {
		prov.Venue = id.Venue
	}
	return &dsWriter[T, R]{s: s, id: id, dir: dir, gran: GranularityOf(id), kind: kind, conv: conv, prov: prov, parts: map[int64]*pending[R]{}}, nil
}

func (w *dsWriter[T, R]) stats() WriterStats {
	st := w.st
	st.Inexact = w.conv0.inexact
	st.Files = slices.Clone(w.st.Files)
	return st
}

func (w *dsWriter[T, R]) partFor(ts int64) *pending[R] {
	if c := w.cur; c != nil && ts >= c.part.start && ts < c.part.end {
		return c
	}
	p := partitionOf(w.gran, ts)
	pp := w.parts[p.start]
	if pp == nil {
		pp = &pending[R]{part: p, minTs: ts, maxTs: ts}
		w.parts[p.start] = pp
	}
	w.cur = pp
	return pp
}

func (w *dsWriter[T, R]) write(ctx context.Context, batch []T) error {
	if w.closed {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	now := w.s.opts.Now()
	for i := range batch {
		before := w.conv0.inexact
		w.scratch = w.conv(w.scratch[:0], &batch[i], &w.conv0)
		if len(w.scratch) == 0 {
			continue
		}
		ts := w.kind.ts(&w.scratch[0])
		p := w.partFor(ts)
		if p.rowsIn == 0 {
			p.minTs, p.maxTs, p.firstWrite = ts, ts, now
		}
		p.minTs, p.maxTs = min(p.minTs, ts), max(p.maxTs, ts)
		p.lastWrite = now
		p.buf = append(p.buf, w.scratch...)
		p.rowsIn += int64(len(w.scratch))
		p.inexact += w.conv0.inexact - before
		w.buffered += len(w.scratch)
		w.st.Rows += int64(len(w.scratch))
		if w.buffered >= w.s.opts.MaxBufferRows {
			if err := w.spillLargest(); err != nil {
				return err
			}
		}
	}
	w.st.Records += int64(len(batch))
	if w.conv0.inexact > 0 && !w.warned {
		w.warned = true
		w.s.log.Warn("store: value has more than 15 significant digits; stored as the nearest float64 (it will not read back exactly)",
			"dataset", w.id.String(), "field", w.conv0.firstWhat, "value", w.conv0.firstBad)
	}
	for len(w.parts) > w.s.opts.MaxPendingPartitions {
		if err := w.commit(ctx, w.oldest()); err != nil {
			return err
		}
	}
	return nil
}

func (w *dsWriter[T, R]) oldest() *pending[R] {
	var o *pending[R]
	for _, p := range w.parts {
		if o == nil || p.part.start < o.part.start {
			o = p
		}
	}
	return o
}

// spillLargest writes the biggest in-memory buffer to its sorted run.
func (w *dsWriter[T, R]) spillLargest() error {
	var big *pending[R]
	for _, p := range w.parts {
		if big == nil || len(p.buf) > len(big.buf) {
			big = p
		}
	}
	if big == nil || len(big.buf) == 0 {
		return nil
	}
	err := w.spill(big)
	if err != nil {
		w.drop(big)
	}
	return err
}

func (w *dsWriter[T, R]) spill(p *pending[R]) error {
	rows := w.kind.sortDedup(p.buf)
	final := filepath.Join(w.dir, p.part.name+".parquet")
	if p.tail != nil && !p.tail.canAppend(&rows[0]) {
		if err := p.tail.finish(nil); err != nil {
			return err
		}
		p.runs = append(p.runs, p.tail)
		p.tail = nil
	}
	if p.tail == nil {
		t, err := newSortedFile(w.s, w.kind, w.dir, final, "."+p.part.name+".run-*.tmp")
		if err != nil {
			return err
		}
		p.tail = t
		w.st.Spills++
		w.limitTails(p)
	}
	if err := p.tail.addSorted(rows); err != nil {
		return err
	}
	w.buffered -= len(p.buf)
	if p == w.cur {
		p.buf = p.buf[:0]
	} else {
		p.buf = nil
	}
	return nil
}

// limitTails finishes the open runs of the oldest partitions other than keep
// so that at most maxOpenTails Parquet writers stay open.
func (w *dsWriter[T, R]) limitTails(keep *pending[R]) {
	var open []*pending[R]
	for _, p := range w.parts {
		if p.tail != nil && p != keep {
			open = append(open, p)
		}
	}
	if len(open) < maxOpenTails {
		return
	}
	slices.SortFunc(open, func(a, b *pending[R]) int { return cmp.Compare(a.part.start, b.part.start) })
	for _, p := range open[:len(open)-maxOpenTails+1] {
		if err := p.tail.finish(nil); err != nil {
			// The run is unusable; its rows are lost, so is the partition.
			w.s.log.Error("store: finishing a spilled run failed; dropping the partition's pending rows", "file", p.tail.final, "err", err)
			w.drop(p)
			continue
		}
		p.runs = append(p.runs, p.tail)
		p.tail = nil
	}
}

// sortDedup sorts rows by key (stably, so arrival order breaks ties) and
// keeps the last row of each key, in place.
func sortDedup[R any](rows []R, cmpf func(a, b *R) int) []R {
	if len(rows) < 2 {
		return rows
	}
	sorted := true
	for i := 1; i < len(rows); i++ {
		if cmpf(&rows[i-1], &rows[i]) > 0 {
			sorted = false
			break
		}
	}
	if !sorted {
		slices.SortStableFunc(rows, func(a, b R) int { return cmpf(&a, &b) })
	}
	j := 0
	for i := 1; i < len(rows); i++ {
		if cmpf(&rows[j], &rows[i]) == 0 {
			rows[j] = rows[i]
		} else {
			j++
			if j != i {
				rows[j] = rows[i]
			}
		}
	}
	return rows[:j+1]
}

func (w *dsWriter[T, R]) cover(ctx context.Context, r domain.Range) error {
	if w.closed {
		return ErrClosed
	}
	if err := r.Validate(); err != nil {
		return fmt.Errorf("store: cover %s: %w", w.id, err)
	}
	if now := w.s.opts.Now().UnixNano(); r.End > now {
		r.End = now // a venue cannot have answered for the future
		if r.Start >= r.End {
			return nil
		}
	}
	w.covered = w.covered.add(r)
	var done []*pending[R]
	for _, p := range w.parts {
		if w.covered.covers(p.part.rng()) {
			done = append(done, p)
		}
	}
	slices.SortFunc(done, func(a, b *pending[R]) int { return cmp.Compare(a.part.start, b.part.start) })
	var errs []error
	for _, p := range done {
		if err := w.commit(ctx, p); err != nil {
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
		}
	}
	return errors.Join(errs...)
}

func (w *dsWriter[T, R]) flush(ctx context.Context) error {
	if w.closed {
		return ErrClosed
	}
	// Partitions that only gained coverage get an entry (no rows) too.
	for _, r := range w.covered {
		for _, p := range partitionsIn(w.gran, r) {
			if w.parts[p.start] == nil {
				w.parts[p.start] = &pending[R]{part: p}
			}
		}
	}
	all := make([]*pending[R], 0, len(w.parts))
	for _, p := range w.parts {
		all = append(all, p)
	}
	slices.SortFunc(all, func(a, b *pending[R]) int { return cmp.Compare(a.part.start, b.part.start) })
	var errs []error
	for _, p := range all {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		if err := w.commit(ctx, p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (w *dsWriter[T, R]) close(ctx context.Context) error {
	if w.closed {
		return nil
	}
	err := w.flush(ctx)
	w.abort()
	if w.conv0.inexact > 0 {
		w.s.log.Warn("store: values with more than 15 significant digits were stored rounded",
			"dataset", w.id.String(), "count", w.conv0.inexact)
	}
	return err
}

func (w *dsWriter[T, R]) abort() {
	for _, p := range w.parts {
		w.drop(p)
	}
	w.covered = nil
	w.closed = true
}

// drop forgets a pending partition and removes its temporary files.
func (w *dsWriter[T, R]) drop(p *pending[R]) {
	if p.tail != nil {
		p.tail.discard()
		p.tail = nil
	}
	for _, r := range p.runs {
		r.discard()
	}
	p.runs = nil
	w.buffered -= len(p.buf)
	p.buf = nil
	delete(w.parts, p.part.start)
	if w.cur == p {
		w.cur = nil
	}
}

// commit writes one pending partition. Whatever happens, the partition is
// no longer pending afterwards and its coverage is no longer queued.
func (w *dsWriter[T, R]) commit(ctx context.Context, p *pending[R]) (err error) {
	defer func() {
		w.drop(p)
		w.covered = w.covered.subtract(p.part.rng())
	}()
	final := filepath.Join(w.dir, p.part.name+".parquet")
	unlock, err := w.s.lockDataset(ctx, w.dir)
	if err != nil {
		return err
	}
	defer unlock()
	start := time.Now()

	ex, err := openPartFile(final, w.kind)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		ex = nil
	case err != nil:
		return err
	}
	if ex != nil {
		defer ex.close()
	}
	var oldCov rangeSet
	var prov []ProvenanceRecord
	var exRows int64
	if ex != nil {
		if oldCov, err = decodeCoverage(ex.lookup(MetaCoverage)); err != nil {
			return &CorruptFileError{Path: final, Err: err}
		}
		if prov, err = decodeProvenance(ex.lookup(MetaProvenance)); err != nil {
			return &CorruptFileError{Path: final, Err: err}
		}
		exRows = ex.pf.NumRows()
	}
	cov := oldCov.union(w.covered.intersect(p.part.rng()))
	if p.rowsIn == 0 && ex != nil && cov.equal(oldCov) {
		return nil // nothing new for this file
	}
	if p.rowsIn == 0 && ex == nil && len(cov) == 0 {
		return nil
	}
	now := w.s.opts.Now()
	rec := ProvenanceRecord{
		Venue: w.prov.Venue, Transport: w.prov.Transport, RunID: w.prov.RunID,
		ToolVersion: w.prov.ToolVersion, Source: w.prov.Source,
		FetchedAt: p.firstWrite, FetchedUntil: p.lastWrite, WrittenAt: now.UTC(),
		Rows: p.rowsIn, Commits: 1, Inexact: p.inexact,
	}
	if w.prov.FetchedAt != 0 {
		rec.FetchedAt = domain.Time(w.prov.FetchedAt)
	}
	if rec.FetchedAt.IsZero() {
		rec.FetchedAt = now
	}
	if rec.FetchedUntil.IsZero() {
		rec.FetchedUntil = now
	}
	rec.FetchedAt, rec.FetchedUntil = rec.FetchedAt.UTC(), rec.FetchedUntil.UTC()
	if p.rowsIn > 0 {
		rec.First, rec.Last = domain.Time(p.minTs), domain.Time(p.maxTs)
	}
	var replaced int64
	meta := func(first, last int64, ok bool) map[string]string {
		rec.Replaced = replaced
		return map[string]string{
			MetaFormat:     formatVersion,
			MetaDataset:    w.id.String(),
			MetaPartition:  p.part.name,
			MetaCoverage:   encodeCoverage(cov),
			MetaProvenance: encodeProvenance(foldProvenance(prov, rec)),
			MetaFirst:      formatTs(first, ok),
			MetaLast:       formatTs(last, ok),
		}
	}

	var out *sortedFile[R]
	defer func() {
		if err != nil && out != nil {
			out.discard()
		}
	}()
	rows := w.kind.sortDedup(p.buf)
	changed := true
	if ex == nil && len(p.runs) == 0 && (p.tail == nil || len(rows) == 0 || p.tail.canAppend(&rows[0])) {
		// Fast path: a new file written straight from the (single) run.
		if p.tail != nil {
			out, p.tail = p.tail, nil
		} else if out, err = newSortedFile(w.s, w.kind, w.dir, final, "."+p.part.name+".parquet.tmp-*"); err != nil {
			return err
		}
		if err = out.addSorted(rows); err != nil {
			return err
		}
	} else {
		if p.tail != nil {
			if err = p.tail.finish(nil); err != nil {
				return err
			}
			p.runs = append(p.runs, p.tail)
			p.tail = nil
		}
		if out, err = newSortedFile(w.s, w.kind, w.dir, final, "."+p.part.name+".parquet.tmp-*"); err != nil {
			return err
		}
		changed, replaced, err = w.merge(ctx, out, ex, p.runs, rows)
		if errors.Is(err, errUnsorted) {
			// A file from another tool that is not in key order: sort it
			// into runs (bounded memory) and merge those instead.
			w.s.log.Warn("store: existing file is not sorted; re-sorting it while merging", "file", final)
			out.discard()
			out = nil
			var exRuns []*sortedFile[R]
			exRuns, err = w.sortIntoRuns(ctx, ex, final, p.part.name)
			defer func() {
				for _, r := range exRuns {
					r.discard()
				}
			}()
			if err != nil {
				return err
			}
			if out, err = newSortedFile(w.s, w.kind, w.dir, final, "."+p.part.name+".parquet.tmp-*"); err != nil {
				return err
			}
			changed, replaced = true, 0
			_, _, err = w.merge(ctx, out, nil, append(exRuns, p.runs...), rows)
		}
		if err != nil {
			return err
		}
		if !changed && cov.equal(oldCov) {
			out.discard()
			out = nil
			w.st.Unchanged++
			return nil
		}
	}
	outRows := out.numRows()
	if err = out.finish(meta); err != nil {
		return err
	}
	if err = w.s.fs.Rename(out.name(), final); err != nil {
		return &WriteError{Path: final, Op: "rename", Err: err}
	}
	out.removed = true // renamed: nothing to clean up
	if err := w.s.fs.SyncDir(w.dir); err != nil {
		w.s.log.Warn("store: syncing directory after rename failed", "dir", w.dir, "err", err)
	}
	w.st.Commits++
	w.st.Files = append(w.st.Files, final)
	w.st.Committed += outRows
	w.st.Added += max(outRows-exRows, 0)
	w.st.Replaced += replaced
	w.st.LastCommit = now
	w.s.log.Debug("store: committed partition", "file", final, "rows", outRows, "previous_rows", exRows,
		"new_rows", p.rowsIn, "replaced", replaced, "took", time.Since(start))
	return nil
}

// rowSource yields sorted rows; nil at the end.
type rowSource[R any] interface {
	next() (*R, error)
	close()
}

type sliceSource[R any] struct {
	rows []R
	i    int
}

func (s *sliceSource[R]) next() (*R, error) {
	if s.i >= len(s.rows) {
		return nil, nil
	}
	s.i++
	return &s.rows[s.i-1], nil
}

func (s *sliceSource[R]) close() {}

const readChunk = 4096

// errUnsorted reports an existing file whose rows are not in key order.
var errUnsorted = errors.New("store: existing file is not sorted")

// sortIntoRuns copies a file into sorted runs of at most MaxBufferRows rows.
func (w *dsWriter[T, R]) sortIntoRuns(ctx context.Context, ex *partFile, final, name string) (runs []*sortedFile[R], err error) {
	src := newFileSource[R](ex, readChunk)
	defer src.close()
	chunk := make([]R, 0, min(w.s.opts.MaxBufferRows, int(ex.pf.NumRows())+1))
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		r, err := newSortedFile(w.s, w.kind, w.dir, final, "."+name+".run-*.tmp")
		if err != nil {
			return err
		}
		runs = append(runs, r)
		if err := r.addSorted(w.kind.sortDedup(chunk)); err != nil {
			return err
		}
		chunk = chunk[:0]
		return r.finish(nil)
	}
	for {
		if err := ctx.Err(); err != nil {
			return runs, err
		}
		row, err := src.next()
		if err != nil {
			return runs, err
		}
		if row == nil {
			return runs, flush()
		}
		// A run ends between rows of different times only, so that no
		// record (book snapshot) is split across runs: the merge would
		// take one run's part for the whole.
		if len(chunk) >= w.s.opts.MaxBufferRows && (w.kind.group == nil || w.kind.ts(row) != w.kind.ts(&chunk[len(chunk)-1])) {
			if err := flush(); err != nil {
				return runs, err
			}
		}
		chunk = append(chunk, *row)
	}
}

// merge writes the sorted union of the existing file (oldest), the spilled
// runs and the in-memory rows (newest) into out. On equal keys the newest
// source wins; for kinds with records of several rows (books), the newest
// source holding a record wins all of it. changed reports whether out
// differs from the existing file.
func (w *dsWriter[T, R]) merge(ctx context.Context, out *sortedFile[R], ex *partFile, runs []*sortedFile[R], mem []R) (changed bool, replaced int64, err error) {
	var srcs []rowSource[R]
	defer func() {
		for _, s := range srcs {
			s.close()
		}
	}()
	hasEx := ex != nil
	if hasEx {
		srcs = append(srcs, newFileSource[R](ex, readChunk))
	}
	for _, r := range runs {
		pf, err := openPartFile(r.name(), w.kind)
		if err != nil {
			return false, 0, &WriteError{Path: r.final, Op: "read back spilled run for", Err: err}
		}
		defer pf.close()
		srcs = append(srcs, newFileSource[R](pf, readChunk))
	}
	if len(mem) > 0 {
		srcs = append(srcs, &sliceSource[R]{rows: mem})
	}
	heads := make([]*R, len(srcs))
	for i, s := range srcs {
		if heads[i], err = s.next(); err != nil {
			return false, 0, err
		}
	}
	var row, exPrev, group R
	inGroup, dropEx := false, false
	changed = !hasEx
	for n := 0; ; n++ {
		if n&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return false, 0, err
			}
		}
		m := -1
		for i, h := range heads {
			if h != nil && (m < 0 || w.kind.cmp(h, heads[m]) <= 0) {
				m = i
			}
		}
		if m < 0 {
			break
		}
		if w.kind.group != nil {
			if !inGroup || w.kind.group(heads[m], &group) != 0 {
				// A new record (book snapshot): the newest source holding
				// it wins it whole. Older runs' rows of it are skipped now;
				// the existing file's are dropped as they come up (below),
				// so that rewriting an identical state changes nothing.
				group, inGroup, dropEx = *heads[m], true, false
				win := -1
				for i := len(heads) - 1; i >= 0; i-- {
					if heads[i] != nil && w.kind.group(heads[i], &group) == 0 {
						win = i
						break
					}
				}
				for i := range heads {
					if i == win {
						continue
					}
					if i == 0 && hasEx {
						dropEx = heads[0] != nil && w.kind.group(heads[0], &group) == 0
						continue
					}
					for heads[i] != nil && w.kind.group(heads[i], &group) == 0 {
						if heads[i], err = srcs[i].next(); err != nil {
							return false, 0, err
						}
					}
				}
				continue
			}
			if dropEx && m == 0 && w.kind.group(heads[0], &group) == 0 {
				// A row of the existing state sorting before every row of
				// the newer one: a level that the newer state lacks.
				changed = true
				replaced++
				exPrev = *heads[0]
				if heads[0], err = srcs[0].next(); err != nil {
					return false, 0, err
				}
				if heads[0] != nil && w.kind.cmp(&exPrev, heads[0]) > 0 {
					return false, 0, errUnsorted
				}
				continue
			}
		}
		row = *heads[m]
		if hasEx {
			switch {
			case heads[0] == nil || w.kind.cmp(heads[0], &row) != 0:
				changed = true // a new key
			case m != 0 && *heads[0] != row:
				changed = true
				replaced++
			}
		}
		for i := range heads {
			if heads[i] != nil && (i == m || w.kind.cmp(heads[i], &row) == 0) {
				if i == 0 && hasEx {
					exPrev = *heads[0]
				}
				if heads[i], err = srcs[i].next(); err != nil {
					return false, 0, err
				}
				if i == 0 && hasEx && heads[0] != nil && w.kind.cmp(&exPrev, heads[0]) > 0 {
					return false, 0, errUnsorted
				}
			}
		}
		if err := out.add(&row); err != nil {
			return false, 0, err
		}
	}
	if hasEx && out.numRows() != ex.pf.NumRows() {
		changed = true
	}
	return changed, replaced, nil
}
