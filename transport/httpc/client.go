package httpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pype-go/pype/transport/ratelimit"
)

// Defaults.
const (
	DefaultMaxResponseBytes = 64 << 20
	DefaultAttemptTimeout   = 30 * time.Second
)

// Limiter is what the client needs from a venue's rate limiter;
// *ratelimit.Limiter implements it.
type Limiter interface {
	// Wait blocks until cost may be spent (or ctx ends).
	Wait(ctx context.Context, cost ratelimit.Cost) error
	// PauseUntil stops every request of the venue until t.
	PauseUntil(t time.Time)
	// Observe reports the venue's own usage count for a rule.
	Observe(rule string, used int, at time.Time)
}

// Signer signs one attempt of a request marked Signed. It is called once
// per attempt (so timestamps and nonces are fresh), may change the query,
// body and headers of t, and must not log or return the secret.
type Signer interface {
	Sign(ctx context.Context, t *SignTarget) error
}

// SignerFunc adapts a function to [Signer].
type SignerFunc func(ctx context.Context, t *SignTarget) error

// Sign calls f.
func (f SignerFunc) Sign(ctx context.Context, t *SignTarget) error { return f(ctx, t) }

// SignTarget is the attempt a [Signer] signs. URL.RawQuery is already
// encoded; a signer that must sign the exact query string appends to it
// (Binance: RawQuery += "&timestamp=...&signature=..."). Replace Body rather
// than modifying it in place.
type SignTarget struct {
	Method string
	URL    *url.URL
	Body   []byte
	Header http.Header
	Time   time.Time // the client's clock at this attempt
}

// ErrorDecoder extracts the venue's error code and message from the body of
// a non-2xx response (Binance {"code":-1121,"msg":"Invalid symbol."}). It
// returns empty strings when the body has no venue error.
type ErrorDecoder func(status int, body []byte) (code, msg string)

// Classifier inspects every 2xx response and returns a [*SoftError] (or any
// other error, treated as fatal) when the body reports a venue error, nil
// otherwise.
type Classifier func(status int, header http.Header, body []byte) error

// UsageFunc reports the venue's usage counters found in response headers by
// calling observe(rule, used) for each.
type UsageFunc func(header http.Header, observe func(rule string, used int))

// RetryPolicy bounds retries. Zero fields take the defaults shown.
type RetryPolicy struct {
	MaxAttempts int           // attempts in all, including the first (5); 1 disables retries
	BaseDelay   time.Duration // backoff ceiling of the first retry (500ms)
	MaxDelay    time.Duration // cap of the backoff ceiling (30s)
	// MaxRetryAfter is the longest Retry-After (or soft-error pause) that Do
	// sleeps through inside one call (5m); a longer one is returned as the
	// error at once, with the limiter still paused for the full time.
	MaxRetryAfter time.Duration
	// BanPause is how long the limiter pauses after a 418 without
	// Retry-After (2m, Binance's shortest ban).
	BanPause time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 5
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 500 * time.Millisecond
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 30 * time.Second
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = 5 * time.Minute
	}
	if p.BanPause <= 0 {
		p.BanPause = 2 * time.Minute
	}
	return p
}

// ceiling returns the backoff ceiling before retry number n (n >= 1).
func (p RetryPolicy) ceiling(n int) time.Duration {
	d := p.BaseDelay
	for i := 1; i < n && d < p.MaxDelay; i++ {
		d *= 2
	}
	return min(d, p.MaxDelay)
}

// Option configures a [Client].
type Option func(*Client)

// WithName names the venue in errors and logs.
func WithName(name string) Option { return func(c *Client) { c.name = name } }

// WithHTTPClient makes the client use hc (its transport and pool) instead
// of its own tuned pool. Close then leaves hc's connections alone.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.hc, c.ownHC = hc, false }
}

// WithLimiter makes every attempt wait on l for the request's Cost and
// connects 429/418 pauses and usage headers to it.
func WithLimiter(l Limiter) Option { return func(c *Client) { c.limiter = l } }

// WithSigner sets the venue's signer for requests marked Signed.
func WithSigner(s Signer) Option { return func(c *Client) { c.signer = s } }

