package paginate

import (
	"context"
	"iter"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/pype-go/pype/domain"
)

// TradesPage is one page of trades: the trades in the venue's order, the
// cursor of the next page, and whether the venue has nothing after it.
type TradesPage[C comparable] = Page[domain.Trade, C]

// TradesFetcher fetches the trades page at cursor. The adapter builds the
// first cursor from the window start and every next cursor from what its
// venue returned: an id (Binance fromId = last+1, Coinbase/OKX after), an
// offset (BitMEX start), a nanosecond cursor (Kraken last), or the boundary
// millisecond itself — never "last timestamp + 1 ms" (Bitfinex: restart AT
// the last millisecond; the overlap is removed here by trade id).
type TradesFetcher[C comparable] = PageFetcher[domain.Trade, C]

// TradesOptions configures [Trades].
type TradesOptions struct {
	// MaxPages bounds the walk (0 = unbounded); needing more pages yields a
	// [*MaxPagesError] after the trades fetched.
	MaxPages int
	// Direction is the order the cursor walks: Ascending (the default,
	// oldest first) or Descending (newest first: Coinbase, OKX). Descending
	// walks are buffered for the whole window and yielded oldest first; use
	// [TradeWindows] to bound the buffer.
	Direction domain.PageDirection
	Progress  func(Progress) // called after each page
}

func (o TradesOptions) check() error {
	if o.MaxPages < 0 {
		return &OptionError{Option: "MaxPages", Value: o.MaxPages, Accept: "0 (unbounded) or a positive page count"}
	}
	switch o.Direction {
	case "", domain.Ascending, domain.Descending:
		return nil
	}
	return &OptionError{Option: "Direction", Value: o.Direction, Accept: `"ascending" (or empty) or "descending"`}
}

// Trades drains window w (start inclusive, end exclusive) by the adapter's
// cursor, starting at first, and yields its trades oldest first, each trade
// id once. It stops when a page is Done, or reaches past the window (a trade
// at or after w.End; before w.Start when Descending). Trades outside w are
// dropped, trades already seen on the previous page are dropped by id (not
// by timestamp: many distinct trades share a millisecond; trades without an
// id are keyed by their whole tuple). A cursor seen before yields a
// [*StuckCursorError]; exceeding MaxPages a [*MaxPagesError].
func Trades[C comparable](ctx context.Context, w domain.Range, first C, fetch TradesFetcher[C], opts TradesOptions) iter.Seq2[domain.Trade, error] {
	return func(yield func(domain.Trade, error) bool) {
		err := opts.check()
		if err == nil {
			err = w.Validate()
		}
		if err == nil {
			_, err = drainTrades(ctx, w, first, fetch, opts, func(t domain.Trade) bool { return yield(t, nil) })
		}
		if err != nil && err != errBreak {
			yield(domain.Trade{}, err)
		}
	}
}

// drainTrades is Trades with a callback. It returns the pages fetched, and
// errBreak when emit returned false. A descending walk that fails still
// emits what it buffered (oldest first) before returning the error.
func drainTrades[C comparable](ctx context.Context, w domain.Range, first C, fetch TradesFetcher[C], opts TradesOptions, emit func(domain.Trade) bool) (pages int, err error) {
	desc := opts.Direction == domain.Descending
	walk := newWalker[domain.Trade, C](opts.MaxPages)
	prev, cur := map[string]struct{}{}, map[string]struct{}{} // ids of the previous and current page
	var buf []domain.Trade                                    // a descending walk, newest first
	p := Progress{Range: w, Descending: desc}
	for c := first; ; {
		page, ferr := walk.fetch(ctx, c, fetch)
		if ferr != nil {
			err = ferr
			break
		}
		beyond := false
		for _, t := range page.Items {
			if !w.Contains(t.Time) {
				beyond = beyond || (desc && t.Time < w.Start) || (!desc && t.Time >= w.End)
				continue
			}
			k := tradeKey(t)
			if _, dup := prev[k]; dup {
				cur[k] = struct{}{}
				continue
			}
			if _, dup := cur[k]; dup {
				continue
			}
			cur[k] = struct{}{}
			p.Items++
			p.Position = t.Time
			if desc {
				buf = append(buf, t)
			} else if !emit(t) {
				return walk.pages, errBreak
			}
		}
		prev, cur = cur, prev
		clear(cur)
		end := page.Done || beyond
		if end {
			p.Position = w.End // drained: the whole window is done
			if desc {
				p.Position = w.Start
			}
		}
		p.Done++
		p.Requests = p.Done
		walk.position = p.Position
		if opts.Progress != nil {
			opts.Progress(p)
		}
		if end {
			break
		}
		c = page.Next
	}
	for i := len(buf) - 1; i >= 0; i-- {
		if !emit(buf[i]) {
			return walk.pages, errBreak
		}
	}
	return walk.pages, err
}

