package bitmex

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/transport/httpc"
)

// Sentinel errors that [*APIError] and local validation errors unwrap to,
// so callers branch with errors.Is.
var (
	// ErrInvalidSymbol: the symbol is not an active BitMEX instrument
	// (checked locally against GET /instrument/active, because BitMEX
	// answers a filter on an unknown symbol with an empty page, not an
	// error).
	ErrInvalidSymbol = errors.New("bitmex: invalid symbol")
	// ErrInvalidInterval: the candle span is not a BitMEX binSize.
	ErrInvalidInterval = errors.New("bitmex: invalid binSize")
	// ErrTooManyRequests: the request-rate limit was exceeded (HTTP 429,
	// RateLimitError).
	ErrTooManyRequests = errors.New("bitmex: too many requests")
	// ErrIPBanned: BitMEX refused the IP with HTTP 403 (a ban, usually an
	// hour, after many 4xx/5xx/429 answers — or a region block).
	ErrIPBanned = errors.New("bitmex: IP banned or forbidden")
	// ErrInvalidParameter: a parameter was rejected (HTTP 400).
	ErrInvalidParameter = errors.New("bitmex: invalid parameter")
	// ErrUnauthorized: authentication failed (HTTP 401).
	ErrUnauthorized = errors.New("bitmex: unauthorized")
	// ErrNotFound: the venue has no such resource (HTTP 404).
	ErrNotFound = errors.New("bitmex: not found")
	// ErrVenueUnavailable: BitMEX reported an internal error or overload
	// (HTTP 5xx; 503 "system overloaded" is common). Usually retried by
	// the transport before it reaches callers.
	ErrVenueUnavailable = errors.New("bitmex: venue unavailable")
	// ErrInconsistentBook: a live order-book message did not fit the book
	// (unknown level id, duplicate insert, too many levels); the book is
	// resynchronised from a fresh partial.
	ErrInconsistentBook = errors.New("bitmex: order-book message inconsistent with the book")
)

// APIError is an error answered by BitMEX: the HTTP status, BitMEX's error
// name and message ({"error":{"message":…,"name":…}}) and the endpoint.
// errors.Is maps it to the sentinels above; errors.As also finds the
// transport's *httpc.HTTPError.
type APIError struct {
	Status     int    // HTTP status (0 for WebSocket replies)
	Name       string // BitMEX error name: HTTPError, ValidationError, RateLimitError, …
	Msg        string // BitMEX's message (or the start of a non-JSON body)
	Endpoint   string // e.g. "GET /trade"
	Params     string // the request's query, for context
	RetryAfter time.Duration
	http       *httpc.HTTPError
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("bitmex: ")
	if e.Endpoint != "" {
		b.WriteString(e.Endpoint)
		if e.Params != "" {
			b.WriteString("?" + e.Params)
		}
		b.WriteString(": ")
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, "HTTP %d", e.Status)
		if t := http.StatusText(e.Status); t != "" {
			b.WriteString(" " + t)
		}
	}
	if e.Name != "" {
		b.WriteString(" " + e.Name)
	}
	if e.Msg != "" {
		b.WriteString(": " + e.Msg)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %v)", e.RetryAfter)
	}
	if h := e.hint(); h != "" {
		b.WriteString(" — " + h)
	}
	return b.String()
}

func (e *APIError) hint() string {
	switch {
	case e.Status == http.StatusForbidden:
		return "BitMEX bans an IP for an hour after many error answers in a short time (and blocks some regions); the adapter pauses its requests"
	case strings.Contains(strings.ToLower(e.Msg), "binsize"):
		return "accepted binSize values: " + strings.Join(binSizeNames(), " ")
	}
	return ""
}

// Unwrap returns the sentinel matching the status and name, and the
// transport's *httpc.HTTPError.
func (e *APIError) Unwrap() []error {
	var out []error
	if s := classify(e.Status, e.Name, e.Msg); s != nil {
		out = append(out, s)
	}
	if e.http != nil {
		out = append(out, e.http)
	}
	return out
}

