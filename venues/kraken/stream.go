package kraken

import (
	"context"
	"fmt"
	"iter"
	"math"
	"strconv"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/transport/ws"
	"github.com/pype-go/pype/venues"
)

// streamSym is one symbol of a live stream.
type streamSym struct {
	sym  domain.Symbol
	pair Pair
	v2   string
	// trades
	lastID   int64
	lastTime int64
	noContig bool // trade ids proved not contiguous: detect holes by connection only
	// candles
	cur        domain.OHLCBar
	hasCur     bool
	lastClosed int64 // open time of the last closed bar yielded (ns)
	suspect    bool  // a hole happened since lastClosed: fill from REST
	curStale   bool  // cur may lack updates lost in a hole
	// books
	live bool
}

// resolveStreams maps the request's symbols to Kraken pairs (checked
// against AssetPairs), keyed by WebSocket v2 name.
func (a *Adapter) resolveStreams(ctx context.Context, syms []domain.Symbol) ([]*streamSym, map[string]*streamSym, error) {
	if len(syms) == 0 {
		return nil, nil, fmt.Errorf("kraken: no symbol to stream (give at least one, e.g. BTC/USD)")
	}
	by := make(map[string]*streamSym, len(syms))
	var order []*streamSym
	for _, s := range syms {
		p, err := a.Pair(ctx, s)
		if err != nil {
			return nil, nil, err
		}
		v2 := p.V2Name()
		if by[v2] != nil {
			continue
		}
		ss := &streamSym{sym: s, pair: p, v2: v2}
		by[v2] = ss
		order = append(order, ss)
	}
	return order, by, nil
}

func v2Names(ss []*streamSym) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.v2
	}
	return out
}

func boolPtr(b bool) *bool { return &b }

// noID marks an open upper bound for a REST fill: catch up with the newest
// trade.
const noID = math.MaxInt64

// tradeStream is the handler of StreamTrades.
type tradeStream struct {
	ctx    context.Context
	a      *Adapter
	req    venues.StreamRequest
	syms   []*streamSym
	bySym  map[string]*streamSym
	yield  func(venues.TradeEvent, error) bool
	filled int64 // trades recovered over REST
}

// StreamTrades streams live trades of req.Symbols over one WebSocket v2
// connection (channel trade).
//
// The stream has no gap and no duplicate: Kraken's trade ids are
// sequential per pair, so a jump (a lost message) is filled over REST
// Trades before the next live trade is yielded, and after a reconnection
// every symbol is caught up over REST at once; trades seen twice are
// dropped by id. If a pair's ids turn out not to be contiguous (a jump with
// nothing in between over REST), only reconnections trigger fills for it.
// What REST cannot serve is reported to req.Gap. Every trade carries the
// venue time and its local receive time.
func (a *Adapter) StreamTrades(ctx context.Context, req venues.StreamRequest) iter.Seq2[venues.TradeEvent, error] {
	return func(yield func(venues.TradeEvent, error) bool) {
		syms, by, err := a.resolveStreams(ctx, req.Symbols)
		if err != nil {
			yield(venues.TradeEvent{}, fmt.Errorf("kraken: stream trades: %w", err))
			return
		}
		c, err := a.newConn("trades", []subscription{{Channel: "trade", Symbol: v2Names(syms), Snapshot: boolPtr(false)}})
		if err != nil {
			yield(venues.TradeEvent{}, err)
			return
		}
		h := &tradeStream{ctx: ctx, a: a, req: req, syms: syms, bySym: by, yield: yield}
		if err := c.run(ctx, h); err != nil {
			yield(venues.TradeEvent{}, err)
		}
	}
}

func (h *tradeStream) message(m *wsMsg, f ws.Frame) bool {
	for i := range m.Trades {
		t := &m.Trades[i]
		ss := h.bySym[t.Symbol]
		if ss == nil {
			continue
		}
		if ss.lastID != 0 {
			if t.TradeID <= ss.lastID {
				continue // already yielded (duplicate or replay)
			}
			if t.TradeID > ss.lastID+1 && !ss.noContig && !h.fill(ss, t.TradeID) {
				return false
			}
		}
		ss.lastID, ss.lastTime = t.TradeID, t.Trade.Time
		tr := t.Trade
		tr.RecvTime = f.Received
		if !h.yield(venues.TradeEvent{Symbol: ss.sym, Trade: tr}, nil) {
			return false
		}
	}
	return true
}

