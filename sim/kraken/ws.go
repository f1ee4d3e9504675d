package kraken

import (
	"context"
	"encoding/json"
	"hash/crc32"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
)

// Channel kinds.
const (
	chTrade = "trade"
	chOHLC  = "ohlc"
	chBook  = "book"
)

var bookDepths = []int{10, 25, 100, 500, 1000}

// wsSub is one subscription; all fields belong to the stream goroutine.
type wsSub struct {
	channel string
	p       *pair
	depth   int         // book
	span    domain.Span // ohlc
	iv      int         // ohlc interval, minutes
	lastMs  int64       // trade/ohlc: every trade ≤ lastMs was sent
	step    int64       // book: last step sent
	top     sim.BookState
}

func (s *wsSub) same(o *wsSub) bool {
	return s.channel == o.channel && s.p == o.p && (s.channel != chOHLC || s.iv == o.iv)
}

// wsConn is one WebSocket connection.
type wsConn struct {
	a      *api
	c      *websocket.Conn
	id     int64
	subs   []*wsSub
	faults *sim.WSFaults
	ctl    chan func(ctx context.Context) error
	buf    []byte
	books  int64 // book messages sent (for badChecksumEvery)
}

func (a *api) serveWS(w http.ResponseWriter, r *http.Request) {
	done := a.env.Track()
	defer done()
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	closed := a.env.Stats.WSOpened()
	defer closed()
	c.SetReadLimit(1 << 20)
	cn := &wsConn{a: a, c: c, id: a.connID.Add(1), faults: a.env.Faults.NewWSFaults(), ctl: make(chan func(context.Context) error)}
	cn.run()
}

func (cn *wsConn) run() {
	ctx, cancel := context.WithCancel(cn.a.env.Context())
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer cancel()
		cn.readLoop(ctx)
	}()
	if cn.status(ctx) == nil {
		cn.streamLoop(ctx)
	}
	cancel()
	_ = cn.c.CloseNow()
	wg.Wait()
}

func (cn *wsConn) status(ctx context.Context) error {
	b := append(cn.buf[:0], `{"channel":"status","data":[{"api_version":"v2","connection_id":`...)
	b = strconv.AppendInt(b, 1_000_000+cn.id, 10)
	b = append(b, `,"system":"online","version":"2.0.0"}],"type":"update"}`...)
	cn.buf = b
	return cn.write(ctx, b)
}

func (cn *wsConn) write(ctx context.Context, b []byte) error {
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := cn.c.Write(wctx, websocket.MessageText, b); err != nil {
		return err
	}
	cn.a.env.Stats.WSMessages(1)
	return nil
}

func (cn *wsConn) readLoop(ctx context.Context) {
	for {
		_, data, err := cn.c.Read(ctx)
		if err != nil {
			return
		}
		f := cn.request(data)
		select {
		case cn.ctl <- f:
		case <-ctx.Done():
			return
		}
	}
}

type wsRequest struct {
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	ReqID  *int64          `json:"req_id"`
}

type wsParams struct {
	Channel  string   `json:"channel"`
	Symbol   []string `json:"symbol"`
	Depth    *int     `json:"depth"`
	Interval *int     `json:"interval"`
	Snapshot *bool    `json:"snapshot"`
}

// timestamp formats ms as Kraken's RFC 3339 with microseconds.
func appendTimestamp(b []byte, ms int64) []byte {
	return time.UnixMilli(ms).UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z")
}

// reply builds a method response.
func (cn *wsConn) reply(method string, reqID *int64, success bool, errMsg, symbol string, result func([]byte) []byte) []byte {
	now := cn.a.env.ServerTimeMs()
	b := []byte(`{"method":`)
	b = strconv.AppendQuote(b, method)
	if result != nil {
		b = append(b, `,"result":`...)
		b = result(b)
	}
	if !success {
		b = append(b, `,"error":`...)
		b = strconv.AppendQuote(b, errMsg)
		if symbol != "" {
			b = append(b, `,"symbol":`...)
			b = strconv.AppendQuote(b, symbol)
		}
	}
	b = append(b, `,"success":`...)
	b = strconv.AppendBool(b, success)
	b = append(b, `,"time_in":"`...)
	b = appendTimestamp(b, now)
	b = append(b, `","time_out":"`...)
	b = appendTimestamp(b, now)
	b = append(b, '"')
	if reqID != nil {
		b = append(b, `,"req_id":`...)
		b = strconv.AppendInt(b, *reqID, 10)
	}
	return append(b, '}')
}

