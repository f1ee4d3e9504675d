package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/pype-go/pype/domain"
)

// MaxReportedGaps caps VerifyReport.Gaps; counters keep counting past it.
const MaxReportedGaps = 1000

// Gap is a hole found by [Store.Verify].
type Gap struct {
	// Range is the hole: for OHLC the open times of the missing bars
	// [first missing, next present); for trades the times of the trades on
	// either side of an id jump [before, after].
	Range domain.Range
	// Missing counts the missing bars or trade ids.
	Missing int64
	// Covered reports that the hole lies inside the dataset's coverage: the
	// venue was asked and answered without these rows. For OHLC that is a
	// real venue gap (no trading, maintenance); uncovered holes were never
	// fetched (or not completely) and a backfill should fetch them.
	Covered bool
	// FromID and ToID are the trade ids around an id jump.
	FromID, ToID string
}

// VerifyReport is the result of [Store.Verify].
type VerifyReport struct {
	ID    domain.DatasetID
	Range domain.Range
	Rows  int64 // rows with time in Range

	Duplicates int64 // rows with the same key as the previous row
	OutOfOrder int64 // rows whose key sorts before the previous row's
	Misplaced  int64 // rows stored in a partition that does not hold their time

	// OHLC only.
	OffGrid      int64 // open times not aligned to the span
	MissingBars  int64 // expected bars absent outside coverage (to fetch)
	VenueGapBars int64 // expected bars absent inside coverage (venue has none)

	// Trades only: id continuity is checked when every id is a decimal
	// number; MissingIDs counts the ids skipped by jumps, IDRegressions the
	// ids not greater than their predecessor.
	IDsChecked    bool
	MissingIDs    int64
	IDRegressions int64

	// Books only: BadBooks counts snapshots (rows sharing ts and seq) that
	// no venue book can be: per side the levels are not exactly 0, 1, 2, …
	// in price order from the best (a level index twice, one missing, a
	// price out of place — the mark of two states stored as one), or the
	// best bid is not below the best ask (crossed). BadBookTimes lists the
	// times of the first MaxReportedGaps of them.
	BadBooks     int64
	BadBookTimes []int64

	// Gaps lists holes (OHLC missing bars, trade id jumps), up to
	// MaxReportedGaps; GapsTruncated is set when more were found.
	Gaps          []Gap
	GapsTruncated bool

	// Uncovered are the parts of Range outside the dataset's coverage.
	Uncovered []domain.Range
	// Problems are files that could not be read (*CorruptFileError).
	Problems []error
}

// OK reports a clean, complete range: every file readable, no duplicate,
// out-of-order, misplaced or off-grid rows, no inconsistent book snapshot,
// no missing bars or trade ids outside venue gaps, and the whole range
// covered.
func (r *VerifyReport) OK() bool {
	return len(r.Problems) == 0 && r.Duplicates == 0 && r.OutOfOrder == 0 && r.Misplaced == 0 && r.BadBooks == 0 &&
		r.OffGrid == 0 && r.MissingBars == 0 && r.MissingIDs == 0 && r.IDRegressions == 0 && len(r.Uncovered) == 0
}

func (r *VerifyReport) addGap(g Gap) {
	if len(r.Gaps) >= MaxReportedGaps {
		r.GapsTruncated = true
		return
	}
	r.Gaps = append(r.Gaps, g)
}

// Verify checks the rows of id in r: ordering, duplicates, placement, and
// per type the OHLC grid (bars expected at every span step up to the last
// closed bar, split into venue gaps inside coverage and missing bars
// outside) or trade-id continuity. It reads every row of the partitions
// that overlap r. Unreadable files are listed in Problems, not returned as
// an error.
func (s *Store) Verify(ctx context.Context, id domain.DatasetID, r domain.Range) (*VerifyReport, error) {
	if err := id.Validate(); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	info, err := s.Info(ctx, id)
	if err != nil {
		return nil, err
	}
	cov := rangeSet(info.Coverage)
	rep := &VerifyReport{ID: id, Range: r, Uncovered: cov.holes(r)}
	for _, p := range info.Partitions {
		if p.Err != nil && p.Range.End > r.Start && p.Range.Start < r.End {
			rep.Problems = append(rep.Problems, p.Err)
		}
	}
	switch id.Type {
	case domain.OHLC:
		v := &ohlcVerifier{span: id.Span, cov: cov, rep: rep, next: id.Span.Ceil(r.Start)}
		err = verifyRows(ctx, s, id, ohlcKind, r, rep, v.row)
		if err == nil {
			// Bars opening at or after the current bar's open are not closed yet.
			end := min(r.End, id.Span.Floor(s.opts.Now().UnixNano()))
			v.gap(end)
		}
	case domain.Trades:
		v := &tradeVerifier{cov: cov, rep: rep}
		rep.IDsChecked = true
		err = verifyRows(ctx, s, id, tradeKind, r, rep, v.row)
	case domain.Book:
		v := &bookVerifier{rep: rep}
		err = verifyRows(ctx, s, id, bookKind, r, rep, v.row)
		v.end()
	default:
		return nil, fmt.Errorf("store: verify: no schema for data type %q", id.Type)
	}
	return rep, err
}

