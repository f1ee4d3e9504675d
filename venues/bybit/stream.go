package bybit

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/transport/ws"
	"github.com/pype-go/pype/venues"
)

// streamSym is one symbol of a live stream.
type streamSym struct {
	sym   domain.Symbol
	cat   Category
	vs    string // Bybit name
	topic string
	conn  *wsConn
	// trades
	started  bool
	lastTime int64
	lastID   string
	seen     idRing
	awaiting bool           // reconnected: refill once the subscription is acknowledged
	held     []domain.Trade // live trades received while awaiting
	// candles: last closed bar's open time
	last int64
	// books: last reported state
	live bool
}

type symKey struct {
	cat Category
	vs  string
}

// resolveTopics maps the request's symbols to topics, per category.
func (a *Adapter) resolveTopics(ctx context.Context, syms []domain.Symbol, topic func(cat Category, vs string) (string, error)) (map[Category][]string, map[symKey]*streamSym, []*streamSym, error) {
	if len(syms) == 0 {
		return nil, nil, nil, fmt.Errorf("bybit: no symbol to stream (give at least one, e.g. BTC/USDT or BTC/USDT:perp)")
	}
	topics := map[Category][]string{}
	bySym := make(map[symKey]*streamSym, len(syms))
	var order []*streamSym
	for _, s := range syms {
		cat, vs, err := a.VenueSymbol(ctx, s)
		if err != nil {
			return nil, nil, nil, err
		}
		k := symKey{cat, vs}
		if _, dup := bySym[k]; dup {
			continue
		}
		t, err := topic(cat, vs)
		if err != nil {
			return nil, nil, nil, err
		}
		ss := &streamSym{sym: s, cat: cat, vs: vs, topic: t}
		bySym[k] = ss
		order = append(order, ss)
		topics[cat] = append(topics[cat], t)
	}
	return topics, bySym, order, nil
}

// bind records each symbol's connection.
func bind(m *mux, order []*streamSym) {
	for _, ss := range order {
		ss.conn = m.byTopic[string(ss.cat)+"|"+ss.topic]
	}
}

// idRing remembers the last ringSize trade ids, to drop trades seen twice.
type idRing struct {
	ids []string
	pos int
	set map[string]struct{}
}

const ringSize = 4096

func (r *idRing) has(id string) bool { _, ok := r.set[id]; return ok }

func (r *idRing) add(id string) {
	if r.set == nil {
		r.set = make(map[string]struct{}, ringSize)
		r.ids = make([]string, 0, ringSize)
	}
	if len(r.ids) < ringSize {
		r.ids = append(r.ids, id)
	} else {
		delete(r.set, r.ids[r.pos])
		r.ids[r.pos] = id
		r.pos = (r.pos + 1) % ringSize
	}
	r.set[id] = struct{}{}
}

// tradeStream is the handler of StreamTrades.
type tradeStream struct {
	ctx     context.Context
	a       *Adapter
	req     venues.StreamRequest
	bySym   map[symKey]*streamSym
	order   []*streamSym
	yield   func(venues.TradeEvent, error) bool
	buf     []domain.Trade
	filled  int64 // trades recovered over REST
	emitted int64 // trades yielded
}

// StreamTrades streams live trades of req.Symbols (spot and derivatives
// may be mixed) from publicTrade.<SYM>, each trade once (duplicates are
// dropped by trade id). Bybit trade ids are not contiguous, so a hole can
// only come from a broken connection: after every reconnection each symbol
// is refilled from /v5/market/recent-trade (the latest 60 spot / 1000
// derivative trades) before new live trades are yielded, and when those do
// not reach back to the last trade seen, the possibly missing range is
// reported to req.Gap (the trades are in Bybit's public archive). Every
// trade carries the venue time and its local receive time.
func (a *Adapter) StreamTrades(ctx context.Context, req venues.StreamRequest) iter.Seq2[venues.TradeEvent, error] {
	return func(yield func(venues.TradeEvent, error) bool) {
		topics, bySym, order, err := a.resolveTopics(ctx, req.Symbols, func(_ Category, vs string) (string, error) {
			return "publicTrade." + vs, nil
		})
		if err != nil {
			yield(venues.TradeEvent{}, fmt.Errorf("bybit: stream trades: %w", err))
			return
		}
		m, err := a.newMux("trades", topics)
		if err != nil {
			yield(venues.TradeEvent{}, err)
			return
		}
		bind(m, order)
		h := &tradeStream{ctx: ctx, a: a, req: req, bySym: bySym, order: order, yield: yield}
		if err := m.run(ctx, h); err != nil {
			yield(venues.TradeEvent{}, err)
		}
	}
}