// request parses one client message into an action run by the streamer.
func (cn *wsConn) request(data []byte) func(context.Context) error {
	var req wsRequest
	if err := json.Unmarshal(data, &req); err != nil {
		msg := cn.reply("", nil, false, "Malformed request", "", nil)
		return func(ctx context.Context) error { return cn.write(ctx, msg) }
	}
	switch req.Method {
	case "ping":
		return func(ctx context.Context) error {
			now := cn.a.env.ServerTimeMs()
			b := []byte(`{"method":"pong"`)
			if req.ReqID != nil {
				b = append(b, `,"req_id":`...)
				b = strconv.AppendInt(b, *req.ReqID, 10)
			}
			b = append(b, `,"time_in":"`...)
			b = appendTimestamp(b, now)
			b = append(b, `","time_out":"`...)
			b = appendTimestamp(b, now)
			return cn.write(ctx, append(b, `"}`...))
		}
	case "subscribe", "unsubscribe":
		var p wsParams
		if len(req.Params) == 0 || json.Unmarshal(req.Params, &p) != nil {
			msg := cn.reply(req.Method, req.ReqID, false, "Invalid params", "", nil)
			return func(ctx context.Context) error { return cn.write(ctx, msg) }
		}
		return func(ctx context.Context) error { return cn.subscribe(ctx, req.Method, req.ReqID, p) }
	}
	msg := cn.reply(req.Method, req.ReqID, false, "Method not found", "", nil)
	return func(ctx context.Context) error { return cn.write(ctx, msg) }
}

func (cn *wsConn) subscribe(ctx context.Context, method string, reqID *int64, p wsParams) error {
	fail := func(msg, sym string) error { return cn.write(ctx, cn.reply(method, reqID, false, msg, sym, nil)) }
	switch p.Channel {
	case chTrade, chOHLC, chBook:
	default:
		return fail("Channel "+strconv.Quote(p.Channel)+" not found", "")
	}
	if len(p.Symbol) == 0 {
		return fail("Missing field symbol", "")
	}
	depth, iv := 10, 1
	if p.Depth != nil {
		depth = *p.Depth
	}
	if p.Interval != nil {
		iv = *p.Interval
	}
	if p.Channel == chBook && !slices.Contains(bookDepths, depth) {
		return fail("Unsupported depth "+strconv.Itoa(depth)+" (accepted: 10, 25, 100, 500, 1000)", "")
	}
	if p.Channel == chOHLC && !slices.Contains(intervals, iv) {
		return fail("Unsupported interval "+strconv.Itoa(iv), "")
	}
	snap := p.Channel != chTrade
	if p.Snapshot != nil {
		snap = *p.Snapshot
	}
	now := cn.a.env.Market.NowMs()
	for _, name := range p.Symbol {
		pr := cn.a.lookupWS(name)
		if pr == nil {
			if err := fail("Currency pair not supported "+name, name); err != nil {
				return err
			}
			continue
		}
		s := &wsSub{channel: p.Channel, p: pr, depth: depth, iv: iv, span: spanOf(iv), lastMs: now}
		i := slices.IndexFunc(cn.subs, s.same)
		if method == "unsubscribe" {
			if i < 0 {
				if err := fail("Subscription Not Found", name); err != nil {
					return err
				}
				continue
			}
			cn.subs = slices.Delete(cn.subs, i, i+1)
		} else if i >= 0 {
			if err := fail("Already subscribed", name); err != nil {
				return err
			}
			continue
		}
		ack := cn.reply(method, reqID, true, "", "", func(b []byte) []byte {
			b = append(b, `{"channel":`...)
			b = strconv.AppendQuote(b, p.Channel)
			switch p.Channel {
			case chBook:
				b = append(b, `,"depth":`...)
				b = strconv.AppendInt(b, int64(depth), 10)
			case chOHLC:
				b = append(b, `,"interval":`...)
				b = strconv.AppendInt(b, int64(iv), 10)
			}
			if method == "subscribe" {
				b = append(b, `,"snapshot":`...)
				b = strconv.AppendBool(b, snap)
			}
			b = append(b, `,"symbol":`...)
			b = strconv.AppendQuote(b, name)
			return append(b, '}')
		})
		if err := cn.write(ctx, ack); err != nil {
			return err
		}
		if method == "unsubscribe" {
			continue
		}
		cn.subs = append(cn.subs, s)
		if err := cn.start(ctx, s, now, snap); err != nil {
			return err
		}
	}
	return nil
}

