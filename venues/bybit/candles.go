package bybit

import (
	"context"
	"fmt"
	"iter"
	"net/url"
	"strconv"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/transport/paginate"
	"github.com/pype-go/pype/venues"
)

// Klines fetches one page of candles: the bars with open times in w (at
// most limit, ≤ 1000), in the venue's order (newest first). Bars that have
// not closed yet (by the venue's clock) are returned with Closed false.
func (a *Adapter) Klines(ctx context.Context, sym domain.Symbol, span domain.Span, w domain.Range, limit int) ([]domain.OHLCBar, error) {
	cat, vs, err := a.VenueSymbol(ctx, sym)
	if err != nil {
		return nil, err
	}
	iv, err := Interval(span)
	if err != nil {
		return nil, err
	}
	return a.klines(ctx, cat, vs, iv, span, w, limit)
}

func (a *Adapter) klines(ctx context.Context, cat Category, vs, iv string, span domain.Span, w domain.Range, limit int) ([]domain.OHLCBar, error) {
	if limit <= 0 || limit > MaxKlines {
		limit = MaxKlines
	}
	q := url.Values{}
	q.Set("category", string(cat))
	q.Set("symbol", vs)
	q.Set("interval", iv)
	// start and end are both inclusive: ask for the last millisecond
	// before w.End.
	q.Set("start", strconv.FormatInt(ceilMillis(w.Start), 10))
	q.Set("end", strconv.FormatInt(ceilMillis(w.End)-1, 10))
	q.Set("limit", strconv.Itoa(limit))
	body, err := a.get(ctx, epKline, q)
	if err != nil {
		return nil, err
	}
	bars, err := parseKlines(body, cat)
	if err != nil {
		return nil, err
	}
	now := a.serverNow()
	for i := range bars {
		bars[i].Closed = span.Next(bars[i].OpenTime) <= now
	}
	return bars, nil
}

// klinesBack fetches the bars of w like klines, and when a page holds fewer
// than limit bars yet starts after the window does, asks for what lies
// before it until the window start or an empty answer. Bybit keeps the
// newest bars when it serves fewer than there are, and a short page is
// otherwise indistinguishable from a window whose first bars had no trade
// (the paginator takes short pages with holes at their word). This costs
// one extra request for a window whose first bar is missing.
func (a *Adapter) klinesBack(ctx context.Context, cat Category, vs, iv string, span domain.Span, w domain.Range, limit int) ([]domain.OHLCBar, error) {
	bars, err := a.klines(ctx, cat, vs, iv, span, w, limit)
	for err == nil && len(bars) > 0 && len(bars) < limit {
		oldest := bars[0].OpenTime
		for _, b := range bars {
			oldest = min(oldest, b.OpenTime)
		}
		if oldest <= span.Ceil(w.Start) {
			break
		}
		var more []domain.OHLCBar
		more, err = a.klines(ctx, cat, vs, iv, span, domain.Range{Start: w.Start, End: oldest}, limit)
		older := false
		for _, b := range more {
			older = older || b.OpenTime < oldest
		}
		if !older {
			break // nothing before the page (or a venue ignoring end)
		}
		bars = append(bars, more...)
	}
	return bars, err
}

// ceilMillis rounds ns up to whole milliseconds (in ms).
func ceilMillis(ns int64) int64 { return domain.NanosToMillis(domain.CeilNs(ns, 1e6)) }

// BackfillCandles yields the closed candles of req.Symbol and req.Span
// with open times in req.Range, oldest first, each once. Windows of 1000
// bars are fetched concurrently (venues.Config.Concurrency) within the rate
// limit; a window the venue truncates is refetched, never skipped. Bars
// that have not closed yet are not yielded. Spans Bybit does not serve fail
// with an *IntervalError (errors.Is ErrInvalidInterval and
// domain.ErrNoCapability); unknown symbols with a *SymbolError (errors.Is
// ErrInvalidSymbol).
func (a *Adapter) BackfillCandles(ctx context.Context, req venues.CandleRequest) iter.Seq2[domain.OHLCBar, error] {
	return func(yield func(domain.OHLCBar, error) bool) {
		fail := func(err error) {
			yield(domain.OHLCBar{}, fmt.Errorf("bybit: backfill %s %s candles: %w", req.Symbol, req.Span, err))
		}
		iv, err := Interval(req.Span)
		if err == nil {
			err = req.Range.Validate()
		}
		var cat Category
		var vs string
		if err == nil {
			cat, vs, err = a.VenueSymbol(ctx, req.Symbol)
		}
		if err != nil {
			fail(err)
			return
		}
		// Bars still forming are not history yet: stop at the open of the
		// bar in progress (venue clock).
		r := req.Range
		if now := a.serverNow(); r.End > now {
			r.End = max(req.Span.Floor(now), r.Start)
		}
		if r.Start >= r.End {
			return
		}
		fetch := func(ctx context.Context, w domain.Range, limit int) ([]domain.OHLCBar, error) {
			return a.klinesBack(ctx, cat, vs, iv, req.Span, w, limit)
		}
		opts := paginate.OHLCOptions{Span: req.Span, Limit: MaxKlines, Concurrency: a.concurrency()}
		if req.Progress != nil {
			opts.Progress = func(p paginate.Progress) {
				req.Progress(venues.Progress{Items: p.Items, Done: int(p.Done), Total: int(p.Total), Position: p.Position})
			}
		}
		if req.Covered != nil {
			opts.Coverage = func(c paginate.Coverage) { req.Covered(c.Range) }
		}
		for bar, err := range paginate.OHLC(ctx, r, fetch, opts) {
			if err != nil {
				fail(err)
				return
			}
			if !bar.Closed {
				continue
			}
			if !yield(bar, nil) {
				return
			}
		}
	}
}
