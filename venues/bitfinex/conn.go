package bitfinex

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pype-go/pype/transport/ratelimit"
	"github.com/pype-go/pype/transport/ws"
)

// This file runs Bitfinex WebSocket connections for the stream handlers.
//
// The channels of a stream are spread over connections of at most 25
// channels ("shards"). On every connection the adapter first sends
// {"event":"conf","flags":196608} (SEQ_ALL | OB_CHECKSUM) and then one
// subscribe message per channel; the "subscribed" answers map channel ids
// to channels. One consumer goroutine sees every shard's frames, in order
// per connection, and tells the handler about:
//
//   - connected: a new connection (the first one, or one after a hole);
//   - hole: the connection broke or the platform entered maintenance
//     (info 20060): frames may be lost until connected is called again;
//   - gap: a SEQ_ALL sequence number was skipped: some frame of this
//     connection was lost, on an unknown channel;
//   - subscribed and frame.
//
// Duplicated frames (a sequence number not above the last one) are dropped.
// Info 20051 (server restart) and 20061 (maintenance over: "unsubscribe and
// resubscribe all channels") make the adapter reconnect that shard at once.

// channelSpec is one channel subscription of a stream.
type channelSpec struct {
	key     string         // "book:tBTCUSD", "candles:trade:1m:tBTCUSD"
	channel string         // "book", "trades", "candles"
	target  string         // symbol or candle key (for errors)
	msg     map[string]any // the subscribe message
	idx     int            // the handler's index of this channel
	chanID  atomic.Int64   // current channel id, 0 when unsubscribed
}

// matches reports whether a "subscribed" event answers spec.
func (c *channelSpec) matches(ev *wsEvent) bool {
	if ev.Channel != c.channel {
		return false
	}
	if c.channel == "candles" {
		return ev.Key == c.target
	}
	return ev.Symbol == c.target
}

// chanHandler consumes one stream kind's frames. Returning false stops the
// stream (the consumer stopped).
type chanHandler interface {
	connected(sh *shard, first bool) bool
	hole(sh *shard) bool
	gap(sh *shard) bool
	subscribed(sh *shard, c *channelSpec) bool
	frame(sh *shard, c *channelSpec, f *wsFrame, recv int64) bool
}

// shard is one WebSocket connection's worth of channels.
type shard struct {
	id    int
	specs []*channelSpec

	mu      sync.Mutex
	client  *ws.Client
	restart context.CancelFunc // ends the current run to reconnect at once

	// consumer goroutine only:
	chans    map[int64]*channelSpec
	conn     uint64 // current connection (run<<32 | gen), 0 before the first
	live     bool
	lastSeq  int64
	hasSeq   bool
	maint    bool
	started  bool
	gaps     int64
	dups     int64
	restarts int64
}

// send writes a message on the shard's current connection.
func (sh *shard) send(ctx context.Context, v any) error {
	sh.mu.Lock()
	c := sh.client
	sh.mu.Unlock()
	if c == nil {
		return ws.ErrNotConnected
	}
	return c.SendJSON(ctx, v)
}

// reconnect ends the shard's current connection; a new one is made at once.
func (sh *shard) reconnect() {
	sh.mu.Lock()
	if sh.restart != nil {
		sh.restart()
	}
	sh.mu.Unlock()
}

// resubscribe unsubscribes c's channel (if subscribed) and subscribes it
// again, which makes the venue send a fresh snapshot. Frames of the old
// channel id that are still in flight go to c until the "unsubscribed"
// answer; book handlers drop them while resyncing.
func (sh *shard) resubscribe(ctx context.Context, c *channelSpec) error {
	if id := c.chanID.Load(); id != 0 {
		if err := sh.send(ctx, map[string]any{"event": "unsubscribe", "chanId": id}); err != nil {
			return err
		}
	}
	return sh.send(ctx, c.msg)
}

// idleFlusher is implemented by handlers that hold state back until it is
// known to be complete (book updates sent as several frames) and report
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
	shard int
	run   uint64
	frame ws.Frame
	err   error
}

type connEvent struct {
	shard int
	run   uint64
	ev    ws.Event
}

// connMux runs the shards of one stream.
type connMux struct {
	a      *Adapter
	name   string
	shards []*shard
	items  chan connItem
	evMu   sync.Mutex
	evs    []connEvent
	evSig  chan struct{}
	wake   <-chan struct{}
	onWake func() bool
	idle   idleFlusher // optional
	fr     wsFrame
	err    error // terminal error found while handling frames
}

// newConnMux spreads specs over shards of at most channelsPerConn channels.
func (a *Adapter) newConnMux(name string, specs []*channelSpec) (*connMux, error) {
	if len(specs) == 0 {
		return nil, errors.New("bitfinex: no channel to subscribe (give at least one symbol)")
	}
	m := &connMux{a: a, name: name, items: make(chan connItem, 1024), evSig: make(chan struct{}, 1)}
	per := a.opt.channelsPerConn
	for i := 0; i < len(specs); i += per {
		m.shards = append(m.shards, &shard{id: len(m.shards), specs: specs[i:min(i+per, len(specs))]})
	}
	return m, nil
}

