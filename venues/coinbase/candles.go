package coinbase

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/transport/paginate"
	"github.com/pype-go/pype/venues"
)

// Candles fetches one page of candles: the bars with open times in w, at
// most 300, oldest first. Bars that have not closed yet (by the venue's
// clock) are returned with Closed false. A range of more than 300 bars
// fails with ErrTooManyCandles (errors.Is also paginate.ErrTooLarge).
func (a *Adapter) Candles(ctx context.Context, sym domain.Symbol, span domain.Span, w domain.Range) ([]domain.OHLCBar, error) {
	gran, err := Granularity(span)
	if err != nil {
		return nil, err
	}
	if err := w.Validate(); err != nil {
		return nil, err
	}
	if n := span.Bars(span.Floor(w.Start), span.Ceil(w.End)); n > MaxCandles {
		// The venue rejects such a range; some clients report it silently
		// truncated instead. Either way: refuse it here.
		return nil, fmt.Errorf("coinbase: candles %s: %d bars requested: %w", w, n, &paginate.TooLargeError{Max: MaxCandles, Err: ErrTooManyCandles})
	}
	product, err := a.VenueSymbol(ctx, sym)
	if err != nil {
		return nil, err
	}
	bars, err := a.candles(ctx, product, gran, span, w)
	if err != nil {
		return nil, err
	}
	in := bars[:0]
	for _, b := range bars {
		if w.Contains(b.OpenTime) {
			in = append(in, b)
		}
	}
	// Newest first on the wire; oldest first here.
	for i, j := 0, len(in)-1; i < j; i, j = i+1, j-1 {
		in[i], in[j] = in[j], in[i]
	}
	return in, nil
}

const isoSeconds = "2006-01-02T15:04:05Z"

// candles performs one GET /products/{id}/candles for the bars opening in
// w, in the venue's order (newest first).
//
// Bounds: start is the open of w's first bar; end is one second before the
// open of the first bar after w. The recorded payloads show the venue
// treating end as exclusive while others report it inclusive: this end
// selects exactly w's bars under either reading, and never holds more than
// the window's bar count, so the 300-bar rule is met whenever the window is.
func (a *Adapter) candles(ctx context.Context, product string, gran int, span domain.Span, w domain.Range) ([]domain.OHLCBar, error) {
	start := span.Floor(w.Start)
	end := span.Ceil(w.End) - int64(time.Second)
	q := url.Values{}
	q.Set("granularity", strconv.Itoa(gran))
	q.Set("start", domain.Time(start).Format(isoSeconds))
	q.Set("end", domain.Time(end).Format(isoSeconds))
	resp, err := a.get(ctx, epCandles, product, q)
	if err != nil {
		if errors.Is(err, ErrTooManyCandles) {
			// Tell the paginator the venue's real maximum when the
			// message names it ("... exceeds 300").
			return nil, &paginate.TooLargeError{Max: maxFromMessage(err), Err: err}
		}
		return nil, err
	}
	bars, err := parseCandles(resp.Body, nil)
	if err != nil {
		return nil, err
	}
	now := a.serverNow()
	for i := range bars {
		bars[i].Closed = span.Next(bars[i].OpenTime) <= now
	}
	return bars, nil
}

// BackfillCandles yields the closed candles of req.Symbol and req.Span with
// open times in req.Range, oldest first, each once. Windows of 300 bars
// (the venue's cap) are fetched concurrently (venues.Config.Concurrency,
// default 4) within the rate limit; a window the venue truncates or rejects
// as too large is split and refetched, never skipped. Bars that have not
// closed yet are not yielded, and the range they cover is not reported as
// covered. Spans Coinbase does not serve fail with a *GranularityError
// (errors.Is ErrInvalidGranularity and domain.ErrNoCapability); unknown
// symbols with a *SymbolError (errors.Is ErrInvalidSymbol).
func (a *Adapter) BackfillCandles(ctx context.Context, req venues.CandleRequest) iter.Seq2[domain.OHLCBar, error] {
	return func(yield func(domain.OHLCBar, error) bool) {
		gran, err := Granularity(req.Span)
		if err == nil {
			err = req.Range.Validate()
		}
		var product string
		if err == nil {
			product, err = a.VenueSymbol(ctx, req.Symbol)
		}
		if err != nil {
			yield(domain.OHLCBar{}, fmt.Errorf("coinbase: backfill %s %s candles: %w", req.Symbol, req.Span, err))
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
		fetch := func(ctx context.Context, w domain.Range, _ int) ([]domain.OHLCBar, error) {
			return a.candles(ctx, product, gran, req.Span, w)
		}
		opts := paginate.OHLCOptions{Span: req.Span, Limit: MaxCandles, Concurrency: a.concurrency()}
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
				yield(domain.OHLCBar{}, fmt.Errorf("coinbase: backfill %s %s candles: %w", req.Symbol, req.Span, err))
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

// maxFromMessage reads N from "... exceeds N", 0 if absent.
func maxFromMessage(err error) int {
	var ae *APIError
	if !errors.As(err, &ae) {
		return 0
	}
	_, after, ok := strings.Cut(ae.Msg, "exceeds ")
	if !ok {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimRight(strings.Fields(after + " x")[0], "."))
	return max(n, 0)
}
