package binance

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
// most limit, ≤ 1000), oldest first. Bars that have not closed yet (by the
// venue's clock) are returned with Closed false.
func (a *Adapter) Klines(ctx context.Context, sym domain.Symbol, span domain.Span, w domain.Range, limit int) ([]domain.OHLCBar, error) {
	vs, err := a.VenueSymbol(ctx, sym)
	if err != nil {
		return nil, err
	}
	interval, err := Interval(span)
	if err != nil {
		return nil, err
	}
	return a.klines(ctx, vs, interval, w, limit)
}

func (a *Adapter) klines(ctx context.Context, venueSym, interval string, w domain.Range, limit int) ([]domain.OHLCBar, error) {
	if limit <= 0 || limit > MaxKlines {
		limit = MaxKlines
	}
	q := url.Values{}
	q.Set("symbol", venueSym)
	q.Set("interval", interval)
	// startTime is inclusive; endTime is inclusive too, so ask for the
	// last millisecond before w.End.
	q.Set("startTime", strconv.FormatInt(ceilMillis(w.Start), 10))
	q.Set("endTime", strconv.FormatInt(ceilMillis(w.End)-1, 10))
	q.Set("limit", strconv.Itoa(limit))
	body, err := a.get(ctx, epKlines, q)
	if err != nil {
		return nil, err
	}
	rows, err := parseKlines(body, nil)
	if err != nil {
		return nil, err
	}
	now := a.serverNow()
	bars := make([]domain.OHLCBar, len(rows))
	for i, k := range rows {
		k.Bar.Closed = k.CloseTime < now
		bars[i] = k.Bar
	}
	return bars, nil
}

// ceilMillis rounds ns up to whole milliseconds (in ms).
func ceilMillis(ns int64) int64 { return domain.NanosToMillis(domain.CeilNs(ns, 1e6)) }

// BackfillCandles yields the closed candles of req.Symbol and req.Span with
// open times in req.Range, oldest first, each once. Windows of 1000 bars are
// fetched concurrently (venues.Config.Concurrency) within the rate limit; a
// window the venue truncates is refetched, never skipped. Bars that have not
// closed yet are not yielded, and the range they cover is not reported as
// covered. Spans Binance does not serve fail with an *IntervalError
// (errors.Is ErrInvalidInterval and domain.ErrNoCapability); unknown symbols
// with a *SymbolError (errors.Is ErrInvalidSymbol).
func (a *Adapter) BackfillCandles(ctx context.Context, req venues.CandleRequest) iter.Seq2[domain.OHLCBar, error] {
	return func(yield func(domain.OHLCBar, error) bool) {
		interval, err := Interval(req.Span)
		if err == nil {
			err = req.Range.Validate()
		}
		var vs string
		if err == nil {
			vs, err = a.VenueSymbol(ctx, req.Symbol)
		}
		if err != nil {
			yield(domain.OHLCBar{}, fmt.Errorf("binance: backfill %s %s candles: %w", req.Symbol, req.Span, err))
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
			return a.klines(ctx, vs, interval, w, limit)
		}
		opts := paginate.OHLCOptions{
			Span:        req.Span,
			Limit:       MaxKlines,
			Concurrency: a.concurrency(),
		}
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
				yield(domain.OHLCBar{}, fmt.Errorf("binance: backfill %s %s candles: %w", req.Symbol, req.Span, err))
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