// start sends a new subscription's snapshot.
func (cn *wsConn) start(ctx context.Context, s *wsSub, now int64, snap bool) error {
	switch s.channel {
	case chBook:
		s.step = sim.BookStep(now)
		s.top = s.p.sr.Book(s.step, s.depth)
		return cn.sendBook(ctx, s, "snapshot", s.top.Bids, s.top.Asks, s.step)
	case chTrade:
		if !snap {
			return nil
		}
		var list []sim.Trade
		for t := range s.p.sr.TradesBackward(now, now) {
			list = append(list, t)
			if len(list) == 50 {
				break
			}
		}
		slices.Reverse(list)
		return cn.sendTrades(ctx, s, "snapshot", list)
	case chOHLC:
		if !snap {
			return nil
		}
		open := s.span.Floor(now*nsPerMs) / nsPerMs
		c := s.p.sr.Aggregate(open, s.span.Next(open*nsPerMs)/nsPerMs, now)
		if c.Trades == 0 {
			return nil
		}
		c.OpenTime = open
		return cn.sendOHLC(ctx, s, "snapshot", []sim.Candle{c}, now)
	}
	return nil
}

func (cn *wsConn) streamLoop(ctx context.Context) {
	tick := time.NewTicker(cn.a.streamTick)
	defer tick.Stop()
	hb := time.NewTicker(cn.a.heartbeat)
	defer hb.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case f := <-cn.ctl:
			if f(ctx) != nil {
				return
			}
		case <-hb.C:
			if len(cn.subs) > 0 && cn.write(ctx, []byte(`{"channel":"heartbeat"}`)) != nil {
				return
			}
		case <-tick.C:
			if cn.flush(ctx) != nil {
				return
			}
		}
	}
}

