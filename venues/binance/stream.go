package binance

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/transport/ws"
	"github.com/pype-go/pype/venues"
)

// streamSym is one symbol of a live stream.
type streamSym struct {
	sym   domain.Symbol
	vs    string // Binance symbol, upper case
	shard int
	last  int64 // trades: last id emitted; candles: last closed open time
}

// resolveStreams maps the request's symbols to Binance stream names.
func (a *Adapter) resolveStreams(ctx context.Context, syms []domain.Symbol, suffix string) ([]string, map[string]*streamSym, [][]*streamSym, error) {
	if len(syms) == 0 {
		return nil, nil, nil, fmt.Errorf("binance: no symbol to stream (give at least one, e.g. BTC/USDT)")
	}
	bySym := make(map[string]*streamSym, len(syms))
	var names []string
	var order []*streamSym
	for _, s := range syms {
		vs, err := a.VenueSymbol(ctx, s)
		if err != nil {
			return nil, nil, nil, err
		}
		if _, dup := bySym[vs]; dup {
			continue
		}
		ss := &streamSym{sym: s, vs: vs, shard: len(names) / a.opt.streamsPerConn}
		bySym[vs] = ss
		order = append(order, ss)
		names = append(names, strings.ToLower(vs)+suffix)
	}
	shards := make([][]*streamSym, (len(names)+a.opt.streamsPerConn-1)/a.opt.streamsPerConn)
	for _, ss := range order {
		shards[ss.shard] = append(shards[ss.shard], ss)
	}
	return names, bySym, shards, nil
}

// errSkip marks a frame a handler does not decode.
var errSkip = errors.New("skip")

// tradeStream is the handler of StreamTrades.
type tradeStream struct {
	ctx    context.Context
	a      *Adapter
	req    venues.StreamRequest
	raw    bool
	bySym  map[string]*streamSym
	shards [][]*streamSym
	yield  func(venues.TradeEvent, error) bool
	ev     tradeEvent
	filled int64 // trades recovered over REST
}

// StreamTrades streams live trades of req.Symbols, many symbols per
// connection (combined streams). It uses <sym>@aggTrade (ids are aggregate
// ids, like BackfillTrades) unless the adapter was opened WithRawTrades.
//
// The stream has no gap and no duplicate: ids are contiguous, so a jump
// (a dropped connection, a lost frame) is filled over REST by id before the
// next live trade is yielded, and after a reconnection each symbol is
// caught up over REST at once; trades seen twice (the overlap of a planned
// 24 h reconnection) are dropped by id. What REST cannot serve is reported
// to req.Gap. Every trade carries the venue time and its local receive
// time.
func (a *Adapter) StreamTrades(ctx context.Context, req venues.StreamRequest) iter.Seq2[venues.TradeEvent, error] {
	return func(yield func(venues.TradeEvent, error) bool) {
		suffix := "@aggTrade"
		if a.opt.rawTrades {
			suffix = "@trade"
		}
		names, bySym, shards, err := a.resolveStreams(ctx, req.Symbols, suffix)
		if err != nil {
			yield(venues.TradeEvent{}, fmt.Errorf("binance: stream trades: %w", err))
			return
		}
		m, err := a.newMux("trades", names)
		if err != nil {
			yield(venues.TradeEvent{}, err)
			return
		}
		h := &tradeStream{ctx: ctx, a: a, req: req, raw: a.opt.rawTrades, bySym: bySym, shards: shards, yield: yield}
		if err := m.run(ctx, h); err != nil {
			yield(venues.TradeEvent{}, err)
		}
	}
}

