package kraken

import (
	"context"
	"fmt"
	"iter"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/venues"
)

// DeriveCandles yields closed candles of req.Symbol with open times in
// req.Range aggregated from the venue's full trade history (BackfillTrades),
// oldest first. It reaches back to the pair's listing, which the OHLC
// endpoint (720 recent bars) cannot, and works for any span, including ones
// Kraken's OHLC does not serve (1s, 2h, 1M, ...). Bars align as
// domain.Span.Floor aligns them (weeks on Monday, months on the 1st);
// intervals without trades have no bar. Each bar's open, high, low, close,
// volume and trade count come from the trades in [open, next open);
// QuoteVolume is the exact Σ price × amount (rounded only beyond 19
// significant digits). Cost: one Trades request per 1000 trades, about one
// per second per pair.
func (a *Adapter) DeriveCandles(ctx context.Context, req venues.CandleRequest) iter.Seq2[domain.OHLCBar, error] {
	return func(yield func(domain.OHLCBar, error) bool) {
		err := req.Range.Validate()
		if err == nil && !req.Span.Valid() {
			err = &domain.SpanError{Input: req.Span.String()}
		}
		if err == nil {
			_, err = a.Pair(ctx, req.Symbol)
		}
		if err != nil {
			yield(domain.OHLCBar{}, fmt.Errorf("kraken: derive %s %s candles: %w", req.Symbol, req.Span, err))
			return
		}
		for b, err := range a.deriveCandles(ctx, req) {
			if !yield(b, err) || err != nil {
				return
			}
		}
	}
}

// deriveCandles aggregates trades into bars; req is validated.
func (a *Adapter) deriveCandles(ctx context.Context, req venues.CandleRequest) iter.Seq2[domain.OHLCBar, error] {
	return func(yield func(domain.OHLCBar, error) bool) {
		span := req.Span
		r := req.Range
		if now := a.serverNow(); r.End > now {
			r.End = max(span.Floor(now), r.Start)
		}
		// Trades of the bars opening in r: [first open, end of the last bar).
		tr := domain.Range{Start: span.Ceil(r.Start), End: span.Ceil(r.End)}
		if tr.Start >= tr.End {
			return
		}
		var (
			agg       barAggregator
			items     int64
			coveredTo = tr.Start // trades complete before this
			reported  = r.Start  // candle coverage reported up to
		)
		report := func(upTo int64) {
			upTo = min(upTo, r.End)
			if upTo > reported {
				if req.Covered != nil {
					req.Covered(domain.Range{Start: reported, End: upTo})
				}
				reported = upTo
			}
		}
		treq := venues.TradeRequest{Symbol: req.Symbol, Range: tr, Covered: func(c domain.Range) { coveredTo = max(coveredTo, c.End) }}
		if req.Progress != nil {
			treq.Progress = func(pr venues.Progress) {
				req.Progress(venues.Progress{Items: items, Done: pr.Done, Position: span.Floor(pr.Position)})
			}
		}
		for t, err := range a.BackfillTrades(ctx, treq) {
			if err != nil {
				yield(domain.OHLCBar{}, fmt.Errorf("kraken: derive %s %s candles from trades: %w", req.Symbol, span, err))
				return
			}
			open := span.Floor(t.Time)
			if agg.n > 0 && open != agg.bar.OpenTime {
				b := agg.done()
				items++
				if !yield(b, nil) {
					return
				}
				// Every bar before this trade's bar is complete.
				report(min(span.Floor(coveredTo), open))
			}
			agg.add(open, t)
		}
		if agg.n > 0 {
			items++
			if !yield(agg.done(), nil) {
				return
			}
		}
		report(span.Floor(coveredTo))
	}
}

// barAggregator builds one bar from trades in time order.
type barAggregator struct {
	bar   domain.OHLCBar
	n     int64
	quote decimal.Decimal
}

func (g *barAggregator) add(open int64, t domain.Trade) {
	if g.n == 0 {
		g.bar = domain.OHLCBar{OpenTime: open, Open: t.Price, High: t.Price, Low: t.Price, Closed: true}
		g.quote = decimal.Decimal{}
	}
	g.n++
	if t.Price.Cmp(g.bar.High) > 0 {
		g.bar.High = t.Price
	}
	if t.Price.Cmp(g.bar.Low) < 0 {
		g.bar.Low = t.Price
	}
	g.bar.Close = t.Price
	if v, err := g.bar.Volume.Add(t.Amount); err == nil {
		g.bar.Volume = v
	}
	// Mul and Add round beyond 19 significant digits; they fail only when
	// the integer part overflows, which no real bar reaches.
	if q, err := t.Price.Mul(t.Amount); err == nil {
		if s, err := g.quote.Add(q); err == nil {
			g.quote = s
		}
	}
}

// done returns the bar and resets the aggregator.
func (g *barAggregator) done() domain.OHLCBar {
	b := g.bar
	b.Trades = g.n
	b.QuoteVolume = g.quote
	g.n = 0
	return b
}
