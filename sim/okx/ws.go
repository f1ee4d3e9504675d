package okx

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/pype-go/pype/sim"
)

// Channel kinds.
const (
	kBooks = iota + 1
	kBooks5
	kBBO
	kTrades
	kTradesAll
	kCandle
)

// checksumLevels is the number of levels per side OKX's checksum covers.
const checksumLevels = 25

// sub is one channel subscription; its fields belong to the streamer
// goroutine.
type sub struct {
	channel string
	instID  string
	kind    int
	sr      *sim.Series
	br      bar
	lastMs  int64 // trades: everything ≤ lastMs was sent
	step    int64 // books: last step sent (or skipped by a fault)
	seq     int64 // books: seqId of the last update the client should have
	snap    bool  // books: a snapshot is due
	top     []byte
	barOpen int64 // candles: open of the bar in progress
	emitMs  int64 // candles: last push of the bar in progress
	last    sim.Candle
}

func (s *sub) start(now int64) {
	s.lastMs = now
	s.snap = true
	s.step = sim.BookStep(now)
	s.top = s.top[:0]
	if s.kind == kCandle {
		s.barOpen = s.br.floor(now)
		s.emitMs = now - 1000 // push the bar in progress at once
		s.last = sim.Candle{}
	}
}

// wsConn is one WebSocket connection.
type wsConn struct {
	a        *api
	c        *websocket.Conn
	business bool
	connID   string
	subs     []*sub
	faults   *sim.WSFaults
	ctl      chan func() error
	active   atomic.Int64 // wall ns of the last message in either direction
	buf      []byte
	diff     sim.BookDiff
	updates  int // books updates sent, for the checksum-error option
}

var connIDs atomic.Uint64

