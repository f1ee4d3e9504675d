package binance

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

// newHTTPClient builds the adapter's transport/httpc client: one
// connection pool, the adapter's limiter (paused on 429/418, corrected by
// X-MBX-USED-WEIGHT-*), retries with backoff and Binance's error bodies.
func (a *Adapter) newHTTPClient() (*httpc.Client, error) {
	opts := []httpc.Option{
		httpc.WithName(Name),
		httpc.WithLimiter(a.limiter),
		httpc.WithUsage(usageHeaders),
		httpc.WithErrorDecoder(func(status int, body []byte) (string, string) {
			if code, msg, ok := parseErrorBody(body); ok {
				return strconv.Itoa(code), msg
			}
			return "", ""
		}),
		httpc.WithRetry(httpc.RetryPolicy{MaxAttempts: a.opt.retries, BaseDelay: a.opt.retryBase}),
		httpc.WithLogger(a.log),
		httpc.WithRedactParams("signature"),
	}
	if a.cfg.HTTPClient != nil {
		opts = append(opts, httpc.WithHTTPClient(a.cfg.HTTPClient))
	}
	if a.cfg.UserAgent != "" {
		opts = append(opts, httpc.WithUserAgent(a.cfg.UserAgent))
	}
	return httpc.New(a.restURL, opts...)
}

// usageHeaders feeds Binance's usage headers back to the limiter:
// X-MBX-USED-WEIGHT-1M → REQUEST_WEIGHT_1M (any interval suffix).
func usageHeaders(h http.Header, observe func(rule string, used int)) {
	const prefix = "X-Mbx-Used-Weight-" // canonical form of X-MBX-USED-WEIGHT-
	for k, v := range h {
		if len(v) == 0 || len(k) <= len(prefix) || !strings.EqualFold(k[:len(prefix)], prefix) {
			continue
		}
		if n, err := strconv.Atoi(strings.TrimSpace(v[0])); err == nil {
			observe(limitRequestWeight+"_"+strings.ToUpper(k[len(prefix):]), n)
		}
	}
}

// get performs a GET with rate limiting, retries and error decoding.
func (a *Adapter) get(ctx context.Context, ep endpoint, q url.Values) ([]byte, error) {
	return a.getWeighted(ctx, ep, q, ep.Weight)
}

// getWeighted is get with an explicit weight (depth weighs by limit).
// Venue errors come back as *APIError (errors.Is the sentinels, errors.As
// also finds the *httpc.HTTPError).
func (a *Adapter) getWeighted(ctx context.Context, ep endpoint, q url.Values, weight int) ([]byte, error) {
	resp, err := a.rest.Get(ctx, ep.Path, q, a.costs.Load().cost(weight))
	if err == nil {
		return resp.Body, nil
	}
	var he *httpc.HTTPError
	if errors.As(err, &he) {
		code, _ := strconv.Atoi(he.VenueCode)
		e := &APIError{Status: he.Status, Code: code, Msg: he.VenueMsg, Endpoint: ep.String(), Params: q.Encode(), RetryAfter: he.RetryAfter, http: he}
		if e.Msg == "" && code == 0 {
			e.Msg = strings.TrimSpace(he.Body)
			if len(e.Msg) > 200 {
				e.Msg = e.Msg[:200] + "…"
			}
		}
		return nil, e
	}
	return nil, fmt.Errorf("binance: %s: %w", ep, err)
}
