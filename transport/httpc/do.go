package httpc

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pype-go/pype/transport/ratelimit"
)

// Request is one logical request; Do may send it several times.
type Request struct {
	Method string     // GET when empty
	Path   string     // joined to the base URL; may carry a query; an absolute URL is used as is
	Query  url.Values // appended to the path's query
	Body   []byte     // nil for none; never modified
	// Header is added to the client's headers. Without a Content-Type, a
	// body starting with '{' or '[' is sent as application/json, any
	// other body as application/x-www-form-urlencoded.
	Header http.Header
	Cost   ratelimit.Cost // charged on the limiter before every attempt
	Signed bool           // sign every attempt with the client's Signer
	// Idempotent allows retrying a POST or PATCH after failures where the
	// venue may have acted (timeouts, resets, 5xx). GET, HEAD, OPTIONS, PUT
	// and DELETE are always treated as idempotent.
	Idempotent bool
	Timeout    time.Duration // per-attempt timeout; 0 = the client's
}

func (r *Request) method() string {
	if r.Method == "" {
		return http.MethodGet
	}
	return strings.ToUpper(r.Method)
}

func (r *Request) idempotent() bool {
	switch r.method() {
	case http.MethodPost, http.MethodPatch:
		return r.Idempotent
	}
	return true
}

// Response is a successful (2xx, no soft error) response with its whole
// body.
type Response struct {
	Status   int
	Header   http.Header
	Body     []byte
	URL      string // the request URL without secrets
	Method   string
	Attempts int // 1 when the first attempt succeeded
}

// Get sends a GET request.
func (c *Client) Get(ctx context.Context, path string, query url.Values, cost ratelimit.Cost) (*Response, error) {
	return c.Do(ctx, &Request{Method: http.MethodGet, Path: path, Query: query, Cost: cost})
}

// Post sends a POST request (not retried on ambiguous failures; see
// Request.Idempotent).
func (c *Client) Post(ctx context.Context, path string, query url.Values, body []byte, cost ratelimit.Cost) (*Response, error) {
	return c.Do(ctx, &Request{Method: http.MethodPost, Path: path, Query: query, Body: body, Cost: cost})
}

// Put sends a PUT request.
func (c *Client) Put(ctx context.Context, path string, query url.Values, body []byte, cost ratelimit.Cost) (*Response, error) {
	return c.Do(ctx, &Request{Method: http.MethodPut, Path: path, Query: query, Body: body, Cost: cost})
}

// Delete sends a DELETE request.
func (c *Client) Delete(ctx context.Context, path string, query url.Values, cost ratelimit.Cost) (*Response, error) {
	return c.Do(ctx, &Request{Method: http.MethodDelete, Path: path, Query: query, Cost: cost})
}

// outcome of one attempt.
type outcome struct {
	resp  *Response
	err   error
	retry bool          // worth another attempt
	wait  time.Duration // the server asked for this wait (Retry-After, soft pause)
	has   bool          // wait was given by the server
}

// Do sends req, retrying as described in the package documentation, and
// returns the response of a 2xx status with no soft error. Errors are an
// [*HTTPError] (non-2xx), a [*SoftError] (venue error in a 2xx body),
// a [*RequestError] (no usable response), a [*ratelimit.CostError] from the
// limiter, or the context's error (wrapped with the last failure).
func (c *Client) Do(ctx context.Context, req *Request) (*Response, error) {
	c.stats.requests.Add(1)
	method := req.method()
	u, err := c.resolve(req)
	if err != nil {
		return nil, err
	}
	safeURL := c.redactor().url(u)
	policy := c.retry.withDefaults()
	log := c.logger()

	for attempt := 1; ; attempt++ {
		if c.limiter != nil {
			if err := c.limiter.Wait(ctx, req.Cost); err != nil {
				return nil, c.fail(ctx, method, safeURL, attempt-1, fmt.Errorf("rate limiter: %w", err), nil)
			}
		}
		if attempt > 1 {
			c.stats.retries.Add(1)
		}
		o := c.attempt(ctx, req, method, u, safeURL, attempt)
		if o.err == nil {
			return o.resp, nil
		}
		if ctx.Err() != nil {
			return nil, c.fail(ctx, method, safeURL, attempt, o.err, nil)
		}
		if !o.retry || attempt >= policy.MaxAttempts {
			return nil, o.err
		}
		delay := o.wait
		if !o.has {
			delay = c.jitter(policy.ceiling(attempt))
		}
		if delay > policy.MaxRetryAfter {
			return nil, o.err
		}
		log.Debug("httpc: retrying", "venue", c.name, "method", method, "url", safeURL,
			"attempt", attempt, "delay", delay, "err", o.err.Error())
		if err := c.wait(ctx, delay); err != nil {
			return nil, c.fail(ctx, method, safeURL, attempt, o.err, err)
		}
	}
}

