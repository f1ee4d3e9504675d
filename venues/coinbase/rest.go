package coinbase

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/pype-go/pype/transport/httpc"
	"github.com/pype-go/pype/transport/ratelimit"
)

// endpoint is one public REST endpoint; {id} is replaced by the product id.
type endpoint struct {
	Method string
	Path   string
}

func (e endpoint) String() string { return e.Method + " " + e.Path }

// The public endpoints the adapter uses. Every public request costs one
// unit of the per-IP limit.
var (
	epProducts = endpoint{http.MethodGet, "/products"}
	epProduct  = endpoint{http.MethodGet, "/products/{id}"}
	epCandles  = endpoint{http.MethodGet, "/products/{id}/candles"}
	epTrades   = endpoint{http.MethodGet, "/products/{id}/trades"}
	epBook     = endpoint{http.MethodGet, "/products/{id}/book"}
	epTime     = endpoint{http.MethodGet, "/time"}
)

// newHTTPClient builds the adapter's transport/httpc client: one
// connection pool, the adapter's limiter (paused on 429), retries with
// backoff, Coinbase's {"message":...} error bodies, and a classifier that
// refuses to read an error object in a 200 body as data.
func (a *Adapter) newHTTPClient() (*httpc.Client, error) {
	opts := []httpc.Option{
		httpc.WithName(Name),
		httpc.WithLimiter(a.limiter),
		httpc.WithErrorDecoder(func(status int, body []byte) (string, string) {
			if msg, ok := parseErrorBody(body); ok {
				return "", msg
			}
			return "", ""
		}),
		httpc.WithClassifier(classifySoft),
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

// classifySoft flags a 2xx body that is only an error object
// ({"message":"..."}): data endpoints answer arrays or objects with data
// keys, never a bare message. Such a body is an error, never an empty page;
// rate-limit and "try again" messages are retried.
func classifySoft(status int, _ http.Header, body []byte) error {
	b := bytes.TrimSpace(body)
	if len(b) == 0 || b[0] != '{' || !bytes.Contains(b, []byte(`"message"`)) {
		return nil
	}
	s := newScanner("error", b)
	msg, other := "", false
	for more := s.EnterObject(); more; more = s.MoreObject() {
		switch string(s.Key()) {
		case "message":
			if !s.Null() {
				msg = string(s.Str())
			}
		case "reason", "error", "type":
			s.Skip()
		default:
			other = true
			s.Skip()
		}
	}
	if s.Failed() || other || msg == "" {
		return nil
	}
	lower := strings.ToLower(msg)
	retry := strings.Contains(lower, "rate limit") || strings.Contains(lower, "try again") || strings.Contains(lower, "busy") || strings.Contains(lower, "unavailable")
	return &httpc.SoftError{Msg: msg, Retryable: retry}
}

var unitCost = ratelimit.Cost{{Rule: RulePublic, N: 1}}

// get performs a GET with rate limiting, retries and error decoding.
// product fills the path's {id}. Venue errors come back as *APIError.
func (a *Adapter) get(ctx context.Context, ep endpoint, product string, q url.Values) (*httpc.Response, error) {
	path := ep.Path
	if product != "" {
		path = strings.Replace(path, "{id}", url.PathEscape(product), 1)
	}
	resp, err := a.rest.Get(ctx, path, q, a.cost())
	if err == nil {
		return resp, nil
	}
	var he *httpc.HTTPError
	if errors.As(err, &he) {
		e := &APIError{Status: he.Status, Msg: he.VenueMsg, Endpoint: ep.String(), Product: product, Params: q.Encode(), RetryAfter: he.RetryAfter, http: he}
		if e.Msg == "" {
			e.Msg = strings.TrimSpace(he.Body)
			if len(e.Msg) > 200 {
				e.Msg = e.Msg[:200] + "…"
			}
		}
		return nil, e
	}
	var se *httpc.SoftError
	if errors.As(err, &se) {
		return nil, &APIError{Status: se.Status, Msg: se.Msg, Endpoint: ep.String(), Product: product, Params: q.Encode()}
	}
	where := ep.String()
	if product != "" {
		where = strings.Replace(where, "{id}", product, 1)
	}
	return nil, fmt.Errorf("coinbase: %s: %w", where, err)
}

// cost is the limiter cost of one public request under the rules in force.
func (a *Adapter) cost() ratelimit.Cost { return unitCost }
