package binance

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/transport/paginate"
	"github.com/pype-go/pype/venues"
)

// aggQuery is one GET /api/v3/aggTrades request. Times are ms; endTime is
// inclusive, as Binance reads it. Binance rejects fromId together with a
// time bound.
type aggQuery struct {
	FromID  int64
	HasFrom bool
	Start   int64 // ms, with HasTime
	End     int64 // ms inclusive, 0 = unset
	HasTime bool
	Limit   int
}

func (q aggQuery) values(venueSym string) url.Values {
	v := url.Values{}
	v.Set("symbol", venueSym)
	if q.HasFrom {
		v.Set("fromId", strconv.FormatInt(q.FromID, 10))
	}
	if q.HasTime {
		v.Set("startTime", strconv.FormatInt(q.Start, 10))
		if q.End > 0 {
			v.Set("endTime", strconv.FormatInt(q.End, 10))
		}
	}
	lim := q.Limit
	if lim <= 0 || lim > MaxAggTrades {
		lim = MaxAggTrades
	}
	v.Set("limit", strconv.Itoa(lim))
	return v
}

// aggTrades performs one GET /api/v3/aggTrades.
func (a *Adapter) aggTrades(ctx context.Context, venueSym string, q aggQuery) ([]aggTrade, error) {
	body, err := a.get(ctx, epAggTrades, q.values(venueSym))
	if err != nil {
		return nil, err
	}
	return parseAggTrades(body, nil)
}

// AggTrades fetches one page of aggregate trades from an id (inclusive), at
// most limit (≤ 1000), oldest first.
func (a *Adapter) AggTrades(ctx context.Context, sym domain.Symbol, fromID int64, limit int) ([]domain.Trade, error) {
	vs, err := a.VenueSymbol(ctx, sym)
	if err != nil {
		return nil, err
	}
	rows, err := a.aggTrades(ctx, vs, aggQuery{FromID: fromID, HasFrom: true, Limit: limit})
	if err != nil {
		return nil, err
	}
	out := make([]domain.Trade, len(rows))
	for i, r := range rows {
		out[i] = r.Trade
	}
	return out, nil
}

// noID marks an open upper bound: the window reaches past the newest trade.
const noID = math.MaxInt64

// boundary is the first aggregate trade id whose time is at or after a
// given millisecond, or noID if there is none yet.
type boundary struct {
	done chan struct{}
	id   int64
	err  error
}

// boundaries caches first-id-by-time lookups of one backfill, so the seam
// between two sub-windows is looked up once.
type boundaries struct {
	a     *Adapter
	sym   string
	mu    sync.Mutex
	byMs  map[int64]*boundary
	probe atomic.Int64 // requests made, for tests and stats
}

