package ws_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/pype-go/pype/transport/ws"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// guard bounds every wait in the tests; it is a failure deadline, not
// synchronisation.
const guard = 10 * time.Second

// server is a loopback WebSocket server; h runs once per connection
// attempt with its 1-based number.
type server struct {
	*httptest.Server
	n atomic.Int64
}

func newServer(t testing.TB, h func(n int, w http.ResponseWriter, r *http.Request)) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h(int(s.n.Add(1)), w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) wsURL() string { return "ws" + strings.TrimPrefix(s.URL, "http") }

func accept(t testing.TB, w http.ResponseWriter, r *http.Request) *websocket.Conn {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		t.Errorf("accept: %v", err)
		return nil
	}
	c.SetReadLimit(-1)
	return c
}

// drain reads until the client goes away (answering pings meanwhile).
func drain(c *websocket.Conn) {
	for {
		if _, _, err := c.Read(context.Background()); err != nil {
			return
		}
	}
}

func write(t testing.TB, c *websocket.Conn, s string) {
	t.Helper()
	if err := c.Write(context.Background(), websocket.MessageText, []byte(s)); err != nil {
		t.Errorf("server write %q: %v", s, err)
	}
}

func read(t testing.TB, c *websocket.Conn) string {
	t.Helper()
	_, b, err := c.Read(context.Background())
	if err != nil {
		t.Errorf("server read: %v", err)
	}
	return string(b)
}

// baseConfig: quiet logs, 1–2 ms backoff, no client pings.
func baseConfig(url string) ws.Config {
	return ws.Config{
		URL:          url,
		Logger:       slog.New(slog.DiscardHandler),
		Backoff:      ws.ExpBackoff{Min: time.Millisecond, Max: 2 * time.Millisecond},
		PingInterval: -1,
	}
}

// events records Config.OnEvent.
type events struct {
	t  testing.TB
	ch chan ws.Event
}

func newEvents(t testing.TB) *events { return &events{t: t, ch: make(chan ws.Event, 4096)} }

func (e *events) on(ev ws.Event) {
	select {
	case e.ch <- ev:
	default:
		e.t.Errorf("event buffer full, dropped %v", ev)
	}
}

func (e *events) next() ws.Event {
	e.t.Helper()
	select {
	case ev := <-e.ch:
		return ev
	case <-time.After(guard):
		e.t.Fatal("timed out waiting for an event")
		return ws.Event{}
	}
}

// until returns the next event of kind k, collecting the skipped ones.
func (e *events) until(k ws.EventKind) (ws.Event, []ws.Event) {
	e.t.Helper()
	var skipped []ws.Event
	for {
		ev := e.next()
		if ev.Kind == k {
			return ev, skipped
		}
		skipped = append(skipped, ev)
	}
}

func (e *events) none() {
	e.t.Helper()
	select {
	case ev := <-e.ch:
		e.t.Errorf("unexpected event %v", ev)
	default:
	}
}

// streamer runs StreamRaw in a goroutine and forwards frames.
type streamer struct {
	t      testing.TB
	frames chan ws.Frame
	errc   chan error
	cancel context.CancelFunc
	done   chan struct{}
}

func startStream(t testing.TB, c *ws.Client) *streamer {
	ctx, cancel := context.WithCancel(context.Background())
	s := &streamer{t: t, frames: make(chan ws.Frame, 1024), errc: make(chan error, 1), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for f, err := range c.StreamRaw(ctx) {
			if err != nil {
				s.errc <- err
				return
			}
			select {
			case s.frames <- f:
			case <-ctx.Done():
				return
			}
		}
	}()
	t.Cleanup(s.stop)
	return s
}

func (s *streamer) stop() {
	s.cancel()
	select {
	case <-s.done:
	case <-time.After(guard):
		s.t.Error("stream did not stop")
	}
}

func (s *streamer) next() ws.Frame {
	s.t.Helper()
	select {
	case f := <-s.frames:
		return f
	case err := <-s.errc:
		s.t.Fatalf("stream ended: %v", err)
	case <-time.After(guard):
		s.t.Fatal("timed out waiting for a frame")
	}
	return ws.Frame{}
}

func (s *streamer) err() error {
	s.t.Helper()
	select {
	case err := <-s.errc:
		return err
	case <-time.After(guard):
		s.t.Fatal("timed out waiting for the stream error")
		return nil
	}
}

// fakeClock is a manual ws.Clock. created receives the duration of every
// timer made, so tests can wait until a goroutine armed its timer.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	timers  map[*fakeTimer]struct{}
	created chan time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{
		now:     time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		timers:  map[*fakeTimer]struct{}{},
		created: make(chan time.Duration, 4096),
	}
}

type fakeTimer struct {
	c    *fakeClock
	when time.Time
	ch   chan time.Time
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) NewTimer(d time.Duration) ws.Timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTimer{c: f, when: f.now.Add(d), ch: make(chan time.Time, 1)}
	if d <= 0 {
		t.ch <- f.now
	} else {
		f.timers[t] = struct{}{}
	}
	f.created <- d
	return t
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	_, ok := t.c.timers[t]
	delete(t.c.timers, t)
	return ok
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	for t := range f.timers {
		if !t.when.After(f.now) {
			t.ch <- f.now
			delete(f.timers, t)
		}
	}
}

// waitTimer waits until a timer of duration d has been created.
func (f *fakeClock) waitTimer(t testing.TB, d time.Duration) {
	t.Helper()
	for {
		select {
		case got := <-f.created:
			if got == d {
				return
			}
		case <-time.After(guard):
			t.Fatalf("no timer of %v was armed", d)
		}
	}
}
