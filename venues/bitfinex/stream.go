package bitfinex

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/venues"
)

// streamSym is one symbol of a live stream.
type streamSym struct {
	sym   domain.Symbol
	vs    string
	spec  *channelSpec
	shard *shard

	// trades
	init   bool
	lastID int64
	lastMs int64

	// candles
	cur    domain.OHLCBar
	hasCur bool
	last   int64 // open time of the last closed bar yielded, 0 if none
	verify bool  // a frame may have been lost: take the next closed bars from REST

	// books
	live bool
	// update frames applied but not reported yet: since when, and when
	// the last one was handled (local clock)
	pending             bool
	pendIdx             int // index in the stream's held list
	pendSince, pendSeen time.Time
	csSeen              bool   // the channel sends checksums on this connection
	shown               [2]int // bids, asks in the last live report
}

// resolve maps the request's symbols to channel specs, one per symbol.
func (a *Adapter) resolve(ctx context.Context, syms []domain.Symbol, spec func(vs string) *channelSpec) ([]*streamSym, []*channelSpec, error) {
	if len(syms) == 0 {
		return nil, nil, fmt.Errorf("no symbol to stream (give at least one, e.g. BTC/USD)")
	}
	seen := map[string]bool{}
	var out []*streamSym
	var specs []*channelSpec
	for _, s := range syms {
		vs, err := a.VenueSymbol(ctx, s)
		if err != nil {
			return nil, nil, err
		}
		if seen[vs] {
			continue
		}
		seen[vs] = true
		c := spec(vs)
		c.idx = len(out)
		out = append(out, &streamSym{sym: s, vs: vs, spec: c})
		specs = append(specs, c)
	}
	return out, specs, nil
}

// attach records each symbol's shard.
func attach(m *connMux, syms []*streamSym) {
	for _, ss := range syms {
		ss.shard = m.shardOf(ss.spec)
	}
}

func onShard(syms []*streamSym, sh *shard) iter.Seq[*streamSym] {
	return func(yield func(*streamSym) bool) {
		for _, ss := range syms {
			if ss.shard == sh && !yield(ss) {
				return
			}
		}
	}
}

// tradeStream is the handler of StreamTrades.
type tradeStream struct {
	ctx    context.Context
	a      *Adapter
	req    venues.StreamRequest
	syms   []*streamSym
	yield  func(venues.TradeEvent, error) bool
	rows   []tradeRow
	filled int64 // trades recovered over REST
}

// StreamTrades streams live trades of req.Symbols from the trades channel,
// up to 25 symbols per connection.
//
// Each trade is yielded once: Bitfinex sends it as "te" when executed and
// again as "tu" once written; trade ids increase over time, so anything at
// or below the last id yielded is dropped. The snapshot sent on subscribing
// (the latest trades) only sets the starting point. After a dropped
// connection, a maintenance pause or a SEQ_ALL sequence gap, the hole is
// filled over REST (GET /trades/{sym}/hist from the millisecond of the last
// trade yielded, ids above it) before live trades resume. What REST cannot
// serve is reported to req.Gap. Every trade carries the venue time and its
// local receive time.
func (a *Adapter) StreamTrades(ctx context.Context, req venues.StreamRequest) iter.Seq2[venues.TradeEvent, error] {
	return func(yield func(venues.TradeEvent, error) bool) {
		syms, specs, err := a.resolve(ctx, req.Symbols, func(vs string) *channelSpec {
			return &channelSpec{key: "trades:" + vs, channel: "trades", target: vs, msg: subscribeMsg("channel", "trades", "symbol", vs)}
		})
		if err != nil {
			yield(venues.TradeEvent{}, fmt.Errorf("bitfinex: stream trades: %w", err))
			return
		}
		m, err := a.newConnMux("trades", specs)
		if err != nil {
			yield(venues.TradeEvent{}, err)
			return
		}
		attach(m, syms)
		h := &tradeStream{ctx: ctx, a: a, req: req, syms: syms, yield: yield}
		if err := m.run(ctx, h); err != nil {
			yield(venues.TradeEvent{}, err)
		}
	}
}

func (h *tradeStream) connected(sh *shard, first bool) bool {
	if first {
		return true
	}
	return h.fillShard(sh)
}

func (h *tradeStream) hole(sh *shard) bool {
	h.a.log.Info("bitfinex: trade stream interrupted; the hole will be filled over REST", "connection", sh.id)
	return true
}

func (h *tradeStream) gap(sh *shard) bool { return h.fillShard(sh) }

func (h *tradeStream) fillShard(sh *shard) bool {
	for ss := range onShard(h.syms, sh) {
		if ss.init && !h.fill(ss) {
			return false
		}
	}
	return true
}

func (h *tradeStream) subscribed(*shard, *channelSpec) bool { return true }

