package ws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// conn is one physical connection (one generation).
type conn struct {
	s   *settings
	cnt *counters

	gen         uint64
	url, redURL string
	ws          *websocket.Conn
	connectedAt time.Time

	ctx    context.Context // cancelled when the connection fails
	cancel context.CancelFunc

	lastAct atomic.Int64 // Unix ns of the last sign of life
	blocked atomic.Bool  // reader is waiting for the consumer
	started atomic.Bool  // reader goroutine owns reads

	pingT, hbT, wdT Timer // armed by arm, owned by the goroutines after start

	limiter *limiter // nil without Config.SendRate

	dead chan struct{} // closed by fail
	once sync.Once
	err  error // why it ended; valid after dead is closed
	wg   sync.WaitGroup
}

// connect dials a new connection and runs OnConnect on it.
func (r *run) connect(ctx context.Context) (*conn, error) {
	s := r.s
	raw := s.URL
	if s.URLFunc != nil {
		u, err := s.URLFunc(ctx)
		if err != nil {
			r.c.cnt.dialFailures.Add(1)
			return nil, fmt.Errorf("ws: Config.URLFunc: %w", err)
		}
		if err := s.checkURL(u); err != nil {
			return nil, err
		}
		raw = u
	}
	cctx, cancel := context.WithTimeout(ctx, s.ConnectTimeout)
	defer cancel()

	cn := &conn{
		s:      s,
		cnt:    &r.c.cnt,
		gen:    r.c.gen.Add(1),
		url:    raw,
		redURL: s.redact(raw),
		dead:   make(chan struct{}),
	}
	cn.ctx, cn.cancel = context.WithCancel(ctx)
	if s.SendRate > 0 {
		cn.limiter = newLimiter(s.clock, s.SendRate, s.SendBurst)
	}
	opts := &websocket.DialOptions{
		HTTPClient:   s.HTTPClient,
		HTTPHeader:   s.Header.Clone(),
		Subprotocols: s.Subprotocols,
		OnPingReceived: func(context.Context, []byte) bool {
			cn.touch()
			return true
		},
		OnPongReceived: func(context.Context, []byte) { cn.touch() },
	}
	r.c.cnt.dials.Add(1)
	wsc, resp, err := websocket.Dial(cctx, raw, opts)
	if err != nil {
		cn.cancel()
		r.c.cnt.dialFailures.Add(1)
		de := &DialError{URL: cn.redURL, Err: err}
		if resp != nil {
			de.StatusCode = resp.StatusCode
			if resp.Body != nil {
				b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
				de.Body = strings.TrimSpace(string(b))
			}
		}
		return nil, de
	}
	wsc.SetReadLimit(s.ReadLimit)
	cn.ws = wsc
	cn.touch()
	if s.OnConnect != nil {
		if err := s.OnConnect(cctx, &Session{cn: cn}); err != nil {
			cn.cancel()
			_ = wsc.CloseNow()
			r.c.cnt.dialFailures.Add(1)
			if ctx.Err() == nil && cctx.Err() != nil && !errors.Is(err, context.DeadlineExceeded) {
				err = fmt.Errorf("%w (ConnectTimeout %v): %w", context.DeadlineExceeded, s.ConnectTimeout, err)
			}
			return nil, &ConnectError{Gen: cn.gen, Err: err}
		}
	}
	cn.connectedAt = s.clock.Now()
	cn.touch()
	return cn, nil
}

func (cn *conn) touch() { cn.lastAct.Store(cn.s.clock.Now().UnixNano()) }

func (cn *conn) idle() time.Duration {
	return time.Duration(cn.s.clock.Now().UnixNano() - cn.lastAct.Load())
}

// fail ends the connection with err (first cause wins).
func (cn *conn) fail(err error) {
	cn.once.Do(func() {
		cn.err = err
		cn.cancel()
		_ = cn.ws.CloseNow()
		close(cn.dead)
	})
}

