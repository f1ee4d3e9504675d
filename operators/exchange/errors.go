package exchange

import (
	"errors"
	"fmt"
)

// UnknownOrderError reports an update, fill or request for an order the
// tracker does not know.
type UnknownOrderError struct {
	Ref OrderRef
}

func (e *UnknownOrderError) Error() string {
	return fmt.Sprintf("exchange: unknown order %s", e.Ref)
}

// DuplicateOrderError reports tracking a client order id twice.
type DuplicateOrderError struct {
	ClientOrderID string
}

func (e *DuplicateOrderError) Error() string {
	return fmt.Sprintf("exchange: client order id %q is already tracked", e.ClientOrderID)
}

// NotActiveError reports an operation (e.g. cancel) on an order that has
// already ended.
type NotActiveError struct {
	ClientOrderID string
	State         OrderState
}

func (e *NotActiveError) Error() string {
	return fmt.Sprintf("exchange: order %s is %v, not active", e.ClientOrderID, e.State)
}

// ErrOrderNotFound is returned (wrapped) by OrderGetter and OrderCanceler
// implementations when the venue does not know the order. The tracker
// counts consecutive not-found answers and moves the order to its lost set
// after a threshold.
var ErrOrderNotFound = errors.New("exchange: order not found at venue")

// RejectedError is returned by OrderPlacer implementations when the venue
// definitively refused an order (bad parameters, insufficient balance,
// post-only would cross...). Only a RejectedError moves a submitted order
// to FAILED; any other placement error (timeout, connection reset, 5xx) is
// ambiguous — the order may exist — so it stays PENDING_CREATE until the
// venue reports it or it is declared lost.
type RejectedError struct {
	Code   string // the venue's error code, if any
	Reason string
}

func (e *RejectedError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("exchange: order rejected by venue: %s (code %s)", e.Reason, e.Code)
	}
	return "exchange: order rejected by venue: " + e.Reason
}

// IsRejection reports whether err (or an error it wraps) is a
// [*RejectedError].
func IsRejection(err error) bool {
	var r *RejectedError
	return errors.As(err, &r)
}
