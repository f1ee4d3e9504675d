package ratelimit

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Rule limits the units granted within any rolling Interval to Limit.
type Rule struct {
	Name     string        // unique within a limiter, e.g. "REQUEST_WEIGHT"
	Limit    int           // units per Interval, > 0
	Interval time.Duration // > 0
}

// Weight is the number of units a request consumes from one rule.
type Weight struct {
	Rule string
	N    int
}

// Cost lists what one request consumes, per rule. A rule appears at most
// once; rules the request does not touch are left out. Build a request's
// Cost once (for example in an endpoint table) and reuse it: Wait does not
// retain or modify it, and passing a prebuilt Cost keeps the hot path free
// of allocations.
type Cost []Weight

// Option configures a [Limiter] built by [New].
type Option func(*Limiter)

// WithClock sets the limiter's clock (default [SystemClock]).
func WithClock(c Clock) Option { return func(l *Limiter) { l.clock = c } }

// Limiter is an exact sliding-window limiter over several rules with FIFO
// waiters. It is safe for concurrent use. See the package documentation for
// the algorithm. The zero value has no rules and uses the system clock.
type Limiter struct {
	mu      sync.Mutex
	clock   Clock
	epoch   time.Time // offsets below are nanoseconds since epoch
	inited  bool
	lastNow int64 // the clock never appears to go backwards

	rules []*rule
	queue []*waiter

	pauseUntil int64
	waits      int64
	waited     time.Duration
	pauses     int64

	onEnqueue func(queued int) // test hook, called with mu held
}

type waiter struct {
	cost   Cost
	signal chan struct{} // buffered(1): re-check, you are head or done
	since  int64
	at     int64 // grant time
	done   bool
	err    error
}

// New returns a limiter enforcing rules (which may be empty and set later
// with [Limiter.SetRules]).
func New(rules []Rule, opts ...Option) (*Limiter, error) {
	l := &Limiter{}
	for _, o := range opts {
		o(l)
	}
	if err := l.SetRules(rules...); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *Limiter) initLocked() {
	if l.inited {
		return
	}
	if l.clock == nil {
		l.clock = SystemClock{}
	}
	l.epoch = l.clock.Now()
	l.inited = true
}

func (l *Limiter) nowLocked() int64 {
	now := int64(l.clock.Now().Sub(l.epoch))
	if now < l.lastNow {
		now = l.lastNow
	}
	l.lastNow = now
	return now
}

func (l *Limiter) offset(t time.Time) int64 { return int64(t.Sub(l.epoch)) }

func (l *Limiter) timeAt(off int64) time.Time { return l.epoch.Add(time.Duration(off)) }

