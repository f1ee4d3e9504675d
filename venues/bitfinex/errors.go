package bitfinex

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/transport/httpc"
)

// Sentinel errors that [*APIError], [*SubscribeError] and local validation
// errors unwrap to, so callers branch with errors.Is.
var (
	// ErrInvalidSymbol: the venue does not list the symbol (rejected
	// locally against conf/pub:list:pair:exchange, "symbol: invalid", or
	// WebSocket code 10001 "Unknown pair").
	ErrInvalidSymbol = errors.New("bitfinex: invalid symbol")
	// ErrInvalidTimeframe: the candle span is not a Bitfinex time frame.
	ErrInvalidTimeframe = errors.New("bitfinex: invalid time frame")
	// ErrInvalidParameter: a parameter was rejected (code 10020 ERR_PARAMS).
	ErrInvalidParameter = errors.New("bitfinex: invalid parameter")
	// ErrTooManyRequests: an endpoint's rate limit was exceeded (HTTP 429,
	// ["error",11010,"ratelimit: error"] or {"error":"ERR_RATE_LIMIT"}).
	ErrTooManyRequests = errors.New("bitfinex: too many requests")
	// ErrMaintenance: the platform is in maintenance (code 20060, platform
	// status 0).
	ErrMaintenance = errors.New("bitfinex: platform in maintenance")
	// ErrVenueUnavailable: an internal error or HTTP 5xx (codes 10000,
	// 10001, 10008, 11000). Usually retried before it reaches callers.
	ErrVenueUnavailable = errors.New("bitfinex: venue unavailable")
	// ErrUnauthorized: authentication failed (codes 10100–10114, 10200).
	ErrUnauthorized = errors.New("bitfinex: unauthorized")
)

// Bitfinex error and info codes (docs: "Error/Info Codes").
const (
	codeUnknown       = 10000 // ERR_UNK
	codeGeneric       = 10001 // ERR_GENERIC (WebSocket: "Unknown pair")
	codeConcurrency   = 10008 // ERR_CONCURRENCY
	codeParams        = 10020 // ERR_PARAMS
	codeConfFail      = 10050 // ERR_CONF_FAIL
	codeAuthFail      = 10100 // ERR_AUTH_FAIL
	codeAuthNonce     = 10114 // ERR_AUTH_NONCE
	codeUnauthFail    = 10200 // ERR_UNAUTH_FAIL
	codeSubFail       = 10300 // ERR_SUB_FAIL
	codeSubMulti      = 10301 // ERR_SUB_MULTI: already subscribed
	codeSubUnknown    = 10302 // ERR_SUB_UNK: unknown channel
	codeSubLimit      = 10305 // ERR_SUB_LIMIT: channel limit reached
	codeUnsubFail     = 10400 // ERR_UNSUB_FAIL
	codeReady         = 11000 // ERR_READY: not ready, try again later
	codeRateLimit     = 11010 // "ratelimit: error"
	codeBookPrecision = 10011 // unknown book precision
	codeBookLength    = 10012 // unknown book length
	infoReconnect     = 20051 // EVT_STOP: server restart, please reconnect
	infoMaintStart    = 20060 // EVT_RESYNC_START: maintenance begins, pause
	infoMaintEnd      = 20061 // EVT_RESYNC_STOP: maintenance over, resubscribe
)

// APIError is an error answered by Bitfinex's REST API: the HTTP status,
// Bitfinex's code and message (from ["error", code, "message"] or
// {"error":"ERR_…"}), and the endpoint. errors.Is maps it to the sentinels
// above; errors.As also finds the transport's *httpc.HTTPError or
// *httpc.SoftError.
type APIError struct {
	Status     int    // HTTP status as the venue sent it (0 for errors inside a 200)
	Code       int    // Bitfinex code, e.g. 10020 (0 if none)
	Msg        string // Bitfinex message, e.g. "limit: invalid" or "ERR_RATE_LIMIT"
	Endpoint   string // e.g. "GET /candles/trade:1m:tBTCUSD/hist"
	Params     string // the request's query
	RetryAfter time.Duration
	cause      error
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("bitfinex: ")
	if e.Endpoint != "" {
		b.WriteString(e.Endpoint)
		if e.Params != "" {
			b.WriteString("?" + e.Params)
		}
		b.WriteString(": ")
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, "HTTP %d %s", e.Status, http.StatusText(e.Status))
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
	if h := e.hint(); h != "" {
		b.WriteString(" — " + h)
	}
	return b.String()
}

