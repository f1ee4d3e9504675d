package bitmex

import (
	"context"
	"fmt"
	"iter"
	"net/url"
	"strconv"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/transport/paginate"
	"github.com/pype-go/pype/venues"
)

// TradeCursor is a position in BitMEX's trade history: the trades at or
// after the millisecond From, skipping the first Offset of them (GET
// /trade startTime + start). Same-millisecond trades are never skipped
// or merged: a page that ends inside a millisecond continues at that
// millisecond with the offset of the trades already read in it.
type TradeCursor struct {
	From   int64 // ms
	Offset int
	End    int64 // ms, inclusive upper bound (endTime); 0 = none
}

// TradesPage fetches one page of GET /trade (oldest first): up to limit (≤
// 1000) trades at or after c, with timestamps ≤ c.End when c.End > 0. It
// returns the trades and the cursor of the next page; done is true when
// the venue has nothing more up to c.End (a short page).
func (a *Adapter) TradesPage(ctx context.Context, sym domain.Symbol, c TradeCursor, limit int) (trades []domain.Trade, next TradeCursor, done bool, err error) {
	vs, err := a.VenueSymbol(ctx, sym)
	if err != nil {
		return nil, c, false, err
	}
	p, err := a.tradesPage(ctx, vs, c, limit)
	return p.Items, p.Next, p.Done, err
}

func (a *Adapter) tradesPage(ctx context.Context, vs string, c TradeCursor, limit int) (paginate.TradesPage[TradeCursor], error) {
	if limit <= 0 || limit > MaxCount {
		limit = MaxCount
	}
	q := url.Values{}
	q.Set("symbol", vs)
	q.Set("count", strconv.Itoa(limit))
	q.Set("reverse", "false")
	q.Set("startTime", formatTime(domain.MillisToNanos(c.From)))
	if c.End > 0 {
		q.Set("endTime", formatTime(domain.MillisToNanos(c.End)))
	}
	if c.Offset > 0 {
		q.Set("start", strconv.Itoa(c.Offset))
	}
	body, err := a.get(ctx, pathTrade, q)
	if err != nil {
		return paginate.TradesPage[TradeCursor]{}, err
	}
	rows, err := parseTrades(body, vs, make([]domain.Trade, 0, limit))
	if err != nil {
		return paginate.TradesPage[TradeCursor]{}, err
	}
	return paginate.TradesPage[TradeCursor]{Items: rows, Next: nextCursor(c, rows), Done: len(rows) < limit}, nil
}

// drainPage is one step of a trade walk: a page of up to 1000 trades at c,
// made robust against a venue that serves fewer rows per request than
// asked. A short page normally ends the walk, but a cap below 1000 would
// make every page short and end the walk early — silently. So a short page
// of n rows is confirmed with one more request at the next cursor, unless
// a page of at least n rows was already confirmed as a true end (a cap
// would never serve more rows than itself). If the probe finds trades, the
// venue caps pages at n: the cap is learned (pages of n rows are full from
// then on) and the walk goes on.
func (a *Adapter) drainPage(ctx context.Context, vs string, c TradeCursor) (paginate.TradesPage[TradeCursor], error) {
	p, err := a.tradesPage(ctx, vs, c, MaxCount)
	if err != nil {
		return p, err
	}
	n := len(p.Items)
	capRows := int(a.tradeCap.Load())
	switch {
	case n == 0:
		return p, nil
	case n >= capRows:
		p.Done = false
		return p, nil
	case int64(n) <= a.shortOK.Load():
		return p, nil // a true end: the venue serves more rows than n
	}
	probe, err := a.tradesPage(ctx, vs, p.Next, MaxCount)
	if err != nil {
		return p, err
	}
	if len(probe.Items) == 0 {
		for {
			ok := a.shortOK.Load()
			if int64(n) <= ok || a.shortOK.CompareAndSwap(ok, int64(n)) {
				break
			}
		}
		return p, nil
	}
	a.tradeCap.Store(int64(n))
	a.log.Warn("bitmex: GET /trade serves fewer rows per page than asked; pages are now read as full at this size", "rows", n, "asked", MaxCount)
	p.Items = append(p.Items, probe.Items...)
	p.Next = probe.Next
	p.Done = len(probe.Items) < n
	return p, nil
}

// nextCursor re-anchors the cursor at the last row's millisecond: the next
// page starts at that millisecond, skipping the rows of it already read.
// Offsets stay small (the trades of one millisecond) instead of growing
// with the window, and no trade sharing the boundary millisecond is lost.
func nextCursor(c TradeCursor, rows []domain.Trade) TradeCursor {
	if len(rows) == 0 {
		return c
	}
	last := domain.NanosToMillis(rows[len(rows)-1].Time)
	if last <= c.From {
		// The whole page lies in the cursor's millisecond.
		return TradeCursor{From: c.From, Offset: c.Offset + len(rows), End: c.End}
	}
	k := 0
	for i := len(rows) - 1; i >= 0 && domain.NanosToMillis(rows[i].Time) == last; i-- {
		k++
	}
	return TradeCursor{From: last, Offset: k, End: c.End}
}

