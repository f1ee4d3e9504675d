package bitfinex

import (
	"context"
	"encoding/json"
	"hash/crc32"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
)

// Conf flags the simulator honours.
const (
	flagSeqAll   = 65536
	flagChecksum = 131072
)

// Channel kinds.
const (
	kTrades = iota + 1
	kBook
	kCandles
)

// wsSub is one subscribed channel; its fields belong to the stream loop.
type wsSub struct {
	id     int64
	kind   int
	sr     *sim.Series
	sym    string // tBTCUSD
	key    string // candles: trade:1m:tBTCUSD
	length int    // book len
	span   domain.Span
	lastMs int64 // trades/candles: everything up to lastMs was sent
	tu     []sim.Trade
	step   int64 // book: last step published
	bids   []sim.BookLevel
	asks   []sim.BookLevel
	sentAt time.Time // wall time of the last frame (heartbeats)
}

// wsConn is one WebSocket connection.
type wsConn struct {
	a        *api
	c        *websocket.Conn
	subs     []*wsSub
	seqAll   bool
	checksum bool
	seq      int64
	faults   *sim.WSFaults
	ctl      chan func() error
	buf      []byte
	cs       []byte
	frames   int // data frames sent
	csSent   int
	updates  int       // book level updates sent
	stopping bool      // 20051 sent: no more data
	maintAt  time.Time // maintenance pause ends (zero: none)
	maintDone,
	restartDone bool
}

func (a *api) serveWS(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Upgrade") == "" {
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
	cn := &wsConn{a: a, c: c, faults: a.env.Faults.NewWSFaults(), ctl: make(chan func() error)}
	cn.run()
}

