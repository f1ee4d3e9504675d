package paginate

import (
	"errors"
	"fmt"

	"github.com/pype-go/pype/domain"
)

// FetchError wraps an error returned by a fetcher with the place it was
// returned for. errors.As/Is see through it to the venue's own error.
type FetchError struct {
	Window domain.Range // the (sub-)window requested; zero for cursor walks
	Page   int          // 1-based page number of a cursor walk; 0 for windows
	Err    error
}

func (e *FetchError) Error() string {
	if e.Page > 0 {
		return fmt.Sprintf("paginate: page %d: %v", e.Page, e.Err)
	}
	return fmt.Sprintf("paginate: window %s: %v", e.Window, e.Err)
}

func (e *FetchError) Unwrap() error { return e.Err }

// StuckCursorError reports a cursor walk whose next cursor was one it had
// already fetched: following it would loop forever. With "restart at the
// boundary millisecond" venues (Bitfinex) it means more trades share one
// millisecond than fit in a page.
type StuckCursorError struct {
	Cursor any // the repeated cursor
	Page   int // the page (1-based) that returned it
}

func (e *StuckCursorError) Error() string {
	return fmt.Sprintf("paginate: cursor %v repeated after page %d: the venue is not advancing (more rows share the cursor position than fit in one page?)", e.Cursor, e.Page)
}

// MaxPagesError reports that a cursor walk needed more pages than its
// MaxPages option allows. The items of the pages fetched were yielded; the
// rest was not fetched — the result is incomplete, not silently truncated.
type MaxPagesError struct {
	Max      int
	Position int64 // time reached (ns), 0 when unknown
}

func (e *MaxPagesError) Error() string {
	msg := fmt.Sprintf("paginate: stopped after the maximum of %d pages with more to fetch", e.Max)
	if e.Position != 0 {
		msg += " (reached " + domain.FormatNs(e.Position) + ")"
	}
	return msg + "; raise MaxPages or split the range"
}

// ErrTooLarge is the error a fetcher returns (wrapped) when the venue
// rejected a window as holding more rows than it serves per request, e.g.
// Coinbase's "exceeds 300". [OHLC] then splits the window and retries; any
// other paginator passes the error on.
var ErrTooLarge = errors.New("window holds more rows than the venue serves per request")

// TooLargeError is an [ErrTooLarge] that knows the venue's real maximum.
type TooLargeError struct {
	Max int   // rows the venue serves per request; 0 when unknown
	Err error // the venue's error, optional
}

func (e *TooLargeError) Error() string {
	msg := ErrTooLarge.Error()
	if e.Max > 0 {
		msg += fmt.Sprintf(" (max %d)", e.Max)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is makes errors.Is(err, ErrTooLarge) true.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

func (e *TooLargeError) Unwrap() error { return e.Err }

// OutOfWindowError reports a full page none of whose rows lie in the window
// requested: the fetcher ignores the window bounds, or the venue does not
// serve that range (Kraken OHLC answers every request with its 720 most
// recent bars). Treating it as "no data" would leave a silent gap.
type OutOfWindowError struct {
	Window domain.Range
	Rows   int
}

func (e *OutOfWindowError) Error() string {
	return fmt.Sprintf("paginate: window %s: the venue returned %d rows, none inside the window (fetcher ignores the window bounds, or the venue does not serve this range)", e.Window, e.Rows)
}

// OptionError reports an invalid option.
type OptionError struct {
	Option string // e.g. "OHLCOptions.Limit"
	Value  any
	Accept string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("paginate: invalid %s %v (accepted: %s)", e.Option, e.Value, e.Accept)
}

// errBreak tells an internal driver that the consumer stopped ranging.
var errBreak = errors.New("paginate: consumer stopped")