// SetRules replaces the limiter's rules. Rules whose name is already known
// keep their log (a lowered limit takes effect at once, a raised one lets
// waiters through at once). Queued waiters whose cost no longer fits any
// limit, or names a removed rule, fail with a [*CostError].
func (l *Limiter) SetRules(rules ...Rule) error {
	for i, r := range rules {
		switch {
		case r.Name == "":
			return &RuleError{Rule: r, Reason: "empty name"}
		case r.Limit <= 0:
			return &RuleError{Rule: r, Reason: "limit must be > 0"}
		case r.Interval <= 0:
			return &RuleError{Rule: r, Reason: "interval must be > 0"}
		}
		for _, p := range rules[:i] {
			if p.Name == r.Name {
				return &RuleError{Rule: r, Reason: "duplicate rule name (give limits of the same kind distinct names, e.g. ORDERS_10S and ORDERS_1D)"}
			}
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.initLocked()
	next := make([]*rule, 0, len(rules))
	for _, r := range rules {
		if s := l.findLocked(r.Name); s != nil {
			s.set(r)
			next = append(next, s)
		} else {
			next = append(next, newRule(r))
		}
	}
	l.rules = next
	if len(l.queue) > 0 {
		l.grantLocked(l.nowLocked())
		if len(l.queue) > 0 {
			notify(l.queue[0])
		}
	}
	return nil
}

// Rules returns the current rules.
func (l *Limiter) Rules() []Rule {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Rule, len(l.rules))
	for i, r := range l.rules {
		out[i] = r.Rule
	}
	return out
}

func (l *Limiter) findLocked(name string) *rule {
	for _, r := range l.rules {
		if r.Name == name {
			return r
		}
	}
	return nil
}

func (l *Limiter) ruleNamesLocked() []string {
	names := make([]string, len(l.rules))
	for i, r := range l.rules {
		names[i] = r.Name
	}
	return names
}

// checkLocked reports a cost that can never be granted.
func (l *Limiter) checkLocked(cost Cost) error {
	for i, w := range cost {
		if w.N < 0 {
			return &CostError{Rule: strings.Clone(w.Rule), N: w.N, Reason: "negative cost"}
		}
		r := l.findLocked(w.Rule)
		if r == nil {
			return &CostError{Rule: strings.Clone(w.Rule), N: w.N, Reason: "unknown rule", Known: l.ruleNamesLocked()}
		}
		if w.N > r.Limit {
			return &CostError{Rule: strings.Clone(w.Rule), N: w.N, Limit: r.Limit,
				Reason: fmt.Sprintf("exceeds the limit %d per %v, so it can never be granted", r.Limit, r.Interval)}
		}
		for _, p := range cost[:i] {
			if p.Rule == w.Rule {
				return &CostError{Rule: strings.Clone(w.Rule), N: w.N, Limit: r.Limit, Reason: "rule named twice in one cost"}
			}
		}
	}
	return nil
}

// fitsLocked reports whether cost can be granted at now (cost is valid).
func (l *Limiter) fitsLocked(now int64, cost Cost) bool {
	if now < l.pauseUntil {
		return false
	}
	for _, w := range cost {
		r := l.findLocked(w.Rule)
		r.prune(now)
		if r.used+w.N > r.Limit {
			return false
		}
	}
	return true
}

func (l *Limiter) takeLocked(now int64, cost Cost) {
	for _, w := range cost {
		r := l.findLocked(w.Rule)
		r.record(now, w.N)
		r.acquired += int64(w.N)
	}
}

// delayLocked returns how long until cost fits; fitsLocked(now, cost) has
// just returned false.
func (l *Limiter) delayLocked(now int64, cost Cost) time.Duration {
	d := time.Duration(l.pauseUntil - now)
	for _, w := range cost {
		if r := l.findLocked(w.Rule); r != nil {
			r.prune(now)
			d = max(d, r.delay(now, w.N))
		}
	}
	return max(d, 1)
}

// Wait blocks until cost can be granted under every rule, grants it and
// returns nil. Requests are served in arrival order. It returns a
// [*CostError] at once for a cost that can never be granted, and the
// context's error if ctx ends first (nothing is then consumed). If ctx ends
// at the very moment the cost is granted, Wait may return nil; the cost is
// then consumed.
func (l *Limiter) Wait(ctx context.Context, cost Cost) error {
	_, err := l.wait(ctx, cost)
	return err
}

// wait is Wait that also returns the grant time.
func (l *Limiter) wait(ctx context.Context, cost Cost) (time.Time, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, err
	}
	l.mu.Lock()
	l.initLocked()
	if err := l.checkLocked(cost); err != nil {
		l.mu.Unlock()
		return time.Time{}, err
	}
	now := l.nowLocked()
	if len(l.queue) == 0 && l.fitsLocked(now, cost) {
		l.takeLocked(now, cost)
		t := l.timeAt(now)
		l.mu.Unlock()
		return t, nil
	}
	w := &waiter{cost: slices.Clone(cost), signal: make(chan struct{}, 1), since: now}
	l.queue = append(l.queue, w)
	l.waits++
	if l.onEnqueue != nil {
		l.onEnqueue(len(l.queue))
	}
	l.mu.Unlock()
	return l.block(ctx, w)
}

