package paginate

import (
	"context"
	"iter"
)

// Page is one page of a cursor walk.
type Page[T any, C comparable] struct {
	Items []T
	// Next is the cursor of the following page; ignored when Done.
	Next C
	// Done reports that the venue has nothing after this page. A page with
	// no items and Done false is allowed (an adapter hopping over an empty
	// stretch); the walk goes on with Next.
	Done bool
}

// PageFetcher fetches the page at cursor.
type PageFetcher[T any, C comparable] func(ctx context.Context, cursor C) (Page[T, C], error)

// BackwardOptions configures [Backward].
type BackwardOptions struct {
	// MaxPages bounds the walk (0 = unbounded); needing more pages yields a
	// [*MaxPagesError] after the items fetched.
	MaxPages int
	Progress func(Progress) // called after each page's items
}

// Backward follows an opaque cursor from first through pages a venue serves
// newest first (Coinbase, OKX), yielding items in the order the pages hold
// them. The walk ends when a page is Done; a cursor seen before yields a
// [*StuckCursorError] instead of looping forever. Items carry no time here:
// the consumer breaks out of the loop once it has gone back far enough, or
// uses [Trades] with Descending for trades in a time window.
func Backward[T any, C comparable](ctx context.Context, first C, fetch PageFetcher[T, C], opts BackwardOptions) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		if opts.MaxPages < 0 {
			yield(zero, &OptionError{Option: "BackwardOptions.MaxPages", Value: opts.MaxPages, Accept: "0 (unbounded) or a positive page count"})
			return
		}
		w := newWalker[T, C](opts.MaxPages)
		var p Progress
		for cur := first; ; {
			page, err := w.fetch(ctx, cur, fetch)
			if err != nil {
				yield(zero, err)
				return
			}
			for _, it := range page.Items {
				if !yield(it, nil) {
					return
				}
			}
			p.Items += int64(len(page.Items))
			p.Done, p.Requests = int64(w.pages), int64(w.pages)
			if opts.Progress != nil {
				opts.Progress(p)
			}
			if page.Done {
				return
			}
			cur = page.Next
		}
	}
}

// walker holds the guards of a cursor walk: the cursors already fetched and
// the page budget.
type walker[T any, C comparable] struct {
	seen     map[C]struct{}
	pages    int
	maxPages int
	position int64 // time reached, for MaxPagesError
}

func newWalker[T any, C comparable](maxPages int) *walker[T, C] {
	return &walker[T, C]{seen: make(map[C]struct{}), maxPages: maxPages}
}

// fetch fetches the page at cur after checking the context, the page
// budget and that cur is new.
func (w *walker[T, C]) fetch(ctx context.Context, cur C, fetch PageFetcher[T, C]) (Page[T, C], error) {
	var zero Page[T, C]
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	if _, dup := w.seen[cur]; dup {
		return zero, &StuckCursorError{Cursor: cur, Page: w.pages}
	}
	if w.maxPages > 0 && w.pages >= w.maxPages {
		return zero, &MaxPagesError{Max: w.maxPages, Position: w.position}
	}
	w.seen[cur] = struct{}{}
	w.pages++
	page, err := fetch(ctx, cur)
	if err != nil {
		return zero, &FetchError{Page: w.pages, Err: err}
	}
	return page, nil
}
