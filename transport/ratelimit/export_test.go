package ratelimit

import (
	"context"
	"time"
)

// WaitAt is Wait that also returns the grant time (by the limiter's clock).
func (l *Limiter) WaitAt(ctx context.Context, cost Cost) (time.Time, error) {
	return l.wait(ctx, cost)
}

// OnEnqueue installs a hook called (with the lock held) whenever a request
// joins the queue, with the queue length.
func (l *Limiter) OnEnqueue(f func(queued int)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.onEnqueue = f
}

// LogLen returns the number of log entries of a rule.
func (l *Limiter) LogLen(name string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r := l.findLocked(name); r != nil {
		return r.log.len()
	}
	return -1
}