// arm creates the connection's timers (before it is announced, so a fake
// clock advanced on the Connected event fires them).
func (cn *conn) arm() {
	s := cn.s
	if s.PingInterval > 0 {
		cn.pingT = s.clock.NewTimer(s.PingInterval)
	}
	if s.Heartbeat.enabled() {
		cn.hbT = s.clock.NewTimer(s.Heartbeat.Interval)
	}
	if s.SilenceTimeout > 0 {
		cn.wdT = s.clock.NewTimer(s.SilenceTimeout)
	}
}

func (cn *conn) start(frames chan<- Frame) {
	cn.started.Store(true)
	cn.wg.Add(1)
	go cn.readLoop(frames)
	if cn.pingT != nil {
		cn.wg.Add(1)
		go cn.pingLoop()
	}
	if cn.hbT != nil || cn.wdT != nil {
		cn.wg.Add(1)
		go cn.keeper()
	}
}

func (cn *conn) readErr(err error) error {
	var ce websocket.CloseError
	switch {
	case errors.As(err, &ce):
		return &CloseError{Code: int(ce.Code), Reason: ce.Reason}
	case errors.Is(err, websocket.ErrMessageTooBig):
		return fmt.Errorf("ws: read on connection %d: message larger than Config.ReadLimit (%d bytes): %w", cn.gen, cn.s.ReadLimit, err)
	}
	return fmt.Errorf("ws: read on connection %d: %w", cn.gen, err)
}

// readLoop reads messages and hands them to the stream. Reads use a
// context without Done (no per-read timer); fail unblocks them by closing
// the connection.
func (cn *conn) readLoop(frames chan<- Frame) {
	defer cn.wg.Done()
	var buf []byte
	for {
		typ, rd, err := cn.ws.Reader(context.Background())
		if err != nil {
			cn.fail(cn.readErr(err))
			return
		}
		recv := cn.s.clock.Now().UnixNano()
		buf, err = readInto(rd, buf[:0])
		if err != nil {
			cn.fail(cn.readErr(err))
			return
		}
		cn.lastAct.Store(recv)
		cn.cnt.frames.Add(1)
		cn.cnt.bytes.Add(uint64(len(buf)))
		if cn.s.IsControl != nil && cn.s.IsControl(buf) {
			cn.cnt.control.Add(1)
			continue
		}
		f := Frame{Data: bytes.Clone(buf), Binary: typ == websocket.MessageBinary, Received: recv, Gen: cn.gen}
		if cap(buf) > 1<<20 {
			buf = nil // do not pin a huge snapshot buffer
		}
		select {
		case frames <- f:
		default:
			cn.blocked.Store(true)
			select {
			case frames <- f:
				cn.blocked.Store(false)
				cn.touch()
			case <-cn.ctx.Done():
				cn.blocked.Store(false)
				return
			}
		}
	}
}

// readInto appends r's content to b, reusing its capacity.
func readInto(r io.Reader, b []byte) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

func (cn *conn) pingLoop() {
	defer cn.wg.Done()
	s := cn.s
	t := cn.pingT
	defer func() { t.Stop() }()
	for {
		select {
		case <-cn.ctx.Done():
			return
		case <-t.C():
		}
		if err := cn.wait(cn.ctx); err != nil {
			return
		}
		sent := s.clock.Now().UnixNano()
		cn.cnt.pings.Add(1)
		pctx, cancel := context.WithCancel(cn.ctx)
		res := make(chan error, 1)
		go func() { res <- cn.ws.Ping(pctx) }()
		pt := s.clock.NewTimer(s.PongTimeout)
		var err error
		timedOut := false
		select {
		case err = <-res:
		case <-pt.C():
			timedOut = true
			cancel()
			err = <-res
		case <-cn.ctx.Done():
			cancel()
			<-res
			pt.Stop()
			return
		}
		cancel()
		pt.Stop()
		if cn.ctx.Err() != nil {
			return
		}
		if timedOut {
			// Anything received meanwhile (or a consumer holding the
			// reader) proves the connection is alive.
			if !cn.blocked.Load() && cn.lastAct.Load() <= sent {
				cn.cnt.pongTimeouts.Add(1)
				cn.fail(fmt.Errorf("%w: no pong within %v on connection %d", ErrPongTimeout, s.PongTimeout, cn.gen))
				return
			}
		} else if err != nil {
			cn.fail(fmt.Errorf("ws: ping on connection %d: %w", cn.gen, err))
			return
		}
		t = s.clock.NewTimer(s.PingInterval)
	}
}

