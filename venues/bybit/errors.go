package bybit

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
	// ErrInvalidSymbol: the venue does not list the symbol (retCode 10001
	// "Not supported symbols", 10029, or rejected locally against the
	// cached instrument list).
	ErrInvalidSymbol = errors.New("bybit: invalid symbol")
	// ErrInvalidInterval: the kline interval is not one Bybit serves.
	ErrInvalidInterval = errors.New("bybit: invalid interval")
	// ErrInvalidParameter: another parameter was rejected (retCode 10001).
	ErrInvalidParameter = errors.New("bybit: invalid parameter")
	// ErrTooManyRequests: a rate limit was hit (retCode 10006 "Too many
	// visits!", 10018, 10429, HTTP 429). Retried by the transport before it
	// reaches callers.
	ErrTooManyRequests = errors.New("bybit: too many requests")
	// ErrIPBanned: HTTP 403 "access too frequent": the IP exceeded 600
	// requests per 5 s and is blocked for about 10 minutes. All requests of
	// the adapter are paused meanwhile.
	ErrIPBanned = errors.New("bybit: IP rate limit breached (HTTP 403)")
	// ErrUnauthorized: key, signature or timestamp rejected (10002–10005,
	// 10007, 10009, 10010, HTTP 401).
	ErrUnauthorized = errors.New("bybit: unauthorized")
	// ErrVenueUnavailable: server timeout or error (10000, 10016, HTTP
	// 5xx). Retried by the transport before it reaches callers.
	ErrVenueUnavailable = errors.New("bybit: venue unavailable")
)

// Bybit retCodes pype branches on.
const (
	codeServerTimeout   = 10000
	codeParams          = 10001
	codeTimeWindow      = 10002
	codeInvalidKey      = 10003
	codeSign            = 10004
	codePermission      = 10005
	codeTooManyVisits   = 10006
	codeAuthFailed      = 10007
	codeIPBanned        = 10009
	codeUnmatchedIP     = 10010
	codeServerError     = 10016
	codeRouteNotFound   = 10017
	codeIPRateLimit     = 10018
	codeSymbolInvalid   = 10029
	codeSystemFrequency = 10429
)

// APIError is an error answered by Bybit: a retCode inside an HTTP 200 body
// (Status 200) or an HTTP error status, with the endpoint. errors.Is maps
// it to the sentinels above; errors.As also finds the transport's
// *httpc.SoftError or *httpc.HTTPError.
type APIError struct {
	Status     int    // HTTP status
	Code       int    // Bybit retCode (0 if the body had none)
	Msg        string // retMsg, or the start of a non-JSON body
	Endpoint   string // e.g. "GET /v5/market/kline"
	Params     string // the request's query, for context
	RetryAfter time.Duration
	Attempts   int
	cause      error // *httpc.SoftError or *httpc.HTTPError
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("bybit: ")
	if e.Endpoint != "" {
		b.WriteString(e.Endpoint)
		if e.Params != "" {
			b.WriteString("?" + e.Params)
		}
		b.WriteString(": ")
	}
	if e.Status != 0 && e.Status != http.StatusOK {
		fmt.Fprintf(&b, "HTTP %d %s", e.Status, http.StatusText(e.Status))
		if e.Code != 0 || e.Msg != "" {
			b.WriteString(": ")
		}
	}
	if e.Code != 0 {
		fmt.Fprintf(&b, "retCode %d", e.Code)
		if e.Msg != "" {
			b.WriteString(" ")
		}
	}
	if e.Msg != "" {
		b.WriteString(strconvQuote(e.Msg))
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %v)", e.RetryAfter)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	if h := e.hint(); h != "" {
		b.WriteString(" — " + h)
	}
	return b.String()
}

func strconvQuote(s string) string { return fmt.Sprintf("%q", s) }

func (e *APIError) hint() string {
	switch classify(e.Status, e.Code, e.Msg) {
	case ErrInvalidSymbol:
		return "Bybit symbols are BASEQUOTE per category (spot BTCUSDT, linear BTCUSDT/BTCPERP, inverse BTCUSD); pype accepts BTC/USDT, BTC/USDT:perp, BTC/USD:perp and checks them against instruments-info"
	case ErrInvalidInterval:
		return "accepted spans: " + acceptedSpans()
	case ErrIPBanned:
		return "the IP sent more than 600 requests in 5 s; Bybit blocks it for about 10 minutes"
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
	case ErrTooManyRequests, ErrVenueUnavailable, ErrIPBanned:
		return true
	}
	return false
}

// classify maps a status, retCode and message to a sentinel.
func classify(status, code int, msg string) error {
	switch code {
	case codeParams:
		m := strings.ToLower(msg)
		switch {
		case strings.Contains(m, "symbol"):
			return ErrInvalidSymbol
		case strings.Contains(m, "interval") || strings.Contains(m, "period"):
			return ErrInvalidInterval
		}
		return ErrInvalidParameter
	case codeSymbolInvalid:
		return ErrInvalidSymbol
	case codeTooManyVisits, codeIPRateLimit, codeSystemFrequency:
		return ErrTooManyRequests
	case codeServerTimeout, codeServerError:
		return ErrVenueUnavailable
	case codeTimeWindow, codeInvalidKey, codeSign, codePermission, codeAuthFailed, codeIPBanned, codeUnmatchedIP:
		return ErrUnauthorized
	}
	switch {
	case status == http.StatusForbidden:
		return ErrIPBanned
	case status == http.StatusTooManyRequests:
		return ErrTooManyRequests
	case status == http.StatusUnauthorized:
		return ErrUnauthorized
	case status >= 500:
		return ErrVenueUnavailable
	}
	return nil
}