// fail wraps the error that ends a request. When ctx has ended the result
// matches ctx's error and keeps the last failure in its message.
func (c *Client) fail(ctx context.Context, method, safeURL string, attempts int, last, waitErr error) error {
	if cerr := ctx.Err(); cerr != nil || waitErr != nil {
		if cerr == nil {
			cerr = waitErr
		}
		if last == nil || errors.Is(last, cerr) {
			return &RequestError{Venue: c.name, Method: method, URL: safeURL, Attempts: attempts, Err: cerr}
		}
		return &RequestError{Venue: c.name, Method: method, URL: safeURL, Attempts: attempts,
			Err: fmt.Errorf("%w (last failure: %v)", cerr, last)}
	}
	var re *RequestError
	if errors.As(last, &re) {
		return last
	}
	return &RequestError{Venue: c.name, Method: method, URL: safeURL, Attempts: attempts, Err: last}
}

// resolve builds the request URL without the attempt's query.
func (c *Client) resolve(req *Request) (*url.URL, error) {
	raw := req.Path
	if !strings.HasPrefix(raw, "http://") && !strings.HasPrefix(raw, "https://") {
		if c.base == "" {
			return nil, fmt.Errorf("httpc: path %q: the client has no base URL, give an absolute http(s) URL", req.Path)
		}
		raw = c.base + "/" + strings.TrimLeft(raw, "/")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("httpc: path %q: %w", req.Path, err)
	}
	if len(req.Query) > 0 {
		q := req.Query.Encode()
		if u.RawQuery != "" {
			q = u.RawQuery + "&" + q
		}
		u.RawQuery = q
	}
	return u, nil
}

