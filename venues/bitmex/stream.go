package bitmex

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/transport/ws"
	"github.com/pype-go/pype/venues"
)

// streamSym is one symbol of a live stream (consumer goroutine only).
type streamSym struct {
	sym   domain.Symbol
	vs    string // BitMEX symbol
	topic string
	// trades: the millisecond of the last trade yielded and the ids
	// yielded in it (trades of one millisecond may arrive in several
	// messages, and REST refills overlap the live stream there).
	lastMs int64
	ids    map[string]struct{}
	// refill: the connection was replaced; the hole is filled over REST
	// once the new subscription's partial shows it is in force.
	refill bool
	// candles: open time of the last closed bar yielded.
	last int64
	// books
	live  bool
	book  *idBook
	count int64 // book messages applied
	// a change applied but not reported yet: its venue time (0 if its
	// rows carry none) and when its last message was handled (local)
	pending  bool
	pendIdx  int // index in the stream's held list
	pendTime int64
	pendSeen time.Time
	shown    [3]int // levels per side in the last live report (by domain.Side)
}

// resolveTopics maps the request's symbols to topics "<table>:<SYM>".
func (a *Adapter) resolveTopics(ctx context.Context, syms []domain.Symbol, table string) ([]string, map[string]*streamSym, []*streamSym, error) {
	if len(syms) == 0 {
		return nil, nil, nil, fmt.Errorf("bitmex: no symbol to stream (give at least one, e.g. BTC/USD:perp)")
	}
	bySym := make(map[string]*streamSym, len(syms))
	var topics []string
	var order []*streamSym
	for _, s := range syms {
		vs, err := a.VenueSymbol(ctx, s)
		if err != nil {
			return nil, nil, nil, err
		}
		if _, dup := bySym[vs]; dup {
			continue
		}
		ss := &streamSym{sym: s, vs: vs, topic: table + ":" + vs}
		bySym[vs] = ss
		order = append(order, ss)
		topics = append(topics, ss.topic)
	}
	return topics, bySym, order, nil
}

// tradeStream is the handler of StreamTrades.
type tradeStream struct {
	ctx    context.Context
	a      *Adapter
	req    venues.StreamRequest
	bySym  map[string]*streamSym
	order  []*streamSym
	yield  func(venues.TradeEvent, error) bool
	rows   []wsTrade
	filled int64 // trades recovered over REST
}

// StreamTrades streams live trades of req.Symbols from trade:<SYM> topics
// on one connection. BitMEX trade ids (trdMatchID) are not contiguous, so
// a hole can only come from a broken connection: after every
// reconnection each symbol is caught up over REST from the millisecond of
// its last trade (GET /trade, startTime + offset) before live trades
// resume; trades seen twice are dropped by id. The refill starts when the
// new subscription's partial arrives — the subscription is then in
// force, so REST and the live inserts after the partial overlap instead of
// leaving a hole (inserts before it are covered by the refill). What REST
// cannot serve is reported to req.Gap. The partial itself (the latest
// trades, already history) is not yielded.
func (a *Adapter) StreamTrades(ctx context.Context, req venues.StreamRequest) iter.Seq2[venues.TradeEvent, error] {
	return func(yield func(venues.TradeEvent, error) bool) {
		topics, bySym, order, err := a.resolveTopics(ctx, req.Symbols, "trade")
		if err != nil {
			yield(venues.TradeEvent{}, fmt.Errorf("bitmex: stream trades: %w", err))
			return
		}
		rt, err := a.newRealtime("trades", topics)
		if err != nil {
			yield(venues.TradeEvent{}, err)
			return
		}
		h := &tradeStream{ctx: ctx, a: a, req: req, bySym: bySym, order: order, yield: yield}
		if err := rt.run(ctx, h); err != nil {
			yield(venues.TradeEvent{}, err)
		}
	}
}

