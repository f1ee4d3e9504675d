package httpc_test

import (
	"compress/gzip"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pype-go/pype/transport/httpc"
	"github.com/pype-go/pype/transport/ratelimit"
	"github.com/pype-go/pype/transport/ratelimit/ratelimittest"
)

var weight2 = ratelimit.Cost{{Rule: "REQUEST_WEIGHT", N: 2}}

func get(e *env) (*httpc.Response, error) {
	return e.c.Get(context.Background(), "/api/v3/klines", url.Values{"symbol": {"BTCUSDT"}}, weight2)
}

func TestSuccess(t *testing.T) {
	e := newEnv(t, []step{status(200, `[1,2]`, "X-MBX-USED-WEIGHT-1M", "1234")},
		httpc.WithUsageHeader("X-MBX-USED-WEIGHT-1M", "REQUEST_WEIGHT"))
	resp, err := get(e)
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.Body) != `[1,2]` || resp.Status != 200 || resp.Attempts != 1 || resp.Method != "GET" {
		t.Fatalf("response %+v", resp)
	}
	r := <-e.reqs
	if r.URL.Path != "/api/v3/klines" || r.URL.RawQuery != "symbol=BTCUSDT" {
		t.Fatalf("server saw %s", r.URL)
	}
	if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, "pype/") {
		t.Fatalf("User-Agent %q", ua)
	}
	if len(e.lim.costs) != 1 || e.lim.costs[0][0] != weight2[0] {
		t.Fatalf("limiter costs %v", e.lim.costs)
	}
	if len(e.lim.obs) != 1 || e.lim.obs[0] != (observation{"REQUEST_WEIGHT", 1234, t0}) {
		t.Fatalf("observations %v", e.lim.obs)
	}
	if s := e.c.Stats(); s.Requests != 1 || s.Attempts != 1 || s.Retries != 0 || s.Bytes != 5 {
		t.Fatalf("stats %+v", s)
	}
	if len(e.sl.got()) != 0 {
		t.Fatalf("slept %v", e.sl.got())
	}
}

