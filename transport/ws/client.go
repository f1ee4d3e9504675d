package ws

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"sync"
	"sync/atomic"
	"time"
)

// Frame is one WebSocket message received from the server.
type Frame struct {
	// Data is the message payload. It belongs to the receiver (never
	// reused by the client).
	Data []byte
	// Binary is true for a binary message, false for text.
	Binary bool
	// Received is the local receive time (Unix ns, from Config.Clock) of
	// the start of the message.
	Received int64
	// Gen identifies the connection that delivered the frame. Generations
	// increase over the Client's life (not necessarily by one). A change of
	// Gen without a planned Connected event means frames were lost.
	Gen uint64
}

// Stats is a snapshot of a Client's counters (cumulative over its life).
type Stats struct {
	Dials             uint64 // connection attempts (handshakes started)
	DialFailures      uint64 // failed attempts (dial, handshake or OnConnect)
	Connects          uint64 // connections that went live
	Reconnects        uint64 // Connects that were not the first of a stream (includes planned)
	PlannedReconnects uint64 // make-before-break replacements
	Disconnects       uint64 // connections that ended (any reason)
	Frames            uint64 // messages received (including control frames)
	Bytes             uint64 // payload bytes received
	ControlFrames     uint64 // messages filtered out by IsControl
	Sent              uint64 // messages sent (Send, heartbeats, OnConnect)
	SentBytes         uint64
	Pings             uint64 // protocol pings sent
	PongTimeouts      uint64
	SilenceTimeouts   uint64
	Heartbeats        uint64 // application heartbeats sent
	Gen               uint64 // current live connection, 0 if none
}

type counters struct {
	dials, dialFailures, connects, reconnects, planned, disconnects atomic.Uint64
	frames, bytes, control, sent, sentBytes                         atomic.Uint64
	pings, pongTimeouts, silences, heartbeats                       atomic.Uint64
}

// Client is a reconnecting WebSocket client. Create it with [New]; it is
// safe for concurrent use. One stream (StreamRaw or Stream) runs at a time;
// a stopped stream can be started again and continues the generation
// numbering and counters.
type Client struct {
	s   *settings
	cnt counters
	gen atomic.Uint64

	mu      sync.Mutex
	running bool
	cur     *conn
	changed chan struct{} // closed and replaced when cur or running changes
}

// New validates cfg and returns a Client. It does not connect: connections
// are made while a stream is being iterated.
func New(cfg Config) (*Client, error) {
	s, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	return &Client{s: s, changed: make(chan struct{})}, nil
}

// Stats returns a snapshot of the counters.
func (c *Client) Stats() Stats {
	st := Stats{
		Dials:             c.cnt.dials.Load(),
		DialFailures:      c.cnt.dialFailures.Load(),
		Connects:          c.cnt.connects.Load(),
		Reconnects:        c.cnt.reconnects.Load(),
		PlannedReconnects: c.cnt.planned.Load(),
		Disconnects:       c.cnt.disconnects.Load(),
		Frames:            c.cnt.frames.Load(),
		Bytes:             c.cnt.bytes.Load(),
		ControlFrames:     c.cnt.control.Load(),
		Sent:              c.cnt.sent.Load(),
		SentBytes:         c.cnt.sentBytes.Load(),
		Pings:             c.cnt.pings.Load(),
		PongTimeouts:      c.cnt.pongTimeouts.Load(),
		SilenceTimeouts:   c.cnt.silences.Load(),
		Heartbeats:        c.cnt.heartbeats.Load(),
	}
	c.mu.Lock()
	if c.cur != nil {
		st.Gen = c.cur.gen
	}
	c.mu.Unlock()
	return st
}

// Send writes data as a text message on the current connection. While a
// stream is running but reconnecting, it waits for the next connection
// (after its OnConnect) or for ctx. Without a running stream it returns
// ErrNotConnected. It is safe from any number of goroutines; inside
// OnConnect use Session.Send instead. A message sent just before a
// disconnection may be lost: keep subscriptions in the state OnConnect
// replays.
func (c *Client) Send(ctx context.Context, data []byte) error {
	for {
		c.mu.Lock()
		cn, running, changed := c.cur, c.running, c.changed
		c.mu.Unlock()
		if cn != nil {
			return cn.send(ctx, data)
		}
		if !running {
			return ErrNotConnected
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("ws: send: waiting for a connection: %w", ctx.Err())
		case <-changed:
		}
	}
}

// SendJSON marshals v and sends it with [Client.Send].
func (c *Client) SendJSON(ctx context.Context, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("ws: send: marshal %T: %w", v, err)
	}
	return c.Send(ctx, b)
}

