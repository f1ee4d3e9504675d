package ws

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// limiter paces sends (GCRA: a token bucket of size burst refilled every
// interval) on the client's Clock. golang.org/x/time/rate would do, but its
// pinned version needs a newer go directive than go.mod declares.
type limiter struct {
	clock    Clock
	interval time.Duration
	burst    int

	mu  sync.Mutex
	tat time.Time // theoretical arrival time of the next message
}

func newLimiter(clock Clock, perSecond float64, burst int) *limiter {
	return &limiter{clock: clock, interval: time.Duration(float64(time.Second) / perSecond), burst: burst}
}

// wait blocks until a message may be sent. If ctx's deadline comes before
// that, it fails at once without using a slot.
func (l *limiter) wait(ctx context.Context) error {
	l.mu.Lock()
	now := l.clock.Now()
	tat := l.tat
	if tat.Before(now) {
		tat = now
	}
	d := tat.Add(-time.Duration(l.burst-1) * l.interval).Sub(now)
	if dl, ok := ctx.Deadline(); ok && d > 0 && d > time.Until(dl) {
		l.mu.Unlock()
		return fmt.Errorf("next slot in %v is after the context deadline: %w", d, context.DeadlineExceeded)
	}
	l.tat = tat.Add(l.interval)
	l.mu.Unlock()
	if d <= 0 {
		return ctx.Err()
	}
	t := l.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
		return nil
	}
}