func (h *tradeStream) table(f ws.Frame, fr *wsFrame) bool {
	if string(fr.Table) != "trade" {
		return true
	}
	act := string(fr.Action)
	if act != actInsert && act != actPartial {
		return true
	}
	var err error
	h.rows, err = parseTradeRows(fr.Data, h.rows[:0])
	if err != nil {
		h.a.log.Warn("bitmex: undecodable trade message skipped", "err", err)
		return true
	}
	if act == actPartial {
		syms := [][]byte{fr.FilterSymbol}
		for _, r := range h.rows {
			syms = append(syms, r.Symbol)
		}
		for _, vs := range syms {
			if ss := h.bySym[string(vs)]; ss != nil && ss.refill {
				ss.refill = false
				if !h.fill(ss) {
					return false
				}
			}
		}
		return true
	}
	for _, r := range h.rows {
		ss := h.bySym[string(r.Symbol)]
		if ss == nil || ss.refill {
			continue // not ours, or covered by the coming refill
		}
		t := r.Trade
		t.RecvTime = f.Received
		if !h.emit(ss, t) {
			return false
		}
	}
	return true
}

// emit yields t unless it was yielded already.
func (h *tradeStream) emit(ss *streamSym, t domain.Trade) bool {
	ms := domain.NanosToMillis(t.Time)
	switch {
	case ms < ss.lastMs:
		return true // older than what was yielded: a replay
	case ms == ss.lastMs:
		if _, dup := ss.ids[t.ID]; dup {
			return true
		}
	default:
		ss.lastMs = ms
		if ss.ids == nil {
			ss.ids = map[string]struct{}{}
		}
		clear(ss.ids)
	}
	ss.ids[t.ID] = struct{}{}
	return h.yield(venues.TradeEvent{Symbol: ss.sym, Trade: t}, nil)
}

func (h *tradeStream) hole() bool {
	h.a.log.Info("bitmex: trade stream interrupted; the hole will be filled over REST")
	return true
}

// resumed marks every symbol for a refill over REST after a break; it
// runs when the new subscription's partial arrives.
func (h *tradeStream) resumed() bool {
	for _, ss := range h.order {
		ss.refill = ss.lastMs != 0
	}
	return true
}

