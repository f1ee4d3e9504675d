package kraken

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

// TradesPage is one answer of GET /0/public/Trades.
type TradesPage struct {
	Trades []domain.Trade // oldest first; ID is Kraken's trade_id
	// Last is the venue's cursor: the time (ns) of the newest trade in the
	// page; trades strictly after it come next.
	Last int64
}

// Trades fetches one page of trades of sym with a time strictly after
// since (ns; 0 means the pair's oldest trades), at most count (1 to 1000;
// 0 means 1000), oldest first.
func (a *Adapter) Trades(ctx context.Context, sym domain.Symbol, since int64, count int) (TradesPage, error) {
	p, err := a.Pair(ctx, sym)
	if err != nil {
		return TradesPage{}, err
	}
	rows, last, err := a.trades(ctx, p.Altname, since, count)
	if err != nil {
		return TradesPage{}, err
	}
	out := TradesPage{Trades: make([]domain.Trade, len(rows)), Last: last}
	for i, r := range rows {
		out.Trades[i] = r.Trade
	}
	return out, nil
}

func (a *Adapter) trades(ctx context.Context, altname string, since int64, count int) ([]tradeRow, int64, error) {
	if count <= 0 || count > MaxTrades {
		count = MaxTrades
	}
	q := url.Values{}
	q.Set("pair", altname)
	// Always send since: without it Kraken answers the newest trades, with
	// since=0 the oldest.
	q.Set("since", strconv.FormatInt(max(since, 0), 10))
	q.Set("count", strconv.Itoa(count))
	body, err := a.get(ctx, pathTrades, q, pairCost(altname))
	if err != nil {
		return nil, 0, err
	}
	rows, last, err := parseTrades(body, nil)
	if err != nil {
		return nil, 0, err
	}
	return rows, last, nil
}

// tradeCursor is the since parameter of the next Trades request.
type tradeCursor struct{ since int64 }

// nextCursor returns the cursor after a page. Kraken's since is exclusive
// and last is the newest trade's exact time, so asking again from last−1
// serves every trade at that instant once more — the ones already seen are
// dropped by trade id, the ones that did not fit in the page are not lost.
// If a whole full page shares one instant the cursor cannot move that way;
// it then moves past the instant and stuck reports true (trades of that
// instant beyond the page may be unreachable).
func nextCursor(c tradeCursor, rows []tradeRow, last int64, full bool) (next tradeCursor, stuck bool) {
	newest := rows[len(rows)-1].Trade.Time
	if last <= 0 {
		// No cursor in the answer: fall back to the row time, which Kraken
		// rounds to 100 ns; back off a microsecond to stay behind it.
		last = newest
		next = tradeCursor{since: last - int64(time.Microsecond)}
	} else {
		next = tradeCursor{since: last - 1}
	}
	if next.since <= c.since {
		if full {
			return tradeCursor{since: max(last, c.since+1)}, true
		}
		next.since = c.since + 1
	}
	return next, false
}

// BackfillTrades yields every trade of req.Symbol with a time in req.Range,
// oldest first, each once (Trade.ID is Kraken's trade_id).
//
// Pages are walked by Kraken's nanosecond cursor: the first request asks
// for trades after req.Range.Start−1 ns, each next one from the previous
// page's last−1 ns, so trades sharing an instant at a page seam are served
// again and de-duplicated by trade id rather than skipped or merged. The
// walk stops at the first trade at or after the range end, or when the
// venue has no newer trade. Kraken counts Trades calls per pair (about one
// per second), so one pair is drained by a single cursor; backfills of
// different pairs run in parallel without slowing each other.
//
// req.Covered is told, page by page, which time ranges are complete (up to
// the newest trade seen, and the whole range once it ends in the past).
func (a *Adapter) BackfillTrades(ctx context.Context, req venues.TradeRequest) iter.Seq2[domain.Trade, error] {
	return func(yield func(domain.Trade, error) bool) {
		fail := func(err error) {
			yield(domain.Trade{}, fmt.Errorf("kraken: backfill %s trades %s: %w", req.Symbol, req.Range, err))
		}
		if err := req.Range.Validate(); err != nil {
			fail(err)
			return
		}
		p, err := a.Pair(ctx, req.Symbol)
		if err != nil {
			fail(err)
			return
		}
		r := req.Range
		var items int64
		covered := r.Start
		cover := func(to int64) {
			if to > covered {
				if req.Covered != nil {
					req.Covered(domain.Range{Start: covered, End: to})
				}
				covered = to
			}
		}
		fetch := func(ctx context.Context, c tradeCursor) (paginate.TradesPage[tradeCursor], error) {
			rows, last, err := a.trades(ctx, p.Altname, c.since, a.opt.tradesPage)
			if err != nil {
				return paginate.TradesPage[tradeCursor]{}, err
			}
			page := paginate.TradesPage[tradeCursor]{Items: make([]domain.Trade, len(rows))}
			for i, row := range rows {
				page.Items[i] = row.Trade
			}
			if len(rows) < a.opt.tradesPage {
				page.Done = true // the venue has nothing newer yet
				return page, nil
			}
			next, stuck := nextCursor(c, rows, last, true)
			if stuck {
				a.reportInstantOverflow(req, rows[0].Trade.Time)
			}
			page.Next = next
			return page, nil
		}
		var lastTime int64
		opts := paginate.TradesOptions{Progress: func(pr paginate.Progress) {
			if pr.Position >= r.End {
				// Drained: the range is complete if it lies in the past;
				// otherwise up to the newest trade the venue had.
				if r.End <= a.serverNow() {
					cover(r.End)
				} else {
					cover(lastTime)
				}
			} else if pr.Position > r.Start {
				// Trades at the newest instant may continue on the next page.
				cover(pr.Position)
			}
			if req.Progress != nil {
				req.Progress(venues.Progress{Items: items, Done: int(pr.Done), Position: pr.Position})
			}
		}}
		for t, err := range paginate.Trades(ctx, r, tradeCursor{since: r.Start - 1}, fetch, opts) {
			if err != nil {
				fail(err)
				return
			}
			items++
			lastTime = t.Time
			if !yield(t, nil) {
				return
			}
		}
	}
}

// reportInstantOverflow reports an instant holding more trades than a
// page: Kraken's time cursor cannot reach the ones past the page.
func (a *Adapter) reportInstantOverflow(req venues.TradeRequest, at int64) {
	msg := fmt.Sprintf("more than %d trades at %s: the Trades cursor (a time) cannot page within one instant; trades of that instant beyond the page may be missing", a.opt.tradesPage, domain.FormatNs(at))
	a.log.Warn("kraken: "+msg, "symbol", req.Symbol.String())
	if req.Gap != nil {
		req.Gap(venues.Gap{Symbol: req.Symbol, Range: domain.Range{Start: at, End: at + 1}, Reason: msg, Reported: time.Now().UnixNano()})
	}
}
