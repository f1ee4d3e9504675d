package bybit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pype-go/pype/transport/ws"
)

// This file multiplexes Bybit public topics over WebSocket connections:
// one group of connections per category (the URL path names it), at most
// WithTopicsPerConnection topics each, subscribed 10 per request. Every
// connection is a transport/ws client (reconnect with backoff, the
// {"op":"ping"} heartbeat, a silence watchdog), and one consumer goroutine
// sees all frames in order per connection together with the connection
// events, so the handlers can resync books and refill trade holes after a
// break.

// streamHandler consumes the frames of one stream kind.
type streamHandler interface {
	// data processes a topic message of connection c. Returning false
	// stops the stream (the consumer stopped).
	data(c *wsConn, f ws.Frame, fr *wsFrame) bool
	// hole is called when c's connection broke: messages may be lost
	// until resumed.
	hole(c *wsConn) bool
	// resumed is called when c has a new live connection (the first one,
	// or one after a hole); its topics are being subscribed again.
	resumed(c *wsConn) bool
	// subscribed is called when the venue acknowledged the subscription
	// of topics on c: from then on their messages flow.
	subscribed(c *wsConn, topics []string) bool
}

// wsConn is one WebSocket connection's worth of topics.
type wsConn struct {
	idx    int
	cat    Category
	topics []string
	client *ws.Client
	cur    uint64 // live connection generation (consumer goroutine only)
	reqs   atomic.Int64
	mu     sync.Mutex
	sent   map[string][]string // subscribe req_id → topics, until acknowledged
}

// takeSent returns (and forgets) the topics of a subscribe request.
func (c *wsConn) takeSent(reqID string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.sent[reqID]
	if !ok {
		return nil
	}
	delete(c.sent, reqID)
	return t
}

type muxItem struct {
	conn  int
	frame ws.Frame
	err   error
}

type muxEvent struct {
	conn int
	ev   ws.Event
}

type mux struct {
	a       *Adapter
	conns   []*wsConn
	byTopic map[string]*wsConn // "<cat>|<topic>"
	items   chan muxItem
	evMu    sync.Mutex
	evs     []muxEvent
	evSig   chan struct{}
	wake    <-chan struct{} // optional handler wake-ups
	onWake  func() bool
	fail    error
	frame   wsFrame
}

// newMux plans the connections for topics per category and builds their
// clients (not yet connected).
func (a *Adapter) newMux(name string, topics map[Category][]string) (*mux, error) {
	m := &mux{a: a, byTopic: map[string]*wsConn{}, items: make(chan muxItem, 1024), evSig: make(chan struct{}, 1)}
	per := a.opt.topicsPerConn
	for _, cat := range []Category{Spot, Linear, Inverse} {
		list := topics[cat]
		for i := 0; i < len(list); i += per {
			c := &wsConn{idx: len(m.conns), cat: cat, topics: list[i:min(i+per, len(list))]}
			cfg := ws.Config{
				Name:           fmt.Sprintf("bybit-%s-%s-%d", name, cat, c.idx),
				URL:            a.wsEndpoint(cat),
				OnConnect:      func(ctx context.Context, s *ws.Session) error { return c.subscribe(ctx, s) },
				Heartbeat:      ws.Heartbeat{Interval: a.opt.pingInterval, Message: c.ping},
				IsControl:      isPong,
				SilenceTimeout: a.opt.silence,
				Backoff:        a.opt.wsBackoff,
				HTTPClient:     a.cfg.HTTPClient,
				Logger:         a.log,
				OnEvent:        func(ev ws.Event) { m.pushEvent(c.idx, ev) },
			}
			cl, err := ws.New(cfg)
			if err != nil {
				return nil, fmt.Errorf("bybit: stream connection: %w", err)
			}
			c.client = cl
			for _, t := range c.topics {
				m.byTopic[string(cat)+"|"+t] = c
			}
			m.conns = append(m.conns, c)
		}
	}
	if len(m.conns) == 0 {
		return nil, errors.New("bybit: no topics to subscribe (give at least one symbol)")
	}
	return m, nil
}

func (c *wsConn) ping() []byte {
	return []byte(`{"req_id":"ping-` + strconv.FormatInt(c.reqs.Add(1), 10) + `","op":"ping"}`)
}

// opMessage builds a subscribe or unsubscribe request; subscribe requests
// are remembered until acknowledged.
func (c *wsConn) opMessage(op string, topics []string) []byte {
	id := op + "-" + strconv.FormatInt(c.reqs.Add(1), 10)
	if op == "subscribe" {
		c.mu.Lock()
		if c.sent == nil || len(c.sent) > 1000 {
			c.sent = map[string][]string{}
		}
		c.sent[id] = topics
		c.mu.Unlock()
	}
	b, _ := json.Marshal(struct {
		ReqID string   `json:"req_id"`
		Op    string   `json:"op"`
		Args  []string `json:"args"`
	}{id, op, topics})
	return b
}

