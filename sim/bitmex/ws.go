package bitmex

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
)

// Subscription kinds.
const (
	kTrade = iota + 1
	kBin
	kBook
)

// sub is one topic subscription; all fields belong to the streamer
// goroutine.
type sub struct {
	topic     string // "trade:XBTUSD"
	table     string // "trade", "tradeBin1m", "orderBookL2_25", "orderBookL2"
	kind      int
	c         *contract
	span      domain.Span
	lastMs    int64 // trades: everything ≤ lastMs was sent
	ticks     tickState
	nextClose int64 // bins: close of the next bucket to send
	prevPrice int64 // bins: last close (for empty buckets)
	hasPrev   bool
	depth     int   // books: levels per side (0 = all)
	step      int64 // books: last step sent
	bids      []sim.BookLevel
	asks      []sim.BookLevel
}

// parseTopic parses "table:SYMBOL"; a non-empty error is BitMEX's message.
func (a *api) parseTopic(topic string) (*sub, string) {
	table, sym, ok := strings.Cut(topic, ":")
	s := &sub{topic: topic, table: table}
	switch {
	case table == "trade":
		s.kind = kTrade
	case strings.HasPrefix(table, "tradeBin"):
		sp, found := binSizes[strings.TrimPrefix(table, "tradeBin")]
		if !found {
			return nil, "Unknown table: " + table
		}
		s.kind, s.span = kBin, sp
	case table == "orderBookL2_25":
		s.kind, s.depth = kBook, 25
	case table == "orderBookL2":
		s.kind, s.depth = kBook, 0
	default:
		return nil, "Unknown table: " + table
	}
	if !ok || sym == "" {
		return nil, "Symbol-less subscriptions (" + table + ") are not simulated: subscribe " + table + ":<SYMBOL>."
	}
	s.c = a.bySym[sym]
	if s.c == nil {
		return nil, "Unknown or expired symbol: " + sym + "."
	}
	return s, ""
}

// wsConn is one WebSocket connection.
type wsConn struct {
	a      *api
	c      *websocket.Conn
	subs   []*sub
	faults *sim.WSFaults
	ctl    chan func() error
	buf    []byte
}

const welcome = `{"info":"Welcome to the BitMEX Realtime API.","version":"2024-01-01T00:00:00.000Z","timestamp":"%s","docs":"https://www.bitmex.com/app/wsAPI","limit":{"remaining":59}}`

func (a *api) serveWS(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		writeError(w, &apiError{status: 400, name: "HTTPError", msg: "A WebSocket upgrade is required on /realtime."})
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
	cn := &wsConn{a: a, c: c, faults: a.env.Faults.NewWSFaults(), ctl: make(chan func() error)}
	now := a.env.Market.NowMs()
	if err := cn.write(fmt.Appendf(nil, welcome, appendTime(nil, now))); err != nil {
		_ = c.CloseNow()
		return
	}
	if q := r.URL.Query().Get("subscribe"); q != "" {
		req, _ := json.Marshal(map[string]any{"op": "subscribe", "args": strings.Split(q, ",")})
		if cn.subscribe(strings.Split(q, ","), req) != nil {
			_ = c.CloseNow()
			return
		}
	}
	cn.run()
}

func (cn *wsConn) run() {
	ctx, cancel := context.WithCancel(cn.a.env.Context())
	defer cancel()
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
	t := time.NewTicker(cn.a.env.PingInterval)
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

// readLoop turns the client's messages into actions run by the streamer.
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
	Op   string          `json:"op"`
	Args json.RawMessage `json:"args"`
}

