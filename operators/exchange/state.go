package exchange

import (
	"fmt"
	"strings"
)

// OrderState is an order's lifecycle state. The zero value is
// PendingCreate: an order the client has decided to send but the venue has
// not acknowledged.
type OrderState uint8

const (
	// PendingCreate: submitted (or about to be), not yet acknowledged.
	PendingCreate OrderState = iota
	// Open: resting at the venue, nothing executed.
	Open
	// PartiallyFilled: resting, part executed.
	PartiallyFilled
	// PendingCancel: a cancel request was sent, not yet confirmed.
	PendingCancel
	// Filled: fully executed (terminal).
	Filled
	// Canceled: canceled, possibly after partial execution (terminal).
	Canceled
	// Failed: rejected by the venue or never submitted (terminal).
	Failed
	// Expired: ended by its time in force (IOC/FOK remainder, GTD) or the
	// venue (terminal).
	Expired
	numStates
)

var stateNames = [...]string{
	PendingCreate:   "PENDING_CREATE",
	Open:            "OPEN",
	PartiallyFilled: "PARTIALLY_FILLED",
	PendingCancel:   "PENDING_CANCEL",
	Filled:          "FILLED",
	Canceled:        "CANCELED",
	Failed:          "FAILED",
	Expired:         "EXPIRED",
}

// States returns every state in declaration order.
func States() []OrderState {
	s := make([]OrderState, numStates)
	for i := range s {
		s[i] = OrderState(i)
	}
	return s
}

func (s OrderState) String() string {
	if s < numStates {
		return stateNames[s]
	}
	return fmt.Sprintf("OrderState(%d)", uint8(s))
}

// MarshalText implements encoding.TextMarshaler.
func (s OrderState) MarshalText() ([]byte, error) {
	if s >= numStates {
		return nil, fmt.Errorf("exchange: invalid order state %d", uint8(s))
	}
	return []byte(stateNames[s]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *OrderState) UnmarshalText(b []byte) error {
	v, err := ParseOrderState(string(b))
	*s = v
	return err
}

// ParseOrderState reads a state name as String writes it (any case; '-'
// and ' ' accepted for '_', "CANCELLED" accepted).
func ParseOrderState(str string) (OrderState, error) {
	n := strings.ToUpper(strings.NewReplacer("-", "_", " ", "_").Replace(strings.TrimSpace(str)))
	if n == "CANCELLED" {
		return Canceled, nil
	}
	for i, name := range stateNames {
		if name == n {
			return OrderState(i), nil
		}
	}
	return PendingCreate, fmt.Errorf("exchange: invalid order state %q (accepted: %s)", str, strings.Join(stateNames[:], ", "))
}

// IsTerminal reports whether s is Filled, Canceled, Failed or Expired.
func (s OrderState) IsTerminal() bool { return s >= Filled && s < numStates }

// IsActive reports whether the order may still execute: PendingCreate,
// Open, PartiallyFilled or PendingCancel.
func (s OrderState) IsActive() bool { return s < Filled }

// rank orders states by progress; an update to a lower rank than the
// current state is out of order (stale).
func (s OrderState) rank() int {
	switch s {
	case PendingCreate:
		return 0
	case Open:
		return 1
	case PartiallyFilled, PendingCancel:
		return 2
	default:
		return 3
	}
}

// transitions is THE transition table: transitions[from][to] is true when
// an order in state from may move to state to. Everything else is refused.
// Terminal states have no way out. PendingCancel may return to
// PendingCreate, Open or PartiallyFilled: that is how a failed cancel (or
// the venue reporting the order still live) restores the order. It may
// also end FAILED: a cancel requested before the venue acknowledged the
// order, which the venue then reports rejected (the table cannot tell
// whether the order was acknowledged before PENDING_CANCEL, so the venue's
// terminal word is taken). An OPEN or PARTIALLY_FILLED order cannot fail;
// such a report is a *TransitionError.
var transitions = [numStates][numStates]bool{
	PendingCreate: {
		Open: true, PartiallyFilled: true, PendingCancel: true,
		Filled: true, Canceled: true, Failed: true, Expired: true,
	},
	Open: {
		PartiallyFilled: true, PendingCancel: true,
		Filled: true, Canceled: true, Expired: true,
	},
	PartiallyFilled: {
		PartiallyFilled: true, PendingCancel: true,
		Filled: true, Canceled: true, Expired: true,
	},
	PendingCancel: {
		PendingCreate: true, Open: true, PartiallyFilled: true,
		Filled: true, Canceled: true, Failed: true, Expired: true,
	},
}

// CanTransition reports whether the transition table allows from → to.
func CanTransition(from, to OrderState) bool {
	if from >= numStates || to >= numStates {
		return false
	}
	return transitions[from][to]
}

// TransitionError reports a state change the table refuses that is not
// merely out of order — e.g. an OPEN order reported FAILED.
type TransitionError struct {
	ClientOrderID string
	From, To      OrderState
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("exchange: order %s: transition %v -> %v is not allowed", e.ClientOrderID, e.From, e.To)
}
