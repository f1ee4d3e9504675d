package ws_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/pype-go/pype/transport/ws"
)

const subscribe = `{"op":"subscribe","args":["trades.BTCUSDT"]}`

func subscribeOnConnect(ctx context.Context, s *ws.Session) error {
	return s.Send(ctx, []byte(subscribe))
}

// An abrupt drop reconnects, and OnConnect replays the subscription on
// every connection before any frame of it is delivered.
func TestReconnectReplaysSubscription(t *testing.T) {
	subs := make(chan int, 16)
	srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		c := accept(t, w, r)
		if c == nil {
			return
		}
		if got := read(t, c); got == subscribe {
			subs <- n
		} else {
			t.Errorf("conn %d: first message %q, want the subscription", n, got)
		}
		write(t, c, fmt.Sprintf(`{"conn":%d}`, n))
		if n < 3 {
			c.CloseNow() // abrupt: no close frame
			return
		}
		drain(c)
	})
	ev := newEvents(t)
	cfg := baseConfig(srv.wsURL())
	cfg.OnConnect = subscribeOnConnect
	cfg.OnEvent = ev.on
	c, err := ws.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st := startStream(t, c)

	var lastGen uint64
	for n := 1; n <= 3; n++ {
		f := st.next()
		if want := fmt.Sprintf(`{"conn":%d}`, n); string(f.Data) != want {
			t.Fatalf("frame %d = %s, want %s", n, f.Data, want)
		}
		if f.Gen <= lastGen {
			t.Errorf("frame %d gen %d not after %d", n, f.Gen, lastGen)
		}
		if f.Received == 0 {
			t.Error("frame has no receive timestamp")
		}
		lastGen = f.Gen
		if got := <-subs; got != n {
			t.Errorf("subscription seen on conn %d, want %d", got, n)
		}
	}
	// Event sequence: Connected, then per drop Disconnected → Reconnecting → Connected.
	first := ev.next()
	if first.Kind != ws.Connected || first.PrevGen != 0 || first.Planned {
		t.Fatalf("first event %v, want unplanned Connected", first)
	}
	prev := first.Gen
	for i := 0; i < 2; i++ {
		d := ev.next()
		if d.Kind != ws.Disconnected || d.Gen != prev || d.Err == nil {
			t.Fatalf("event %v, want Disconnected of gen %d with an error", d, prev)
		}
		var ce *ws.CloseError
		if errors.As(d.Err, &ce) {
			t.Errorf("abrupt drop reported as close frame: %v", d.Err)
		}
		if r := ev.next(); r.Kind != ws.Reconnecting || r.Attempt != i+1 || r.Delay < time.Millisecond {
			t.Fatalf("event %v, want Reconnecting attempt %d with delay ≥ 1ms", r, i+1)
		}
		cn := ev.next()
		if cn.Kind != ws.Connected || cn.PrevGen != prev || cn.Planned {
			t.Fatalf("event %v, want Connected after gen %d", cn, prev)
		}
		prev = cn.Gen
	}
	s := c.Stats()
	if s.Connects != 3 || s.Reconnects != 2 || s.Disconnects != 2 || s.Dials != 3 || s.Gen != prev {
		t.Errorf("stats %+v", s)
	}
}

// A clean server close still backs off: every reconnection is preceded by
// a Reconnecting wait and the attempt counter escalates (no healthy period).
func TestCleanCloseBacksOff(t *testing.T) {
	srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		c := accept(t, w, r)
		if c == nil {
			return
		}
		read(t, c)
		c.Close(websocket.StatusNormalClosure, "bye")
	})
	ev := newEvents(t)
	cfg := baseConfig(srv.wsURL())
	b := ws.ExpBackoff{Min: time.Millisecond, Max: 8 * time.Millisecond, Rand: func() float64 { return 0.5 }}
	cfg.Backoff = b
	cfg.OnConnect = subscribeOnConnect
	cfg.OnEvent = ev.on
	c, err := ws.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st := startStream(t, c)

	const closes = 5
	connects, waits := 0, 0
	for disc := 0; disc < closes; {
		e := ev.next()
		switch e.Kind {
		case ws.Connected:
			connects++
			if connects != waits+1 {
				t.Fatalf("connection %d after only %d backoff waits: hot loop", connects, waits)
			}
		case ws.Reconnecting:
			waits++
			if e.Attempt != waits || e.Delay != b.Delay(waits) {
				t.Errorf("wait %d: attempt %d delay %v, want attempt %d delay %v", waits, e.Attempt, e.Delay, waits, b.Delay(waits))
			}
		case ws.Disconnected:
			disc++
			var ce *ws.CloseError
			if !errors.As(e.Err, &ce) || ce.Code != 1000 || ce.Reason != "bye" {
				t.Errorf("disconnect error %v, want *CloseError 1000 bye", e.Err)
			}
		default:
			t.Errorf("unexpected event %v", e)
		}
	}
	st.stop()
	if n := srv.n.Load(); n > closes+1 {
		t.Errorf("server saw %d handshakes for %d closes", n, closes)
	}
}