// windowTrades is the target number of trades per concurrently drained
// sub-window: each sub-window is buffered until the ones before it were
// yielded, so this bounds memory (2 × concurrency windows of ~40,000
// trades) while a window costs at most one request more than its pages.
const windowTrades = 40_000

// tradeWindow sizes BackfillTrades' sub-windows. Short ranges are split
// into 2 × concurrency parts. Longer ones are sized from the busiest day
// of the range (one GET /trade/bucketed?binSize=1d request, which reports
// trades per day) so that a window holds about windowTrades trades; when
// that request fails, windows are one hour.
func (a *Adapter) tradeWindow(ctx context.Context, vs string, r domain.Range, conc int) time.Duration {
	if a.opt.tradeWindow > 0 {
		return roundMs(a.opt.tradeWindow)
	}
	d := time.Duration(r.End - r.Start)
	if d <= 6*time.Hour {
		return roundMs(max(d/time.Duration(2*conc), time.Minute))
	}
	days := domain.Range{Start: domain.Span1d.Floor(r.Start), End: domain.Span1d.Ceil(r.End)}
	days.Start = max(days.Start, domain.Span1d.Add(days.End, -MaxCount))
	bars, err := a.buckets(ctx, vs, "1d", domain.Span1d, days, MaxCount)
	if err != nil {
		a.log.Warn("bitmex: cannot estimate the trade density; draining one-hour windows", "err", err)
		return time.Hour
	}
	var busiest int64
	for _, b := range bars {
		busiest = max(busiest, b.Trades)
	}
	w := d
	if busiest > 0 {
		w = time.Duration(float64(24*time.Hour) * float64(a.opt.windowTrades) / float64(busiest))
	}
	// The day in progress is not in the answer (partial=false): allow for
	// it with at most a day per window.
	return roundMs(min(max(w, time.Minute), d, 24*time.Hour))
}

func roundMs(d time.Duration) time.Duration {
	return time.Duration(domain.CeilNs(int64(d), int64(time.Millisecond)))
}

// BackfillTrades yields every trade of req.Symbol with a time in
// req.Range, oldest first, each once (Trade.ID is BitMEX's trdMatchID).
//
// The range is cut into sub-windows of about 40,000 trades (sized from
// the busiest day's trade count) drained concurrently
// (venues.Config.Concurrency, default 2) within the rate limit; each is
// walked with GET /trade by startTime and row offset (start), re-anchored
// at the last millisecond of every page, so trades sharing a millisecond at
// a page or window seam are neither lost nor duplicated. BitMEX trade ids
// are UUIDs, so completeness rests on the cursor, not on id continuity;
// the range up to the venue's now is reported as covered once drained.
func (a *Adapter) BackfillTrades(ctx context.Context, req venues.TradeRequest) iter.Seq2[domain.Trade, error] {
	return func(yield func(domain.Trade, error) bool) {
		fail := func(err error) {
			yield(domain.Trade{}, fmt.Errorf("bitmex: backfill %s trades %s: %w", req.Symbol, req.Range, err))
		}
		if err := req.Range.Validate(); err != nil {
			fail(err)
			return
		}
		vs, err := a.VenueSymbol(ctx, req.Symbol)
		if err != nil {
			fail(err)
			return
		}
		// Nothing can have traded after the venue's now: the range is
		// cut there, and only what was answered counts as covered.
		r := req.Range
		if now := a.serverNow(); r.End > now {
			r.End = max(now, r.Start)
		}
		if r.Start >= r.End {
			return
		}
		conc := a.concurrency()
		window := a.tradeWindow(ctx, vs, r, conc)
		first := func(_ context.Context, w domain.Range) (TradeCursor, error) {
			// endTime is inclusive on BitMEX (as far as its documentation
			// says anything); asking up to the window's end millisecond
			// itself is right either way: the paginator drops trades at or
			// after w.End and stops there.
			return TradeCursor{From: domain.NanosToMillis(domain.CeilNs(w.Start, 1e6)), End: domain.NanosToMillis(domain.CeilNs(w.End, 1e6))}, nil
		}
		fetch := func(ctx context.Context, c TradeCursor) (paginate.TradesPage[TradeCursor], error) {
			return a.drainPage(ctx, vs, c)
		}
		opts := paginate.TradeWindowsOptions{Window: window, Concurrency: conc}
		var items int64
		if req.Progress != nil {
			opts.Progress = func(p paginate.Progress) {
				req.Progress(venues.Progress{Items: items, Done: int(p.Done), Total: int(p.Total), Position: p.Position})
			}
		}
		if req.Covered != nil {
			opts.Coverage = func(c paginate.Coverage) { req.Covered(c.Range) }
		}
		for t, err := range paginate.TradeWindows(ctx, r, first, fetch, opts) {
			if err != nil {
				fail(err)
				return
			}
			items++
			if !yield(t, nil) {
				return
			}
		}
	}
}
