package bybit

import (
	"context"
	"fmt"
	"iter"
	"net/url"
	"slices"
	"strconv"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/venues"
)

// RecentTrades fetches the latest public trades of sym from
// GET /v5/market/recent-trade, oldest first: at most limit, which is
// capped at 60 on spot and 1000 on linear/inverse (0 = the maximum). This
// is all the trade history Bybit serves over REST.
func (a *Adapter) RecentTrades(ctx context.Context, sym domain.Symbol, limit int) ([]domain.Trade, error) {
	cat, vs, err := a.VenueSymbol(ctx, sym)
	if err != nil {
		return nil, err
	}
	return a.recentTrades(ctx, cat, vs, limit)
}

func (a *Adapter) recentTrades(ctx context.Context, cat Category, vs string, limit int) ([]domain.Trade, error) {
	if m := maxRecent(cat); limit <= 0 || limit > m {
		limit = m
	}
	q := url.Values{}
	q.Set("category", string(cat))
	q.Set("symbol", vs)
	q.Set("limit", strconv.Itoa(limit))
	body, err := a.get(ctx, epRecentTrade, q)
	if err != nil {
		return nil, err
	}
	trades, err := parseRecentTrades(body)
	if err != nil {
		return nil, err
	}
	// Bybit lists newest first; within a millisecond too, so reversing
	// gives execution order.
	if !slices.IsSortedFunc(trades, func(x, y domain.Trade) int { return compareInt(x.Time, y.Time) }) {
		slices.Reverse(trades)
	}
	if !slices.IsSortedFunc(trades, func(x, y domain.Trade) int { return compareInt(x.Time, y.Time) }) {
		slices.SortStableFunc(trades, func(x, y domain.Trade) int { return compareInt(x.Time, y.Time) })
	}
	return trades, nil
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// BackfillTrades yields the public trades of req.Symbol in req.Range,
// oldest first, each once — but only when Bybit's REST API can prove the
// range complete. Bybit serves no public trade history over REST beyond
// /v5/market/recent-trade (the latest 60 spot trades, 1000 on
// linear/inverse). The request succeeds when those trades reach back past
// req.Range.Start (or are all the venue has); otherwise it fails, before
// yielding anything, with a *TradeHistoryError (errors.Is
// domain.ErrNoCapability) that points to Bybit's public archive
// (https://public.bybit.com/, daily CSV files per symbol), where the full
// history lives. Covered reports the range up to the newest trade's
// millisecond.
func (a *Adapter) BackfillTrades(ctx context.Context, req venues.TradeRequest) iter.Seq2[domain.Trade, error] {
	return func(yield func(domain.Trade, error) bool) {
		fail := func(err error) {
			yield(domain.Trade{}, fmt.Errorf("bybit: backfill %s trades: %w", req.Symbol, err))
		}
		if err := req.Range.Validate(); err != nil {
			fail(err)
			return
		}
		cat, vs, err := a.VenueSymbol(ctx, req.Symbol)
		if err != nil {
			fail(err)
			return
		}
		maxN := maxRecent(cat)
		trades, err := a.recentTrades(ctx, cat, vs, maxN)
		if err != nil {
			fail(err)
			return
		}
		// A full page covers every trade after its oldest millisecond; the
		// oldest millisecond itself may be cut. So the page proves the
		// range complete only if it reaches strictly before the start.
		if len(trades) >= maxN && trades[0].Time >= req.Range.Start {
			fail(&TradeHistoryError{Symbol: req.Symbol, Category: cat, Range: req.Range, Oldest: trades[0].Time, Served: len(trades)})
			return
		}
		var n int64
		for _, t := range trades {
			if !req.Range.Contains(t.Time) {
				continue
			}
			n++
			if !yield(t, nil) {
				return
			}
		}
		// Complete up to the newest trade's millisecond (more trades of
		// that millisecond could still follow it).
		end := req.Range.Start
		if len(trades) > 0 {
			end = min(req.Range.End, max(end, trades[len(trades)-1].Time))
		}
		if req.Progress != nil {
			req.Progress(venues.Progress{Items: n, Done: 1, Total: 1, Position: end})
		}
		if req.Covered != nil && end > req.Range.Start {
			req.Covered(domain.Range{Start: req.Range.Start, End: end})
		}
	}
}
