package bitfinex

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pype-go/pype/transport/httpc"
	"github.com/pype-go/pype/transport/ratelimit"
)

// This file is the REST plumbing: one transport/httpc client (connection
// pool, retries with backoff and jitter), a rate limiter per endpoint, and
// a thin http.RoundTripper that normalises Bitfinex's error answers before
// httpc sees them:
//
//   - Over an endpoint's limit Bitfinex answers HTTP 429 with
//     ["error",11010,"ratelimit: error"] (or {"error":"ERR_RATE_LIMIT"}),
//     without Retry-After, and blocks that endpoint for 60 s. The wrapper
//     pauses only that endpoint's limiter (for Retry-After when the venue
//     sends one, else 60 s); httpc's retry then waits on that limiter, so
//     a blocked endpoint is not hammered and the other endpoints go on.
//   - Bitfinex reports parameter errors as HTTP 500 ["error",10020,"limit:
//     invalid"]. A 500 is retried by httpc; these are not transient, so the
//     wrapper turns them into 400 (the original status stays in the
//     X-Bitfinex-Status header) and they fail at once.

// endpointRule returns the rate-limit rule of a path relative to the API
// base ("/candles/…" → CANDLES).
func endpointRule(path string) string {
	switch {
	case strings.HasPrefix(path, "/candles/"):
		return RuleCandles
	case strings.HasPrefix(path, "/trades/"):
		return RuleTrades
	case strings.HasPrefix(path, "/book/"):
		return RuleBook
	case strings.HasPrefix(path, "/conf/"):
		return RuleConf
	case strings.HasPrefix(path, "/platform/"):
		return RuleStatus
	}
	return ""
}

// limiters is a rate limiter per endpoint rule. It implements
// httpc.Limiter by dispatching each request to its endpoint's limiter, so
// a trades backfill waiting for its 15 requests per minute never holds up
// a candle request (each ratelimit.Limiter is FIFO). 429 pauses are applied
// per endpoint by the transport wrapper; PauseUntil from httpc is ignored.
type limiters struct {
	mu     sync.RWMutex
	byRule map[string]*ratelimit.Limiter
	costs  map[string]ratelimit.Cost
	rules  []ratelimit.Rule
	opts   []ratelimit.Option
}

func newLimiters(rules []ratelimit.Rule, opts ...ratelimit.Option) (*limiters, error) {
	l := &limiters{opts: opts}
	return l, l.set(rules)
}

func (l *limiters) set(rules []ratelimit.Rule) error {
	byRule := make(map[string]*ratelimit.Limiter, len(rules))
	costs := make(map[string]ratelimit.Cost, len(rules))
	for _, r := range rules {
		if _, dup := byRule[r.Name]; dup {
			return fmt.Errorf("bitfinex: rate-limit rule %q given twice", r.Name)
		}
		lim, err := ratelimit.New([]ratelimit.Rule{r}, l.opts...)
		if err != nil {
			return fmt.Errorf("bitfinex: rate-limit rule %s: %w", r.Name, err)
		}
		byRule[r.Name] = lim
		costs[r.Name] = ratelimit.Cost{{Rule: r.Name, N: 1}}
	}
	l.mu.Lock()
	l.byRule, l.costs, l.rules = byRule, costs, append([]ratelimit.Rule(nil), rules...)
	l.mu.Unlock()
	return nil
}

func (l *limiters) get(rule string) *ratelimit.Limiter {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.byRule[rule]
}

func (l *limiters) cost(rule string) ratelimit.Cost {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.costs[rule]
}

// Wait implements httpc.Limiter.
func (l *limiters) Wait(ctx context.Context, cost ratelimit.Cost) error {
	if len(cost) == 0 {
		return ctx.Err()
	}
	lim := l.get(cost[0].Rule)
	if lim == nil {
		return ctx.Err()
	}
	return lim.Wait(ctx, cost)
}

// PauseUntil implements httpc.Limiter; see the type's comment.
func (l *limiters) PauseUntil(time.Time) {}

// Observe implements httpc.Limiter; Bitfinex sends no usage headers.
func (l *limiters) Observe(string, int, time.Time) {}

// pause blocks one endpoint until t.
func (l *limiters) pause(rule string, t time.Time) {
	if lim := l.get(rule); lim != nil {
		lim.PauseUntil(t)
	}
}

// statsOf returns each endpoint limiter's statistics.
func (l *limiters) stats() map[string]ratelimit.Stats {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make(map[string]ratelimit.Stats, len(l.byRule))
	for n, lim := range l.byRule {
		out[n] = lim.Stats()
	}
	return out
}

// transport is the http.RoundTripper wrapper described at the top of the
// file.
type transport struct {
	base     http.RoundTripper
	basePath string // path of the REST base URL, e.g. "/v2"
	lim      *limiters
	block    time.Duration
	now      func() time.Time // the limiters' clock
}