// verifyRows streams every row of the files overlapping r, counting order
// problems, and hands rows with time in r to check.
func verifyRows[R comparable](ctx context.Context, s *Store, id domain.DatasetID, kind *rowKind[R], r domain.Range, rep *VerifyReport, check func(*R)) error {
	files, err := s.listFiles(id)
	if err != nil {
		return err
	}
	var prev R
	hasPrev := false
	for _, f := range files {
		if f.part.end <= r.Start || f.part.start >= r.End {
			continue
		}
		pf, err := openPartFile(f.path, kind)
		if err != nil {
			continue // already listed in Problems by Info
		}
		src := newFileSource[R](pf, readChunk)
		for n := 0; ; n++ {
			if n&0xffff == 0 && ctx.Err() != nil {
				src.close()
				pf.close()
				return ctx.Err()
			}
			row, err := src.next()
			if err != nil {
				var ce *CorruptFileError
				if !errors.As(err, &ce) {
					err = &CorruptFileError{Path: f.path, Err: err}
				}
				rep.Problems = append(rep.Problems, err)
				break
			}
			if row == nil {
				break
			}
			ts := kind.ts(row)
			if ts < f.part.start || ts >= f.part.end {
				rep.Misplaced++
			}
			inRange := r.Contains(ts)
			if hasPrev && inRange {
				switch c := kind.cmp(&prev, row); {
				case c == 0:
					rep.Duplicates++
				case c > 0:
					rep.OutOfOrder++
				}
			}
			prev, hasPrev = *row, true
			if inRange {
				rep.Rows++
				check(row)
			}
		}
		src.close()
		pf.close()
	}
	return nil
}

type ohlcVerifier struct {
	span domain.Span
	cov  rangeSet
	rep  *VerifyReport
	next int64 // the next expected open time
}

func (v *ohlcVerifier) row(r *OHLCRow) {
	ot := r.OpenTime
	if v.span.Floor(ot) != ot {
		v.rep.OffGrid++
		return
	}
	if ot < v.next {
		return // duplicate or out of order: counted elsewhere
	}
	v.gap(ot)
	v.next = v.span.Next(ot)
}

// gap records the bars missing between v.next and until.
func (v *ohlcVerifier) gap(until int64) {
	if until <= v.next {
		return
	}
	g := domain.Range{Start: v.next, End: until}
	for _, part := range v.cov.intersect(g) {
		n := v.span.Bars(part.Start, part.End)
		if n == 0 {
			continue
		}
		v.rep.VenueGapBars += n
		v.rep.addGap(Gap{Range: part, Missing: n, Covered: true})
	}
	for _, part := range v.cov.holes(g) {
		n := v.span.Bars(part.Start, part.End)
		if n == 0 {
			continue
		}
		v.rep.MissingBars += n
		v.rep.addGap(Gap{Range: part, Missing: n})
	}
	v.next = until
}

type tradeVerifier struct {
	cov    rangeSet
	rep    *VerifyReport
	prevID uint64
	prevS  string
	prevTs int64
	has    bool
}

func (v *tradeVerifier) row(r *TradeRow) {
	if !v.rep.IDsChecked {
		return
	}
	id, err := strconv.ParseUint(r.ID, 10, 64)
	if err != nil || !isDigits(r.ID) {
		v.rep.IDsChecked = false
		v.rep.MissingIDs, v.rep.IDRegressions = 0, 0
		kept := v.rep.Gaps[:0]
		for _, g := range v.rep.Gaps {
			if g.FromID == "" {
				kept = append(kept, g)
			}
		}
		v.rep.Gaps = kept
		return
	}
	if v.has {
		switch {
		case id <= v.prevID:
			if id != v.prevID { // equal ids are duplicates, counted elsewhere
				v.rep.IDRegressions++
			}
		case id > v.prevID+1:
			g := Gap{Range: domain.Range{Start: v.prevTs, End: r.Ts}, Missing: int64(id - v.prevID - 1), FromID: v.prevS, ToID: r.ID}
			g.Covered = v.cov.covers(g.Range)
			v.rep.MissingIDs += g.Missing
			v.rep.addGap(g)
		}
	}
	if !v.has || id > v.prevID {
		v.prevID, v.prevS, v.prevTs = id, r.ID, r.Ts
	}
	v.has = true
}

// bookVerifier checks each snapshot's level numbering and that it is not
// crossed. Rows come in file order; a snapshot is a run of rows with the
// same (ts, seq).
type bookVerifier struct {
	rep     *VerifyReport
	has     bool
	cur     BookRow // first row of the current snapshot
	bad     bool
	next    [2]int32   // next expected level per side (ask, bid)
	last    [2]float64 // price of the previous level per side
	bestBid float64
	bestAsk float64
	hasBest [2]bool
}

func (v *bookVerifier) row(r *BookRow) {
	if !v.has || cmpBookState(&v.cur, r) != 0 {
		v.end()
		*v = bookVerifier{rep: v.rep, has: true, cur: *r}
	}
	side := 0
	switch r.Side {
	case sideAsk:
	case sideBid:
		side = 1
	default:
		v.bad = true
		return
	}
	if r.Level != v.next[side] {
		v.bad = true // a level twice, one skipped, or out of order
	}
	if v.hasBest[side] && (side == 0 && r.Price <= v.last[side] || side == 1 && r.Price >= v.last[side]) {
		v.bad = true // not strictly worse than the previous level
	}
	if !v.hasBest[side] {
		v.hasBest[side] = true
		if side == 0 {
			v.bestAsk = r.Price
		} else {
			v.bestBid = r.Price
		}
	}
	v.next[side] = max(v.next[side], r.Level) + 1
	v.last[side] = r.Price
}

// end judges the current snapshot.
func (v *bookVerifier) end() {
	if !v.has {
		return
	}
	if v.hasBest[0] && v.hasBest[1] && v.bestBid >= v.bestAsk {
		v.bad = true // crossed
	}
	if v.bad {
		v.rep.BadBooks++
		if len(v.rep.BadBookTimes) < MaxReportedGaps {
			v.rep.BadBookTimes = append(v.rep.BadBookTimes, v.cur.Ts)
		}
	}
	v.has = false
}
