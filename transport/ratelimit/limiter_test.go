package ratelimit_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pype-go/pype/transport/ratelimit"
	"github.com/pype-go/pype/transport/ratelimit/ratelimittest"
)

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func cost(rule string, n int) ratelimit.Cost { return ratelimit.Cost{{Rule: rule, N: n}} }

func newLimiter(t *testing.T, rules ...ratelimit.Rule) (*ratelimit.Limiter, *ratelimittest.Clock) {
	t.Helper()
	clk := ratelimittest.NewClock(t0)
	l, err := ratelimit.New(rules, ratelimit.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	return l, clk
}

func mustTry(t *testing.T, l *ratelimit.Limiter, c ratelimit.Cost, want bool) {
	t.Helper()
	got, err := l.TryAcquire(c)
	if err != nil {
		t.Fatalf("TryAcquire(%v): %v", c, err)
	}
	if got != want {
		t.Fatalf("TryAcquire(%v) = %v, want %v (stats %+v)", c, got, want, l.Stats())
	}
}

// result of a Wait running in its own goroutine.
type result struct {
	id  int
	at  time.Time
	err error
}

// startWait runs WaitAt in a goroutine and returns once the request is queued.
func startWait(ctx context.Context, t *testing.T, l *ratelimit.Limiter, enq <-chan int, id int, c ratelimit.Cost, out chan result) {
	t.Helper()
	go func() {
		at, err := l.WaitAt(ctx, c)
		out <- result{id, at, err}
	}()
	select {
	case <-enq:
	case r := <-out:
		t.Fatalf("waiter %d did not queue: %+v", id, r)
	}
}

func recv(t *testing.T, out <-chan result) result {
	t.Helper()
	select {
	case r := <-out:
		return r
	case <-time.After(10 * time.Second): // guards a hang only; never a timing assertion
		t.Fatal("no waiter finished")
		return result{}
	}
}

func TestNewRejectsBadRules(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rules []ratelimit.Rule
		want  string
	}{
		{"empty name", []ratelimit.Rule{{Name: "", Limit: 1, Interval: time.Second}}, "empty name"},
		{"zero limit", []ratelimit.Rule{{Name: "W", Limit: 0, Interval: time.Second}}, "limit must be > 0"},
		{"zero interval", []ratelimit.Rule{{Name: "W", Limit: 1}}, "interval must be > 0"},
		{"duplicate", []ratelimit.Rule{{Name: "ORDERS", Limit: 50, Interval: 10 * time.Second}, {Name: "ORDERS", Limit: 160000, Interval: 24 * time.Hour}}, "duplicate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ratelimit.New(tc.rules)
			var re *ratelimit.RuleError
			if !errors.As(err, &re) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want RuleError containing %q", err, tc.want)
			}
		})
	}
}

func TestCostErrors(t *testing.T) {
	l, _ := newLimiter(t, ratelimit.Rule{Name: "REQUEST_WEIGHT", Limit: 6000, Interval: time.Minute},
		ratelimit.Rule{Name: "RAW_REQUESTS", Limit: 61000, Interval: 5 * time.Minute})
	for _, tc := range []struct {
		name string
		cost ratelimit.Cost
		want string
	}{
		{"larger than limit", cost("REQUEST_WEIGHT", 6001), "exceeds the limit 6000 per 1m0s"},
		{"unknown rule", cost("REQUEST_WEIGH", 1), `unknown rule (rules: REQUEST_WEIGHT, RAW_REQUESTS)`},
		{"negative", cost("RAW_REQUESTS", -1), "negative"},
		{"twice", ratelimit.Cost{{Rule: "RAW_REQUESTS", N: 1}, {Rule: "RAW_REQUESTS", N: 1}}, "named twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, err := range []error{
				l.Wait(context.Background(), tc.cost),
				func() error { _, err := l.TryAcquire(tc.cost); return err }(),
			} {
				var ce *ratelimit.CostError
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want CostError containing %q", err, tc.want)
				}
				if ce.Rule != tc.cost[len(tc.cost)-1].Rule {
					t.Fatalf("CostError.Rule = %q", ce.Rule)
				}
			}
		})
	}
	if s := l.Stats(); s.Rules[0].Acquired != 0 || s.Queued != 0 {
		t.Fatalf("invalid costs consumed something: %+v", s)
	}
}