func (b *boundaries) at(ctx context.Context, ms int64) (int64, error) {
	b.mu.Lock()
	if b.byMs == nil {
		b.byMs = map[int64]*boundary{}
	}
	e, ok := b.byMs[ms]
	if !ok {
		e = &boundary{done: make(chan struct{})}
		b.byMs[ms] = e
		b.mu.Unlock()
		e.id, e.err = b.a.firstIDAt(ctx, b.sym, ms, &b.probe)
		if e.err != nil {
			b.mu.Lock()
			delete(b.byMs, ms) // let a later caller retry
			b.mu.Unlock()
		}
		close(e.done)
		return e.id, e.err
	}
	b.mu.Unlock()
	select {
	case <-e.done:
		return e.id, e.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// firstIDAt finds the first aggregate trade id with time ≥ ms, or noID if
// the venue has none up to its current time.
//
// It honours the old "startTime and endTime less than 1 hour apart" rule:
// the first probe asks for [ms, ms+1h). After an empty hour it jumps with
// startTime alone (one request finds the next trade however far away) and
// verifies the answer by reading the trade before it, which must be older
// than ms — so it is correct whatever a venue does with a lone startTime.
// If the jump cannot be verified it walks on hour by hour.
func (a *Adapter) firstIDAt(ctx context.Context, venueSym string, ms int64, probes *atomic.Int64) (int64, error) {
	hour := aggTradesWindow.Milliseconds()
	nowMs := domain.NanosToMillis(a.serverNow()) + 1000 // allow for clock error
	jumped := false
	for t := ms; t <= nowMs; t += hour {
		probes.Add(1)
		rows, err := a.aggTrades(ctx, venueSym, aggQuery{HasTime: true, Start: t, End: t + hour - 1, Limit: 1})
		if err != nil {
			return 0, err
		}
		if len(rows) > 0 {
			return rows[0].ID, nil
		}
		if jumped {
			continue
		}
		jumped = true
		probes.Add(1)
		rows, err = a.aggTrades(ctx, venueSym, aggQuery{HasTime: true, Start: t + hour, Limit: 1})
		if err != nil {
			if errors.Is(err, ErrInvalidParameter) {
				continue // a venue that insists on both bounds: walk by hours
			}
			return 0, err
		}
		if len(rows) == 0 {
			continue
		}
		cand := rows[0]
		if cand.Trade.Time < domain.MillisToNanos(t+hour) {
			continue // the venue ignored startTime
		}
		probes.Add(1)
		prev, err := a.aggTrades(ctx, venueSym, aggQuery{HasFrom: true, FromID: cand.ID - 1, Limit: 1})
		if err != nil {
			return 0, err
		}
		if len(prev) == 1 && prev[0].ID == cand.ID-1 && prev[0].Trade.Time < domain.MillisToNanos(ms) {
			return cand.ID, nil
		}
		if len(prev) == 0 || prev[0].ID != cand.ID-1 {
			// no predecessor at all: cand is the first trade ever
			if cand.ID == 0 || len(prev) == 0 {
				return cand.ID, nil
			}
		}
		// Could not verify: keep walking hour by hour.
	}
	return noID, nil
}

// latestAggID returns the id of the venue's newest aggregate trade.
func (a *Adapter) latestAggID(ctx context.Context, venueSym string) (int64, error) {
	rows, err := a.aggTrades(ctx, venueSym, aggQuery{Limit: 1})
	if err != nil {
		return 0, err
	}
	if len(rows) == 0 {
		return 0, fmt.Errorf("binance: %s has no trades", venueSym)
	}
	return rows[len(rows)-1].ID, nil
}

// tradeCursor walks aggregate trade ids [From, Hi); Hi = noID is open.
type tradeCursor struct{ From, Hi int64 }

// Defaults of the trades backfill.
const (
	// windowTrades is the target number of trades per concurrently drained
	// sub-window: large enough that the first-id lookup per window costs
	// little (1 request per 40 pages), small enough that the windows
	// buffered ahead of the consumer (2 × concurrency) stay a few MB.
	windowTrades = 40 * MaxAggTrades
)

// BackfillTrades yields every aggregate trade of req.Symbol with a time in
// req.Range, oldest first, each once (Trade.ID is the aggregate id "a").
//
// The range's first and last ids are found by time (within the old < 1 h
// window rule); a long range is then split into sub-windows of about 40
// pages, each sub-window's first id is found by time and the sub-windows
// are drained by id (fromId) concurrently within the rate limit
// (venues.Config.Concurrency, default 8; 1 gives a single cursor). The
// stitched stream passes an id-continuity check: Binance's aggregate ids
// are contiguous, so a hole is a loss. A hole is refetched once by id; what
// stays missing is reported to req.Gap (and logged) and the backfill goes
// on. Trades sharing a millisecond at a page or window seam are neither
// lost nor duplicated, because seams are ids, not times.
func (a *Adapter) BackfillTrades(ctx context.Context, req venues.TradeRequest) iter.Seq2[domain.Trade, error] {
	return func(yield func(domain.Trade, error) bool) {
		fail := func(err error) {
			yield(domain.Trade{}, fmt.Errorf("binance: backfill %s trades %s: %w", req.Symbol, req.Range, err))
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
		startMs, endMs := ceilMillis(r.Start), ceilMillis(r.End)
		if startMs >= endMs {
			return
		}
		b := &boundaries{a: a, sym: vs}
		first, err := b.at(ctx, startMs)
		if err != nil {
			fail(err)
			return
		}
		last, err := b.at(ctx, endMs)
		if err != nil {
			fail(err)
			return
		}
		if first == noID || first >= last {
			a.coverTradesTail(req, r, last)
			return // no trade in the range
		}
		conc := a.concurrency()
		// The sub-windows are laid over the part of the range the venue
		// has answered for; a range reaching past the newest trade ends
		// with an open window (drained until the venue has no more).
		grid := r
		if last == noID {
			grid.End = min(r.End, max(a.serverNow()+int64(time.Minute), r.Start+1))
		}
		parts := 1
		if conc > 1 {
			per := a.opt.windowTrades
			n := last - first
			if last == noID {
				latest, err := a.latestAggID(ctx, vs)
				if err != nil {
					fail(err)
					return
				}
				n = latest - first + 1
			}
			parts = int(min(max((n+per-1)/per, 1), 100000))
		}
		window := domain.CeilNs((grid.End-grid.Start+int64(parts)-1)/int64(parts), int64(time.Millisecond))
		startOf := func(ctx context.Context, w domain.Range) (tradeCursor, error) {
			from, err := b.at(ctx, ceilMillis(w.Start))
			if err != nil {
				return tradeCursor{}, err
			}
			hi := int64(noID)
			if w.End < grid.End || last != noID {
				if hi, err = b.at(ctx, ceilMillis(w.End)); err != nil {
					return tradeCursor{}, err
				}
			}
			if from == noID {
				return tradeCursor{}, nil // empty window
			}
			return tradeCursor{From: from, Hi: hi}, nil
		}
		fetch := func(ctx context.Context, c tradeCursor) (paginate.TradesPage[tradeCursor], error) {
			return a.tradesPage(ctx, vs, c)
		}
		opts := paginate.TradeWindowsOptions{Window: time.Duration(window), Concurrency: conc}
		st := &stitch{a: a, req: req, vs: vs, expect: first, end: last}
		if req.Progress != nil {
			opts.Progress = func(p paginate.Progress) {
				req.Progress(venues.Progress{Items: st.items, Done: int(p.Done), Total: int(p.Total), Position: p.Position})
			}
		}
		opts.Coverage = func(c paginate.Coverage) { st.covered(c.Range) }
		seq := paginate.TradeWindows(ctx, grid, startOf, fetch, opts)
		for t, err := range seq {
			if err != nil {
				fail(err)
				return
			}
			if !st.next(ctx, t, yield) {
				return
			}
		}
		if !st.finish(ctx, yield) {
			return
		}
		if st.err != nil {
			fail(st.err)
		}
	}
}

// coverTradesTail reports an empty range as covered when the venue has
// answered for all of it (its end is not in the future).
func (a *Adapter) coverTradesTail(req venues.TradeRequest, r domain.Range, last int64) {
	if req.Covered == nil {
		return
	}
	if last != noID || r.End <= a.serverNow() {
		req.Covered(r)
	}
}

// tradesPage fetches the page at cursor c: ids [c.From, min(c.From+1000,
// c.Hi)).
func (a *Adapter) tradesPage(ctx context.Context, vs string, c tradeCursor) (paginate.TradesPage[tradeCursor], error) {
	if c.From >= c.Hi {
		return paginate.TradesPage[tradeCursor]{Done: true}, nil
	}
	lim := int64(MaxAggTrades)
	if c.Hi != noID {
		lim = min(lim, c.Hi-c.From)
	}
	rows, err := a.aggTrades(ctx, vs, aggQuery{HasFrom: true, FromID: c.From, Limit: int(lim)})
	if err != nil {
		return paginate.TradesPage[tradeCursor]{}, err
	}
	p := paginate.TradesPage[tradeCursor]{Items: make([]domain.Trade, 0, len(rows))}
	next := c.From
	for _, row := range rows {
		if row.ID < c.From {
			continue // not asked for; a venue bug or a replayed page
		}
		if row.ID >= c.Hi {
			break
		}
		p.Items = append(p.Items, row.Trade)
		next = row.ID + 1
	}
	p.Next = tradeCursor{From: next, Hi: c.Hi}
	// Done: the window's ids are exhausted, or the venue has nothing more
	// (an empty page; a short page when the window is open-ended).
	p.Done = len(rows) == 0 || next >= c.Hi || (c.Hi == noID && int64(len(rows)) < lim) || next == c.From
	return p, nil
}

// stitch checks the stitched stream's id continuity, repairs holes by id
// when the venue can serve them, reports the rest and holds coverage back
// until the trades after a window prove nothing was lost at its end.
type stitch struct {
	a       *Adapter
	req     venues.TradeRequest
	vs      string
	expect  int64 // next id expected
	end     int64 // first id after the range (noID if open)
	items   int64
	last    domain.Trade
	pending []domain.Range
	err     error
}

func (s *stitch) covered(r domain.Range) { s.pending = append(s.pending, r) }

func (s *stitch) flush(upTo int64) {
	for len(s.pending) > 0 && s.pending[0].End <= upTo {
		if s.req.Covered != nil {
			s.req.Covered(s.pending[0])
		}
		s.pending = s.pending[1:]
	}
}

func (s *stitch) emit(t domain.Trade, yield func(domain.Trade, error) bool) bool {
	s.items++
	s.last = t
	return yield(t, nil)
}

// next passes trade t (id parsed from t.ID) through the continuity check.
func (s *stitch) next(ctx context.Context, t domain.Trade, yield func(domain.Trade, error) bool) bool {
	id, err := strconv.ParseInt(t.ID, 10, 64)
	if err != nil {
		s.err = fmt.Errorf("aggregate trade id %q is not an integer", t.ID)
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
	// Everything before t's millisecond is now complete.
	s.flush(t.Time)
	s.expect = id + 1
	return s.emit(t, yield)
}

// repair refetches ids [s.expect, id) by id; what the venue still does not
// serve is reported as a gap.
func (s *stitch) repair(ctx context.Context, id, at int64, yield func(domain.Trade, error) bool) bool {
	for s.expect < id {
		rows, err := s.a.aggTrades(ctx, s.vs, aggQuery{HasFrom: true, FromID: s.expect, Limit: int(min(id-s.expect, MaxAggTrades))})
		if err != nil {
			s.err = err
			return false
		}
		progressed := false
		for _, row := range rows {
			if row.ID != s.expect || row.ID >= id || !s.req.Range.Contains(row.Trade.Time) {
				break
			}
			if !s.emit(row.Trade, yield) {
				return false
			}
			s.expect++
			progressed = true
		}
		if !progressed {
			break
		}
	}
	if s.expect < id {
		s.gap(s.expect, id-1, s.last.Time, at)
		s.pending = dropOverlapping(s.pending, s.last.Time, at)
		s.expect = id
	}
	return true
}

func dropOverlapping(rs []domain.Range, from, to int64) []domain.Range {
	out := rs[:0]
	for _, r := range rs {
		if r.End <= from || r.Start > to {
			out = append(out, r)
		}
	}
	return out
}

func (s *stitch) gap(first, last, from, to int64) {
	g := venues.Gap{
		Symbol:   s.req.Symbol,
		Range:    domain.Range{Start: from, End: to + 1},
		FirstID:  strconv.FormatInt(first, 10),
		LastID:   strconv.FormatInt(last, 10),
		Reason:   (&IDGapError{Symbol: s.req.Symbol.String(), First: first, Last: last, Before: from, After: to}).Error(),
		Reported: time.Now().UnixNano(),
	}
	s.a.log.Warn("binance: aggregate trade ids missing", "symbol", s.req.Symbol.String(), "first_id", first, "last_id", last, "from", domain.FormatNs(from), "to", domain.FormatNs(to))
	if s.req.Gap != nil {
		s.req.Gap(g)
	}
}

// finish checks the range's tail: with a known end id, every id before it
// must have been yielded.
func (s *stitch) finish(ctx context.Context, yield func(domain.Trade, error) bool) bool {
	if s.end != noID && s.expect < s.end {
		end := s.req.Range.End
		if !s.repair(ctx, s.end, end, yield) {
			return false
		}
	}
	if s.end != noID || s.req.Range.End <= s.a.serverNow() {
		s.flush(math.MaxInt64)
	} else {
		// The range reaches past the newest trade: only what the venue
		// has answered up to now is covered.
		now := s.a.serverNow()
		kept := s.pending[:0]
		for _, r := range s.pending {
			if r.Start < now {
				r.End = min(r.End, now)
				kept = append(kept, r)
			}
		}
		s.pending = kept
		s.flush(math.MaxInt64)
	}
	return true
}