func (h *tradeStream) data(c *wsConn, f ws.Frame, fr *wsFrame) bool {
	kind, _, vs := splitTopic(fr.Topic)
	if kind != "publicTrade" {
		return true
	}
	ss := h.bySym[symKey{c.cat, vs}]
	if ss == nil {
		return true
	}
	var err error
	h.buf, _, err = parseTrades(fr.Data, h.buf[:0])
	if err != nil {
		h.a.log.Warn("bybit: undecodable trade message skipped", "symbol", ss.sym.String(), "err", err)
		return true
	}
	if ss.awaiting {
		for _, t := range h.buf {
			t.RecvTime = f.Received
			ss.held = append(ss.held, t)
		}
		if len(ss.held) > maxHeld {
			return h.refill(ss) // the acknowledgement is overdue
		}
		return true
	}
	for _, t := range h.buf {
		t.RecvTime = f.Received
		if !h.emit(ss, t) {
			return false
		}
	}
	return true
}

// emit yields t unless it was yielded before.
func (h *tradeStream) emit(ss *streamSym, t domain.Trade) bool {
	if ss.seen.has(t.ID) {
		return true
	}
	ss.seen.add(t.ID)
	ss.started = true
	h.emitted++
	if t.Time >= ss.lastTime {
		ss.lastTime, ss.lastID = t.Time, t.ID
	}
	return h.yield(venues.TradeEvent{Symbol: ss.sym, Trade: t}, nil)
}

func (h *tradeStream) hole(c *wsConn) bool {
	h.a.log.Info("bybit: trade stream interrupted; the hole will be refilled over REST", "category", c.cat, "connection", c.idx)
	return true
}

// maxHeld bounds the live trades held back while waiting for a
// subscription acknowledgement.
const maxHeld = 20_000

// resumed marks every started symbol of c for a refill from recent-trade,
// done when the venue acknowledges the new subscription: a refill fetched
// before the subscription took effect could miss the trades in between.
func (h *tradeStream) resumed(c *wsConn) bool {
	for _, ss := range h.order {
		if ss.conn == c && ss.started {
			ss.awaiting, ss.held = true, ss.held[:0]
		}
	}
	return true
}

// subscribed refills the acknowledged topics' symbols, then replays the
// live trades held meanwhile (duplicates are dropped by id).
func (h *tradeStream) subscribed(c *wsConn, topics []string) bool {
	for _, ss := range h.order {
		if ss.conn == c && ss.awaiting && slices.Contains(topics, ss.topic) && !h.refill(ss) {
			return false
		}
	}
	return true
}

func (h *tradeStream) refill(ss *streamSym) bool {
	ss.awaiting = false
	if !h.fill(ss) {
		return false
	}
	held := ss.held
	ss.held = nil
	for _, t := range held {
		if !h.emit(ss, t) {
			return false
		}
	}
	return true
}

// fill yields the trades after ss's last one that recent-trade still
// serves, and reports a gap when it does not reach back that far.
func (h *tradeStream) fill(ss *streamSym) bool {
	maxN := maxRecent(ss.cat)
	trades, err := h.a.recentTrades(h.ctx, ss.cat, ss.vs, maxN)
	now := h.a.localNow().UnixNano()
	if err != nil {
		if h.ctx.Err() != nil {
			return false
		}
		h.a.log.Warn("bybit: refilling a trade stream hole over REST failed", "symbol", ss.sym.String(), "err", err)
		h.gap(ss, domain.Range{Start: ss.lastTime, End: max(h.a.serverNow(), ss.lastTime+1)}, "trades possibly missed during a reconnection; refilling over REST failed: "+err.Error())
		return true
	}
	complete := len(trades) < maxN
	for _, t := range trades {
		complete = complete || t.ID == ss.lastID
	}
	if len(trades) > 0 && trades[0].Time < ss.lastTime {
		complete = true
	}
	if !complete && len(trades) > 0 {
		h.gap(ss, domain.Range{Start: ss.lastTime, End: trades[0].Time + int64(time.Millisecond)},
			fmt.Sprintf("trades possibly missed during a reconnection: recent-trade serves only the latest %d; see %s", maxN, ArchiveURL))
	}
	from := ss.lastTime
	for _, t := range trades {
		if t.Time < from {
			continue
		}
		t.RecvTime = now
		before := h.emitted
		if !h.emit(ss, t) {
			return false
		}
		h.filled += h.emitted - before
	}
	return true
}

func (h *tradeStream) gap(ss *streamSym, r domain.Range, reason string) {
	h.a.log.Warn("bybit: trades possibly missing from the stream", "symbol", ss.sym.String(),
		"from", domain.FormatNs(r.Start), "to", domain.FormatNs(r.End))
	if h.req.Gap != nil {
		h.req.Gap(venues.Gap{Symbol: ss.sym, Range: r, Reason: reason, Reported: time.Now().UnixNano()})
	}
}

// candleStream is the handler of StreamCandles.
type candleStream struct {
	ctx   context.Context
	a     *Adapter
	req   venues.StreamRequest
	iv    string
	bySym map[symKey]*streamSym
	order []*streamSym
	yield func(venues.CandleEvent, error) bool
}

