package ws

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Test with errors.Is.
var (
	// ErrSilence: the silence watchdog saw no frame for Config.SilenceTimeout.
	ErrSilence = errors.New("ws: connection silent")
	// ErrPongTimeout: a protocol ping got no pong within Config.PongTimeout
	// and nothing else arrived meanwhile.
	ErrPongTimeout = errors.New("ws: pong timeout")
	// ErrRetired: the connection was closed on purpose after a planned
	// (make-before-break) reconnection; its successor was already live, so
	// there is no gap.
	ErrRetired = errors.New("ws: connection retired after planned reconnect")
	// ErrStopped: the stream was stopped by its consumer (context cancelled
	// or range loop left).
	ErrStopped = errors.New("ws: stream stopped")
	// ErrNotConnected: Send was called while no stream is running.
	ErrNotConnected = errors.New("ws: not connected (no stream running)")
	// ErrBusy: StreamRaw/Stream was started while another stream of the same
	// Client is running. A Client runs one stream at a time.
	ErrBusy = errors.New("ws: client already streaming")
	// ErrReadAfterConnect: Session.Read was called after OnConnect returned;
	// from then on frames go to the stream.
	ErrReadAfterConnect = errors.New("ws: Session.Read is only allowed inside OnConnect")
)

// URLError reports a URL the client cannot dial. It is permanent: the
// stream ends with it instead of retrying.
type URLError struct {
	URL    string // as given (user info removed, RedactURL applied)
	Reason string
	Err    error // parse error, if any
}

func (e *URLError) Error() string {
	s := fmt.Sprintf("ws: invalid URL %q: %s", e.URL, e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *URLError) Unwrap() error { return e.Err }

// DialError reports a failed connection attempt (TCP/TLS failure or a
// rejected WebSocket handshake). It is retried with backoff and reported
// through a DialFailed [Event]; it ends the stream only once
// Config.MaxAttempts consecutive attempts failed (see [GiveUpError]).
type DialError struct {
	URL        string // user info removed, RedactURL applied
	StatusCode int    // HTTP status of a rejected handshake (e.g. 403, 429); 0 if none
	Body       string // start of the rejection body (≤ 512 bytes)
	Err        error
}

func (e *DialError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ws: dial %s", e.URL)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": handshake rejected with HTTP %d", e.StatusCode)
		if e.Body != "" {
			fmt.Fprintf(&b, " (%s)", e.Body)
		}
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *DialError) Unwrap() error { return e.Err }

// ConnectError reports a failed OnConnect hook. It is retried like a dial
// failure unless the hook wrapped its error with [Permanent].
type ConnectError struct {
	Gen uint64
	Err error
}

func (e *ConnectError) Error() string {
	return fmt.Sprintf("ws: OnConnect failed on connection %d: %v", e.Gen, e.Err)
}

func (e *ConnectError) Unwrap() error { return e.Err }

// GiveUpError ends a stream after Config.MaxAttempts consecutive failed
// connection attempts. Err is the last attempt's error (usually a
// *DialError).
type GiveUpError struct {
	Attempts int
	Err      error
}

func (e *GiveUpError) Error() string {
	return fmt.Sprintf("ws: giving up after %d failed connection attempts: %v", e.Attempts, e.Err)
}

func (e *GiveUpError) Unwrap() error { return e.Err }

// CloseError is a close frame received from the server.
type CloseError struct {
	Code   int // RFC 6455 status code, e.g. 1000 normal, 1001 going away, 1008 policy
	Reason string
}

func (e *CloseError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("ws: server closed the connection with status %d", e.Code)
	}
	return fmt.Sprintf("ws: server closed the connection with status %d: %s", e.Code, e.Reason)
}

// ParseError is yielded by [Stream] when the parse hook fails on a frame.
// It does not end the stream: the consumer decides whether to continue.
type ParseError struct {
	Frame Frame
	Err   error
}

func (e *ParseError) Error() string {
	const max = 200
	d := e.Frame.Data
	suffix := ""
	if len(d) > max {
		d, suffix = d[:max], "…"
	}
	return fmt.Sprintf("ws: parse frame (connection %d, %d bytes %q%s): %v",
		e.Frame.Gen, len(e.Frame.Data), d, suffix, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// Permanent marks err (returned from OnConnect or Config.URLFunc) as not
// worth retrying: the stream ends with it. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// IsPermanent reports whether err was marked with [Permanent] or is a
// [*URLError].
func IsPermanent(err error) bool {
	var p *permanentError
	var u *URLError
	return errors.As(err, &p) || errors.As(err, &u)
}
