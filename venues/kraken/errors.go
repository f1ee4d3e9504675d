package kraken

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/transport/httpc"
)

// Sentinel errors that [*APIError] and local validation errors unwrap to,
// so callers branch with errors.Is.
var (
	// ErrInvalidSymbol: the venue does not list the pair ("EQuery:Unknown
	// asset pair", or rejected locally against the cached AssetPairs).
	ErrInvalidSymbol = errors.New("kraken: invalid symbol")
	// ErrInvalidInterval: the candle interval is not one Kraken serves.
	ErrInvalidInterval = errors.New("kraken: invalid interval")
	// ErrTooManyRequests: the public call counter is exhausted
	// ("EGeneral:Too many requests", "EAPI:Rate limit exceeded",
	// "EGeneral:Temporary lockout", or HTTP 429).
	ErrTooManyRequests = errors.New("kraken: too many requests")
	// ErrInvalidParameter: a parameter was rejected ("EGeneral:Invalid
	// arguments", "EQuery:..." other than an unknown pair).
	ErrInvalidParameter = errors.New("kraken: invalid parameter")
	// ErrVenueUnavailable: the venue is down, busy or in maintenance
	// ("EService:Unavailable", "EService:Busy", "EGeneral:Internal error",
	// HTTP 5xx). Usually retried by the transport before it reaches callers.
	ErrVenueUnavailable = errors.New("kraken: venue unavailable")
	// ErrHistoryTooOld: the OHLC endpoint does not serve bars that old
	// (only the 720 most recent bars). Also matches domain.ErrNoCapability.
	ErrHistoryTooOld = errors.New("kraken: OHLC history not served that far back")
)

// Kraken error strings pype branches on. Kraken errors have the form
// <severity><category>:<message>, severity E (error) or W (warning).
const (
	errUnknownPair     = "EQuery:Unknown asset pair"
	errTooManyRequests = "EGeneral:Too many requests"
	errRateLimit       = "EAPI:Rate limit exceeded"
	errLockout         = "EGeneral:Temporary lockout"
	errInvalidArgs     = "EGeneral:Invalid arguments"
	errUnavailable     = "EService:Unavailable"
	errBusy            = "EService:Busy"
	errInternal        = "EGeneral:Internal error"
	errDeadline        = "EService:Deadline elapsed"
)