// subscribe sends the connection's topics, MaxArgsPerSubscribe per
// request (run by OnConnect on every connection).
func (c *wsConn) subscribe(ctx context.Context, s *ws.Session) error {
	for i := 0; i < len(c.topics); i += MaxArgsPerSubscribe {
		if err := s.Send(ctx, c.opMessage("subscribe", c.topics[i:min(i+MaxArgsPerSubscribe, len(c.topics))])); err != nil {
			return err
		}
	}
	return nil
}

// resubscribe asks for a fresh snapshot of one topic: unsubscribe, then
// subscribe again (Bybit sends a snapshot on every subscription).
func (m *mux) resubscribe(ctx context.Context, cat Category, topic string) error {
	c := m.byTopic[string(cat)+"|"+topic]
	if c == nil {
		return fmt.Errorf("bybit: topic %s is not part of this stream", topic)
	}
	if err := c.client.Send(ctx, c.opMessage("unsubscribe", []string{topic})); err != nil {
		return err
	}
	return c.client.Send(ctx, c.opMessage("subscribe", []string{topic}))
}

func (m *mux) pushEvent(conn int, ev ws.Event) {
	m.evMu.Lock()
	m.evs = append(m.evs, muxEvent{conn, ev})
	m.evMu.Unlock()
	select {
	case m.evSig <- struct{}{}:
	default:
	}
}

func (m *mux) takeEvents() []muxEvent {
	m.evMu.Lock()
	defer m.evMu.Unlock()
	evs := m.evs
	m.evs = nil
	return evs
}

// run connects every connection and feeds frames and events to h until
// ctx ends, h stops, or a connection fails for good or a subscription is
// refused (the error is returned).
func (m *mux) run(ctx context.Context, h streamHandler) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	for i, c := range m.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f, err := range c.client.StreamRaw(ctx) {
				select {
				case m.items <- muxItem{conn: i, frame: f, err: err}:
				case <-ctx.Done():
					return
				}
				if err != nil {
					return
				}
			}
		}()
	}
	for {
		if !m.handleEvents(h) {
			return m.fail
		}
		select {
		case <-ctx.Done():
			return nil
		case it := <-m.items:
			if it.err != nil {
				return fmt.Errorf("bybit: %s stream connection %d: %w", m.conns[it.conn].cat, it.conn, it.err)
			}
			if !m.onFrame(m.conns[it.conn], it.frame, h) {
				return m.fail
			}
		case <-m.evSig:
		case <-m.wake:
			if m.onWake != nil && !m.onWake() {
				return m.fail
			}
		}
	}
}

func (m *mux) handleEvents(h streamHandler) bool {
	for _, e := range m.takeEvents() {
		c := m.conns[e.conn]
		switch e.ev.Kind {
		case ws.Connected:
			c.cur = e.ev.Gen
			if !h.resumed(c) {
				return false
			}
		case ws.Disconnected:
			if e.ev.Gen != c.cur {
				continue
			}
			c.cur = 0
			if errors.Is(e.ev.Err, ws.ErrStopped) {
				continue
			}
			if !h.hole(c) {
				return false
			}
		}
	}
	return true
}

func (m *mux) onFrame(c *wsConn, f ws.Frame, h streamHandler) bool {
	if f.Gen != c.cur {
		// Events precede a connection's frames: read them now.
		if !m.handleEvents(h) {
			return false
		}
		if f.Gen != c.cur {
			return true // a frame of a connection already replaced
		}
	}
	fr := &m.frame
	kind, err := parseFrame(f.Data, fr)
	if err != nil {
		m.a.log.Warn("bybit: undecodable stream frame skipped", "err", err)
		return true
	}
	switch kind {
	case frameData:
		return h.data(c, f, fr)
	case frameReply:
		return m.reply(c, fr, h)
	}
	return true
}

// reply checks an operation reply: a refused subscription ends the stream
// with a *SubscribeError (an already active one is harmless).
func (m *mux) reply(c *wsConn, fr *wsFrame, h streamHandler) bool {
	if fr.Success == nil || *fr.Success {
		if fr.Op == "subscribe" && fr.Success != nil && h != nil {
			topics := c.takeSent(fr.ReqID)
			if topics == nil && fr.ReqID == "" {
				topics = c.topics // a venue that does not echo req_id
			}
			return h.subscribed(c, topics)
		}
		return true
	}
	switch {
	case fr.Op == "subscribe" && !strings.Contains(fr.RetMsg, "already subscribed"):
		m.fail = &SubscribeError{Category: c.cat, Topics: c.topics, Msg: fr.RetMsg}
		m.a.log.Error("bybit: subscription refused", "category", c.cat, "req_id", fr.ReqID, "msg", fr.RetMsg)
		return false
	default:
		m.a.log.Warn("bybit: stream request refused", "category", c.cat, "op", fr.Op, "req_id", fr.ReqID, "msg", fr.RetMsg)
	}
	return true
}