// A fresh limiter allows exactly Limit in the first interval: no bucket that
// starts full and refills, no 2×Limit across a boundary.
func TestExactFromStartUp(t *testing.T) {
	l, clk := newLimiter(t, ratelimit.Rule{Name: "W", Limit: 3, Interval: time.Second})
	for range 3 {
		mustTry(t, l, cost("W", 1), true)
	}
	mustTry(t, l, cost("W", 1), false)
	clk.Advance(999 * time.Millisecond)
	mustTry(t, l, cost("W", 1), false)
	clk.Advance(time.Millisecond)
	mustTry(t, l, cost("W", 3), true)
	mustTry(t, l, cost("W", 1), false)
}

func TestMultiRuleCost(t *testing.T) {
	l, clk := newLimiter(t,
		ratelimit.Rule{Name: "WEIGHT", Limit: 10, Interval: time.Minute},
		ratelimit.Rule{Name: "ORDERS_10S", Limit: 2, Interval: 10 * time.Second})
	order := ratelimit.Cost{{Rule: "WEIGHT", N: 1}, {Rule: "ORDERS_10S", N: 1}}
	mustTry(t, l, order, true)
	mustTry(t, l, order, true)
	mustTry(t, l, order, false) // ORDERS_10S full, WEIGHT is not
	mustTry(t, l, cost("WEIGHT", 8), true)
	clk.Advance(10 * time.Second)
	mustTry(t, l, order, false) // ORDERS_10S free again, WEIGHT full: all or nothing
	if s := l.Stats(); s.Rules[1].Used != 0 || s.Rules[0].Used != 10 {
		t.Fatalf("a refused multi-rule cost consumed units: %+v", s.Rules)
	}
	clk.Advance(50 * time.Second)
	mustTry(t, l, order, true)
}

func TestWaitUntilWindowSlides(t *testing.T) {
	ctx := context.Background()
	l, clk := newLimiter(t, ratelimit.Rule{Name: "W", Limit: 2, Interval: 10 * time.Second})
	enq := make(chan int, 8)
	l.OnEnqueue(func(int) { enq <- 0 })
	mustTry(t, l, cost("W", 1), true)
	clk.Advance(4 * time.Second)
	mustTry(t, l, cost("W", 1), true)
	out := make(chan result, 1)
	startWait(ctx, t, l, enq, 1, cost("W", 2), out)
	if err := clk.WaitForTimers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	// Both grants must expire: the second at t0+14s.
	if d, _ := clk.NextDeadline(); !d.Equal(t0.Add(14 * time.Second)) {
		t.Fatalf("waiter sleeps until %v, want %v", d, t0.Add(14*time.Second))
	}
	clk.Advance(10 * time.Second)
	r := recv(t, out)
	if r.err != nil || !r.at.Equal(t0.Add(14*time.Second)) {
		t.Fatalf("granted at %v err %v", r.at, r.err)
	}
	s := l.Stats()
	if s.Waits != 1 || s.Waited != 10*time.Second || s.Rules[0].Acquired != 4 || s.Rules[0].Used != 2 {
		t.Fatalf("stats %+v", s)
	}
}

