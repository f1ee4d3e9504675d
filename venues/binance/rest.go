package binance

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pype-go/pype/transport/ratelimit"
)

// endpoint is one REST endpoint and its request weight.
type endpoint struct {
	Method string
	Path   string
	Weight int
}

func (e endpoint) String() string { return e.Method + " " + e.Path }

// The public endpoints the adapter uses.
var (
	epKlines           = endpoint{http.MethodGet, "/api/v3/klines", WeightKlines}
	epAggTrades        = endpoint{http.MethodGet, "/api/v3/aggTrades", WeightAggTrades}
	epHistoricalTrades = endpoint{http.MethodGet, "/api/v3/historicalTrades", WeightHistoricalTrades}
	epDepth            = endpoint{http.MethodGet, "/api/v3/depth", 0} // weight by limit
	epExchangeInfo     = endpoint{http.MethodGet, "/api/v3/exchangeInfo", WeightExchangeInfo}
	epTime             = endpoint{http.MethodGet, "/api/v3/time", WeightTime}
)

// costTable holds the limiter cost of each request weight under the rules
// in force: weight w costs w on every REQUEST_WEIGHT_* rule and 1 on every
// RAW_REQUESTS_* rule.
type costTable struct {
	rules  []ratelimit.Rule
	byWt   map[int]ratelimit.Cost
	weight []string // REQUEST_WEIGHT rule names
	raw    []string // RAW_REQUESTS rule names
}

func newCostTable(rules []ratelimit.Rule) *costTable {
	t := &costTable{rules: rules, byWt: map[int]ratelimit.Cost{}}
	for _, r := range rules {
		switch {
		case strings.HasPrefix(r.Name, limitRequestWeight+"_"):
			t.weight = append(t.weight, r.Name)
		case strings.HasPrefix(r.Name, limitRawRequests+"_"):
			t.raw = append(t.raw, r.Name)
		}
	}
	for _, w := range []int{1, 2, 4, 5, 20, 25, 50, 250} {
		t.byWt[w] = t.build(w)
	}
	return t
}

func (t *costTable) build(w int) ratelimit.Cost {
	c := make(ratelimit.Cost, 0, len(t.weight)+len(t.raw))
	for _, n := range t.weight {
		c = append(c, ratelimit.Weight{Rule: n, N: w})
	}
	for _, n := range t.raw {
		c = append(c, ratelimit.Weight{Rule: n, N: 1})
	}
	return c
}

func (t *costTable) cost(w int) ratelimit.Cost {
	if c, ok := t.byWt[w]; ok {
		return c
	}
	return t.build(w)
}

// setRules installs rate-limit rules (announced or default), applying the
// configured weight-limit override.
func (a *Adapter) setRules(rules []ratelimit.Rule) error {
	rules = append([]ratelimit.Rule(nil), rules...)
	if a.cfg.WeightLimit > 0 {
		for i := range rules {
			if strings.HasPrefix(rules[i].Name, limitRequestWeight+"_") {
				rules[i].Limit = a.cfg.WeightLimit
			}
		}
	}
	if err := a.limiter.SetRules(rules...); err != nil {
		return err
	}
	a.costs.Store(newCostTable(rules))
	return nil
}

// observeUsage feeds Binance's usage headers back to the limiter:
// X-MBX-USED-WEIGHT-1M → REQUEST_WEIGHT_1M (Go canonicalises the header
// to X-Mbx-Used-Weight-1m).
func (a *Adapter) observeUsage(h http.Header, at time.Time) {
	const prefix = "X-Mbx-Used-Weight-"
	for k, v := range h {
		if len(v) == 0 || len(k) <= len(prefix) || !strings.EqualFold(k[:len(prefix)], prefix) {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(v[0]))
		if err != nil {
			continue
		}
		a.limiter.Observe(limitRequestWeight+"_"+strings.ToUpper(k[len(prefix):]), n, at)
	}
}

// maxBody bounds a REST response (a 5000-level depth is ~300 kB, the full
// exchangeInfo ~20 MB).
const maxBody = 64 << 20

// get performs a GET with rate limiting, retries and error decoding.
func (a *Adapter) get(ctx context.Context, ep endpoint, q url.Values) ([]byte, error) {
	return a.getWeighted(ctx, ep, q, ep.Weight)
}

// getWeighted is get with an explicit weight (depth weighs by limit).
func (a *Adapter) getWeighted(ctx context.Context, ep endpoint, q url.Values, weight int) ([]byte, error) {
	u := a.restURL + ep.Path
	query := q.Encode()
	if query != "" {
		u += "?" + query
	}
	cost := a.costs.Load().cost(weight)
	attempts := max(a.opt.retries, 1)
	var lastErr error
	for attempt := 1; attempt <= attempts; attempt++ {
		if attempt > 1 {
			d := min(a.opt.retryBase<<(attempt-2), 30*time.Second)
			d = time.Duration(rand.Int64N(int64(d) + 1)) // full jitter
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, fmt.Errorf("binance: %s: %w (last error: %v)", ep, ctx.Err(), lastErr)
			case <-t.C:
			}
		}
		if err := a.limiter.Wait(ctx, cost); err != nil {
			return nil, fmt.Errorf("binance: %s: %w", ep, err)
		}
		body, retry, err := a.once(ctx, ep, u, query)
		if err == nil {
			return body, nil
		}
		if !retry || ctx.Err() != nil {
			return nil, err
		}
		lastErr = err
	}
	return nil, lastErr
}

func (a *Adapter) once(ctx context.Context, ep endpoint, u, query string) (body []byte, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, ep.Method, u, nil)
	if err != nil {
		return nil, false, fmt.Errorf("binance: %s: %w", ep, err)
	}
	if a.cfg.UserAgent != "" {
		req.Header.Set("User-Agent", a.cfg.UserAgent)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return nil, true, fmt.Errorf("binance: %s: %w", ep, err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
	now := time.Now()
	a.observeUsage(resp.Header, now)
	if err != nil {
		return nil, true, fmt.Errorf("binance: %s: read body: %w", ep, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return body, false, nil
	}
	apiErr := decodeAPIError(resp.StatusCode, body, ep.String(), query)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusTeapot:
		ra, ok := retryAfter(resp.Header.Get("Retry-After"), now)
		if !ok {
			// No Retry-After: Binance's weight window resets each minute.
			ra = now.Truncate(time.Minute).Add(time.Minute).Sub(now)
		}
		apiErr.RetryAfter = max(ra, 0)
		a.limiter.PauseUntil(now.Add(apiErr.RetryAfter))
		if resp.StatusCode == http.StatusTeapot {
			a.log.Error("binance: IP banned (HTTP 418)", "retry_after", apiErr.RetryAfter, "msg", apiErr.Msg)
			return nil, false, apiErr
		}
		a.log.Warn("binance: rate limited (HTTP 429); pausing all requests", "retry_after", apiErr.RetryAfter)
		return nil, true, apiErr
	case resp.StatusCode >= 500:
		return nil, true, apiErr
	}
	return nil, false, apiErr
}

// retryAfter reads Retry-After as seconds or an HTTP date; ok is false
// when the header is absent or unreadable.
func retryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return t.Sub(now), true
	}
	return 0, false
}
