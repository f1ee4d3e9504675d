package coinbase

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/transport/paginate"
	"github.com/pype-go/pype/venues"
)

// tradesPage performs one GET /products/{id}/trades. after > 0 asks for
// the trades with ids below after (older), newest first; after == 0 for
// the newest trades. next is the cursor of the following (older) page:
// the CB-AFTER header, or the smallest id of the page when the header is
// missing; 0 when the page is empty.
func (a *Adapter) tradesPage(ctx context.Context, product string, after int64, limit int) (rows []trade, next int64, err error) {
	if limit <= 0 || limit > MaxTrades {
		limit = MaxTrades
	}
	q := url.Values{}
	if after > 0 {
		q.Set("after", strconv.FormatInt(after, 10))
	}
	q.Set("limit", strconv.Itoa(limit))
	resp, err := a.get(ctx, epTrades, product, q)
	if err != nil {
		return nil, 0, err
	}
	rows, err = parseTrades(resp.Body, nil)
	if err != nil || len(rows) == 0 {
		return rows, 0, err
	}
	next = rows[0].ID
	for _, r := range rows {
		next = min(next, r.ID)
	}
	if h := resp.Header.Get("Cb-After"); h != "" {
		if n, err := strconv.ParseInt(h, 10, 64); err == nil && n > 0 {
			next = n
		}
	}
	return rows, next, nil
}