func TestRetries(t *testing.T) {
	for _, tc := range []struct {
		name     string
		steps    []step
		attempts int
		waits    []time.Duration // full jitter at 0.5 of 1s, 2s, 4s, ...
		wantErr  func(t *testing.T, err error)
	}{
		{"5xx burst then success", []step{status(503, "busy"), status(502, ""), ok("[]")}, 3,
			durations(500*time.Millisecond, time.Second), nil},
		{"5xx with Retry-After", []step{status(503, "", "Retry-After", "7"), ok("[]")}, 2,
			durations(7 * time.Second), nil},
		{"connection closed without response", []step{hangUp, hangUp, ok("[]")}, 3,
			durations(500*time.Millisecond, time.Second), nil},
		{"reset mid-body", []step{resetMidBody, ok("[]")}, 2, durations(500 * time.Millisecond), nil},
		{"5xx exhausted: no sleep after the last attempt", []step{status(500, `{"code":-1000,"msg":"oops"}`)}, 4,
			durations(500*time.Millisecond, time.Second, 2*time.Second),
			func(t *testing.T, err error) {
				var he *httpc.HTTPError
				if !errors.As(err, &he) || he.Status != 500 || he.Attempts != 4 {
					t.Fatalf("err = %v, want HTTPError 500 after 4 attempts", err)
				}
			}},
		{"resets exhausted", []step{hangUp}, 4, durations(500*time.Millisecond, time.Second, 2*time.Second),
			func(t *testing.T, err error) {
				var re *httpc.RequestError
				if !errors.As(err, &re) || re.Attempts != 4 || !strings.Contains(err.Error(), "EOF") {
					t.Fatalf("err = %v, want RequestError (EOF) after 4 attempts", err)
				}
			}},
		{"404 not retried", []step{status(404, "no such path")}, 1, nil,
			func(t *testing.T, err error) {
				var he *httpc.HTTPError
				if !errors.As(err, &he) || he.Status != 404 || he.Body != "no such path" {
					t.Fatalf("err = %v", err)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.steps)
			resp, err := get(e)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if string(resp.Body) != "[]" || resp.Attempts != tc.attempts {
					t.Fatalf("response %+v", resp)
				}
			} else {
				if resp != nil {
					t.Fatalf("response with an error: %+v", resp)
				}
				tc.wantErr(t, err)
			}
			if e.attempts() != tc.attempts {
				t.Fatalf("server saw %d attempts, want %d", e.attempts(), tc.attempts)
			}
			if got := e.sl.got(); !equalDurations(got, tc.waits) {
				t.Fatalf("waits %v, want %v", got, tc.waits)
			}
			if len(e.lim.costs) != tc.attempts {
				t.Fatalf("limiter charged %d times for %d attempts", len(e.lim.costs), tc.attempts)
			}
			if s := e.c.Stats(); s.Attempts != int64(tc.attempts) || s.Retries != int64(tc.attempts-1) {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

func TestBackoffCeiling(t *testing.T) {
	p := httpc.RetryPolicy{BaseDelay: time.Second, MaxDelay: 5 * time.Second}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	for i, w := range want {
		if got := httpc.Ceiling(p, i+1); got != w {
			t.Errorf("ceiling(%d) = %v, want %v", i+1, got, w)
		}
	}
	if got := httpc.Ceiling(httpc.RetryPolicy{}, 1); got != 500*time.Millisecond {
		t.Errorf("default base %v", got)
	}
	if got := httpc.Ceiling(httpc.RetryPolicy{}, 60); got != 30*time.Second {
		t.Errorf("default cap %v", got)
	}
}

// Full jitter draws the whole range [0, ceiling).
func TestFullJitter(t *testing.T) {
	for _, f := range []float64{0, 0.999} {
		e := newEnv(t, []step{status(500, ""), ok("[]")}, httpc.WithRandom(func() float64 { return f }))
		if _, err := get(e); err != nil {
			t.Fatal(err)
		}
		want := time.Duration(f * float64(time.Second))
		if got := e.sl.got(); len(got) != 1 || got[0] != want {
			t.Fatalf("random %v: waits %v, want [%v]", f, got, want)
		}
	}
}

func TestSlowBodyPastAttemptTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	slow := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(200)
		_, _ = w.Write([]byte("[1,"))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
	slowHeaders := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
	e := newEnv(t, []step{slow, slowHeaders, ok("[]")}, httpc.WithAttemptTimeout(250*time.Millisecond))
	resp, err := get(e)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Attempts != 3 || len(e.sl.got()) != 2 {
		t.Fatalf("attempts %d waits %v", resp.Attempts, e.sl.got())
	}
	if !strings.Contains(e.logs.String(), "attempt timed out after 250ms") {
		t.Fatalf("timeouts not logged as such:\n%s", e.logs)
	}
}

func Test429RetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name, retryAfter string
		want             time.Duration
	}{
		{"seconds", "3", 3 * time.Second},
		{"HTTP date", t0.Add(5 * time.Second).Format(http.TimeFormat), 5 * time.Second},
		{"date in the past", t0.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"absent: backoff ceiling", "", time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h []string
			if tc.retryAfter != "" {
				h = []string{"Retry-After", tc.retryAfter}
			}
			e := newEnv(t, []step{status(429, `{"code":-1003,"msg":"Too many requests."}`, h...), ok("[]")})
			resp, err := get(e)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Attempts != 2 {
				t.Fatalf("attempts %d", resp.Attempts)
			}
			if got := e.sl.got(); !equalDurations(got, durations(tc.want)) {
				t.Fatalf("waits %v, want [%v]", got, tc.want)
			}
			if len(e.lim.pauses) != 1 || !e.lim.pauses[0].Equal(t0.Add(tc.want)) {
				t.Fatalf("limiter pauses %v, want [%v]", e.lim.pauses, t0.Add(tc.want))
			}
			if s := e.c.Stats(); s.RateLimited != 1 {
				t.Fatalf("stats %+v", s)
			}
			if !strings.Contains(e.logs.String(), "level=WARN") {
				t.Fatalf("429 not logged at warn:\n%s", e.logs)
			}
		})
	}
}

