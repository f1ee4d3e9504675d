package bitmex

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pype-go/pype/transport/ws"
)

// This file runs one BitMEX realtime connection for a stream call: a
// transport/ws client (reconnect with backoff, OnConnect subscriptions,
// the "ping"/"pong" heartbeat, a silence watchdog) whose frames and
// connection events reach one consumer goroutine in order, so the stream
// handlers can resync books and refill trade holes after a break.

// maxArgsPerMessage bounds the topics of one subscribe request.
const maxArgsPerMessage = 20

// streamHandler consumes the frames of one stream kind.
type streamHandler interface {
	// table processes a table message. Returning false stops the stream.
	table(f ws.Frame, fr *wsFrame) bool
	// hole is called when the connection broke: messages may be lost
	// until resumed.
	hole() bool
	// resumed is called when a new connection is live (the first one, or
	// one after a hole); its topics are being subscribed again.
	resumed() bool
}

// idleFlusher is implemented by handlers that hold state back until it is
// known to be complete (book changes sent as several messages) and report
// it after a quiet period.
type idleFlusher interface {
	// holding reports whether something is held back.
	holding() bool
	// quietPeriod is how long to wait before calling flushIdle.
	quietPeriod() time.Duration
	// flushIdle reports what has been quiet long enough; backlog is the
	// number of frames received and not handled yet. Returning false
	// stops the stream.
	flushIdle(now time.Time, backlog int) bool
}

type connItem struct {
	frame ws.Frame
	err   error
}

// realtime is one WebSocket connection's worth of topics.
type realtime struct {
	a      *Adapter
	topics []string
	client *ws.Client
	items  chan connItem
	evMu   sync.Mutex
	evs    []ws.Event
	evSig  chan struct{}
	cur    uint64          // live connection generation (consumer goroutine only)
	wake   <-chan struct{} // optional handler wake-ups
	onWake func() bool
	idle   idleFlusher // optional
	fail   error
	frame  wsFrame
}

func (a *Adapter) newRealtime(name string, topics []string) (*realtime, error) {
	if len(topics) == 0 {
		return nil, errors.New("bitmex: no topics to subscribe (give at least one symbol)")
	}
	rt := &realtime{a: a, topics: topics, items: make(chan connItem, 1024), evSig: make(chan struct{}, 1)}
	cl, err := ws.New(ws.Config{
		Name:           "bitmex-" + name,
		URL:            a.wsURL,
		OnConnect:      rt.subscribe,
		Heartbeat:      ws.Heartbeat{Interval: a.opt.pingInterval, IdleOnly: true, Message: func() []byte { return []byte("ping") }},
		IsControl:      func(b []byte) bool { return bytes.Equal(b, []byte("pong")) },
		SilenceTimeout: 2*a.opt.pingInterval + time.Second,
		Backoff:        a.opt.wsBackoff,
		HTTPClient:     a.cfg.HTTPClient,
		Logger:         a.log,
		OnEvent:        rt.pushEvent,
	})
	if err != nil {
		return nil, fmt.Errorf("bitmex: stream connection: %w", err)
	}
	rt.client = cl
	return rt, nil
}

func opMessage(op string, args []string) []byte {
	b, _ := json.Marshal(struct {
		Op   string   `json:"op"`
		Args []string `json:"args"`
	}{op, args})
	return b
}

// subscribe sends the connection's topics (run by OnConnect on every
// connection).
func (rt *realtime) subscribe(ctx context.Context, s *ws.Session) error {
	for i := 0; i < len(rt.topics); i += maxArgsPerMessage {
		if err := s.Send(ctx, opMessage("subscribe", rt.topics[i:min(i+maxArgsPerMessage, len(rt.topics))])); err != nil {
			return err
		}
	}
	return nil
}

// resubscribe asks for a fresh partial of one topic: unsubscribe, then
// subscribe again. Safe to call from any goroutine.
func (rt *realtime) resubscribe(ctx context.Context, topic string) error {
	if err := rt.client.Send(ctx, opMessage("unsubscribe", []string{topic})); err != nil {
		return err
	}
	return rt.client.Send(ctx, opMessage("subscribe", []string{topic}))
}