// The backoff counter resets only after a connection stayed up for
// HealthyAfter (driven by a fake clock).
func TestHealthyPeriodResetsBackoff(t *testing.T) {
	clk := newFakeClock()
	release := make(chan struct{})
	srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		c := accept(t, w, r)
		if c == nil {
			return
		}
		write(t, c, strconv.Itoa(n))
		if n == 3 || n == 5 {
			<-release // held open until the test drops it
		}
		c.CloseNow()
	})
	ev := newEvents(t)
	cfg := baseConfig(srv.wsURL())
	cfg.Clock = clk
	cfg.HealthyAfter = time.Minute
	cfg.Backoff = ws.BackoffFunc(func(int) time.Duration { return 0 })
	cfg.OnEvent = ev.on
	c, err := ws.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st := startStream(t, c)

	var attempts []int
	for len(attempts) < 2 { // conns 1 and 2 drop at once
		if e := ev.next(); e.Kind == ws.Reconnecting {
			attempts = append(attempts, e.Attempt)
		}
	}
	ev.until(ws.Connected) // conn 3
	for st.next().Data[0] != '3' {
	}
	clk.Advance(time.Minute) // conn 3 is now healthy
	release <- struct{}{}
	for len(attempts) < 4 { // conn 3 (healthy) and conn 4 drop
		if e := ev.next(); e.Kind == ws.Reconnecting {
			attempts = append(attempts, e.Attempt)
		}
	}
	ev.until(ws.Connected) // conn 5, held
	if want := []int{1, 2, 1, 2}; fmt.Sprint(attempts) != fmt.Sprint(want) {
		t.Errorf("attempts %v, want %v", attempts, want)
	}
	st.stop()
	close(release)
}

// A silent connection is replaced by the watchdog; any frame postpones it.
func TestSilenceWatchdog(t *testing.T) {
	clk := newFakeClock()
	conns := make(chan *websocket.Conn, 4)
	srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		c := accept(t, w, r)
		if c == nil {
			return
		}
		conns <- c
		drain(c)
	})
	ev := newEvents(t)
	cfg := baseConfig(srv.wsURL())
	cfg.Clock = clk
	cfg.SilenceTimeout = 10 * time.Second
	cfg.Backoff = ws.BackoffFunc(func(int) time.Duration { return 0 })
	cfg.OnEvent = ev.on
	c, err := ws.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st := startStream(t, c)
	sc := <-conns
	ev.until(ws.Connected)

	clk.Advance(6 * time.Second)
	write(t, sc, "tick")
	if f := st.next(); string(f.Data) != "tick" {
		t.Fatalf("got %q", f.Data)
	}
	clk.Advance(4 * time.Second) // 10 s since connect, 4 s since the frame
	clk.waitTimer(t, 6*time.Second)
	ev.none()

	clk.Advance(6 * time.Second) // 10 s of silence
	d, _ := ev.until(ws.Disconnected)
	if !errors.Is(d.Err, ws.ErrSilence) {
		t.Fatalf("disconnect error %v, want ErrSilence", d.Err)
	}
	if e := ev.next(); e.Kind != ws.Reconnecting {
		t.Fatalf("got %v, want Reconnecting", e)
	}
	if e := ev.next(); e.Kind != ws.Connected || e.PrevGen != d.Gen {
		t.Fatalf("got %v, want Connected after %d", e, d.Gen)
	}
	if s := c.Stats(); s.SilenceTimeouts != 1 {
		t.Errorf("SilenceTimeouts = %d", s.SilenceTimeouts)
	}
}

// The application heartbeat is sent at its interval and its pong never
// reaches the stream.
func TestAppHeartbeatAndControlFilter(t *testing.T) {
	srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		c := accept(t, w, r)
		if c == nil {
			return
		}
		pings := 0
		for {
			_, b, err := c.Read(context.Background())
			if err != nil {
				return
			}
			if string(b) != "ping" {
				t.Errorf("server got %q, want ping", b)
				continue
			}
			pings++
			write(t, c, "pong")
			if pings == 3 {
				write(t, c, `{"data":1}`)
			}
		}
	})
	cfg := baseConfig(srv.wsURL())
	cfg.Heartbeat = ws.Heartbeat{Interval: time.Millisecond, Message: func() []byte { return []byte("ping") }}
	cfg.IsControl = func(b []byte) bool { return string(b) == "pong" }
	c, err := ws.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st := startStream(t, c)
	if f := st.next(); string(f.Data) != `{"data":1}` {
		t.Fatalf("first delivered frame %q, want the data frame (pongs filtered)", f.Data)
	}
	s := c.Stats()
	// The server answered three pings before the data frame. (Heartbeats
	// may lag: it is counted after the write returns.)
	if s.ControlFrames < 3 || s.Frames < 4 {
		t.Errorf("stats %+v: want ≥3 control frames", s)
	}
}

