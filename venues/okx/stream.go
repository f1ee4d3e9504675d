package okx

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/transport/ws"
	"github.com/pype-go/pype/venues"
)

// Channels the streams use.
const (
	chTradesAll = "trades-all" // business: one message per fill
	chBooks     = "books"      // public: 400 levels, snapshot + updates
)

// tradeStream is the handler of StreamTrades.
type tradeStream struct {
	ctx    context.Context
	a      *Adapter
	req    venues.StreamRequest
	bySym  map[string]*streamSym
	shards []*shard
	yield  func(venues.TradeEvent, error) bool
	rows   []trade
	filled int64 // trades recovered over REST
}

// StreamTrades streams live trades of req.Symbols from the trades-all
// channel of /ws/v5/business: one message per fill, with the same trade
// ids as history-trades (the public trades channel aggregates the fills of
// a taker order and is not used).
//
// The stream has no gap and no duplicate: OKX trade ids are consecutive
// per instrument, so a jump in ids (a lost frame) is filled over REST by
// id before the next live trade is yielded, and after a reconnection each
// symbol is caught up over REST at once; trades seen twice are dropped by
// id. What REST cannot serve is reported to req.Gap. Every trade carries
// the venue time and its local receive time.
func (a *Adapter) StreamTrades(ctx context.Context, req venues.StreamRequest) iter.Seq2[venues.TradeEvent, error] {
	return func(yield func(venues.TradeEvent, error) bool) {
		shards, bySym, err := a.planShards(ctx, req.Symbols, BusinessPath, chTradesAll, a.opt.argsPerConn)
		if err != nil {
			yield(venues.TradeEvent{}, fmt.Errorf("okx: stream trades: %w", err))
			return
		}
		m, err := a.newMux("trades", shards)
		if err != nil {
			yield(venues.TradeEvent{}, err)
			return
		}
		h := &tradeStream{ctx: ctx, a: a, req: req, bySym: bySym, shards: shards, yield: yield}
		if err := m.run(ctx, h); err != nil {
			yield(venues.TradeEvent{}, fmt.Errorf("okx: stream trades: %w", err))
		}
	}
}

func (h *tradeStream) frame(_ int, f ws.Frame, fr *frame) bool {
	if string(fr.Channel) != chTradesAll {
		return true
	}
	ss := h.bySym[string(fr.InstID)]
	if ss == nil {
		return true
	}
	var err error
	if h.rows, err = wsTrades(fr.Data, h.rows[:0]); err != nil {
		h.a.log.Warn("okx: undecodable trades push skipped", "err", err)
		return true
	}
	for _, r := range h.rows {
		switch {
		case ss.last != 0 && r.ID <= ss.last:
			continue // seen already (a duplicated message)
		case ss.last != 0 && r.ID > ss.last+1:
			if !h.fill(ss, r.ID) {
				return false
			}
			if r.ID <= ss.last {
				continue
			}
		}
		ss.last = r.ID
		t := r.Trade
		t.RecvTime = f.Received
		if !h.yield(venues.TradeEvent{Symbol: ss.sym, Trade: t}, nil) {
			return false
		}
	}
	return true
}

// noID marks an open upper bound: catch up with the newest trade.
const noID = int64(1<<63 - 1)

// fillRetries is how often a hole REST does not serve yet is asked again
// (REST may lag the stream by a moment) before it is reported.
var fillRetries = []time.Duration{250 * time.Millisecond, time.Second}