func (a *api) serveWS(w http.ResponseWriter, r *http.Request) {
	var business bool
	switch r.URL.Path {
	case "/ws/v5/public":
	case "/ws/v5/business":
		business = true
	default:
		http.Error(w, "404 Not Found", http.StatusNotFound)
		return
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		http.Error(w, "Bad Request: a WebSocket upgrade is required", http.StatusBadRequest)
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
	c.SetReadLimit(1 << 16) // OKX: a request may not exceed 64 KB
	n := connIDs.Add(1)
	cn := &wsConn{a: a, c: c, business: business, faults: a.env.Faults.NewWSFaults(), ctl: make(chan func() error),
		connID: fmt.Sprintf("%08x", uint32(n*0x9e3779b1))}
	cn.active.Store(time.Now().UnixNano())
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

// readLoop hands the client's messages to the streamer goroutine.
func (cn *wsConn) readLoop(ctx context.Context) {
	for {
		_, data, err := cn.c.Read(ctx)
		if err != nil {
			return
		}
		cn.active.Store(time.Now().UnixNano())
		f := cn.request(data)
		select {
		case cn.ctl <- f:
		case <-ctx.Done():
			return
		}
	}
}

type wsArg struct {
	Channel string `json:"channel"`
	InstID  string `json:"instId"`
}

type wsRequest struct {
	ID   string  `json:"id"`
	Op   string  `json:"op"`
	Args []wsArg `json:"args"`
}

// request turns one client message into an action run by the streamer.
func (cn *wsConn) request(data []byte) func() error {
	if string(data) == "ping" {
		return func() error { return cn.write([]byte("pong")) }
	}
	var req wsRequest
	if err := json.Unmarshal(data, &req); err != nil || req.Op == "" {
		raw := string(data)
		return func() error { return cn.write(cn.errorEvent("", "60012", "Invalid request: "+raw)) }
	}
	switch req.Op {
	case "subscribe", "unsubscribe":
	case "login":
		return func() error { return cn.write(cn.errorEvent(req.ID, "60009", "Login failure")) }
	default:
		return func() error { return cn.write(cn.errorEvent(req.ID, "60019", "Invalid op: "+req.Op)) }
	}
	if len(req.Args) == 0 {
		return func() error { return cn.write(cn.errorEvent(req.ID, "60013", "Invalid args")) }
	}
	return func() error {
		now := cn.a.env.Market.NowMs()
		for _, arg := range req.Args {
			if req.Op == "unsubscribe" {
				if i := cn.find(arg); i >= 0 {
					cn.subs = append(cn.subs[:i], cn.subs[i+1:]...)
				}
				if err := cn.write(cn.ack(req.ID, "unsubscribe", arg)); err != nil {
					return err
				}
				continue
			}
			s, code, msg := cn.a.parseSub(arg, cn.business)
			if s == nil {
				if err := cn.write(cn.errorEvent(req.ID, code, msg)); err != nil {
					return err
				}
				continue
			}
			if err := cn.write(cn.ack(req.ID, "subscribe", arg)); err != nil {
				return err
			}
			if i := cn.find(arg); i >= 0 {
				s = cn.subs[i] // subscribing again restarts the channel (a fresh snapshot)
			} else {
				cn.subs = append(cn.subs, s)
			}
			s.start(now)
		}
		return nil
	}
}

// parseSub validates a subscription argument for the endpoint.
func (a *api) parseSub(arg wsArg, business bool) (*sub, string, string) {
	notFound := fmt.Sprintf("Wrong URL or channel:%s,instId:%s doesn't exist. Please use the correct URL, channel and parameters referring to API document.", arg.Channel, arg.InstID)
	if arg.Channel == "" {
		return nil, "60013", "Invalid args"
	}
	s := &sub{channel: arg.Channel, instID: arg.InstID}
	var onBusiness bool
	switch {
	case arg.Channel == "books":
		s.kind = kBooks
	case arg.Channel == "books5":
		s.kind = kBooks5
	case arg.Channel == "bbo-tbt":
		s.kind = kBBO
	case arg.Channel == "trades":
		s.kind = kTrades
	case arg.Channel == "books-l2-tbt" || arg.Channel == "books50-l2-tbt":
		return nil, "60011", "Please log in"
	case arg.Channel == "trades-all":
		s.kind, onBusiness = kTradesAll, true
	case strings.HasPrefix(arg.Channel, "candle"):
		br, ok := bars[arg.Channel[len("candle"):]]
		if !ok {
			return nil, "60018", notFound
		}
		s.kind, s.br, onBusiness = kCandle, br, true
	default:
		return nil, "60018", notFound
	}
	if onBusiness && !business {
		return nil, "64001", "This channel has been migrated to the '/business' URL. Please subscribe using the new URL. More details can refer to: https://www.okx.com/help-center/changes-to-v5-api-websocket-subscription-parameter-and-url."
	}
	if !onBusiness && business {
		return nil, "64002", `This channel is not supported by "/business" URL. Please use "/private" URL(for private channels), or "/public" URL(for public channels). More details can refer to: https://www.okx.com/help-center/changes-to-v5-api-websocket-subscription-parameter-and-url.`
	}
	if arg.InstID == "" {
		return nil, "60018", notFound
	}
	if s.sr = a.bySym[arg.InstID]; s.sr == nil {
		return nil, "60018", notFound
	}
	return s, "", ""
}

func (cn *wsConn) find(arg wsArg) int {
	for i, s := range cn.subs {
		if s.channel == arg.Channel && s.instID == arg.InstID {
			return i
		}
	}
	return -1
}

func appendArg(b []byte, channel, instID string) []byte {
	b = append(b, `{"channel":`...)
	b = strconv.AppendQuote(b, channel)
	b = append(b, `,"instId":`...)
	b = strconv.AppendQuote(b, instID)
	return append(b, '}')
}

func (cn *wsConn) ack(id, event string, arg wsArg) []byte {
	b := []byte{'{'}
	if id != "" {
		b = append(b, `"id":`...)
		b = strconv.AppendQuote(b, id)
		b = append(b, ',')
	}
	b = append(b, `"event":"`...)
	b = append(b, event...)
	b = append(b, `","arg":`...)
	b = appendArg(b, arg.Channel, arg.InstID)
	b = append(b, `,"connId":"`...)
	b = append(b, cn.connID...)
	return append(b, `"}`...)
}

func (cn *wsConn) errorEvent(id, code, msg string) []byte {
	b := []byte{'{'}
	if id != "" {
		b = append(b, `"id":`...)
		b = strconv.AppendQuote(b, id)
		b = append(b, ',')
	}
	b = append(b, `"event":"error","code":"`...)
	b = append(b, code...)
	b = append(b, `","msg":`...)
	b = strconv.AppendQuote(b, msg)
	b = append(b, `,"connId":"`...)
	b = append(b, cn.connID...)
	return append(b, `"}`...)
}

// write sends a control message (acks, errors, pong) without faults.
func (cn *wsConn) write(b []byte) error {
	ctx, cancel := context.WithTimeout(cn.a.env.Context(), 10*time.Second)
	defer cancel()
	cn.active.Store(time.Now().UnixNano())
	return cn.c.Write(ctx, websocket.MessageText, b)
}

// maxPerTick bounds the messages one subscription sends per flush, so a
// very fast virtual clock cannot starve the others.
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
			if time.Since(time.Unix(0, cn.active.Load())) > cn.a.idleTimeout {
				_ = cn.c.Close(4004, "No data received in 30s")
				return
			}
			if cn.flush(ctx) != nil {
				return
			}
		}
	}
}