// IdleOnly heartbeats (OKX) are sent only after Interval without traffic.
func TestAppHeartbeatIdleOnly(t *testing.T) {
	clk := newFakeClock()
	conns := make(chan *websocket.Conn, 1)
	got := make(chan string, 8)
	srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		c := accept(t, w, r)
		if c == nil {
			return
		}
		conns <- c
		for {
			_, b, err := c.Read(context.Background())
			if err != nil {
				return
			}
			got <- string(b)
		}
	})
	cfg := baseConfig(srv.wsURL())
	cfg.Clock = clk
	cfg.Heartbeat = ws.Heartbeat{Interval: 10 * time.Second, IdleOnly: true, Message: func() []byte { return []byte("ping") }}
	ev := newEvents(t)
	cfg.OnEvent = ev.on
	c, err := ws.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st := startStream(t, c)
	sc := <-conns
	ev.until(ws.Connected)
	clk.Advance(5 * time.Second)
	write(t, sc, "data")
	st.next()
	clk.Advance(5 * time.Second) // heartbeat due, but traffic 5 s ago
	clk.waitTimer(t, 5*time.Second)
	if s := c.Stats(); s.Heartbeats != 0 {
		t.Fatalf("heartbeat sent despite traffic: %+v", s)
	}
	clk.Advance(5 * time.Second) // now idle for 10 s
	select {
	case m := <-got:
		if m != "ping" {
			t.Fatalf("server got %q", m)
		}
	case <-time.After(guard):
		t.Fatal("no heartbeat after idle interval")
	}
}

// Protocol pings keep a responsive connection; an unanswered ping drops it.
func TestProtocolPing(t *testing.T) {
	t.Run("answered", func(t *testing.T) {
		pinged := make(chan struct{}, 64)
		srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
			c, err := websocket.Accept(w, r, &websocket.AcceptOptions{
				OnPingReceived: func(context.Context, []byte) bool {
					select {
					case pinged <- struct{}{}:
					default:
					}
					return true
				},
			})
			if err != nil {
				t.Error(err)
				return
			}
			drain(c)
		})
		ev := newEvents(t)
		cfg := baseConfig(srv.wsURL())
		cfg.PingInterval = time.Millisecond
		cfg.PongTimeout = guard
		cfg.OnEvent = ev.on
		c, err := ws.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		startStream(t, c)
		for i := 0; i < 5; i++ {
			select {
			case <-pinged:
			case <-time.After(guard):
				t.Fatal("server saw no ping")
			}
		}
		ev.until(ws.Connected)
		ev.none()
		if s := c.Stats(); s.Pings < 5 || s.PongTimeouts != 0 {
			t.Errorf("stats %+v", s)
		}
	})
	t.Run("unanswered", func(t *testing.T) {
		release := make(chan struct{})
		srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
			c := accept(t, w, r)
			if c == nil {
				return
			}
			<-release // never reads, so never answers pings
			c.CloseNow()
		})
		t.Cleanup(func() { close(release) })
		ev := newEvents(t)
		cfg := baseConfig(srv.wsURL())
		cfg.PingInterval = time.Millisecond
		cfg.PongTimeout = 20 * time.Millisecond
		cfg.OnEvent = ev.on
		c, err := ws.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		startStream(t, c)
		d, _ := ev.until(ws.Disconnected)
		if !errors.Is(d.Err, ws.ErrPongTimeout) {
			t.Fatalf("disconnect error %v, want ErrPongTimeout", d.Err)
		}
		if c.Stats().PongTimeouts == 0 {
			t.Error("PongTimeouts not counted")
		}
	})
}