// fill yields the trades of ss with ids in (ss.last, to) from REST,
// oldest first. It walks history-trades backward by id from to (or from
// the newest trade), which is unambiguous whatever the venue does with a
// combined after+before.
func (h *tradeStream) fill(ss *streamSym, to int64) bool {
	from := ss.last + 1
	var got []trade
	for attempt := 0; ; attempt++ {
		var err error
		got, err = h.collect(ss.inst, from, to)
		if err != nil {
			if h.ctx.Err() != nil {
				return false
			}
			h.a.log.Warn("okx: filling a trade stream hole over REST failed", "symbol", ss.sym.String(), "from_id", from, "err", err)
			break
		}
		if to == noID || (len(got) > 0 && got[0].ID == from && got[len(got)-1].ID == to-1) || attempt >= len(fillRetries) {
			break
		}
		t := time.NewTimer(fillRetries[attempt])
		select {
		case <-t.C:
		case <-h.ctx.Done():
			t.Stop()
			return false
		}
	}
	now := h.a.localNow().UnixNano()
	for _, r := range got {
		if r.ID <= ss.last {
			continue
		}
		if r.ID > ss.last+1 {
			h.gap(ss, ss.last+1, r.ID-1)
		}
		ss.last = r.ID
		r.Trade.RecvTime = now
		h.filled++
		if !h.yield(venues.TradeEvent{Symbol: ss.sym, Trade: r.Trade}, nil) {
			return false
		}
	}
	if to != noID && ss.last < to-1 {
		h.gap(ss, ss.last+1, to-1)
		ss.last = to - 1
	}
	return true
}

// collect returns the trades with from ≤ id < to, oldest first.
func (h *tradeStream) collect(inst string, from, to int64) ([]trade, error) {
	var out []trade
	q := TradesQuery{}
	if to != noID {
		q.After = to
	}
	for {
		rows, err := h.a.historyTrades(h.ctx, inst, q)
		if err != nil {
			return nil, err
		}
		lowest := noID
		for _, r := range rows {
			lowest = min(lowest, r.ID)
			if r.ID >= from && r.ID < to {
				out = append(out, r)
			}
		}
		if len(rows) == 0 || lowest <= from || (q.After != 0 && lowest >= q.After) {
			break
		}
		q.After = lowest
	}
	slices.SortFunc(out, func(x, y trade) int { return cmp.Compare(x.ID, y.ID) })
	return slices.CompactFunc(out, func(x, y trade) bool { return x.ID == y.ID }), nil
}

func (h *tradeStream) gap(ss *streamSym, first, last int64) {
	h.a.log.Warn("okx: trade ids missing from the stream and from REST", "symbol", ss.sym.String(), "first_id", first, "last_id", last)
	if h.req.Gap != nil {
		h.req.Gap(venues.Gap{Symbol: ss.sym, FirstID: strconv.FormatInt(first, 10), LastID: strconv.FormatInt(last, 10),
			Reason: "trade ids missing after a stream interruption", Reported: time.Now().UnixNano()})
	}
}

func (h *tradeStream) hole(sh int) bool {
	h.a.log.Info("okx: trade stream interrupted; the hole will be filled over REST", "connection", sh)
	return true
}

// resumed catches every symbol of the shard up over REST after a break.
func (h *tradeStream) resumed(sh int) bool {
	for _, ss := range h.shards[sh].syms {
		if ss.last != 0 && !h.fill(ss, noID) {
			return false
		}
	}
	return true
}

// candleStream is the handler of StreamCandles.
type candleStream struct {
	ctx     context.Context
	a       *Adapter
	req     venues.StreamRequest
	bySym   map[string]*streamSym
	shards  []*shard
	yield   func(venues.CandleEvent, error) bool
	channel string
	bar     string
	rows    []candle
}

// StreamCandles streams candles of req.Span for req.Symbols from the
// candle<bar> channel of /ws/v5/business (UTC-aligned bars from 6 hours
// up): every closed bar (confirm "1") once, in order, and with req.Partial
// also the bar in progress (Closed false). Closed bars missed while a
// connection was down, or whose closing push was lost, are fetched over
// REST (history-candles) before the next one is yielded.
func (a *Adapter) StreamCandles(ctx context.Context, req venues.StreamRequest) iter.Seq2[venues.CandleEvent, error] {
	return func(yield func(venues.CandleEvent, error) bool) {
		bar, err := Bar(req.Span)
		if err != nil {
			yield(venues.CandleEvent{}, fmt.Errorf("okx: stream candles: %w", err))
			return
		}
		channel := "candle" + bar
		shards, bySym, err := a.planShards(ctx, req.Symbols, BusinessPath, channel, a.opt.argsPerConn)
		if err != nil {
			yield(venues.CandleEvent{}, fmt.Errorf("okx: stream candles: %w", err))
			return
		}
		m, err := a.newMux("candles", shards)
		if err != nil {
			yield(venues.CandleEvent{}, err)
			return
		}
		h := &candleStream{ctx: ctx, a: a, req: req, bySym: bySym, shards: shards, yield: yield, channel: channel, bar: bar}
		if err := m.run(ctx, h); err != nil {
			yield(venues.CandleEvent{}, fmt.Errorf("okx: stream candles: %w", err))
		}
	}
}

