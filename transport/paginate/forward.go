package paginate

import (
	"context"
	"iter"
	"sync/atomic"

	"github.com/pype-go/pype/domain"
)

// WindowFetcher fetches the items of one window [w.Start, w.End) in a single
// request.
type WindowFetcher[T any] func(ctx context.Context, w domain.Range) ([]T, error)

// ForwardOptions configures [Forward].
type ForwardOptions struct {
	// Window is the length of one window (required): a fixed span such as
	// domain.Span(24*time.Hour), or calendar months (domain.Months(n)).
	Window domain.Span
	// Align is the bar the grid is aligned to: the first window starts at
	// Align.Floor(start) and the last ends at Align.Ceil(end). Zero means
	// no alignment (the grid starts exactly at start).
	Align domain.Span
	// Concurrency is the number of windows fetched at once (default 1).
	// Items are yielded in window order whatever the completion order.
	Concurrency int
	Progress    func(Progress)
	Coverage    func(Coverage) // called once per window after its items
}

// Forward fetches r window by window and yields the items of each window,
// in window order, exactly as the fetcher returned them. Windows are laid
// over r from Align.Floor(r.Start) — the bar, never the window — in steps of
// Window. Progress reports windows done out of the total.
func Forward[T any](ctx context.Context, r domain.Range, fetch WindowFetcher[T], opts ForwardOptions) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		conc, err := checkConcurrency(opts.Concurrency, "ForwardOptions.Concurrency")
		if err == nil {
			err = r.Validate()
		}
		if err == nil && !opts.Window.Valid() {
			err = &OptionError{Option: "ForwardOptions.Window", Value: opts.Window, Accept: "a positive span such as 1h or 1000h, or months such as 1M"}
		}
		if err != nil {
			yield(zero, err)
			return
		}
		origin, end := r.Start, r.End
		if opts.Align.Valid() {
			origin, end = opts.Align.Floor(r.Start), opts.Align.Ceil(r.End)
		}
		g := newGrid(origin, end, opts.Window)
		var requests atomic.Int64
		p := Progress{Total: g.n, Range: r}
		work := func(ctx context.Context, i int64) ([]T, error) {
			w := g.at(i)
			requests.Add(1)
			items, err := fetch(ctx, w)
			if err != nil {
				return nil, &FetchError{Window: w, Err: err}
			}
			return items, nil
		}
		emit := func(i int64, items []T) bool {
			for _, it := range items {
				if !yield(it, nil) {
					return false
				}
			}
			w := clip(g.at(i), r)
			p.Items += int64(len(items))
			p.Done++
			p.Requests = requests.Load()
			p.Position = w.End
			if opts.Coverage != nil {
				opts.Coverage(Coverage{Range: w, Items: len(items), Requests: 1})
			}
			if opts.Progress != nil {
				opts.Progress(p)
			}
			return true
		}
		if err := runOrdered(ctx, g.n, conc, work, emit); err != nil && err != errBreak {
			yield(zero, err)
		}
	}
}

// Windows returns the windows [Forward] fetches for r: a grid of length
// window starting at align.Floor(r.Start) (r.Start when align is zero), the
// last one clipped to align.Ceil(r.End).
func Windows(r domain.Range, window, align domain.Span) iter.Seq[domain.Range] {
	return func(yield func(domain.Range) bool) {
		if r.Validate() != nil || !window.Valid() {
			return
		}
		origin, end := r.Start, r.End
		if align.Valid() {
			origin, end = align.Floor(r.Start), align.Ceil(r.End)
		}
		g := newGrid(origin, end, window)
		for i := int64(0); i < g.n; i++ {
			if !yield(g.at(i)) {
				return
			}
		}
	}
}

func clip(w, r domain.Range) domain.Range {
	return domain.Range{Start: max(w.Start, r.Start), End: min(w.End, r.End)}
}

func checkConcurrency(n int, option string) (int, error) {
	switch {
	case n < 0:
		return 0, &OptionError{Option: option, Value: n, Accept: "0 or 1 for one request at a time, or a larger bound"}
	case n == 0:
		return 1, nil
	}
	return n, nil
}
