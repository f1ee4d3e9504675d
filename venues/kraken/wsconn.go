package kraken

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pype-go/pype/transport/ws"
)

// This file runs one Kraken WebSocket v2 connection for a stream: it
// (re)subscribes on every connection, hands data messages to a handler in
// one consumer goroutine together with connection events (so books resync
// and trade streams fill holes over REST after a break), and surfaces
// refused subscriptions as errors.

// subscription is one subscribe request: a channel and its symbols.
type subscription struct {
	Channel  string   `json:"channel"`
	Symbol   []string `json:"symbol"`
	Depth    int      `json:"depth,omitempty"`
	Interval int      `json:"interval,omitempty"`
	Snapshot *bool    `json:"snapshot,omitempty"`
}

type wsRequest struct {
	Method string       `json:"method"`
	Params subscription `json:"params"`
	ReqID  int64        `json:"req_id"`
}

// streamHandler consumes the messages of one stream.
type streamHandler interface {
	// message processes a data message (trade, ohlc or book). Returning
	// false stops the stream.
	message(m *wsMsg, f ws.Frame) bool
	// hole is called when the connection broke: messages may be lost until
	// resumed.
	hole() bool
	// resumed is called when a connection is live and subscribed (the
	// first one, or one after a hole).
	resumed(first bool) bool
	// tick is called about every second.
	tick() bool
}

// SubscriptionError reports a subscription Kraken refused.
type SubscriptionError struct {
	Channel string
	Symbol  string
	Msg     string // Kraken's error, e.g. "Currency pair not supported XBT/USD"
}

func (e *SubscriptionError) Error() string {
	return fmt.Sprintf("kraken: subscribe %s %s refused: %s", e.Channel, e.Symbol, e.Msg)
}

// Unwrap makes errors.Is(err, ErrInvalidSymbol) true for unknown pairs.
func (e *SubscriptionError) Unwrap() error {
	if strings.Contains(e.Msg, "pair not supported") || strings.Contains(e.Msg, "not found") && e.Symbol != "" {
		return ErrInvalidSymbol
	}
	return nil
}

type wsConn struct {
	a      *Adapter
	name   string
	client *ws.Client
	subs   []subscription
	reqID  atomic.Int64

	evMu  sync.Mutex
	evs   []ws.Event
	evSig chan struct{}
	wake  chan struct{} // optional handler wake-ups (book state changes)
	onWk  func() bool

	cur       uint64 // generation being delivered
	connected bool
	msg       wsMsg
}

func (a *Adapter) newConn(name string, subs []subscription) (*wsConn, error) {
	c := &wsConn{a: a, name: name, subs: subs, evSig: make(chan struct{}, 1)}
	cfg := ws.Config{
		Name:           "kraken-" + name,
		URL:            a.wsURL,
		OnConnect:      c.subscribeAll,
		IsControl:      isControl,
		SilenceTimeout: a.opt.silence,
		Backoff:        a.opt.wsBackoff,
		HTTPClient:     a.cfg.HTTPClient,
		Logger:         a.log,
		OnEvent:        c.pushEvent,
	}
	var err error
	if c.client, err = ws.New(cfg); err != nil {
		return nil, fmt.Errorf("kraken: stream connection: %w", err)
	}
	return c, nil
}

func (c *wsConn) request(method string, sub subscription) ([]byte, error) {
	return json.Marshal(wsRequest{Method: method, Params: sub, ReqID: c.reqID.Add(1)})
}

// subscribeAll sends every subscription on a new connection.
func (c *wsConn) subscribeAll(ctx context.Context, s *ws.Session) error {
	for _, sub := range c.subs {
		b, err := c.request("subscribe", sub)
		if err != nil {
			return ws.Permanent(err)
		}
		if err := s.Send(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

// resubscribe asks for a fresh snapshot of one symbol of a channel on the
// live connection: unsubscribe, then subscribe again.
func (c *wsConn) resubscribe(ctx context.Context, sub subscription) error {
	for _, method := range []string{"unsubscribe", "subscribe"} {
		s := sub
		if method == "unsubscribe" {
			s.Snapshot = nil
		}
		b, err := c.request(method, s)
		if err != nil {
			return err
		}
		if err := c.client.Send(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

func (c *wsConn) pushEvent(ev ws.Event) {
	c.evMu.Lock()
	c.evs = append(c.evs, ev)
	c.evMu.Unlock()
	select {
	case c.evSig <- struct{}{}:
	default:
	}
}

func (c *wsConn) takeEvents() []ws.Event {
	c.evMu.Lock()
	defer c.evMu.Unlock()
	evs := c.evs
	c.evs = nil
	return evs
}

type wsItem struct {
	f   ws.Frame
	err error
}

// run connects and feeds h until ctx ends, h stops, a subscription is
// refused, or the connection fails for good.
func (c *wsConn) run(ctx context.Context, h streamHandler) error {
	ctx, cancel := context.WithCancel(ctx)
	items := make(chan wsItem, 256)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for f, err := range c.client.StreamRaw(ctx) {
			select {
			case items <- wsItem{f, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		ok, err := c.handleEvents(h)
		if !ok || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case it := <-items:
			if it.err != nil {
				return fmt.Errorf("kraken: %s stream: %w", c.name, it.err)
			}
			if it.f.Gen != c.cur {
				// Events are emitted before a connection's frames.
				if ok, err := c.handleEvents(h); !ok || err != nil {
					return err
				}
				if it.f.Gen != c.cur {
					continue // a frame of a connection already gone
				}
			}
			ok, err := c.frame(it.f, h)
			if !ok || err != nil {
				return err
			}
		case <-c.evSig:
		case <-c.wake:
			if c.onWk != nil && !c.onWk() {
				return nil
			}
		case <-tick.C:
			if !h.tick() {
				return nil
			}
		}
	}
}

func (c *wsConn) handleEvents(h streamHandler) (bool, error) {
	for _, ev := range c.takeEvents() {
		switch ev.Kind {
		case ws.Connected:
			first := c.cur == 0
			c.cur, c.connected = ev.Gen, true
			if !h.resumed(first) {
				return false, nil
			}
		case ws.Disconnected:
			if ev.Gen != c.cur || !c.connected || errors.Is(ev.Err, ws.ErrStopped) {
				continue
			}
			c.connected = false
			c.a.log.Info("kraken: stream connection lost; resyncing after reconnect", "stream", c.name, "err", ev.Err)
			if !h.hole() {
				return false, nil
			}
		}
	}
	return true, nil
}

func (c *wsConn) frame(f ws.Frame, h streamHandler) (bool, error) {
	m := &c.msg
	if err := parseMessage(f.Data, m); err != nil {
		c.a.log.Warn("kraken: undecodable stream message skipped", "stream", c.name, "err", err)
		return true, nil
	}
	switch m.Kind {
	case msgTrade, msgOHLC, msgBook:
		return h.message(m, f), nil
	case msgAck:
		if m.Success {
			return true, nil
		}
		switch {
		case m.Method == "unsubscribe", strings.Contains(m.Error, "Already subscribed"):
			c.a.log.Debug("kraken: stream request answered", "method", m.Method, "symbol", m.AckSymbol, "error", m.Error)
			return true, nil
		}
		return false, &SubscriptionError{Channel: c.name, Symbol: m.AckSymbol, Msg: m.Error}
	}
	return true, nil
}
