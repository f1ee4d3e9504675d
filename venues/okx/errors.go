package okx

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/transport/httpc"
)

// Sentinel errors that [*APIError] and local validation errors unwrap to,
// so callers branch with errors.Is.
var (
	// ErrInvalidSymbol: OKX does not list the instrument (code 51001, or
	// rejected locally against the cached instrument list).
	ErrInvalidSymbol = errors.New("okx: invalid symbol")
	// ErrInvalidInterval: the candle bar is not one OKX serves (code 51000
	// "Parameter bar error", or rejected locally).
	ErrInvalidInterval = errors.New("okx: invalid bar")
	// ErrTooManyRequests: an endpoint's rate limit was exceeded (code 50011,
	// HTTP 429 or 200).
	ErrTooManyRequests = errors.New("okx: too many requests")
	// ErrInvalidParameter: a parameter was rejected (51000 for other
	// parameters, 50014, 50015, 50024, 50039).
	ErrInvalidParameter = errors.New("okx: invalid parameter")
	// ErrUnauthorized: API key, passphrase, signature or timestamp rejected
	// (codes 50100–50114, HTTP 401).
	ErrUnauthorized = errors.New("okx: unauthorized")
	// ErrVenueUnavailable: OKX reported a transient failure (50001 service
	// unavailable, 50004 timeout, 50013 systems busy, 50026 system error,
	// HTTP 5xx). Usually retried by the transport before it reaches callers.
	ErrVenueUnavailable = errors.New("okx: venue unavailable")
)

// OKX error codes pype branches on.
const (
	codeServiceUnavailable = "50001"
	codeTimeout            = "50004"
	codeRateLimit          = "50011"
	codeBusy               = "50013"
	codeEmptyParam         = "50014"
	codeEitherParam        = "50015"
	codeBothParams         = "50024"
	codeSystemError        = "50026"
	codeBeforeByTime       = "50039"
	codeTooFrequent        = "50040"
	codeParam              = "51000"
	codeInstrument         = "51001"
)

// APIError is an error answered by OKX: the HTTP status (200 for errors
// inside a 200 body), OKX's code and message, and the endpoint. errors.Is
// maps it to the sentinels above; errors.As also finds the transport's
// *httpc.HTTPError or *httpc.SoftError.
type APIError struct {
	Status   int    // HTTP status
	Code     string // OKX error code, e.g. "51001" (empty if the body had none)
	Msg      string // OKX's message
	Endpoint string // e.g. "GET /api/v5/market/history-candles"
	Params   string // the request's query, for context
	cause    error  // *httpc.HTTPError or *httpc.SoftError
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("okx: ")
	if e.Endpoint != "" {
		b.WriteString(e.Endpoint)
		if e.Params != "" {
			b.WriteString("?" + e.Params)
		}
		b.WriteString(": ")
	}
	if e.Status != 0 && e.Status != http.StatusOK {
		fmt.Fprintf(&b, "HTTP %d %s", e.Status, http.StatusText(e.Status))
	}
	if e.Code != "" {
		if e.Status != 0 && e.Status != http.StatusOK {
			b.WriteByte(' ')
		}
		b.WriteString("code " + e.Code)
	}
	if e.Msg != "" {
		b.WriteString(": " + e.Msg)
	}
	if hint := e.hint(); hint != "" {
		b.WriteString(" — " + hint)
	}
	return b.String()
}

func (e *APIError) hint() string {
	switch {
	case e.Code == codeInstrument:
		return "OKX spot instruments are BASE-QUOTE, e.g. BTC-USDT; pype accepts BTC/USDT and checks it against /api/v5/public/instruments"
	case errors.Is(classify(e.Status, e.Code, e.Msg), ErrInvalidInterval):
		return "accepted spans: " + spanNames()
	}
	return ""
}

// Unwrap returns the sentinel matching the code or status, if any, and the
// transport's error.
func (e *APIError) Unwrap() []error {
	var out []error
	if s := classify(e.Status, e.Code, e.Msg); s != nil {
		out = append(out, s)
	}
	if e.cause != nil {
		out = append(out, e.cause)
	}
	return out
}

