package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/store"
)

// VerifyRequest selects datasets to verify and, optionally, a range.
type VerifyRequest struct {
	Filter Filter
	// Range to check; zero means each dataset's covered extent (from the
	// start of its first covered range to the end of its last), or its row
	// extent when nothing is covered (which then fails as never fetched).
	Range domain.Range
}

// Verdict is the judgement on one dataset.
type Verdict struct {
	Report *store.VerifyReport
	// ContiguousIDs is set when the venue's trade ids are contiguous, so
	// id jumps count as lost trades.
	ContiguousIDs bool
	// Failures explains why the dataset is not complete and clean; empty
	// means it passed.
	Failures []string
	// Notes are observations that do not fail the check (venue gaps,
	// id jumps on venues without contiguous ids).
	Notes []string
}

// OK reports whether the dataset passed.
func (v *Verdict) OK() bool { return len(v.Failures) == 0 }

// VerifyResult is the outcome of [App.Verify].
type VerifyResult struct {
	Verdicts []Verdict
}

// OK reports whether every dataset passed (and at least one was checked).
func (r *VerifyResult) OK() bool {
	if len(r.Verdicts) == 0 {
		return false
	}
	for i := range r.Verdicts {
		if !r.Verdicts[i].OK() {
			return false
		}
	}
	return true
}

// NothingToVerifyError reports a filter that matched no dataset.
type NothingToVerifyError struct {
	Dir    string
	Filter Filter
}

func (e *NothingToVerifyError) Error() string {
	return "no dataset in " + e.Dir + " matches the selection (see pype inventory)"
}

// Verify proves completeness of the matching datasets: every partition
// file readable; no duplicate, out-of-order, misplaced or off-grid rows; for
// OHLC every expected bar present except venue gaps inside the fetched
// coverage (bars with no trades); for trades on venues with contiguous ids
// no id jump; and the whole range covered by completed fetches.
func (a *App) Verify(ctx context.Context, req VerifyRequest) (*VerifyResult, error) {
	if req.Range != (domain.Range{}) {
		if err := req.Range.Validate(); err != nil {
			return nil, err
		}
	}
	infos, err := a.Inventory(ctx, req.Filter)
	if err != nil {
		return nil, err
	}
	if len(infos) == 0 {
		return nil, &NothingToVerifyError{Dir: a.DataDir, Filter: req.Filter}
	}
	st, err := a.openStoreRead()
	if err != nil {
		return nil, err
	}
	res := &VerifyResult{}
	for _, info := range infos {
		r := req.Range
		if r == (domain.Range{}) {
			r = extent(info)
		}
		v := Verdict{ContiguousIDs: info.ID.Type == domain.Trades && a.contiguous(info.ID.Venue)}
		if r.Start >= r.End {
			// No rows and no coverage: nothing proves anything.
			v.Report = &store.VerifyReport{ID: info.ID}
			for _, part := range info.Partitions {
				if part.Err != nil {
					v.Report.Problems = append(v.Report.Problems, part.Err)
				}
			}
			v.Failures = append(v.Failures, "no rows and no recorded coverage")
			judge(&v)
			res.Verdicts = append(res.Verdicts, v)
			continue
		}
		rep, err := st.Verify(ctx, info.ID, r)
		if err != nil {
			return res, fmt.Errorf("verify %s: %w", info.ID, err)
		}
		// A corrupt file outside the range still makes the dataset unsound.
	corrupt:
		for _, part := range info.Partitions {
			if part.Err == nil {
				continue
			}
			for _, p := range rep.Problems {
				var ce *store.CorruptFileError
				if errors.As(p, &ce) && ce.Path == part.Path {
					continue corrupt
				}
			}
			rep.Problems = append(rep.Problems, part.Err)
		}
		v.Report = rep
		judge(&v)
		res.Verdicts = append(res.Verdicts, v)
	}
	return res, nil
}

// extent is the range verified by default.
func extent(info store.DatasetInfo) domain.Range {
	if n := len(info.Coverage); n > 0 {
		// Rows outside the covered extent (the edge of a live stream) are
		// not claimed complete, so they are not judged.
		return domain.Range{Start: info.Coverage[0].Start, End: info.Coverage[n-1].End}
	}
	if info.Rows > 0 {
		return domain.Range{Start: info.First, End: info.Last + 1}
	}
	return domain.Range{}
}

// judge fills the failures and notes of a verdict from its report.
func judge(v *Verdict) {
	rep := v.Report
	for _, p := range rep.Problems {
		v.Failures = append(v.Failures, p.Error())
	}
	count := func(n int64, what string) {
		if n > 0 {
			v.Failures = append(v.Failures, fmt.Sprintf("%d %s", n, what))
		}
	}
	count(rep.Duplicates, "duplicate rows")
	count(rep.OutOfOrder, "rows out of order")
	count(rep.Misplaced, "rows in the wrong partition file")
	count(rep.OffGrid, "bars not aligned to the span")
	count(rep.BadBooks, "book snapshots with inconsistent levels (a level number repeated or missing, or a crossed book)")
	count(rep.MissingBars, "missing bars outside the fetched coverage (run pype backfill to fetch them)")
	// Book datasets are snapshots in time: coverage has no meaning there.
	if len(rep.Uncovered) > 0 && rep.ID.Type != domain.Book {
		v.Failures = append(v.Failures, fmt.Sprintf("%d range(s) never fetched completely, first %s (run pype backfill over them)", len(rep.Uncovered), rep.Uncovered[0]))
	}
	if rep.VenueGapBars > 0 {
		v.Notes = append(v.Notes, fmt.Sprintf("%d bars absent at the venue inside fetched ranges (no trades or venue outage)", rep.VenueGapBars))
	}
	if rep.IDsChecked && (rep.MissingIDs > 0 || rep.IDRegressions > 0) {
		if v.ContiguousIDs {
			count(rep.MissingIDs, "trade ids missing (id jumps: lost trades)")
			count(rep.IDRegressions, "trade ids not increasing")
		} else {
			v.Notes = append(v.Notes, fmt.Sprintf("%d trade-id jumps ignored (this venue's ids are not contiguous)", rep.MissingIDs))
		}
	}
}
