package coinbase

import (
	"context"
	"fmt"
	"iter"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/transport/ws"
	"github.com/pype-go/pype/venues"
)

// prodState is one product of a live stream; it belongs to the stream's
// consumer goroutine.
type prodState struct {
	sym     domain.Symbol
	product string
	last    int64 // trades: last trade id delivered (0: none yet)
	hbAhead int64 // trades: a heartbeat's last_trade_id ahead of last, seen once
	agg     *barAgg
	// books
	seq    int64 // synthetic per-connection sequence (see StreamBooks)
	snap   bool  // a snapshot arrived on the current connection
	live   bool  // last reported state
	snapAt time.Time
}

// resolveProducts maps the request's symbols to product ids (duplicates
// dropped, order kept).
func (a *Adapter) resolveProducts(ctx context.Context, syms []domain.Symbol) ([]*prodState, map[string]*prodState, error) {
	if len(syms) == 0 {
		return nil, nil, fmt.Errorf("coinbase: no symbol to stream (give at least one, e.g. BTC/USD)")
	}
	by := make(map[string]*prodState, len(syms))
	var order []*prodState
	for _, s := range syms {
		p, err := a.VenueSymbol(ctx, s)
		if err != nil {
			return nil, nil, err
		}
		if by[p] != nil {
			continue
		}
		ps := &prodState{sym: s, product: p}
		by[p] = ps
		order = append(order, ps)
	}
	return order, by, nil
}

func productIDs(ps []*prodState) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.product
	}
	return out
}

// tradeFlow keeps each product's trades gapless and in id order: it drops
// duplicates, fills id holes over REST and reports what REST cannot serve.
type tradeFlow struct {
	ctx       context.Context
	a         *Adapter
	byProduct map[string]*prodState
	order     []*prodState
	gapFn     func(venues.Gap)
	deliver   func(ps *prodState, t domain.Trade) bool // in id order
	onGap     func(ps *prodState)
	filled    int64 // trades recovered over REST
}

// match handles a match (or a last_match after a reconnection): a jump in
// ids is filled over REST before the trade is delivered.
func (h *tradeFlow) match(ps *prodState, m *wsMsg, recv int64) bool {
	id := m.Trade.ID
	switch {
	case id <= ps.last:
		return true // already delivered
	case ps.last != 0 && id > ps.last+1:
		if !h.fill(ps, id-1) {
			return false
		}
		if id <= ps.last {
			return true
		}
	}
	ps.last = id
	t := m.Trade.Trade
	t.RecvTime = recv
	return h.deliver(ps, t)
}

// heartbeat compares the heartbeat's last_trade_id with the last trade
// delivered: ahead on two heartbeats in a row (so not just a match in
// flight) means matches were lost, and they are filled over REST. A
// last_trade_id of 0 (the production feed has been seen to send it) is
// ignored.
func (h *tradeFlow) heartbeat(ps *prodState, m *wsMsg) bool {
	if ps.last == 0 || m.LastTradeID <= ps.last {
		ps.hbAhead = 0
		return true
	}
	if ps.hbAhead == 0 {
		ps.hbAhead = m.LastTradeID
		return true
	}
	to := ps.hbAhead
	ps.hbAhead = m.LastTradeID
	return h.fill(ps, to)
}