// A big request queued first is served first; small ones that would fit
// earlier wait behind it, and waiters are served in arrival order.
func TestFIFO(t *testing.T) {
	ctx := context.Background()
	l, clk := newLimiter(t, ratelimit.Rule{Name: "W", Limit: 10, Interval: time.Second})
	enq := make(chan int, 8)
	l.OnEnqueue(func(n int) { enq <- n })
	mustTry(t, l, cost("W", 5), true)
	clk.Advance(500 * time.Millisecond)
	mustTry(t, l, cost("W", 5), true)

	out := make(chan result, 4)
	startWait(ctx, t, l, enq, 0, cost("W", 10), out)
	for id := 1; id <= 3; id++ {
		startWait(ctx, t, l, enq, id, cost("W", 4), out)
	}
	mustTry(t, l, cost("W", 0), false) // even a free request queues behind waiters

	if err := clk.WaitForTimers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clk.Set(t0.Add(time.Second)) // 5 units free: every small one would fit, the big one not
	if err := clk.WaitForTimers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if d, _ := clk.NextDeadline(); !d.Equal(t0.Add(1500 * time.Millisecond)) {
		t.Fatalf("head sleeps until %v", d)
	}
	if q := l.Stats().Queued; q != 4 {
		t.Fatalf("small requests overtook the big one: queued %d", q)
	}
	clk.Set(t0.Add(1500 * time.Millisecond))
	if r := recv(t, out); r.id != 0 || r.err != nil {
		t.Fatalf("first served: %+v", r)
	}
	if err := clk.WaitForTimers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clk.Set(t0.Add(2500 * time.Millisecond)) // 10 free: waiters 1 and 2 fit, 3 must wait
	got := map[int]bool{recv(t, out).id: true, recv(t, out).id: true}
	if !got[1] || !got[2] {
		t.Fatalf("served out of order: %v", got)
	}
	if err := clk.WaitForTimers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	if r := recv(t, out); r.id != 3 || !r.at.Equal(t0.Add(3500*time.Millisecond)) {
		t.Fatalf("last served: %+v", r)
	}
}

func TestCancelWhileWaiting(t *testing.T) {
	l, clk := newLimiter(t, ratelimit.Rule{Name: "W", Limit: 10, Interval: time.Second})
	enq := make(chan int, 8)
	l.OnEnqueue(func(int) { enq <- 0 })
	mustTry(t, l, cost("W", 5), true)

	ctxA, cancelA := context.WithCancel(context.Background())
	defer cancelA()
	outA, outB := make(chan result, 1), make(chan result, 1)
	startWait(ctxA, t, l, enq, 1, cost("W", 10), outA)
	startWait(context.Background(), t, l, enq, 2, cost("W", 5), outB)
	cancelA()
	if r := recv(t, outA); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled wait returned %+v", r)
	}
	// With the head gone, B fits at once without any clock movement.
	if r := recv(t, outB); r.err != nil || !r.at.Equal(t0) {
		t.Fatalf("B: %+v", r)
	}
	s := l.Stats()
	if s.Queued != 0 || s.Rules[0].Used != 10 || s.Rules[0].Acquired != 10 {
		t.Fatalf("cancelled wait consumed units or stayed queued: %+v", s)
	}
	_ = clk
}