// Temporary reports whether retrying later may succeed.
func (e *APIError) Temporary() bool { return retryable(e.Status, e.Code) }

func retryable(status int, code string) bool {
	switch code {
	case codeRateLimit, codeBusy, codeServiceUnavailable, codeTimeout, codeSystemError, codeTooFrequent:
		return true
	}
	return status == http.StatusTooManyRequests || status >= 500
}

func classify(status int, code, msg string) error {
	switch code {
	case codeInstrument:
		return ErrInvalidSymbol
	case codeRateLimit, codeTooFrequent:
		return ErrTooManyRequests
	case codeServiceUnavailable, codeTimeout, codeBusy, codeSystemError:
		return ErrVenueUnavailable
	case codeParam:
		if strings.Contains(msg, "bar") {
			return ErrInvalidInterval
		}
		return ErrInvalidParameter
	case codeEmptyParam, codeEitherParam, codeBothParams, codeBeforeByTime:
		return ErrInvalidParameter
	}
	switch {
	case code >= "50100" && code <= "50114" && len(code) == 5:
		return ErrUnauthorized
	case status == http.StatusTooManyRequests:
		return ErrTooManyRequests
	case status == http.StatusUnauthorized:
		return ErrUnauthorized
	case status >= 500:
		return ErrVenueUnavailable
	}
	return nil
}

// apiError converts a transport error into an *APIError (or wraps it).
func apiError(ep endpoint, query string, err error) error {
	var he *httpc.HTTPError
	if errors.As(err, &he) {
		e := &APIError{Status: he.Status, Code: he.VenueCode, Msg: he.VenueMsg, Endpoint: ep.String(), Params: query, cause: he}
		if e.Msg == "" && e.Code == "" {
			e.Msg = strings.TrimSpace(he.Body)
			if len(e.Msg) > 200 {
				e.Msg = e.Msg[:200] + "…"
			}
		}
		return e
	}
	var se *httpc.SoftError
	if errors.As(err, &se) {
		return &APIError{Status: se.Status, Code: se.Code, Msg: se.Msg, Endpoint: ep.String(), Params: query, cause: se}
	}
	return fmt.Errorf("okx: %s: %w", ep, err)
}

// BarError reports a candle span OKX does not serve. It unwraps to both
// ErrInvalidInterval and domain.ErrNoCapability.
type BarError struct {
	Span string
}

func (e *BarError) Error() string {
	return fmt.Sprintf("okx: candle span %q is not served (accepted: %s; 6h and longer use OKX's UTC-aligned bars)", e.Span, spanNames())
}

// Unwrap makes errors.Is true for ErrInvalidInterval and
// domain.ErrNoCapability.
func (e *BarError) Unwrap() []error { return []error{ErrInvalidInterval, domain.ErrNoCapability} }

// SymbolError reports a symbol OKX does not list.
type SymbolError struct {
	Symbol      string   // as given (canonical or venue form)
	InstID      string   // the OKX instrument id tried, e.g. BTC-USDX
	Suggestions []string // similar listed symbols, canonical form
}

func (e *SymbolError) Error() string {
	msg := "okx: symbol " + e.Symbol
	if e.InstID != "" && e.InstID != e.Symbol {
		msg += " (" + e.InstID + ")"
	}
	msg += " is not listed on OKX spot"
	if len(e.Suggestions) > 0 {
		msg += " (did you mean " + strings.Join(e.Suggestions, ", ") + "?)"
	}
	return msg
}

// Unwrap makes errors.Is(err, ErrInvalidSymbol) true.
func (e *SymbolError) Unwrap() error { return ErrInvalidSymbol }

// StreamError is an error event OKX sent on a WebSocket connection
// ({"event":"error","code":"60018",…}), e.g. for a channel or instrument
// the endpoint does not serve.
type StreamError struct {
	Code    string
	Msg     string
	ConnID  string
	Request string // the channel and instrument concerned, when known
}

func (e *StreamError) Error() string {
	msg := "okx: WebSocket error " + e.Code + ": " + e.Msg
	if e.Request != "" {
		msg += " (" + e.Request + ")"
	}
	return msg
}