func (rt *realtime) pushEvent(ev ws.Event) {
	rt.evMu.Lock()
	rt.evs = append(rt.evs, ev)
	rt.evMu.Unlock()
	select {
	case rt.evSig <- struct{}{}:
	default:
	}
}

func (rt *realtime) takeEvents() []ws.Event {
	rt.evMu.Lock()
	defer rt.evMu.Unlock()
	evs := rt.evs
	rt.evs = nil
	return evs
}

// run connects and feeds frames and events to h until ctx ends, h stops,
// the connection fails for good or a subscription is refused (the error
// is returned).
func (rt *realtime) run(ctx context.Context, h streamHandler) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for f, err := range rt.client.StreamRaw(ctx) {
			select {
			case rt.items <- connItem{frame: f, err: err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	// The idle timer runs while the handler holds something back.
	var idle *time.Timer
	var idleC <-chan time.Time
	defer func() {
		if idle != nil {
			idle.Stop()
		}
	}()
	for {
		if !rt.handleEvents(h) {
			return rt.fail
		}
		if rt.idle != nil && idleC == nil && rt.idle.holding() {
			if idle == nil {
				idle = time.NewTimer(rt.idle.quietPeriod())
			} else {
				idle.Reset(rt.idle.quietPeriod())
			}
			idleC = idle.C
		}
		select {
		case <-ctx.Done():
			return nil
		case <-idleC:
			idleC = nil
			if !rt.idle.flushIdle(time.Now(), len(rt.items)) {
				return rt.fail
			}
		case it := <-rt.items:
			if it.err != nil {
				return fmt.Errorf("bitmex: stream connection: %w", it.err)
			}
			if !rt.onFrame(it.frame, h) {
				return rt.fail
			}
		case <-rt.evSig:
		case <-rt.wake:
			if rt.onWake != nil && !rt.onWake() {
				return rt.fail
			}
		}
	}
}

func (rt *realtime) handleEvents(h streamHandler) bool {
	for _, ev := range rt.takeEvents() {
		switch ev.Kind {
		case ws.Connected:
			rt.cur = ev.Gen
			if !h.resumed() {
				return false
			}
		case ws.Disconnected:
			if ev.Gen != rt.cur {
				continue
			}
			rt.cur = 0
			if errors.Is(ev.Err, ws.ErrStopped) {
				continue
			}
			if !h.hole() {
				return false
			}
		}
	}
	return true
}

func (rt *realtime) onFrame(f ws.Frame, h streamHandler) bool {
	if f.Gen != rt.cur {
		// Events precede a connection's frames: read them now.
		if !rt.handleEvents(h) {
			return false
		}
		if f.Gen != rt.cur {
			return true // a frame of a connection already replaced
		}
	}
	fr := &rt.frame
	if err := parseFrame(f.Data, fr); err != nil {
		rt.a.log.Warn("bitmex: undecodable realtime frame skipped", "err", err)
		return true
	}
	switch fr.Kind {
	case frameTable:
		return h.table(f, fr)
	case frameError:
		return rt.refused(fr)
	case frameInfo:
		if fr.Remaining >= 0 && fr.Remaining < 5 {
			rt.a.log.Warn("bitmex: few WebSocket connections left this hour", "remaining", fr.Remaining)
		}
	}
	return true
}

// refused handles an error reply: a refused subscription ends the stream
// with a *SubscribeError (an already active one is harmless).
func (rt *realtime) refused(fr *wsFrame) bool {
	lower := strings.ToLower(fr.Error)
	switch {
	case string(fr.Op) == "subscribe" && !strings.Contains(lower, "already subscribed"):
		rt.fail = &SubscribeError{Topics: fr.Args, Status: fr.Status, Msg: fr.Error}
		rt.a.log.Error("bitmex: subscription refused", "topics", fr.Args, "status", fr.Status, "err", fr.Error)
		return false
	default:
		rt.a.log.Warn("bitmex: realtime request refused", "op", string(fr.Op), "args", fr.Args, "status", fr.Status, "err", fr.Error)
	}
	return true
}