// MaxLifetime triggers a make-before-break reconnection: the new
// connection is subscribed while the old one still delivers, and the old
// one is retired after Overlap.
func TestPlannedReconnect(t *testing.T) {
	clk := newFakeClock()
	conns := make(chan *websocket.Conn, 4)
	subs := make(chan int, 4)
	srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		c := accept(t, w, r)
		if c == nil {
			return
		}
		if read(t, c) == subscribe {
			subs <- n
		}
		write(t, c, fmt.Sprintf("conn%d", n))
		conns <- c
		drain(c)
	})
	ev := newEvents(t)
	cfg := baseConfig(srv.wsURL())
	cfg.Clock = clk
	cfg.MaxLifetime = time.Hour
	cfg.Overlap = 2 * time.Second
	cfg.OnConnect = subscribeOnConnect
	cfg.OnEvent = ev.on
	c, err := ws.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st := startStream(t, c)
	c1 := <-conns
	e1, _ := ev.until(ws.Connected)
	if f := st.next(); string(f.Data) != "conn1" || f.Gen != e1.Gen {
		t.Fatalf("got %q gen %d", f.Data, f.Gen)
	}

	clk.Advance(time.Hour)
	if e := ev.next(); e.Kind != ws.PlannedReconnect || e.Gen != e1.Gen {
		t.Fatalf("got %v, want PlannedReconnect of gen %d", e, e1.Gen)
	}
	e2 := ev.next()
	if e2.Kind != ws.Connected || !e2.Planned || e2.PrevGen != e1.Gen {
		t.Fatalf("got %v, want planned Connected after gen %d", e2, e1.Gen)
	}
	<-conns
	if f := st.next(); string(f.Data) != "conn2" || f.Gen != e2.Gen {
		t.Fatalf("got %q gen %d", f.Data, f.Gen)
	}
	// Overlap: the old connection still delivers.
	write(t, c1, "conn1-late")
	if f := st.next(); string(f.Data) != "conn1-late" || f.Gen != e1.Gen {
		t.Fatalf("got %q gen %d, want the old connection's frame", f.Data, f.Gen)
	}
	ev.none()
	clk.Advance(2 * time.Second)
	d := ev.next()
	if d.Kind != ws.Disconnected || d.Gen != e1.Gen || !errors.Is(d.Err, ws.ErrRetired) {
		t.Fatalf("got %v, want Disconnected gen %d ErrRetired", d, e1.Gen)
	}
	if a, b := <-subs, <-subs; a != 1 || b != 2 {
		t.Errorf("subscriptions on conns %d,%d", a, b)
	}
	if err := c.Send(context.Background(), []byte("x")); err != nil {
		t.Errorf("Send after planned reconnect: %v", err)
	}
	s := c.Stats()
	if s.PlannedReconnects != 1 || s.Reconnects != 1 || s.Gen != e2.Gen || s.Disconnects != 1 {
		t.Errorf("stats %+v", s)
	}
	ev.none() // no Reconnecting: no backoff, no gap
}

// A failed planned dial keeps the old connection and retries after a
// backoff delay.
func TestPlannedReconnectRetries(t *testing.T) {
	clk := newFakeClock()
	conns := make(chan *websocket.Conn, 4)
	srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 2 {
			http.Error(w, "busy", http.StatusTooManyRequests)
			return
		}
		c := accept(t, w, r)
		if c == nil {
			return
		}
		conns <- c
		drain(c)
	})
	ev := newEvents(t)
	cfg := baseConfig(srv.wsURL())
	cfg.Clock = clk
	cfg.MaxLifetime = time.Hour
	cfg.Backoff = ws.BackoffFunc(func(int) time.Duration { return 3 * time.Second })
	cfg.OnEvent = ev.on
	c, err := ws.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st := startStream(t, c)
	c1 := <-conns
	e1, _ := ev.until(ws.Connected)
	clk.Advance(time.Hour)
	ev.until(ws.PlannedReconnect)
	if e := ev.next(); e.Kind != ws.DialFailed || e.Gen != e1.Gen {
		t.Fatalf("got %v, want DialFailed", e)
	}
	clk.waitTimer(t, 3*time.Second)
	write(t, c1, "still here")
	if f := st.next(); f.Gen != e1.Gen {
		t.Fatalf("frame from gen %d", f.Gen)
	}
	clk.Advance(3 * time.Second)
	if e := ev.next(); e.Kind != ws.Connected || !e.Planned || e.PrevGen != e1.Gen {
		t.Fatalf("got %v, want planned Connected", e)
	}
	ev.none()
}