// fill yields the trades of ss with ids in (ss.lastID, to) from REST; to =
// noID catches up with the venue's newest trade.
func (h *tradeStream) fill(ss *streamSym, to int64) bool {
	since := ss.lastTime - 1
	found := 0
	for {
		rows, last, err := h.a.trades(h.ctx, ss.pair.Altname, since, MaxTrades)
		if err != nil {
			if h.ctx.Err() != nil {
				return false
			}
			h.a.log.Warn("kraken: filling a trade stream hole over REST failed", "symbol", ss.sym.String(), "after_id", ss.lastID, "err", err)
			h.gap(ss, to, "filling over REST failed: "+err.Error())
			return true
		}
		now := h.a.localNow().UnixNano()
		reached := false
		for _, r := range rows {
			if r.TradeID != 0 && r.TradeID <= ss.lastID {
				continue
			}
			if r.TradeID >= to {
				reached = true
				break
			}
			if r.TradeID > ss.lastID+1 && to != noID && !ss.noContig {
				h.gap(ss, r.TradeID, "trade ids missing from the stream and from REST")
			}
			ss.lastID, ss.lastTime = r.TradeID, r.Trade.Time
			t := r.Trade
			t.RecvTime = now
			found++
			h.filled++
			if !h.yield(venues.TradeEvent{Symbol: ss.sym, Trade: t}, nil) {
				return false
			}
		}
		if reached || len(rows) < MaxTrades {
			break
		}
		next, _ := nextCursor(tradeCursor{since: since}, rows, last, true)
		since = next.since
	}
	if to != noID && found == 0 && !ss.noContig {
		ss.noContig = true
		h.a.log.Info("kraken: trade ids of this pair are not contiguous; holes are detected by connection breaks only", "symbol", ss.sym.String())
	}
	return true
}

func (h *tradeStream) gap(ss *streamSym, before int64, reason string) {
	h.a.log.Warn("kraken: trades missing from the stream", "symbol", ss.sym.String(), "after_id", ss.lastID, "before_id", before, "reason", reason)
	if h.req.Gap != nil {
		g := venues.Gap{Symbol: ss.sym, FirstID: strconv.FormatInt(ss.lastID+1, 10), Reason: reason, Reported: time.Now().UnixNano()}
		if before != noID {
			g.LastID = strconv.FormatInt(before-1, 10)
		}
		h.req.Gap(g)
	}
}

func (h *tradeStream) hole() bool { return true }

// resumed catches every symbol up over REST after a break.
func (h *tradeStream) resumed(first bool) bool {
	if first {
		return true
	}
	for _, ss := range h.syms {
		if ss.lastID != 0 && !h.fill(ss, noID) {
			return false
		}
	}
	return true
}

func (h *tradeStream) tick() bool { return true }

// candleCloseGrace is how long after a bar's end the candle stream waits
// for late updates before it reports the bar closed without having seen
// the next one.
const candleCloseGrace = 2 * time.Second

// candleStream is the handler of StreamCandles.
type candleStream struct {
	ctx   context.Context
	a     *Adapter
	req   venues.StreamRequest
	iv    int
	syms  []*streamSym
	bySym map[string]*streamSym
	yield func(venues.CandleEvent, error) bool
}

// StreamCandles streams candles of req.Span for req.Symbols from the
// WebSocket v2 ohlc channel: every closed bar once, in order, and with
// req.Partial also the forming bar's updates (Closed false). Kraken sends
// no "closed" flag: a bar is closed when the next one starts, or two
// seconds after its end by the venue clock. Closed bars missed while the
// connection was down are fetched over REST OHLC before the next one is
// yielded.
func (a *Adapter) StreamCandles(ctx context.Context, req venues.StreamRequest) iter.Seq2[venues.CandleEvent, error] {
	return func(yield func(venues.CandleEvent, error) bool) {
		iv, err := Interval(req.Span)
		if err != nil {
			yield(venues.CandleEvent{}, fmt.Errorf("kraken: stream candles: %w", err))
			return
		}
		syms, by, err := a.resolveStreams(ctx, req.Symbols)
		if err != nil {
			yield(venues.CandleEvent{}, fmt.Errorf("kraken: stream candles: %w", err))
			return
		}
		c, err := a.newConn("candles", []subscription{{Channel: "ohlc", Symbol: v2Names(syms), Interval: iv, Snapshot: boolPtr(true)}})
		if err != nil {
			yield(venues.CandleEvent{}, err)
			return
		}
		h := &candleStream{ctx: ctx, a: a, req: req, iv: iv, syms: syms, bySym: by, yield: yield}
		if err := c.run(ctx, h); err != nil {
			yield(venues.CandleEvent{}, err)
		}
	}
}