// fill delivers from REST the trades of ps with ids in (ps.last, to]; to <
// 0 catches up with the newest trade. Pages are walked newest first with
// after= cursors, bounded by the adapter's fill budget; ids REST does not
// serve are reported as a gap.
func (h *tradeFlow) fill(ps *prodState, to int64) bool {
	from := ps.last + 1
	if to >= 0 && to < from {
		return true
	}
	var got []trade
	after, lim := int64(0), MaxTrades
	if to >= 0 {
		after, lim = to+1, int(min(int64(MaxTrades), to-ps.last))
	}
	var ferr error
	for pages := 1; ; pages++ {
		rows, next, err := h.a.tradesPage(h.ctx, ps.product, after, lim)
		if err != nil {
			ferr = err
			break
		}
		for _, r := range rows {
			if r.ID >= from && (to < 0 || r.ID <= to) {
				got = append(got, r)
			}
		}
		if len(rows) == 0 || next <= from || (after > 0 && next >= after) || pages >= h.a.opt.fillPages {
			break
		}
		after, lim = next, int(min(int64(MaxTrades), next-from))
	}
	if ferr != nil {
		if h.ctx.Err() != nil {
			return false
		}
		h.a.log.Warn("coinbase: filling a trade stream hole over REST failed", "symbol", ps.sym.String(), "from_id", from, "err", ferr)
	}
	slices.SortFunc(got, func(x, y trade) int { return cmpInt(x.ID, y.ID) })
	recv := h.a.localNow().UnixNano()
	for _, r := range got {
		if r.ID <= ps.last {
			continue
		}
		if r.ID > ps.last+1 {
			h.gap(ps, ps.last+1, r.ID-1, "trade ids missing from the stream and from REST")
		}
		ps.last = r.ID
		h.filled++
		r.Trade.RecvTime = recv
		if !h.deliver(ps, r.Trade) {
			return false
		}
	}
	if to >= 0 && ps.last < to {
		reason := "trade ids missing from the stream and from REST"
		if ferr != nil {
			reason = "trade ids missing from the stream; REST failed: " + ferr.Error()
		}
		h.gap(ps, ps.last+1, to, reason)
		ps.last = to
	}
	return true
}

func (h *tradeFlow) gap(ps *prodState, first, last int64, reason string) {
	h.a.log.Warn("coinbase: trade ids lost", "symbol", ps.sym.String(), "first_id", first, "last_id", last, "reason", reason)
	if h.onGap != nil {
		h.onGap(ps)
	}
	if h.gapFn != nil {
		h.gapFn(venues.Gap{Symbol: ps.sym, FirstID: strconv.FormatInt(first, 10), LastID: strconv.FormatInt(last, 10),
			Reason: reason, Reported: time.Now().UnixNano()})
	}
}

// resumed catches every product up over REST after a break.
func (h *tradeFlow) resumed() bool {
	for _, ps := range h.order {
		ps.hbAhead = 0
		if ps.last != 0 && !h.fill(ps, -1) {
			return false
		}
	}
	return true
}

// tradeStream is the handler of StreamTrades.
type tradeStream struct {
	tradeFlow
	yield func(venues.TradeEvent, error) bool
}

// StreamTrades streams live trades of req.Symbols from the matches channel
// (with the heartbeat channel as keep-alive and loss detector), all
// products on one connection.
//
// The stream has no gap and no duplicate: Coinbase trade ids are
// contiguous per product, so a jump (a dropped connection, a lost message,
// or a heartbeat whose last_trade_id runs ahead twice in a row) is filled
// over REST by id before the next live trade is yielded, and after a
// reconnection each product is caught up over REST at once. What REST
// cannot serve is reported to req.Gap. The last_match message the feed
// sends on subscribing marks where the stream starts and is not yielded.
// Every trade carries the venue time and its local receive time.
func (a *Adapter) StreamTrades(ctx context.Context, req venues.StreamRequest) iter.Seq2[venues.TradeEvent, error] {
	return func(yield func(venues.TradeEvent, error) bool) {
		order, by, err := a.resolveProducts(ctx, req.Symbols)
		if err != nil {
			yield(venues.TradeEvent{}, fmt.Errorf("coinbase: stream trades: %w", err))
			return
		}
		f, err := a.newFeed("trades", productIDs(order), []string{"matches", "heartbeat"})
		if err != nil {
			yield(venues.TradeEvent{}, err)
			return
		}
		h := &tradeStream{yield: yield}
		h.tradeFlow = tradeFlow{ctx: ctx, a: a, byProduct: by, order: order, gapFn: req.Gap}
		h.deliver = func(ps *prodState, t domain.Trade) bool {
			return yield(venues.TradeEvent{Symbol: ps.sym, Trade: t}, nil)
		}
		if err := f.run(ctx, h); err != nil {
			yield(venues.TradeEvent{}, err)
		}
	}
}

func (h *tradeStream) message(f ws.Frame, m *wsMsg) bool {
	ps := h.byProduct[string(m.Product)]
	if ps == nil {
		return true
	}
	switch m.Kind {
	case msgLastMatch:
		if ps.last == 0 {
			ps.last = m.Trade.ID // where the stream starts
			return true
		}
		return h.match(ps, m, f.Received)
	case msgMatch:
		return h.match(ps, m, f.Received)
	case msgHeartbeat:
		return h.heartbeat(ps, m)
	}
	return true
}

