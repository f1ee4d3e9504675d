package httpc_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pype-go/pype/transport/httpc"
	"github.com/pype-go/pype/transport/ratelimit"
)

var t0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// sleeper records the waits the client asks for, without sleeping.
type sleeper struct {
	mu      sync.Mutex
	waits   []time.Duration
	advance func(time.Duration) // e.g. a manual clock's Advance
}

func (s *sleeper) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	if s.advance != nil {
		s.advance(d)
	}
	return nil
}

func (s *sleeper) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

type observation struct {
	rule string
	used int
	at   time.Time
}

// limiter records what the client asks of its rate limiter.
type limiter struct {
	mu      sync.Mutex
	costs   []ratelimit.Cost
	pauses  []time.Time
	obs     []observation
	waitErr error
}

func (l *limiter) Wait(ctx context.Context, cost ratelimit.Cost) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.costs = append(l.costs, cost)
	return l.waitErr
}

func (l *limiter) PauseUntil(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pauses = append(l.pauses, t)
}

func (l *limiter) Observe(rule string, used int, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.obs = append(l.obs, observation{rule, used, at})
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// env is a client wired to fakes, talking to a scripted test server.
type env struct {
	srv   *httptest.Server
	c     *httpc.Client
	sl    *sleeper
	lim   *limiter
	logs  *syncBuffer
	hits  atomic.Int64
	reqs  chan *http.Request // copies of the requests the server saw (buffered)
	bodys chan []byte
}

// step serves one attempt; the last step repeats.
type step func(w http.ResponseWriter, r *http.Request)

var testPolicy = httpc.RetryPolicy{MaxAttempts: 4, BaseDelay: time.Second, MaxDelay: 8 * time.Second}

func newEnv(t *testing.T, steps []step, opts ...httpc.Option) *env {
	t.Helper()
	e := &env{sl: &sleeper{}, lim: &limiter{}, logs: &syncBuffer{},
		reqs: make(chan *http.Request, 64), bodys: make(chan []byte, 64)}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(e.hits.Add(1))
		var body bytes.Buffer
		_, _ = body.ReadFrom(r.Body)
		select {
		case e.reqs <- r.Clone(context.Background()):
			e.bodys <- body.Bytes()
		default:
		}
		// Every attempt on a fresh connection, so that net/http never
		// replays a request on its own and the server's count is exact.
		w.Header().Set("Connection", "close")
		steps[min(n, len(steps))-1](w, r)
	}))
	t.Cleanup(e.srv.Close)
	base := []httpc.Option{
		httpc.WithName("testvenue"),
		httpc.WithLimiter(e.lim),
		httpc.WithNow(func() time.Time { return t0 }),
		httpc.WithSleep(e.sl.sleep),
		httpc.WithRandom(func() float64 { return 0.5 }),
		httpc.WithRetry(testPolicy),
		httpc.WithLogger(slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
	}
	c, err := httpc.New(e.srv.URL, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	e.c = c
	return e
}

func status(code int, body string, headers ...string) step {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	}
}

func ok(body string) step { return status(http.StatusOK, body) }

// hangUp closes the connection without any response.
func hangUp(w http.ResponseWriter, r *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	conn.Close()
}

// resetMidBody promises 100 bytes, sends 10, then resets the connection.
func resetMidBody(w http.ResponseWriter, r *http.Request) {
	conn, rw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	_, _ = rw.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n[1,2,3,4,")
	_ = rw.Flush()
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // RST instead of FIN
	}
	conn.Close()
}

func (e *env) attempts() int { return int(e.hits.Load()) }

func durations(ds ...time.Duration) []time.Duration { return ds }

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
