package okx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/transport/ws"
)

// This file runs OKX WebSocket connections for the streams: the
// subscriptions are spread over connections (OKX asks for fewer than 30
// deep-book channels per connection), every connection is a transport/ws
// client that re-subscribes on every (re)connect, sends OKX's text "ping"
// after 20 s of silence and filters the "pong", and one consumer goroutine
// sees every frame in order per connection together with the connection
// events, so the handlers can resync books and fill trade holes after a
// break.

// subArg is one channel subscription argument.
type subArg struct {
	Channel string `json:"channel"`
	InstID  string `json:"instId"`
}

func (s subArg) String() string { return s.Channel + ":" + s.InstID }

// streamSym is one symbol of a live stream.
type streamSym struct {
	sym   domain.Symbol
	inst  string
	shard int
	last  int64 // trades: last id emitted; candles: last closed open time (ns)
	live  bool  // books: last reported state
}

// streamHandler consumes the frames of one stream kind.
type streamHandler interface {
	// frame processes a push of shard sh. Returning false stops the stream.
	frame(sh int, f ws.Frame, fr *frame) bool
	// hole is called when shard sh's connection broke: pushes may be lost
	// until resumed.
	hole(sh int) bool
	// resumed is called when shard sh has a new live connection (the first
	// one, or one after a hole).
	resumed(sh int) bool
}

