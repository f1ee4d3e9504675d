package bybit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pype-go/pype/transport/httpc"
	"github.com/pype-go/pype/transport/ratelimit"
)

// The public endpoints the adapter uses.
const (
	epTime        = "/v5/market/time"
	epInstruments = "/v5/market/instruments-info"
	epKline       = "/v5/market/kline"
	epRecentTrade = "/v5/market/recent-trade"
	epOrderbook   = "/v5/market/orderbook"
)

// requestCost is what one REST request costs: one request of the IP rule.
var requestCost = ratelimit.Cost{{Rule: ruleIP, N: 1}}

// newHTTPClient builds the adapter's transport/httpc client: one
// connection pool, the adapter's limiter (paused on 429, 403 and soft rate
// limits), retries with backoff, and Bybit's soft errors classified.
func (a *Adapter) newHTTPClient() (*httpc.Client, error) {
	opts := []httpc.Option{
		httpc.WithName(Name),
		httpc.WithLimiter(a.limiter),
		httpc.WithUsage(a.usage),
		httpc.WithClassifier(a.classify),
		httpc.WithErrorDecoder(decodeErrorBody),
		httpc.WithRetry(httpc.RetryPolicy{MaxAttempts: a.opt.retries, BaseDelay: a.opt.retryBase, MaxRetryAfter: time.Minute}),
		httpc.WithLogger(a.log),
		httpc.WithRedactParams("sign", "api_key", "X-BAPI-SIGN"),
	}
	if a.cfg.HTTPClient != nil {
		opts = append(opts, httpc.WithHTTPClient(a.cfg.HTTPClient))
	}
	if a.cfg.UserAgent != "" {
		opts = append(opts, httpc.WithUserAgent(a.cfg.UserAgent))
	}
	return httpc.New(a.restURL, opts...)
}

// okPrefix is how every successful Bybit body starts.
var okPrefix = []byte(`{"retCode":0,`)

// classify is the httpc soft-error hook: a 2xx body whose retCode is not 0
// is an error — retried when transient (10000, 10006, 10016, 10018,
// 10429), surfaced otherwise — and never an empty page. A rate-limit
// retCode waits until X-Bapi-Limit-Reset-Timestamp (pausing every request
// of the adapter).
func (a *Adapter) classify(_ int, h http.Header, body []byte) error {
	if bytes.HasPrefix(body, okPrefix) {
		return nil
	}
	env, ok, err := parseEnvelope(body)
	if err != nil {
		// A 200 that is not JSON (a proxy page, a cut body): try again.
		msg := strings.TrimSpace(string(body))
		if len(msg) > 120 {
			msg = msg[:120] + "…"
		}
		return &httpc.SoftError{Msg: "response is not a Bybit JSON envelope: " + msg, Retryable: true}
	}
	if !ok || env.RetCode == 0 {
		return nil
	}
	code := int(env.RetCode)
	se := &httpc.SoftError{Code: strconv.Itoa(code), Msg: env.RetMsg, Retryable: retryable(code)}
	if code == codeTooManyVisits || code == codeIPRateLimit {
		se.RetryAfter = a.resetWait(h)
	}
	return se
}

// resetWait is how long until X-Bapi-Limit-Reset-Timestamp (ms, venue
// clock), at least 100 ms and at most a minute; 1 s without the header.
func (a *Adapter) resetWait(h http.Header) time.Duration {
	v := h.Get("X-Bapi-Limit-Reset-Timestamp")
	ms, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || ms <= 0 {
		return time.Second
	}
	d := time.Duration(ms*int64(time.Millisecond) - a.serverNow())
	return min(max(d, 100*time.Millisecond), time.Minute)
}

// decodeErrorBody reads retCode/retMsg from a non-2xx body when it is a
// Bybit envelope.
func decodeErrorBody(_ int, body []byte) (string, string) {
	var e struct {
		RetCode *flexInt `json:"retCode"`
		RetMsg  string   `json:"retMsg"`
	}
	if json.Unmarshal(body, &e) != nil || e.RetCode == nil {
		return "", ""
	}
	return strconv.FormatInt(int64(*e.RetCode), 10), e.RetMsg
}

// usage feeds X-Bapi-Limit / X-Bapi-Limit-Status back to the limiter when
// they describe the IP limit (limit 600, or the configured one): used =
// limit − status. Bybit also sends them for per-UID endpoint limits of
// private endpoints, which have other limits and are ignored here.
func (a *Adapter) usage(h http.Header, observe func(rule string, used int)) {
	lim, err1 := strconv.Atoi(strings.TrimSpace(h.Get("X-Bapi-Limit")))
	left, err2 := strconv.Atoi(strings.TrimSpace(h.Get("X-Bapi-Limit-Status")))
	if err1 != nil || err2 != nil || lim <= 0 || left < 0 || left > lim {
		return
	}
	if lim != IPLimit && lim != a.ipLimit {
		return
	}
	observe(ruleIP, lim-left)
}

// get performs a GET with rate limiting, retries and error decoding.
// Venue errors come back as *APIError.
func (a *Adapter) get(ctx context.Context, path string, q url.Values) ([]byte, error) {
	resp, err := a.rest.Get(ctx, path, q, requestCost)
	if err == nil {
		return resp.Body, nil
	}
	err = toAPIError(err, "GET "+path, q.Encode())
	if errors.Is(err, ErrIPBanned) {
		until := a.limiterNow().Add(IPBanPause)
		a.limiter.PauseUntil(until)
		a.log.Error("bybit: IP rate limit breached (HTTP 403 access too frequent); all requests paused", "until", until)
	}
	return nil, err
}
