package kraken

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pype-go/pype/transport/httpc"
	"github.com/pype-go/pype/transport/ratelimit"
)

// The public endpoints the adapter uses.
const (
	pathTime       = "/0/public/Time"
	pathAssetPairs = "/0/public/AssetPairs"
	pathOHLC       = "/0/public/OHLC"
	pathTrades     = "/0/public/Trades"
	pathDepth      = "/0/public/Depth"
)

// Limiter rule names. Costs name "PUBLIC" (the per-IP counter) or
// "PAIR:<altname>" (the per-IP-and-pair counter of Trades and OHLC).
const (
	RulePublic     = "PUBLIC"
	RulePairPrefix = "PAIR:"
	ruleCalls      = "CALLS" // the single rule of each sub-limiter
)

var callCost = ratelimit.Cost{{Rule: ruleCalls, N: 1}}

// RateLimiter enforces Kraken's public limits for one adapter: one call
// counter per IP for most endpoints and one per pair for Trades and OHLC,
// each at most Limit calls in any Interval. Pairs get their own
// ratelimit.Limiter on first use, so a wait on one pair never delays
// another. It implements httpc.Limiter; a pause (after "Too many
// requests") applies to every counter. Safe for concurrent use.
type RateLimiter struct {
	rule   ratelimit.Rule
	opts   []ratelimit.Option
	public *ratelimit.Limiter

	mu     sync.Mutex
	pairs  map[string]*ratelimit.Limiter
	paused time.Time
}

// NewRateLimiter returns a limiter allowing limit calls per interval on
// each counter.
func NewRateLimiter(limit int, interval time.Duration, opts ...ratelimit.Option) (*RateLimiter, error) {
	r := &RateLimiter{rule: ratelimit.Rule{Name: ruleCalls, Limit: limit, Interval: interval}, opts: opts, pairs: map[string]*ratelimit.Limiter{}}
	var err error
	if r.public, err = ratelimit.New([]ratelimit.Rule{r.rule}, opts...); err != nil {
		return nil, fmt.Errorf("kraken: rate limit %d per %v: %w", limit, interval, err)
	}
	return r, nil
}

// Rule returns the limit each counter enforces.
func (r *RateLimiter) Rule() ratelimit.Rule { return r.rule }

