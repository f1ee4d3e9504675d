package okx

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

// HistoryCandles fetches one page of GET /api/v5/market/history-candles:
// the bars of span with open times in w (at most limit ≤ 100), as OKX
// returns them (newest first). OKX's after and before are exclusive bounds
// on the open time, so the request asks for before = first ms − 1 and
// after = w.End. Bars in progress (confirm "0") come with Closed false.
func (a *Adapter) HistoryCandles(ctx context.Context, sym domain.Symbol, span domain.Span, w domain.Range, limit int) ([]domain.OHLCBar, error) {
	inst, err := a.VenueSymbol(ctx, sym)
	if err != nil {
		return nil, err
	}
	bar, err := Bar(span)
	if err != nil {
		return nil, err
	}
	return a.historyCandles(ctx, inst, bar, span, w, limit)
}

func (a *Adapter) historyCandles(ctx context.Context, inst, bar string, span domain.Span, w domain.Range, limit int) ([]domain.OHLCBar, error) {
	if limit <= 0 || limit > MaxHistoryCandles {
		limit = MaxHistoryCandles
	}
	q := url.Values{}
	q.Set("instId", inst)
	q.Set("bar", bar)
	q.Set("after", strconv.FormatInt(ceilMillis(w.End), 10))
	if b := ceilMillis(w.Start) - 1; b >= 0 {
		q.Set("before", strconv.FormatInt(b, 10))
	}
	q.Set("limit", strconv.Itoa(limit))
	body, err := a.get(ctx, epHistoryCandles, q)
	if err != nil {
		return nil, err
	}
	rows, err := parseCandles(body, make([]candle, 0, limit))
	if err != nil {
		return nil, fmt.Errorf("okx: %s?%s: %w", epHistoryCandles, q.Encode(), err)
	}
	now := a.serverNow()
	bars := make([]domain.OHLCBar, len(rows))
	for i, c := range rows {
		if c.Confirm < 0 { // no confirm column: judge by the venue's clock
			c.Bar.Closed = span.Next(c.Bar.OpenTime) <= now
		}
		bars[i] = c.Bar
	}
	return bars, nil
}

// ceilMillis rounds ns up to whole milliseconds (in ms).
func ceilMillis(ns int64) int64 {
	return domain.NanosToMillis(domain.CeilNs(ns, int64(time.Millisecond)))
}

// BackfillCandles yields the closed candles of req.Symbol and req.Span with
// open times in req.Range, oldest first, each once. Spans of 6 hours and
// more are read from OKX's UTC-aligned bars (1Dutc …), so bars open at
// 00:00 UTC (weeks on Monday) as domain.Span.Floor says, never at OKX's
// Hong Kong midnight. Windows of 100 bars are fetched concurrently
// (venues.Config.Concurrency, default 4) within history-candles' 20
// requests per 2 s; a window OKX truncates is refetched, never skipped.
// The bar in progress is not yielded and the range it covers is not
// reported as covered. Errors: *BarError for spans OKX does not serve,
// *SymbolError for unknown symbols, *domain.CapabilityError for 1s bars
// older than 3 months.
func (a *Adapter) BackfillCandles(ctx context.Context, req venues.CandleRequest) iter.Seq2[domain.OHLCBar, error] {
	return func(yield func(domain.OHLCBar, error) bool) {
		fail := func(err error) {
			yield(domain.OHLCBar{}, fmt.Errorf("okx: backfill %s %s candles: %w", req.Symbol, req.Span, err))
		}
		bar, err := Bar(req.Span)
		if err == nil {
			err = req.Range.Validate()
		}
		var inst string
		if err == nil {
			inst, err = a.VenueSymbol(ctx, req.Symbol)
		}
		if err != nil {
			fail(err)
			return
		}
		now := a.serverNow()
		if req.Span == domain.Span1s && a.opt.tradeHistory > 0 && req.Range.Start < now-int64(a.opt.tradeHistory) {
			fail(&domain.CapabilityError{Venue: Name, What: "1s candles before " + domain.FormatNs(now-int64(a.opt.tradeHistory)),
				Accept: "1s candles of the last 3 months; 1m and longer go back to the listing"})
			return
		}
		r := req.Range
		if r.End > now {
			r.End = max(req.Span.Floor(now), r.Start)
		}
		if r.Start >= r.End {
			return
		}
		fetch := func(ctx context.Context, w domain.Range, limit int) ([]domain.OHLCBar, error) {
			return a.historyCandles(ctx, inst, bar, req.Span, w, limit)
		}
		opts := paginate.OHLCOptions{Span: req.Span, Limit: MaxHistoryCandles, Concurrency: a.concurrency()}
		if req.Progress != nil {
			opts.Progress = func(p paginate.Progress) {
				req.Progress(venues.Progress{Items: p.Items, Done: int(p.Done), Total: int(p.Total), Position: p.Position})
			}
		}
		if req.Covered != nil {
			opts.Coverage = func(c paginate.Coverage) { req.Covered(c.Range) }
		}
		for b, err := range paginate.OHLC(ctx, r, fetch, opts) {
			if err != nil {
				fail(err)
				return
			}
			if !b.Closed {
				continue
			}
			if !yield(b, nil) {
				return
			}
		}
	}
}
