package paginate

import (
	"cmp"
	"context"
	"errors"
	"iter"
	"slices"
	"sync/atomic"

	"github.com/pype-go/pype/domain"
)

// OHLCFetcher fetches the bars with open times in [w.Start, w.End) in one
// request of at most limit rows. Bars may come in any order (newest-first
// venues need not reverse them) and may include bars outside w (they are
// dropped). The paginator owns the returned slice. A venue whose end bound
// is inclusive should be asked for w.End minus one unit; if it is not, the
// boundary bar is dropped here anyway. If the venue rejects w as too large,
// return an error wrapping [ErrTooLarge] (or a [*TooLargeError] with the
// real maximum) and the window is split.
type OHLCFetcher func(ctx context.Context, w domain.Range, limit int) ([]domain.OHLCBar, error)

// OHLCOptions configures [OHLC].
type OHLCOptions struct {
	Span domain.Span // bar span (required); calendar months are supported
	// Limit is the most bars the venue serves per request: its
	// Capability.MaxPerRequest (required). A window holds Limit bars.
	Limit int
	// Concurrency is the number of windows fetched at once (default 1).
	// Bars are yielded in time order whatever the completion order.
	Concurrency int
	Progress    func(Progress)
	Coverage    func(Coverage) // called once per window, after its bars
}

// OHLC yields the bars with open times in r, oldest first, each open time
// once.
//
// Windows hold opts.Limit bars and form a grid aligned to the bar: the first
// starts at Span.Floor(r.Start), not at a multiple of the window length, so
// a backfill from 2024-01-20 never asks for anything before 2024-01-20.
// Month spans step by calendar months.
//
// Truncation is never skipped. When a page comes back full (Limit rows) but
// does not reach both ends of its window, the venue cut it: the uncovered
// ends are refetched until the window is complete. When a page comes back
// short, without gaps inside, but not reaching an end of its window, that
// end is probed once; if the probe finds bars, the venue serves fewer rows
// per request than declared, and the lower limit is learned and used from
// then on (later windows are split up front). Short pages with gaps inside
// are taken at their word: venues have no bar where nothing traded.
//
// Every completed window is reported to opts.Coverage, so completeness can
// be tracked by the ranges answered rather than by counting rows.
func OHLC(ctx context.Context, r domain.Range, fetch OHLCFetcher, opts OHLCOptions) iter.Seq2[domain.OHLCBar, error] {
	return func(yield func(domain.OHLCBar, error) bool) {
		conc, err := checkConcurrency(opts.Concurrency, "OHLCOptions.Concurrency")
		switch {
		case err != nil:
		case !opts.Span.Valid():
			err = &OptionError{Option: "OHLCOptions.Span", Value: opts.Span, Accept: "a bar span such as 1m, 1h, 1d or 1M"}
		case opts.Limit < 1:
			err = &OptionError{Option: "OHLCOptions.Limit", Value: opts.Limit, Accept: "≥ 1, the venue's Capability.MaxPerRequest"}
		default:
			err = r.Validate()
		}
		if err != nil {
			yield(domain.OHLCBar{}, err)
			return
		}
		span := opts.Span
		origin, end := span.Floor(r.Start), span.Ceil(r.End)
		g := newGrid(origin, end, times(span, min(int64(opts.Limit), span.Bars(origin, end))))
		run := &ohlcRun{fetch: fetch, span: span}
		run.limit.Store(int64(opts.Limit))
		p := Progress{Total: g.n, Range: r}
		work := func(ctx context.Context, i int64) (ohlcWindow, error) { return run.window(ctx, g.at(i)) }
		emit := func(i int64, res ohlcWindow) bool {
			w := clip(g.at(i), r)
			n := 0
			for _, b := range res.bars {
				if b.OpenTime < w.Start || b.OpenTime >= w.End {
					continue
				}
				if !yield(b, nil) {
					return false
				}
				n++
			}
			p.Items += int64(n)
			p.Done++
			p.Requests = run.requests.Load()
			p.Position = w.End
			if opts.Coverage != nil {
				opts.Coverage(Coverage{Range: w, Items: n, Expected: span.Bars(w.Start, w.End), Requests: res.requests})
			}
			if opts.Progress != nil {
				opts.Progress(p)
			}
			return true
		}
		if err := runOrdered(ctx, g.n, conc, work, emit); err != nil && err != errBreak {
			yield(domain.OHLCBar{}, err)
		}
	}
}

// ohlcRun is the state shared by the windows of one OHLC iteration.
type ohlcRun struct {
	fetch    OHLCFetcher
	span     domain.Span
	limit    atomic.Int64 // rows per request: declared, lowered when the venue proves it serves fewer
	requests atomic.Int64
}

type ohlcWindow struct {
	bars     []domain.OHLCBar // sorted, unique open times, inside the window
	requests int
}