func (r *RateLimiter) limiter(rule string) (*ratelimit.Limiter, error) {
	if rule == RulePublic {
		return r.public, nil
	}
	pair, ok := strings.CutPrefix(rule, RulePairPrefix)
	if !ok || pair == "" {
		return nil, &ratelimit.CostError{Rule: rule, Reason: "unknown rule (accepted: PUBLIC or PAIR:<altname>)"}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.pairs[pair]
	if l == nil {
		var err error
		if l, err = ratelimit.New([]ratelimit.Rule{r.rule}, r.opts...); err != nil {
			return nil, err
		}
		if !r.paused.IsZero() {
			l.PauseUntil(r.paused)
		}
		r.pairs[pair] = l
	}
	return l, nil
}

// Wait blocks until every counter named by cost has room for one call.
func (r *RateLimiter) Wait(ctx context.Context, cost ratelimit.Cost) error {
	for _, w := range cost {
		l, err := r.limiter(w.Rule)
		if err != nil {
			return err
		}
		for range max(w.N, 1) {
			if err := l.Wait(ctx, callCost); err != nil {
				return err
			}
		}
	}
	return nil
}

// PauseUntil stops every counter until t.
func (r *RateLimiter) PauseUntil(t time.Time) {
	r.mu.Lock()
	if t.After(r.paused) {
		r.paused = t
	}
	pairs := make([]*ratelimit.Limiter, 0, len(r.pairs))
	for _, l := range r.pairs {
		pairs = append(pairs, l)
	}
	r.mu.Unlock()
	r.public.PauseUntil(t)
	for _, l := range pairs {
		l.PauseUntil(t)
	}
}

// Observe is a no-op: Kraken reports no usage counters.
func (r *RateLimiter) Observe(string, int, time.Time) {}

// Stats returns the statistics of every counter: "PUBLIC" and
// "PAIR:<altname>" for each pair used so far.
func (r *RateLimiter) Stats() map[string]ratelimit.Stats {
	out := map[string]ratelimit.Stats{RulePublic: r.public.Stats()}
	r.mu.Lock()
	defer r.mu.Unlock()
	for p, l := range r.pairs {
		out[RulePairPrefix+p] = l.Stats()
	}
	return out
}

// Pairs returns the pairs that have a counter, sorted.
func (r *RateLimiter) Pairs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.pairs))
	for p := range r.pairs {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func publicCost() ratelimit.Cost { return ratelimit.Cost{{Rule: RulePublic, N: 1}} }

func pairCost(altname string) ratelimit.Cost {
	return ratelimit.Cost{{Rule: RulePairPrefix + altname, N: 1}}
}

// newHTTPClient builds the adapter's transport/httpc client: one
// connection pool, the rate limiter, retries with backoff, and Kraken's
// error arrays classified inside HTTP 200 bodies (a soft error is retried
// or surfaced, never read as an empty page).
func (a *Adapter) newHTTPClient() (*httpc.Client, error) {
	pause := a.opt.ratePause
	opts := []httpc.Option{
		httpc.WithName(Name),
		httpc.WithLimiter(a.limiter),
		httpc.WithClassifier(func(status int, _ http.Header, body []byte) error {
			errs, ok := parseErrors(body)
			if !ok {
				return nil // not an envelope: the parser reports it
			}
			if se := softError(errs, pause); se != nil {
				return se
			}
			return nil
		}),
		httpc.WithErrorDecoder(func(status int, body []byte) (string, string) {
			if errs, ok := parseErrors(body); ok && len(errs) > 0 {
				return errs[0], strings.Join(errs, "; ")
			}
			return "", ""
		}),
		httpc.WithRetry(httpc.RetryPolicy{MaxAttempts: a.opt.retries, BaseDelay: a.opt.retryBase}),
		httpc.WithLogger(a.log),
	}
	if a.cfg.HTTPClient != nil {
		opts = append(opts, httpc.WithHTTPClient(a.cfg.HTTPClient))
	}
	if a.cfg.UserAgent != "" {
		opts = append(opts, httpc.WithUserAgent(a.cfg.UserAgent))
	}
	return httpc.New(a.restURL, opts...)
}

// get performs a GET with rate limiting, retries and error decoding. Venue
// errors come back as *APIError (errors.Is the sentinels; errors.As also
// finds the *httpc.SoftError or *httpc.HTTPError).
func (a *Adapter) get(ctx context.Context, path string, q url.Values, cost ratelimit.Cost) ([]byte, error) {
	resp, err := a.rest.Get(ctx, path, q, cost)
	if err == nil {
		return resp.Body, nil
	}
	ep := http.MethodGet + " " + path
	var se *httpc.SoftError
	if errors.As(err, &se) {
		e := &APIError{Status: se.Status, Errors: splitErrors(se.Msg), Endpoint: ep, Params: q.Encode(), Attempts: se.Attempts, cause: err}
		if se.Retryable {
			e.RetryAfter = se.RetryAfter
		}
		return nil, e
	}
	var he *httpc.HTTPError
	if errors.As(err, &he) {
		e := &APIError{Status: he.Status, Endpoint: ep, Params: q.Encode(), RetryAfter: he.RetryAfter, Attempts: he.Attempts, cause: err}
		if he.VenueMsg != "" {
			e.Errors = splitErrors(he.VenueMsg)
		} else if b := strings.TrimSpace(he.Body); b != "" && !strings.HasPrefix(b, "<") {
			e.Errors = []string{truncate(b, 200)}
		}
		return nil, e
	}
	return nil, fmt.Errorf("kraken: %s: %w", ep, err)
}

func splitErrors(msg string) []string {
	if msg == "" {
		return nil
	}
	return strings.Split(msg, "; ")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