// WithErrorDecoder sets the venue's decoder of non-2xx error bodies.
func WithErrorDecoder(d ErrorDecoder) Option { return func(c *Client) { c.decodeErr = d } }

// WithClassifier sets the venue's classifier of errors inside 2xx bodies.
func WithClassifier(f Classifier) Option { return func(c *Client) { c.classify = f } }

// WithUsageHeader maps an integer response header to a limiter rule:
// WithUsageHeader("X-MBX-USED-WEIGHT-1M", "REQUEST_WEIGHT") calls
// Observe("REQUEST_WEIGHT", n, now) on every response that carries it.
func WithUsageHeader(header, rule string) Option {
	return func(c *Client) { c.usageHeaders = append(c.usageHeaders, [2]string{header, rule}) }
}

// WithUsage sets a general usage hook, for venues whose headers need more
// than an integer-to-rule mapping. It runs after the WithUsageHeader ones.
func WithUsage(f UsageFunc) Option { return func(c *Client) { c.usage = f } }

// WithRetry sets the retry policy.
func WithRetry(p RetryPolicy) Option { return func(c *Client) { c.retry = p } }

// WithAttemptTimeout bounds one attempt: connecting, the headers and the
// whole body (default 30s). Request.Timeout overrides it per request.
func WithAttemptTimeout(d time.Duration) Option { return func(c *Client) { c.attemptTimeout = d } }

// WithMaxResponseBytes limits a response body after decompression
// (default 64 MiB).
func WithMaxResponseBytes(n int64) Option { return func(c *Client) { c.maxBytes = n } }

// WithUserAgent replaces the default User-Agent "pype/<version>".
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// WithHeader adds a header to every request.
func WithHeader(key, value string) Option {
	return func(c *Client) {
		if c.header == nil {
			c.header = http.Header{}
		}
		c.header.Add(key, value)
	}
}

// WithLogger sets the logger (default slog.Default()). Retries log at debug
// level, 429s at warn, 418s at error.
func WithLogger(l *slog.Logger) Option { return func(c *Client) { c.log = l } }

// WithRedactParams adds query parameter names to strip from URLs in errors
// and logs, beyond the defaults (signature, sign, apiKey, key, secret,
// passphrase, token, ...).
func WithRedactParams(names ...string) Option {
	return func(c *Client) { c.redactExtra = append(c.redactExtra, names...) }
}

// WithNow sets the clock used for Retry-After dates, pauses, usage
// observations and signing times (default time.Now).
func WithNow(now func() time.Time) Option { return func(c *Client) { c.now = now } }

// WithSleep sets how the client waits between attempts (default: a timer
// that returns ctx's error if ctx ends first).
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(c *Client) { c.sleep = sleep }
}

// WithRandom sets the jitter source, returning values in [0, 1) (default
// math/rand/v2.Float64).
func WithRandom(f func() float64) Option { return func(c *Client) { c.random = f } }

// Client sends requests to one venue. It is safe for concurrent use. Build
// it with [New]; the zero Client works too, with no base URL (requests then
// give absolute URLs) and all defaults.
type Client struct {
	name           string
	base           string // scheme://host[/prefix] without a trailing slash
	hc             *http.Client
	ownHC          bool
	hcOnce         sync.Once
	limiter        Limiter
	signer         Signer
	decodeErr      ErrorDecoder
	classify       Classifier
	usageHeaders   [][2]string
	usage          UsageFunc
	retry          RetryPolicy
	attemptTimeout time.Duration
	maxBytes       int64
	userAgent      string
	header         http.Header
	log            *slog.Logger
	redactExtra    []string
	redact         redactor
	redactOnce     sync.Once
	now            func() time.Time
	sleep          func(ctx context.Context, d time.Duration) error
	random         func() float64

	stats struct {
		requests, attempts, retries, status429, status418, soft, bytes atomic.Int64
	}
}