// Many goroutines may Send at once (run with -race).
func TestConcurrentSend(t *testing.T) {
	const senders, each = 16, 50
	got := make(chan string, senders*each)
	srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		c := accept(t, w, r)
		if c == nil {
			return
		}
		for {
			_, b, err := c.Read(context.Background())
			if err != nil {
				return
			}
			got <- string(b)
		}
	})
	ev := newEvents(t)
	cfg := baseConfig(srv.wsURL())
	cfg.OnEvent = ev.on
	c, err := ws.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	startStream(t, c)
	ev.until(ws.Connected)
	var wg sync.WaitGroup
	for g := 0; g < senders; g++ {
		wg.Go(func() {
			for i := 0; i < each; i++ {
				var err error
				if i%2 == 0 {
					err = c.SendJSON(context.Background(), map[string]int{"g": g, "i": i})
				} else {
					err = c.Send(context.Background(), fmt.Appendf(nil, `{"g":%d,"i":%d}`, g, i))
				}
				if err != nil {
					t.Errorf("send: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for len(seen) < senders*each {
		select {
		case m := <-got:
			if seen[m] {
				t.Fatalf("duplicate %s", m)
			}
			seen[m] = true
		case <-time.After(guard):
			t.Fatalf("server got %d of %d messages", len(seen), senders*each)
		}
	}
	for g := 0; g < senders; g++ {
		for i := 0; i < each; i++ {
			if m := fmt.Sprintf(`{"g":%d,"i":%d}`, g, i); !seen[m] {
				t.Fatalf("missing %s", m)
			}
		}
	}
	if s := c.Stats(); s.Sent != senders*each {
		t.Errorf("Sent = %d", s.Sent)
	}
}

// SendRate paces messages per connection: with a 0.001/s cap the second
// message cannot go out before a short deadline.
func TestSendRate(t *testing.T) {
	srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if c := accept(t, w, r); c != nil {
			drain(c)
		}
	})
	ev := newEvents(t)
	cfg := baseConfig(srv.wsURL())
	cfg.SendRate = 0.001
	cfg.OnEvent = ev.on
	cfg.OnConnect = subscribeOnConnect // uses the only token
	c, err := ws.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	startStream(t, c)
	ev.until(ws.Connected)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.Send(ctx, []byte("x")); err == nil || !strings.Contains(err.Error(), "SendRate") {
		t.Fatalf("Send beyond SendRate: %v", err)
	}
	if s := c.Stats(); s.Sent != 1 {
		t.Errorf("Sent = %d, want 1", s.Sent)
	}
}

// SendRate with a burst: the burst goes out at once, the next message
// waits one interval (fake clock).
func TestSendRateBurst(t *testing.T) {
	clk := newFakeClock()
	got := make(chan string, 8)
	srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		c := accept(t, w, r)
		if c == nil {
			return
		}
		for {
			_, b, err := c.Read(context.Background())
			if err != nil {
				return
			}
			got <- string(b)
		}
	})
	ev := newEvents(t)
	cfg := baseConfig(srv.wsURL())
	cfg.Clock = clk
	cfg.SendRate, cfg.SendBurst = 2, 3 // 500 ms interval
	cfg.OnEvent = ev.on
	c, err := ws.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	startStream(t, c)
	ev.until(ws.Connected)
	for _, m := range []string{"a", "b", "c"} {
		if err := c.Send(context.Background(), []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	sent := make(chan error, 1)
	go func() { sent <- c.Send(context.Background(), []byte("d")) }()
	clk.waitTimer(t, 500*time.Millisecond)
	select {
	case err := <-sent:
		t.Fatalf("fourth Send did not wait: %v", err)
	default:
	}
	clk.Advance(500 * time.Millisecond)
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"a", "b", "c", "d"} {
		if m := <-got; m != want {
			t.Errorf("got %q, want %q", m, want)
		}
	}
}

// Send waits through a reconnection; without a stream it fails fast.
func TestSendWaitsForConnection(t *testing.T) {
	clk := newFakeClock()
	got := make(chan string, 4)
	srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			http.Error(w, "not yet", http.StatusServiceUnavailable)
			return
		}
		c := accept(t, w, r)
		if c == nil {
			return
		}
		got <- read(t, c)
		drain(c)
	})
	ev := newEvents(t)
	cfg := baseConfig(srv.wsURL())
	cfg.Clock = clk
	cfg.Backoff = ws.BackoffFunc(func(int) time.Duration { return time.Second })
	cfg.OnEvent = ev.on
	c, err := ws.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Send(context.Background(), []byte("early")); !errors.Is(err, ws.ErrNotConnected) {
		t.Fatalf("Send without stream: %v, want ErrNotConnected", err)
	}
	st := startStream(t, c)
	ev.until(ws.Reconnecting)
	sent := make(chan error, 1)
	go func() { sent <- c.Send(context.Background(), []byte("hello")) }()
	clk.waitTimer(t, time.Second)
	clk.Advance(time.Second)
	if err := <-sent; err != nil {
		t.Fatalf("Send: %v", err)
	}
	if m := <-got; m != "hello" {
		t.Errorf("server got %q", m)
	}
	st.stop()
	if err := c.Send(context.Background(), []byte("late")); !errors.Is(err, ws.ErrNotConnected) {
		t.Errorf("Send after stop: %v, want ErrNotConnected", err)
	}
}

// Stopping (cancel or break) returns promptly and leaves no goroutine
// behind (goleak in TestMain), even while frames are flowing.
func TestStopIsPrompt(t *testing.T) {
	srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		c := accept(t, w, r)
		if c == nil {
			return
		}
		for i := 0; ; i++ {
			if c.Write(context.Background(), websocket.MessageText, []byte(strconv.Itoa(i))) != nil {
				return
			}
		}
	})
	newClient := func(t *testing.T) *ws.Client {
		cfg := baseConfig(srv.wsURL())
		cfg.PingInterval = time.Millisecond
		cfg.PongTimeout = guard
		cfg.SilenceTimeout = guard
		cfg.Heartbeat = ws.Heartbeat{Interval: time.Millisecond, Message: func() []byte { return []byte("hb") }}
		c, err := ws.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	t.Run("cancel", func(t *testing.T) {
		c := newClient(t)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		n := 0
		go func() {
			defer close(done)
			for _, err := range c.StreamRaw(ctx) {
				if err != nil {
					t.Error(err)
					return
				}
				if n++; n == 100 {
					cancel()
				}
			}
		}()
		select {
		case <-done:
		case <-time.After(guard):
			t.Fatal("StreamRaw did not return after cancel")
		}
		cancel()
	})
	t.Run("break", func(t *testing.T) {
		c := newClient(t)
		n := 0
		for _, err := range c.StreamRaw(context.Background()) {
			if err != nil {
				t.Fatal(err)
			}
			if n++; n == 100 {
				break
			}
		}
		if s := c.Stats(); s.Gen != 0 || s.Disconnects != s.Connects {
			t.Errorf("after break: %+v", s)
		}
	})
}