// StreamCandles streams candles of req.Span for req.Symbols from
// kline.<interval>.<SYM>: every closed bar (confirm = true) once, in
// order, and with req.Partial also the forming bar's updates (Closed
// false). Closed bars missed while a connection was down are fetched over
// REST before the next one is yielded.
func (a *Adapter) StreamCandles(ctx context.Context, req venues.StreamRequest) iter.Seq2[venues.CandleEvent, error] {
	return func(yield func(venues.CandleEvent, error) bool) {
		iv, err := Interval(req.Span)
		if err != nil {
			yield(venues.CandleEvent{}, fmt.Errorf("bybit: stream candles: %w", err))
			return
		}
		topics, bySym, order, err := a.resolveTopics(ctx, req.Symbols, func(_ Category, vs string) (string, error) {
			return "kline." + iv + "." + vs, nil
		})
		if err != nil {
			yield(venues.CandleEvent{}, fmt.Errorf("bybit: stream candles: %w", err))
			return
		}
		m, err := a.newMux("candles", topics)
		if err != nil {
			yield(venues.CandleEvent{}, err)
			return
		}
		bind(m, order)
		h := &candleStream{ctx: ctx, a: a, req: req, iv: iv, bySym: bySym, order: order, yield: yield}
		if err := m.run(ctx, h); err != nil {
			yield(venues.CandleEvent{}, err)
		}
	}
}

func (h *candleStream) data(c *wsConn, f ws.Frame, fr *wsFrame) bool {
	kind, iv, vs := splitTopic(fr.Topic)
	if kind != "kline" || iv != h.iv {
		return true
	}
	ss := h.bySym[symKey{c.cat, vs}]
	if ss == nil {
		return true
	}
	bars, err := parseKlineData(fr.Data, c.cat)
	if err != nil {
		h.a.log.Warn("bybit: undecodable kline message skipped", "symbol", ss.sym.String(), "err", err)
		return true
	}
	for _, bar := range bars {
		bar.RecvTime = f.Received
		if !h.emit(ss, bar) {
			return false
		}
	}
	return true
}

func (h *candleStream) emit(ss *streamSym, bar domain.OHLCBar) bool {
	if !bar.Closed {
		if !h.req.Partial || (ss.last != 0 && bar.OpenTime <= ss.last) {
			return true
		}
		return h.yield(venues.CandleEvent{Symbol: ss.sym, Span: h.req.Span, Bar: bar}, nil)
	}
	switch {
	case ss.last != 0 && bar.OpenTime <= ss.last:
		return true // duplicate
	case ss.last != 0 && bar.OpenTime > h.req.Span.Next(ss.last):
		if !h.fill(ss, bar.OpenTime, true) {
			return false
		}
	}
	ss.last = bar.OpenTime
	return h.yield(venues.CandleEvent{Symbol: ss.sym, Span: h.req.Span, Bar: bar}, nil)
}

// fill yields the closed bars of ss opening in (ss.last, to) from REST.
// When to is the open of a bar the venue confirmed, every bar before it is
// closed, whatever the local estimate of the venue's clock says.
func (h *candleStream) fill(ss *streamSym, to int64, confirmed bool) bool {
	from := h.req.Span.Next(ss.last)
	for from < to {
		bars, err := h.a.klinesBack(h.ctx, ss.cat, ss.vs, h.iv, h.req.Span, domain.Range{Start: from, End: to}, MaxKlines)
		if err != nil {
			if h.ctx.Err() != nil {
				return false
			}
			h.a.log.Warn("bybit: filling a candle stream hole over REST failed", "symbol", ss.sym.String(), "err", err)
			if h.req.Gap != nil {
				h.req.Gap(venues.Gap{Symbol: ss.sym, Range: domain.Range{Start: from, End: to},
					Reason: "candles missing after a stream interruption: " + err.Error(), Reported: time.Now().UnixNano()})
			}
			return true
		}
		slices.SortFunc(bars, func(x, y domain.OHLCBar) int { return compareInt(x.OpenTime, y.OpenTime) })
		now := h.a.localNow().UnixNano()
		n := 0
		for _, b := range bars {
			if b.OpenTime < from || b.OpenTime >= to || (!b.Closed && !confirmed) || b.OpenTime <= ss.last {
				continue
			}
			b.Closed = true
			b.RecvTime = now
			ss.last = b.OpenTime
			n++
			if !h.yield(venues.CandleEvent{Symbol: ss.sym, Span: h.req.Span, Bar: b}, nil) {
				return false
			}
		}
		if n == 0 || len(bars) < MaxKlines {
			return true
		}
		from = h.req.Span.Next(ss.last)
	}
	return true
}

func (h *candleStream) hole(*wsConn) bool { return true }

func (h *candleStream) subscribed(*wsConn, []string) bool { return true }

// resumed catches up the closed bars missed during a break.
func (h *candleStream) resumed(c *wsConn) bool {
	now := h.a.serverNow()
	for _, ss := range h.order {
		if ss.conn == c && ss.last != 0 && !h.fill(ss, h.req.Span.Floor(now), false) {
			return false
		}
	}
	return true
}
