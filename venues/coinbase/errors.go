package coinbase

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/transport/httpc"
	"github.com/pype-go/pype/transport/paginate"
)

// Sentinel errors that [*APIError] and local validation errors unwrap to,
// so callers branch with errors.Is.
var (
	// ErrInvalidSymbol: the venue does not list the product (HTTP 404
	// {"message":"NotFound"} on a product path, or rejected locally
	// against the cached /products list).
	ErrInvalidSymbol = errors.New("coinbase: invalid symbol")
	// ErrInvalidGranularity: the candle span is not one Coinbase serves
	// (HTTP 400 "Unsupported granularity", or rejected locally).
	ErrInvalidGranularity = errors.New("coinbase: invalid granularity")
	// ErrTooManyCandles: a /candles range covers more than 300 bars (HTTP
	// 400 "... exceeds 300"). It also matches paginate.ErrTooLarge, so the
	// OHLC paginator splits the window.
	ErrTooManyCandles = errors.New("coinbase: more than 300 candles requested")
	// ErrTooManyRequests: the public rate limit was exceeded (HTTP 429
	// {"message":"Public rate limit exceeded"}).
	ErrTooManyRequests = errors.New("coinbase: too many requests")
	// ErrInvalidParameter: another parameter was rejected (HTTP 400).
	ErrInvalidParameter = errors.New("coinbase: invalid parameter")
	// ErrUnauthorized: HTTP 401/403 (public endpoints should never answer
	// this; a proxy or a wrong base URL may).
	ErrUnauthorized = errors.New("coinbase: unauthorized")
	// ErrVenueUnavailable: HTTP 5xx; usually retried by the transport
	// before it reaches callers.
	ErrVenueUnavailable = errors.New("coinbase: venue unavailable")
)

// APIError is an error answered by Coinbase: the HTTP status, Coinbase's
// message ({"message":"NotFound"}) and the endpoint. errors.Is maps it to
// the sentinels above; errors.As also finds the transport's
// *httpc.HTTPError.
type APIError struct {
	Status     int    // HTTP status
	Msg        string // Coinbase's message
	Endpoint   string // e.g. "GET /products/{id}/candles"
	Product    string // the product id of the path, if any
	Params     string // the request's query
	RetryAfter time.Duration
	http       *httpc.HTTPError
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("coinbase: ")
	if e.Endpoint != "" {
		b.WriteString(strings.Replace(e.Endpoint, "{id}", e.Product, 1))
		if e.Params != "" {
			b.WriteString("?" + e.Params)
		}
		b.WriteString(": ")
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, "HTTP %d %s", e.Status, http.StatusText(e.Status))
	}
	if e.Msg != "" {
		b.WriteString(": " + e.Msg)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %v)", e.RetryAfter)
	}
	if hint := e.hint(); hint != "" {
		b.WriteString(" — " + hint)
	}
	return b.String()
}

func (e *APIError) hint() string {
	switch e.classify() {
	case ErrInvalidSymbol:
		return "Coinbase product ids are BASE-QUOTE, e.g. BTC-USD; pype accepts BTC/USD and checks it against /products"
	case ErrInvalidGranularity:
		return "accepted granularities: " + granularityNames()
	case ErrTooManyCandles:
		return "split the range into windows of at most 300 bars"
	}
	return ""
}

// Unwrap returns the sentinel matching the status and message, the
// transport's *httpc.HTTPError, and paginate.ErrTooLarge for the 300-bar
// rule.
func (e *APIError) Unwrap() []error {
	var out []error
	if s := e.classify(); s != nil {
		out = append(out, s)
		if s == ErrTooManyCandles {
			out = append(out, paginate.ErrTooLarge)
		}
	}
	if e.http != nil {
		out = append(out, e.http)
	}
	return out
}

// Temporary reports whether retrying later may succeed.
func (e *APIError) Temporary() bool {
	switch e.classify() {
	case ErrTooManyRequests, ErrVenueUnavailable:
		return true
	}
	return false
}

func (e *APIError) classify() error {
	msg := strings.ToLower(e.Msg)
	switch {
	case e.Status == http.StatusTooManyRequests || strings.Contains(msg, "rate limit"):
		return ErrTooManyRequests
	case e.Status >= 500:
		return ErrVenueUnavailable
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		return ErrUnauthorized
	case e.Status == http.StatusNotFound && e.Product != "":
		return ErrInvalidSymbol
	case strings.Contains(msg, "exceeds 300") || strings.Contains(msg, "aggregations requested"):
		return ErrTooManyCandles
	case strings.Contains(msg, "granularity"):
		return ErrInvalidGranularity
	case strings.Contains(msg, "product") && (strings.Contains(msg, "not found") || strings.Contains(msg, "invalid") || strings.Contains(msg, "delisted")):
		return ErrInvalidSymbol
	case e.Status == http.StatusBadRequest:
		return ErrInvalidParameter
	}
	return nil
}

// GranularityError reports a candle span Coinbase does not serve. It
// unwraps to both ErrInvalidGranularity and domain.ErrNoCapability.
type GranularityError struct {
	Span string
}

func (e *GranularityError) Error() string {
	return fmt.Sprintf("coinbase: candle span %q is not served (accepted: %s)", e.Span, granularityNames())
}

// Unwrap makes errors.Is true for ErrInvalidGranularity and
// domain.ErrNoCapability.
func (e *GranularityError) Unwrap() []error {
	return []error{ErrInvalidGranularity, domain.ErrNoCapability}
}

// SymbolError reports a product the venue does not list.
type SymbolError struct {
	Symbol      string   // as given (canonical or venue form)
	VenueSymbol string   // the Coinbase form tried, e.g. BTC-USDX
	Suggestions []string // similar listed products, canonical form
}

func (e *SymbolError) Error() string {
	msg := fmt.Sprintf("coinbase: symbol %s", e.Symbol)
	if e.VenueSymbol != "" && e.VenueSymbol != e.Symbol {
		msg += fmt.Sprintf(" (%s)", e.VenueSymbol)
	}
	msg += " is not listed on Coinbase Exchange"
	if len(e.Suggestions) > 0 {
		msg += " (did you mean " + strings.Join(e.Suggestions, ", ") + "?)"
	}
	return msg
}

// Unwrap makes errors.Is(err, ErrInvalidSymbol) true.
func (e *SymbolError) Unwrap() error { return ErrInvalidSymbol }

// IDGapError reports trade ids missing from the venue's answers: Coinbase
// trade ids are contiguous per product, so a hole is a detectable loss.
type IDGapError struct {
	Symbol      string
	First, Last int64 // missing ids, inclusive
}

func (e *IDGapError) Error() string {
	if e.First == e.Last {
		return fmt.Sprintf("coinbase: %s trade id %d missing from the venue's pages", e.Symbol, e.First)
	}
	return fmt.Sprintf("coinbase: %s trade ids %d–%d (%d trades) missing from the venue's pages", e.Symbol, e.First, e.Last, e.Last-e.First+1)
}

// FeedError is an error message of the WebSocket feed
// ({"type":"error","message":"Failed to subscribe","reason":"..."}).
type FeedError struct {
	Message string
	Reason  string
}

func (e *FeedError) Error() string {
	if e.Reason != "" {
		return "coinbase: feed error: " + e.Message + ": " + e.Reason
	}
	return "coinbase: feed error: " + e.Message
}