func Test429Exhausted(t *testing.T) {
	e := newEnv(t, []step{status(429, `{"code":-1003,"msg":"Too many requests."}`, "Retry-After", "2")},
		httpc.WithErrorDecoder(binanceError))
	_, err := e.c.Post(context.Background(), "/api/v3/order", nil, []byte("symbol=BTCUSDT"), nil)
	var he *httpc.HTTPError
	if !errors.As(err, &he) || he.Status != 429 || he.RetryAfter != 2*time.Second || he.VenueCode != "-1003" || he.Attempts != 4 {
		t.Fatalf("err = %#v, want HTTPError 429", err)
	}
	if !errors.Is(err, httpc.ErrRateLimited) || errors.Is(err, httpc.ErrBanned) {
		t.Fatal("errors.Is mismatch")
	}
	if e.attempts() != 4 {
		t.Fatalf("attempts %d (a rejected POST is safe to retry)", e.attempts())
	}
	if got := e.sl.got(); !equalDurations(got, durations(2*time.Second, 2*time.Second, 2*time.Second)) {
		t.Fatalf("waits %v: want three, none after the last attempt", got)
	}
	if len(e.lim.pauses) != 4 {
		t.Fatalf("pauses %v", e.lim.pauses)
	}
}

func Test429RetryAfterTooLong(t *testing.T) {
	e := newEnv(t, []step{status(429, "", "Retry-After", "3600")})
	_, err := get(e)
	var he *httpc.HTTPError
	if !errors.As(err, &he) || he.Status != 429 || he.RetryAfter != time.Hour {
		t.Fatalf("err = %v", err)
	}
	if e.attempts() != 1 || len(e.sl.got()) != 0 {
		t.Fatalf("attempts %d waits %v: a wait over MaxRetryAfter must return at once", e.attempts(), e.sl.got())
	}
	if len(e.lim.pauses) != 1 || !e.lim.pauses[0].Equal(t0.Add(time.Hour)) {
		t.Fatalf("pauses %v", e.lim.pauses)
	}
}