// shardOf returns the shard holding spec.
func (m *connMux) shardOf(c *channelSpec) *shard {
	for _, sh := range m.shards {
		for _, s := range sh.specs {
			if s == c {
				return sh
			}
		}
	}
	return nil
}

func (m *connMux) newClient(sh *shard, run uint64) (*ws.Client, error) {
	a := m.a
	cfg := ws.Config{
		Name: fmt.Sprintf("bitfinex-%s-%d", m.name, sh.id),
		URLFunc: func(ctx context.Context) (string, error) {
			if err := a.dials.Wait(ctx, ratelimit.Cost{{Rule: "WS_CONNECTIONS", N: 1}}); err != nil {
				return "", err
			}
			return a.wsURL, nil
		},
		OnConnect: func(ctx context.Context, s *ws.Session) error {
			if err := s.SendJSON(ctx, map[string]any{"event": "conf", "flags": FlagSeqAll | FlagOBChecksum}); err != nil {
				return err
			}
			for _, c := range sh.specs {
				if err := s.SendJSON(ctx, c.msg); err != nil {
					return err
				}
			}
			return nil
		},
		SilenceTimeout: 30 * time.Second, // heartbeats every 15 s per channel
		Backoff:        a.opt.wsBackoff,
		HTTPClient:     a.cfg.HTTPClient,
		Logger:         a.log,
		OnEvent:        func(ev ws.Event) { m.pushEvent(sh.id, run, ev) },
	}
	return ws.New(cfg)
}

func (m *connMux) pushEvent(shard int, run uint64, ev ws.Event) {
	m.evMu.Lock()
	m.evs = append(m.evs, connEvent{shard, run, ev})
	m.evMu.Unlock()
	select {
	case m.evSig <- struct{}{}:
	default:
	}
}

func (m *connMux) takeEvents() []connEvent {
	m.evMu.Lock()
	defer m.evMu.Unlock()
	evs := m.evs
	m.evs = nil
	return evs
}

// runShard keeps shard sh connected until ctx ends, starting a new client
// whenever a reconnection is requested.
func (m *connMux) runShard(ctx context.Context, sh *shard) {
	for run := uint64(1); ctx.Err() == nil; run++ {
		c, err := m.newClient(sh, run)
		if err != nil {
			select {
			case m.items <- connItem{shard: sh.id, run: run, err: err}:
			case <-ctx.Done():
			}
			return
		}
		rctx, cancel := context.WithCancel(ctx)
		sh.mu.Lock()
		sh.client, sh.restart = c, cancel
		sh.mu.Unlock()
		for f, err := range c.StreamRaw(rctx) {
			select {
			case m.items <- connItem{shard: sh.id, run: run, frame: f, err: err}:
			case <-ctx.Done():
				cancel()
				return
			}
			if err != nil {
				cancel()
				return
			}
		}
		cancel()
		if ctx.Err() == nil {
			m.pushEvent(sh.id, run, ws.Event{Kind: ws.Disconnected, Gen: 0, Err: errReconnect})
		}
	}
}

var errReconnect = errors.New("bitfinex: reconnecting on the venue's request")

// run connects every shard and feeds the handler until ctx ends, the
// handler stops, or a connection fails for good.
func (m *connMux) run(ctx context.Context, h chanHandler) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	for _, sh := range m.shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.runShard(ctx, sh)
		}()
	}
	// The idle timer runs while the handler holds something back.
	var idle *time.Timer
	var idleC <-chan time.Time
	defer func() {
		if idle != nil {
			idle.Stop()
		}
	}()
	for {
		if !m.handleEvents(h) {
			return m.err
		}
		if m.idle != nil && idleC == nil && m.idle.holding() {
			if idle == nil {
				idle = time.NewTimer(m.idle.quietPeriod())
			} else {
				idle.Reset(m.idle.quietPeriod())
			}
			idleC = idle.C
		}
		select {
		case <-ctx.Done():
			return nil
		case <-idleC:
			idleC = nil
			if !m.idle.flushIdle(time.Now(), len(m.items)) {
				return m.err
			}
		case it := <-m.items:
			if it.err != nil {
				return fmt.Errorf("bitfinex: %s stream connection %d: %w", m.name, it.shard, it.err)
			}
			if !m.onFrame(m.shards[it.shard], it.run, it.frame, h) {
				return m.err
			}
		case <-m.evSig:
		case <-m.wake:
			if m.onWake != nil && !m.onWake() {
				return m.err
			}
		}
	}
}