// Trades fetches one page of trades: with after > 0 the (at most limit ≤
// 1000) trades with ids below after, else the newest ones; oldest first.
func (a *Adapter) Trades(ctx context.Context, sym domain.Symbol, after int64, limit int) ([]domain.Trade, error) {
	product, err := a.VenueSymbol(ctx, sym)
	if err != nil {
		return nil, err
	}
	rows, _, err := a.tradesPage(ctx, product, after, limit)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(rows, func(x, y trade) int { return cmpInt(x.ID, y.ID) })
	out := make([]domain.Trade, len(rows))
	for i, r := range rows {
		out[i] = r.Trade
	}
	return out, nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// noTrade marks a search point below the product's first trade.
const noTrade = math.MinInt64

// idPoint is what a probe learned: no trade with an id ≤ ID has a time
// above T (T is the time of the trade with the largest id ≤ ID), or
// T == noTrade: there is no trade with an id ≤ ID.
type idPoint struct{ ID, T int64 }

// idSearch finds trade ids by time for one product. Coinbase trade ids are
// contiguous per product and increase with time, so "the first trade at or
// after T" is a monotone predicate over ids; each probe
// (GET …/trades?after=m+1&limit=1) returns the trade with the largest id
// ≤ m and its time. The search keeps every point it learned, so the start
// and end of a range share probes.
type idSearch struct {
	a       *Adapter
	product string
	newest  idPoint
	have    bool // newest read
	empty   bool // the product has no trade at all
	pts     []idPoint
	probes  int
}

// latest reads the product's newest trade.
func (s *idSearch) latest(ctx context.Context) error {
	if s.have {
		return nil
	}
	s.probes++
	rows, _, err := s.a.tradesPage(ctx, s.product, 0, 1)
	if err != nil {
		return err
	}
	s.have = true
	if len(rows) == 0 {
		s.empty = true
		return nil
	}
	s.newest = idPoint{rows[0].ID, rows[0].Trade.Time}
	s.add(s.newest)
	return nil
}

func (s *idSearch) add(p idPoint) {
	i, found := slices.BinarySearchFunc(s.pts, p.ID, func(q idPoint, id int64) int { return cmpInt(q.ID, id) })
	if !found {
		s.pts = slices.Insert(s.pts, i, p)
	}
}

// probe returns the point of id m.
func (s *idSearch) probe(ctx context.Context, m int64) (idPoint, error) {
	if m <= 0 {
		p := idPoint{0, noTrade}
		return p, nil
	}
	s.probes++
	rows, _, err := s.a.tradesPage(ctx, s.product, m+1, 1)
	if err != nil {
		return idPoint{}, err
	}
	if len(rows) == 0 {
		p := idPoint{m, noTrade}
		s.add(p)
		return p, nil
	}
	if rows[0].ID > m {
		return idPoint{}, fmt.Errorf("coinbase: %s trades after=%d answered trade id %d (not below the cursor)", s.product, m+1, rows[0].ID)
	}
	s.add(idPoint{rows[0].ID, rows[0].Trade.Time})
	return idPoint{m, rows[0].Trade.Time}, nil
}

// firstAtOrAfter returns the smallest trade id whose time is ≥ t, or the
// newest id + 1 when every trade so far is older than t (open ended).
// open reports the latter case.
//
// The search brackets t between a point below it (lo: every id ≤ lo.ID is
// older than t) and an existing trade at or after it (hi), then narrows the
// bracket by interpolation on time — trade ids are nearly linear in time
// over short spans, so a few probes suffice even across years of history —
// falling back to bisection whenever an interpolation step fails to halve
// the bracket. Without a known point below t it gallops back from the
// newest trade, extrapolating from the local trade rate.
func (s *idSearch) firstAtOrAfter(ctx context.Context, t int64) (id int64, open bool, err error) {
	if err := s.latest(ctx); err != nil {
		return 0, false, err
	}
	if s.empty {
		return 1, true, nil
	}
	if s.newest.T < t {
		return s.newest.ID + 1, true, nil
	}
	// Tightest known bracket.
	lo, hi := idPoint{-1, noTrade}, s.newest
	haveLo := false
	for _, p := range s.pts {
		switch {
		case p.T < t:
			if !haveLo || p.ID > lo.ID {
				lo, haveLo = p, true
			}
		case p.ID < hi.ID:
			hi = p
		}
	}
	// Gallop below hi until a point older than t is found.
	step := int64(1000)
	for !haveLo {
		m := max(hi.ID-step, 1)
		p, err := s.probe(ctx, m)
		if err != nil {
			return 0, false, err
		}
		if p.T < t {
			lo, haveLo = p, true
			break
		}
		if m == 1 {
			// Trade 1 is at or after t: it is the first.
			return s.hiAt(m, p).ID, false, nil
		}
		// p is at or after t: its trade (id ≤ m) is a better hi. Aim the
		// next probe a little beyond t, extrapolating the local trade
		// rate, and at least twice as far as this step.
		next := step * 2
		if p.T > hi.T || p.T < hi.T {
			rate := float64(hi.ID-m) / float64(hi.T-p.T)
			next = max(next, int64(rate*float64(p.T-t)*1.25)+1)
		}
		hi = s.hiAt(m, p)
		step = next
	}
	prevWidth := hi.ID - lo.ID
	bisect := false
	for hi.ID-lo.ID > 1 {
		var m int64
		if bisect || lo.T == noTrade || hi.T <= lo.T {
			m = lo.ID + (hi.ID-lo.ID)/2
		} else {
			f := float64(t-lo.T) / float64(hi.T-lo.T)
			m = lo.ID + int64(f*float64(hi.ID-lo.ID))
		}
		m = min(max(m, lo.ID+1), hi.ID-1)
		p, err := s.probe(ctx, m)
		if err != nil {
			return 0, false, err
		}
		if p.T < t {
			lo = p
		} else {
			hi = s.hiAt(m, p)
		}
		w := hi.ID - lo.ID
		bisect = !bisect && w > prevWidth/2
		prevWidth = w
	}
	return hi.ID, false, nil
}

// hiAt is the bracket's new upper point after probing m: the trade the
// probe returned (id ≤ m), the first id at or after t being at most its id.
func (s *idSearch) hiAt(m int64, p idPoint) idPoint {
	i, _ := slices.BinarySearchFunc(s.pts, m+1, func(q idPoint, id int64) int { return cmpInt(q.ID, id) })
	if i > 0 && s.pts[i-1].T == p.T {
		return s.pts[i-1]
	}
	return idPoint{m, p.T}
}

// idCursor walks trade ids [Floor, After) newest first.
type idCursor struct{ After, Floor int64 }

// chunkPage fetches the page at c: the trades with Floor ≤ id < After, at
// most 1000.
func (a *Adapter) chunkPage(ctx context.Context, product string, c idCursor) (paginate.TradesPage[idCursor], error) {
	if c.After <= c.Floor {
		return paginate.TradesPage[idCursor]{Done: true}, nil
	}
	rows, next, err := a.tradesPage(ctx, product, c.After, int(min(int64(MaxTrades), c.After-c.Floor)))
	if err != nil {
		return paginate.TradesPage[idCursor]{}, err
	}
	p := paginate.TradesPage[idCursor]{Items: make([]domain.Trade, 0, len(rows))}
	for _, r := range rows {
		if r.ID >= c.Floor && r.ID < c.After {
			p.Items = append(p.Items, r.Trade)
		}
	}
	p.Next = idCursor{After: next, Floor: c.Floor}
	p.Done = len(rows) == 0 || next <= c.Floor || next >= c.After
	return p, nil
}

// BackfillTrades yields every trade of req.Symbol with a time in
// req.Range, oldest first, each once (Trade.ID is Coinbase's trade_id).
//
// Coinbase serves trades newest first by a trade-id cursor, and its ids are
// contiguous per product, so the whole history is reachable: the range's
// first id (the first trade at or after Start) and end id (the first at or
// after End) are found by an interpolation search over ids (see
// firstAtOrAfter; a few requests even years back), and the ids between them
// are cut into chunks of 20 pages drained concurrently
// (venues.Config.Concurrency, default 4) with after= cursors, each page
// asking for exactly the ids it still needs. The stitched stream passes an
// id-continuity check: a hole is refetched once by id, and what stays
// missing is reported to req.Gap. Trades sharing a timestamp at a page or
// chunk seam are neither lost nor duplicated, because seams are ids, not
// times.
func (a *Adapter) BackfillTrades(ctx context.Context, req venues.TradeRequest) iter.Seq2[domain.Trade, error] {
	return func(yield func(domain.Trade, error) bool) {
		fail := func(err error) {
			yield(domain.Trade{}, fmt.Errorf("coinbase: backfill %s trades %s: %w", req.Symbol, req.Range, err))
		}
		if err := req.Range.Validate(); err != nil {
			fail(err)
			return
		}
		product, err := a.VenueSymbol(ctx, req.Symbol)
		if err != nil {
			fail(err)
			return
		}
		r := req.Range
		s := &idSearch{a: a, product: product}
		first, _, err := s.firstAtOrAfter(ctx, r.Start)
		if err != nil {
			fail(err)
			return
		}
		end, open, err := s.firstAtOrAfter(ctx, r.End)
		if err != nil {
			fail(err)
			return
		}
		asOf := a.serverNow()
		a.log.Debug("coinbase: trade range located", "symbol", req.Symbol.String(), "first_id", first, "end_id", end, "probes", s.probes)
		st := &stitch{a: a, req: req, product: product, expect: first, end: end, covFrom: r.Start}
		if first >= end {
			st.finishCoverage(open, asOf)
			return
		}
		per := int64(a.opt.chunkPages) * MaxTrades
		n := int((end - first + per - 1) / per)
		work := func(ctx context.Context, i int) ([]domain.Trade, error) {
			lo := first + int64(i)*per
			hi := min(lo+per, end)
			var out []domain.Trade
			fetch := func(ctx context.Context, c idCursor) (paginate.TradesPage[idCursor], error) {
				return a.chunkPage(ctx, product, c)
			}
			for t, err := range paginate.Trades(ctx, r, idCursor{After: hi, Floor: lo}, fetch, paginate.TradesOptions{Direction: domain.Descending}) {
				if err != nil {
					return nil, err
				}
				out = append(out, t)
			}
			return out, nil
		}
		done := 0
		emit := func(i int, ts []domain.Trade) bool {
			for _, t := range ts {
				if !st.next(ctx, t, yield) {
					return false
				}
			}
			done++
			st.cover()
			if req.Progress != nil {
				req.Progress(venues.Progress{Items: st.items, Done: done, Total: n, Position: st.last.Time})
			}
			return true
		}
		err = runOrdered(ctx, n, a.concurrency(), work, emit)
		if err == nil && st.err == nil {
			if !st.finish(ctx, yield) {
				return
			}
		}
		switch {
		case st.err != nil:
			fail(st.err)
		case err == nil:
			st.finishCoverage(open, asOf)
		case errors.Is(err, errStopped):
		default:
			fail(err)
		}
	}
}

// stitch checks the stitched stream's id continuity, repairs holes by id
// when the venue can serve them, reports the rest, and reports coverage up
// to the last trade proven complete.
type stitch struct {
	a       *Adapter
	req     venues.TradeRequest
	product string
	expect  int64 // next id expected
	end     int64 // first id after the range
	items   int64
	last    domain.Trade
	covFrom int64 // coverage reported up to here
	err     error
}

func (s *stitch) emit(t domain.Trade, yield func(domain.Trade, error) bool) bool {
	s.items++
	s.last = t
	return yield(t, nil)
}

// next passes trade t through the continuity check.
func (s *stitch) next(ctx context.Context, t domain.Trade, yield func(domain.Trade, error) bool) bool {
	id, err := strconv.ParseInt(t.ID, 10, 64)
	if err != nil {
		s.err = fmt.Errorf("trade id %q is not an integer", t.ID)
		return false
	}
	switch {
	case id < s.expect:
		return true // duplicate: already yielded
	case id > s.expect:
		if !s.repair(ctx, id, t.Time, yield) {
			return false
		}
	}
	s.expect = id + 1
	return s.emit(t, yield)
}

// repair refetches ids [s.expect, id) by id; what the venue still does not
// serve is reported as a gap.
// nextTime is the time of trade id (the range end for the tail).
func (s *stitch) repair(ctx context.Context, id, nextTime int64, yield func(domain.Trade, error) bool) bool {
	var got []trade
	for after := id; after > s.expect; {
		rows, next, err := s.a.tradesPage(ctx, s.product, after, int(min(after-s.expect, MaxTrades)))
		if err != nil {
			s.err = err
			return false
		}
		for _, r := range rows {
			if r.ID >= s.expect && r.ID < id {
				got = append(got, r)
			}
		}
		if len(rows) == 0 || next >= after {
			break
		}
		after = next
	}
	slices.SortFunc(got, func(x, y trade) int { return cmpInt(x.ID, y.ID) })
	for _, r := range got {
		if r.ID < s.expect || !s.req.Range.Contains(r.Trade.Time) {
			continue
		}
		if r.ID > s.expect {
			s.gap(s.expect, r.ID-1, r.Trade.Time)
		}
		s.expect = r.ID + 1
		if !s.emit(r.Trade, yield) {
			return false
		}
	}
	if s.expect < id {
		s.gap(s.expect, id-1, nextTime)
		s.expect = id
	}
	return true
}

// gap reports ids first…last missing; after is the time of the trade that
// follows them (the range end for the tail).
func (s *stitch) gap(first, last, after int64) {
	from := s.last.Time
	if s.items == 0 {
		from = s.req.Range.Start
	}
	to := max(after, from)
	e := &IDGapError{Symbol: s.req.Symbol.String(), First: first, Last: last}
	s.a.log.Warn("coinbase: trade ids missing", "symbol", s.req.Symbol.String(), "first_id", first, "last_id", last)
	// Nothing between the trades around the hole may be reported as
	// covered.
	s.covFrom = max(s.covFrom, to)
	if s.req.Gap != nil {
		s.req.Gap(venues.Gap{Symbol: s.req.Symbol, Range: domain.Range{Start: from, End: to + 1},
			FirstID: strconv.FormatInt(first, 10), LastID: strconv.FormatInt(last, 10), Reason: e.Error(), Reported: time.Now().UnixNano()})
	}
}

// cover reports [covFrom, time of the last trade yielded) as covered: every
// trade older than it has a smaller id and was checked.
func (s *stitch) cover() {
	if s.req.Covered == nil || s.items == 0 {
		return
	}
	if t := s.last.Time; t > s.covFrom {
		s.req.Covered(domain.Range{Start: s.covFrom, End: t})
		s.covFrom = t
	}
}

// finish checks the range's tail: every id before the end id must have
// been yielded.
func (s *stitch) finish(ctx context.Context, yield func(domain.Trade, error) bool) bool {
	if s.expect < s.end {
		return s.repair(ctx, s.end, s.req.Range.End, yield)
	}
	return true
}

// finishCoverage reports the rest of the range: all of it when its end is
// known to the venue (a trade at or after End exists, or End is past), else
// up to the time the end was looked up.
func (s *stitch) finishCoverage(open bool, asOf int64) {
	if s.req.Covered == nil {
		return
	}
	end := s.req.Range.End
	if open {
		end = min(end, asOf)
	}
	if end > s.covFrom {
		s.req.Covered(domain.Range{Start: s.covFrom, End: end})
		s.covFrom = end
	}
}
