package binance

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
	// ErrInvalidSymbol: the venue does not list the symbol (code -1121, or
	// rejected locally against the cached exchangeInfo).
	ErrInvalidSymbol = errors.New("binance: invalid symbol")
	// ErrInvalidInterval: the candle interval is not one Binance serves
	// (code -1120, or rejected locally).
	ErrInvalidInterval = errors.New("binance: invalid interval")
	// ErrTooManyRequests: the request-weight or order limit was exceeded
	// (HTTP 429, code -1003 or -1015).
	ErrTooManyRequests = errors.New("binance: too many requests")
	// ErrIPBanned: the IP is banned for continuing after 429s (HTTP 418).
	ErrIPBanned = errors.New("binance: IP banned")
	// ErrInvalidParameter: a parameter was rejected (codes -1100 to -1131
	// other than the above, e.g. -1127 "more than 1 hour between startTime
	// and endTime").
	ErrInvalidParameter = errors.New("binance: invalid parameter")
	// ErrUnauthorized: API key, signature or timestamp rejected (codes
	// -1021, -1022, -2014, -2015).
	ErrUnauthorized = errors.New("binance: unauthorized")
	// ErrVenueUnavailable: the venue reported an internal error, a
	// timeout or maintenance (codes -1000, -1001, -1006, -1007, -1016, HTTP
	// 5xx). Usually retried by the transport before it reaches callers.
	ErrVenueUnavailable = errors.New("binance: venue unavailable")
)

// Binance error codes pype branches on.
const (
	codeUnknown            = -1000
	codeDisconnected       = -1001
	codeUnexpectedResponse = -1006
	codeTimeout            = -1007
	codeTooManyRequests    = -1003
	codeTooManyOrders      = -1015
	codeServiceShutdown    = -1016
	codeTimestamp          = -1021
	codeInvalidSignature   = -1022
	codeInvalidInterval    = -1120
	codeInvalidSymbol      = -1121
	codeInvalidWindow      = -1127 // "More than 1 hour between startTime and endTime."
	codeRejectedMBXKey     = -2015
	codeBadAPIKeyFmt       = -2014
)

// APIError is an error answered by Binance: the HTTP status, Binance's own
// code and message, and the endpoint. errors.Is maps it to the sentinels
// above (ErrInvalidSymbol, ErrTooManyRequests, ...).
type APIError struct {
	Status     int    // HTTP status (0 for WebSocket replies)
	Code       int    // Binance error code, e.g. -1121 (0 if the body had none)
	Msg        string // Binance's message
	Endpoint   string // e.g. "GET /api/v3/klines"
	Params     string // the request's query, for context (never signed params)
	RetryAfter time.Duration
	http       *httpc.HTTPError
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("binance: ")
	if e.Endpoint != "" {
		b.WriteString(e.Endpoint)
		if e.Params != "" {
			b.WriteString("?" + e.Params)
		}
		b.WriteString(": ")
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, "HTTP %d", e.Status)
		if t := http.StatusText(e.Status); t != "" && e.Status != 418 {
			b.WriteString(" " + t)
		}
	}
	if e.Code != 0 {
		fmt.Fprintf(&b, " code %d", e.Code)
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
	switch e.Code {
	case codeInvalidSymbol:
		return "Binance spot symbols are BASEQUOTE, e.g. BTCUSDT; pype accepts BTC/USDT and checks it against exchangeInfo"
	case codeInvalidInterval:
		return "accepted intervals: " + strings.Join(intervalNames(), " ")
	}
	if e.Status == 418 {
		return "the IP is banned after ignoring 429 responses; wait for the ban to end"
	}
	return ""
}

// Unwrap returns the sentinel matching the code or status, if any, and the
// transport's *httpc.HTTPError.
func (e *APIError) Unwrap() []error {
	var out []error
	if s := classify(e.Status, e.Code); s != nil {
		out = append(out, s)
	}
	if e.http != nil {
		out = append(out, e.http)
	}
	return out
}

// Temporary reports whether retrying later may succeed.
func (e *APIError) Temporary() bool {
	switch classify(e.Status, e.Code) {
	case ErrTooManyRequests, ErrVenueUnavailable:
		return true
	}
	return false
}

func classify(status, code int) error {
	switch code {
	case codeInvalidSymbol:
		return ErrInvalidSymbol
	case codeInvalidInterval:
		return ErrInvalidInterval
	case codeTooManyRequests, codeTooManyOrders:
		if status == 418 {
			return ErrIPBanned
		}
		return ErrTooManyRequests
	case codeTimestamp, codeInvalidSignature, codeRejectedMBXKey, codeBadAPIKeyFmt:
		return ErrUnauthorized
	case codeUnknown, codeDisconnected, codeUnexpectedResponse, codeTimeout, codeServiceShutdown:
		return ErrVenueUnavailable
	}
	switch {
	case status == 418:
		return ErrIPBanned
	case status == 429:
		return ErrTooManyRequests
	case status == 401:
		return ErrUnauthorized
	case status >= 500:
		return ErrVenueUnavailable
	case code <= -1100 && code >= -1199:
		return ErrInvalidParameter
	}
	return nil
}

// IntervalError reports a candle span Binance does not serve. It unwraps to
// both ErrInvalidInterval and domain.ErrNoCapability.
type IntervalError struct {
	Span string
}

func (e *IntervalError) Error() string {
	return fmt.Sprintf("binance: candle interval %q is not served (accepted: %s)", e.Span, strings.Join(intervalNames(), " "))
}

// Unwrap makes errors.Is true for ErrInvalidInterval and
// domain.ErrNoCapability.
func (e *IntervalError) Unwrap() []error {
	return []error{ErrInvalidInterval, domain.ErrNoCapability}
}

// SymbolError reports a symbol the venue does not list.
type SymbolError struct {
	Symbol      string   // as given (canonical or venue form)
	VenueSymbol string   // the Binance form tried, e.g. BTCUSDX
	Suggestions []string // similar listed symbols, canonical form
}

func (e *SymbolError) Error() string {
	msg := fmt.Sprintf("binance: symbol %s", e.Symbol)
	if e.VenueSymbol != "" && e.VenueSymbol != e.Symbol {
		msg += fmt.Sprintf(" (%s)", e.VenueSymbol)
	}
	msg += " is not listed on Binance spot"
	if len(e.Suggestions) > 0 {
		msg += " (did you mean " + strings.Join(e.Suggestions, ", ") + "?)"
	}
	return msg
}

// Unwrap makes errors.Is(err, ErrInvalidSymbol) true.
func (e *SymbolError) Unwrap() error { return ErrInvalidSymbol }

// IDGapError reports aggregate trade ids missing from the venue's answer:
// Binance ids are contiguous, so a hole is a detectable loss.
type IDGapError struct {
	Symbol        string
	First, Last   int64 // missing ids, inclusive
	Before, After int64 // times (ns) of the trades around the hole, 0 if unknown
}

func (e *IDGapError) Error() string {
	if e.First == e.Last {
		return fmt.Sprintf("binance: %s aggregate trade id %d missing from the venue's pages", e.Symbol, e.First)
	}
	return fmt.Sprintf("binance: %s aggregate trade ids %d–%d (%d trades) missing from the venue's pages", e.Symbol, e.First, e.Last, e.Last-e.First+1)
}