func (c *Client) attempt(ctx context.Context, req *Request, method string, base *url.URL, safeURL string, n int) outcome {
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = c.attemptTimeout
	}
	if timeout <= 0 {
		timeout = DefaultAttemptTimeout
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	u := *base
	header := make(http.Header, len(c.header)+len(req.Header)+2)
	for k, v := range c.header {
		header[k] = append([]string(nil), v...)
	}
	for k, v := range req.Header {
		header[k] = append([]string(nil), v...)
	}
	if header.Get("User-Agent") == "" {
		header.Set("User-Agent", c.ua())
	}
	body := req.Body
	if len(body) > 0 && header.Get("Content-Type") == "" {
		if b := bytes.TrimSpace(body); len(b) > 0 && (b[0] == '{' || b[0] == '[') {
			header.Set("Content-Type", "application/json")
		} else {
			header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	requestErr := func(err error) *RequestError {
		return &RequestError{Venue: c.name, Method: method, URL: safeURL, Attempts: n, Err: err}
	}
	if req.Signed {

		if c.signer == nil {
			return outcome{err: requestErr(ErrNoSigner)}
		}
		st := &SignTarget{Method: method, URL: &u, Body: body, Header: header, Time: c.clock()}
		if err := c.signer.Sign(actx, st); err != nil {
			return outcome{err: requestErr(fmt.Errorf("signing: %w", err))}
		}
		body = st.Body
		safeURL = c.redactor().url(&u)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	hreq, err := http.NewRequestWithContext(actx, method, u.String(), rd)
	if err != nil {
		return outcome{err: requestErr(c.redactor().err(err))}
	}
	hreq.Header = header

	c.stats.attempts.Add(1)
	hres, err := c.httpClient().Do(hreq)
	if err != nil {
		err = c.transportErr(ctx, actx, timeout, err)
		retry := retryableTransport(err) && (req.idempotent() || isDialError(err))
		return outcome{err: requestErr(err), retry: retry}
	}
	defer hres.Body.Close()
	now := c.clock()
	c.observe(hres.Header, now)

	data, err := c.readBody(hres)
	c.stats.bytes.Add(int64(len(data)))
	if err != nil {
		if errors.Is(err, ErrResponseTooLarge) {
			return outcome{err: requestErr(err)}
		}
		err = c.transportErr(ctx, actx, timeout, fmt.Errorf("reading body of HTTP %d: %w", hres.StatusCode, err))
		return outcome{err: requestErr(err), retry: req.idempotent()}
	}

	status := hres.StatusCode
	if status >= 200 && status < 300 {
		if c.classify != nil {
			if err := c.classify(status, hres.Header, data); err != nil {
				return c.softError(err, method, safeURL, status, n, now)
			}
		}
		return outcome{resp: &Response{Status: status, Header: hres.Header, Body: data,
			URL: safeURL, Method: method, Attempts: n}}
	}

	he := &HTTPError{Venue: c.name, Status: status, Method: method, URL: safeURL,
		Body: truncate(data, MaxErrorBody), Header: hres.Header, Attempts: n}
	if c.decodeErr != nil {
		he.VenueCode, he.VenueMsg = c.decodeErr(status, data)
	}
	ra, hasRA := parseRetryAfter(hres.Header.Get("Retry-After"), now)
	he.RetryAfter = ra
	log := c.logger()
	policy := c.retry.withDefaults()

	switch {
	case status == http.StatusTooManyRequests:
		c.stats.status429.Add(1)
		wait := ra
		if !hasRA {
			wait = policy.ceiling(n)
		}
		if c.limiter != nil {
			c.limiter.PauseUntil(now.Add(wait))
		}
		log.Warn("httpc: rate limited (HTTP 429), pausing the venue", "venue", c.name, "method", method,
			"url", safeURL, "pause", wait, "venue_code", he.VenueCode, "attempt", n)
		return outcome{err: he, retry: true, wait: wait, has: true}
	case status == http.StatusTeapot:
		c.stats.status418.Add(1)
		wait := ra
		if !hasRA {
			wait = policy.BanPause
		}
		if c.limiter != nil {
			c.limiter.PauseUntil(now.Add(wait))
		}
		log.Error("httpc: IP BANNED by the venue (HTTP 418) after ignoring rate limits; all requests paused",
			"venue", c.name, "method", method, "url", safeURL, "until", now.Add(wait),
			"venue_code", he.VenueCode, "venue_msg", he.VenueMsg)
		return outcome{err: he}
	case status >= 500:
		return outcome{err: he, retry: req.idempotent(), wait: ra, has: hasRA}
	}
	return outcome{err: he}
}

func (c *Client) softError(err error, method, safeURL string, status, n int, now time.Time) outcome {
	c.stats.soft.Add(1)
	var se *SoftError
	if !errors.As(err, &se) {
		return outcome{err: &RequestError{Venue: c.name, Method: method, URL: safeURL, Attempts: n,
			Err: fmt.Errorf("venue error in HTTP %d body: %w", status, err)}}
	}
	se.Venue, se.Method, se.URL, se.Status, se.Attempts = c.name, method, safeURL, status, n
	o := outcome{err: err, retry: se.Retryable}
	if se.Retryable && se.RetryAfter > 0 {
		o.wait, o.has = se.RetryAfter, true
		if c.limiter != nil {
			c.limiter.PauseUntil(now.Add(se.RetryAfter))
		}
	}
	return o
}

// transportErr strips secrets from a transport error and names a timeout of
// the attempt (as opposed to the caller's context).
func (c *Client) transportErr(ctx, actx context.Context, timeout time.Duration, err error) error {
	err = c.redactor().err(err)
	if ctx.Err() == nil && actx.Err() != nil {
		return fmt.Errorf("attempt timed out after %v: %w", timeout, err)
	}
	return err
}

func retryableTransport(err error) bool {
	var (
		uae  x509.UnknownAuthorityError
		hne  x509.HostnameError
		cie  x509.CertificateInvalidError
		cver *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &uae), errors.As(err, &hne), errors.As(err, &cie), errors.As(err, &cver):
		return false
	case errors.Is(err, ErrResponseTooLarge):
		return false
	}
	return true
}

func (c *Client) readBody(r *http.Response) ([]byte, error) {
	limit := c.maxBody()
	if r.ContentLength > limit {
		return nil, fmt.Errorf("%w: Content-Length %d exceeds the limit of %d bytes (WithMaxResponseBytes)",
			ErrResponseTooLarge, r.ContentLength, limit)
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	_, err := buf.ReadFrom(io.LimitReader(r.Body, limit+1))
	if int64(buf.Len()) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes (WithMaxResponseBytes)", ErrResponseTooLarge, limit)
	}
	return buf.Bytes(), err
}

func (c *Client) observe(h http.Header, now time.Time) {
	if c.limiter == nil {
		return
	}
	for _, hr := range c.usageHeaders {
		if v := h.Get(hr[0]); v != "" {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				c.limiter.Observe(hr[1], n, now)
			}
		}
	}
	if c.usage != nil {
		c.usage(h, func(rule string, used int) { c.limiter.Observe(rule, used, now) })
	}
}