func (l *Limiter) block(ctx context.Context, w *waiter) (time.Time, error) {
	for {
		l.mu.Lock()
		if w.done {
			l.mu.Unlock()
			return l.result(w)
		}
		delay := time.Duration(-1)
		if l.queue[0] == w {
			now := l.nowLocked()
			l.grantLocked(now)
			if w.done {
				l.mu.Unlock()
				return l.result(w)
			}
			delay = l.delayLocked(now, w.cost)
		}
		l.mu.Unlock()

		var timer Timer
		var fire <-chan time.Time
		if delay >= 0 {
			timer = l.clock.NewTimer(delay)
			fire = timer.C()
		}
		select {
		case <-w.signal:
		case <-fire:
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return l.cancel(ctx, w)
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

func (l *Limiter) result(w *waiter) (time.Time, error) {
	if w.err != nil {
		return time.Time{}, w.err
	}
	return l.timeAt(w.at), nil
}

func (l *Limiter) cancel(ctx context.Context, w *waiter) (time.Time, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if w.done {
		return l.result(w)
	}
	i := slices.Index(l.queue, w)
	l.queue = slices.Delete(l.queue, i, i+1)
	now := l.nowLocked()
	l.waited += time.Duration(now - w.since)
	if i == 0 && len(l.queue) > 0 {
		l.grantLocked(now)
		if len(l.queue) > 0 {
			notify(l.queue[0])
		}
	}
	return time.Time{}, fmt.Errorf("ratelimit: wait: %w", ctx.Err())
}

// grantLocked serves the queue from its head for as long as the head fits,
// waking every waiter it serves and the new head.
func (l *Limiter) grantLocked(now int64) {
	head := l.queue[0]
	for len(l.queue) > 0 {
		w := l.queue[0]
		if err := l.checkLocked(w.cost); err != nil {
			w.err = err
		} else if !l.fitsLocked(now, w.cost) {
			break
		} else {
			l.takeLocked(now, w.cost)
			w.at = now
		}
		w.done = true
		l.waited += time.Duration(now - w.since)
		l.queue[0] = nil
		l.queue = l.queue[1:]
		notify(w)
	}
	if len(l.queue) > 0 && l.queue[0] != head {
		notify(l.queue[0])
	}
}

func notify(w *waiter) {
	select {
	case w.signal <- struct{}{}:
	default:
	}
}

// TryAcquire grants cost if it fits now and nobody is waiting, and reports
// whether it did. It never blocks. The error is a [*CostError] for a cost
// that can never be granted.
func (l *Limiter) TryAcquire(cost Cost) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.initLocked()
	if err := l.checkLocked(cost); err != nil {
		return false, err
	}
	now := l.nowLocked()
	if len(l.queue) > 0 || !l.fitsLocked(now, cost) {
		return false, nil
	}
	l.takeLocked(now, cost)
	return true, nil
}

// Observe feeds back the venue's own count of units used under rule at time
// at (for example X-MBX-USED-WEIGHT-1M → "REQUEST_WEIGHT"). When the venue
// counted more than the limiter granted in the window ending at at, the
// difference is recorded as granted at at, so the server's count wins. A
// lower count is ignored (requests still in flight), as are unknown rules and
// observations older than the rule's interval.
func (l *Limiter) Observe(ruleName string, used int, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.initLocked()
	r := l.findLocked(ruleName)
	if r == nil {
		return
	}
	now := l.nowLocked()
	a := min(l.offset(at), now)
	if a+r.interval <= now {
		return
	}
	r.prune(now)
	extra := used - r.countAt(a)
	if extra <= 0 {
		return
	}
	if r.log.len() > 0 {
		a = max(a, r.log.at(r.log.len()-1).t)
	}
	r.record(a, extra)
	r.observed += int64(extra)
}

// PauseUntil blocks every request until t (HTTP 429/418 with Retry-After).
// An earlier t than a pause already in force has no effect.
func (l *Limiter) PauseUntil(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.initLocked()
	if p := l.offset(t); p > l.pauseUntil {
		l.pauseUntil = p
		l.pauses++
	}
}

// Stats is a snapshot of a limiter's counters.
type Stats struct {
	Waits       int64         // requests that had to queue
	Waited      time.Duration // total time spent queued (served or cancelled)
	Queued      int           // requests queued now
	Pauses      int64         // PauseUntil calls that extended the pause
	PausedUntil time.Time     // end of the latest pause (zero if never paused)
	Rules       []RuleStats
}

// RuleStats are the counters of one rule.
type RuleStats struct {
	Rule
	Used     int   // units counted in the current window
	Acquired int64 // units granted since the rule was created
	Observed int64 // units added by server feedback (Observe)
}

// Stats returns a snapshot of the counters.
func (l *Limiter) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.initLocked()
	now := l.nowLocked()
	s := Stats{Waits: l.waits, Waited: l.waited, Queued: len(l.queue), Pauses: l.pauses}
	if l.pauses > 0 {
		s.PausedUntil = l.timeAt(l.pauseUntil)
	}
	s.Rules = make([]RuleStats, len(l.rules))
	for i, r := range l.rules {
		r.prune(now)
		s.Rules[i] = RuleStats{Rule: r.Rule, Used: r.used, Acquired: r.acquired, Observed: r.observed}
	}
	return s
}