// Frames far above the library's 32 KiB default arrive intact; a frame
// above ReadLimit drops the connection with a clear error.
func TestLargeFrame(t *testing.T) {
	big := bytes.Repeat([]byte(`["12345.67","0.001"],`), 5<<20/21)
	srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		c := accept(t, w, r)
		if c == nil {
			return
		}
		_ = c.Write(context.Background(), websocket.MessageText, big)
		drain(c)
	})
	t.Run("default limit", func(t *testing.T) {
		c, err := ws.New(baseConfig(srv.wsURL()))
		if err != nil {
			t.Fatal(err)
		}
		st := startStream(t, c)
		if f := st.next(); !bytes.Equal(f.Data, big) {
			t.Fatalf("got %d bytes, want %d", len(f.Data), len(big))
		}
	})
	t.Run("over ReadLimit", func(t *testing.T) {
		ev := newEvents(t)
		cfg := baseConfig(srv.wsURL())
		cfg.ReadLimit = 1 << 20
		cfg.OnEvent = ev.on
		c, err := ws.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		startStream(t, c)
		d, _ := ev.until(ws.Disconnected)
		if !errors.Is(d.Err, websocket.ErrMessageTooBig) || !strings.Contains(d.Err.Error(), "ReadLimit") {
			t.Fatalf("disconnect error %v", d.Err)
		}
	})
}

// A rejected handshake is retried with backoff and reported as a
// *DialError with the status; MaxAttempts ends the stream.
func TestDialRejected(t *testing.T) {
	t.Run("retried", func(t *testing.T) {
		srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
			if n <= 2 {
				http.Error(w, "forbidden by test", http.StatusForbidden)
				return
			}
			c := accept(t, w, r)
			if c != nil {
				drain(c)
			}
		})
		ev := newEvents(t)
		cfg := baseConfig(srv.wsURL())
		cfg.OnEvent = ev.on
		c, err := ws.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		startStream(t, c)
		for i := 1; i <= 2; i++ {
			e, _ := ev.until(ws.DialFailed)
			var de *ws.DialError
			if !errors.As(e.Err, &de) || de.StatusCode != 403 || !strings.Contains(de.Body, "forbidden by test") || e.Attempt != i {
				t.Fatalf("event %v (err %#v)", e, e.Err)
			}
			if e.URL != srv.wsURL() {
				t.Errorf("event URL %q", e.URL)
			}
		}
		ev.until(ws.Connected)
		if s := c.Stats(); s.DialFailures != 2 || s.Dials != 3 || s.Connects != 1 {
			t.Errorf("stats %+v", s)
		}
	})
	t.Run("give up", func(t *testing.T) {
		srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
			http.Error(w, "down", http.StatusServiceUnavailable)
		})
		cfg := baseConfig(srv.wsURL())
		cfg.MaxAttempts = 3
		c, err := ws.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		err = startStream(t, c).err()
		var ge *ws.GiveUpError
		var de *ws.DialError
		if !errors.As(err, &ge) || ge.Attempts != 3 || !errors.As(err, &de) || de.StatusCode != 503 {
			t.Fatalf("err %v", err)
		}
		if n := srv.n.Load(); n != 3 {
			t.Errorf("%d handshakes, want 3", n)
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		srv := newServer(t, func(int, http.ResponseWriter, *http.Request) {})
		u := srv.wsURL()
		srv.Close()
		cfg := baseConfig(u)
		cfg.MaxAttempts = 2
		c, err := ws.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		err = startStream(t, c).err()
		var de *ws.DialError
		if !errors.As(err, &de) || de.StatusCode != 0 || de.Err == nil {
			t.Fatalf("err %v", err)
		}
	})
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  ws.Config
		want string
	}{
		{"no url", ws.Config{}, "URL is empty"},
		{"scheme", ws.Config{URL: "ftp://example.com/x"}, `scheme "ftp" is not supported (accepted: ws, wss, http, https)`},
		{"no host", ws.Config{URL: "wss:///path"}, `"wss:///path": no host`},
		{"unparsable", ws.Config{URL: "wss://bad host/"}, "does not parse"},
		{"read limit", ws.Config{URL: "wss://x", ReadLimit: -5}, "ReadLimit -5"},
		{"heartbeat", ws.Config{URL: "wss://x", Heartbeat: ws.Heartbeat{Interval: time.Second}}, "Heartbeat.Message is nil"},
		{"overlap", ws.Config{URL: "wss://x", MaxLifetime: time.Second, Overlap: time.Minute}, "Overlap 1m0s must be shorter"},
		{"silence", ws.Config{URL: "wss://x", SilenceTimeout: -1}, "SilenceTimeout"},
		{"attempts", ws.Config{URL: "wss://x", MaxAttempts: -1}, "MaxAttempts -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ws.New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want it to mention %q", err, tc.want)
			}
		})
	}
	_, err := ws.New(ws.Config{URL: "ftp://x"})
	var ue *ws.URLError
	if !errors.As(err, &ue) || !ws.IsPermanent(err) {
		t.Errorf("bad scheme: %T %v, want permanent *URLError", err, err)
	}
}