func (h *tradeStream) frame(_ *shard, c *channelSpec, f *wsFrame, recv int64) bool {
	ss := h.syms[c.idx]
	switch f.Kind {
	case fkSnapshot:
		rows, err := parseTradeRows(f.Payload, h.rows[:0])
		h.rows = rows
		if err != nil {
			h.a.log.Warn("bitfinex: undecodable trades snapshot skipped", "symbol", ss.sym.String(), "err", err)
			return true
		}
		slices.SortFunc(rows, func(x, y tradeRow) int { return cmp.Or(cmp.Compare(x.Ms, y.Ms), cmp.Compare(x.ID, y.ID)) })
		if !ss.init {
			ss.init = true
			ss.lastMs = domain.NanosToMillis(h.a.nowNs())
			if n := len(rows); n > 0 {
				ss.lastID, ss.lastMs = rows[n-1].ID, rows[n-1].Ms
			}
			return true
		}
		for _, r := range rows {
			if !h.emit(ss, r, recv) {
				return false
			}
		}
	case fkTradeExec, fkTradeUpd:
		r, err := parseTradePayload(f.Payload)
		if err != nil {
			h.a.log.Warn("bitfinex: undecodable trade skipped", "symbol", ss.sym.String(), "err", err)
			return true
		}
		ss.init = true
		return h.emit(ss, r, recv)
	}
	return true
}

// emit yields r unless a trade with its id or a later one was yielded.
func (h *tradeStream) emit(ss *streamSym, r tradeRow, recv int64) bool {
	if r.ID <= ss.lastID {
		return true
	}
	ss.lastID, ss.lastMs = r.ID, r.Ms
	t := r.Trade
	t.RecvTime = recv
	return h.yield(venues.TradeEvent{Symbol: ss.sym, Trade: t}, nil)
}

// fill yields ss's trades after its last one from REST, up to now.
func (h *tradeStream) fill(ss *streamSym) bool {
	from := ss.lastMs
	endMs := domain.NanosToMillis(h.a.nowNs()) + 1000 // allow for clock error
	c := tradeCursor{Ms: from, EndMs: endMs}
	for pages := 0; ; pages++ {
		p, err := h.a.tradesPage(h.ctx, ss.vs, c)
		if err != nil {
			if h.ctx.Err() != nil {
				return false
			}
			h.a.log.Warn("bitfinex: filling a trade stream hole over REST failed", "symbol", ss.sym.String(), "from_ms", from, "err", err)
			if h.req.Gap != nil {
				h.req.Gap(venues.Gap{Symbol: ss.sym, Range: domain.Range{Start: domain.MillisToNanos(from), End: domain.MillisToNanos(endMs)},
					Reason: "trades missing after a stream interruption: " + err.Error(), Reported: time.Now().UnixNano()})
			}
			return true
		}
		now := h.a.nowNs()
		for _, t := range p.Items {
			id, err := strconv.ParseInt(t.ID, 10, 64)
			if err != nil {
				continue
			}
			if !h.emit(ss, tradeRow{ID: id, Ms: domain.NanosToMillis(t.Time), Trade: t}, now) {
				return false
			}
			h.filled++
		}
		if p.Done || pages > 10000 {
			return true
		}
		c = p.Next
	}
}

// candleStream is the handler of StreamCandles.
type candleStream struct {
	ctx   context.Context
	a     *Adapter
	req   venues.StreamRequest
	tf    string
	syms  []*streamSym
	yield func(venues.CandleEvent, error) bool
	rows  []candleRow
}

// StreamCandles streams candles of req.Span for req.Symbols from the
// candles channel (key trade:{tf}:{sym}): every closed bar once, in order,
// and with req.Partial also the forming bar's updates (Closed false).
//
// Bitfinex marks no bar as closed: a bar is closed when an update of a
// later bar arrives (so a bar is yielded once the next trade happens — in
// a quiet market that can be long after it ended). Bars with no trade do
// not exist on Bitfinex. After a reconnection, a maintenance pause or a
// sequence gap, the closed bars since the last one yielded are taken from
// REST (GET /candles/…/hist), since the stream's last update of a bar may
// have been lost.
func (a *Adapter) StreamCandles(ctx context.Context, req venues.StreamRequest) iter.Seq2[venues.CandleEvent, error] {
	return func(yield func(venues.CandleEvent, error) bool) {
		tf, err := Timeframe(req.Span)
		if err != nil {
			yield(venues.CandleEvent{}, fmt.Errorf("bitfinex: stream candles: %w", err))
			return
		}
		syms, specs, err := a.resolve(ctx, req.Symbols, func(vs string) *channelSpec {
			key := "trade:" + tf + ":" + vs
			return &channelSpec{key: "candles:" + key, channel: "candles", target: key, msg: subscribeMsg("channel", "candles", "key", key)}
		})
		if err != nil {
			yield(venues.CandleEvent{}, fmt.Errorf("bitfinex: stream candles: %w", err))
			return
		}
		m, err := a.newConnMux("candles", specs)
		if err != nil {
			yield(venues.CandleEvent{}, err)
			return
		}
		attach(m, syms)
		h := &candleStream{ctx: ctx, a: a, req: req, tf: tf, syms: syms, yield: yield}
		if err := m.run(ctx, h); err != nil {
			yield(venues.CandleEvent{}, err)
		}
	}
}

