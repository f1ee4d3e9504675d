package httpc

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

var (
	// ErrRateLimited matches (errors.Is) an [*HTTPError] with status 429.
	ErrRateLimited = errors.New("httpc: rate limited (HTTP 429)")
	// ErrBanned matches (errors.Is) an [*HTTPError] with status 418: the
	// venue banned this IP for ignoring 429s.
	ErrBanned = errors.New("httpc: IP banned (HTTP 418)")
	// ErrResponseTooLarge is wrapped by the error for a body over the limit.
	ErrResponseTooLarge = errors.New("httpc: response body too large")
	// ErrNoSigner is wrapped by the error for a signed request on a client
	// without a [Signer].
	ErrNoSigner = errors.New("httpc: request must be signed but the client has no Signer")
)

// MaxErrorBody is how much of a response body an [*HTTPError] keeps.
const MaxErrorBody = 512

// HTTPError is a response with a non-2xx status.
type HTTPError struct {
	Venue      string        // the client's name (WithName), may be empty
	Status     int           // HTTP status code
	Method     string        // request method
	URL        string        // request URL without secrets
	Body       string        // the first MaxErrorBody bytes of the body
	VenueCode  string        // the venue's error code, from the ErrorDecoder
	VenueMsg   string        // the venue's error message, from the ErrorDecoder
	RetryAfter time.Duration // from the Retry-After header, 0 if absent
	Header     http.Header   // response headers
	Attempts   int           // attempts made by Do
}

func (e *HTTPError) Error() string {
	var b strings.Builder
	b.WriteString("httpc: ")
	if e.Venue != "" {
		b.WriteString(e.Venue)
		b.WriteByte(' ')
	}
	fmt.Fprintf(&b, "%s %s: HTTP %d %s", e.Method, e.URL, e.Status, http.StatusText(e.Status))
	switch {
	case e.VenueCode != "" || e.VenueMsg != "":
		fmt.Fprintf(&b, ": venue code %s: %s", e.VenueCode, e.VenueMsg)
	case e.Body != "":
		fmt.Fprintf(&b, ": %q", e.Body)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %v)", e.RetryAfter)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrRateLimited) and errors.Is(err, ErrBanned)
// work.
func (e *HTTPError) Is(target error) bool {
	switch target {
	case ErrRateLimited:
		return e.Status == http.StatusTooManyRequests
	case ErrBanned:
		return e.Status == http.StatusTeapot
	}
	return false
}

// SoftError is a venue error reported inside a 2xx body, as returned by a
// [Classifier]. The client fills in Venue, Method, URL, Status and Attempts.
type SoftError struct {
	Code      string // the venue's code, e.g. Bybit retCode "10006"
	Msg       string // the venue's message
	Retryable bool   // transient (busy, rate limited): Do retries it
	// RetryAfter, when > 0, pauses the venue's limiter and delays the retry
	// (for soft rate-limit errors).
	RetryAfter time.Duration

	Venue    string
	Method   string
	URL      string
	Status   int
	Attempts int
}

func (e *SoftError) Error() string {
	var b strings.Builder
	b.WriteString("httpc: ")
	if e.Venue != "" {
		b.WriteString(e.Venue)
		b.WriteByte(' ')
	}
	if e.Method != "" {
		fmt.Fprintf(&b, "%s %s: ", e.Method, e.URL)
	}
	fmt.Fprintf(&b, "venue error %s: %s", e.Code, e.Msg)
	if e.Retryable {
		b.WriteString(" (retryable")
		if e.Attempts > 1 {
			fmt.Fprintf(&b, ", after %d attempts", e.Attempts)
		}
		b.WriteString(")")
	}
	return b.String()
}

// DecodeError is a 2xx body that did not decode into the expected type.
type DecodeError struct {
	Method string
	URL    string
	Body   string // the first MaxErrorBody bytes of the body
	Err    error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("httpc: %s %s: decoding response: %v; body starts %q", e.Method, e.URL, e.Err, e.Body)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// RequestError is a request that failed without an HTTP status: a network
// error, a timeout, a truncated body, a body over the size limit, a signing
// failure.
type RequestError struct {
	Venue    string
	Method   string
	URL      string // without secrets
	Attempts int
	Err      error // secrets stripped from any URL it carries
}

func (e *RequestError) Error() string {
	var b strings.Builder
	b.WriteString("httpc: ")
	if e.Venue != "" {
		b.WriteString(e.Venue)
		b.WriteByte(' ')
	}
	fmt.Fprintf(&b, "%s %s: %v", e.Method, e.URL, e.Err)
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	return b.String()
}

func (e *RequestError) Unwrap() error { return e.Err }

func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "…"
}
