package operators

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Clock is the source of "now" for everything in this package that reads
// time. Tests inject a fake; production code uses [SystemClock].
type Clock interface {
	Now() time.Time
}

// ClockFunc adapts a function to [Clock].
type ClockFunc func() time.Time

// Now calls f.
func (f ClockFunc) Now() time.Time { return f() }

// SystemClock is the wall clock (time.Now).
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

func clockOrSystem(c Clock) Clock {
	if c == nil {
		return SystemClock{}
	}
	return c
}

// Defaults of [ClockOffset].
const (
	DefaultClockOffsetWindow = 15
	DefaultClockOffsetMaxRTT = 2 * time.Second
)

// ClockOffset estimates the offset between a venue's clock and the local
// clock from request/response samples, as used to sign requests whose
// timestamp the venue checks (Binance recvWindow, Kraken nonces, ...).
//
// Each sample is (local send time, server time, local receive time). The
// server is assumed to have read its clock at the round trip's midpoint, so
// the sample's offset is server − (send + rtt/2). The estimate is the median
// of the most recent Window accepted samples, which ignores the occasional
// delayed response. Samples whose round trip exceeds MaxRTT, or is negative,
// are rejected: their midpoint says little about when the server read its
// clock.
//
// The zero value is usable (window 15, max RTT 2 s, system clock). A
// ClockOffset is safe for concurrent use and itself implements [Clock]: its
// Now is the local clock corrected by the offset.
type ClockOffset struct {
	// Window is how many recent samples the median is taken over; 0 means
	// DefaultClockOffsetWindow. Set before first use.
	Window int
	// MaxRTT rejects samples with a longer round trip; 0 means
	// DefaultClockOffsetMaxRTT. Set before first use.
	MaxRTT time.Duration
	// Local is the local clock; nil means the system clock. Set before
	// first use.
	Local Clock

	mu       sync.Mutex
	samples  []time.Duration // ring of accepted offsets, oldest overwritten
	next     int
	rejected int
	offset   atomic.Int64 // current estimate in nanoseconds
}

// NewClockOffset returns a ClockOffset reading local time from clock (nil
// means the system clock).
func NewClockOffset(local Clock) *ClockOffset {
	return &ClockOffset{Local: local}
}

// AddSample records one measurement and reports whether it was accepted.
// localSend and localReceive are read from the local clock around a request
// whose response carried serverTime.
func (c *ClockOffset) AddSample(localSend, serverTime, localReceive time.Time) bool {
	rtt := localReceive.Sub(localSend)
	maxRTT := c.MaxRTT
	if maxRTT <= 0 {
		maxRTT = DefaultClockOffsetMaxRTT
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if rtt < 0 || rtt > maxRTT {
		c.rejected++
		return false
	}
	mid := localSend.Add(rtt / 2)
	off := serverTime.Sub(mid)
	window := c.Window
	if window <= 0 {
		window = DefaultClockOffsetWindow
	}
	if len(c.samples) < window {
		c.samples = append(c.samples, off)
	} else {
		c.samples[c.next%len(c.samples)] = off
	}
	c.next = (c.next + 1) % window
	sorted := slices.Clone(c.samples)
	slices.Sort(sorted)
	n := len(sorted)
	med := sorted[n/2]
	if n%2 == 0 {
		med = sorted[n/2-1] + (sorted[n/2]-sorted[n/2-1])/2
	}
	c.offset.Store(int64(med))
	return true
}

// Measure performs one sample: it reads the local clock, calls serverTime,
// reads the local clock again and records the result. It returns the
// current estimate after the sample.
func (c *ClockOffset) Measure(ctx context.Context, serverTime func(context.Context) (time.Time, error)) (time.Duration, error) {
	local := clockOrSystem(c.Local)
	send := local.Now()
	st, err := serverTime(ctx)
	if err != nil {
		return c.Offset(), fmt.Errorf("clock offset: read server time: %w", err)
	}
	recv := local.Now()
	if !c.AddSample(send, st, recv) {
		return c.Offset(), fmt.Errorf("clock offset: sample rejected: round trip %v (accepted: 0 to %v)", recv.Sub(send), c.maxRTT())
	}
	return c.Offset(), nil
}

func (c *ClockOffset) maxRTT() time.Duration {
	if c.MaxRTT <= 0 {
		return DefaultClockOffsetMaxRTT
	}
	return c.MaxRTT
}

// Offset returns the current estimate of server time minus local time (0
// before the first accepted sample).
func (c *ClockOffset) Offset() time.Duration { return time.Duration(c.offset.Load()) }

// Now returns the local time corrected by the offset: the best estimate of
// the venue's clock.
func (c *ClockOffset) Now() time.Time {
	return clockOrSystem(c.Local).Now().Add(c.Offset())
}

// Samples returns how many samples are currently in the window and how many
// were rejected in total.
func (c *ClockOffset) Samples() (accepted, rejected int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.samples), c.rejected
}

// Reset forgets all samples; the offset returns to 0.
func (c *ClockOffset) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.samples = c.samples[:0]
	c.next = 0
	c.rejected = 0
	c.offset.Store(0)
}
