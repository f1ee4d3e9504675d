package bybit

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
)

// Topic kinds.
const (
	kTrade = iota + 1
	kKline
	kBook
)

// Book depths served per category.
var bookDepths = map[string][]int{
	catSpot:    {1, 50, 200},
	catLinear:  {1, 50, 200, 500},
	catInverse: {1, 50, 200, 500},
}

// maxArgsSpot is the most args one spot subscribe request may carry.
const maxArgsSpot = 10

// maxTradesPerMsg is the most trades one publicTrade message carries.
const maxTradesPerMsg = 1024

// maxPerTick bounds what one subscription sends per flush.
const maxPerTick = 20000

// topic is one subscription; its fields belong to the streamer goroutine.
type topic struct {
	name    string
	kind    int
	in      *instrument
	span    domain.Span
	iv      string
	depth   int
	lastMs  int64 // trades: everything ≤ lastMs was sent
	barOpen int64 // kline: open of the current bar (ms)
	emitMs  int64 // kline: last update sent
	fresh   bool  // book: a snapshot is due
	step    int64 // book: last step sent
	u       int64 // book: last update id sent
	deltas  int   // book: deltas since the last snapshot
	bids    []sim.BookLevel
	asks    []sim.BookLevel
}

// parseTopic parses a topic name of category cat; ok is false for a topic
// Bybit would refuse.
func (a *api) parseTopic(cat, name string) (*topic, bool) {
	parts := strings.Split(name, ".")
	t := &topic{name: name}
	sym := func(s string) bool {
		t.in = a.byCat[cat][s]
		return t.in != nil
	}
	switch {
	case len(parts) == 2 && parts[0] == "publicTrade" && sym(parts[1]):
		t.kind = kTrade
	case len(parts) == 3 && parts[0] == "kline" && sym(parts[2]):
		sp, ok := intervals[parts[1]]
		if !ok {
			return t, false
		}
		t.kind, t.span, t.iv = kKline, sp, parts[1]
	case len(parts) == 3 && parts[0] == "orderbook" && sym(parts[2]):
		d, err := strconv.Atoi(parts[1])
		if err != nil {
			return t, false
		}
		ok := false
		for _, x := range bookDepths[cat] {
			ok = ok || x == d
		}
		if !ok {
			return t, false
		}
		t.kind, t.depth = kBook, d
	default:
		return t, false
	}
	return t, true
}

func (t *topic) start(now int64) {
	t.lastMs = now
	t.fresh = true
	if t.kind == kKline {
		t.barOpen = t.span.Floor(now*1_000_000) / 1_000_000
		t.emitMs = now
	}
}

// wsConn is one WebSocket connection.
type wsConn struct {
	a      *api
	c      *websocket.Conn
	cat    string
	id     string
	subs   []*topic
	faults *sim.WSFaults
	ctl    chan func() error
	buf    []byte
	diffB  []sim.BookLevel
	diffA  []sim.BookLevel
}

func (a *api) serveWS(w http.ResponseWriter, r *http.Request, cat string) {
	if _, ok := bookDepths[cat]; !ok {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("404 page not found"))
		return
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte("Bad Request: a WebSocket upgrade is required"))
		return
	}
	done := a.env.Track()
	defer done()
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	closed := a.env.Stats.WSOpened()
	defer closed()
	c.SetReadLimit(1 << 20)
	a.connMu.Lock()
	a.connSeq++
	id := string(appendUUID(nil, int64(a.connSeq)^int64(a.env.Market.StartMs())))
	a.connMu.Unlock()
	cn := &wsConn{a: a, c: c, cat: cat, id: id, faults: a.env.Faults.NewWSFaults(), ctl: make(chan func() error)}
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
	cn.streamLoop(ctx)
	cancel()
	_ = cn.c.CloseNow()
	wg.Wait()
}