// ohlcJob is one request to make for a window. probe > 0 marks a request
// checking whether a short page of probe rows was truncated.
type ohlcJob struct {
	r     domain.Range
	probe int
}

// window fetches every bar of w, refetching whatever a page left out.
func (o *ohlcRun) window(ctx context.Context, w domain.Range) (ohlcWindow, error) {
	jobs := o.split(w, nil, false)
	var out []domain.OHLCBar
	parts, reqs := 0, 0
	for len(jobs) > 0 {
		j := jobs[len(jobs)-1]
		jobs = jobs[:len(jobs)-1]
		if err := ctx.Err(); err != nil {
			return ohlcWindow{}, err
		}
		limit := int(o.limit.Load())
		raw, err := o.fetch(ctx, j.r, limit)
		reqs++
		o.requests.Add(1)
		if err != nil {
			if errors.Is(err, ErrTooLarge) && o.span.Bars(j.r.Start, j.r.End) > 1 {
				if tl := (*TooLargeError)(nil); errors.As(err, &tl) && tl.Max > 0 {
					o.lower(tl.Max)
				} else {
					o.lower(int((o.span.Bars(j.r.Start, j.r.End) + 1) / 2))
				}
				jobs = o.split(j.r, jobs, true)
				continue
			}
			return ohlcWindow{}, &FetchError{Window: j.r, Err: err}
		}
		rows := len(raw)
		full := rows >= limit
		in := sortedIn(raw, j.r)
		if len(in) == 0 {
			if full && rows > 0 {
				return ohlcWindow{}, &OutOfWindowError{Window: j.r, Rows: rows}
			}
			continue
		}
		if j.probe > 0 {
			o.lower(j.probe) // the probe found bars the short page left out
		}
		if parts++; parts == 1 {
			out = in
		} else {
			out = append(out, in...)
		}
		first, next := in[0].OpenTime, o.span.Next(in[len(in)-1].OpenTime)
		probe := 0
		if !full {
			if len(in) < 2 || int64(len(in)) != o.span.Bars(first, next) {
				continue // short with gaps inside: the venue has no more bars here
			}
			probe = rows
		}
		if o.span.Bars(next, j.r.End) > 0 {
			jobs = append(jobs, ohlcJob{r: domain.Range{Start: next, End: j.r.End}, probe: probe})
		}
		if o.span.Bars(j.r.Start, first) > 0 {
			jobs = append(jobs, ohlcJob{r: domain.Range{Start: j.r.Start, End: first}, probe: probe})
		}
	}
	if parts > 1 {
		out = sortDedup(out)
	}
	return ohlcWindow{bars: out, requests: reqs}, nil
}

// split appends to jobs the requests covering r: pieces of the current
// limit when r holds more bars than that, else r itself — or, when the venue
// rejected r as too large, its two halves. The earliest piece ends up last,
// to be fetched first.
func (o *ohlcRun) split(r domain.Range, jobs []ohlcJob, tooLarge bool) []ohlcJob {
	n := o.span.Bars(r.Start, r.End)
	step := o.limit.Load()
	if n <= step {
		if !tooLarge {
			return append(jobs, ohlcJob{r: r})
		}
		step = (n + 1) / 2
	}
	mark := len(jobs)
	first := o.span.Ceil(r.Start)
	for k := int64(0); k < n; k += step {
		s, e := o.span.Add(first, k), o.span.Add(first, k+step)
		if k == 0 {
			s = r.Start
		}
		jobs = append(jobs, ohlcJob{r: domain.Range{Start: s, End: min(e, r.End)}})
	}
	slices.Reverse(jobs[mark:])
	return jobs
}

// lower learns that the venue serves at most n rows per request.
func (o *ohlcRun) lower(n int) {
	n = max(n, 1)
	for {
		cur := o.limit.Load()
		if int64(n) >= cur || o.limit.CompareAndSwap(cur, int64(n)) {
			return
		}
	}
}

// sortedIn keeps the bars of raw with open times in r, sorted by open time
// with duplicates removed. It reuses raw's storage.
func sortedIn(raw []domain.OHLCBar, r domain.Range) []domain.OHLCBar {
	in := raw[:0]
	for _, b := range raw {
		if r.Contains(b.OpenTime) {
			in = append(in, b)
		}
	}
	return sortDedup(in)
}

func byOpenTime(a, b domain.OHLCBar) int { return cmp.Compare(a.OpenTime, b.OpenTime) }

func sortDedup(bars []domain.OHLCBar) []domain.OHLCBar {
	switch {
	case slices.IsSortedFunc(bars, byOpenTime):
	case slices.IsSortedFunc(bars, func(a, b domain.OHLCBar) int { return byOpenTime(b, a) }):
		slices.Reverse(bars) // newest-first venue
	default:
		slices.SortStableFunc(bars, byOpenTime)
	}
	return slices.CompactFunc(bars, func(a, b domain.OHLCBar) bool { return a.OpenTime == b.OpenTime })
}
