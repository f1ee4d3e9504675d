package binance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pype-go/pype/transport/ws"
)

// This file multiplexes Binance market streams over WebSocket connections:
// the streams are spread over as few connections as Binance's per-connection
// limit allows (1024 streams), every connection is a transport/ws client
// (reconnect with backoff, planned make-before-break reconnection before the
// 24 h cut), and one consumer goroutine sees all frames in order per
// connection together with the connection events, so the stream handlers
// can resync books and fill trade holes after a break.
//
// Planned reconnections are gapless and duplicate-free: while the old and
// the new connection overlap, frames of the new one are held back; when the
// old one has ended and every frame it delivered has been consumed, the held
// frames are released in order (handlers drop what the old connection had
// already delivered by update id, trade id or open time).

// streamHandler consumes the frames of one stream kind.
type streamHandler interface {
	// frame processes a data frame of shard sh. Returning false stops the
	// stream (the consumer stopped).
	frame(sh int, f ws.Frame, fr *frame) bool
	// hole is called when shard sh's connection broke: frames may be lost
	// until resumed.
	hole(sh int) bool
	// resumed is called when shard sh has a new live connection (the first
	// one, or one after a hole).
	resumed(sh int) bool
}

// shard is one WebSocket connection's worth of streams. Its stream list
// may change while it runs (dynamic subscriptions); every (re)connection
// subscribes the list current at that moment.
type shard struct {
	mu      sync.Mutex
	streams []string
	client  *ws.Client
}

func (sh *shard) list() []string {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return append([]string(nil), sh.streams...)
}

type muxItem struct {
	shard int
	frame ws.Frame
	err   error
}

type muxEvent struct {
	shard int
	ev    ws.Event
}

// shardState is a shard's generation bookkeeping (consumer goroutine only).
type shardState struct {
	cur       uint64 // connection whose frames are being delivered
	pending   uint64 // planned successor whose frames are held back
	held      []ws.Frame
	switching bool  // cur has ended; release held once its frames are consumed
	endedAt   int64 // time cur ended (ws clock)
	since     time.Time
}

// maxHeld bounds the frames held back during an overlap; beyond it the
// switch is forced (a book may then resync, trades are refetched by id).
const maxHeld = 200_000

// switchGrace is how long a switch waits for proof that the old
// connection's frames were all consumed before releasing the held frames.
const switchGrace = time.Second

type mux struct {
	a      *Adapter
	name   string
	shards []*shard // grows only in the consumer goroutine (see add)
	items  chan muxItem
	evMu   sync.Mutex
	evs    []muxEvent
	evSig  chan struct{}
	st     []shardState
	ctl    chan func() bool // control requests run by the consumer
	wake   <-chan struct{}  // optional handler wake-ups
	onWake func() bool
	stats  muxStats

	// set while running
	ctx context.Context
	wg  *sync.WaitGroup
}

// muxStats counts what the multiplexer did (tests and logs).
type muxStats struct {
	held, released, holes, forced atomic.Int64
}