func Test418(t *testing.T) {
	for _, tc := range []struct {
		name    string
		headers []string
		pause   time.Duration
	}{
		{"Retry-After", []string{"Retry-After", "7200"}, 2 * time.Hour},
		{"no Retry-After", nil, 2 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, []step{status(418, `{"code":-1003,"msg":"Way too many requests; IP banned."}`, tc.headers...)},
				httpc.WithErrorDecoder(binanceError))
			_, err := get(e)
			var he *httpc.HTTPError
			if !errors.As(err, &he) || he.Status != 418 || !errors.Is(err, httpc.ErrBanned) {
				t.Fatalf("err = %v, want HTTPError 418 matching ErrBanned", err)
			}
			if e.attempts() != 1 || len(e.sl.got()) != 0 {
				t.Fatalf("a ban was retried: attempts %d waits %v", e.attempts(), e.sl.got())
			}
			if len(e.lim.pauses) != 1 || !e.lim.pauses[0].Equal(t0.Add(tc.pause)) {
				t.Fatalf("pauses %v", e.lim.pauses)
			}
			logs := e.logs.String()
			if !strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, "418") {
				t.Fatalf("ban not logged loudly:\n%s", logs)
			}
			if s := e.c.Stats(); s.Banned != 1 {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

func binanceError(status int, body []byte) (string, string) {
	var v struct {
		Code *int   `json:"code"`
		Msg  string `json:"msg"`
	}
	if json.Unmarshal(body, &v) != nil || v.Code == nil {
		return "", ""
	}
	return strconv.Itoa(*v.Code), v.Msg
}

func TestVenueErrorCode(t *testing.T) {
	e := newEnv(t, []step{status(400, `{"code":-1121,"msg":"Invalid symbol."}`)}, httpc.WithErrorDecoder(binanceError))
	_, err := e.c.Get(context.Background(), "/api/v3/klines", url.Values{"symbol": {"NOPE"}}, nil)
	var he *httpc.HTTPError
	if !errors.As(err, &he) {
		t.Fatalf("err = %v", err)
	}
	if he.Status != 400 || he.VenueCode != "-1121" || he.VenueMsg != "Invalid symbol." || he.Method != "GET" ||
		!strings.HasSuffix(he.URL, "/api/v3/klines?symbol=NOPE") || he.Venue != "testvenue" {
		t.Fatalf("%+v", he)
	}
	want := "httpc: testvenue GET " + e.srv.URL + "/api/v3/klines?symbol=NOPE: HTTP 400 Bad Request: venue code -1121: Invalid symbol."
	if err.Error() != want {
		t.Fatalf("Error() = %q\nwant      %q", err.Error(), want)
	}
	if e.attempts() != 1 || len(e.sl.got()) != 0 {
		t.Fatalf("4xx retried")
	}
}

func TestErrorBodyTruncated(t *testing.T) {
	e := newEnv(t, []step{status(400, strings.Repeat("x", 5000))})
	_, err := get(e)
	var he *httpc.HTTPError
	if !errors.As(err, &he) || len(he.Body) > httpc.MaxErrorBody+len("…") {
		t.Fatalf("body of %d bytes kept", len(he.Body))
	}
}

// bybitClassifier reads Bybit's retCode: 10006/10016 are transient.
func bybitClassifier(status int, h http.Header, body []byte) error {
	var v struct {
		RetCode int    `json:"retCode"`
		RetMsg  string `json:"retMsg"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil // not an envelope: let the caller's decoder report it
	}
	if v.RetCode == 0 {
		return nil
	}
	se := &httpc.SoftError{Code: strconv.Itoa(v.RetCode), Msg: v.RetMsg}
	switch v.RetCode {
	case 10016:
		se.Retryable = true
	case 10006:
		se.Retryable, se.RetryAfter = true, 4*time.Second
	}
	return se
}

func TestSoftErrors(t *testing.T) {
	okBody := `{"retCode":0,"retMsg":"OK","result":{"list":[]}}`
	t.Run("retryable then success", func(t *testing.T) {
		e := newEnv(t, []step{ok(`{"retCode":10016,"retMsg":"Server error","result":{}}`), ok(okBody)},
			httpc.WithClassifier(bybitClassifier))
		resp, err := get(e)
		if err != nil || string(resp.Body) != okBody || resp.Attempts != 2 {
			t.Fatalf("resp %+v err %v", resp, err)
		}
		if got := e.sl.got(); !equalDurations(got, durations(500*time.Millisecond)) {
			t.Fatalf("waits %v", got)
		}
		if s := e.c.Stats(); s.SoftErrors != 1 {
			t.Fatalf("stats %+v", s)
		}
	})
	t.Run("soft rate limit pauses the venue", func(t *testing.T) {
		e := newEnv(t, []step{ok(`{"retCode":10006,"retMsg":"Too many visits!"}`), ok(okBody)},
			httpc.WithClassifier(bybitClassifier))
		if _, err := get(e); err != nil {
			t.Fatal(err)
		}
		if got := e.sl.got(); !equalDurations(got, durations(4*time.Second)) {
			t.Fatalf("waits %v", got)
		}
		if len(e.lim.pauses) != 1 || !e.lim.pauses[0].Equal(t0.Add(4*time.Second)) {
			t.Fatalf("pauses %v", e.lim.pauses)
		}
	})
	t.Run("fatal: never an empty result", func(t *testing.T) {
		e := newEnv(t, []step{ok(`{"retCode":10001,"retMsg":"params error: symbol invalid","result":{}}`)},
			httpc.WithClassifier(bybitClassifier))
		resp, err := get(e)
		var se *httpc.SoftError
		if resp != nil || !errors.As(err, &se) || se.Retryable || se.Code != "10001" || se.Status != 200 || se.Attempts != 1 {
			t.Fatalf("resp %v err %#v", resp, err)
		}
		if !strings.Contains(err.Error(), "venue error 10001: params error") || !strings.Contains(err.Error(), "/api/v3/klines") {
			t.Fatalf("Error() = %q", err)
		}
		if e.attempts() != 1 {
			t.Fatal("fatal soft error retried")
		}
	})
	t.Run("retryable exhausted", func(t *testing.T) {
		e := newEnv(t, []step{ok(`{"retCode":10016,"retMsg":"Server error"}`)}, httpc.WithClassifier(bybitClassifier))
		_, err := get(e)
		var se *httpc.SoftError
		if !errors.As(err, &se) || !se.Retryable || se.Attempts != 4 || len(e.sl.got()) != 3 {
			t.Fatalf("err %v waits %v", err, e.sl.got())
		}
	})
	t.Run("other classifier errors are fatal", func(t *testing.T) {
		e := newEnv(t, []step{ok(`{"error":["EQuery:Unknown asset pair"]}`)},
			httpc.WithClassifier(func(int, http.Header, []byte) error { return errors.New("EQuery:Unknown asset pair") }))
		_, err := get(e)
		var re *httpc.RequestError
		if !errors.As(err, &re) || !strings.Contains(err.Error(), "EQuery:Unknown asset pair") || e.attempts() != 1 {
			t.Fatalf("err %v", err)
		}
	})
}

// POST is not idempotent: a failure after which the venue may have acted is
// not retried, unless the request says it is safe.
func TestNonIdempotent(t *testing.T) {
	for _, tc := range []struct {
		name       string
		steps      []step
		idempotent bool
		attempts   int
	}{
		{"503", []step{status(503, ""), ok("{}")}, false, 1},
		{"503 idempotent", []step{status(503, ""), ok("{}")}, true, 2},
		{"reset mid-body", []step{resetMidBody, ok("{}")}, false, 1},
		{"429 is a rejection", []step{status(429, "", "Retry-After", "1"), ok("{}")}, false, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.steps)
			_, err := e.c.Do(context.Background(), &httpc.Request{Method: "POST", Path: "/api/v3/order",
				Body: []byte("symbol=BTCUSDT&side=BUY"), Idempotent: tc.idempotent})
			if (err == nil) != (tc.attempts == 2) || e.attempts() != tc.attempts {
				t.Fatalf("err %v attempts %d, want %d", err, e.attempts(), tc.attempts)
			}
		})
	}
}

// A refused connection means nothing was sent: even a POST is retried.
func TestConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	sl := &sleeper{}
	c, err := httpc.New("http://"+addr, httpc.WithSleep(sl.sleep), httpc.WithRetry(testPolicy),
		httpc.WithLogger(discard()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Post(context.Background(), "/order", nil, []byte("a=1"), nil)
	var re *httpc.RequestError
	var op *net.OpError
	if !errors.As(err, &re) || !errors.As(err, &op) || re.Attempts != 4 {
		t.Fatalf("err = %v", err)
	}
	if s := c.Stats(); s.Attempts != 4 || len(sl.got()) != 3 {
		t.Fatalf("stats %+v waits %v", s, sl.got())
	}
}

func TestContextCancelledDuringBackoff(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := newEnv(t, []step{status(503, "down")}, httpc.WithSleep(func(ctx context.Context, d time.Duration) error {
		cancel()
		<-ctx.Done()
		return ctx.Err()
	}))
	_, err := e.c.Get(ctx, "/x", nil, nil)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "503") {
		t.Fatalf("err = %v: want context.Canceled naming the last failure", err)
	}
	if e.attempts() != 1 {
		t.Fatalf("attempts %d", e.attempts())
	}
}

func TestContextCancelledBefore(t *testing.T) {
	e := newEnv(t, []step{ok("{}")}, httpc.WithLimiter(nil))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := e.c.Get(ctx, "/x", nil, nil)
	if !errors.Is(err, context.Canceled) || e.attempts() != 0 {
		t.Fatalf("err %v attempts %d", err, e.attempts())
	}
}

func TestLimiterError(t *testing.T) {
	lim, err := ratelimit.New([]ratelimit.Rule{{Name: "REQUEST_WEIGHT", Limit: 10, Interval: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, []step{ok("{}")}, httpc.WithLimiter(lim))
	_, err = e.c.Get(context.Background(), "/x", nil, ratelimit.Cost{{Rule: "REQUEST_WEIGHT", N: 11}})
	var ce *ratelimit.CostError
	if !errors.As(err, &ce) || e.attempts() != 0 {
		t.Fatalf("err %v attempts %d", err, e.attempts())
	}
}

// With a real limiter, a 429 pauses every request of the venue; the fake
// sleeper moves the limiter's manual clock.
func TestPauseWithRealLimiter(t *testing.T) {
	clk := ratelimittest.NewClock(t0)
	lim, err := ratelimit.New([]ratelimit.Rule{{Name: "REQUEST_WEIGHT", Limit: 6000, Interval: time.Minute}},
		ratelimit.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, []step{status(429, "", "Retry-After", "2", "X-MBX-USED-WEIGHT-1M", "5990"), ok("[]")},
		httpc.WithLimiter(lim), httpc.WithNow(clk.Now),
		httpc.WithUsageHeader("X-MBX-USED-WEIGHT-1M", "REQUEST_WEIGHT"))
	e.sl.advance = clk.Advance
	if _, err := get(e); err != nil {
		t.Fatal(err)
	}
	s := lim.Stats()
	if s.Pauses != 1 || !s.PausedUntil.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("limiter stats %+v", s)
	}
	if ok, _ := lim.TryAcquire(ratelimit.Cost{{Rule: "REQUEST_WEIGHT", N: 20}}); ok {
		t.Fatal("server usage over the limit was not honoured")
	}
}

func TestResponseTooLarge(t *testing.T) {
	big := strings.Repeat("a", 1000)
	chunked := func(w http.ResponseWriter, r *http.Request) {
		for range 10 {
			_, _ = w.Write([]byte(big[:100]))
			w.(http.Flusher).Flush()
		}
	}
	gz := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		_, _ = zw.Write([]byte(big))
		_ = zw.Close()
	}
	for name, s := range map[string]step{"Content-Length": ok(big), "chunked": chunked, "gzip bomb": gz} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, []step{s}, httpc.WithMaxResponseBytes(500))
			_, err := get(e)
			if !errors.Is(err, httpc.ErrResponseTooLarge) || !strings.Contains(err.Error(), "500 bytes") {
				t.Fatalf("err = %v", err)
			}
			if e.attempts() != 1 {
				t.Fatal("retried an oversized response")
			}
		})
	}
}

func TestGzip(t *testing.T) {
	payload := strings.Repeat(`{"a":"b"},`, 100)
	e := newEnv(t, []step{func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			http.Error(w, "client did not offer gzip", 400)
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		_, _ = zw.Write([]byte(payload))
		_ = zw.Close()
	}})
	resp, err := get(e)
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.Body) != payload {
		t.Fatalf("body not decompressed: %q", resp.Body[:20])
	}
}

func TestPathsAndHeaders(t *testing.T) {
	e := newEnv(t, []step{ok("{}")}, httpc.WithHeader("X-Venue", "v"))
	c, err := httpc.New(e.srv.URL+"/api/v1/", httpc.WithLogger(discard()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range []struct {
		req      *httpc.Request
		client   *httpc.Client
		wantURI  string
		wantCT   string
		wantBody string
	}{
		{&httpc.Request{Path: "trade?reverse=true", Query: url.Values{"symbol": {"XBTUSD"}}}, c,
			"/api/v1/trade?reverse=true&symbol=XBTUSD", "", ""},
		{&httpc.Request{Path: "/candles/trade:1m:tBTCUSD/hist"}, e.c, "/candles/trade:1m:tBTCUSD/hist", "", ""},
		{&httpc.Request{Method: "post", Path: "/o", Body: []byte(` {"a":1}`)}, e.c, "/o", "application/json", ` {"a":1}`},
		{&httpc.Request{Method: "PUT", Path: "/o", Body: []byte(`a=1`)}, e.c, "/o", "application/x-www-form-urlencoded", "a=1"},
		{&httpc.Request{Method: "DELETE", Path: "/o", Body: []byte(`a=1`), Header: http.Header{"Content-Type": {"text/plain"}}},
			e.c, "/o", "text/plain", "a=1"},
		{&httpc.Request{Path: e.srv.URL + "/absolute?x=1"}, e.c, "/absolute?x=1", "", ""},
	} {
		if _, err := tc.client.Do(context.Background(), tc.req); err != nil {
			t.Fatal(err)
		}
		r, body := <-e.reqs, <-e.bodys
		if r.URL.RequestURI() != tc.wantURI || r.Header.Get("Content-Type") != tc.wantCT || string(body) != tc.wantBody {
			t.Errorf("%s %s: server saw %s %s (%q) body %q", tc.req.Method, tc.req.Path, r.Method, r.URL.RequestURI(),
				r.Header.Get("Content-Type"), body)
		}
		if tc.client == e.c && r.Header.Get("X-Venue") != "v" {
			t.Errorf("default header missing")
		}
	}
	if _, err := httpc.New("ftp://x"); err == nil {
		t.Error("New accepted ftp://")
	}
	if _, err := httpc.New("https://venue.example.invalid?x=1"); err == nil {
		t.Error("New accepted a base URL with a query")
	}
	var zero httpc.Client
	if _, err := zero.Get(context.Background(), "/relative", nil, nil); err == nil || !strings.Contains(err.Error(), "no base URL") {
		t.Errorf("zero client, relative path: %v", err)
	}
}

func TestZeroClientAbsoluteURL(t *testing.T) {
	e := newEnv(t, []step{ok(`"hi"`)})
	var c httpc.Client
	defer c.Close()
	resp, err := c.Get(context.Background(), e.srv.URL+"/x", nil, nil)
	if err != nil || string(resp.Body) != `"hi"` {
		t.Fatalf("%v %v", resp, err)
	}
}

func TestJSONHelpers(t *testing.T) {
	type kline []json.RawMessage
	e := newEnv(t, []step{ok(`[[1,"2"],[3,"4"]]`), ok(`[[1,"2"],[3,`), ok(`{"price":"1.5"}`)})
	rows, err := httpc.GetJSON[[]kline](context.Background(), e.c, "/k", nil, nil)
	if err != nil || len(rows) != 2 {
		t.Fatalf("%v %v", rows, err)
	}
	_, err = httpc.GetJSON[[]kline](context.Background(), e.c, "/k", url.Values{"symbol": {"X"}}, nil)
	var de *httpc.DecodeError
	if !errors.As(err, &de) || de.Body != `[[1,"2"],[3,` || !strings.HasSuffix(de.URL, "/k?symbol=X") {
		t.Fatalf("malformed JSON: %v", err)
	}
	v, err := httpc.DoJSON[struct{ Price string }](context.Background(), e.c, &httpc.Request{Path: "/t"})
	if err != nil || v.Price != "1.5" {
		t.Fatalf("%v %v", v, err)
	}
}

func TestSignedWithoutSigner(t *testing.T) {
	e := newEnv(t, []step{ok("{}")})
	_, err := e.c.Do(context.Background(), &httpc.Request{Path: "/api/v3/account", Signed: true})
	if !errors.Is(err, httpc.ErrNoSigner) || e.attempts() != 0 {
		t.Fatalf("err %v attempts %d", err, e.attempts())
	}
}

const (
	apiKey    = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
	apiSecret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
)

// binanceSigner signs like Binance: timestamp + HMAC-SHA256 of the query
// and body, key in a header.
func binanceSigner(ctx context.Context, t *httpc.SignTarget) error {
	q := t.URL.RawQuery
	if q != "" {
		q += "&"
	}
	q += "timestamp=" + strconv.FormatInt(t.Time.UnixMilli(), 10)
	mac := hmac.New(sha256.New, []byte(apiSecret))
	mac.Write([]byte(q))
	mac.Write(t.Body)
	t.URL.RawQuery = q + "&signature=" + hex.EncodeToString(mac.Sum(nil))
	t.Header.Set("X-MBX-APIKEY", apiKey)
	return nil
}

func TestSecretsNeverLeak(t *testing.T) {
	var mu sync.Mutex
	var signatures []string
	seen := func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		signatures = append(signatures, r.URL.Query().Get("signature"))
		mu.Unlock()
	}
	fail := func(s step) step {
		return func(w http.ResponseWriter, r *http.Request) { seen(w, r); s(w, r) }
	}
	now := t0
	e := newEnv(t, []step{
		fail(status(500, "")), fail(hangUp), fail(resetMidBody),
		fail(status(401, `{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}`)),
	}, httpc.WithSigner(httpc.SignerFunc(binanceSigner)), httpc.WithErrorDecoder(binanceError),
		httpc.WithNow(func() time.Time { now = now.Add(time.Millisecond); return now }))
	_, err := e.c.Do(context.Background(), &httpc.Request{Path: "/api/v3/account", Signed: true,
		Query: url.Values{"recvWindow": {"5000"}}})
	var he *httpc.HTTPError
	if !errors.As(err, &he) || he.Status != 401 || he.Attempts != 4 {
		t.Fatalf("err = %v", err)
	}
	if len(signatures) != 4 || signatures[0] == "" || signatures[0] == signatures[1] {
		t.Fatalf("every attempt must be signed afresh: %v", signatures)
	}
	if !strings.Contains(he.URL, "recvWindow=5000&timestamp=") {
		t.Fatalf("redaction dropped harmless params: %s", he.URL)
	}
	// A network error (its *url.Error carries the full URL) on a signed request.
	e2 := newEnv(t, []step{hangUp}, httpc.WithSigner(httpc.SignerFunc(binanceSigner)), httpc.WithRetry(httpc.RetryPolicy{MaxAttempts: 1}))
	_, err2 := e2.c.Do(context.Background(), &httpc.Request{Path: "/api/v3/account", Signed: true})
	if err2 == nil {
		t.Fatal("hang-up succeeded")
	}
	r := <-e2.reqs
	signatures = append(signatures, r.URL.Query().Get("signature"))

	texts := map[string]string{"error": err.Error(), "network error": err2.Error(),
		"logs": e.logs.String() + e2.logs.String(), "HTTPError.URL": he.URL}
	for name, text := range texts {
		for _, secret := range append([]string{apiKey, apiSecret, "signature="}, signatures...) {
			if secret != "" && strings.Contains(text, secret) {
				t.Errorf("%s contains %q:\n%s", name, secret, text)
			}
		}
	}
	if !strings.Contains(e.logs.String(), "retrying") {
		t.Fatal("no retry logs were written, the log check proves nothing")
	}
}

func TestRedactURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://venue.example.invalid/api/v3/order?symbol=BTCUSDT&timestamp=1&signature=abc", "https://venue.example.invalid/api/v3/order?symbol=BTCUSDT&timestamp=1"},
		{"https://x/p?apiKey=k&api_key=k&API-KEY=k&Secret=s&passphrase=p&token=t&sign=s&a=1", "https://x/p?a=1"},
		{"https://user:pass@x/p?a=1&b=2", "https://x/p?a=1&b=2"},
		{"https://x/p?signature=only", "https://x/p"},
		{"https://x/p?custom_secret_thing=1", "https://x/p"},
	} {
		u, _ := url.Parse(tc.in)
		if got := httpc.RedactURL(u, "CUSTOM-SECRET-THING"); got != tc.want {
			t.Errorf("redact(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"3", 3 * time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"0", 0, true},
		{"1.5", 1500 * time.Millisecond, true},
		{"-1", 0, false},
		{"", 0, false},
		{"soon", 0, false},
		{t0.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{t0.Add(90 * time.Second).Format(time.RFC850), 90 * time.Second, true},
		{t0.Add(-time.Hour).Format(http.TimeFormat), 0, true},
	} {
		got, ok := httpc.ParseRetryAfter(tc.in, t0)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseRetryAfter(%q) = %v %v, want %v %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	e := newEnv(t, []step{func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%q", r.URL.Query().Get("i"))
	}})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			resp, err := e.c.Get(context.Background(), "/x", url.Values{"i": {strconv.Itoa(i)}}, weight2)
			if err != nil || string(resp.Body) != strconv.Quote(strconv.Itoa(i)) {
				t.Errorf("%d: %v %v", i, resp, err)
			}
		})
	}
	wg.Wait()
	if s := e.c.Stats(); s.Requests != 16 || s.Attempts != 16 {
		t.Fatalf("stats %+v", s)
	}
}