// keeper sends application heartbeats and runs the silence watchdog.
func (cn *conn) keeper() {
	defer cn.wg.Done()
	s := cn.s
	hb := s.Heartbeat
	hbT, wdT := cn.hbT, cn.wdT
	defer func() {
		stopTimer(&hbT)
		stopTimer(&wdT)
	}()
	for {
		select {
		case <-cn.ctx.Done():
			return
		case <-timerC(hbT):
			if hb.IdleOnly {
				if idle := cn.idle(); idle < hb.Interval {
					hbT = s.clock.NewTimer(hb.Interval - idle)
					continue
				}
			}
			if err := cn.send(cn.ctx, hb.Message()); err != nil {
				if cn.ctx.Err() == nil {
					cn.fail(fmt.Errorf("ws: heartbeat: %w", err))
				}
				return
			}
			cn.cnt.heartbeats.Add(1)
			hbT = s.clock.NewTimer(hb.Interval)
		case <-timerC(wdT):
			if cn.blocked.Load() {
				wdT = s.clock.NewTimer(s.SilenceTimeout)
				continue
			}
			idle := cn.idle()
			if idle >= s.SilenceTimeout {
				cn.cnt.silences.Add(1)
				cn.fail(fmt.Errorf("%w: nothing received on connection %d for %v (SilenceTimeout %v)", ErrSilence, cn.gen, idle, s.SilenceTimeout))
				return
			}
			wdT = s.clock.NewTimer(s.SilenceTimeout - idle)
		}
	}
}

// wait applies Config.SendRate.
func (cn *conn) wait(ctx context.Context) error {
	if cn.limiter == nil {
		return nil
	}
	if err := cn.limiter.wait(ctx); err != nil {
		return fmt.Errorf("ws: send on connection %d: waiting for SendRate %v/s: %w", cn.gen, cn.s.SendRate, err)
	}
	return nil
}

func (cn *conn) send(ctx context.Context, data []byte) error {
	if err := cn.wait(ctx); err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cn.s.WriteTimeout)
		defer cancel()
	}
	if err := cn.ws.Write(ctx, websocket.MessageText, data); err != nil {
		return fmt.Errorf("ws: send on connection %d: %w", cn.gen, err)
	}
	cn.cnt.sent.Add(1)
	cn.cnt.sentBytes.Add(uint64(len(data)))
	return nil
}

// Session is one connection as seen by OnConnect.
type Session struct{ cn *conn }

// Gen is the connection's generation (the Frame.Gen of its frames).
func (s *Session) Gen() uint64 { return s.cn.gen }

// URL is the URL actually dialled (not redacted: do not log it if it
// carries a token).
func (s *Session) URL() string { return s.cn.url }

// Send writes data as a text message on this connection.
func (s *Session) Send(ctx context.Context, data []byte) error { return s.cn.send(ctx, data) }

// SendJSON marshals v and sends it on this connection.
func (s *Session) SendJSON(ctx context.Context, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("ws: send: marshal %T: %w", v, err)
	}
	return s.cn.send(ctx, b)
}

// Read returns the next non-control frame. It may only be used inside
// OnConnect (e.g. to wait for a login or subscription acknowledgement);
// frames it returns are not delivered to the stream. Cancelling ctx closes
// the connection.
func (s *Session) Read(ctx context.Context) (Frame, error) {
	cn := s.cn
	for {
		if cn.started.Load() {
			return Frame{}, ErrReadAfterConnect
		}
		typ, data, err := cn.ws.Read(ctx)
		if err != nil {
			return Frame{}, cn.readErr(err)
		}
		recv := cn.s.clock.Now().UnixNano()
		cn.lastAct.Store(recv)
		cn.cnt.frames.Add(1)
		cn.cnt.bytes.Add(uint64(len(data)))
		if cn.s.IsControl != nil && cn.s.IsControl(data) {
			cn.cnt.control.Add(1)
			continue
		}
		return Frame{Data: data, Binary: typ == websocket.MessageBinary, Received: recv, Gen: cn.gen}, nil
	}
}