// request is a client message.
type request struct {
	ReqID string          `json:"req_id"`
	Op    string          `json:"op"`
	Args  json.RawMessage `json:"args"`
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

// request parses one client message into an action run by the streamer.
func (cn *wsConn) request(data []byte) func() error {
	var req request
	if err := json.Unmarshal(data, &req); err != nil {
		return func() error { return cn.ack(false, "error:request decode failed", "", "") }
	}
	var args []string
	if len(req.Args) > 0 && string(req.Args) != "null" {
		if err := json.Unmarshal(req.Args, &args); err != nil {
			return func() error { return cn.ack(false, "error:args must be an array of strings", req.ReqID, req.Op) }
		}
	}
	switch req.Op {
	case "ping":
		return func() error { return cn.pong(req.ReqID) }
	case "subscribe", "unsubscribe":
		sub := req.Op == "subscribe"
		return func() error {
			if cn.cat == catSpot && len(args) > maxArgsSpot {
				return cn.ack(false, "args size >10", req.ReqID, req.Op)
			}
			if len(args) == 0 {
				return cn.ack(false, "error:args is empty", req.ReqID, req.Op)
			}
			now := cn.a.env.Market.NowMs()
			var bad []string
			for _, n := range args {
				i := cn.find(n)
				switch {
				case sub && i >= 0:
					bad = append(bad, "already subscribed,topic:"+n)
				case sub:
					t, ok := cn.a.parseTopic(cn.cat, n)
					if !ok {
						bad = append(bad, "handler not found,topic:"+n)
						continue
					}
					t.start(now)
					cn.subs = append(cn.subs, t)
				case i >= 0:
					cn.subs = append(cn.subs[:i], cn.subs[i+1:]...)
				default:
					bad = append(bad, "not subscribed,topic:"+n)
				}
			}
			if len(bad) > 0 {
				return cn.ack(false, "error:"+strings.Join(bad, ";"), req.ReqID, req.Op)
			}
			msg := ""
			if cn.cat == catSpot {
				msg = req.Op
			}
			return cn.ack(true, msg, req.ReqID, req.Op)
		}
	}
	return func() error { return cn.ack(false, "error:op type is not found", req.ReqID, req.Op) }
}

func (cn *wsConn) find(name string) int {
	for i, s := range cn.subs {
		if s.name == name {
			return i
		}
	}
	return -1
}

func (cn *wsConn) ack(ok bool, msg, reqID, op string) error {
	b := []byte(`{"success":`)
	b = strconv.AppendBool(b, ok)
	b = append(b, `,"ret_msg":`...)
	b = strconv.AppendQuote(b, msg)
	b = append(b, `,"conn_id":"`...)
	b = append(b, cn.id...)
	b = append(b, `","req_id":`...)
	b = strconv.AppendQuote(b, reqID)
	b = append(b, `,"op":`...)
	b = strconv.AppendQuote(b, op)
	return cn.write(append(b, '}'))
}

// pong answers a ping: spot echoes op "ping" with ret_msg "pong", the
// derivative categories answer op "pong" with the server time in args.
func (cn *wsConn) pong(reqID string) error {
	if cn.cat == catSpot {
		return cn.ack(true, "pong", reqID, "ping")
	}
	b := []byte(`{"req_id":`)
	b = strconv.AppendQuote(b, reqID)
	b = append(b, `,"op":"pong","args":["`...)
	b = strconv.AppendInt(b, cn.a.env.ServerTimeMs(), 10)
	b = append(b, `"],"conn_id":"`...)
	b = append(b, cn.id...)
	return cn.write(append(b, `"}`...))
}

func (cn *wsConn) write(b []byte) error {
	ctx, cancel := context.WithTimeout(cn.a.env.Context(), 10*time.Second)
	defer cancel()
	return cn.c.Write(ctx, websocket.MessageText, b)
}

func (cn *wsConn) streamLoop(ctx context.Context) {
	t := time.NewTicker(cn.a.streamTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case f := <-cn.ctl:
			if f() != nil {
				return
			}
		case <-t.C:
			if cn.flush(ctx) != nil {
				return
			}
		}
	}
}

// errClose asks the stream loop to drop the connection.
var errClose = errors.New("close")