// request parses one client message.
func (cn *wsConn) request(data []byte) func() error {
	switch strings.TrimSpace(string(data)) {
	case "ping":
		return func() error { return cn.write([]byte("pong")) }
	case "help":
		return func() error {
			return cn.write([]byte(`{"info":"See https://www.bitmex.com/app/wsAPI and https://www.bitmex.com/explorer for more documentation.","usage":"Send a message in the format: {\"op\": string, \"args\": Array<string>}","ops":["subscribe","unsubscribe","ping"]}`))
		}
	}
	var req wsRequest
	if err := json.Unmarshal(data, &req); err != nil || req.Op == "" {
		return func() error {
			return cn.refuse(400, "Unrecognized request. See the docs or send 'help' for more details.", data)
		}
	}
	raw := bytes.Clone(data)
	var args []string
	if len(req.Args) > 0 {
		var one string
		if json.Unmarshal(req.Args, &one) == nil {
			args = []string{one}
		} else if json.Unmarshal(req.Args, &args) != nil {
			return func() error { return cn.refuse(400, "args must be a string or an array of strings.", raw) }
		}
	}
	switch req.Op {
	case "subscribe":
		return func() error { return cn.subscribe(args, raw) }
	case "unsubscribe":
		return func() error { return cn.unsubscribe(args, raw) }
	case "ping":
		return func() error { return cn.write([]byte(`{"pong":true}`)) }
	}
	return func() error { return cn.refuse(400, "Unknown or unsupported op: "+req.Op+".", raw) }
}

func (cn *wsConn) refuse(status int, msg string, req []byte) error {
	if !json.Valid(req) || len(req) == 0 || req[0] != '{' {
		req = []byte("{}")
	}
	b := fmt.Appendf(nil, `{"status":%d,"error":%q,"meta":{},"request":`, status, msg)
	b = append(b, req...)
	return cn.write(append(b, '}'))
}

func (cn *wsConn) find(topic string) int {
	for i, s := range cn.subs {
		if s.topic == topic {
			return i
		}
	}
	return -1
}

func (cn *wsConn) subscribe(topics []string, req []byte) error {
	if len(topics) == 0 {
		return cn.refuse(400, "Missing args: subscribe needs at least one topic.", req)
	}
	now := cn.a.env.Market.NowMs()
	for _, t := range topics {
		if cn.find(t) >= 0 {
			if err := cn.refuse(400, "You are already subscribed to this topic: "+t, req); err != nil {
				return err
			}
			continue
		}
		s, msg := cn.a.parseTopic(t)
		if msg != "" {
			if err := cn.refuse(400, msg, req); err != nil {
				return err
			}
			continue
		}
		b := fmt.Appendf(nil, `{"success":true,"subscribe":%q,"request":`, t)
		if err := cn.write(append(append(b, req...), '}')); err != nil {
			return err
		}
		cn.subs = append(cn.subs, s)
		if err := cn.partial(s, now); err != nil {
			return err
		}
	}
	return nil
}

func (cn *wsConn) unsubscribe(topics []string, req []byte) error {
	for _, t := range topics {
		i := cn.find(t)
		if i < 0 {
			if err := cn.refuse(400, "You weren't subscribed to "+t+".", req); err != nil {
				return err
			}
			continue
		}
		cn.subs = append(cn.subs[:i], cn.subs[i+1:]...)
		b := fmt.Appendf(nil, `{"success":true,"unsubscribe":%q,"request":`, t)
		if err := cn.write(append(append(b, req...), '}')); err != nil {
			return err
		}
	}
	return nil
}

// The partial headers of each table, as BitMEX sends them.
const (
	tradeHead = `{"table":"trade","action":"partial","keys":[],"types":{"timestamp":"timestamp","symbol":"symbol","side":"symbol","size":"long","price":"float","tickDirection":"symbol","trdMatchID":"guid","grossValue":"long","homeNotional":"float","foreignNotional":"float","trdType":"symbol"},"foreignKeys":{"symbol":"instrument","side":"side"},"attributes":{"timestamp":"sorted","symbol":"grouped"},"filter":{"symbol":"%s"},"data":`
	binHead   = `{"table":"%s","action":"partial","keys":[],"types":{"timestamp":"timestamp","symbol":"symbol","open":"float","high":"float","low":"float","close":"float","trades":"long","volume":"long","vwap":"float","lastSize":"long","turnover":"long","homeNotional":"float","foreignNotional":"float"},"foreignKeys":{"symbol":"instrument"},"attributes":{"timestamp":"sorted","symbol":"grouped"},"filter":{"symbol":"%s"},"data":`
	bookHead  = `{"table":"%s","action":"partial","keys":["symbol","id","side"],"types":{"symbol":"symbol","id":"long","side":"symbol","size":"long","price":"float","timestamp":"timestamp"},"foreignKeys":{"symbol":"instrument","side":"side"},"attributes":{"symbol":"parted","id":"sorted"},"filter":{"symbol":"%s"},"data":`
)

