package operators

import (
	"sync/atomic"
	"time"
)

// NonceCreator issues nonces derived from a clock in a fixed unit (seconds,
// milliseconds or microseconds since the Unix epoch). [NonceCreator.TrackingNonce]
// returns a value strictly greater than every value the creator returned
// before, from any goroutine, even when the clock stands still or goes
// backwards: when the clock's value is not greater than the last nonce, the
// last nonce plus one is returned. It uses a lock-free compare-and-swap loop.
//
// The zero value issues microsecond nonces from the system clock.
type NonceCreator struct {
	unit  time.Duration
	clock Clock
	last  atomic.Int64
}

// NonceOption configures a [NonceCreator].
type NonceOption func(*NonceCreator)

// WithNonceClock makes the creator read time from c instead of the system
// clock.
func WithNonceClock(c Clock) NonceOption { return func(n *NonceCreator) { n.clock = c } }

// WithNonceStart makes every nonce strictly greater than last, e.g. the
// last nonce a previous process used with the same API key.
func WithNonceStart(last int64) NonceOption { return func(n *NonceCreator) { n.last.Store(last) } }

func newNonceCreator(unit time.Duration, opts []NonceOption) *NonceCreator {
	n := &NonceCreator{unit: unit}
	for _, o := range opts {
		o(n)
	}
	return n
}

// ForSeconds returns a creator of nonces in seconds since the epoch.
func ForSeconds(opts ...NonceOption) *NonceCreator { return newNonceCreator(time.Second, opts) }

// ForMilliseconds returns a creator of nonces in milliseconds since the epoch.
func ForMilliseconds(opts ...NonceOption) *NonceCreator {
	return newNonceCreator(time.Millisecond, opts)
}

// ForMicroseconds returns a creator of nonces in microseconds since the epoch.
func ForMicroseconds(opts ...NonceOption) *NonceCreator {
	return newNonceCreator(time.Microsecond, opts)
}

// Unit returns the nonce unit (time.Second, time.Millisecond or
// time.Microsecond).
func (n *NonceCreator) Unit() time.Duration {
	if n.unit <= 0 {
		return time.Microsecond
	}
	return n.unit
}

// TrackingNonce returns a nonce for the current time, strictly greater than
// every nonce returned before.
func (n *NonceCreator) TrackingNonce() int64 {
	return n.TrackingNonceAt(clockOrSystem(n.clock).Now())
}

// TrackingNonceAt returns the nonce for t in the creator's unit, or the last
// nonce plus one when that is not greater than the last nonce.
func (n *NonceCreator) TrackingNonceAt(t time.Time) int64 {
	candidate := t.UnixNano() / int64(n.Unit())
	for {
		last := n.last.Load()
		next := candidate
		if next <= last {
			next = last + 1
		}
		if n.last.CompareAndSwap(last, next) {
			return next
		}
	}
}

// Last returns the last nonce returned (or the start value).
func (n *NonceCreator) Last() int64 { return n.last.Load() }