// tradeKey is the de-duplication key: the id, else the whole tuple.
func tradeKey(t domain.Trade) string {
	if t.ID != "" {
		return t.ID
	}
	return "\x00" + strconv.FormatInt(t.Time, 10) + "|" + t.Price.String() + "|" + t.Amount.String() + "|" + t.Side.String()
}

// TradeWindowsOptions configures [TradeWindows].
type TradeWindowsOptions struct {
	// Window is the length of one sub-window. When zero, the range is cut
	// into Parts sub-windows of equal length (rounded up to a millisecond);
	// Parts defaults to Concurrency.
	Window time.Duration
	Parts  int
	// Concurrency is the number of sub-windows drained at once (default 1).
	// Each sub-window is buffered until the ones before it were yielded.
	Concurrency int
	MaxPages    int                  // per sub-window, as TradesOptions.MaxPages
	Direction   domain.PageDirection // as TradesOptions.Direction
	Progress    func(Progress)       // called after each sub-window
	Coverage    func(Coverage)       // called after each sub-window
}

// TradeWindows splits r into sub-windows, drains each with [Trades] from the
// cursor first(ctx, window) returns, at most Concurrency at a time, and
// yields all trades in time order. Sub-windows are disjoint, so nothing is
// yielded twice at their seams; wrap the result in [CheckContiguous] to
// prove that nothing was lost either, when the venue's ids are contiguous.
func TradeWindows[C comparable](ctx context.Context, r domain.Range, first func(ctx context.Context, w domain.Range) (C, error), fetch TradesFetcher[C], opts TradeWindowsOptions) iter.Seq2[domain.Trade, error] {
	return func(yield func(domain.Trade, error) bool) {
		topts := TradesOptions{MaxPages: opts.MaxPages, Direction: opts.Direction}
		conc, err := checkConcurrency(opts.Concurrency, "TradeWindowsOptions.Concurrency")
		switch {
		case err != nil:
		case opts.Window < 0:
			err = &OptionError{Option: "TradeWindowsOptions.Window", Value: opts.Window, Accept: "0 (use Parts) or a positive duration"}
		case opts.Parts < 0:
			err = &OptionError{Option: "TradeWindowsOptions.Parts", Value: opts.Parts, Accept: "0 (one per Concurrency) or a positive count"}
		default:
			if err = topts.check(); err == nil {
				err = r.Validate()
			}
		}
		if err != nil {
			yield(domain.Trade{}, err)
			return
		}
		length := int64(opts.Window)
		if length == 0 {
			parts := int64(opts.Parts)
			if parts == 0 {
				parts = int64(conc)
			}
			length = domain.CeilNs((r.End-r.Start+parts-1)/parts, int64(time.Millisecond))
		}
		g := newGrid(r.Start, r.End, domain.Span(length))
		var requests atomic.Int64
		p := Progress{Total: g.n, Range: r}
		type window struct {
			trades []domain.Trade
			pages  int
		}
		work := func(ctx context.Context, i int64) (window, error) {
			w := g.at(i)
			c, err := first(ctx, w)
			if err != nil {
				return window{}, &FetchError{Window: w, Err: err}
			}
			var res window
			res.pages, err = drainTrades(ctx, w, c, fetch, topts, func(t domain.Trade) bool {
				res.trades = append(res.trades, t)
				return true
			})
			requests.Add(int64(res.pages))
			return res, err
		}
		emit := func(i int64, res window) bool {
			for _, t := range res.trades {
				if !yield(t, nil) {
					return false
				}
			}
			w := g.at(i)
			p.Items += int64(len(res.trades))
			p.Done++
			p.Requests = requests.Load()
			p.Position = w.End
			if opts.Coverage != nil {
				opts.Coverage(Coverage{Range: w, Items: len(res.trades), Requests: res.pages})
			}
			if opts.Progress != nil {
				opts.Progress(p)
			}
			return true
		}
		if err := runOrdered(ctx, g.n, conc, work, emit); err != nil && err != errBreak {
			yield(domain.Trade{}, err)
		}
	}
}