// fill yields ss's trades from its last millisecond up to the venue's
// newest over REST.
func (h *tradeStream) fill(ss *streamSym) bool {
	c := TradeCursor{From: ss.lastMs}
	for {
		p, err := h.a.drainPage(h.ctx, ss.vs, c)
		if err != nil {
			if h.ctx.Err() != nil {
				return false
			}
			h.a.log.Warn("bitmex: filling a trade stream hole over REST failed", "symbol", ss.sym.String(), "from", domain.FormatNs(domain.MillisToNanos(c.From)), "err", err)
			if h.req.Gap != nil {
				h.req.Gap(venues.Gap{Symbol: ss.sym, Range: domain.Range{Start: domain.MillisToNanos(c.From), End: h.a.serverNow()},
					Reason: "trades missing after a stream interruption: " + err.Error(), Reported: time.Now().UnixNano()})
			}
			return true
		}
		now := h.a.localNow().UnixNano()
		for _, t := range p.Items {
			t.RecvTime = now
			before := ss.lastMs
			n := len(ss.ids)
			if !h.emit(ss, t) {
				return false
			}
			if ss.lastMs != before || len(ss.ids) != n {
				h.filled++
			}
		}
		if p.Done || p.Next == c {
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
	bin   string
	bySym map[string]*streamSym
	order []*streamSym
	yield func(venues.CandleEvent, error) bool
	rows  []wsBin
}

// StreamCandles streams closed candles of req.Span (1m, 5m, 1h or 1d) for
// req.Symbols from tradeBin<bin>:<SYM>: every closed bar once, in order.
// BitMEX publishes no forming bar, so req.Partial has no effect. Closed
// bars missed while the connection was down are fetched over REST
// (trade/bucketed) before the next one is yielded. Empty buckets are
// dropped unless the adapter was opened WithEmptyBars.
func (a *Adapter) StreamCandles(ctx context.Context, req venues.StreamRequest) iter.Seq2[venues.CandleEvent, error] {
	return func(yield func(venues.CandleEvent, error) bool) {
		bin, err := BinSize(req.Span)
		if err != nil {
			yield(venues.CandleEvent{}, fmt.Errorf("bitmex: stream candles: %w", err))
			return
		}
		topics, bySym, order, err := a.resolveTopics(ctx, req.Symbols, "tradeBin"+bin)
		if err != nil {
			yield(venues.CandleEvent{}, fmt.Errorf("bitmex: stream candles: %w", err))
			return
		}
		rt, err := a.newRealtime("candles", topics)
		if err != nil {
			yield(venues.CandleEvent{}, err)
			return
		}
		h := &candleStream{ctx: ctx, a: a, req: req, bin: bin, bySym: bySym, order: order, yield: yield}
		if err := rt.run(ctx, h); err != nil {
			yield(venues.CandleEvent{}, err)
		}
	}
}

func (h *candleStream) table(f ws.Frame, fr *wsFrame) bool {
	if string(fr.Table) != "tradeBin"+h.bin {
		return true
	}
	act := string(fr.Action)
	if act != actInsert && act != actPartial {
		return true
	}
	var err error
	h.rows, err = parseBinRows(fr.Data, h.req.Span, h.rows[:0])
	if err != nil {
		h.a.log.Warn("bitmex: undecodable tradeBin message skipped", "err", err)
		return true
	}
	for _, r := range h.rows {
		ss := h.bySym[string(r.Symbol)]
		if ss == nil {
			continue
		}
		if act == actPartial && ss.last == 0 {
			// The latest closed bin, sent on subscription: history, not
			// a new bar. It anchors the stream.
			ss.last = r.Bar.OpenTime
			continue
		}
		if r.Bar.OpenTime <= ss.last {
			continue // duplicate
		}
		if ss.last != 0 && r.Bar.OpenTime > h.req.Span.Next(ss.last) {
			if !h.fill(ss, r.Bar.OpenTime) {
				return false
			}
		}
		bar := r.Bar
		bar.RecvTime = f.Received
		if !h.emit(ss, bar) {
			return false
		}
	}
	return true
}

func (h *candleStream) emit(ss *streamSym, bar domain.OHLCBar) bool {
	ss.last = bar.OpenTime
	if bar.Trades == 0 && !h.a.opt.emptyBars {
		return true
	}
	return h.yield(venues.CandleEvent{Symbol: ss.sym, Span: h.req.Span, Bar: bar}, nil)
}

// fill yields the closed bars of ss opening in (ss.last, to) from REST.
func (h *candleStream) fill(ss *streamSym, to int64) bool {
	for from := h.req.Span.Next(ss.last); from < to; from = h.req.Span.Next(ss.last) {
		bars, err := h.a.buckets(h.ctx, ss.vs, h.bin, h.req.Span, domain.Range{Start: from, End: to}, MaxCount)
		if err != nil {
			if h.ctx.Err() != nil {
				return false
			}
			h.a.log.Warn("bitmex: filling a candle stream hole over REST failed", "symbol", ss.sym.String(), "err", err)
			if h.req.Gap != nil {
				h.req.Gap(venues.Gap{Symbol: ss.sym, Range: domain.Range{Start: from, End: to},
					Reason: "candles missing after a stream interruption: " + err.Error(), Reported: time.Now().UnixNano()})
			}
			return true
		}
		now := h.a.localNow().UnixNano()
		n := 0
		for _, b := range bars {
			if b.OpenTime < from || b.OpenTime >= to {
				continue
			}
			b.RecvTime = now
			n++
			if !h.emit(ss, b) {
				return false
			}
		}
		if n == 0 || len(bars) < MaxCount {
			return true
		}
	}
	return true
}

func (h *candleStream) hole() bool { return true }

// resumed catches up the closed bars missed during a break.
func (h *candleStream) resumed() bool {
	now := h.a.serverNow()
	for _, ss := range h.order {
		if ss.last != 0 && !h.fill(ss, h.req.Span.Floor(now)) {
			return false
		}
	}
	return true
}