func (c *Client) tryStart() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running {
		return false
	}
	c.running, c.cur = true, nil
	close(c.changed)
	c.changed = make(chan struct{})
	return true
}

func (c *Client) setState(running bool, cur *conn) {
	c.mu.Lock()
	c.running, c.cur = running, cur
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

// StreamRaw connects and yields every non-control frame, reconnecting as
// configured, until ctx is cancelled or the consumer stops iterating; then
// it closes the connections and returns once every goroutine it started has
// exited. Stopping yields no error.
//
// A non-nil error is terminal (the iteration ends after it): ErrBusy, a
// *URLError, a Permanent error from OnConnect/URLFunc, or a *GiveUpError.
// Transient failures are not yielded; they are reported as events.
func (c *Client) StreamRaw(ctx context.Context) iter.Seq2[Frame, error] {
	return func(yield func(Frame, error) bool) {
		if !c.tryStart() {
			yield(Frame{}, ErrBusy)
			return
		}
		ctx, cancel := context.WithCancelCause(ctx)
		r := &run{c: c, s: c.s, frames: make(chan Frame, c.s.FrameBuffer)}
		done := make(chan error, 1)
		go func() { done <- r.loop(ctx) }()
		finished := false
		defer func() {
			cancel(ErrStopped)
			if !finished {
				<-done
			}
			c.setState(false, nil)
		}()
		for {
			select {
			case f := <-r.frames:
				if !yield(f, nil) {
					return
				}
			case err := <-done:
				finished = true
				// Readers have exited: deliver what they left behind.
				for {
					select {
					case f := <-r.frames:
						if !yield(f, nil) {
							return
						}
						continue
					default:
					}
					break
				}
				if err != nil {
					yield(Frame{}, err)
				}
				return
			}
		}
	}
}

// Stream yields the records parse extracts from each frame (see
// [Client.StreamRaw] for the lifecycle). A parse error is yielded as a
// *ParseError together with the zero T and does not end the stream: keep
// iterating to skip the frame, or stop. Records parse returned alongside an
// error are yielded first.
func Stream[T any](ctx context.Context, c *Client, parse func(Frame) ([]T, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		for f, err := range c.StreamRaw(ctx) {
			if err != nil {
				yield(zero, err)
				return
			}
			recs, perr := parse(f)
			for _, r := range recs {
				if !yield(r, nil) {
					return
				}
			}
			if perr != nil && !yield(zero, &ParseError{Frame: f, Err: perr}) {
				return
			}
		}
	}
}

// run is one stream: the supervisor loop and its connections.
type run struct {
	c      *Client
	s      *settings
	frames chan Frame
	conns  int // successful connections in this run
}

func (r *run) emit(e Event) {
	e.Time = r.s.clock.Now().UnixNano()
	if r.s.OnEvent != nil {
		r.s.OnEvent(e)
	}
}

func (r *run) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := r.s.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
		return nil
	}
}