// errClose asks the stream loop to drop the connection.
var errClose = fmt.Errorf("close")

// flush sends everything that happened up to the virtual now.
func (cn *wsConn) flush(ctx context.Context) error {
	now := cn.a.env.Market.NowMs()
	for _, s := range cn.subs {
		var err error
		switch s.kind {
		case kBooks:
			err = cn.flushBooks(ctx, s, now)
		case kBooks5, kBBO:
			err = cn.flushTop(ctx, s, now)
		case kTrades:
			err = cn.flushAggTrades(ctx, s, now)
		case kTradesAll:
			err = cn.flushTrades(ctx, s, now)
		case kCandle:
			err = cn.flushCandle(ctx, s, now)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// send writes a data message, applying the WebSocket faults; depth marks
// a books update (eligible for the depthgap fault). It reports whether the
// message was skipped by a fault.
func (cn *wsConn) send(ctx context.Context, msg []byte, depth bool) (skipped bool, err error) {
	act := cn.faults.Next(depth)
	if act.Skip {
		return true, nil
	}
	if act.Delay > 0 {
		t := time.NewTimer(act.Delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return false, ctx.Err()
		case <-t.C:
		}
	}
	n := 1
	if act.Duplicate {
		n = 2
	}
	for range n {
		if err := cn.c.Write(ctx, websocket.MessageText, msg); err != nil {
			return false, err
		}
	}
	cn.active.Store(time.Now().UnixNano())
	cn.a.env.Stats.WSMessages(n)
	if act.Close {
		return false, errClose
	}
	return false, nil
}

// head starts a push message: {"arg":{…},
func (cn *wsConn) head(s *sub) []byte {
	b := append(cn.buf[:0], `{"arg":`...)
	b = appendArg(b, s.channel, s.instID)
	return append(b, ',')
}

// Checksum returns OKX's book checksum of the top 25 levels of st, as the
// signed 32-bit value OKX sends: CRC32 (IEEE) of "bidPx:bidSz:askPx:askSz:…"
// with the decimal strings the simulator prints.
func Checksum(sr *sim.Series, st sim.BookState) int32 {
	var buf [4096]byte
	b := buf[:0]
	for i := range checksumLevels {
		if i < len(st.Bids) {
			if len(b) > 0 {
				b = append(b, ':')
			}
			b = sr.AppendPrice(b, st.Bids[i].Price, shortest)
			b = append(b, ':')
			b = sr.AppendQty(b, st.Bids[i].Qty, shortest)
		}
		if i < len(st.Asks) {
			if len(b) > 0 {
				b = append(b, ':')
			}
			b = sr.AppendPrice(b, st.Asks[i].Price, shortest)
			b = append(b, ':')
			b = sr.AppendQty(b, st.Asks[i].Qty, shortest)
		}
	}
	return int32(crc32.ChecksumIEEE(b))
}

// bookData appends a books message's data object.
func (cn *wsConn) bookData(b []byte, sr *sim.Series, bids, asks []sim.BookLevel, ts, checksum, prev, seq int64) []byte {
	b = append(b, `"data":[{"asks":`...)
	b = appendLevels(b, sr, asks, false)
	b = append(b, `,"bids":`...)
	b = appendLevels(b, sr, bids, false)
	b = append(b, `,"ts":"`...)
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, `","checksum":`...)
	b = strconv.AppendInt(b, checksum, 10)
	b = append(b, `,"prevSeqId":`...)
	b = strconv.AppendInt(b, prev, 10)
	b = append(b, `,"seqId":`...)
	b = strconv.AppendInt(b, seq, 10)
	return append(b, `}]}`...)
}

func (cn *wsConn) flushBooks(ctx context.Context, s *sub, now int64) error {
	sr := s.sr
	cur := sim.BookStep(now)
	if s.snap {
		s.snap = false
		st := sr.Book(cur, 0)
		top := st
		top.Bids, top.Asks = st.Bids[:min(len(st.Bids), checksumLevels)], st.Asks[:min(len(st.Asks), checksumLevels)]
		b := cn.head(s)
		b = append(b, `"action":"snapshot",`...)
		b = cn.bookData(b, sr, st.Bids, st.Asks, max(st.Time, now), int64(Checksum(sr, top)), -1, st.UpdateID)
		cn.buf = b
		s.step, s.seq = cur, st.UpdateID
		if _, err := cn.send(ctx, b, false); err != nil {
			return err
		}
	}
	n := 0
	for s.step < cur && n < maxPerTick {
		s.step++
		n++
		sr.DiffRange(s.step, s.step, &cn.diff)
		d := &cn.diff
		if len(d.Bids)+len(d.Asks) == 0 {
			continue // nothing changed: OKX sends nothing (keep-alives come after 60 s)
		}
		sum := int64(Checksum(sr, sr.Book(s.step, checksumLevels)))
		cn.updates++
		if e := cn.a.badChecksumEvery; e > 0 && cn.updates%e == 0 {
			sum = int64(int32(uint32(sum) ^ 1))
		}
		b := cn.head(s)
		b = append(b, `"action":"update",`...)
		b = cn.bookData(b, sr, d.Bids, d.Asks, d.Time, sum, s.seq, d.LastID)
		cn.buf = b
		s.seq = d.LastID // also when a fault skips it: the client misses it
		if _, err := cn.send(ctx, b, true); err != nil {
			return err
		}
	}
	return nil
}

// flushTop sends books5 and bbo-tbt snapshots when the top levels change.
func (cn *wsConn) flushTop(ctx context.Context, s *sub, now int64) error {
	sr := s.sr
	cur := sim.BookStep(now)
	depth := 5
	if s.kind == kBBO {
		depth = 1
	}
	if s.snap {
		s.snap = false
		s.step = cur - 1
	}
	n := 0
	for s.step < cur && n < maxPerTick {
		s.step++
		n++
		st := sr.Book(s.step, depth)
		levels := appendLevels(appendLevels(nil, sr, st.Asks, false), sr, st.Bids, false)
		if string(levels) == string(s.top) {
			continue
		}
		s.top = levels
		b := cn.head(s)
		b = append(b, `"data":[{"asks":`...)
		b = appendLevels(b, sr, st.Asks, false)
		b = append(b, `,"bids":`...)
		b = appendLevels(b, sr, st.Bids, false)
		if s.kind == kBooks5 {
			b = append(b, `,"instId":"`...)
			b = append(b, s.instID...)
			b = append(b, '"')
		}
		b = append(b, `,"ts":"`...)
		b = strconv.AppendInt(b, st.Time, 10)
		b = append(b, `","seqId":`...)
		b = strconv.AppendInt(b, st.UpdateID, 10)
		b = append(b, `}]}`...)
		cn.buf = b
		if _, err := cn.send(ctx, b, false); err != nil {
			return err
		}
	}
	return nil
}

func (cn *wsConn) tradeMsg(s *sub, t sim.Trade, count int64) []byte {
	b := cn.head(s)
	b = append(b, `"data":[{"instId":"`...)
	b = append(b, s.instID...)
	b = append(b, `","tradeId":"`...)
	b = strconv.AppendInt(b, t.ID, 10)
	b = append(b, `","px":"`...)
	b = s.sr.AppendPrice(b, t.Price, shortest)
	b = append(b, `","sz":"`...)
	b = s.sr.AppendQty(b, t.Qty, shortest)
	b = append(b, `","side":"`...)
	b = append(b, side(t.BuyerMaker)...)
	b = append(b, `","ts":"`...)
	b = strconv.AppendInt(b, t.Time, 10)
	if count > 0 {
		b = append(b, `","count":"`...)
		b = strconv.AppendInt(b, count, 10)
	}
	b = append(b, `"}]}`...)
	cn.buf = b
	return b
}

// flushAggTrades sends the trades channel: one message per taker order and
// price (tradeId = its last fill, count = its fills).
func (cn *wsConn) flushAggTrades(ctx context.Context, s *sub, now int64) error {
	n := 0
	for t := range s.sr.AggTradesFrom(s.lastMs+1, now) {
		if n >= maxPerTick && t.Time > s.lastMs {
			return nil
		}
		b := cn.tradeMsg(s, sim.Trade{ID: t.LastTradeID, Time: t.Time, Price: t.Price, Qty: t.Qty, BuyerMaker: t.BuyerMaker},
			t.LastTradeID-t.FirstTradeID+1)
		if _, err := cn.send(ctx, b, false); err != nil {
			return err
		}
		s.lastMs = t.Time
		n++
	}
	s.lastMs = max(s.lastMs, now)
	return nil
}

// flushTrades sends the trades-all channel: one message per fill.
func (cn *wsConn) flushTrades(ctx context.Context, s *sub, now int64) error {
	n := 0
	for t := range s.sr.TradesFrom(s.lastMs+1, now) {
		if n >= maxPerTick && t.Time > s.lastMs {
			return nil
		}
		if _, err := cn.send(ctx, cn.tradeMsg(s, t, 0), false); err != nil {
			return err
		}
		s.lastMs = t.Time
		n++
	}
	s.lastMs = max(s.lastMs, now)
	return nil
}

// flushCandle pushes every closed bar once (confirm "1") and the bar in
// progress (confirm "0") at most once a second when it changed.
func (cn *wsConn) flushCandle(ctx context.Context, s *sub, now int64) error {
	n := 0
	for {
		next := s.br.next(s.barOpen)
		if next-1 > now || n >= maxPerTick {
			break
		}
		c := s.sr.Aggregate(s.barOpen, next, next-1)
		if c.Trades > 0 {
			c.OpenTime = s.barOpen
			if err := cn.sendCandle(ctx, s, c, true); err != nil {
				return err
			}
		}
		s.barOpen, s.last = next, sim.Candle{}
		n++
	}
	if now-s.emitMs >= 1000 {
		s.emitMs = now
		c := s.sr.Aggregate(s.barOpen, s.br.next(s.barOpen), now)
		c.OpenTime = s.barOpen
		if c.Trades > 0 && c != s.last {
			s.last = c
			return cn.sendCandle(ctx, s, c, false)
		}
	}
	return nil
}

func (cn *wsConn) sendCandle(ctx context.Context, s *sub, c sim.Candle, closed bool) error {
	sr := s.sr
	b := cn.head(s)
	b = append(b, `"data":[["`...)
	b = strconv.AppendInt(b, c.OpenTime, 10)
	b = append(b, `","`...)
	b = sr.AppendPrice(b, c.Open, shortest)
	b = append(b, `","`...)
	b = sr.AppendPrice(b, c.High, shortest)
	b = append(b, `","`...)
	b = sr.AppendPrice(b, c.Low, shortest)
	b = append(b, `","`...)
	b = sr.AppendPrice(b, c.Close, shortest)
	b = append(b, `","`...)
	b = sr.AppendQty(b, c.Volume, shortest)
	quote := sr.Quote(c.Quote).Trim(0).String()
	b = append(b, `","`...)
	b = append(b, quote...)
	b = append(b, `","`...)
	b = append(b, quote...)
	if closed {
		b = append(b, `","1"]]}`...)
	} else {
		b = append(b, `","0"]]}`...)
	}
	cn.buf = b
	_, err := cn.send(ctx, b, false)
	return err
}
