package exchange

import (
	"fmt"

	"github.com/pype-go/pype/operators"
)

// OrderEventType says what happened to an order.
type OrderEventType uint8

const (
	// OrderCreated: the venue acknowledged the order (once per order).
	OrderCreated OrderEventType = iota + 1
	// OrderFilled: one fill was applied (once per distinct fill).
	OrderFilled
	// OrderCompleted: the order is fully filled (terminal, once).
	OrderCompleted
	// OrderCanceled: the order was canceled (terminal, once).
	OrderCanceled
	// OrderFailed: the order was rejected or never submitted (terminal, once).
	OrderFailed
	// OrderExpired: the order expired (terminal, once).
	OrderExpired
	// OrderCancelFailed: a cancel request failed; the order stays live.
	OrderCancelFailed
	// OrderLost: the venue answered "not found" too many times in a row;
	// the order moved to the lost set. Not terminal.
	OrderLost
	// OrderReconciled: the venue reported a lost order again; it is
	// tracked normally from here on.
	OrderReconciled
)

var eventNames = map[OrderEventType]string{
	OrderCreated:      "created",
	OrderFilled:       "filled",
	OrderCompleted:    "completed",
	OrderCanceled:     "canceled",
	OrderFailed:       "failed",
	OrderExpired:      "expired",
	OrderCancelFailed: "cancel_failed",
	OrderLost:         "lost",
	OrderReconciled:   "reconciled",
}

func (t OrderEventType) String() string {
	if n, ok := eventNames[t]; ok {
		return n
	}
	return fmt.Sprintf("OrderEventType(%d)", uint8(t))
}

// IsTerminal reports whether the event ends the order (completed,
// canceled, failed, expired). Exactly one terminal event is published per
// order.
func (t OrderEventType) IsTerminal() bool {
	return t == OrderCompleted || t == OrderCanceled || t == OrderFailed || t == OrderExpired
}

// MarshalText implements encoding.TextMarshaler.
func (t OrderEventType) MarshalText() ([]byte, error) {
	if n, ok := eventNames[t]; ok {
		return []byte(n), nil
	}
	return nil, fmt.Errorf("exchange: invalid order event type %d", uint8(t))
}

// OrderEvent is published on the tracker's topics. Order is a copy of the
// order after the change.
type OrderEvent struct {
	Type  OrderEventType `json:"type"`
	Order Order          `json:"order"`
	// Fill is the fill applied (OrderFilled only).
	Fill *Fill `json:"fill,omitempty"`
	// Reason explains failures, cancellations, expiries and cancel
	// failures.
	Reason string `json:"reason,omitempty"`
	// IncompleteFills is set on OrderCompleted when the venue reported the
	// order filled but not all fills arrived within the tracker's fill
	// grace period; later fills still produce OrderFilled events.
	IncompleteFills bool `json:"incomplete_fills,omitempty"`
	// Timestamp is the local time of the event (ns).
	Timestamp int64 `json:"timestamp"`
}

// Topics. All order topics are lossless. OrderEvents carries every event
// of every type in order, so a subscriber that needs "filled before
// completed" ordering subscribes there; the per-type topics are for
// subscribers interested in one kind only.
var (
	OrderEvents            = operators.NewTopic[OrderEvent]("exchange.order")
	OrderCreatedTopic      = operators.NewTopic[OrderEvent]("exchange.order.created")
	OrderFilledTopic       = operators.NewTopic[OrderEvent]("exchange.order.filled")
	OrderCompletedTopic    = operators.NewTopic[OrderEvent]("exchange.order.completed")
	OrderCanceledTopic     = operators.NewTopic[OrderEvent]("exchange.order.canceled")
	OrderFailedTopic       = operators.NewTopic[OrderEvent]("exchange.order.failed")
	OrderExpiredTopic      = operators.NewTopic[OrderEvent]("exchange.order.expired")
	OrderCancelFailedTopic = operators.NewTopic[OrderEvent]("exchange.order.cancel_failed")
	OrderLostTopic         = operators.NewTopic[OrderEvent]("exchange.order.lost")
	OrderReconciledTopic   = operators.NewTopic[OrderEvent]("exchange.order.reconciled")
)

// TopicFor returns the per-type topic of t.
func TopicFor(t OrderEventType) operators.Topic[OrderEvent] {
	switch t {
	case OrderCreated:
		return OrderCreatedTopic
	case OrderFilled:
		return OrderFilledTopic
	case OrderCompleted:
		return OrderCompletedTopic
	case OrderCanceled:
		return OrderCanceledTopic
	case OrderFailed:
		return OrderFailedTopic
	case OrderExpired:
		return OrderExpiredTopic
	case OrderCancelFailed:
		return OrderCancelFailedTopic
	case OrderLost:
		return OrderLostTopic
	case OrderReconciled:
		return OrderReconciledTopic
	}
	return OrderEvents
}