func (cn *wsConn) flush(ctx context.Context) error {
	now := cn.a.env.Market.NowMs()
	for _, t := range cn.subs {
		var err error
		switch t.kind {
		case kTrade:
			err = cn.flushTrades(ctx, t, now)
		case kKline:
			err = cn.flushKline(ctx, t, now)
		case kBook:
			err = cn.flushBook(ctx, t, now)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// send writes a message applying the WebSocket faults; bookDelta marks an
// orderbook delta (eligible for gaps).
func (cn *wsConn) send(ctx context.Context, msg []byte, bookDelta bool) error {
	act := cn.faults.Next(bookDelta)
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
		if err := cn.c.Write(ctx, websocket.MessageText, msg); err != nil {
			return err
		}
	}
	cn.a.env.Stats.WSMessages(n)
	if act.Close {
		return errClose
	}
	return nil
}

func (cn *wsConn) head(t *topic, typ string, ts int64) []byte {
	b := append(cn.buf[:0], `{"topic":"`...)
	b = append(b, t.name...)
	b = append(b, `","type":"`...)
	b = append(b, typ...)
	b = append(b, `","ts":`...)
	b = strconv.AppendInt(b, ts, 10)
	return append(b, `,"data":`...)
}

func (cn *wsConn) flushTrades(ctx context.Context, t *topic, now int64) error {
	n, inMsg := 0, 0
	var b []byte
	var lastTime int64
	sendMsg := func() error {
		b = append(b, "]}"...)
		cn.buf = b
		inMsg = 0
		return cn.send(ctx, b, false)
	}
	for tr := range t.in.sr.TradesFrom(t.lastMs+1, now) {
		// Never split a millisecond across ticks: stop only at a new one.
		if n >= maxPerTick && tr.Time > lastTime {
			break
		}
		if inMsg == maxTradesPerMsg {
			if err := sendMsg(); err != nil {
				return err
			}
		}
		if inMsg == 0 {
			b = cn.head(t, "snapshot", now)
			b = append(b, '[')
		} else {
			b = append(b, ',')
		}
		b = t.in.appendTrade(b, tr, true)
		inMsg++
		n++
		lastTime = tr.Time
	}
	if inMsg > 0 {
		if err := sendMsg(); err != nil {
			return err
		}
	}
	if n >= maxPerTick {
		t.lastMs = lastTime
	} else {
		t.lastMs = max(t.lastMs, now)
	}
	return nil
}

// klineEvery is how often (virtual ms) a forming bar is re-sent.
const klineEvery = 1000

func (cn *wsConn) flushKline(ctx context.Context, t *topic, now int64) error {
	toMs := func(ns int64) int64 { return ns / 1_000_000 }
	for n := 0; n < maxPerTick; n++ {
		next := toMs(t.span.Next(t.barOpen * 1_000_000))
		if next-1 > now {
			break
		}
		c := t.in.sr.Aggregate(t.barOpen, next, next-1)
		if c.Trades > 0 {
			if err := cn.sendKline(ctx, t, c, next, next-1, true); err != nil {
				return err
			}
		}
		t.barOpen, t.emitMs = next, next-1
	}
	if now-t.emitMs >= klineEvery {
		next := toMs(t.span.Next(t.barOpen * 1_000_000))
		c := t.in.sr.Aggregate(t.barOpen, next, now)
		t.emitMs = now
		if c.Trades > 0 {
			return cn.sendKline(ctx, t, c, next, now, false)
		}
	}
	return nil
}

func (cn *wsConn) sendKline(ctx context.Context, t *topic, c sim.Candle, next, ts int64, confirm bool) error {
	sr, in := t.in.sr, t.in
	b := cn.head(t, "snapshot", ts)
	b = append(b, `[{"start":`...)
	b = strconv.AppendInt(b, t.barOpen, 10)
	b = append(b, `,"end":`...)
	b = strconv.AppendInt(b, next-1, 10)
	b = append(b, `,"interval":"`...)
	b = append(b, t.iv...)
	b = append(b, `","open":"`...)
	b = sr.AppendPrice(b, c.Open, in.pxDec)
	b = append(b, `","close":"`...)
	b = sr.AppendPrice(b, c.Close, in.pxDec)
	b = append(b, `","high":"`...)
	b = sr.AppendPrice(b, c.High, in.pxDec)
	b = append(b, `","low":"`...)
	b = sr.AppendPrice(b, c.Low, in.pxDec)
	b = append(b, `","volume":"`...)
	b = sr.AppendQty(b, c.Volume, in.qtyDec)
	b = append(b, `","turnover":"`...)
	b = sr.AppendQuote(b, c.Quote, -1)
	b = append(b, `","confirm":`...)
	b = strconv.AppendBool(b, confirm)
	b = append(b, `,"timestamp":`...)
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, "}]}"...)
	cn.buf = b
	return cn.send(ctx, b, false)
}

func (cn *wsConn) flushBook(ctx context.Context, t *topic, now int64) error {
	cur := sim.BookStep(now)
	if t.fresh {
		t.fresh = false
		st := t.in.sr.Book(cur, t.depth)
		t.step, t.u, t.deltas = cur, st.UpdateID, 0
		t.bids = append(t.bids[:0], st.Bids...)
		t.asks = append(t.asks[:0], st.Asks...)
		return cn.sendBook(ctx, t, "snapshot", st.Bids, st.Asks, st.UpdateID, false)
	}
	for n := 0; t.step < cur && n < maxPerTick; n++ {
		t.step++
		st := t.in.sr.Book(t.step, t.depth)
		if cn.a.restartEvery > 0 && t.deltas >= cn.a.restartEvery {
			// A service restart: the venue sends a snapshot with u = 1.
			t.u, t.deltas = 1, 0
			t.bids = append(t.bids[:0], st.Bids...)
			t.asks = append(t.asks[:0], st.Asks...)
			if err := cn.sendBook(ctx, t, "snapshot", st.Bids, st.Asks, st.UpdateID, false); err != nil {
				return err
			}
			continue
		}
		cn.diffB = diffSide(cn.diffB[:0], t.bids, st.Bids, true)
		cn.diffA = diffSide(cn.diffA[:0], t.asks, st.Asks, false)
		t.bids = append(t.bids[:0], st.Bids...)
		t.asks = append(t.asks[:0], st.Asks...)
		if len(cn.diffB) == 0 && len(cn.diffA) == 0 {
			continue
		}
		t.u++
		t.deltas++
		if err := cn.sendBook(ctx, t, "delta", cn.diffB, cn.diffA, st.UpdateID, true); err != nil {
			return err
		}
	}
	return nil
}

func (cn *wsConn) sendBook(ctx context.Context, t *topic, typ string, bids, asks []sim.BookLevel, seq int64, delta bool) error {
	ts := t.step * sim.BookStepMs
	b := cn.head(t, typ, ts)
	b = append(b, `{"s":"`...)
	b = append(b, t.in.name...)
	b = append(b, `","b":`...)
	b = t.in.appendLevels(b, bids)
	b = append(b, `,"a":`...)
	b = t.in.appendLevels(b, asks)
	b = append(b, `,"u":`...)
	b = strconv.AppendInt(b, t.u, 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, `},"cts":`...)
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, '}')
	cn.buf = b
	return cn.send(ctx, b, delta)
}

// diffSide appends to dst the changes from old to nw, both in book order
// (bids descending when desc, asks ascending): removed levels with size 0,
// new or changed levels with their size.
func diffSide(dst, old, nw []sim.BookLevel, desc bool) []sim.BookLevel {
	before := func(p, q int64) bool {
		if desc {
			return p > q
		}
		return p < q
	}
	i, j := 0, 0
	for i < len(old) || j < len(nw) {
		switch {
		case j == len(nw) || (i < len(old) && before(old[i].Price, nw[j].Price)):
			dst = append(dst, sim.BookLevel{Price: old[i].Price})
			i++
		case i == len(old) || before(nw[j].Price, old[i].Price):
			dst = append(dst, nw[j])
			j++
		default:
			if old[i].Qty != nw[j].Qty {
				dst = append(dst, nw[j])
			}
			i++
			j++
		}
	}
	return dst
}
