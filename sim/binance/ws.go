package binance

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
)

// Stream kinds.
const (
	kAggTrade = iota + 1
	kTrade
	kKline
	kDiff
	kPartial
	kBookTicker
)

// sub is one stream subscription; all fields belong to the streamer
// goroutine.
type sub struct {
	name    string
	kind    int
	sr      *sim.Series
	sym     string // BTCUSDT
	span    domain.Span
	iv      string
	levels  int
	slow    bool  // 1000 ms depth updates
	lastMs  int64 // trades: everything ≤ lastMs was sent
	step    int64 // depth: last step sent
	barOpen int64 // kline: open of the current bar
	emitMs  int64 // kline: last update sent
	top     [4]int64
	ring    *frameRing // depth diffs: payloads shared across connections
}

// parseStream parses a stream name; ok is false for an unknown name (the
// subscription is kept but carries no data, as on Binance).
func (a *api) parseStream(name string) (*sub, bool) {
	s := &sub{name: name}
	at := strings.IndexByte(name, '@')
	if at <= 0 {
		return s, false
	}
	sym, rest := strings.ToUpper(name[:at]), name[at+1:]
	sr := a.bySym[sym]
	if sr == nil {
		return s, false
	}
	s.sr, s.sym = sr, sym
	switch {
	case rest == "aggTrade":
		s.kind = kAggTrade
	case rest == "trade":
		s.kind = kTrade
	case rest == "bookTicker":
		s.kind = kBookTicker
	case strings.HasPrefix(rest, "kline_"):
		iv := rest[len("kline_"):]
		sp, ok := intervals[iv]
		if !ok {
			return s, false
		}
		s.kind, s.span, s.iv = kKline, sp, iv
	case rest == "depth" || rest == "depth@100ms" || rest == "depth@1000ms":
		s.kind, s.slow = kDiff, rest != "depth@100ms"
		s.ring = a.frames.ring(sr, s.slow)
	case strings.HasPrefix(rest, "depth"):
		lv, speed, _ := strings.Cut(rest[len("depth"):], "@")
		n, err := strconv.Atoi(lv)
		if err != nil || (n != 5 && n != 10 && n != 20) || (speed != "" && speed != "100ms" && speed != "1000ms") {
			return s, false
		}
		s.kind, s.levels, s.slow = kPartial, n, speed != "100ms"
	default:
		return s, false
	}
	return s, true
}

func (s *sub) start(now int64) {
	s.lastMs = now
	s.step = sim.BookStep(now)
	if s.slow {
		s.step = s.step / 10 * 10
	}
	if s.kind == kKline {
		s.barOpen = s.span.Floor(now*1_000_000) / 1_000_000
		s.emitMs = now
	}
}

// wsConn is one WebSocket connection.
type wsConn struct {
	a        *api
	c        *websocket.Conn
	combined bool
	subs     []*sub
	faults   *sim.WSFaults
	ctl      chan func() error
	out      *batchWriter
	closing  atomic.Bool // the server sent a close frame
	buf      []byte
	msg      []byte
	diff     sim.BookDiff
}

func (a *api) serveWS(w http.ResponseWriter, r *http.Request) {
	var names []string
	combined := false
	switch {
	case r.URL.Path == "/stream":
		combined = true
		if s := r.URL.Query().Get("streams"); s != "" {
			names = strings.Split(s, "/")
		}
	case strings.HasPrefix(r.URL.Path, "/ws/"):
		names = strings.Split(strings.TrimPrefix(r.URL.Path, "/ws/"), "/")
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte("Bad Request: a WebSocket upgrade is required"))
		return
	}
	if len(names) > 1024 {
		http.Error(w, "too many streams (max 1024)", http.StatusBadRequest)
		return
	}
	done := a.env.Track()
	defer done()
	bw := &batchWriter{}
	c, err := websocket.Accept(&hijackWriter{ResponseWriter: w, bw: bw}, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	closed := a.env.Stats.WSOpened()
	defer closed()
	c.SetReadLimit(1 << 20)
	cn := &wsConn{a: a, c: c, combined: combined, faults: a.env.Faults.NewWSFaults(), ctl: make(chan func() error), out: bw}
	now := a.env.Market.NowMs()
	for _, n := range names {
		if n == "" {
			continue
		}
		s, _ := a.parseStream(n)
		s.start(now)
		cn.subs = append(cn.subs, s)
	}
	cn.run()
}