// APIError is an error answered by Kraken, in an HTTP 200 body's error
// array (the usual case) or with an HTTP error status. errors.Is maps it to
// the sentinels above; errors.As also finds the transport's
// *httpc.SoftError or *httpc.HTTPError.
type APIError struct {
	Status   int      // HTTP status (200 for errors inside a 200 body)
	Errors   []string // Kraken's error strings, e.g. ["EQuery:Unknown asset pair"]
	Endpoint string   // e.g. "GET /0/public/OHLC"
	Params   string   // the request's query, for context
	// RetryAfter is the pause pype applied before retrying (rate limits).
	RetryAfter time.Duration
	Attempts   int
	cause      error // *httpc.SoftError or *httpc.HTTPError
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("kraken: ")
	if e.Endpoint != "" {
		b.WriteString(e.Endpoint)
		if e.Params != "" {
			b.WriteString("?" + e.Params)
		}
		b.WriteString(": ")
	}
	if e.Status != 0 && e.Status != 200 {
		fmt.Fprintf(&b, "HTTP %d: ", e.Status)
	}
	if len(e.Errors) > 0 {
		b.WriteString(strings.Join(e.Errors, "; "))
	} else {
		b.WriteString("error")
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	if h := e.hint(); h != "" {
		b.WriteString(" — " + h)
	}
	return b.String()
}

func (e *APIError) hint() string {
	switch e.sentinel() {
	case ErrInvalidSymbol:
		return "Kraken REST pairs are altnames such as XBTUSD, ETHXBT, XDGUSD; pype accepts BTC/USD and checks it against AssetPairs"
	case ErrTooManyRequests:
		return "Kraken allows about 1 public request per second per IP (Trades and OHLC per pair) with a small burst; lower the concurrency or wait"
	}
	return ""
}

// Code returns the first error string ("EQuery:Unknown asset pair"), or "".
func (e *APIError) Code() string {
	if len(e.Errors) == 0 {
		return ""
	}
	return e.Errors[0]
}

func (e *APIError) sentinel() error {
	for _, s := range e.Errors {
		if c := classify(s); c != nil {
			return c
		}
	}
	switch {
	case e.Status == 429:
		return ErrTooManyRequests
	case e.Status >= 500:
		return ErrVenueUnavailable
	}
	return nil
}

// Unwrap returns the sentinel matching the error strings or status, if any,
// and the transport's error.
func (e *APIError) Unwrap() []error {
	var out []error
	if s := e.sentinel(); s != nil {
		out = append(out, s)
	}
	if e.cause != nil {
		out = append(out, e.cause)
	}
	return out
}

// Temporary reports whether retrying later may succeed.
func (e *APIError) Temporary() bool {
	switch e.sentinel() {
	case ErrTooManyRequests, ErrVenueUnavailable:
		return true
	}
	return false
}

// classify maps one Kraken error string to a sentinel (nil if none).
func classify(s string) error {
	switch {
	case strings.HasPrefix(s, errUnknownPair):
		return ErrInvalidSymbol
	case strings.HasPrefix(s, errTooManyRequests), strings.HasPrefix(s, errRateLimit), strings.HasPrefix(s, errLockout):
		return ErrTooManyRequests
	case strings.HasPrefix(s, errUnavailable), strings.HasPrefix(s, errBusy), strings.HasPrefix(s, errInternal),
		strings.HasPrefix(s, errDeadline):
		return ErrVenueUnavailable
	case strings.HasPrefix(s, errInvalidArgs), strings.HasPrefix(s, "EQuery:"), strings.HasPrefix(s, "EGeneral:Invalid"):
		return ErrInvalidParameter
	}
	return nil
}

// IntervalError reports a candle span Kraken does not serve. It unwraps to
// both ErrInvalidInterval and domain.ErrNoCapability.
type IntervalError struct {
	Span string
}

func (e *IntervalError) Error() string {
	return fmt.Sprintf("kraken: candle interval %q is not served (accepted: %s)", e.Span, strings.Join(intervalNames(), " "))
}

// Unwrap makes errors.Is true for ErrInvalidInterval and
// domain.ErrNoCapability.
func (e *IntervalError) Unwrap() []error { return []error{ErrInvalidInterval, domain.ErrNoCapability} }

// HistoryError reports an OHLC backfill reaching further back than the 720
// most recent bars Kraken's OHLC endpoint serves. It unwraps to
// ErrHistoryTooOld and domain.ErrNoCapability.
type HistoryError struct {
	Symbol   string
	Span     string
	From     int64 // requested start, ns
	Earliest int64 // open time of the oldest bar the endpoint serves now, ns
}

func (e *HistoryError) Error() string {
	return fmt.Sprintf("kraken: OHLC serves only the %d most recent %s bars of %s (from %s); %s is older — "+
		"deeper candles can be derived from the full trade history: open the adapter WithDerivedCandles() "+
		"or call DeriveCandles (one Trades request per 1000 trades)",
		MaxOHLC, e.Span, e.Symbol, domain.FormatNs(e.Earliest), domain.FormatNs(e.From))
}

// Unwrap makes errors.Is true for ErrHistoryTooOld and
// domain.ErrNoCapability.
func (e *HistoryError) Unwrap() []error { return []error{ErrHistoryTooOld, domain.ErrNoCapability} }

// SymbolError reports a symbol the venue does not list.
type SymbolError struct {
	Symbol      string   // as given (canonical or venue form)
	VenueSymbol string   // the Kraken form tried, e.g. XBTUSDX
	Suggestions []string // similar listed symbols, canonical form
}

func (e *SymbolError) Error() string {
	msg := fmt.Sprintf("kraken: symbol %s", e.Symbol)
	if e.VenueSymbol != "" && e.VenueSymbol != e.Symbol {
		msg += fmt.Sprintf(" (%s)", e.VenueSymbol)
	}
	msg += " is not listed on Kraken spot"
	if len(e.Suggestions) > 0 {
		msg += " (did you mean " + strings.Join(e.Suggestions, ", ") + "?)"
	}
	return msg
}

// Unwrap makes errors.Is(err, ErrInvalidSymbol) true.
func (e *SymbolError) Unwrap() error { return ErrInvalidSymbol }

// softError classifies the error array of a 2xx body for the transport:
// rate limits and service errors are retryable (rate limits with a pause),
// everything else is surfaced. Warnings (W...) alone are not errors.
func softError(errs []string, ratePause time.Duration) *httpc.SoftError {
	var hard []string
	for _, s := range errs {
		if !strings.HasPrefix(s, "W") {
			hard = append(hard, s)
		}
	}
	if len(hard) == 0 {
		return nil
	}
	se := &httpc.SoftError{Code: hard[0], Msg: strings.Join(hard, "; ")}
	switch classify(hard[0]) {
	case ErrTooManyRequests:
		se.Retryable, se.RetryAfter = true, ratePause
	case ErrVenueUnavailable:
		se.Retryable = true
	}
	return se
}