func (h *tradeStream) frame(_ int, f ws.Frame, fr *frame) bool {
	decode := func() error {
		switch fr.Kind {
		case evAggTrade:
			return parseAggTradeEvent(fr.Data, &h.ev)
		case evTrade:
			return parseTradeEvent(fr.Data, &h.ev)
		}
		return errSkip
	}
	err := decode()
	if err != nil && err != errSkip && refine(f.Data, fr) {
		err = decode()
	}
	if err == errSkip {
		return true
	}
	if err != nil {
		h.a.log.Warn("binance: undecodable trade event skipped", "err", err)
		return true
	}
	ss := h.bySym[string(h.ev.Symbol)]
	if ss == nil {
		return true
	}
	id := h.ev.ID
	switch {
	case ss.last != 0 && id <= ss.last:
		return true // already yielded (overlap of a planned reconnection)
	case ss.last != 0 && id > ss.last+1:
		if !h.fill(ss, id) {
			return false
		}
	}
	ss.last = id
	t := h.ev.Trade
	t.RecvTime = f.Received
	return h.yield(venues.TradeEvent{Symbol: ss.sym, Trade: t}, nil)
}

// fill yields the trades of ss with ids in (ss.last, to) from REST; to =
// noID catches up with the venue's newest trade.
func (h *tradeStream) fill(ss *streamSym, to int64) bool {
	from := ss.last + 1
	for from < to {
		lim := int64(MaxAggTrades)
		if to != noID {
			lim = min(lim, to-from)
		}
		rows, err := h.page(ss.vs, from, int(lim))
		if err != nil {
			if h.ctx.Err() != nil {
				return false
			}
			h.a.log.Warn("binance: filling a trade stream hole over REST failed", "symbol", ss.sym.String(), "from_id", from, "err", err)
			break
		}
		now := h.a.localNow().UnixNano()
		for _, r := range rows {
			if r.ID < from {
				continue
			}
			if r.ID >= to {
				break
			}
			if r.ID > from {
				h.gap(ss, from, r.ID-1)
			}
			r.Trade.RecvTime = now
			from, ss.last = r.ID+1, r.ID
			h.filled++
			if !h.yield(venues.TradeEvent{Symbol: ss.sym, Trade: r.Trade}, nil) {
				return false
			}
		}
		if len(rows) == 0 || (to == noID && int64(len(rows)) < lim) {
			break
		}
	}
	if to != noID && from < to {
		h.gap(ss, from, to-1)
		ss.last = to - 1
	}
	return true
}

type idTrade struct {
	ID    int64
	Trade domain.Trade
}

func (h *tradeStream) page(vs string, from int64, limit int) ([]idTrade, error) {
	if !h.raw {
		rows, err := h.a.aggTrades(h.ctx, vs, aggQuery{HasFrom: true, FromID: from, Limit: limit})
		out := make([]idTrade, len(rows))
		for i, r := range rows {
			out[i] = idTrade{r.ID, r.Trade}
		}
		return out, err
	}
	q := url.Values{}
	q.Set("symbol", vs)
	q.Set("fromId", strconv.FormatInt(from, 10))
	q.Set("limit", strconv.Itoa(limit))
	body, err := h.a.get(h.ctx, epHistoricalTrades, q)
	if err != nil {
		return nil, err
	}
	rows, err := parseTrades(body, nil)
	out := make([]idTrade, len(rows))
	for i, r := range rows {
		out[i] = idTrade(r)
	}
	return out, err
}

func (h *tradeStream) gap(ss *streamSym, first, last int64) {
	h.a.log.Warn("binance: trade ids missing from the stream and from REST", "symbol", ss.sym.String(), "first_id", first, "last_id", last)
	if h.req.Gap != nil {
		h.req.Gap(venues.Gap{Symbol: ss.sym, FirstID: strconv.FormatInt(first, 10), LastID: strconv.FormatInt(last, 10),
			Reason: "trade ids missing after a stream interruption", Reported: time.Now().UnixNano()})
	}
}

func (h *tradeStream) hole(sh int) bool {
	h.a.log.Info("binance: trade stream interrupted; the hole will be filled over REST", "connection", sh)
	return true
}

// resumed catches every symbol of the shard up over REST after a break.
func (h *tradeStream) resumed(sh int) bool {
	for _, ss := range h.shards[sh] {
		if ss.last != 0 && !h.fill(ss, noID) {
			return false
		}
	}
	return true
}