// partial sends a new subscription's partial: the latest trade, the
// latest closed bucket, or the book.
func (cn *wsConn) partial(s *sub, now int64) error {
	c := s.c
	switch s.kind {
	case kTrade:
		s.lastMs = now
		b := fmt.Appendf(cn.buf[:0], tradeHead, c.venue)
		b = append(b, '[')
		var last []sim.Trade
		for t := range c.sr.TradesBackward(now, now) {
			last = append(last, t)
			break
		}
		if len(last) > 0 {
			s.ticks = tickState{prev: -1}
			b = cn.a.appendTrade(b, c, last[0], s.ticks.next(last[0].Price))
		}
		cn.buf = append(b, "]}"...)
		return cn.send(cn.buf, false)
	case kBin:
		spanMs := int64(s.span) / msNs
		open := s.span.Floor(now*msNs)/msNs - spanMs
		s.nextClose = open + 2*spanMs
		b := fmt.Appendf(cn.buf[:0], binHead, s.table, c.venue)
		b = append(b, '[')
		for t := range c.sr.TradesBackward(open-1, now) {
			s.prevPrice, s.hasPrev = t.Price, true
			break
		}
		if open >= s.span.Floor(cn.a.env.Market.StartMs()*msNs)/msNs {
			b = cn.bucket(b, s, open, now)
		}
		cn.buf = append(b, "]}"...)
		return cn.send(cn.buf, false)
	case kBook:
		s.step = sim.BookStep(now)
		st := c.sr.Book(s.step, s.depth)
		s.bids, s.asks = st.Bids, st.Asks
		b := fmt.Appendf(cn.buf[:0], bookHead, s.table, c.venue)
		b = append(b, '[')
		first := true
		for i := len(st.Asks) - 1; i >= 0; i-- {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = cn.a.appendLevel(b, c, st.Asks[i], "Sell", st.Time, true, true)
		}
		for _, l := range st.Bids {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = cn.a.appendLevel(b, c, l, "Buy", st.Time, true, true)
		}
		cn.buf = append(b, "]}"...)
		return cn.send(cn.buf, false)
	}
	return nil
}

// bucket appends the bucket opening at open and advances the carried
// close.
func (cn *wsConn) bucket(b []byte, s *sub, open, now int64) []byte {
	spanMs := int64(s.span) / msNs
	cd := s.c.sr.Aggregate(open, open+spanMs, now)
	b = cn.a.appendBucket(b, s.c, open+spanMs, cd, s.prevPrice, s.hasPrev)
	if cd.Trades > 0 {
		s.prevPrice, s.hasPrev = cd.Close, true
	}
	return b
}

func (cn *wsConn) write(b []byte) error {
	ctx, cancel := context.WithTimeout(cn.a.env.Context(), 10*time.Second)
	defer cancel()
	return cn.c.Write(ctx, websocket.MessageText, b)
}

// errClose asks the stream loop to drop the connection.
var errClose = fmt.Errorf("close")

// send writes a table message, applying WebSocket faults; diff marks an
// order-book change (eligible for injected gaps).
func (cn *wsConn) send(b []byte, diff bool) error {
	act := cn.faults.Next(diff)
	if act.Skip {
		return nil
	}
	if act.Delay > 0 {
		t := time.NewTimer(act.Delay)
		select {
		case <-cn.a.env.Done():
			t.Stop()
			return errClose
		case <-t.C:
		}
	}
	n := 1
	if act.Duplicate {
		n = 2
	}
	for i := 0; i < n; i++ {
		if err := cn.write(b); err != nil {
			return err
		}
	}
	cn.a.env.Stats.WSMessages(n)
	if act.Close {
		return errClose
	}
	return nil
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
			if cn.flush() != nil {
				return
			}
		}
	}
}

// maxSteps bounds the book steps one subscription sends per flush, so a
// very fast virtual clock cannot starve the others.
const maxSteps = 2000

// maxRows bounds the rows of one trade insert message.
const maxRows = 500

