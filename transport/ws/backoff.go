package ws

import (
	"math"
	"math/rand/v2"
	"time"
)

// Backoff decides how long to wait before a reconnection attempt.
// attempt is 1 for the first retry after a failure and grows by one per
// consecutive retry; the client resets it after a healthy connection.
// Implementations must be safe for use by one goroutine at a time per Client.
type Backoff interface {
	Delay(attempt int) time.Duration
}

// BackoffFunc adapts a function to [Backoff] (handy in tests).
type BackoffFunc func(attempt int) time.Duration

// Delay implements [Backoff].
func (f BackoffFunc) Delay(attempt int) time.Duration { return f(attempt) }

// Default backoff bounds.
const (
	DefaultBackoffMin = time.Second
	DefaultBackoffMax = time.Minute
)

// ExpBackoff is exponential backoff with jitter. For attempt n (≥ 1) the
// ceiling is min(Max, Min·Factorⁿ) and the delay is drawn uniformly from
// [Min, ceiling]. The delay is never below Min, so even a server that keeps
// closing connections cleanly right after the handshake is not hammered.
//
// The zero value is usable: Min 1 s, Max 60 s, Factor 2, Rand from
// math/rand/v2.
type ExpBackoff struct {
	Min    time.Duration // default 1 s
	Max    time.Duration // default 60 s
	Factor float64       // default 2; values ≤ 1 are replaced by 2
	// Rand returns a float in [0, 1). Nil means math/rand/v2.Float64.
	// Inject a fixed source for deterministic tests.
	Rand func() float64
}

// Delay implements [Backoff].
func (b ExpBackoff) Delay(attempt int) time.Duration {
	lo, hi, f := b.Min, b.Max, b.Factor
	if lo <= 0 {
		lo = DefaultBackoffMin
	}
	if hi <= 0 {
		hi = DefaultBackoffMax
	}
	if hi < lo {
		hi = lo
	}
	if f <= 1 {
		f = 2
	}
	if attempt < 1 {
		attempt = 1
	}
	ceil := float64(lo) * math.Pow(f, float64(attempt))
	if ceil > float64(hi) || math.IsInf(ceil, 0) || math.IsNaN(ceil) {
		ceil = float64(hi)
	}
	r := rand.Float64
	if b.Rand != nil {
		r = b.Rand
	}
	x := r()
	if x < 0 || x >= 1 || math.IsNaN(x) {
		x = 0
	}
	return lo + time.Duration(x*(ceil-float64(lo)))
}