// URLFunc is evaluated per connection; an invalid or Permanent result ends
// the stream.
func TestURLFunc(t *testing.T) {
	paths := make(chan string, 4)
	srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		paths <- r.URL.RawQuery
		c := accept(t, w, r)
		if c == nil {
			return
		}
		if n == 1 {
			c.CloseNow()
			return
		}
		drain(c)
	})
	calls := 0
	cfg := baseConfig("")
	cfg.URLFunc = func(context.Context) (string, error) {
		calls++
		return fmt.Sprintf("%s/stream?streams=a%d", srv.wsURL(), calls), nil
	}
	ev := newEvents(t)
	cfg.OnEvent = ev.on
	c, err := ws.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st := startStream(t, c)
	ev.until(ws.Connected)
	ev.until(ws.Connected)
	if a, b := <-paths, <-paths; a != "streams=a1" || b != "streams=a2" {
		t.Errorf("queries %q %q", a, b)
	}
	st.stop()

	for _, tc := range []struct {
		name string
		f    func(context.Context) (string, error)
	}{
		{"invalid", func(context.Context) (string, error) { return "gopher://x", nil }},
		{"permanent", func(context.Context) (string, error) { return "", ws.Permanent(errors.New("no listen key")) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := baseConfig("")
			cfg.URLFunc = tc.f
			c, err := ws.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := startStream(t, c).err(); !ws.IsPermanent(err) {
				t.Fatalf("err %v, want permanent", err)
			}
		})
	}
}

// OnConnect may run a request/response handshake with Session.Read; its
// failures are retried unless Permanent.
func TestOnConnectHandshake(t *testing.T) {
	srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		c := accept(t, w, r)
		if c == nil {
			return
		}
		if m := read(t, c); m != `{"op":"login"}` {
			t.Errorf("got %q", m)
		}
		write(t, c, "pong") // control noise before the answer
		if n == 1 {
			write(t, c, `{"event":"login","ok":false}`)
		} else {
			write(t, c, `{"event":"login","ok":true}`)
			write(t, c, `{"data":1}`)
		}
		drain(c)
	})
	ev := newEvents(t)
	cfg := baseConfig(srv.wsURL())
	cfg.IsControl = func(b []byte) bool { return string(b) == "pong" }
	cfg.OnEvent = ev.on
	var sess *ws.Session
	cfg.OnConnect = func(ctx context.Context, s *ws.Session) error {
		sess = s
		if err := s.SendJSON(ctx, map[string]string{"op": "login"}); err != nil {
			return err
		}
		f, err := s.Read(ctx)
		if err != nil {
			return err
		}
		if string(f.Data) != `{"event":"login","ok":true}` {
			return fmt.Errorf("login refused: %s", f.Data)
		}
		return nil
	}
	c, err := ws.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st := startStream(t, c)
	e, _ := ev.until(ws.DialFailed)
	var ce *ws.ConnectError
	if !errors.As(e.Err, &ce) || !strings.Contains(ce.Error(), "login refused") {
		t.Fatalf("event %v", e)
	}
	if f := st.next(); string(f.Data) != `{"data":1}` {
		t.Fatalf("got %q: handshake frames must not reach the stream", f.Data)
	}
	if _, err := sess.Read(context.Background()); !errors.Is(err, ws.ErrReadAfterConnect) {
		t.Errorf("Read after OnConnect: %v", err)
	}

	t.Run("permanent", func(t *testing.T) {
		srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
			if c := accept(t, w, r); c != nil {
				drain(c)
			}
		})
		cfg := baseConfig(srv.wsURL())
		cfg.OnConnect = func(context.Context, *ws.Session) error { return ws.Permanent(errors.New("bad API key")) }
		c, err := ws.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		err = startStream(t, c).err()
		if !ws.IsPermanent(err) || !strings.Contains(err.Error(), "bad API key") {
			t.Fatalf("err %v", err)
		}
	})
}