func (cn *wsConn) run() {
	ctx, cancel := context.WithCancel(cn.a.env.Context())
	defer cancel()
	// A flush blocked on a slow reader ends when the connection does.
	stop := context.AfterFunc(ctx, func() { _ = cn.c.CloseNow() })
	defer stop()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer cancel()
		cn.readLoop(ctx)
	}()
	go func() {
		defer wg.Done()
		defer cancel()
		cn.pingLoop(ctx)
	}()
	cn.streamLoop(ctx)
	cancel()
	_ = cn.c.CloseNow()
	wg.Wait()
}

func (cn *wsConn) pingLoop(ctx context.Context) {
	iv := cn.a.env.PingInterval
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			pctx, cancel := context.WithTimeout(ctx, time.Minute)
			err := cn.c.Ping(pctx)
			cancel()
			if err != nil {
				return
			}
		}
	}
}

// readLoop handles the client's requests (at most 5 per second, as on
// Binance; a client sending more is disconnected).
func (cn *wsConn) readLoop(ctx context.Context) {
	var window time.Time
	n := 0
	for {
		_, data, err := cn.c.Read(ctx)
		if err != nil {
			return
		}
		now := time.Now()
		if now.Sub(window) >= time.Second {
			window, n = now, 0
		}
		n++
		if n > 5 {
			cn.closing.Store(true)
			_ = cn.c.Close(websocket.StatusPolicyViolation, "Too many requests")
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
	Method string            `json:"method"`
	Params []json.RawMessage `json:"params"`
	ID     json.RawMessage   `json:"id"`
}

// request parses one client message into an action run by the streamer.
func (cn *wsConn) request(data []byte) func() error {
	var req wsRequest
	if err := json.Unmarshal(data, &req); err != nil {
		msg := fmt.Sprintf("Invalid JSON: %v", err)
		return func() error { return cn.reply(wsError(3, msg, nil)) }
	}
	id := req.ID
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	if id[0] != 'n' && id[0] != '"' && (id[0] < '0' || id[0] > '9') {
		return func() error {
			return cn.reply(wsError(2, "Invalid request: request ID must be an unsigned integer", nil))
		}
	}
	strParams := func() ([]string, bool) {
		out := make([]string, 0, len(req.Params))
		for _, p := range req.Params {
			var s string
			if json.Unmarshal(p, &s) != nil {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	switch req.Method {
	case "SUBSCRIBE", "UNSUBSCRIBE":
		names, ok := strParams()
		if !ok {
			return func() error {
				return cn.reply(wsError(2, "Invalid request: invalid type: expected a string for params", id))
			}
		}
		sub := req.Method == "SUBSCRIBE"
		return func() error {
			if sub {
				if len(cn.subs)+len(names) > 1024 {
					return cn.reply(wsError(2, "Invalid request: too many streams (max 1024 per connection)", id))
				}
				now := cn.a.env.Market.NowMs()
				for _, n := range names {
					if cn.find(n) >= 0 {
						continue
					}
					s, _ := cn.a.parseStream(n)
					s.start(now)
					cn.subs = append(cn.subs, s)
				}
			} else {
				for _, n := range names {
					if i := cn.find(n); i >= 0 {
						cn.subs = append(cn.subs[:i], cn.subs[i+1:]...)
					}
				}
			}
			return cn.reply(wsResult([]byte("null"), id))
		}
	case "LIST_SUBSCRIPTIONS":
		return func() error {
			names := make([]string, len(cn.subs))
			for i, s := range cn.subs {
				names[i] = s.name
			}
			b, _ := json.Marshal(names)
			return cn.reply(wsResult(b, id))
		}
	case "SET_PROPERTY":
		if len(req.Params) != 2 {
			return func() error { return cn.reply(wsError(2, "Invalid request: SET_PROPERTY needs [property, value]", id)) }
		}
		var prop string
		var val bool
		if json.Unmarshal(req.Params[0], &prop) != nil || prop != "combined" {
			return func() error { return cn.reply(wsError(0, "Unknown property", id)) }
		}
		if json.Unmarshal(req.Params[1], &val) != nil {
			return func() error { return cn.reply(wsError(1, "Invalid value type: expected Boolean", id)) }
		}
		return func() error { cn.combined = val; return cn.reply(wsResult([]byte("null"), id)) }
	case "GET_PROPERTY":
		var prop string
		if len(req.Params) != 1 || json.Unmarshal(req.Params[0], &prop) != nil || prop != "combined" {
			return func() error { return cn.reply(wsError(0, "Unknown property", id)) }
		}
		return func() error { return cn.reply(wsResult(strconv.AppendBool(nil, cn.combined), id)) }
	}
	msg := fmt.Sprintf("Invalid request: unknown variant `%s`, expected one of `SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY`", req.Method)
	return func() error { return cn.reply(wsError(2, msg, id)) }
}

func wsResult(result []byte, id json.RawMessage) []byte {
	b := append([]byte(`{"result":`), result...)
	b = append(b, `,"id":`...)
	b = append(b, id...)
	return append(b, '}')
}

func wsError(code int, msg string, id json.RawMessage) []byte {
	b := []byte(`{"error":{"code":`)
	b = sim.AppendInt(b, int64(code))
	b = append(b, `,"msg":`...)
	b = strconv.AppendQuote(b, msg)
	b = append(b, `}`...)
	if id != nil {
		b = append(b, `,"id":`...)
		b = append(b, id...)
	}
	return append(b, '}')
}

func (cn *wsConn) find(name string) int {
	for i, s := range cn.subs {
		if s.name == name {
			return i
		}
	}
	return -1
}

// writeText writes one stream message. Frames are written straight to the
// connection's batch writer (the library's per-message locking and
// copying cost more than formatting a depth diff); after the server
// started a close handshake nothing more is sent.
func (cn *wsConn) writeText(ctx context.Context, msg []byte) error {
	if cn.closing.Load() {
		return errClose
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return cn.out.writeText(msg)
}

func (cn *wsConn) reply(b []byte) error {
	ctx, cancel := context.WithTimeout(cn.a.env.Context(), 10*time.Second)
	defer cancel()
	return cn.c.Write(ctx, websocket.MessageText, b)
}

// maxPerTick bounds the events one subscription sends per flush, so a very
// fast virtual clock cannot starve the others.
const maxPerTick = 20000

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
var errClose = fmt.Errorf("close")

// flush sends every event that happened up to the virtual now, gathering
// the frames into few socket writes.
func (cn *wsConn) flush(ctx context.Context) error {
	cn.out.begin()
	err := cn.flushSubs(ctx)
	if e := cn.out.end(); err == nil {
		err = e
	}
	return err
}

func (cn *wsConn) flushSubs(ctx context.Context) error {
	now := cn.a.env.Market.NowMs()
	for _, s := range cn.subs {
		if s.sr == nil {
			continue
		}
		var err error
		switch s.kind {
		case kAggTrade:
			err = cn.flushAgg(ctx, s, now)
		case kTrade:
			err = cn.flushTrades(ctx, s, now)
		case kKline:
			err = cn.flushKline(ctx, s, now)
		case kDiff:
			err = cn.flushDiff(ctx, s, now)
		case kPartial, kBookTicker:
			err = cn.flushBook(ctx, s, now)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// send wraps payload (in cn.buf) for the connection's mode and writes it,
// applying WebSocket faults.
func (cn *wsConn) send(ctx context.Context, s *sub, payload []byte, diff bool) error {
	act := cn.faults.Next(diff)
	if act.Skip {
		return nil
	}
	msg := payload
	if cn.combined {
		cn.msg = append(cn.msg[:0], `{"stream":"`...)
		cn.msg = append(cn.msg, s.name...)
		cn.msg = append(cn.msg, `","data":`...)
		cn.msg = append(cn.msg, payload...)
		cn.msg = append(cn.msg, '}')
		msg = cn.msg
	}
	if act.Delay > 0 {
		// What was gathered before the delay goes out on time.
		if err := cn.out.sync(); err != nil {
			return err
		}
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
	for i := 0; i < n; i++ {
		if err := cn.writeText(ctx, msg); err != nil {
			return err
		}
	}
	cn.a.env.Stats.WSMessages(n)
	if act.Close {
		return errClose
	}
	return nil
}

func (cn *wsConn) head(event string, eventTime int64, sym string) []byte {
	return appendHead(cn.buf[:0], event, eventTime, sym)
}

func appendHead(b []byte, event string, eventTime int64, sym string) []byte {
	b = append(b, `{"e":"`...)
	b = append(b, event...)
	b = append(b, `","E":`...)
	b = sim.AppendInt(b, eventTime)
	b = append(b, `,"s":"`...)
	b = append(b, sym...)
	return append(b, `",`...)
}

func (cn *wsConn) flushAgg(ctx context.Context, s *sub, now int64) error {
	n := 0
	for t := range s.sr.AggTradesFrom(s.lastMs+1, now) {
		if n >= maxPerTick && t.Time > s.lastMs {
			return nil
		}
		b := cn.head("aggTrade", t.Time, s.sym)
		b = appendAggFields(b, s.sr, t)
		cn.buf = b
		if err := cn.send(ctx, s, b, false); err != nil {
			return err
		}
		s.lastMs = t.Time
		n++
	}
	s.lastMs = max(s.lastMs, now)
	return nil
}

func (cn *wsConn) flushTrades(ctx context.Context, s *sub, now int64) error {
	n := 0
	for t := range s.sr.TradesFrom(s.lastMs+1, now) {
		if n >= maxPerTick && t.Time > s.lastMs {
			return nil
		}
		b := cn.head("trade", t.Time, s.sym)
		b = append(b, `"t":`...)
		b = sim.AppendInt(b, t.ID)
		b = append(b, `,"p":"`...)
		b = s.sr.AppendPrice(b, t.Price, dec)
		b = append(b, `","q":"`...)
		b = s.sr.AppendQty(b, t.Qty, dec)
		b = append(b, `","T":`...)
		b = sim.AppendInt(b, t.Time)
		b = append(b, `,"m":`...)
		b = strconv.AppendBool(b, t.BuyerMaker)
		b = append(b, `,"M":true}`...)
		cn.buf = b
		if err := cn.send(ctx, s, b, false); err != nil {
			return err
		}
		s.lastMs = t.Time
		n++
	}
	s.lastMs = max(s.lastMs, now)
	return nil
}

// klineEvery is how often an open bar is re-sent (Binance: 1 s for 1s
// bars, 2 s otherwise).
func klineEvery(sp domain.Span) int64 {
	if sp == domain.Span1s {
		return 1000
	}
	return 2000
}

func (cn *wsConn) flushKline(ctx context.Context, s *sub, now int64) error {
	toMs := func(ns int64) int64 { return ns / 1_000_000 }
	n := 0
	for {
		next := toMs(s.span.Next(s.barOpen * 1_000_000))
		if next-1 > now || n >= maxPerTick {
			break
		}
		c := s.sr.Aggregate(s.barOpen, next, next-1)
		if c.Trades > 0 {
			if err := cn.sendKline(ctx, s, c, next-1, next, true); err != nil {
				return err
			}
		}
		s.barOpen, s.emitMs = next, next-1
		n++
	}
	if now-s.emitMs >= klineEvery(s.span) {
		next := toMs(s.span.Next(s.barOpen * 1_000_000))
		c := s.sr.Aggregate(s.barOpen, next, now)
		s.emitMs = now
		if c.Trades > 0 {
			return cn.sendKline(ctx, s, c, now, next, false)
		}
	}
	return nil
}

func (cn *wsConn) sendKline(ctx context.Context, s *sub, c sim.Candle, eventTime, next int64, closed bool) error {
	sr := s.sr
	b := cn.head("kline", eventTime, s.sym)
	b = append(b, `"k":{"t":`...)
	b = sim.AppendInt(b, s.barOpen)
	b = append(b, `,"T":`...)
	b = sim.AppendInt(b, next-1)
	b = append(b, `,"s":"`...)
	b = append(b, s.sym...)
	b = append(b, `","i":"`...)
	b = append(b, s.iv...)
	b = append(b, `","f":`...)
	b = sim.AppendInt(b, c.FirstTradeID)
	b = append(b, `,"L":`...)
	b = sim.AppendInt(b, c.LastTradeID)
	b = append(b, `,"o":"`...)
	b = sr.AppendPrice(b, c.Open, dec)
	b = append(b, `","c":"`...)
	b = sr.AppendPrice(b, c.Close, dec)
	b = append(b, `","h":"`...)
	b = sr.AppendPrice(b, c.High, dec)
	b = append(b, `","l":"`...)
	b = sr.AppendPrice(b, c.Low, dec)
	b = append(b, `","v":"`...)
	b = sr.AppendQty(b, c.Volume, dec)
	b = append(b, `","n":`...)
	b = sim.AppendInt(b, c.Trades)
	b = append(b, `,"x":`...)
	b = strconv.AppendBool(b, closed)
	b = append(b, `,"q":"`...)
	b = sr.AppendQuote(b, c.Quote, dec)
	b = append(b, `","V":"`...)
	b = sr.AppendQty(b, c.TakerBuyVolume, dec)
	b = append(b, `","Q":"`...)
	b = sr.AppendQuote(b, c.TakerBuyQuote, dec)
	b = append(b, `","B":"0"}}`...)
	cn.buf = b
	return cn.send(ctx, s, b, false)
}

func (cn *wsConn) flushDiff(ctx context.Context, s *sub, now int64) error {
	cur := sim.BookStep(now)
	stride := int64(1)
	if s.slow {
		stride = 10
		cur = cur / 10 * 10
	}
	n := 0
	for s.step+stride <= cur && n < maxPerTick {
		from, to := s.step+1, s.step+stride
		b, ok := s.ring.get(cn.buf[:0], to)
		if !ok {
			b = cn.appendDiff(b, s, from, to)
			s.ring.put(to, b)
		}
		cn.buf = b
		s.step = to
		n++
		if err := cn.send(ctx, s, b, true); err != nil {
			return err
		}
	}
	return nil
}

// appendDiff appends the depthUpdate payload of steps from…to.
func (cn *wsConn) appendDiff(b []byte, s *sub, from, to int64) []byte {
	s.sr.DiffRange(from, to, &cn.diff)
	d := &cn.diff
	b = appendHead(b, "depthUpdate", to*sim.BookStepMs, s.sym)
	b = append(b, `"U":`...)
	b = sim.AppendInt(b, d.FirstID)
	b = append(b, `,"u":`...)
	b = sim.AppendInt(b, d.LastID)
	b = append(b, `,"b":`...)
	b = appendLevels(b, s.sr, d.Bids)
	b = append(b, `,"a":`...)
	b = appendLevels(b, s.sr, d.Asks)
	return append(b, '}')
}

func (cn *wsConn) flushBook(ctx context.Context, s *sub, now int64) error {
	cur := sim.BookStep(now)
	stride := int64(1)
	if s.slow && s.kind == kPartial {
		stride = 10
		cur = cur / 10 * 10
	}
	n := 0
	for s.step+stride <= cur && n < maxPerTick {
		s.step += stride
		n++
		if s.kind == kPartial {
			st := s.sr.Book(s.step, s.levels)
			b := append(cn.buf[:0], `{"lastUpdateId":`...)
			b = sim.AppendInt(b, st.UpdateID)
			b = append(b, `,"bids":`...)
			b = appendLevels(b, s.sr, st.Bids)
			b = append(b, `,"asks":`...)
			b = appendLevels(b, s.sr, st.Asks)
			b = append(b, '}')
			cn.buf = b
			if err := cn.send(ctx, s, b, false); err != nil {
				return err
			}
			continue
		}
		st := s.sr.Book(s.step, 1)
		top := [4]int64{st.Bids[0].Price, st.Bids[0].Qty, st.Asks[0].Price, st.Asks[0].Qty}
		if top == s.top {
			continue
		}
		s.top = top
		b := append(cn.buf[:0], `{"u":`...)
		b = sim.AppendInt(b, st.UpdateID)
		b = append(b, `,"s":"`...)
		b = append(b, s.sym...)
		b = appendTop(b, s.sr, st, `","b":"`, `","B":"`, `","a":"`, `","A":"`, `"}`)
		cn.buf = b
		if err := cn.send(ctx, s, b, false); err != nil {
			return err
		}
	}
	return nil
}