// candleStream is the handler of StreamCandles.
type candleStream struct {
	ctx    context.Context
	a      *Adapter
	req    venues.StreamRequest
	bySym  map[string]*streamSym
	shards [][]*streamSym
	yield  func(venues.CandleEvent, error) bool
	ev     klineEvent
	iv     string
}

// StreamCandles streams candles of req.Span for req.Symbols from
// <sym>@kline_<interval>: every closed bar once, in order, and with
// req.Partial also the forming bar's updates (Closed false). Closed bars
// missed while a connection was down are fetched over REST (klines) before
// the next one is yielded.
func (a *Adapter) StreamCandles(ctx context.Context, req venues.StreamRequest) iter.Seq2[venues.CandleEvent, error] {
	return func(yield func(venues.CandleEvent, error) bool) {
		iv, err := Interval(req.Span)
		if err != nil {
			yield(venues.CandleEvent{}, fmt.Errorf("binance: stream candles: %w", err))
			return
		}
		names, bySym, shards, err := a.resolveStreams(ctx, req.Symbols, "@kline_"+iv)
		if err != nil {
			yield(venues.CandleEvent{}, fmt.Errorf("binance: stream candles: %w", err))
			return
		}
		m, err := a.newMux("candles", names)
		if err != nil {
			yield(venues.CandleEvent{}, err)
			return
		}
		h := &candleStream{ctx: ctx, a: a, req: req, bySym: bySym, shards: shards, yield: yield, iv: iv}
		if err := m.run(ctx, h); err != nil {
			yield(venues.CandleEvent{}, err)
		}
	}
}

func (h *candleStream) frame(_ int, f ws.Frame, fr *frame) bool {
	if fr.Kind != evKline {
		return true
	}
	err := parseKlineEvent(fr.Data, &h.ev)
	if err != nil && refine(f.Data, fr) {
		err = parseKlineEvent(fr.Data, &h.ev)
	}
	if err != nil {
		h.a.log.Warn("binance: undecodable kline event skipped", "err", err)
		return true
	}
	ss := h.bySym[string(h.ev.Symbol)]
	if ss == nil || string(h.ev.Interval) != h.iv {
		return true
	}
	bar := h.ev.Bar
	bar.RecvTime = f.Received
	if !bar.Closed {
		if !h.req.Partial || bar.OpenTime <= ss.last {
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
// With known, to is the open of a bar the stream reported closed, so every
// bar before it is closed whatever the local estimate of the venue's clock
// says.
func (h *candleStream) fill(ss *streamSym, to int64, known bool) bool {
	from := h.req.Span.Next(ss.last)
	for from < to {
		bars, err := h.a.klines(h.ctx, ss.vs, h.iv, domain.Range{Start: from, End: to}, MaxKlines)
		if err != nil {
			if h.ctx.Err() != nil {
				return false
			}
			h.a.log.Warn("binance: filling a candle stream hole over REST failed", "symbol", ss.sym.String(), "err", err)
			if h.req.Gap != nil {
				h.req.Gap(venues.Gap{Symbol: ss.sym, Range: domain.Range{Start: from, End: to}, Reason: "candles missing after a stream interruption: " + err.Error(), Reported: time.Now().UnixNano()})
			}
			return true
		}
		now := h.a.localNow().UnixNano()
		n := 0
		for _, b := range bars {
			if b.OpenTime < from || b.OpenTime >= to || !(b.Closed || known) {
				continue
			}
			b.RecvTime, b.Closed = now, true
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

func (h *candleStream) hole(int) bool { return true }

// resumed catches up the closed bars missed during a break.
func (h *candleStream) resumed(sh int) bool {
	now := h.a.serverNow()
	for _, ss := range h.shards[sh] {
		if ss.last != 0 && !h.fill(ss, h.req.Span.Floor(now), false) {
			return false
		}
	}
	return true
}
