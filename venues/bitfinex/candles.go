package bitfinex

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

// candlePath is the REST path of a candle key's history.
func candlePath(tf, venueSym string) string { return "/candles/trade:" + tf + ":" + venueSym + "/hist" }

// ceilMillis rounds ns up to whole milliseconds (in ms).
func ceilMillis(ns int64) int64 { return domain.NanosToMillis(domain.CeilNs(ns, 1e6)) }

// Candles fetches one page of candles: the bars with open times in w (at
// most limit ≤ 10000), oldest first (sort=1). Bars that have not closed yet
// (by the adapter's clock) have Closed false. Bitfinex's start and end are
// both inclusive, so end is sent as the last millisecond before w.End.
func (a *Adapter) Candles(ctx context.Context, sym domain.Symbol, span domain.Span, w domain.Range, limit int) ([]domain.OHLCBar, error) {
	vs, err := a.VenueSymbol(ctx, sym)
	if err != nil {
		return nil, err
	}
	tf, err := Timeframe(span)
	if err != nil {
		return nil, err
	}
	if err := w.Validate(); err != nil {
		return nil, err
	}
	return a.candles(ctx, vs, tf, span, w, limit)
}

func (a *Adapter) candles(ctx context.Context, vs, tf string, span domain.Span, w domain.Range, limit int) ([]domain.OHLCBar, error) {
	if limit <= 0 || limit > a.opt.candlesLimit {
		limit = a.opt.candlesLimit
	}
	q := url.Values{}
	q.Set("start", strconv.FormatInt(ceilMillis(w.Start), 10))
	q.Set("end", strconv.FormatInt(ceilMillis(w.End)-1, 10))
	q.Set("limit", strconv.Itoa(limit))
	q.Set("sort", "1")
	body, err := a.get(ctx, candlePath(tf, vs), q)
	if err != nil {
		return nil, err
	}
	rows, err := parseCandles(body, nil)
	if err != nil {
		return nil, err
	}
	now := a.nowNs()
	bars := make([]domain.OHLCBar, len(rows))
	for i, r := range rows {
		if span.Floor(r.Bar.OpenTime) != r.Bar.OpenTime {
			return nil, &AlignmentError{Span: span, OpenTime: r.Bar.OpenTime}
		}
		r.Bar.Closed = span.Next(r.Bar.OpenTime) <= now
		bars[i] = r.Bar
	}
	return bars, nil
}

// BackfillCandles yields the closed candles of req.Symbol and req.Span with
// open times in req.Range, oldest first, each once. Windows of 10000 bars
// are fetched (venues.Config.Concurrency at a time, default 2) within the
// candles endpoint's 30 requests per minute; a window the venue truncates
// is refetched, never skipped. Bars still forming are not yielded and their
// range is not reported as covered. Bitfinex has no bar where nothing
// traded; completeness is reported through req.Covered by range.
//
// Spans Bitfinex does not serve fail with a *TimeframeError (errors.Is
// ErrInvalidTimeframe and domain.ErrNoCapability); unknown symbols with a
// *SymbolError (errors.Is ErrInvalidSymbol); a weekly bar not opening on
// Monday with an *AlignmentError.
func (a *Adapter) BackfillCandles(ctx context.Context, req venues.CandleRequest) iter.Seq2[domain.OHLCBar, error] {
	return func(yield func(domain.OHLCBar, error) bool) {
		fail := func(err error) {
			yield(domain.OHLCBar{}, fmt.Errorf("bitfinex: backfill %s %s candles: %w", req.Symbol, req.Span, err))
		}
		tf, err := Timeframe(req.Span)
		if err == nil {
			err = req.Range.Validate()
		}
		var vs string
		if err == nil {
			vs, err = a.VenueSymbol(ctx, req.Symbol)
		}
		if err != nil {
			fail(err)
			return
		}
		r := req.Range
		if now := a.nowNs(); r.End > now {
			r.End = max(req.Span.Floor(now), r.Start)
		}
		if r.Start >= r.End {
			return
		}
		fetch := func(ctx context.Context, w domain.Range, limit int) ([]domain.OHLCBar, error) {
			return a.candles(ctx, vs, tf, req.Span, w, limit)
		}
		opts := paginate.OHLCOptions{Span: req.Span, Limit: a.opt.candlesLimit, Concurrency: a.concurrency()}
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