// loop is the supervisor. It returns nil when ctx is cancelled and a
// terminal error otherwise. On return every connection is closed and its
// goroutines have exited.
func (r *run) loop(ctx context.Context) (err error) {
	var (
		cur, old        *conn
		lifeT, overlapT Timer
		retryT          Timer
		attempt         int // backoff attempt, reset after a healthy connection
		failures        int // consecutive failed attempts (MaxAttempts)
		plannedFailures int
		prevGen         uint64
		startedOnce     bool
	)
	defer func() {
		stopTimer(&lifeT)
		stopTimer(&overlapT)
		stopTimer(&retryT)
		r.c.setState(true, nil)
		for _, cn := range []*conn{old, cur} {
			if cn != nil {
				cn.fail(ErrStopped)
				r.finish(cn)
			}
		}
	}()

	for {
		if cur == nil {
			if startedOnce {
				attempt++
				d := r.s.Backoff.Delay(attempt)
				r.emit(Event{Kind: Reconnecting, Gen: prevGen, Attempt: attempt, Delay: d})
				r.s.log.Info("ws reconnecting", "attempt", attempt, "delay", d)
				if r.sleep(ctx, d) != nil {
					return nil
				}
			}
			startedOnce = true
			cn, err := r.connect(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				if IsPermanent(err) {
					r.s.log.Error("ws giving up", "err", err)
					return err
				}
				failures++
				r.emit(Event{Kind: DialFailed, Gen: prevGen, Attempt: failures, Err: err, URL: urlOf(err)})
				r.s.log.Warn("ws connection attempt failed", "attempt", failures, "err", err)
				if r.s.MaxAttempts > 0 && failures >= r.s.MaxAttempts {
					return &GiveUpError{Attempts: failures, Err: err}
				}
				continue
			}
			failures = 0
			cur = cn
			if r.s.MaxLifetime > 0 {
				lifeT = r.s.clock.NewTimer(r.s.MaxLifetime)
			}
			r.goLive(cn, prevGen, false)
			prevGen = cn.gen
		}

		select {
		case <-ctx.Done():
			return nil

		case <-cur.dead:
			r.finish(cur)
			if r.s.clock.Now().Sub(cur.connectedAt) >= r.s.HealthyAfter {
				attempt = 0
			}
			stopTimer(&lifeT)
			stopTimer(&retryT)
			plannedFailures = 0
			cur = nil
			r.c.setState(true, nil)

		case <-deadC(old):
			r.finish(old)
			old = nil
			stopTimer(&overlapT)

		case <-timerC(overlapT):
			overlapT = nil
			old.fail(ErrRetired)

		case <-timerC(lifeT):
			lifeT = nil
			if isDead(cur) {
				continue // handled as an unplanned disconnection
			}
			r.emit(Event{Kind: PlannedReconnect, Gen: cur.gen})
			r.s.log.Info("ws planned reconnect", "gen", cur.gen, "max_lifetime", r.s.MaxLifetime)
			r.planned(ctx, &cur, &old, &lifeT, &overlapT, &retryT, &plannedFailures)
			prevGen = cur.gen

		case <-timerC(retryT):
			retryT = nil
			if isDead(cur) {
				continue
			}
			r.planned(ctx, &cur, &old, &lifeT, &overlapT, &retryT, &plannedFailures)
			prevGen = cur.gen
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// planned dials a replacement for *cur while *cur keeps delivering.
func (r *run) planned(ctx context.Context, cur, old **conn, lifeT, overlapT, retryT *Timer, failures *int) {
	cn, err := r.connect(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		*failures++
		r.emit(Event{Kind: DialFailed, Gen: (*cur).gen, Attempt: *failures, Err: err, URL: urlOf(err)})
		r.s.log.Warn("ws planned reconnect attempt failed", "attempt", *failures, "err", err)
		// Keep the old connection; try again after a backoff delay.
		*retryT = r.s.clock.NewTimer(r.s.Backoff.Delay(*failures))
		return
	}
	*failures = 0
	if prev := *cur; isDead(prev) {
		// The old connection died while the new one was being dialled:
		// frames may have been lost in between, so this is not seamless.
		r.finish(prev)
		*cur = cn
		*lifeT = r.s.clock.NewTimer(r.s.MaxLifetime)
		r.goLive(cn, prev.gen, false)
		return
	}
	if *old != nil { // previous overlap still running: end it now
		stopTimer(overlapT)
		(*old).fail(ErrRetired)
		r.finish(*old)
	}
	*old, *cur = *cur, cn
	r.c.cnt.planned.Add(1)
	*lifeT = r.s.clock.NewTimer(r.s.MaxLifetime)
	*overlapT = r.s.clock.NewTimer(r.s.Overlap)
	r.goLive(cn, (*old).gen, true)
}

// goLive publishes cn as the current connection and starts its goroutines.
func (r *run) goLive(cn *conn, prevGen uint64, planned bool) {
	r.conns++
	r.c.cnt.connects.Add(1)
	if r.conns > 1 {
		r.c.cnt.reconnects.Add(1)
	}
	cn.arm() // timers are created before the event, so fake clocks see them
	r.c.setState(true, cn)
	r.emit(Event{Kind: Connected, Gen: cn.gen, PrevGen: prevGen, Planned: planned, URL: cn.redURL})
	r.s.log.Info("ws connected", "gen", cn.gen, "url", cn.redURL, "planned", planned)
	cn.start(r.frames)
}

// finish waits for a dead connection's goroutines and reports it.
func (r *run) finish(cn *conn) {
	cn.wg.Wait()
	r.c.cnt.disconnects.Add(1)
	r.emit(Event{Kind: Disconnected, Gen: cn.gen, Err: cn.err})
	if cn.err == ErrStopped || cn.err == ErrRetired {
		r.s.log.Info("ws disconnected", "gen", cn.gen, "reason", cn.err)
	} else {
		r.s.log.Warn("ws disconnected", "gen", cn.gen, "err", cn.err)
	}
}

func isDead(cn *conn) bool {
	select {
	case <-cn.dead:
		return true
	default:
		return false
	}
}

func deadC(cn *conn) <-chan struct{} {
	if cn == nil {
		return nil
	}
	return cn.dead
}

func urlOf(err error) string {
	if de, ok := err.(*DialError); ok {
		return de.URL
	}
	return ""
}
