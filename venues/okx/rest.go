package okx

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/pype-go/pype/transport/httpc"
	"github.com/pype-go/pype/transport/ratelimit"
)

// endpoint is one REST endpoint with its own rate limit (OKX limits each
// public endpoint separately, per IP).
type endpoint struct {
	Path  string
	Limit int           // requests per Per
	Per   time.Duration // window
}

func (e endpoint) String() string { return http.MethodGet + " " + e.Path }

// The public endpoints the adapter uses, with OKX's published limits.
var (
	epHistoryCandles = endpoint{"/api/v5/market/history-candles", 20, 2 * time.Second}
	epCandles        = endpoint{"/api/v5/market/candles", 40, 2 * time.Second}
	epHistoryTrades  = endpoint{"/api/v5/market/history-trades", 20, 2 * time.Second}
	epTrades         = endpoint{"/api/v5/market/trades", 100, 2 * time.Second}
	epBooks          = endpoint{"/api/v5/market/books", 40, 2 * time.Second}
	epBooksFull      = endpoint{"/api/v5/market/books-full", 10, 2 * time.Second}
	epInstruments    = endpoint{"/api/v5/public/instruments", 20, 2 * time.Second}
	epTime           = endpoint{"/api/v5/public/time", 10, 2 * time.Second}
)

var allEndpoints = []endpoint{epHistoryCandles, epCandles, epHistoryTrades, epTrades, epBooks, epBooksFull, epInstruments, epTime}

// limitMargin is added to every limit's window. OKX counts requests when
// they arrive; requests granted exactly at the limit that reach the venue
// with uneven network delays would otherwise be counted in one window and
// refused. It costs 10 % of the throughput of a 2 s window.
const limitMargin = 200 * time.Millisecond

// DefaultRateLimits returns OKX's published per-endpoint IP limits as
// limiter rules, one per endpoint, named by the endpoint's path; each
// window is 200 ms longer than published, a margin for network jitter.
func DefaultRateLimits() []ratelimit.Rule {
	out := make([]ratelimit.Rule, len(allEndpoints))
	for i, e := range allEndpoints {
		out[i] = ratelimit.Rule{Name: e.Path, Limit: e.Limit, Interval: e.Per + limitMargin}
	}
	return out
}

// rules returns the limiter rules in force: the defaults, with
// venues.Config.WeightLimit (when set) replacing the limit of the two
// history endpoints backfills use.
func (a *Adapter) rules() []ratelimit.Rule {
	rs := DefaultRateLimits()
	if a.cfg.WeightLimit > 0 {
		for i := range rs {
			if rs[i].Name == epHistoryCandles.Path || rs[i].Name == epHistoryTrades.Path {
				rs[i].Limit = a.cfg.WeightLimit
			}
		}
	}
	return rs
}

// cost is the limiter cost of one request to e.
func (a *Adapter) cost(e endpoint) ratelimit.Cost { return a.costs[e.Path] }

// newHTTPClient builds the adapter's transport/httpc client: one
// connection pool, the per-endpoint limiter, retries with backoff, OKX's
// error bodies and the classifier of errors inside HTTP 200 bodies.
func (a *Adapter) newHTTPClient() (*httpc.Client, error) {
	opts := []httpc.Option{
		httpc.WithName(Name),
		httpc.WithLimiter(a.limiter),
		httpc.WithErrorDecoder(decodeError),
		httpc.WithClassifier(classifyBody),
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

// errorFields reads code and msg from an OKX error body (any status).
func errorFields(body []byte) (code, msg string, ok bool) {
	s := newScanner("error", body)
	if s.Peek() != '{' {
		return "", "", false
	}
	for more := s.EnterObject(); more; more = s.MoreObject() {
		switch k := s.Key(); string(k) {
		case "code":
			code, ok = string(s.Scalar()), true
		case "msg":
			msg = string(s.Scalar())
		default:
			s.Skip()
		}
	}
	if s.Failed() {
		return "", "", false
	}
	return code, msg, ok
}

// decodeError is the httpc.ErrorDecoder for non-2xx answers:
// {"msg":"Too Many Requests","code":"50011"}, {"code":"51000",…}.
func decodeError(_ int, body []byte) (string, string) {
	code, msg, _ := errorFields(body)
	return code, msg
}

// successPrefix is how OKX starts a successful answer.
var successPrefix = []byte(`{"code":"0"`)

// classifyBody is the httpc.Classifier: an HTTP 200 body whose code is not
// "0" is a venue error — retryable for rate limits (50011, 50040) and
// transient failures (50001, 50004, 50013, 50026), fatal otherwise
// (51001 unknown instrument, 51000 bad parameter, …). It is never an
// empty page.
func classifyBody(status int, _ http.Header, body []byte) error {
	if bytes.HasPrefix(body, successPrefix) {
		return nil
	}
	code, msg, ok := errorFields(body)
	if !ok || code == "0" {
		return nil // not an envelope with an error code; the parser decides
	}
	return &httpc.SoftError{Code: code, Msg: msg, Retryable: retryable(status, code)}
}

// get performs a GET with rate limiting, retries and error decoding. Venue
// errors come back as *APIError (errors.Is the sentinels; errors.As also
// finds the *httpc.HTTPError or *httpc.SoftError).
func (a *Adapter) get(ctx context.Context, ep endpoint, q url.Values) ([]byte, error) {
	resp, err := a.rest.Get(ctx, ep.Path, q, a.cost(ep))
	if err != nil {
		return nil, apiError(ep, q.Encode(), err)
	}
	return resp.Body, nil
}
