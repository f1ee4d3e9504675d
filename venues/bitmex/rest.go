package bitmex

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/pype-go/pype/transport/httpc"
	"github.com/pype-go/pype/transport/ratelimit"
)

// The public REST paths the adapter uses (relative to …/api/v1).
const (
	pathRoot        = "/"
	pathInstruments = "/instrument/active"
	pathTrade       = "/trade"
	pathBucketed    = "/trade/bucketed"
	pathL2          = "/orderBook/L2"
)

// Rate-limit headers BitMEX sends on every REST answer.
const (
	hdrLimit     = "X-Ratelimit-Limit"
	hdrRemaining = "X-Ratelimit-Remaining"
	hdrReset     = "X-Ratelimit-Reset" // Unix seconds when the bucket is full again
)

// requestCost is what one request costs: every BitMEX REST request counts
// 1 against the per-minute limit.
var requestCost = ratelimit.Cost{{Rule: ruleRequests, N: 1}}

// setLimit installs the request limit (the configured override wins).
func (a *Adapter) setLimit(n int) error {
	if a.cfg.WeightLimit > 0 {
		n = a.cfg.WeightLimit
	}
	if n <= 0 {
		return fmt.Errorf("bitmex: request limit %d must be > 0", n)
	}
	r := DefaultRateLimits()
	r[0].Limit = n
	if err := a.limiter.SetRules(r...); err != nil {
		return err
	}
	a.limit.Store(int64(n))
	return nil
}

// newHTTPClient builds the adapter's transport/httpc client: one
// connection pool, the adapter's limiter (paused on 429, corrected by the
// x-ratelimit-* headers), retries with backoff and BitMEX's error bodies.
func (a *Adapter) newHTTPClient() (*httpc.Client, error) {
	opts := []httpc.Option{
		httpc.WithName(Name),
		httpc.WithLimiter(a.limiter),
		httpc.WithUsage(a.usage),
		httpc.WithErrorDecoder(func(status int, body []byte) (string, string) {
			if name, msg, ok := parseErrorBody(body); ok {
				return name, msg
			}
			return "", ""
		}),
		httpc.WithRetry(httpc.RetryPolicy{MaxAttempts: a.opt.retries, BaseDelay: a.opt.retryBase}),
		httpc.WithLogger(a.log),
		httpc.WithRedactParams("api-signature", "signature", "api-key"),
	}
	if a.cfg.HTTPClient != nil {
		opts = append(opts, httpc.WithHTTPClient(a.cfg.HTTPClient))
	}
	if a.cfg.UserAgent != "" {
		opts = append(opts, httpc.WithUserAgent(a.cfg.UserAgent))
	}
	return httpc.New(a.restURL, opts...)
}

// usage feeds BitMEX's rate-limit headers back to the limiter: the
// announced limit replaces the local one (unless overridden by
// venues.Config.WeightLimit; authenticated clients get 120), and
// limit − remaining is the server's count of requests in the window.
func (a *Adapter) usage(h http.Header, observe func(rule string, used int)) {
	lim, err1 := strconv.Atoi(strings.TrimSpace(h.Get(hdrLimit)))
	rem, err2 := strconv.Atoi(strings.TrimSpace(h.Get(hdrRemaining)))
	if err1 != nil || err2 != nil || lim <= 0 {
		return
	}
	if a.cfg.WeightLimit == 0 && int64(lim) != a.limit.Load() {
		if err := a.setLimit(lim); err != nil {
			a.log.Warn("bitmex: announced request limit rejected", "limit", lim, "err", err)
		} else {
			a.log.Debug("bitmex: request limit announced by the venue", "limit", lim)
		}
	}
	if used := lim - rem; used > 0 {
		observe(ruleRequests, min(used, int(a.limit.Load())))
	}
}

// get performs a GET with rate limiting, retries and error decoding.
// Venue errors come back as *APIError (errors.Is the sentinels; errors.As
// also finds the *httpc.HTTPError). A 403 (ban) pauses every request of
// the adapter.
func (a *Adapter) get(ctx context.Context, path string, q url.Values) ([]byte, error) {
	resp, err := a.rest.Get(ctx, path, q, requestCost)
	if err == nil {
		return resp.Body, nil
	}
	var he *httpc.HTTPError
	if !errors.As(err, &he) {
		return nil, fmt.Errorf("bitmex: GET %s: %w", path, err)
	}
	e := &APIError{Status: he.Status, Name: he.VenueCode, Msg: he.VenueMsg, Endpoint: "GET " + path, Params: q.Encode(),
		RetryAfter: he.RetryAfter, http: he}
	if e.Msg == "" {
		e.Msg = strings.TrimSpace(stripHTML(he.Body))
		if len(e.Msg) > 200 {
			e.Msg = e.Msg[:200] + "…"
		}
		if strings.HasPrefix(e.Msg, strconv.Itoa(he.Status)+" "+http.StatusText(he.Status)) {
			e.Msg = "" // an HTML error page repeating the status
		}
	}
	if he.Status == http.StatusForbidden {
		pause := a.opt.banPause
		if he.RetryAfter > 0 {
			pause = he.RetryAfter
		}
		a.limiter.PauseUntil(a.limiterNow().Add(pause))
		a.log.Error("bitmex: HTTP 403 — the IP is banned or blocked; pausing every request", "pause", pause, "endpoint", e.Endpoint)
		e.RetryAfter = pause
	}
	return nil, e
}

// stripHTML reduces an HTML error page (nginx "403 Forbidden") to its text.
func stripHTML(s string) string {
	if !strings.Contains(s, "<") {
		return s
	}
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
		case r == '>':
			in = false
			b.WriteByte(' ')
		case !in:
			b.WriteRune(r)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}