// newMux plans the connections for streams (Binance names, e.g.
// "btcusdt@aggTrade") and builds their clients (not yet connected). More
// streams can be added while it runs (addStream).
func (a *Adapter) newMux(name string, streams []string) (*mux, error) {
	m := &mux{a: a, name: name, items: make(chan muxItem, 1024), evSig: make(chan struct{}, 1), ctl: make(chan func() bool)}
	per := a.opt.streamsPerConn
	for i := 0; i < len(streams); i += per {
		if _, err := m.newShard(streams[i:min(i+per, len(streams))]); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// newShard adds a connection for streams (consumer goroutine or before run).
func (m *mux) newShard(streams []string) (int, error) {
	a := m.a
	sh := &shard{streams: append([]string(nil), streams...)}
	idx := len(m.shards)
	cfg := ws.Config{
		Name:           fmt.Sprintf("binance-%s-%d", m.name, idx),
		URLFunc:        func(context.Context) (string, error) { return a.streamURL(sh.list()), nil },
		OnConnect:      func(ctx context.Context, s *ws.Session) error { return a.subscribe(ctx, s, sh.list()) },
		SilenceTimeout: time.Minute, // Binance pings every 20 s
		MaxLifetime:    a.opt.wsLifetime,
		Overlap:        a.opt.wsOverlap,
		Backoff:        a.opt.wsBackoff,
		SendRate:       MaxWSMessagesPerS - 1,
		HTTPClient:     a.cfg.HTTPClient,
		Logger:         a.log,
		OnEvent:        func(ev ws.Event) { m.pushEvent(idx, ev) },
	}
	c, err := ws.New(cfg)
	if err != nil {
		return 0, fmt.Errorf("binance: stream connection: %w", err)
	}
	sh.client = c
	m.shards = append(m.shards, sh)
	m.st = append(m.st, shardState{})
	if m.ctx != nil {
		m.start(idx)
	}
	return idx, nil
}

// start runs shard i's connection, forwarding its frames to the consumer.
func (m *mux) start(i int) {
	sh := m.shards[i]
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		for f, err := range sh.client.StreamRaw(m.ctx) {
			select {
			case m.items <- muxItem{shard: i, frame: f, err: err}:
			case <-m.ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
}

// do runs f in the consumer goroutine and waits for it; false if the mux
// is not running (or stops first).
func (m *mux) do(ctx context.Context, done <-chan struct{}, f func() bool) bool {
	ran := make(chan struct{})
	select {
	case m.ctl <- func() bool { defer close(ran); return f() }:
	case <-ctx.Done():
		return false
	case <-done:
		return false
	}
	select {
	case <-ran:
		return true
	case <-ctx.Done():
		return false
	case <-done:
		return false
	}
}

// addStream subscribes one more stream (consumer goroutine): on a shard
// with room, with a live SUBSCRIBE, or on a new connection. It returns the
// shard.
func (m *mux) addStream(name string) (int, error) {
	for i, sh := range m.shards {
		sh.mu.Lock()
		if len(sh.streams) < m.a.opt.streamsPerConn {
			sh.streams = append(sh.streams, name)
			sh.mu.Unlock()
			m.sendLive(i, "SUBSCRIBE", name)
			return i, nil
		}
		sh.mu.Unlock()
	}
	return m.newShard([]string{name})
}

// removeStream unsubscribes a stream (consumer goroutine).
func (m *mux) removeStream(name string) {
	for i, sh := range m.shards {
		sh.mu.Lock()
		k := slices.Index(sh.streams, name)
		if k >= 0 {
			sh.streams = slices.Delete(sh.streams, k, k+1)
		}
		sh.mu.Unlock()
		if k >= 0 {
			m.sendLive(i, "UNSUBSCRIBE", name)
			return
		}
	}
}

// sendLive sends a live (UN)SUBSCRIBE on shard i's connection (waiting for
// it while it connects). A connection made later subscribes from the list
// anyway; a repeated SUBSCRIBE is harmless.
func (m *mux) sendLive(i int, method, name string) {
	if m.ctx == nil {
		return
	}
	c := m.shards[i].client
	msg, _ := json.Marshal(map[string]any{"method": method, "params": []string{name}, "id": time.Now().UnixNano() % 1e9})
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		ctx, cancel := context.WithTimeout(m.ctx, 10*time.Second)
		defer cancel()
		if err := c.Send(ctx, msg); err != nil && m.ctx.Err() == nil {
			m.a.log.Warn("binance: live "+method+" failed; it is sent again on the next connection", "stream", name, "err", err)
		}
	}()
}

// maxURLLen bounds the combined-stream URL; a longer stream list is
// subscribed with SUBSCRIBE messages after connecting.
const maxURLLen = 4000

// streamURL is the combined-stream URL of a shard: /stream?streams=a/b/c
// when the list is short, else /stream (the streams are then subscribed in
// OnConnect).
func (a *Adapter) streamURL(streams []string) string {
	base := a.wsURL + "/stream"
	joined := strings.Join(streams, "/")
	if limit := a.opt.urlLimit; len(base)+len(joined)+9 <= limit {
		return base + "?streams=" + joined // names are [a-z0-9@_], as Binance documents the URL
	}
	return base
}

// subscribe sends SUBSCRIBE messages for a shard whose streams did not fit
// in the URL, 200 streams per message, paced by the connection's SendRate.
func (a *Adapter) subscribe(ctx context.Context, s *ws.Session, streams []string) error {
	if strings.Contains(s.URL(), "?streams=") {
		return nil
	}
	const batch = 200
	for i := 0; i < len(streams); i += batch {
		msg, err := json.Marshal(map[string]any{"method": "SUBSCRIBE", "params": streams[i:min(i+batch, len(streams))], "id": i/batch + 1})
		if err != nil {
			return err
		}
		if err := s.Send(ctx, msg); err != nil {
			return err
		}
	}
	return nil
}

func (m *mux) pushEvent(shard int, ev ws.Event) {
	m.evMu.Lock()
	m.evs = append(m.evs, muxEvent{shard, ev})
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

// run connects every shard and feeds frames and events to h until ctx ends,
// h stops, or a connection fails for good (the error is returned).
func (m *mux) run(ctx context.Context, h streamHandler) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	m.ctx, m.wg = ctx, &wg
	defer func() {
		cancel()
		wg.Wait()
	}()
	for i := range m.shards {
		m.start(i)
	}
	tick := time.NewTicker(switchGrace / 4)
	defer tick.Stop()
	for {
		if !m.handleEvents(h) {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case it := <-m.items:
			if it.err != nil {
				return fmt.Errorf("binance: stream connection %d: %w", it.shard, it.err)
			}
			if !m.onFrame(it.shard, it.frame, h) {
				return nil
			}
		case f := <-m.ctl:
			if !f() {
				return nil
			}
		case <-m.evSig:
		case <-m.wake:
			if m.onWake != nil && !m.onWake() {
				return nil
			}
		case <-tick.C:
			for i := range m.st {
				if s := &m.st[i]; s.switching && time.Since(s.since) > switchGrace {
					if !m.release(i, h) {
						return nil
					}
				}
			}
		}
	}
}

func (m *mux) handleEvents(h streamHandler) bool {
	for _, e := range m.takeEvents() {
		if !m.onEvent(e.shard, e.ev, h) {
			return false
		}
	}
	return true
}

func (m *mux) onEvent(i int, ev ws.Event, h streamHandler) bool {
	s := &m.st[i]
	switch ev.Kind {
	case ws.Connected:
		if ev.Planned && s.cur != 0 && ev.PrevGen == s.cur && !s.switching {
			s.pending, s.held = ev.Gen, s.held[:0]
			return true
		}
		if ev.Planned && s.switching {
			// A second planned reconnection before the first switch
			// completed: release what is held and chain.
			if !m.release(i, h) {
				return false
			}
			s.pending = ev.Gen
			return true
		}
		s.cur, s.pending, s.held, s.switching = ev.Gen, 0, nil, false
		return h.resumed(i)
	case ws.Disconnected:
		switch ev.Gen {
		case s.pending:
			// The successor died during the overlap; the old connection
			// keeps delivering.
			s.pending, s.held = 0, nil
		case s.cur:
			if s.pending != 0 {
				s.switching, s.endedAt, s.since = true, ev.Time, time.Now()
				return true
			}
			if errors.Is(ev.Err, ws.ErrStopped) {
				return true
			}
			// Frames of the broken connection still in flight are
			// dropped from now on: the handler recovers from the hole as
			// a whole (books resync, trades and candles are refetched).
			s.cur = 0
			m.stats.holes.Add(1)
			return h.hole(i)
		}
	}
	return true
}

func (m *mux) onFrame(i int, f ws.Frame, h streamHandler) bool {
	s := &m.st[i]
	switch {
	case f.Gen == s.cur:
		return m.deliver(i, f, h)
	case f.Gen == s.pending && s.pending != 0:
		if s.switching && f.Received > s.endedAt {
			// Received after the old connection ended, so everything it
			// delivered is already consumed: switch.
			if !m.release(i, h) {
				return false
			}
			return m.deliver(i, f, h)
		}
		s.held = append(s.held, f)
		m.stats.held.Add(1)
		if len(s.held) > maxHeld {
			m.stats.forced.Add(1)
			return m.release(i, h)
		}
		return true
	}
	// A connection whose Connected event was not seen yet: events are
	// emitted before a connection's frames, so read them now.
	if !m.handleEvents(h) {
		return false
	}
	if f.Gen == s.cur || f.Gen == s.pending {
		return m.onFrame(i, f, h)
	}
	return true // a frame of a connection already replaced: stale
}

// release makes the held frames' connection current and delivers them.
func (m *mux) release(i int, h streamHandler) bool {
	s := &m.st[i]
	held := s.held
	s.cur, s.pending, s.held, s.switching = s.pending, 0, nil, false
	m.stats.released.Add(int64(len(held)))
	for _, f := range held {
		if !m.deliver(i, f, h) {
			return false
		}
	}
	return true
}

func (m *mux) deliver(i int, f ws.Frame, h streamHandler) bool {
	fr, err := splitFrame(f.Data)
	if err != nil {
		m.a.log.Warn("binance: undecodable stream frame skipped", "err", err)
		return true
	}
	if fr.Kind == evReply {
		if fr.HasError {
			m.a.log.Error("binance: stream request refused", "id", fr.ID, "code", fr.ErrCode, "msg", fr.ErrMsg)
		}
		return true
	}
	if fr.Kind == evUnknown {
		return true
	}
	return h.frame(i, f, &fr)
}