func TestBusy(t *testing.T) {
	srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if c := accept(t, w, r); c != nil {
			drain(c)
		}
	})
	ev := newEvents(t)
	cfg := baseConfig(srv.wsURL())
	cfg.OnEvent = ev.on
	c, err := ws.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	startStream(t, c)
	ev.until(ws.Connected)
	for _, err := range c.StreamRaw(context.Background()) {
		if !errors.Is(err, ws.ErrBusy) {
			t.Fatalf("second stream: %v, want ErrBusy", err)
		}
	}
}

func TestStreamParse(t *testing.T) {
	srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		c := accept(t, w, r)
		if c == nil {
			return
		}
		for _, m := range []string{"1 2", "x", "3"} {
			write(t, c, m)
		}
		drain(c)
	})
	c, err := ws.New(baseConfig(srv.wsURL()))
	if err != nil {
		t.Fatal(err)
	}
	parse := func(f ws.Frame) ([]int, error) {
		var out []int
		for _, s := range strings.Fields(string(f.Data)) {
			v, err := strconv.Atoi(s)
			if err != nil {
				return out, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	var got []string
	for v, err := range ws.Stream(context.Background(), c, parse) {
		if err != nil {
			var pe *ws.ParseError
			if !errors.As(err, &pe) || string(pe.Frame.Data) != "x" {
				t.Fatalf("err %v", err)
			}
			got = append(got, "err")
			continue
		}
		got = append(got, strconv.Itoa(v))
		if v == 3 {
			break
		}
	}
	if strings.Join(got, ",") != "1,2,err,3" {
		t.Errorf("got %v", got)
	}
}

// Header values and URL secrets never reach logs, events or errors.
func TestSecretsNotLogged(t *testing.T) {
	const key, listenKey = "APIKEY-SECRET-123", "LISTENKEY-SECRET-456"
	srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-MBX-APIKEY") != key {
			t.Errorf("header not sent")
		}
		http.Error(w, "nope", http.StatusUnauthorized)
	})
	var logs bytes.Buffer
	var mu sync.Mutex
	cfg := baseConfig(strings.Replace(srv.wsURL(), "ws://", "ws://user:pass@", 1) + "/ws/" + listenKey)
	cfg.Logger = slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.Header = http.Header{"X-MBX-APIKEY": {key}}
	cfg.RedactURL = func(s string) string { return strings.ReplaceAll(s, listenKey, "<listenKey>") }
	cfg.MaxAttempts = 2
	var evs []string
	cfg.OnEvent = func(e ws.Event) { evs = append(evs, e.String(), e.URL) }
	c, err := ws.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = startStream(t, c).err()
	if err == nil {
		t.Fatal("want an error")
	}
	mu.Lock()
	all := logs.String() + err.Error() + strings.Join(evs, " ")
	mu.Unlock()
	for _, secret := range []string{key, listenKey, "pass"} {
		if strings.Contains(all, secret) {
			t.Errorf("secret %q leaked: %s", secret, all)
		}
	}
	if !strings.Contains(all, "<listenKey>") || !strings.Contains(logs.String(), "401") {
		t.Errorf("logs lack the redacted URL or status: %s", all)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func TestExpBackoff(t *testing.T) {
	for _, tc := range []struct {
		name    string
		b       ws.ExpBackoff
		attempt int
		want    time.Duration
	}{
		{"zero value floor", ws.ExpBackoff{Rand: func() float64 { return 0 }}, 1, time.Second},
		{"zero value first ceiling", ws.ExpBackoff{Rand: func() float64 { return 0.999999999 }}, 1, 2*time.Second - 1},
		{"grows", ws.ExpBackoff{Rand: func() float64 { return 0.5 }}, 3, time.Second + 7*time.Second/2},
		{"capped at Max", ws.ExpBackoff{Rand: func() float64 { return 0.5 }}, 40, time.Second + 59*time.Second/2},
		{"huge attempt", ws.ExpBackoff{Rand: func() float64 { return 0 }}, 1 << 30, time.Second},
		{"custom", ws.ExpBackoff{Min: time.Millisecond, Max: 10 * time.Millisecond, Factor: 3, Rand: func() float64 { return 0.5 }}, 2, time.Millisecond + 8*time.Millisecond/2},
		{"bad rand", ws.ExpBackoff{Rand: func() float64 { return 7 }}, 2, time.Second},
		{"attempt 0 treated as 1", ws.ExpBackoff{Rand: func() float64 { return 0 }}, 0, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.b.Delay(tc.attempt); got != tc.want {
				t.Errorf("Delay(%d) = %v, want %v", tc.attempt, got, tc.want)
			}
		})
	}
	// Real randomness stays within [Min, Max].
	var b ws.ExpBackoff
	for i := 1; i < 100; i++ {
		if d := b.Delay(i); d < time.Second || d > time.Minute {
			t.Fatalf("Delay(%d) = %v out of [1s, 60s]", i, d)
		}
	}
}
