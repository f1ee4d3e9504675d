package ws

import (
	"fmt"
	"time"
)

// EventKind is the kind of an [Event].
type EventKind int

// Event kinds, in the order they typically occur.
const (
	// Connected: connection Gen is live (dialled and OnConnect succeeded).
	// Planned is true (and PrevGen set) when it replaces PrevGen in a
	// make-before-break reconnection; otherwise PrevGen is the previous
	// connection (0 for the first) and frames between the two were lost, so
	// resync books / backfill trades.
	Connected EventKind = iota + 1
	// Disconnected: connection Gen ended with Err. errors.Is(Err,
	// ErrRetired) marks the planned end of an overlap (no gap);
	// ErrStopped the consumer's stop. Otherwise a reconnection follows.
	Disconnected
	// Reconnecting: waiting Delay before connection attempt Attempt
	// (1-based, reset after a healthy connection).
	Reconnecting
	// DialFailed: a connection attempt failed with Err (*DialError,
	// *ConnectError, ...). Attempt counts consecutive failures.
	DialFailed
	// PlannedReconnect: connection Gen reached Config.MaxLifetime; a
	// replacement is being dialled while Gen keeps delivering.
	PlannedReconnect
)

func (k EventKind) String() string {
	switch k {
	case Connected:
		return "connected"
	case Disconnected:
		return "disconnected"
	case Reconnecting:
		return "reconnecting"
	case DialFailed:
		return "dial-failed"
	case PlannedReconnect:
		return "planned-reconnect"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is a connection state change, delivered to Config.OnEvent from the
// client's supervisor goroutine in order. Fields not relevant to Kind are
// zero.
type Event struct {
	Kind    EventKind
	Time    int64  // Unix ns, from Config.Clock
	Gen     uint64 // connection concerned
	PrevGen uint64 // Connected: the connection before this one
	Planned bool   // Connected: replaces PrevGen without a gap
	Attempt int    // Reconnecting, DialFailed
	Delay   time.Duration
	URL     string // Connected, DialFailed (redacted)
	Err     error  // Disconnected, DialFailed
}

func (e Event) String() string {
	s := fmt.Sprintf("%s gen=%d", e.Kind, e.Gen)
	if e.PrevGen != 0 {
		s += fmt.Sprintf(" prev=%d", e.PrevGen)
	}
	if e.Planned {
		s += " planned"
	}
	if e.Attempt != 0 {
		s += fmt.Sprintf(" attempt=%d", e.Attempt)
	}
	if e.Delay != 0 {
		s += fmt.Sprintf(" delay=%v", e.Delay)
	}
	if e.Err != nil {
		s += fmt.Sprintf(" err=%v", e.Err)
	}
	return s
}