// New returns a client for the venue at baseURL (scheme, host and an
// optional path prefix, e.g. "https://www.bitmex.com/api/v1").
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("httpc: base URL %q: want http(s)://host[/path] without query or fragment", baseURL)
	}
	c := &Client{base: strings.TrimRight(baseURL, "/"), ownHC: true}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// BaseURL returns the base URL requests are resolved against.
func (c *Client) BaseURL() string { return c.base }

// Close closes the idle connections of the client's own pool.
func (c *Client) Close() {
	if c.ownHC && c.hc != nil {
		c.hc.CloseIdleConnections()
	}
}

// Stats is a snapshot of a client's counters.
type Stats struct {
	Requests    int64 // Do calls
	Attempts    int64 // HTTP exchanges started
	Retries     int64 // attempts after the first
	RateLimited int64 // HTTP 429 responses
	Banned      int64 // HTTP 418 responses
	SoftErrors  int64 // errors inside 2xx bodies
	Bytes       int64 // response body bytes read (after decompression)
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	return Stats{
		Requests:    c.stats.requests.Load(),
		Attempts:    c.stats.attempts.Load(),
		Retries:     c.stats.retries.Load(),
		RateLimited: c.stats.status429.Load(),
		Banned:      c.stats.status418.Load(),
		SoftErrors:  c.stats.soft.Load(),
		Bytes:       c.stats.bytes.Load(),
	}
}

// NewTransport returns the tuned transport a client uses by default: a
// clone of http.DefaultTransport (proxy from the environment, HTTP/2) with a
// pool sized for many concurrent requests to one host. Compression is left
// to the transport, which asks for gzip and decompresses transparently.
func NewTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 64
	t.IdleConnTimeout = 90 * time.Second
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ExpectContinueTimeout = time.Second
	t.ForceAttemptHTTP2 = true
	return t
}

func (c *Client) httpClient() *http.Client {
	c.hcOnce.Do(func() {
		if c.hc == nil {
			c.ownHC = true
			c.hc = &http.Client{
				Transport: NewTransport(),
				// Follow redirects only within the same host: signed
				// requests carry API keys in headers.
				CheckRedirect: func(req *http.Request, via []*http.Request) error {
					if len(via) >= 10 {
						return fmt.Errorf("stopped after %d redirects", len(via))
					}
					if req.URL.Host != via[0].URL.Host {
						return http.ErrUseLastResponse
					}
					return nil
				},
			}
		}
	})
	return c.hc
}

func (c *Client) redactor() redactor {
	c.redactOnce.Do(func() { c.redact = newRedactor(c.redactExtra) })
	return c.redact
}

func (c *Client) logger() *slog.Logger {
	if c.log != nil {
		return c.log
	}
	return slog.Default()
}

func (c *Client) clock() time.Time {
	if c.now != nil {
		return c.now()
	}
	return time.Now()
}

func (c *Client) wait(ctx context.Context, d time.Duration) error {
	if c.sleep != nil {
		return c.sleep(ctx, d)
	}
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Client) jitter(ceiling time.Duration) time.Duration {
	f := rand.Float64
	if c.random != nil {
		f = c.random
	}
	return time.Duration(f() * float64(ceiling))
}

func (c *Client) maxBody() int64 {
	if c.maxBytes > 0 {
		return c.maxBytes
	}
	return DefaultMaxResponseBytes
}

func (c *Client) ua() string {
	if c.userAgent != "" {
		return c.userAgent
	}
	return "pype/" + moduleVersion()
}

// moduleVersion returns pype's version from the build info ("dev" when
// unknown).
func moduleVersion() string {
	const path = "github.com/pype-go/pype"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	v := ""
	if bi.Main.Path == path {
		v = bi.Main.Version
	} else {
		for _, d := range bi.Deps {
			if d.Path == path {
				v = d.Version
			}
		}
	}
	if v == "" || v == "(devel)" {
		return "dev"
	}
	return v
}

// parseRetryAfter reads a Retry-After value: delay seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		if n > int64(365*24*time.Hour/time.Second) {
			n = int64(365 * 24 * time.Hour / time.Second)
		}
		return time.Duration(n) * time.Second, true
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f < 365*24*3600 {
		return time.Duration(f * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

func isDialError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}