// retryable reports whether a retCode is transient: Do retries it.
func retryable(code int) bool {
	switch code {
	case codeServerTimeout, codeServerError, codeTooManyVisits, codeIPRateLimit, codeSystemFrequency:
		return true
	}
	return false
}

// IntervalError reports a candle span Bybit does not serve. It unwraps to
// both ErrInvalidInterval and domain.ErrNoCapability.
type IntervalError struct {
	Span string
}

func (e *IntervalError) Error() string {
	return fmt.Sprintf("bybit: candle span %q is not served (accepted: %s)", e.Span, acceptedSpans())
}

// Unwrap makes errors.Is true for ErrInvalidInterval and
// domain.ErrNoCapability.
func (e *IntervalError) Unwrap() []error {
	return []error{ErrInvalidInterval, domain.ErrNoCapability}
}

// SymbolError reports a symbol the venue does not list.
type SymbolError struct {
	Symbol      string   // as given (canonical or venue form)
	Category    Category // the category looked in
	VenueSymbol string   // the Bybit form tried, e.g. BTCUSDX
	Suggestions []string // similar listed symbols, canonical form
	Reason      string   // why no mapping exists, when not simply unlisted
}

func (e *SymbolError) Error() string {
	msg := fmt.Sprintf("bybit: symbol %s", e.Symbol)
	if e.VenueSymbol != "" && e.VenueSymbol != e.Symbol {
		msg += fmt.Sprintf(" (%s)", e.VenueSymbol)
	}
	if e.Reason != "" {
		msg += ": " + e.Reason
	} else {
		msg += " is not listed on Bybit"
		if e.Category != "" {
			msg += " " + string(e.Category)
		}
	}
	if len(e.Suggestions) > 0 {
		msg += " (did you mean " + strings.Join(e.Suggestions, ", ") + "?)"
	}
	return msg
}

// Unwrap makes errors.Is(err, ErrInvalidSymbol) true.
func (e *SymbolError) Unwrap() error { return ErrInvalidSymbol }

// TradeHistoryError reports a trade backfill reaching further back than
// Bybit's REST API serves: /v5/market/recent-trade only returns the latest
// trades (60 on spot, 1000 on linear/inverse). It unwraps to
// domain.ErrNoCapability; nothing is yielded for such a range.
type TradeHistoryError struct {
	Symbol   domain.Symbol
	Category Category
	Range    domain.Range // the range asked for
	Oldest   int64        // time (ns) of the oldest trade the venue served
	Served   int          // trades the venue served (its maximum)
}

func (e *TradeHistoryError) Error() string {
	return fmt.Sprintf("bybit: %s trades from %s cannot be backfilled over REST: /v5/market/recent-trade serves only the latest %d %s trades (the oldest now is at %s); "+
		"older trades are in Bybit's public archive %s (daily CSV files: spot/%s/, trading/%s/)",
		e.Symbol, domain.FormatNs(e.Range.Start), e.Served, e.Category, domain.FormatNs(e.Oldest), ArchiveURL,
		venueName(e.Symbol), venueName(e.Symbol))
}

func venueName(s domain.Symbol) string { return s.Base + s.Quote }

// Unwrap makes errors.Is(err, domain.ErrNoCapability) true.
func (e *TradeHistoryError) Unwrap() error {
	return &domain.CapabilityError{Venue: Name, What: "trade history older than the latest " + fmt.Sprint(e.Served) + " trades over REST", Accept: "recent ranges only; see " + ArchiveURL}
}

// SubscribeError is a subscription the WebSocket server refused.
type SubscribeError struct {
	Category Category
	Topics   []string
	Msg      string // ret_msg
}

func (e *SubscribeError) Error() string {
	return fmt.Sprintf("bybit: %s WebSocket refused subscribe %s: %s", e.Category, strings.Join(e.Topics, ","), e.Msg)
}

// softToAPI converts transport errors to *APIError.
func toAPIError(err error, endpoint, params string) error {
	var se *httpc.SoftError
	if errors.As(err, &se) {
		code := 0
		_, _ = fmt.Sscan(se.Code, &code)
		return &APIError{Status: se.Status, Code: code, Msg: se.Msg, Endpoint: endpoint, Params: params,
			RetryAfter: se.RetryAfter, Attempts: se.Attempts, cause: se}
	}
	var he *httpc.HTTPError
	if errors.As(err, &he) {
		code := 0
		_, _ = fmt.Sscan(he.VenueCode, &code)
		msg := he.VenueMsg
		if msg == "" && code == 0 {
			msg = strings.TrimSpace(he.Body)
			if len(msg) > 200 {
				msg = msg[:200] + "…"
			}
		}
		return &APIError{Status: he.Status, Code: code, Msg: msg, Endpoint: endpoint, Params: params,
			RetryAfter: he.RetryAfter, Attempts: he.Attempts, cause: he}
	}
	return fmt.Errorf("bybit: %s: %w", endpoint, err)
}
