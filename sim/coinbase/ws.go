package coinbase

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/pype-go/pype/sim"
)

// Channels of the Exchange feed. The simulator serves the public ones
// pype uses; the authenticated ones are refused as Coinbase refuses them
// without credentials, the others as not simulated.
const (
	chHeartbeat   = "heartbeat"
	chMatches     = "matches"
	chLevel2Batch = "level2_batch"
)

var authChannels = []string{"level2", "full", "level3", "user", "rfq_matches"}

// feedSub is one (channel, product) subscription; its fields belong to the
// connection's streamer goroutine.
type feedSub struct {
	channel string
	p       *product
	lastID  int64 // matches: last trade id sent
	step    int64 // level2: last book step sent
	hbAt    time.Time
}

// feedConn is one WebSocket connection of the feed.
type feedConn struct {
	a      *api
	c      *websocket.Conn
	subs   []*feedSub
	faults *sim.WSFaults
	ctl    chan []byte
	buf    []byte
	diff   sim.BookDiff
}

func (a *api) serveWS(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" && r.URL.Path != "" {
		writeError(w, errNotFound)
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
	cn := &feedConn{a: a, c: c, faults: a.env.Faults.NewWSFaults(), ctl: make(chan []byte)}
	cn.run()
}

func (cn *feedConn) run() {
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

func (cn *feedConn) readLoop(ctx context.Context) {
	for {
		_, data, err := cn.c.Read(ctx)
		if err != nil {
			return
		}
		select {
		case cn.ctl <- data:
		case <-ctx.Done():
			return
		}
	}
}

// request is a client message: subscribe or unsubscribe. Channels are
// names or {"name":..,"product_ids":[..]} objects.
type request struct {
	Type       string            `json:"type"`
	ProductIDs []string          `json:"product_ids"`
	Channels   []json.RawMessage `json:"channels"`
}

type channelSpec struct {
	Name       string   `json:"name"`
	ProductIDs []string `json:"product_ids"`
}

func errorMsg(msg, reason string) []byte {
	b := []byte(`{"type":"error","message":`)
	b = strconv.AppendQuote(b, msg)
	if reason != "" {
		b = append(b, `,"reason":`...)
		b = strconv.AppendQuote(b, reason)
	}
	return append(b, '}')
}

var errClose = errors.New("close")

// handle applies one client message.
func (cn *feedConn) handle(ctx context.Context, data []byte) error {
	var req request
	if err := json.Unmarshal(data, &req); err != nil {
		return cn.write(ctx, errorMsg("Malformed JSON", err.Error()))
	}
	if req.Type != "subscribe" && req.Type != "unsubscribe" {
		return cn.write(ctx, errorMsg("Failed to subscribe", req.Type+" is not a valid type (subscribe, unsubscribe)"))
	}
	var specs []channelSpec
	for _, raw := range req.Channels {
		var cs channelSpec
		if err := json.Unmarshal(raw, &cs.Name); err != nil {
			if err := json.Unmarshal(raw, &cs); err != nil {
				return cn.write(ctx, errorMsg("Failed to subscribe", "channels must be names or {name, product_ids} objects"))
			}
		}
		if len(cs.ProductIDs) == 0 {
			cs.ProductIDs = req.ProductIDs
		}
		specs = append(specs, cs)
	}
	if len(specs) == 0 {
		return cn.write(ctx, errorMsg("Failed to subscribe", "No channels provided"))
	}
	// Validate everything first: a refused request changes nothing.
	for _, cs := range specs {
		switch {
		case cs.Name == chHeartbeat || cs.Name == chMatches || cs.Name == chLevel2Batch:
		case slices.Contains(authChannels, cs.Name):
			return cn.write(ctx, errorMsg("Failed to subscribe", cs.Name+" channel requires authentication"))
		default:
			return cn.write(ctx, errorMsg("Failed to subscribe", cs.Name+" is not a valid channel (the simulator serves heartbeat, matches, level2_batch)"))
		}
		if len(cs.ProductIDs) == 0 {
			return cn.write(ctx, errorMsg("Failed to subscribe", "No product ids provided"))
		}
		for _, id := range cs.ProductIDs {
			if cn.a.byID[id] == nil {
				return cn.write(ctx, errorMsg("Failed to subscribe", id+" is not a valid product"))
			}
		}
	}
	now := cn.a.env.Market.NowMs()
	var fresh []*feedSub
	for _, cs := range specs {
		for _, id := range cs.ProductIDs {
			i := cn.find(cs.Name, id)
			if req.Type == "unsubscribe" {
				if i >= 0 {
					cn.subs = slices.Delete(cn.subs, i, i+1)
				}
				continue
			}
			if i >= 0 {
				continue
			}
			s := &feedSub{channel: cs.Name, p: cn.a.byID[id], step: sim.BookStep(now), hbAt: time.Now()}
			if last, ok := lastTrade(s.p.sr, now); ok {
				s.lastID = last.ID
			} else {
				s.lastID = s.p.sr.FirstTradeID() - 1
			}
			cn.subs = append(cn.subs, s)
			fresh = append(fresh, s)
		}
	}
	if err := cn.write(ctx, cn.subscriptions()); err != nil {
		return err
	}
	// New subscriptions start with the feed's initial messages: a level2
	// snapshot, the last match.
	for _, s := range fresh {
		var err error
		switch s.channel {
		case chLevel2Batch:
			err = cn.snapshot(ctx, s)
		case chMatches:
			if last, ok := lastTrade(s.p.sr, now); ok {
				err = cn.send(ctx, cn.match(s.p, last, "last_match"), false)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (cn *feedConn) find(channel, id string) int {
	for i, s := range cn.subs {
		if s.channel == channel && s.p.id == id {
			return i
		}
	}
	return -1
}

// subscriptions is the acknowledgement listing every subscription.
func (cn *feedConn) subscriptions() []byte {
	b := []byte(`{"type":"subscriptions","channels":[`)
	first := true
	for _, ch := range []string{chLevel2Batch, chHeartbeat, chMatches} {
		var ids []string
		for _, s := range cn.subs {
			if s.channel == ch {
				ids = append(ids, s.p.id)
			}
		}
		if len(ids) == 0 {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, `{"name":"`...)
		b = append(b, ch...)
		b = append(b, `","product_ids":[`...)
		for i, id := range ids {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendQuote(b, id)
		}
		b = append(b, "]}"...)
	}
	return append(b, "]}"...)
}

// write sends a control reply (no faults).
func (cn *feedConn) write(ctx context.Context, b []byte) error {
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return cn.c.Write(wctx, websocket.MessageText, b)
}

// send writes one feed message through the WebSocket faults; l2 marks an
// l2update (eligible for depth gaps).
func (cn *feedConn) send(ctx context.Context, msg []byte, l2 bool) error {
	act := cn.faults.Next(l2)
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
	for i := 0; i < n; i++ {
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

// subscribeTimeout: the feed disconnects a client that has not subscribed.
const subscribeTimeout = 5 * time.Second

func (cn *feedConn) streamLoop(ctx context.Context) {
	t := time.NewTicker(cn.a.streamTick)
	defer t.Stop()
	deadline := time.NewTimer(subscribeTimeout)
	defer deadline.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			if len(cn.subs) == 0 {
				_ = cn.c.Close(websocket.StatusPolicyViolation, "no subscribe message received within 5 seconds")
				return
			}
		case data := <-cn.ctl:
			if cn.handle(ctx, data) != nil {
				return
			}
		case <-t.C:
			if cn.flush(ctx) != nil {
				return
			}
		}
	}
}

// maxPerTick bounds the messages one subscription sends per flush.
const maxPerTick = 20000

// flush sends everything that happened up to the virtual now, and the
// heartbeats that are due.
func (cn *feedConn) flush(ctx context.Context) error {
	now := cn.a.env.Market.NowMs()
	wall := time.Now()
	for _, s := range cn.subs {
		var err error
		switch s.channel {
		case chMatches:
			err = cn.flushMatches(ctx, s, now)
		case chLevel2Batch:
			err = cn.flushBook(ctx, s, now)
		case chHeartbeat:
			if wall.Sub(s.hbAt) >= cn.a.heartbeat {
				s.hbAt = wall
				err = cn.send(ctx, cn.heartbeatMsg(s.p, now), false)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (cn *feedConn) match(p *product, t sim.Trade, typ string) []byte {
	sr := p.sr
	b := append(cn.buf[:0], `{"type":"`...)
	b = append(b, typ...)
	b = append(b, `","trade_id":`...)
	b = strconv.AppendInt(b, t.ID, 10)
	b = append(b, `,"maker_order_id":"`...)
	b = appendOrderID(b, sr, sim.BookLevel{Price: t.Price, Qty: t.ID})
	b = append(b, `","taker_order_id":"`...)
	b = appendOrderID(b, sr, sim.BookLevel{Price: t.ID, Qty: t.Qty})
	b = append(b, `","side":"`...)
	b = append(b, makerSide(t.BuyerMaker)...)
	b = append(b, `","size":"`...)
	b = sr.AppendQty(b, t.Qty, -1)
	b = append(b, `","price":"`...)
	b = sr.AppendPrice(b, t.Price, p.tickScale)
	b = append(b, `","product_id":"`...)
	b = append(b, p.id...)
	b = append(b, `","sequence":`...)
	b = strconv.AppendInt(b, sequence(sr, t.Time, t.ID), 10)
	b = append(b, `,"time":"`...)
	b = appendTime(b, t.Time)
	b = append(b, `"}`...)
	cn.buf = b
	return b
}

func (cn *feedConn) flushMatches(ctx context.Context, s *feedSub, now int64) error {
	n := 0
	for t := range s.p.sr.TradesFromID(s.lastID+1, now) {
		if n >= maxPerTick {
			return nil
		}
		if err := cn.send(ctx, cn.match(s.p, t, "match"), false); err != nil {
			return err
		}
		s.lastID = t.ID
		n++
	}
	return nil
}

func (cn *feedConn) heartbeatMsg(p *product, now int64) []byte {
	last, ok := lastTrade(p.sr, now)
	lastID := p.sr.FirstTradeID() - 1
	if ok {
		lastID = last.ID
	}
	b := append(cn.buf[:0], `{"type":"heartbeat","last_trade_id":`...)
	b = strconv.AppendInt(b, lastID, 10)
	b = append(b, `,"product_id":"`...)
	b = append(b, p.id...)
	b = append(b, `","sequence":`...)
	b = strconv.AppendInt(b, sequence(p.sr, now, lastID), 10)
	b = append(b, `,"time":"`...)
	b = appendTime(b, now)
	b = append(b, `"}`...)
	cn.buf = b
	return b
}

// snapshot sends the full book of the current step.
func (cn *feedConn) snapshot(ctx context.Context, s *feedSub) error {
	p, sr := s.p, s.p.sr
	st := sr.Book(s.step, 0)
	side := func(b []byte, lv []sim.BookLevel) []byte {
		b = append(b, '[')
		for i, l := range lv {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `["`...)
			b = sr.AppendPrice(b, l.Price, p.tickScale)
			b = append(b, `","`...)
			b = sr.AppendQty(b, l.Qty, p.lotScale)
			b = append(b, `"]`...)
		}
		return append(b, ']')
	}
	b := append(cn.buf[:0], `{"type":"snapshot","product_id":"`...)
	b = append(b, p.id...)
	b = append(b, `","bids":`...)
	b = side(b, st.Bids)
	b = append(b, `,"asks":`...)
	b = side(b, st.Asks)
	b = append(b, '}')
	cn.buf = b
	return cn.send(ctx, b, false)
}

// flushBook sends one l2update per book step (Coinbase batches level2
// every 50 ms; the simulated book changes every 100 ms).
func (cn *feedConn) flushBook(ctx context.Context, s *feedSub, now int64) error {
	cur := sim.BookStep(now)
	p, sr := s.p, s.p.sr
	for n := 0; s.step < cur && n < maxPerTick; n++ {
		s.step++
		sr.Diff(s.step, &cn.diff)
		d := &cn.diff
		if len(d.Bids)+len(d.Asks) == 0 {
			continue
		}
		b := append(cn.buf[:0], `{"type":"l2update","product_id":"`...)
		b = append(b, p.id...)
		b = append(b, `","changes":[`...)
		first := true
		add := func(side string, lv []sim.BookLevel) {
			for _, l := range lv {
				if !first {
					b = append(b, ',')
				}
				first = false
				b = append(b, `["`...)
				b = append(b, side...)
				b = append(b, `","`...)
				b = sr.AppendPrice(b, l.Price, p.tickScale)
				b = append(b, `","`...)
				b = sr.AppendQty(b, l.Qty, p.lotScale)
				b = append(b, `"]`...)
			}
		}
		add("buy", d.Bids)
		add("sell", d.Asks)
		b = append(b, `],"time":"`...)
		b = appendTime(b, d.Time)
		b = append(b, `"}`...)
		cn.buf = b
		if err := cn.send(ctx, b, true); err != nil {
			return err
		}
	}
	return nil
}