// shard is one WebSocket connection's worth of subscriptions.
type shard struct {
	path   string
	args   []subArg
	syms   []*streamSym
	client *ws.Client
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

type mux struct {
	a      *Adapter
	shards []*shard
	items  chan muxItem
	evMu   sync.Mutex
	evs    []muxEvent
	evSig  chan struct{}
	gens   []uint64
	holed  []bool
	fatal  error
	wake   <-chan struct{} // optional handler wake-ups
	onWake func() bool
	fr     frame
}

// planShards resolves syms and lays their subscriptions (channel per
// symbol) over connections of at most per subscriptions each.
func (a *Adapter) planShards(ctx context.Context, syms []domain.Symbol, path, channel string, per int) ([]*shard, map[string]*streamSym, error) {
	if len(syms) == 0 {
		return nil, nil, fmt.Errorf("okx: no symbol to stream (give at least one, e.g. BTC/USDT)")
	}
	bySym := make(map[string]*streamSym, len(syms))
	var shards []*shard
	for _, s := range syms {
		inst, err := a.VenueSymbol(ctx, s)
		if err != nil {
			return nil, nil, err
		}
		if _, dup := bySym[inst]; dup {
			continue
		}
		if len(shards) == 0 || len(shards[len(shards)-1].args) == per {
			shards = append(shards, &shard{path: path})
		}
		sh := shards[len(shards)-1]
		ss := &streamSym{sym: s, inst: inst, shard: len(shards) - 1}
		bySym[inst] = ss
		sh.args = append(sh.args, subArg{Channel: channel, InstID: inst})
		sh.syms = append(sh.syms, ss)
	}
	return shards, bySym, nil
}

// subscribeBatch is the number of arguments per subscribe request (a
// request must stay under OKX's 64 KB).
const subscribeBatch = 100

func opMessage(op string, args []subArg) ([]byte, error) {
	return json.Marshal(struct {
		Op   string   `json:"op"`
		Args []subArg `json:"args"`
	}{op, args})
}

// newMux builds the clients of shards (not yet connected).
func (a *Adapter) newMux(name string, shards []*shard) (*mux, error) {
	m := &mux{a: a, shards: shards, items: make(chan muxItem, 1024), evSig: make(chan struct{}, 1),
		gens: make([]uint64, len(shards)), holed: make([]bool, len(shards))}
	for i, sh := range shards {
		cfg := ws.Config{
			Name: fmt.Sprintf("okx-%s-%d", name, i),
			URL:  a.wsURL + sh.path,
			OnConnect: func(ctx context.Context, s *ws.Session) error {
				for j := 0; j < len(sh.args); j += subscribeBatch {
					msg, err := opMessage("subscribe", sh.args[j:min(j+subscribeBatch, len(sh.args))])
					if err != nil {
						return ws.Permanent(err)
					}
					if err := s.Send(ctx, msg); err != nil {
						return err
					}
				}
				return nil
			},
			Heartbeat:      ws.Heartbeat{Interval: a.opt.pingInterval, Message: func() []byte { return []byte("ping") }, IdleOnly: true},
			IsControl:      isPong,
			PingInterval:   -1, // OKX's keep-alive is the text ping
			SilenceTimeout: 2*a.opt.pingInterval + 5*time.Second,
			Backoff:        a.opt.wsBackoff,
			HTTPClient:     a.cfg.HTTPClient,
			Logger:         a.log,
			OnEvent:        func(ev ws.Event) { m.pushEvent(i, ev) },
		}
		c, err := ws.New(cfg)
		if err != nil {
			return nil, fmt.Errorf("okx: stream connection: %w", err)
		}
		sh.client = c
	}
	return m, nil
}

// send writes an op message for args on the connection of shard sh (used
// to resubscribe a book).
func (m *mux) send(ctx context.Context, sh int, op string, args ...subArg) error {
	msg, err := opMessage(op, args)
	if err != nil {
		return err
	}
	return m.shards[sh].client.Send(ctx, msg)
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

// run connects every shard (a few hundred ms apart: OKX accepts 3
// connections per second per IP) and feeds frames and events to h until
// ctx ends, h stops, a connection fails for good or OKX refuses a
// subscription (the error is returned).
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
			if d := time.Duration(i) * m.a.opt.connectStride; d > 0 {
				t := time.NewTimer(d)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					return
				}
			}
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
	for {
		if !m.handleEvents(h) {
			return m.fatal
		}
		select {
		case <-ctx.Done():
			return nil
		case it := <-m.items:
			if it.err != nil {
				return fmt.Errorf("okx: stream connection %d: %w", it.shard, it.err)
			}
			if !m.onFrame(it.shard, it.frame, h) {
				return m.fatal
			}
		case <-m.evSig:
		case <-m.wake:
			if m.onWake != nil && !m.onWake() {
				return nil
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
	switch ev.Kind {
	case ws.Connected:
		return m.newGen(i, ev.Gen, h)
	case ws.Disconnected:
		if ev.Gen == m.gens[i] && !m.holed[i] && !errors.Is(ev.Err, ws.ErrStopped) {
			m.holed[i] = true
			return h.hole(i)
		}
	}
	return true
}

// newGen makes connection gen current for shard i: a hole for the
// previous one (if not reported yet), then resumed.
func (m *mux) newGen(i int, gen uint64, h streamHandler) bool {
	if gen <= m.gens[i] {
		return true
	}
	prev := m.gens[i]
	m.gens[i] = gen
	if prev != 0 && !m.holed[i] {
		if !h.hole(i) {
			return false
		}
	}
	m.holed[i] = false
	return h.resumed(i)
}

func (m *mux) onFrame(i int, f ws.Frame, h streamHandler) bool {
	if f.Gen != m.gens[i] {
		// Events come before a connection's frames; read them now.
		if !m.handleEvents(h) {
			return false
		}
		switch {
		case f.Gen < m.gens[i]:
			return true // a frame of a connection already replaced
		case f.Gen > m.gens[i]:
			if !m.newGen(i, f.Gen, h) {
				return false
			}
		}
	}
	fr := &m.fr
	if err := parseFrame(f.Data, fr); err != nil {
		m.a.log.Warn("okx: undecodable WebSocket frame skipped", "err", err)
		return true
	}
	if fr.Event != nil {
		return m.onVenueEvent(i, fr)
	}
	if fr.Channel == nil || fr.Data == nil {
		return true
	}
	return h.frame(i, f, fr)
}

// permanentCodes are WebSocket error codes that re-sending the same
// subscription cannot fix: the stream ends with a *StreamError.
var permanentCodes = map[string]bool{
	"60011": true,                               // please log in
	"60012": true,                               // invalid request
	"60013": true,                               // invalid args
	"60018": true,                               // wrong URL, channel or instrument
	"60029": true, "60030": true, "64003": true, // fee tier too low for the channel
	"64001": true, "64002": true, // channel on the wrong endpoint
	"64004": true, // books and books-l2-tbt together
}

func (m *mux) onVenueEvent(i int, fr *frame) bool {
	switch string(fr.Event) {
	case "subscribe", "unsubscribe", "channel-conn-count":
		m.a.log.Debug("okx: "+string(fr.Event), "connection", i, "channel", string(fr.Channel), "instId", string(fr.InstID))
	case "error":
		e := &StreamError{Code: string(fr.Code), Msg: string(fr.Msg), ConnID: string(fr.ConnID)}
		if fr.Channel != nil {
			e.Request = string(fr.Channel) + ":" + string(fr.InstID)
		}
		if permanentCodes[e.Code] {
			m.fatal = e
			return false
		}
		m.a.log.Warn("okx: WebSocket error event", "connection", i, "code", e.Code, "msg", e.Msg)
	case "notice":
		// 64008: the connection will be closed for a service upgrade; the
		// client reconnects when it is.
		m.a.log.Info("okx: WebSocket notice", "connection", i, "code", string(fr.Code), "msg", string(fr.Msg))
	default:
		m.a.log.Debug("okx: WebSocket event", "connection", i, "event", string(fr.Event), "code", string(fr.Code), "msg", string(fr.Msg))
	}
	return true
}