// flush sends everything that happened up to the virtual now.
func (cn *wsConn) flush() error {
	now := cn.a.env.Market.NowMs()
	for _, s := range cn.subs {
		var err error
		switch s.kind {
		case kTrade:
			err = cn.flushTrades(s, now)
		case kBin:
			err = cn.flushBins(s, now)
		case kBook:
			err = cn.flushBook(s, now)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (cn *wsConn) flushTrades(s *sub, now int64) error {
	if now <= s.lastMs {
		return nil
	}
	c := s.c
	head := []byte(`{"table":"trade","action":"insert","data":[`)
	b := append(cn.buf[:0], head...)
	n := 0
	for t := range c.sr.TradesFrom(s.lastMs+1, now) {
		if n == maxRows {
			cn.buf = append(b, "]}"...)
			if err := cn.send(cn.buf, false); err != nil {
				return err
			}
			b, n = append(cn.buf[:0], head...), 0
		}
		if n > 0 {
			b = append(b, ',')
		}
		b = cn.a.appendTrade(b, c, t, s.ticks.next(t.Price))
		n++
	}
	s.lastMs = now
	if n == 0 {
		cn.buf = b
		return nil
	}
	cn.buf = append(b, "]}"...)
	return cn.send(cn.buf, false)
}

func (cn *wsConn) flushBins(s *sub, now int64) error {
	spanMs := int64(s.span) / msNs
	for s.nextClose <= now {
		b := fmt.Appendf(cn.buf[:0], `{"table":"%s","action":"insert","data":[`, s.table)
		b = cn.bucket(b, s, s.nextClose-spanMs, now)
		cn.buf = append(b, "]}"...)
		s.nextClose += spanMs
		if err := cn.send(cn.buf, false); err != nil {
			return err
		}
	}
	return nil
}

// flushBook sends each book step's changes as BitMEX does: a delete, an
// insert and an update message (those that are not empty), in that order,
// so no intermediate state is crossed.
func (cn *wsConn) flushBook(s *sub, now int64) error {
	cur := sim.BookStep(now)
	for n := 0; s.step < cur && n < maxSteps; n++ {
		s.step++
		st := s.c.sr.Book(s.step, s.depth)
		var del, ins, upd [][]byte
		del, ins, upd = cn.diffSide(s, s.bids, st.Bids, "Buy", st.Time, true, del, ins, upd)
		del, ins, upd = cn.diffSide(s, s.asks, st.Asks, "Sell", st.Time, false, del, ins, upd)
		s.bids, s.asks = st.Bids, st.Asks
		for _, m := range []struct {
			action string
			rows   [][]byte
		}{{"delete", del}, {"insert", ins}, {"update", upd}} {
			if len(m.rows) == 0 {
				continue
			}
			b := fmt.Appendf(cn.buf[:0], `{"table":"%s","action":"%s","data":[`, s.table, m.action)
			b = append(b, bytes.Join(m.rows, []byte{','})...)
			cn.buf = append(b, "]}"...)
			if err := cn.send(cn.buf, true); err != nil {
				return err
			}
		}
	}
	return nil
}

// diffSide compares one side's old and new levels (both best first) and
// appends the delete, insert and update rows.
func (cn *wsConn) diffSide(s *sub, old, nw []sim.BookLevel, side string, ms int64, desc bool, del, ins, upd [][]byte) ([][]byte, [][]byte, [][]byte) {
	before := func(x, y int64) bool { // x comes before y on this side
		if desc {
			return x > y
		}
		return x < y
	}
	legacy := cn.a.legacyL2
	i, j := 0, 0
	for i < len(old) || j < len(nw) {
		switch {
		case j == len(nw) || (i < len(old) && before(old[i].Price, nw[j].Price)):
			del = append(del, cn.a.appendLevel(nil, s.c, old[i], side, ms, false, !legacy))
			i++
		case i == len(old) || before(nw[j].Price, old[i].Price):
			ins = append(ins, cn.a.appendLevel(nil, s.c, nw[j], side, ms, true, true))
			j++
		default:
			if old[i].Qty != nw[j].Qty {
				upd = append(upd, cn.a.appendLevel(nil, s.c, nw[j], side, ms, true, !legacy))
			}
			i, j = i+1, j+1
		}
	}
	return del, ins, upd
}