func (h *candleStream) connected(sh *shard, first bool) bool {
	if !first {
		h.markShard(sh)
	}
	return true
}

func (h *candleStream) hole(*shard) bool { return true }

func (h *candleStream) gap(sh *shard) bool { h.markShard(sh); return true }

func (h *candleStream) markShard(sh *shard) {
	for ss := range onShard(h.syms, sh) {
		ss.verify = true
	}
}

func (h *candleStream) subscribed(*shard, *channelSpec) bool { return true }

func (h *candleStream) frame(_ *shard, c *channelSpec, f *wsFrame, recv int64) bool {
	ss := h.syms[c.idx]
	switch f.Kind {
	case fkSnapshot:
		rows, err := parseCandleRows(f.Payload, h.rows[:0])
		h.rows = rows
		if err != nil {
			h.a.log.Warn("bitfinex: undecodable candles snapshot skipped", "symbol", ss.sym.String(), "err", err)
			return true
		}
		if len(rows) == 0 {
			return true
		}
		slices.SortFunc(rows, func(x, y candleRow) int { return cmp.Compare(x.Ms, y.Ms) })
		newest := rows[len(rows)-1].Bar
		newest.RecvTime = recv
		if !ss.hasCur {
			ss.cur, ss.hasCur = newest, true
			return h.partial(ss)
		}
		// A resubscription: take the bars closed meanwhile from REST.
		if newest.OpenTime > ss.cur.OpenTime {
			if !h.fill(ss, newest.OpenTime) {
				return false
			}
		}
		if newest.OpenTime >= ss.cur.OpenTime {
			ss.cur = newest
		}
		ss.verify = false
		return h.partial(ss)
	case fkUpdate:
		r, err := parseCandlePayload(f.Payload)
		if err != nil {
			h.a.log.Warn("bitfinex: undecodable candle skipped", "symbol", ss.sym.String(), "err", err)
			return true
		}
		bar := r.Bar
		bar.RecvTime = recv
		switch {
		case !ss.hasCur:
			ss.cur, ss.hasCur = bar, true
		case bar.OpenTime == ss.cur.OpenTime:
			ss.cur = bar
		case bar.OpenTime > ss.cur.OpenTime:
			if ss.verify {
				if !h.fill(ss, bar.OpenTime) {
					return false
				}
				ss.verify = false
			} else if ss.cur.OpenTime > ss.last {
				closed := ss.cur
				closed.Closed = true
				ss.last = closed.OpenTime
				if !h.yield(venues.CandleEvent{Symbol: ss.sym, Span: h.req.Span, Bar: closed}, nil) {
					return false
				}
			}
			ss.cur = bar
		default:
			return true // an update of a bar already closed
		}
		return h.partial(ss)
	}
	return true
}

func (h *candleStream) partial(ss *streamSym) bool {
	if !h.req.Partial || ss.cur.OpenTime <= ss.last {
		return true
	}
	return h.yield(venues.CandleEvent{Symbol: ss.sym, Span: h.req.Span, Bar: ss.cur}, nil)
}

// fill yields the closed bars of ss opening before to and after the last
// one yielded, from REST.
func (h *candleStream) fill(ss *streamSym, to int64) bool {
	span := h.req.Span
	from := ss.cur.OpenTime
	if ss.last != 0 {
		from = span.Next(ss.last)
	}
	for from < to {
		bars, err := h.a.candles(h.ctx, ss.vs, h.tf, span, domain.Range{Start: from, End: to}, 0)
		if err != nil {
			if h.ctx.Err() != nil {
				return false
			}
			h.a.log.Warn("bitfinex: filling a candle stream hole over REST failed", "symbol", ss.sym.String(), "err", err)
			if h.req.Gap != nil {
				h.req.Gap(venues.Gap{Symbol: ss.sym, Range: domain.Range{Start: from, End: to}, Reason: "candles missing after a stream interruption: " + err.Error(), Reported: time.Now().UnixNano()})
			}
			return true
		}
		now := h.a.nowNs()
		n := 0
		for _, b := range bars {
			if b.OpenTime < from || b.OpenTime >= to {
				continue
			}
			b.Closed, b.RecvTime = true, now
			ss.last = b.OpenTime
			n++
			if !h.yield(venues.CandleEvent{Symbol: ss.sym, Span: span, Bar: b}, nil) {
				return false
			}
		}
		if n == 0 || len(bars) < h.a.opt.candlesLimit {
			return true
		}
		from = span.Next(ss.last)
	}
	return true
}
