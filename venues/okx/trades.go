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

// TradesQuery is one GET /api/v5/market/history-trades request.
type TradesQuery struct {
	// ByTime selects OKX's timestamp pagination (type=2): After is then a
	// time in ms. Otherwise (type=1, the default) After and Before are
	// trade ids.
	ByTime bool
	After  int64 // > 0: only trades older than this id (or ms), exclusive
	Before int64 // > 0: only trades newer than this id, exclusive (ids only)
	Limit  int   // ≤ 100; 0 means 100
}

func (q TradesQuery) values(inst string) (url.Values, error) {
	v := url.Values{}
	v.Set("instId", inst)
	if q.ByTime {
		if q.Before > 0 {
			return nil, fmt.Errorf("okx: history-trades: before is not supported with timestamp pagination (OKX code 50039); page by trade id instead")
		}
		v.Set("type", "2")
	} else {
		v.Set("type", "1")
	}
	if q.After > 0 {
		v.Set("after", strconv.FormatInt(q.After, 10))
	}
	if q.Before > 0 {
		v.Set("before", strconv.FormatInt(q.Before, 10))
	}
	lim := q.Limit
	if lim <= 0 || lim > MaxHistoryTrades {
		lim = MaxHistoryTrades
	}
	v.Set("limit", strconv.Itoa(lim))
	return v, nil
}

// HistoryTrades fetches one page of GET /api/v5/market/history-trades as
// OKX returns it: newest first.
func (a *Adapter) HistoryTrades(ctx context.Context, sym domain.Symbol, q TradesQuery) ([]domain.Trade, error) {
	inst, err := a.VenueSymbol(ctx, sym)
	if err != nil {
		return nil, err
	}
	rows, err := a.historyTrades(ctx, inst, q)
	if err != nil {
		return nil, err
	}
	out := make([]domain.Trade, len(rows))
	for i, r := range rows {
		out[i] = r.Trade
	}
	return out, nil
}

func (a *Adapter) historyTrades(ctx context.Context, inst string, q TradesQuery) ([]trade, error) {
	v, err := q.values(inst)
	if err != nil {
		return nil, err
	}
	body, err := a.get(ctx, epHistoryTrades, v)
	if err != nil {
		return nil, err
	}
	rows, err := parseTrades(body, make([]trade, 0, MaxHistoryTrades))
	if err != nil {
		return nil, fmt.Errorf("okx: %s?%s: %w", epHistoryTrades, v.Encode(), err)
	}
	return rows, nil
}

// tradeCursor is the position of a backward walk: the next page holds the
// trades older than After (a trade id, or a time in ms for the first page
// of a window).
type tradeCursor struct {
	After  int64
	ByTime bool
}

// tradesPage fetches the page at c. The next cursor is the page's smallest
// trade id: paging by id, not by time, never skips trades that share a
// millisecond at a page boundary.
func (a *Adapter) tradesPage(ctx context.Context, inst string, c tradeCursor) (paginate.TradesPage[tradeCursor], error) {
	rows, err := a.historyTrades(ctx, inst, TradesQuery{ByTime: c.ByTime, After: c.After})
	if err != nil {
		return paginate.TradesPage[tradeCursor]{}, err
	}
	p := paginate.TradesPage[tradeCursor]{Items: make([]domain.Trade, len(rows)), Done: len(rows) == 0}
	next := int64(0)
	for i, r := range rows {
		p.Items[i] = r.Trade
		if next == 0 || r.ID < next {
			next = r.ID
		}
	}
	p.Next = tradeCursor{After: next}
	return p, nil
}