func (h *tradeStream) hole() bool {
	h.a.log.Info("coinbase: trade stream interrupted; the hole will be filled over REST")
	return true
}

func (h *tradeStream) resumed() bool { return h.tradeFlow.resumed() }
func (h *tradeStream) tick() bool    { return true }

// barAgg builds one product's bars from its trades.
type barAgg struct {
	completeFrom int64 // bars opening at or after this hold every trade
	gapPending   bool  // trades were lost: the next trade's bar is incomplete
	has          bool
	bar          domain.OHLCBar
}

// candleStream is the handler of StreamCandles.
type candleStream struct {
	tradeFlow
	req   venues.StreamRequest
	span  domain.Span
	yield func(venues.CandleEvent, error) bool
}

// StreamCandles streams candles of req.Span for req.Symbols. Coinbase
// Exchange has no candle channel, so bars are built locally from the
// matches channel — the same gapless, REST-filled trade flow as
// StreamTrades — and are therefore exact: every closed bar is yielded once,
// in order, when a later trade or a heartbeat (time past the bar's end,
// last_trade_id not ahead) proves it complete. With req.Partial the forming
// bar is yielded after each trade too (Closed false). Bars with no trade
// are not yielded (as /candles omits them). The bar in progress when the
// stream starts is seeded from REST trades (at most WithCandleSeedPages
// pages; skipped when it needs more); a bar touched by trades REST could
// not recover is skipped and reported to req.Gap. OHLCBar.Trades counts the
// bar's trades (REST candles carry no count). Spans are Coinbase's
// granularities (1m 5m 15m 1h 6h 1d).
func (a *Adapter) StreamCandles(ctx context.Context, req venues.StreamRequest) iter.Seq2[venues.CandleEvent, error] {
	return func(yield func(venues.CandleEvent, error) bool) {
		if _, err := Granularity(req.Span); err != nil {
			yield(venues.CandleEvent{}, fmt.Errorf("coinbase: stream candles: %w", err))
			return
		}
		order, by, err := a.resolveProducts(ctx, req.Symbols)
		if err != nil {
			yield(venues.CandleEvent{}, fmt.Errorf("coinbase: stream candles: %w", err))
			return
		}
		for _, ps := range order {
			ps.agg = &barAgg{completeFrom: math.MaxInt64}
		}
		f, err := a.newFeed("candles", productIDs(order), []string{"matches", "heartbeat"})
		if err != nil {
			yield(venues.CandleEvent{}, err)
			return
		}
		h := &candleStream{req: req, span: req.Span, yield: yield}
		h.tradeFlow = tradeFlow{ctx: ctx, a: a, byProduct: by, order: order}
		h.deliver = h.add
		h.onGap = h.lost
		if err := f.run(ctx, h); err != nil {
			yield(venues.CandleEvent{}, err)
		}
	}
}

func (h *candleStream) message(f ws.Frame, m *wsMsg) bool {
	ps := h.byProduct[string(m.Product)]
	if ps == nil {
		return true
	}
	switch m.Kind {
	case msgLastMatch, msgMatch:
		if ps.last == 0 {
			if !h.seed(ps, m) {
				return false
			}
			if m.Kind == msgLastMatch {
				return true
			}
		}
		return h.match(ps, m, f.Received)
	case msgHeartbeat:
		if !h.heartbeat(ps, m) {
			return false
		}
		g := ps.agg
		if g.has && m.Time > 0 && h.span.Next(g.bar.OpenTime) <= m.Time && (m.LastTradeID == 0 || m.LastTradeID <= ps.last) {
			return h.closeBar(ps)
		}
	}
	return true
}

