package bitfinex

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"net/url"
	"slices"
	"strconv"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/transport/paginate"
	"github.com/pype-go/pype/venues"
)

// tradesPath is the REST path of a symbol's trade history.
func tradesPath(venueSym string) string { return "/trades/" + venueSym + "/hist" }

// tradesHist performs one GET /trades/{sym}/hist with start and end (ms,
// both inclusive), limit and sort (ascending unless desc). Rows are
// returned oldest first, ties in id order, whatever the sort.
func (a *Adapter) tradesHist(ctx context.Context, vs string, startMs, endMs int64, limit int, desc bool) ([]tradeRow, error) {
	if limit <= 0 || limit > MaxTrades {
		limit = MaxTrades
	}
	q := url.Values{}
	q.Set("start", strconv.FormatInt(startMs, 10))
	q.Set("end", strconv.FormatInt(endMs, 10))
	q.Set("limit", strconv.Itoa(limit))
	if desc {
		q.Set("sort", "-1")
	} else {
		q.Set("sort", "1")
	}
	body, err := a.get(ctx, tradesPath(vs), q)
	if err != nil {
		return nil, err
	}
	rows, err := parseTrades(body, make([]tradeRow, 0, min(limit, 1024)))
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(rows, func(x, y tradeRow) int {
		if c := cmp.Compare(x.Ms, y.Ms); c != 0 {
			return c
		}
		return cmp.Compare(x.ID, y.ID)
	})
	return rows, nil
}

// Trades fetches one page of trades with times in w (at most limit ≤
// 10000), oldest first.
func (a *Adapter) Trades(ctx context.Context, sym domain.Symbol, w domain.Range, limit int) ([]domain.Trade, error) {
	vs, err := a.VenueSymbol(ctx, sym)
	if err != nil {
		return nil, err
	}
	if err := w.Validate(); err != nil {
		return nil, err
	}
	rows, err := a.tradesHist(ctx, vs, ceilMillis(w.Start), ceilMillis(w.End)-1, limit, false)
	if err != nil {
		return nil, err
	}
	out := make([]domain.Trade, len(rows))
	for i, r := range rows {
		out[i] = r.Trade
	}
	return out, nil
}

// tradeCursor is the position of a trades walk: the next page starts AT
// millisecond Ms (inclusive) and the walk ends after EndMs (inclusive).
type tradeCursor struct{ Ms, EndMs int64 }

func (c tradeCursor) String() string { return fmt.Sprintf("start=%d end=%d", c.Ms, c.EndMs) }

// tradesPage fetches the page at c. A full page whose trades span more
// than one millisecond continues AT its last millisecond (not +1: the
// trades of that millisecond not on this page would be skipped); the
// repeated trades are dropped by id by the paginator. A full page whose
// trades all share one millisecond M cannot advance that way; it is
// completed with a descending page of M and, if the two pages overlap (at
// most 20000 trades in M), the walk moves on to M+1. More trades than that
// in one millisecond yield a *SameMillisecondError.
func (a *Adapter) tradesPage(ctx context.Context, vs string, c tradeCursor) (paginate.TradesPage[tradeCursor], error) {
	var p paginate.TradesPage[tradeCursor]
	if c.Ms > c.EndMs {
		p.Done = true
		return p, nil
	}
	limit := a.opt.tradesLimit
	rows, err := a.tradesHist(ctx, vs, c.Ms, c.EndMs, limit, false)
	if err != nil {
		return p, err
	}
	p.Items = make([]domain.Trade, len(rows))
	for i, r := range rows {
		p.Items[i] = r.Trade
	}
	if len(rows) < limit {
		p.Done = true // nothing more up to EndMs
		return p, nil
	}
	last := rows[len(rows)-1].Ms
	if last > c.Ms {
		p.Next = tradeCursor{Ms: last, EndMs: c.EndMs}
		return p, nil
	}
	// Every trade of the page is at c.Ms.
	tail, err := a.tradesHist(ctx, vs, c.Ms, c.Ms, limit, true)
	if err != nil {
		return p, err
	}
	seen := make(map[int64]struct{}, len(rows))
	for _, r := range rows {
		seen[r.ID] = struct{}{}
	}
	overlap := false
	for _, r := range tail {
		if _, ok := seen[r.ID]; ok {
			overlap = true
			continue
		}
		p.Items = append(p.Items, r.Trade)
	}
	if !overlap && len(tail) >= limit {
		return p, &SameMillisecondError{Symbol: vs, Ms: c.Ms, Got: len(p.Items), Limit: limit}
	}
	slices.SortFunc(p.Items, func(x, y domain.Trade) int {
		xi, _ := strconv.ParseInt(x.ID, 10, 64)
		yi, _ := strconv.ParseInt(y.ID, 10, 64)
		return cmp.Compare(xi, yi)
	})
	p.Next = tradeCursor{Ms: c.Ms + 1, EndMs: c.EndMs}
	p.Done = c.Ms+1 > c.EndMs
	return p, nil
}

// BackfillTrades yields every trade of req.Symbol with a time in
// req.Range, oldest first (ties in id order), each once.
//
// Bitfinex has no trade-id cursor, so the range is drained with one time
// cursor: GET /trades/{sym}/hist?start=…&end=…&limit=10000&sort=1, each
// next page starting AT the last millisecond of the previous one; trades
// seen twice at the seam are dropped by id (never by time: many trades
// share a millisecond). A millisecond holding a whole page is completed
// with a descending page (see tradesPage). Pages are fetched one after the
// other: the trades endpoint allows 15 requests per minute, i.e. up to
// 150000 trades per minute.
//
// Trade ids are unique but not contiguous per pair (one global sequence),
// so a loss cannot be proven from ids; completeness is reported through
// req.Covered: every range up to the last fully read millisecond, and the
// rest of the range once drained (never beyond the adapter's clock).
func (a *Adapter) BackfillTrades(ctx context.Context, req venues.TradeRequest) iter.Seq2[domain.Trade, error] {
	return func(yield func(domain.Trade, error) bool) {
		fail := func(err error) {
			yield(domain.Trade{}, fmt.Errorf("bitfinex: backfill %s trades %s: %w", req.Symbol, req.Range, err))
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
		r := req.Range
		startMs, endMs := ceilMillis(r.Start), ceilMillis(r.End)-1
		if startMs > endMs {
			return
		}
		covered := r.Start
		cover := func(to int64) {
			to = min(to, r.End, a.nowNs())
			if to > covered {
				if req.Covered != nil {
					req.Covered(domain.Range{Start: covered, End: to})
				}
				covered = to
			}
		}
		var items int64
		pages := 0
		opts := paginate.TradesOptions{Progress: func(p paginate.Progress) {
			pages++
			if p.Position >= r.End {
				cover(r.End)
			} else if p.Position > r.Start {
				cover(domain.FloorNs(p.Position, 1e6)) // the last millisecond may continue
			}
			if req.Progress != nil {
				req.Progress(venues.Progress{Items: items, Done: pages, Position: p.Position})
			}
		}}
		fetch := func(ctx context.Context, c tradeCursor) (paginate.TradesPage[tradeCursor], error) {
			return a.tradesPage(ctx, vs, c)
		}
		for t, err := range paginate.Trades(ctx, r, tradeCursor{Ms: startMs, EndMs: endMs}, fetch, opts) {
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