// BackfillTrades yields every trade of req.Symbol with a time in req.Range,
// oldest first, each once (Trade.ID is OKX's tradeId).
//
// OKX serves trades newest first and only for the last 3 months. The range
// is cut into sub-windows (WithTradeWindow, default 30 min) drained
// concurrently (venues.Config.Concurrency, default 4) within
// history-trades' 20 requests per 2 s. Each sub-window is walked backward
// from its end: the first page by time (type=2, after = the window's end,
// exclusive), every later page by trade id (type=1, after = the smallest
// id seen), until a trade older than the window's start. Seams between
// pages are ids and seams between windows are milliseconds that belong to
// exactly one window, so trades sharing a millisecond are neither lost nor
// duplicated. A range reaching into the future stops at the venue's now
// and only what was answered is reported as covered. Consecutive trade
// ids that jump are reported to req.Gap. A range starting more
// than 3 months back fails with a *domain.CapabilityError (older trades
// are only in OKX's daily files, https://www.okx.com/data-download).
func (a *Adapter) BackfillTrades(ctx context.Context, req venues.TradeRequest) iter.Seq2[domain.Trade, error] {
	return func(yield func(domain.Trade, error) bool) {
		fail := func(err error) {
			yield(domain.Trade{}, fmt.Errorf("okx: backfill %s trades %s: %w", req.Symbol, req.Range, err))
		}
		if err := req.Range.Validate(); err != nil {
			fail(err)
			return
		}
		inst, err := a.VenueSymbol(ctx, req.Symbol)
		if err != nil {
			fail(err)
			return
		}
		now := a.serverNow()
		if h := int64(a.opt.tradeHistory); h > 0 && req.Range.Start < now-h {
			fail(&domain.CapabilityError{Venue: Name, What: "public trades before " + domain.FormatNs(now-h),
				Accept: "the last 3 months (GET /api/v5/market/history-trades); older trades are in OKX's daily files at https://www.okx.com/data-download"})
			return
		}
		r := req.Range
		r.End = min(r.End, now)
		if r.Start >= r.End {
			return
		}
		first := func(_ context.Context, w domain.Range) (tradeCursor, error) {
			return tradeCursor{After: ceilMillis(w.End), ByTime: true}, nil
		}
		fetch := func(ctx context.Context, c tradeCursor) (paginate.TradesPage[tradeCursor], error) {
			return a.tradesPage(ctx, inst, c)
		}
		window := domain.CeilNs(int64(a.opt.tradeWindow), int64(time.Millisecond))
		opts := paginate.TradeWindowsOptions{Window: time.Duration(window), Concurrency: a.concurrency(), Direction: domain.Descending}
		var items int64
		if req.Progress != nil {
			opts.Progress = func(p paginate.Progress) {
				req.Progress(venues.Progress{Items: items, Done: int(p.Done), Total: int(p.Total), Position: p.Position})
			}
		}
		if req.Covered != nil {
			opts.Coverage = func(c paginate.Coverage) { req.Covered(c.Range) }
		}
		var last domain.Trade
		var lastID int64
		for t, err := range paginate.TradeWindows(ctx, r, first, fetch, opts) {
			if err != nil {
				fail(err)
				return
			}
			if id, err := strconv.ParseInt(t.ID, 10, 64); err == nil {
				if lastID != 0 && id > lastID+1 {
					a.idGap(req, lastID+1, id-1, last.Time, t.Time)
				}
				lastID = id
			}
			last = t
			items++
			if !yield(t, nil) {
				return
			}
		}
	}
}

// idGap reports trade ids missing between two consecutive trades of a
// backfill. OKX's trade ids are consecutive per instrument in every
// recorded payload (OKX does not document it), so a jump means trades the
// venue did not serve; it is reported to req.Gap and logged at debug
// level, and the backfill goes on.
func (a *Adapter) idGap(req venues.TradeRequest, first, last, from, to int64) {
	a.log.Debug("okx: trade ids missing from history-trades", "symbol", req.Symbol.String(), "first_id", first, "last_id", last)
	if req.Gap == nil {
		return
	}
	req.Gap(venues.Gap{Symbol: req.Symbol, Range: domain.Range{Start: from, End: to + 1},
		FirstID: strconv.FormatInt(first, 10), LastID: strconv.FormatInt(last, 10),
		Reason:   fmt.Sprintf("okx: %s trade ids %d–%d missing from history-trades (ids are consecutive per instrument)", req.Symbol, first, last),
		Reported: time.Now().UnixNano()})
}