// seed starts a product's bars at the first message: the trades of the
// bar in progress that precede the stream (ids up to a last_match's id, or
// below a first match's id) are read from REST, newest first, until one is
// older than the bar.
func (h *candleStream) seed(ps *prodState, m *wsMsg) bool {
	g := ps.agg
	first := m.Trade.ID
	after := first
	if m.Kind == msgLastMatch {
		after = first + 1
	}
	open := h.span.Floor(max(h.a.serverNow(), m.Trade.Trade.Time))
	var got []trade
	complete := true
	if m.Trade.Trade.Time >= open || m.Kind == msgMatch {
		complete = false
		for pages := 0; pages < h.a.opt.seedPages && after > 1; pages++ {
			rows, next, err := h.a.tradesPage(h.ctx, ps.product, after, MaxTrades)
			if err != nil {
				if h.ctx.Err() != nil {
					return false
				}
				h.a.log.Warn("coinbase: seeding the first candle over REST failed; it is skipped", "symbol", ps.sym.String(), "err", err)
				break
			}
			older := len(rows) == 0
			for _, r := range rows {
				if r.Trade.Time >= open {
					got = append(got, r)
				} else {
					older = true
				}
			}
			if older {
				complete = true
				break
			}
			after = next
		}
	}
	ps.last = first - 1
	if m.Kind == msgLastMatch {
		ps.last = first
	}
	if !complete {
		g.completeFrom = h.span.Next(open)
		return true
	}
	g.completeFrom = open
	slices.SortFunc(got, func(x, y trade) int { return cmpInt(x.ID, y.ID) })
	recv := h.a.localNow().UnixNano()
	for _, r := range got {
		r.Trade.RecvTime = recv
		if !h.add(ps, r.Trade) {
			return false
		}
	}
	return true
}

// add puts one trade (in id order) into its bar, closing the previous bar
// when the trade opens a new one.
func (h *candleStream) add(ps *prodState, t domain.Trade) bool {
	g := ps.agg
	o := h.span.Floor(t.Time)
	if g.gapPending {
		g.completeFrom = max(g.completeFrom, h.span.Next(o))
		g.gapPending = false
	}
	if g.has && o < g.bar.OpenTime {
		h.a.log.Warn("coinbase: trade older than its bar ignored", "symbol", ps.sym.String(), "trade", t.ID)
		return true
	}
	if g.has && o > g.bar.OpenTime {
		if !h.closeBar(ps) {
			return false
		}
	}
	if !g.has {
		g.has = true
		g.bar = domain.OHLCBar{OpenTime: o, Open: t.Price, High: t.Price, Low: t.Price, Close: t.Price, Volume: t.Amount, Trades: 1}
	} else {
		b := &g.bar
		if t.Price.Cmp(b.High) > 0 {
			b.High = t.Price
		}
		if t.Price.Cmp(b.Low) < 0 {
			b.Low = t.Price
		}
		b.Close = t.Price
		v, err := b.Volume.Add(t.Amount)
		if err != nil {
			h.a.log.Warn("coinbase: candle volume overflow; bar skipped", "symbol", ps.sym.String(), "err", err)
			g.completeFrom = max(g.completeFrom, h.span.Next(o))
		}
		b.Volume = v
		b.Trades++
	}
	g.bar.RecvTime = t.RecvTime
	if h.req.Partial && g.bar.OpenTime >= g.completeFrom {
		return h.yield(venues.CandleEvent{Symbol: ps.sym, Span: h.span, Bar: g.bar}, nil)
	}
	return true
}

// closeBar yields the current bar as closed if it is complete.
func (h *candleStream) closeBar(ps *prodState) bool {
	g := ps.agg
	if !g.has {
		return true
	}
	g.has = false
	if g.bar.OpenTime < g.completeFrom {
		return true
	}
	b := g.bar
	b.Closed = true
	return h.yield(venues.CandleEvent{Symbol: ps.sym, Span: h.span, Bar: b}, nil)
}

// lost marks the bars touched by lost trades incomplete and reports them.
func (h *candleStream) lost(ps *prodState) {
	g := ps.agg
	if g.has {
		g.completeFrom = max(g.completeFrom, h.span.Next(g.bar.OpenTime))
		if h.req.Gap != nil {
			h.req.Gap(venues.Gap{Symbol: ps.sym, Range: domain.Range{Start: g.bar.OpenTime, End: h.span.Next(g.bar.OpenTime)},
				Reason: "candle skipped: trades lost from the stream and from REST", Reported: time.Now().UnixNano()})
		}
	}
	g.gapPending = true
}

func (h *candleStream) hole() bool    { return true }
func (h *candleStream) resumed() bool { return h.tradeFlow.resumed() }
func (h *candleStream) tick() bool    { return true }