func (e *APIError) hint() string {
	switch classify(e.Status, e.Code, e.Msg) {
	case ErrTooManyRequests:
		return "Bitfinex limits each endpoint per IP (candles 30, trades 15, book 240 requests per minute) and blocks it for 60 s when exceeded"
	case ErrInvalidSymbol:
		return "Bitfinex trading symbols are tBASEQUOTE (tBTCUSD, tBTCUST for USDT) or tBASE:QUOTE when a code is longer than 3 letters"
	case ErrMaintenance:
		return "wait for the maintenance to end (https://bitfinex.statuspage.io)"
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
func (e *APIError) Temporary() bool {
	switch classify(e.Status, e.Code, e.Msg) {
	case ErrTooManyRequests, ErrVenueUnavailable, ErrMaintenance:
		return true
	}
	return false
}

// classify maps a status, code and message to a sentinel (nil if none).
func classify(status, code int, msg string) error {
	lower := strings.ToLower(msg)
	switch {
	case code == codeRateLimit || strings.Contains(lower, "ratelimit") || strings.Contains(lower, "rate_limit"):
		return ErrTooManyRequests
	case code == infoMaintStart || strings.Contains(lower, "maintenance"):
		return ErrMaintenance
	case strings.HasPrefix(lower, "symbol") || strings.Contains(lower, "unknown pair") || strings.Contains(lower, "pair: invalid"):
		return ErrInvalidSymbol
	case strings.Contains(lower, "time_interval") || strings.Contains(lower, "timeframe"):
		return ErrInvalidTimeframe
	case code == codeParams:
		return ErrInvalidParameter
	case code >= codeAuthFail && code <= codeAuthNonce, code == codeUnauthFail:
		return ErrUnauthorized
	case code == codeUnknown, code == codeGeneric, code == codeConcurrency, code == codeReady:
		return ErrVenueUnavailable
	case status == http.StatusTooManyRequests:
		return ErrTooManyRequests
	case status == http.StatusUnauthorized:
		return ErrUnauthorized
	case status >= 500:
		return ErrVenueUnavailable
	}
	return nil
}

// TimeframeError reports a candle span Bitfinex does not serve. It unwraps
// to ErrInvalidTimeframe and domain.ErrNoCapability.
type TimeframeError struct {
	Span string
}

func (e *TimeframeError) Error() string {
	return fmt.Sprintf("bitfinex: candle span %q is not served (accepted: %s)", e.Span, timeframeNames())
}

// Unwrap makes errors.Is true for ErrInvalidTimeframe and
// domain.ErrNoCapability.
func (e *TimeframeError) Unwrap() []error {
	return []error{ErrInvalidTimeframe, domain.ErrNoCapability}
}

// SymbolError reports a symbol the venue does not list.
type SymbolError struct {
	Symbol      string   // as given
	VenueSymbol string   // the Bitfinex form tried, e.g. tBTCUSX
	Suggestions []string // similar listed symbols, canonical form
	Reason      string   // optional detail
}

func (e *SymbolError) Error() string {
	msg := "bitfinex: symbol " + e.Symbol
	if e.VenueSymbol != "" && e.VenueSymbol != e.Symbol {
		msg += " (" + e.VenueSymbol + ")"
	}
	if e.Reason != "" {
		msg += ": " + e.Reason
	} else {
		msg += " is not listed on Bitfinex (conf/pub:list:pair:exchange)"
	}
	if len(e.Suggestions) > 0 {
		msg += " (did you mean " + strings.Join(e.Suggestions, ", ") + "?)"
	}
	return msg
}

// Unwrap makes errors.Is(err, ErrInvalidSymbol) true.
func (e *SymbolError) Unwrap() error { return ErrInvalidSymbol }

// AlignmentError reports a candle whose open time is not on pype's grid
// for its span (weeks open on Monday 00:00 UTC, months on the 1st). Bars
// are refused rather than stored under the wrong open time.
type AlignmentError struct {
	Span     domain.Span
	OpenTime int64 // ns, as the venue sent it
}

func (e *AlignmentError) Error() string {
	t := domain.Time(e.OpenTime)
	return fmt.Sprintf("bitfinex: %s candle opens at %s (%s), not on pype's %s grid (%s); refusing to store it under a shifted open time",
		e.Span, t.Format(time.RFC3339), t.Weekday(), e.Span, domain.FormatNs(e.Span.Floor(e.OpenTime)))
}

// SameMillisecondError reports more trades in one millisecond than two
// pages (ascending and descending, 10000 rows each) can hold: Bitfinex
// offers no cursor finer than a millisecond, so the rest cannot be read.
type SameMillisecondError struct {
	Symbol string
	Ms     int64
	Got    int
	Limit  int // rows per page
}

func (e *SameMillisecondError) Error() string {
	return fmt.Sprintf("bitfinex: %s has more than %d trades at %s (read %d); Bitfinex pages by millisecond only, so the rest of that millisecond cannot be fetched",
		e.Symbol, 2*e.Limit, domain.FormatNs(domain.MillisToNanos(e.Ms)), e.Got)
}

// SubscribeError is a WebSocket {"event":"error"} answer to a subscription.
type SubscribeError struct {
	Code    int
	Msg     string
	Channel string // "book", "trades", "candles"
	Target  string // symbol or candle key
}

func (e *SubscribeError) Error() string {
	return fmt.Sprintf("bitfinex: subscribe %s %s: code %d: %s", e.Channel, e.Target, e.Code, e.Msg)
}

// Unwrap maps the code and message to a sentinel.
func (e *SubscribeError) Unwrap() error {
	lower := strings.ToLower(e.Msg)
	switch {
	case strings.Contains(lower, "pair") || strings.Contains(lower, "symbol"):
		return ErrInvalidSymbol
	case strings.Contains(lower, "key") && e.Channel == "candles":
		return ErrInvalidTimeframe
	case e.Code == codeParams || e.Code == codeBookPrecision || e.Code == codeBookLength:
		return ErrInvalidParameter
	case e.Code == codeGeneric || e.Code == codeUnknown:
		return ErrVenueUnavailable
	}
	return nil
}

// httpError extracts the transport's status error, if any.
func httpError(err error) *httpc.HTTPError {
	var he *httpc.HTTPError
	if errors.As(err, &he) {
		return he
	}
	return nil
}