// OriginalStatusHeader carries the status Bitfinex sent when the adapter
// rewrote it (a 500 parameter error reported as 400).
const OriginalStatusHeader = "X-Bitfinex-Status"

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil || (resp.StatusCode >= 200 && resp.StatusCode < 300) {
		return resp, err
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if rerr != nil {
		return nil, rerr
	}
	code, msg, ok := parseErrorBody(body)
	status := resp.StatusCode
	rule := endpointRule(strings.TrimPrefix(req.URL.Path, t.basePath))
	switch {
	case status == http.StatusTooManyRequests || (ok && classify(0, code, msg) == ErrTooManyRequests):
		wait := t.block
		if ra := resp.Header.Get("Retry-After"); ra != "" {
			if s, err := strconv.Atoi(strings.TrimSpace(ra)); err == nil && s >= 0 {
				wait = time.Duration(s) * time.Second
			}
		}
		if rule != "" {
			t.lim.pause(rule, t.now().Add(wait))
		}
		status = http.StatusTooManyRequests
	case status >= 500 && ok && !retryableCode(code, msg):
		status = http.StatusBadRequest
	}
	if status != resp.StatusCode {
		resp.Header.Set(OriginalStatusHeader, strconv.Itoa(resp.StatusCode))
		resp.StatusCode = status
		resp.Status = fmt.Sprintf("%d %s", status, http.StatusText(status))
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}

// retryableCode reports whether an error code is transient.
func retryableCode(code int, msg string) bool {
	switch classify(0, code, msg) {
	case ErrInvalidParameter, ErrInvalidSymbol, ErrInvalidTimeframe, ErrUnauthorized:
		return false
	}
	return true
}

// classifyBody finds errors inside 2xx bodies: Bitfinex's error arrays and
// objects are never data.
func classifyBody(_ int, _ http.Header, body []byte) error {
	b := bytes.TrimSpace(body)
	if len(b) == 0 {
		return &httpc.SoftError{Msg: "empty body", Retryable: true}
	}
	if !(bytes.HasPrefix(b, []byte(`["error"`)) || (b[0] == '{' && bytes.Contains(b[:min(len(b), 64)], []byte(`"error"`)))) {
		return nil
	}
	code, msg, ok := parseErrorBody(b)
	if !ok {
		return nil
	}
	se := &httpc.SoftError{Code: strconv.Itoa(code), Msg: msg, Retryable: retryableCode(code, msg)}
	return se
}

// newHTTPClient builds the adapter's httpc client.
func (a *Adapter) newHTTPClient() (*httpc.Client, error) {
	u, err := url.Parse(a.restURL)
	if err != nil {
		return nil, err
	}
	var base http.RoundTripper = httpc.NewTransport()
	hc := &http.Client{}
	if a.cfg.HTTPClient != nil {
		*hc = *a.cfg.HTTPClient
		if hc.Transport != nil {
			base = hc.Transport
		}
	}
	a.ownTransport = a.cfg.HTTPClient == nil || a.cfg.HTTPClient.Transport == nil
	a.baseTransport = base
	limNow := time.Now
	if c := a.opt.limiterClock; c != nil {
		limNow = c.Now
	}
	hc.Transport = &transport{base: base, basePath: strings.TrimRight(u.Path, "/"), lim: a.lim, block: a.opt.blockPause, now: limNow}
	opts := []httpc.Option{
		httpc.WithName(Name),
		httpc.WithHTTPClient(hc),
		httpc.WithLimiter(a.lim),
		httpc.WithErrorDecoder(func(_ int, body []byte) (string, string) {
			if code, msg, ok := parseErrorBody(body); ok {
				c := ""
				if code != 0 {
					c = strconv.Itoa(code)
				}
				return c, msg
			}
			return "", ""
		}),
		httpc.WithClassifier(classifyBody),
		httpc.WithRetry(httpc.RetryPolicy{MaxAttempts: a.opt.retries, BaseDelay: a.opt.retryBase, MaxRetryAfter: max(5*time.Minute, 2*a.opt.blockPause)}),
		httpc.WithLogger(a.log),
	}
	if a.cfg.UserAgent != "" {
		opts = append(opts, httpc.WithUserAgent(a.cfg.UserAgent))
	}
	return httpc.New(a.restURL, opts...)
}

// get performs a GET of path (relative to the REST base, e.g.
// "/trades/tBTCUSD/hist") with the endpoint's rate limit, retries and error
// decoding. Venue errors come back as *APIError.
func (a *Adapter) get(ctx context.Context, path string, q url.Values) ([]byte, error) {
	rule := endpointRule(path)
	resp, err := a.rest.Get(ctx, path, q, a.lim.cost(rule))
	if err == nil {
		return resp.Body, nil
	}
	ep := "GET " + path
	if he := httpError(err); he != nil {
		code, _ := strconv.Atoi(he.VenueCode)
		status := he.Status
		if orig, err := strconv.Atoi(he.Header.Get(OriginalStatusHeader)); err == nil {
			status = orig
		}
		e := &APIError{Status: status, Code: code, Msg: he.VenueMsg, Endpoint: ep, Params: q.Encode(), RetryAfter: he.RetryAfter, cause: err}
		if e.Msg == "" && code == 0 {
			e.Msg = strings.TrimSpace(he.Body)
			if len(e.Msg) > 200 {
				e.Msg = e.Msg[:200] + "…"
			}
		}
		return nil, e
	}
	var se *httpc.SoftError
	if errors.As(err, &se) {
		code, _ := strconv.Atoi(se.Code)
		return nil, &APIError{Code: code, Msg: se.Msg, Endpoint: ep, Params: q.Encode(), cause: err}
	}
	return nil, fmt.Errorf("bitfinex: %s: %w", ep, err)
}