func (m *connMux) handleEvents(h chanHandler) bool {
	for _, e := range m.takeEvents() {
		sh := m.shards[e.shard]
		if e.ev.Kind != ws.Disconnected {
			continue
		}
		key := e.run<<32 | e.ev.Gen
		if (e.ev.Gen == 0 && e.run == sh.conn>>32) || key == sh.conn {
			if sh.live {
				sh.live = false
				if !h.hole(sh) {
					return false
				}
			}
		}
	}
	return true
}

// onFrame handles one frame of shard sh.
func (m *connMux) onFrame(sh *shard, run uint64, f ws.Frame, h chanHandler) bool {
	key := run<<32 | f.Gen
	if key != sh.conn {
		if !m.handleEvents(h) {
			return false
		}
		if key < sh.conn {
			return true // a late frame of a replaced connection
		}
		if sh.live && !h.hole(sh) {
			return false
		}
		first := !sh.started
		sh.conn, sh.live, sh.started = key, true, true
		sh.chans, sh.hasSeq, sh.maint = map[int64]*channelSpec{}, false, false
		for _, c := range sh.specs {
			c.chanID.Store(0)
		}
		if !h.connected(sh, first) {
			return false
		}
	}
	fr := &m.fr
	if err := parseFrame(f.Data, fr); err != nil {
		m.a.log.Warn("bitfinex: undecodable frame skipped; treating it as a lost frame", "stream", m.name, "err", err)
		return h.gap(sh)
	}
	if fr.HasSeq {
		switch {
		case !sh.hasSeq:
		case fr.Seq <= sh.lastSeq:
			sh.dups++
			return true // a duplicate
		case fr.Seq > sh.lastSeq+1:
			sh.gaps++
			m.a.log.Warn("bitfinex: sequence gap; resynchronising the connection's channels", "stream", m.name,
				"connection", sh.id, "after", sh.lastSeq, "got", fr.Seq)
			sh.lastSeq, sh.hasSeq = fr.Seq, true
			if !h.gap(sh) {
				return false
			}
		}
		sh.lastSeq, sh.hasSeq = fr.Seq, true
	}
	if fr.Kind == fkEvent {
		return m.onEvent(sh, &fr.Event, h)
	}
	c := sh.chans[fr.Chan]
	if c == nil || sh.maint {
		return true
	}
	return h.frame(sh, c, fr, f.Received)
}

func (m *connMux) onEvent(sh *shard, ev *wsEvent, h chanHandler) bool {
	switch ev.Event {
	case "info":
		switch ev.Code {
		case infoReconnect:
			m.a.log.Info("bitfinex: the server asks to reconnect (20051)", "stream", m.name, "connection", sh.id)
			sh.restarts++
			sh.reconnect()
		case infoMaintStart:
			m.a.log.Warn("bitfinex: platform maintenance started (20060); pausing", "stream", m.name, "connection", sh.id)
			sh.maint = true
			if sh.live {
				sh.live = false
				return h.hole(sh)
			}
		case infoMaintEnd:
			m.a.log.Info("bitfinex: maintenance over (20061); resubscribing", "stream", m.name, "connection", sh.id)
			sh.restarts++
			sh.reconnect()
		default:
			if ev.Platform != nil && ev.Platform.Status == 0 {
				m.a.log.Warn("bitfinex: platform in maintenance (status 0); waiting", "stream", m.name)
				sh.maint = true
				if sh.live {
					sh.live = false
					return h.hole(sh)
				}
			}
		}
	case "conf":
		if ev.Status != "OK" {
			m.a.log.Warn("bitfinex: conf flags refused; sequence numbers and checksums are not verified", "status", ev.Status, "flags", ev.Flags)
		}
	case "subscribed":
		for _, c := range sh.specs {
			if c.matches(ev) {
				sh.chans[ev.ChanID] = c
				c.chanID.Store(ev.ChanID)
				return h.subscribed(sh, c)
			}
		}
	case "unsubscribed":
		if c := sh.chans[ev.ChanID]; c != nil {
			delete(sh.chans, ev.ChanID)
			c.chanID.CompareAndSwap(ev.ChanID, 0)
		}
	case "error":
		if ev.Code == codeSubMulti || ev.Code == codeUnsubFail {
			m.a.log.Debug("bitfinex: subscription answer ignored", "code", ev.Code, "msg", ev.Msg)
			return true
		}
		se := &SubscribeError{Code: ev.Code, Msg: ev.Msg, Channel: ev.Channel}
		for _, c := range sh.specs {
			if c.channel == ev.Channel && (ev.Symbol == c.target || ev.Key == c.target) {
				se.Target = c.target
			}
		}
		if se.Target == "" {
			se.Target = ev.Symbol + ev.Key
		}
		m.err = se
		return false
	}
	return true
}

// subscribeMsg builds a subscribe message.
func subscribeMsg(fields ...string) map[string]any {
	m := map[string]any{"event": "subscribe"}
	for i := 0; i+1 < len(fields); i += 2 {
		m[fields[i]] = fields[i+1]
	}
	return m
}