func (h *candleStream) message(m *wsMsg, f ws.Frame) bool {
	span := h.req.Span
	for i := range m.Bars {
		wb := &m.Bars[i]
		ss := h.bySym[wb.Symbol]
		if ss == nil || (wb.Interval != 0 && wb.Interval != h.iv) {
			continue
		}
		b := wb.Bar
		b.RecvTime = f.Received
		if b.OpenTime <= ss.lastClosed || (ss.hasCur && b.OpenTime < ss.cur.OpenTime) {
			continue // a bar already closed
		}
		if ss.hasCur && b.OpenTime > ss.cur.OpenTime {
			if !h.close(ss) {
				return false
			}
		}
		if ss.suspect && ss.lastClosed != 0 {
			if !h.fill(ss, span.Next(ss.lastClosed), b.OpenTime) {
				return false
			}
		}
		// Every ohlc message carries the bar's whole aggregate so far, so
		// it also repairs a bar that missed updates.
		ss.cur, ss.hasCur, ss.curStale = b, true, false
		if h.req.Partial {
			if !h.yield(venues.CandleEvent{Symbol: ss.sym, Span: span, Bar: b}, nil) {
				return false
			}
		}
	}
	return true
}

// close yields ss's current bar as closed. A bar that may have missed
// updates in a connection break is read from REST OHLC instead (with any
// bar missed before it).
func (h *candleStream) close(ss *streamSym) bool {
	span := h.req.Span
	if ss.curStale || ss.suspect {
		from := ss.cur.OpenTime
		if ss.lastClosed != 0 {
			from = span.Next(ss.lastClosed)
		}
		if !h.fill(ss, from, span.Next(ss.cur.OpenTime)) {
			return false
		}
	}
	b := ss.cur
	ss.hasCur, ss.curStale = false, false
	if b.OpenTime <= ss.lastClosed {
		return true // REST had it
	}
	b.Closed = true
	ss.lastClosed = b.OpenTime
	return h.yield(venues.CandleEvent{Symbol: ss.sym, Span: span, Bar: b}, nil)
}

// fill yields the closed bars of ss opening in [from, to) and after
// ss.lastClosed from REST OHLC, and clears the suspicion of a hole. Callers
// pass a to the venue has reached (the open of a newer bar, or the current
// bar by the venue clock), so every bar before it is closed.
func (h *candleStream) fill(ss *streamSym, from, to int64) bool {
	ss.suspect = false
	if from >= to {
		return true
	}
	span := h.req.Span
	rows, _, err := h.a.ohlc(h.ctx, ss.pair.Altname, h.iv, from-1)
	if err != nil {
		if h.ctx.Err() != nil {
			return false
		}
		h.a.log.Warn("kraken: filling a candle stream hole over REST failed", "symbol", ss.sym.String(), "err", err)
		if h.req.Gap != nil {
			h.req.Gap(venues.Gap{Symbol: ss.sym, Range: domain.Range{Start: from, End: to},
				Reason: "candles missing after a stream interruption: " + err.Error(), Reported: time.Now().UnixNano()})
		}
		return true
	}
	recv := h.a.localNow().UnixNano()
	for _, r := range rows {
		b := r.Bar
		if b.OpenTime < from || b.OpenTime <= ss.lastClosed || b.OpenTime >= to || (b.Trades == 0 && b.Volume.IsZero()) {
			continue
		}
		b.Closed, b.RecvTime = true, recv
		ss.lastClosed = b.OpenTime
		if !h.yield(venues.CandleEvent{Symbol: ss.sym, Span: span, Bar: b}, nil) {
			return false
		}
	}
	return true
}

// hole: updates may be lost until the connection is back.
func (h *candleStream) hole() bool {
	for _, ss := range h.syms {
		ss.suspect = true
		ss.curStale = ss.hasCur
	}
	return true
}

func (h *candleStream) resumed(first bool) bool {
	if first {
		return true
	}
	now := h.a.serverNow()
	for _, ss := range h.syms {
		if ss.hasCur && h.req.Span.Next(ss.cur.OpenTime) <= now {
			if !h.close(ss) {
				return false
			}
		}
		if ss.lastClosed != 0 && !ss.hasCur {
			if !h.fill(ss, h.req.Span.Next(ss.lastClosed), h.req.Span.Floor(now)) {
				return false
			}
		}
	}
	return true
}

// tick closes bars whose time is over.
func (h *candleStream) tick() bool {
	now := h.a.serverNow()
	for _, ss := range h.syms {
		if ss.hasCur && h.req.Span.Next(ss.cur.OpenTime)+int64(candleCloseGrace) <= now {
			if !h.close(ss) {
				return false
			}
		}
	}
	return true
}
