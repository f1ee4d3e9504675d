package bitmex

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

// Buckets fetches one page of GET /trade/bucketed: the closed bars of span
// whose OPEN times lie in w, at most limit (≤ 1000), oldest first, empty
// buckets included (Trades 0).
//
// BitMEX stamps a bucket with its close, so the request asks for bucket
// timestamps in [w.Start + span, w.End + span − 1 ms] and the open time is
// timestamp − span. partial=false leaves out the bucket still forming.
func (a *Adapter) Buckets(ctx context.Context, sym domain.Symbol, span domain.Span, w domain.Range, limit int) ([]domain.OHLCBar, error) {
	vs, err := a.VenueSymbol(ctx, sym)
	if err != nil {
		return nil, err
	}
	bin, err := BinSize(span)
	if err != nil {
		return nil, err
	}
	return a.buckets(ctx, vs, bin, span, w, limit)
}

func (a *Adapter) buckets(ctx context.Context, vs, bin string, span domain.Span, w domain.Range, limit int) ([]domain.OHLCBar, error) {
	if limit <= 0 || limit > MaxCount {
		limit = MaxCount
	}
	q := url.Values{}
	q.Set("symbol", vs)
	q.Set("binSize", bin)
	q.Set("partial", "false")
	q.Set("reverse", "false")
	q.Set("count", strconv.Itoa(limit))
	q.Set("startTime", formatTime(domain.CeilNs(span.Add(w.Start, 1), 1e6)))
	q.Set("endTime", formatTime(domain.CeilNs(span.Add(w.End, 1), 1e6)-1e6))
	body, err := a.get(ctx, pathBucketed, q)
	if err != nil {
		return nil, err
	}
	return parseBuckets(body, span, vs, nil)
}

// BackfillCandles yields the closed candles of req.Symbol and req.Span
// with open times in req.Range, oldest first, each once. Windows of 1000
// buckets are fetched (venues.Config.Concurrency at a time, default 2)
// within the rate limit; a window the venue truncates is refetched, never
// skipped. Bars that have not closed yet are not yielded and the range
// they cover is not reported as covered. Empty buckets (no trade) are
// dropped unless the adapter was opened WithEmptyBars. Spans BitMEX does
// not serve fail with an *IntervalError (errors.Is ErrInvalidInterval and
// domain.ErrNoCapability); unknown symbols with a *SymbolError.
func (a *Adapter) BackfillCandles(ctx context.Context, req venues.CandleRequest) iter.Seq2[domain.OHLCBar, error] {
	return func(yield func(domain.OHLCBar, error) bool) {
		fail := func(err error) {
			yield(domain.OHLCBar{}, fmt.Errorf("bitmex: backfill %s %s candles: %w", req.Symbol, req.Span, err))
		}
		bin, err := BinSize(req.Span)
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
			return a.buckets(ctx, vs, bin, req.Span, w, limit)
		}
		opts := paginate.OHLCOptions{Span: req.Span, Limit: MaxCount, Concurrency: a.concurrency()}
		var items int64
		if req.Progress != nil {
			opts.Progress = func(p paginate.Progress) {
				req.Progress(venues.Progress{Items: items, Done: int(p.Done), Total: int(p.Total), Position: p.Position})
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
			if bar.Trades == 0 && !a.opt.emptyBars {
				continue
			}
			items++
			if !yield(bar, nil) {
				return
			}
		}
	}
}