// flush sends everything that happened up to the virtual now.
func (cn *wsConn) flush(ctx context.Context) error {
	now := cn.a.env.Market.NowMs()
	for _, s := range cn.subs {
		var err error
		switch s.channel {
		case chTrade:
			err = cn.flushTrades(ctx, s, now)
		case chOHLC:
			err = cn.flushOHLC(ctx, s, now)
		case chBook:
			err = cn.flushBook(ctx, s, now)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// maxBatch bounds the trades of one message.
const maxBatch = 1000

func (cn *wsConn) newTrades(s *wsSub, now int64) []sim.Trade {
	var list []sim.Trade
	for t := range s.p.sr.TradesFrom(s.lastMs+1, now) {
		if len(list) >= maxBatch && t.Time > list[len(list)-1].Time {
			break
		}
		list = append(list, t)
	}
	if len(list) < maxBatch {
		s.lastMs = max(s.lastMs, now)
	} else {
		s.lastMs = list[len(list)-1].Time
	}
	return list
}

func (cn *wsConn) flushTrades(ctx context.Context, s *wsSub, now int64) error {
	list := cn.newTrades(s, now)
	if len(list) == 0 {
		return nil
	}
	return cn.sendTrades(ctx, s, "update", list)
}

func (cn *wsConn) sendTrades(ctx context.Context, s *wsSub, typ string, list []sim.Trade) error {
	p := s.p
	b := append(cn.buf[:0], `{"channel":"trade","type":"`...)
	b = append(b, typ...)
	b = append(b, `","data":[`...)
	for i, t := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"symbol":`...)
		b = strconv.AppendQuote(b, p.v2name)
		if t.BuyerMaker {
			b = append(b, `,"side":"sell","price":`...)
		} else {
			b = append(b, `,"side":"buy","price":`...)
		}
		b = p.sr.AppendPrice(b, t.Price, p.priceDecimals)
		b = append(b, `,"qty":`...)
		b = p.sr.AppendQty(b, t.Qty, p.lotDecimals)
		b = append(b, `,"ord_type":"`...)
		b = append(b, orderType(t.ID)...)
		b = append(b, `","trade_id":`...)
		b = strconv.AppendInt(b, t.ID, 10)
		b = append(b, `,"timestamp":"`...)
		b = appendTimestamp(b, t.Time)
		b = append(b, `"}`...)
	}
	b = append(b, "]}"...)
	cn.buf = b
	return cn.send(ctx, b, false)
}

func (cn *wsConn) flushOHLC(ctx context.Context, s *wsSub, now int64) error {
	list := cn.newTrades(s, now)
	if len(list) == 0 {
		return nil
	}
	// One update per bar touched, holding the bar up to its newest trade.
	var bars []sim.Candle
	for i, t := range list {
		if i+1 < len(list) && s.span.Floor(list[i+1].Time*nsPerMs) == s.span.Floor(t.Time*nsPerMs) {
			continue
		}
		open := s.span.Floor(t.Time*nsPerMs) / nsPerMs
		c := s.p.sr.Aggregate(open, s.span.Next(open*nsPerMs)/nsPerMs, t.Time)
		c.OpenTime = open
		bars = append(bars, c)
	}
	return cn.sendOHLC(ctx, s, "update", bars, list[len(list)-1].Time)
}

func (cn *wsConn) sendOHLC(ctx context.Context, s *wsSub, typ string, bars []sim.Candle, at int64) error {
	p := s.p
	b := append(cn.buf[:0], `{"channel":"ohlc","type":"`...)
	b = append(b, typ...)
	b = append(b, `","timestamp":"`...)
	b = appendTimestamp(b, at)
	b = append(b, `","data":[`...)
	for i, c := range bars {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"symbol":`...)
		b = strconv.AppendQuote(b, p.v2name)
		for _, f := range []struct {
			k string
			v int64
		}{{`,"open":`, c.Open}, {`,"high":`, c.High}, {`,"low":`, c.Low}, {`,"close":`, c.Close}} {
			b = append(b, f.k...)
			b = p.sr.AppendPrice(b, f.v, p.priceDecimals)
		}
		b = append(b, `,"trades":`...)
		b = strconv.AppendInt(b, c.Trades, 10)
		b = append(b, `,"volume":`...)
		b = p.sr.AppendQty(b, c.Volume, p.lotDecimals)
		b = append(b, `,"vwap":`...)
		b = appendVWAP(b, p.sr, c, p.priceDecimals)
		b = append(b, `,"interval_begin":"`...)
		b = appendTimestamp(b, c.OpenTime)
		b = append(b, `","interval":`...)
		b = strconv.AppendInt(b, int64(s.iv), 10)
		b = append(b, `,"timestamp":"`...)
		b = appendTimestamp(b, s.span.Next(c.OpenTime*nsPerMs)/nsPerMs)
		b = append(b, `"}`...)
	}
	b = append(b, "]}"...)
	cn.buf = b
	return cn.send(ctx, b, false)
}

// maxBookSteps bounds the book steps one flush sends per subscription.
const maxBookSteps = 2000

func (cn *wsConn) flushBook(ctx context.Context, s *wsSub, now int64) error {
	cur := sim.BookStep(now)
	for n := 0; s.step < cur && n < maxBookSteps; n++ {
		s.step++
		st := s.p.sr.Book(s.step, s.depth)
		bids := levelDiff(s.top.Bids, st.Bids, s.depth, func(a, b int64) bool { return a > b })
		asks := levelDiff(s.top.Asks, st.Asks, s.depth, func(a, b int64) bool { return a < b })
		s.top = st
		if len(bids) == 0 && len(asks) == 0 {
			continue
		}
		if err := cn.sendBook(ctx, s, "update", bids, asks, s.step); err != nil {
			return err
		}
	}
	return nil
}

// levelDiff returns the updates that turn the top-depth levels old into
// new on one side (better(a, b): price a ranks before b): changed or new
// levels with their quantity, removed levels with quantity 0. A level that
// merely fell out of the subscribed depth is not deleted: clients truncate
// their book to the depth, as Kraken documents.
func levelDiff(old, nw []sim.BookLevel, depth int, better func(a, b int64) bool) []sim.BookLevel {
	var out []sim.BookLevel
	j := 0
	for _, l := range nw {
		for j < len(old) && better(old[j].Price, l.Price) {
			out = removed(out, old[j], nw, depth, better)
			j++
		}
		if j < len(old) && old[j].Price == l.Price {
			if old[j].Qty != l.Qty {
				out = append(out, l)
			}
			j++
			continue
		}
		out = append(out, l)
	}
	for ; j < len(old); j++ {
		out = removed(out, old[j], nw, depth, better)
	}
	return out
}

// removed adds a deletion for old level l unless it only fell out of scope
// (worse than the new depth-th level).
func removed(out []sim.BookLevel, l sim.BookLevel, nw []sim.BookLevel, depth int, better func(a, b int64) bool) []sim.BookLevel {
	if len(nw) >= depth && better(nw[depth-1].Price, l.Price) {
		return out
	}
	return append(out, sim.BookLevel{Price: l.Price})
}

// checksum is Kraken's CRC32 of the top 10 asks then bids, each price and
// quantity printed with the pair's precision, without the decimal point
// and leading zeros.
func checksum(p *pair, st *sim.BookState) uint32 {
	var buf [1024]byte
	b := buf[:0]
	for _, side := range [2][]sim.BookLevel{st.Asks, st.Bids} {
		for i := 0; i < len(side) && i < 10; i++ {
			b = appendDigits(b, p.sr.AppendPrice(nil, side[i].Price, p.priceDecimals))
			b = appendDigits(b, p.sr.AppendQty(nil, side[i].Qty, p.lotDecimals))
		}
	}
	return crc32.ChecksumIEEE(b)
}

func appendDigits(dst, num []byte) []byte {
	lead := true
	for _, c := range num {
		if c == '.' || (lead && c == '0') {
			continue
		}
		lead = false
		dst = append(dst, c)
	}
	return dst
}

func (cn *wsConn) sendBook(ctx context.Context, s *wsSub, typ string, bids, asks []sim.BookLevel, step int64) error {
	p := s.p
	sum := checksum(p, &s.top)
	cn.books++
	if n := cn.a.badChecksumEvery; n > 0 && typ == "update" && cn.books%int64(n) == 0 {
		sum ^= 0x5a5a5a5a
		cn.a.badChecksums.Add(1)
		cn.a.env.Stats.Fault("bad_checksum")
	}
	b := append(cn.buf[:0], `{"channel":"book","type":"`...)
	b = append(b, typ...)
	b = append(b, `","data":[{"symbol":`...)
	b = strconv.AppendQuote(b, p.v2name)
	side := func(b []byte, key string, ls []sim.BookLevel) []byte {
		b = append(b, key...)
		for i, l := range ls {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"price":`...)
			b = p.sr.AppendPrice(b, l.Price, p.priceDecimals)
			b = append(b, `,"qty":`...)
			b = p.sr.AppendQty(b, l.Qty, p.lotDecimals)
			b = append(b, '}')
		}
		return append(b, ']')
	}
	b = side(b, `,"bids":[`, bids)
	b = side(b, `,"asks":[`, asks)
	b = append(b, `,"checksum":`...)
	b = strconv.AppendUint(b, uint64(sum), 10)
	b = append(b, `,"timestamp":"`...)
	b = appendTimestamp(b, step*sim.BookStepMs)
	b = append(b, `"}]}`...)
	cn.buf = b
	return cn.send(ctx, b, typ == "update")
}

// errClose asks the stream loop to drop the connection.
var errClose = &closeError{}

type closeError struct{}

func (*closeError) Error() string { return "close" }

// send writes a data message, applying WebSocket faults.
func (cn *wsConn) send(ctx context.Context, b []byte, bookUpdate bool) error {
	act := cn.faults.Next(bookUpdate)
	if act.Skip {
		return nil
	}
	if act.Delay > 0 {
		t := time.NewTimer(act.Delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	n := 1
	if act.Duplicate {
		n = 2
	}
	for range n {
		if err := cn.write(ctx, b); err != nil {
			return err
		}
	}
	if act.Close {
		return errClose
	}
	return nil
}