func (h *candleStream) frame(_ int, f ws.Frame, fr *frame) bool {
	if string(fr.Channel) != h.channel {
		return true
	}
	ss := h.bySym[string(fr.InstID)]
	if ss == nil {
		return true
	}
	var err error
	if h.rows, err = wsCandles(fr.Data, h.rows[:0]); err != nil {
		h.a.log.Warn("okx: undecodable candle push skipped", "err", err)
		return true
	}
	for _, c := range h.rows {
		bar := c.Bar
		bar.RecvTime = f.Received
		if c.Confirm < 0 {
			bar.Closed = h.req.Span.Next(bar.OpenTime) <= h.a.serverNow()
		}
		if !bar.Closed {
			if h.req.Partial && bar.OpenTime > ss.last {
				if !h.yield(venues.CandleEvent{Symbol: ss.sym, Span: h.req.Span, Bar: bar}, nil) {
					return false
				}
			}
			continue
		}
		switch {
		case ss.last != 0 && bar.OpenTime <= ss.last:
			continue // seen already
		case ss.last != 0 && bar.OpenTime > h.req.Span.Next(ss.last):
			if !h.fill(ss, bar.OpenTime) {
				return false
			}
		}
		ss.last = bar.OpenTime
		if !h.yield(venues.CandleEvent{Symbol: ss.sym, Span: h.req.Span, Bar: bar}, nil) {
			return false
		}
	}
	return true
}

// fill yields the closed bars of ss opening in (ss.last, to) from REST.
func (h *candleStream) fill(ss *streamSym, to int64) bool {
	from := h.req.Span.Next(ss.last)
	for from < to {
		w := domain.Range{Start: from, End: min(to, h.req.Span.Add(from, MaxHistoryCandles))}
		bars, err := h.a.historyCandles(h.ctx, ss.inst, h.bar, h.req.Span, w, MaxHistoryCandles)
		if err != nil {
			if h.ctx.Err() != nil {
				return false
			}
			h.a.log.Warn("okx: filling a candle stream hole over REST failed", "symbol", ss.sym.String(), "err", err)
			if h.req.Gap != nil {
				h.req.Gap(venues.Gap{Symbol: ss.sym, Range: domain.Range{Start: from, End: to},
					Reason: "candles missing after a stream interruption: " + err.Error(), Reported: time.Now().UnixNano()})
			}
			return true
		}
		slices.SortFunc(bars, func(x, y domain.OHLCBar) int { return cmp.Compare(x.OpenTime, y.OpenTime) })
		now := h.a.localNow().UnixNano()
		for _, b := range bars {
			if b.OpenTime <= ss.last || b.OpenTime < from || b.OpenTime >= to || !b.Closed {
				continue
			}
			b.RecvTime = now
			ss.last = b.OpenTime
			if !h.yield(venues.CandleEvent{Symbol: ss.sym, Span: h.req.Span, Bar: b}, nil) {
				return false
			}
		}
		from = w.End
	}
	return true
}

func (h *candleStream) hole(int) bool { return true }

// resumed catches up the closed bars missed during a break.
func (h *candleStream) resumed(sh int) bool {
	now := h.a.serverNow()
	for _, ss := range h.shards[sh].syms {
		if ss.last != 0 && !h.fill(ss, h.req.Span.Floor(now)) {
			return false
		}
	}
	return true
}
