package kraken

import (
	"context"
	"fmt"
	"iter"
	"net/url"
	"strconv"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/venues"
)

// ohlcMargin is how many bars inside the OHLC endpoint's 720-bar window a
// request must stay: the window slides while a backfill runs, and the
// venue clock is known to about a second.
const ohlcMargin = 2

// OHLCPage is one answer of GET /0/public/OHLC.
type OHLCPage struct {
	// Bars oldest first. Closed reports whether the bar had ended by the
	// venue's clock; the newest bar is normally still forming. VWAP is
	// Kraken's volume-weighted average price of each bar, in the same
	// order. QuoteVolume is zero: Kraken does not report it.
	Bars []domain.OHLCBar
	VWAP []decimal.Decimal
	// Last is the open time (ns) of the newest committed bar, Kraken's
	// polling cursor.
	Last int64
}

// OHLC fetches one OHLC page: the bars of span opening after since (ns,
// exclusive, whole seconds; 0 for the whole window). Kraken serves only its
// 720 most recent bars, whatever since says.
func (a *Adapter) OHLC(ctx context.Context, sym domain.Symbol, span domain.Span, since int64) (OHLCPage, error) {
	iv, err := Interval(span)
	if err != nil {
		return OHLCPage{}, err
	}
	p, err := a.Pair(ctx, sym)
	if err != nil {
		return OHLCPage{}, err
	}
	rows, last, err := a.ohlc(ctx, p.Altname, iv, since)
	if err != nil {
		return OHLCPage{}, err
	}
	now := a.serverNow()
	out := OHLCPage{Bars: make([]domain.OHLCBar, len(rows)), VWAP: make([]decimal.Decimal, len(rows)), Last: domain.SecondsToNanos(last)}
	for i, r := range rows {
		r.Bar.Closed = span.Next(r.Bar.OpenTime) <= now
		out.Bars[i], out.VWAP[i] = r.Bar, r.VWAP
	}
	return out, nil
}

func (a *Adapter) ohlc(ctx context.Context, altname string, interval int, since int64) ([]ohlcRow, int64, error) {
	q := url.Values{}
	q.Set("pair", altname)
	q.Set("interval", strconv.Itoa(interval))
	if since > 0 {
		q.Set("since", strconv.FormatInt(domain.FloorDiv(since, 1e9), 10))
	}
	body, err := a.get(ctx, pathOHLC, q, pairCost(altname))
	if err != nil {
		return nil, 0, err
	}
	return parseOHLC(body, nil)
}

// OHLCWindow returns the open time (ns) of the oldest bar of span the OHLC
// endpoint serves now (the 720 most recent bars, the newest still forming).
func (a *Adapter) OHLCWindow(span domain.Span) int64 {
	return span.Add(span.Floor(a.serverNow()), -(MaxOHLC - 1))
}

// BackfillCandles yields the closed candles of req.Symbol and req.Span with
// open times in req.Range, oldest first, each once.
//
// Kraken's OHLC endpoint serves only the 720 most recent bars. A range
// reaching further back fails with a *HistoryError (errors.Is
// ErrHistoryTooOld and domain.ErrNoCapability) before anything is fetched —
// unless the adapter was opened WithDerivedCandles(): the older part is
// then aggregated from the trade history (see DeriveCandles) and the rest
// read from OHLC, with no bar lost or repeated at the seam. Bars still
// forming are not yielded and the range they cover is not reported as
// covered. Bars Kraken sends for intervals without trades (count 0, volume
// 0) are placeholders and are dropped, as derived candles have none.
// OHLC bars carry no quote volume (Kraken reports a VWAP instead; see
// OHLC); derived bars carry the exact Σ price × amount.
func (a *Adapter) BackfillCandles(ctx context.Context, req venues.CandleRequest) iter.Seq2[domain.OHLCBar, error] {
	return func(yield func(domain.OHLCBar, error) bool) {
		fail := func(err error) {
			yield(domain.OHLCBar{}, fmt.Errorf("kraken: backfill %s %s candles: %w", req.Symbol, req.Span, err))
		}
		iv, err := Interval(req.Span)
		if err == nil {
			err = req.Range.Validate()
		}
		var p Pair
		if err == nil {
			p, err = a.Pair(ctx, req.Symbol)
		}
		if err != nil {
			fail(err)
			return
		}
		span := req.Span
		now := a.serverNow()
		r := req.Range
		if r.End > now {
			r.End = max(span.Floor(now), r.Start)
		}
		if r.Start >= r.End {
			return
		}
		safe := span.Add(a.OHLCWindow(span), ohlcMargin)
		if first := span.Ceil(r.Start); first < safe {
			if !a.opt.derived {
				fail(&HistoryError{Symbol: req.Symbol.String(), Span: span.String(), From: r.Start, Earliest: safe})
				return
			}
			old := req
			old.Range = domain.Range{Start: r.Start, End: min(safe, r.End)}
			for b, err := range a.deriveCandles(ctx, old) {
				if err != nil {
					yield(domain.OHLCBar{}, err)
					return
				}
				if !yield(b, nil) {
					return
				}
			}
			if r.End <= safe {
				return
			}
			r.Start = safe
		}
		rows, _, err := a.ohlc(ctx, p.Altname, iv, span.Ceil(r.Start)-1)
		if err != nil {
			fail(err)
			return
		}
		if len(rows) >= MaxOHLC && rows[0].Bar.OpenTime > span.Ceil(r.Start) {
			// The window slid past the start while we were busy.
			fail(&HistoryError{Symbol: req.Symbol.String(), Span: span.String(), From: r.Start, Earliest: rows[0].Bar.OpenTime})
			return
		}
		var n int64
		for _, row := range rows {
			b := row.Bar
			if b.OpenTime < r.Start || b.OpenTime >= r.End {
				continue
			}
			if b.Trades == 0 && b.Volume.IsZero() {
				continue // placeholder for an interval without trades
			}
			b.Closed = true
			n++
			if !yield(b, nil) {
				return
			}
		}
		if req.Covered != nil {
			req.Covered(r)
		}
		if req.Progress != nil {
			req.Progress(venues.Progress{Items: n, Done: 1, Total: 1, Position: r.End})
		}
	}
}
