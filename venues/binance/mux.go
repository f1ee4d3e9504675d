package binance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
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

// shard is one WebSocket connection's worth of streams.
type shard struct {
	streams []string
	client  *ws.Client
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
	shards []*shard
	items  chan muxItem
	evMu   sync.Mutex
	evs    []muxEvent
	evSig  chan struct{}
	st     []shardState
	wake   <-chan struct{} // optional handler wake-ups
	onWake func() bool
	stats  muxStats
}

// muxStats counts what the multiplexer did (tests and logs).
type muxStats struct {
	held, released, holes, forced atomic.Int64
}

// newMux plans the connections for streams (Binance names, e.g.
// "btcusdt@aggTrade") and builds their clients (not yet connected).
func (a *Adapter) newMux(name string, streams []string) (*mux, error) {
	if len(streams) == 0 {
		return nil, errors.New("binance: no streams to subscribe (give at least one symbol)")
	}
	m := &mux{a: a, items: make(chan muxItem, 1024), evSig: make(chan struct{}, 1)}
	per := a.opt.streamsPerConn
	for i := 0; i < len(streams); i += per {
		sh := &shard{streams: streams[i:min(i+per, len(streams))]}
		idx := len(m.shards)
		cfg := ws.Config{
			Name:           fmt.Sprintf("binance-%s-%d", name, idx),
			URLFunc:        func(context.Context) (string, error) { return a.streamURL(sh.streams), nil },
			OnConnect:      func(ctx context.Context, s *ws.Session) error { return a.subscribe(ctx, s, sh.streams) },
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
			return nil, fmt.Errorf("binance: stream connection: %w", err)
		}
		sh.client = c
		m.shards = append(m.shards, sh)
	}
	m.st = make([]shardState, len(m.shards))
	return m, nil
}

// maxURLStreams is how many streams go in the combined-stream URL; a
// longer list is subscribed with SUBSCRIBE messages after connecting.
const maxURLLen = 4000

// streamURL is the combined-stream URL of a shard: /stream?streams=a/b/c
// when the list is short, else /stream (the streams are then subscribed in
// OnConnect).
func (a *Adapter) streamURL(streams []string) string {
	base := a.wsURL + "/stream"
	joined := strings.Join(streams, "/")
	if len(base)+len(joined)+9 <= maxURLLen {
		return base + "?streams=" + url.PathEscape(joined)
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
	defer func() {
		cancel()
		wg.Wait()
	}()
	for i, sh := range m.shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f, err := range sh.client.StreamRaw(ctx) {
				select {
				case m.items <- muxItem{shard: i, frame: f, err: err}:
				case <-ctx.Done():
					return
				}
				if err != nil {
					return
				}
			}
		}()
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
		wasLive := s.cur != 0
		s.cur, s.pending, s.held, s.switching = ev.Gen, 0, nil, false
		if wasLive {
			m.stats.holes.Add(1)
		}
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