func TestCancelledContextBeforeWait(t *testing.T) {
	l, _ := newLimiter(t, ratelimit.Rule{Name: "W", Limit: 10, Interval: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Wait(ctx, cost("W", 1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if s := l.Stats(); s.Rules[0].Used != 0 {
		t.Fatal("a cancelled Wait consumed units")
	}
}

func TestDeadlineWhileWaiting(t *testing.T) {
	// System clock, tiny deadline: the limiter must honour ctx without any
	// help from its own timers (the window here is an hour).
	l, err := ratelimit.New([]ratelimit.Rule{{Name: "W", Limit: 1, Interval: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Wait(context.Background(), cost("W", 1)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := l.Wait(ctx, cost("W", 1)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}

func TestSystemClockWait(t *testing.T) {
	l, err := ratelimit.New([]ratelimit.Rule{{Name: "W", Limit: 1, Interval: 5 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := l.Wait(context.Background(), cost("W", 1)); err != nil {
			t.Fatal(err)
		}
	}
	if s := l.Stats(); s.Rules[0].Acquired != 3 || s.Waits < 2 {
		t.Fatalf("stats %+v", s)
	}
}

func TestObserve(t *testing.T) {
	l, clk := newLimiter(t, ratelimit.Rule{Name: "REQUEST_WEIGHT", Limit: 100, Interval: time.Minute})
	mustTry(t, l, cost("REQUEST_WEIGHT", 10), true)
	clk.Advance(time.Second)
	// The server counted 50 (other clients on our IP): the server wins.
	l.Observe("REQUEST_WEIGHT", 50, clk.Now())
	if s := l.Stats().Rules[0]; s.Used != 50 || s.Observed != 40 {
		t.Fatalf("after Observe(50): %+v", s)
	}
	mustTry(t, l, cost("REQUEST_WEIGHT", 51), false)
	mustTry(t, l, cost("REQUEST_WEIGHT", 50), true)
	// Lower counts (responses overtaken by later requests), unknown rules and
	// stale observations change nothing.
	l.Observe("REQUEST_WEIGHT", 20, clk.Now())
	l.Observe("ORDERS", 1000, clk.Now())
	l.Observe("REQUEST_WEIGHT", 1000, clk.Now().Add(-2*time.Minute))
	if s := l.Stats().Rules[0]; s.Used != 100 || s.Observed != 40 {
		t.Fatalf("ignored observations changed the count: %+v", s)
	}
	// The observed units expire one interval after they were observed.
	clk.Set(t0.Add(time.Minute))
	if s := l.Stats().Rules[0]; s.Used != 90 {
		t.Fatalf("at t0+1m: used %d, want 90", s.Used)
	}
	clk.Set(t0.Add(time.Minute + time.Second))
	if s := l.Stats().Rules[0]; s.Used != 0 {
		t.Fatalf("at t0+61s: used %d, want 0", s.Used)
	}
}

// Observe compares with what the limiter had granted by the time of the
// observation, not with later grants.
func TestObserveAtPastTime(t *testing.T) {
	l, clk := newLimiter(t, ratelimit.Rule{Name: "W", Limit: 100, Interval: time.Minute})
	mustTry(t, l, cost("W", 10), true)
	sent := clk.Now()
	clk.Advance(time.Second)
	mustTry(t, l, cost("W", 30), true)
	l.Observe("W", 25, sent) // at `sent` we had granted 10; the server saw 25
	if s := l.Stats().Rules[0]; s.Used != 55 {
		t.Fatalf("used %d, want 55", s.Used)
	}
}

func TestObserveAboveLimitBlocks(t *testing.T) {
	ctx := context.Background()
	l, clk := newLimiter(t, ratelimit.Rule{Name: "W", Limit: 100, Interval: time.Minute})
	enq := make(chan int, 1)
	l.OnEnqueue(func(int) { enq <- 0 })
	l.Observe("W", 150, clk.Now())
	out := make(chan result, 1)
	startWait(ctx, t, l, enq, 1, cost("W", 1), out)
	if err := clk.WaitForTimers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	if r := recv(t, out); r.err != nil || !r.at.Equal(t0.Add(time.Minute)) {
		t.Fatalf("%+v", r)
	}
}

func TestPauseUntil(t *testing.T) {
	ctx := context.Background()
	l, clk := newLimiter(t, ratelimit.Rule{Name: "W", Limit: 100, Interval: time.Minute})
	enq := make(chan int, 4)
	l.OnEnqueue(func(int) { enq <- 0 })
	until := t0.Add(30 * time.Second)
	l.PauseUntil(until)
	l.PauseUntil(t0.Add(10 * time.Second)) // earlier: no effect
	mustTry(t, l, cost("W", 1), false)
	mustTry(t, l, nil, false) // a pause stops even requests without a cost

	out := make(chan result, 2)
	startWait(ctx, t, l, enq, 1, cost("W", 1), out)
	startWait(ctx, t, l, enq, 2, nil, out)
	if err := clk.WaitForTimers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if d, _ := clk.NextDeadline(); !d.Equal(until) {
		t.Fatalf("head sleeps until %v, want %v", d, until)
	}
	clk.Set(until)
	for range 2 {
		if r := recv(t, out); r.err != nil || !r.at.Equal(until) {
			t.Fatalf("%+v", r)
		}
	}
	s := l.Stats()
	if s.Pauses != 1 || !s.PausedUntil.Equal(until) || s.Waited != 60*time.Second {
		t.Fatalf("stats %+v", s)
	}
}

// A pause that arrives while a waiter sleeps for the window extends its wait.
func TestPauseExtendsSleepingWaiter(t *testing.T) {
	ctx := context.Background()
	l, clk := newLimiter(t, ratelimit.Rule{Name: "W", Limit: 1, Interval: time.Second})
	enq := make(chan int, 1)
	l.OnEnqueue(func(int) { enq <- 0 })
	mustTry(t, l, cost("W", 1), true)
	out := make(chan result, 1)
	startWait(ctx, t, l, enq, 1, cost("W", 1), out)
	if err := clk.WaitForTimers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	l.PauseUntil(t0.Add(5 * time.Second))
	clk.Advance(time.Second)
	if err := clk.WaitForTimers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clk.Advance(4 * time.Second)
	if r := recv(t, out); !r.at.Equal(t0.Add(5 * time.Second)) {
		t.Fatalf("%+v", r)
	}
}

func TestSetRules(t *testing.T) {
	ctx := context.Background()
	l, clk := newLimiter(t, ratelimit.Rule{Name: "W", Limit: 10, Interval: time.Minute},
		ratelimit.Rule{Name: "ORDERS", Limit: 5, Interval: time.Minute})
	enq := make(chan int, 4)
	l.OnEnqueue(func(int) { enq <- 0 })
	mustTry(t, l, cost("W", 10), true)
	out := make(chan result, 3)
	startWait(ctx, t, l, enq, 1, cost("W", 5), out)
	startWait(ctx, t, l, enq, 2, cost("W", 8), out)
	startWait(ctx, t, l, enq, 3, cost("ORDERS", 1), out)

	// Raising the limit serves the head at once.
	if err := l.SetRules(ratelimit.Rule{Name: "W", Limit: 16, Interval: time.Minute},
		ratelimit.Rule{Name: "ORDERS", Limit: 5, Interval: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if r := recv(t, out); r.id != 1 || r.err != nil {
		t.Fatalf("%+v", r)
	}
	// Lowering it below waiter 2's cost (8) fails that waiter; waiter 3 names
	// a removed rule and fails too.
	if err := l.SetRules(ratelimit.Rule{Name: "W", Limit: 7, Interval: time.Minute}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		r := recv(t, out)
		var ce *ratelimit.CostError
		if r.id == 1 || !errors.As(r.err, &ce) {
			t.Fatalf("waiter %d: %v, want CostError", r.id, r.err)
		}
	}
	if s := l.Stats(); len(s.Rules) != 1 || s.Rules[0].Used != 15 || s.Rules[0].Limit != 7 || s.Queued != 0 {
		t.Fatalf("log not kept across SetRules: %+v", s)
	}
	if err := l.SetRules(ratelimit.Rule{Name: "W", Limit: 0, Interval: time.Minute}); err == nil {
		t.Fatal("SetRules accepted limit 0")
	}
	if got := l.Rules(); len(got) != 1 || got[0].Limit != 7 {
		t.Fatalf("a failed SetRules changed the rules: %v", got)
	}
	_ = clk
}

func TestZeroValue(t *testing.T) {
	var l ratelimit.Limiter
	if err := l.Wait(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	var ce *ratelimit.CostError
	if err := l.Wait(context.Background(), cost("W", 1)); !errors.As(err, &ce) {
		t.Fatalf("err = %v", err)
	}
	l.PauseUntil(time.Now().Add(-time.Hour))
	if ok, _ := l.TryAcquire(nil); !ok {
		t.Fatal("a pause in the past blocked")
	}
	l.Observe("W", 3, time.Now())
}

// Merging keeps the log of a long rule small however many grants it sees.
func TestLogStaysBounded(t *testing.T) {
	l, clk := newLimiter(t, ratelimit.Rule{Name: "ORDERS_1D", Limit: 1_000_000, Interval: 24 * time.Hour})
	for range 50_000 {
		mustTry(t, l, cost("ORDERS_1D", 1), true)
		clk.Advance(time.Second)
	}
	if n := l.LogLen("ORDERS_1D"); n > 1001 {
		t.Fatalf("log holds %d entries for 50000 grants", n)
	}
	if s := l.Stats().Rules[0]; s.Used != 50_000 {
		t.Fatalf("used %d", s.Used)
	}
}