// Temporary reports whether retrying later may succeed.
func (e *APIError) Temporary() bool {
	switch classify(e.Status, e.Name, e.Msg) {
	case ErrTooManyRequests, ErrVenueUnavailable, ErrIPBanned:
		return true
	}
	return false
}

func classify(status int, name, msg string) error {
	lower := strings.ToLower(msg)
	switch {
	case status == http.StatusTooManyRequests || name == "RateLimitError":
		return ErrTooManyRequests
	case status == http.StatusForbidden:
		return ErrIPBanned
	case status == http.StatusUnauthorized:
		return ErrUnauthorized
	case status >= 500:
		return ErrVenueUnavailable
	case status == http.StatusNotFound:
		if strings.Contains(lower, "symbol") || strings.Contains(lower, "instrument") {
			return ErrInvalidSymbol
		}
		return ErrNotFound
	case status == http.StatusBadRequest:
		switch {
		case strings.Contains(lower, "binsize"):
			return ErrInvalidInterval
		case strings.Contains(lower, "symbol") || strings.Contains(lower, "instrument"):
			return ErrInvalidSymbol
		}
		return ErrInvalidParameter
	}
	return nil
}

// IntervalError reports a candle span BitMEX does not serve. It unwraps to
// both ErrInvalidInterval and domain.ErrNoCapability.
type IntervalError struct {
	Span string
}

func (e *IntervalError) Error() string {
	return fmt.Sprintf("bitmex: candle span %q is not served (accepted binSize: %s)", e.Span, strings.Join(binSizeNames(), " "))
}

// Unwrap makes errors.Is true for ErrInvalidInterval and
// domain.ErrNoCapability.
func (e *IntervalError) Unwrap() []error { return []error{ErrInvalidInterval, domain.ErrNoCapability} }

// SymbolError reports a symbol that is not an active BitMEX instrument.
type SymbolError struct {
	Symbol      string   // as given (canonical or venue form)
	VenueSymbol string   // the BitMEX form tried, e.g. XBTUSD
	Suggestions []string // similar listed symbols, canonical form
}

func (e *SymbolError) Error() string {
	msg := fmt.Sprintf("bitmex: symbol %s", e.Symbol)
	if e.VenueSymbol != "" && e.VenueSymbol != e.Symbol {
		msg += fmt.Sprintf(" (%s)", e.VenueSymbol)
	}
	msg += " is not an active BitMEX instrument"
	if len(e.Suggestions) > 0 {
		msg += " (did you mean " + strings.Join(e.Suggestions, ", ") + "?)"
	} else {
		msg += " (BitMEX perpetuals are BASE/QUOTE:perp, e.g. BTC/USD:perp for XBTUSD, BTC/USDT:perp for XBTUSDT)"
	}
	return msg
}

// Unwrap makes errors.Is(err, ErrInvalidSymbol) true.
func (e *SymbolError) Unwrap() error { return ErrInvalidSymbol }

// DecodeError reports a BitMEX payload that could not be decoded. It names
// what was being decoded, the byte offset and a short excerpt.
type DecodeError struct {
	What   string // "trade", "trade/bucketed", "orderBookL2", …
	Offset int
	Reason string
	Near   string // up to 64 bytes around Offset
}

func (e *DecodeError) Error() string {
	if e.Near == "" {
		return fmt.Sprintf("bitmex: decode %s: %s", e.What, e.Reason)
	}
	return fmt.Sprintf("bitmex: decode %s: %s at byte %d near %q", e.What, e.Reason, e.Offset, e.Near)
}

// SubscribeError reports a WebSocket subscription BitMEX refused.
type SubscribeError struct {
	Topics []string
	Status int
	Msg    string
}

func (e *SubscribeError) Error() string {
	return fmt.Sprintf("bitmex: subscription %s refused (status %d): %s", strings.Join(e.Topics, ","), e.Status, e.Msg)
}

// Unwrap maps the refusal to ErrInvalidSymbol or ErrInvalidParameter.
func (e *SubscribeError) Unwrap() error {
	lower := strings.ToLower(e.Msg)
	if strings.Contains(lower, "symbol") || strings.Contains(lower, "instrument") {
		return ErrInvalidSymbol
	}
	return ErrInvalidParameter
}