func (cn *wsConn) run() {
	ctx, cancel := context.WithCancel(cn.a.env.Context())
	defer cancel()
	if cn.event(map[string]any{"event": "info", "version": 2, "serverId": "pype-sim-bitfinex", "platform": map[string]int{"status": 1}}) != nil {
		_ = cn.c.CloseNow()
		return
	}
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

// event writes a JSON event object (no sequence number, no faults).
func (cn *wsConn) event(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(cn.a.env.Context(), 10*time.Second)
	defer cancel()
	return cn.c.Write(ctx, websocket.MessageText, b)
}

func errorEvent(code int, msg string, extra map[string]any) map[string]any {
	m := map[string]any{"event": "error", "msg": msg, "code": code}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

type wsRequest struct {
	Event   string          `json:"event"`
	Channel string          `json:"channel"`
	Symbol  string          `json:"symbol"`
	Pair    string          `json:"pair"`
	Key     string          `json:"key"`
	Prec    string          `json:"prec"`
	Freq    string          `json:"freq"`
	Len     json.RawMessage `json:"len"`
	ChanID  int64           `json:"chanId"`
	Flags   int64           `json:"flags"`
	CID     json.RawMessage `json:"cid"`
	SubID   json.RawMessage `json:"subId"`
}

// request parses one client message into an action run by the stream loop.
func (cn *wsConn) request(data []byte) func() error {
	var req wsRequest
	if err := json.Unmarshal(data, &req); err != nil {
		return func() error { return cn.event(errorEvent(10000, "Unknown event", nil)) }
	}
	switch req.Event {
	case "conf":
		return func() error {
			cn.seqAll, cn.checksum = req.Flags&flagSeqAll != 0, req.Flags&flagChecksum != 0
			return cn.event(map[string]any{"event": "conf", "status": "OK", "flags": req.Flags})
		}
	case "ping":
		return func() error {
			m := map[string]any{"event": "pong", "ts": cn.a.env.ServerTimeMs()}
			if len(req.CID) > 0 {
				m["cid"] = req.CID
			}
			return cn.event(m)
		}
	case "subscribe":
		return func() error { return cn.subscribe(&req) }
	case "unsubscribe":
		return func() error {
			for i, s := range cn.subs {
				if s.id == req.ChanID {
					cn.subs = append(cn.subs[:i], cn.subs[i+1:]...)
					return cn.event(map[string]any{"event": "unsubscribed", "status": "OK", "chanId": req.ChanID})
				}
			}
			return cn.event(errorEvent(10400, "unsubscribe: invalid", map[string]any{"chanId": req.ChanID}))
		}
	}
	return func() error { return cn.event(errorEvent(10000, "Unknown event", nil)) }
}

// subscribe validates a subscription, answers "subscribed" and sends the
// channel's snapshot.
func (cn *wsConn) subscribe(req *wsRequest) error {
	a := cn.a
	sym := req.Symbol
	if sym == "" && req.Pair != "" {
		sym = "t" + req.Pair
	}
	fail := func(code int, msg string) error {
		extra := map[string]any{"channel": req.Channel}
		if req.Key != "" {
			extra["key"] = req.Key
		} else {
			extra["symbol"] = sym
			extra["pair"] = req.Pair
		}
		if len(req.SubID) > 0 {
			extra["subId"] = req.SubID
		}
		return cn.event(errorEvent(code, msg, extra))
	}
	s := &wsSub{sym: sym}
	switch req.Channel {
	case "trades":
		s.kind = kTrades
	case "book":
		s.kind = kBook
		if req.Prec != "" && req.Prec != "P0" {
			return fail(10011, "Unknown Book precision")
		}
		s.length = 25
		if len(req.Len) > 0 {
			var v any
			_ = json.Unmarshal(req.Len, &v)
			n := 0
			switch x := v.(type) {
			case string:
				n, _ = strconv.Atoi(x)
			case float64:
				n = int(x)
			}
			if n != 1 && n != 25 && n != 100 && n != 250 {
				return fail(10012, "Unknown Book length")
			}
			s.length = n
		}
	case "candles":
		s.kind = kCandles
		kind, rest, _ := cutColon(req.Key)
		tf, symb, _ := cutColon(rest)
		span, ok := timeframes[tf]
		if kind != "trade" || !ok {
			return fail(10300, "key: invalid")
		}
		s.key, s.span, sym, s.sym = req.Key, span, symb, symb
	default:
		return fail(10302, "subscribe: unknown channel")
	}
	s.sr = a.bySym[sym]
	if s.sr == nil {
		return fail(10300, "symbol: invalid")
	}
	for _, o := range cn.subs {
		if o.kind == s.kind && o.sym == s.sym && o.key == s.key {
			return fail(10301, "subscribe: dup")
		}
	}
	if len(cn.subs) >= a.maxChannels {
		return fail(10305, "subscribe: limit")
	}
	a.mu.Lock()
	a.chanSeq++
	s.id = 10000 + a.chanSeq*7
	a.mu.Unlock()
	cn.subs = append(cn.subs, s)
	ev := map[string]any{"event": "subscribed", "channel": req.Channel, "chanId": s.id}
	pair := sym[1:]
	switch s.kind {
	case kTrades:
		ev["symbol"], ev["pair"] = sym, pair
	case kBook:
		ev["symbol"], ev["prec"], ev["freq"], ev["len"], ev["pair"] = sym, "P0", "F0", strconv.Itoa(s.length), pair
	case kCandles:
		ev["key"] = s.key
	}
	if len(req.SubID) > 0 {
		ev["subId"] = req.SubID
	}
	if err := cn.event(ev); err != nil {
		return err
	}
	return cn.snapshot(cn.a.env.Context(), s, cn.a.env.Market.NowMs())
}

func cutColon(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// snapshot sends a channel's first frame.
func (cn *wsConn) snapshot(ctx context.Context, s *wsSub, now int64) error {
	b := cn.head(s)
	b = append(b, '[')
	switch s.kind {
	case kTrades:
		n := 0
		for t := range s.sr.TradesBackward(now, now) {
			if n == 30 {
				break
			}
			if n > 0 {
				b = append(b, ',')
			}
			b = appendTrade(b, s.sr, t)
			n++
		}
		s.lastMs = now
	case kCandles:
		cs := s.sr.Candles(s.span, 0, now, now, 240, true)
		for i := range cs {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendCandle(b, s.sr, &cs[len(cs)-1-i])
		}
		s.lastMs = now
	case kBook:
		s.step = sim.BookStep(now)
		st := s.sr.Book(s.step, s.length)
		s.bids, s.asks = append(s.bids[:0], st.Bids...), append(s.asks[:0], st.Asks...)
		first := true
		for _, l := range s.bids {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendLevel(b, s.sr, l, false)
		}
		for _, l := range s.asks {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendLevel(b, s.sr, l, true)
		}
	}
	b = append(b, ']')
	if err := cn.send(ctx, s, b, false); err != nil {
		return err
	}
	if s.kind == kBook {
		return cn.sendChecksum(ctx, s)
	}
	return nil
}

// head starts a data frame: "[chanId,".
func (cn *wsConn) head(s *wsSub) []byte {
	b := append(cn.buf[:0], '[')
	b = strconv.AppendInt(b, s.id, 10)
	return append(b, ',')
}

// send finishes a data frame (the sequence number with SEQ_ALL, then ']')
// and writes it, applying WebSocket faults. A skipped frame still uses its
// sequence number, so the client sees the gap.
func (cn *wsConn) send(ctx context.Context, s *wsSub, b []byte, bookUpdate bool) error {
	cn.seq++
	if cn.seqAll {
		b = append(b, ',')
		b = strconv.AppendInt(b, cn.seq, 10)
	}
	b = append(b, ']')
	cn.buf = b
	act := cn.faults.Next(bookUpdate)
	s.sentAt = time.Now()
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
		if err := cn.c.Write(ctx, websocket.MessageText, b); err != nil {
			return err
		}
	}
	cn.a.env.Stats.WSMessages(n)
	cn.frames++
	if act.Close {
		return errClose
	}
	return nil
}

type closeErr struct{}

func (closeErr) Error() string { return "close" }

var errClose error = closeErr{}

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

// flush sends what happened up to the virtual now, the venue's info
// events injected by options, and heartbeats.
func (cn *wsConn) flush(ctx context.Context) error {
	a := cn.a
	if cn.stopping {
		return nil
	}
	if a.reconnectAfter > 0 && !cn.restartDone && cn.frames >= a.reconnectAfter {
		cn.restartDone, cn.stopping = true, true
		if err := cn.event(map[string]any{"event": "info", "code": 20051, "msg": "Stopping. Please try to reconnect"}); err != nil {
			return err
		}
		go func() { // the server goes away shortly after
			t := time.NewTimer(2 * time.Second)
			defer t.Stop()
			select {
			case <-t.C:
				_ = cn.c.Close(websocket.StatusGoingAway, "restart")
			case <-ctx.Done():
			}
		}()
		return nil
	}
	if a.maintAfter > 0 && !cn.maintDone && cn.frames >= a.maintAfter {
		cn.maintDone, cn.maintAt = true, time.Now().Add(a.maintFor)
		return cn.event(map[string]any{"event": "info", "code": 20060,
			"msg": "Entering in Maintenance mode. Please pause any activity and resume after receiving the info message 20061 (it should take 120 seconds at most)."})
	}
	if !cn.maintAt.IsZero() {
		if time.Now().Before(cn.maintAt) {
			return nil
		}
		cn.maintAt = time.Time{}
		// After maintenance the data resume where they were; the client
		// is told to resubscribe.
		if err := cn.event(map[string]any{"event": "info", "code": 20061,
			"msg": "Maintenance ended. You can resume normal activity. It is advised to unsubscribe/subscribe again all channels."}); err != nil {
			return err
		}
	}
	now := a.env.Market.NowMs()
	for _, s := range cn.subs {
		var err error
		switch s.kind {
		case kTrades:
			err = cn.flushTrades(ctx, s, now)
		case kCandles:
			err = cn.flushCandles(ctx, s, now)
		case kBook:
			err = cn.flushBook(ctx, s, now)
		}
		if err == nil && time.Since(s.sentAt) >= a.hbEvery {
			b := cn.head(s)
			b = append(b, `"hb"`...)
			err = cn.send(ctx, s, b, false)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// maxPerFlush bounds what one subscription sends per flush.
const maxPerFlush = 5000

// flushTrades sends the "tu" repeats of the previous flush's trades, then a
// "te" for every new trade.
func (cn *wsConn) flushTrades(ctx context.Context, s *wsSub, now int64) error {
	for _, t := range s.tu {
		b := cn.head(s)
		b = append(b, `"tu",`...)
		b = appendTrade(b, s.sr, t)
		if err := cn.send(ctx, s, b, false); err != nil {
			return err
		}
	}
	s.tu = s.tu[:0]
	n := 0
	for t := range s.sr.TradesFrom(s.lastMs+1, now) {
		if n >= maxPerFlush && t.Time > s.lastMs {
			return nil
		}
		b := cn.head(s)
		b = append(b, `"te",`...)
		b = appendTrade(b, s.sr, t)
		if err := cn.send(ctx, s, b, false); err != nil {
			return err
		}
		s.tu = append(s.tu, t)
		s.lastMs = t.Time
		n++
	}
	s.lastMs = max(s.lastMs, now)
	return nil
}

// flushCandles sends the state of every bar that received trades since
// the last flush, oldest first (a bar's last update is its final state).
func (cn *wsConn) flushCandles(ctx context.Context, s *wsSub, now int64) error {
	first := int64(-1)
	for t := range s.sr.TradesFrom(s.lastMs+1, now) {
		first = t.Time
		break
	}
	s.lastMs = now
	if first < 0 {
		return nil
	}
	ms := func(ns int64) int64 { return ns / 1_000_000 }
	o := ms(s.span.Floor(first * 1_000_000))
	for n := 0; o <= now && n < maxPerFlush; n++ {
		next := ms(s.span.Next(o * 1_000_000))
		c := s.sr.Aggregate(o, next, now)
		if c.Trades > 0 {
			c.OpenTime = o
			b := cn.head(s)
			b = appendCandle(b, s.sr, &c)
			if err := cn.send(ctx, s, b, false); err != nil {
				return err
			}
		}
		o = next
	}
	return nil
}

// flushBook publishes the book's changes step by step: for each 100 ms
// step, one frame per level that left the top len (count 0, amount ±1),
// then one per new or changed level, then the checksum.
func (cn *wsConn) flushBook(ctx context.Context, s *wsSub, now int64) error {
	cur := sim.BookStep(now)
	if cur-s.step > 600 {
		s.step = cur - 1 // far behind: one diff to the current book
	}
	for n := 0; s.step < cur && n < 50; n++ {
		s.step++
		st := s.sr.Book(s.step, s.length)
		if err := cn.publishSide(ctx, s, s.bids, st.Bids, false); err != nil {
			return err
		}
		if err := cn.publishSide(ctx, s, s.asks, st.Asks, true); err != nil {
			return err
		}
		s.bids, s.asks = append(s.bids[:0], st.Bids...), append(s.asks[:0], st.Asks...)
		if err := cn.sendChecksum(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// publishSide sends the level updates turning old into nw.
func (cn *wsConn) publishSide(ctx context.Context, s *wsSub, old, nw []sim.BookLevel, ask bool) error {
	in := make(map[int64]int64, len(nw))
	for _, l := range nw {
		in[l.Price] = l.Qty
	}
	was := make(map[int64]int64, len(old))
	for _, l := range old {
		was[l.Price] = l.Qty
		if _, ok := in[l.Price]; ok {
			continue
		}
		b := cn.head(s)
		b = append(b, '[')
		b = appendDec(b, s.sr.Price(l.Price))
		if ask {
			b = append(b, ",0,-1]"...)
		} else {
			b = append(b, ",0,1]"...)
		}
		if err := cn.send(ctx, s, b, true); err != nil {
			return err
		}
	}
	for _, l := range nw {
		if q, ok := was[l.Price]; ok && q == l.Qty {
			continue
		}
		b := cn.head(s)
		cn.updates++
		if n := cn.a.bookCorruptEvery; n > 0 && cn.updates%n == 0 {
			l.Qty++ // a wrong amount; the checksum still covers the true book
			cn.a.env.Stats.Fault("book_corrupt")
		}
		b = appendLevel(b, s.sr, l, ask)
		if err := cn.send(ctx, s, b, true); err != nil {
			return err
		}
	}
	return nil
}

// sendChecksum sends [chanId,"cs",crc] for the published top 25 levels
// (with OB_CHECKSUM); option csCorruptEvery corrupts every Nth one.
func (cn *wsConn) sendChecksum(ctx context.Context, s *wsSub) error {
	if !cn.checksum {
		return nil
	}
	cn.csSent++
	sum, buf := bookChecksum(cn.cs[:0], s.sr, s.bids, s.asks)
	cn.cs = buf
	crc := int32(sum)
	if n := cn.a.csCorruptEvery; n > 0 && cn.csSent%n == 0 {
		crc ^= 0x5a5a
		cn.a.env.Stats.Fault("checksum_corrupt")
	}
	b := cn.head(s)
	b = append(b, `"cs",`...)
	b = strconv.AppendInt(b, int64(crc), 10)
	return cn.send(ctx, s, b, false)
}

// bookChecksum is Bitfinex's P0 book checksum: CRC32 of the top 25 bids
// and asks interleaved as "bidPrice:bidAmount:askPrice:askAmount:…", ask
// amounts negative, numbers as JavaScript prints them, a side omitted once
// it has run out.
func bookChecksum(buf []byte, sr *sim.Series, bids, asks []sim.BookLevel) (uint32, []byte) {
	for i := 0; i < 25; i++ {
		if i < len(bids) {
			if len(buf) > 0 {
				buf = append(buf, ':')
			}
			buf = appendDec(buf, sr.Price(bids[i].Price))
			buf = append(buf, ':')
			buf = appendDec(buf, sr.Qty(bids[i].Qty))
		}
		if i < len(asks) {
			if len(buf) > 0 {
				buf = append(buf, ':')
			}
			buf = appendDec(buf, sr.Price(asks[i].Price))
			buf = append(buf, ':')
			buf = appendDec(buf, sr.Qty(asks[i].Qty).Neg())
		}
	}
	return crc32.ChecksumIEEE(buf), buf
}
