package ratelimit_test

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/pype-go/pype/transport/ratelimit"
	"github.com/pype-go/pype/transport/ratelimit/ratelimittest"
	"pgregory.net/rapid"
)

type grant struct {
	at   time.Time
	cost ratelimit.Cost
}

func drawRules(t *rapid.T) []ratelimit.Rule {
	n := rapid.IntRange(1, 3).Draw(t, "rules")
	rules := make([]ratelimit.Rule, n)
	for i := range rules {
		rules[i] = ratelimit.Rule{
			Name:     fmt.Sprintf("R%d", i),
			Limit:    rapid.IntRange(1, 20).Draw(t, "limit"),
			Interval: time.Duration(rapid.IntRange(1, 1000).Draw(t, "interval_ms")) * time.Millisecond,
		}
	}
	return rules
}

// drawCost picks a subset of the rules, each with 0..limit units.
func drawCost(t *rapid.T, rules []ratelimit.Rule) ratelimit.Cost {
	var c ratelimit.Cost
	for _, r := range rules {
		if rapid.Bool().Draw(t, "uses_"+r.Name) {
			c = append(c, ratelimit.Weight{Rule: r.Name, N: rapid.IntRange(0, r.Limit).Draw(t, "n")})
		}
	}
	return c
}

func maxInterval(rules []ratelimit.Rule) time.Duration {
	var m time.Duration
	for _, r := range rules {
		m = max(m, r.Interval)
	}
	return m
}

// sumIn returns the units of rule granted at times in [from, to).
func sumIn(grants []grant, rule string, from, to time.Time) int {
	sum := 0
	for _, g := range grants {
		if g.at.Before(from) || !g.at.Before(to) {
			continue
		}
		for _, w := range g.cost {
			if w.Rule == rule {
				sum += w.N
			}
		}
	}
	return sum
}

// checkWindows fails if any rolling window [s, s+Interval) of any rule holds
// more than Limit units. The fullest window starts at a grant, so checking
// those windows checks them all.
func checkWindows(t *rapid.T, rules []ratelimit.Rule, grants []grant) {
	sort.Slice(grants, func(i, j int) bool { return grants[i].at.Before(grants[j].at) })
	for _, r := range rules {
		for _, g := range grants {
			if sum := sumIn(grants, r.Name, g.at, g.at.Add(r.Interval)); sum > r.Limit {
				t.Fatalf("rule %s (%d per %v): %d units granted in [%v, +%v)",
					r.Name, r.Limit, r.Interval, sum, g.at.Sub(t0), r.Interval)
			}
		}
	}
}

// Single goroutine, random TryAcquire/Observe/PauseUntil at random times:
// no window ever exceeds its limit, and — while the server has not
// interfered — every refusal is justified by the grants of the last
// interval (plus the merge resolution of interval/1000).
func TestPropertyExactSequential(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		rules := drawRules(t)
		clk := ratelimittest.NewClock(t0)
		l, err := ratelimit.New(rules, ratelimit.WithClock(clk))
		if err != nil {
			t.Fatal(err)
		}
		step := int(maxInterval(rules)/time.Millisecond) / 3
		var grants []grant
		interfered := false
		ops := rapid.IntRange(1, 150).Draw(t, "ops")
		for range ops {
			clk.Advance(time.Duration(rapid.IntRange(0, step).Draw(t, "advance_ms")) * time.Millisecond)
			now := clk.Now()
			switch k := rapid.IntRange(0, 19).Draw(t, "op"); {
			case k == 0:
				r := rules[rapid.IntRange(0, len(rules)-1).Draw(t, "rule")]
				l.Observe(r.Name, rapid.IntRange(0, 2*r.Limit).Draw(t, "used"), now)
				interfered = true
			case k == 1:
				l.PauseUntil(now.Add(time.Duration(rapid.IntRange(0, step).Draw(t, "pause_ms")) * time.Millisecond))
				interfered = true
			default:
				c := drawCost(t, rules)
				ok, err := l.TryAcquire(c)
				if err != nil {
					t.Fatalf("TryAcquire(%v): %v", c, err)
				}
				if ok {
					grants = append(grants, grant{now, c})
					continue
				}
				if interfered {
					continue
				}
				justified := false
				for _, w := range c {
					r := rules[w.Rule[1]-'0']
					slack := r.Interval / 1000
					if sumIn(grants, r.Name, now.Add(-r.Interval-slack+1), now.Add(1))+w.N > r.Limit {
						justified = true
					}
				}
				if !justified {
					t.Fatalf("refused %v at %v without cause", c, now.Sub(t0))
				}
			}
		}
		checkWindows(t, rules, grants)
	})
}

// Several goroutines Wait with random costs while the clock jumps forward
// and the server reports random usage: no window ever exceeds its limit and
// every Wait is eventually served.
func TestPropertyExactConcurrent(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		rules := drawRules(t)
		clk := ratelimittest.NewClock(t0)
		l, err := ratelimit.New(rules, ratelimit.WithClock(clk))
		if err != nil {
			t.Fatal(err)
		}
		step := int(maxInterval(rules)/time.Millisecond) / 3
		workers := rapid.IntRange(1, 6).Draw(t, "workers")
		plans := make([][]ratelimit.Cost, workers)
		for i := range plans {
			plans[i] = make([]ratelimit.Cost, rapid.IntRange(1, 15).Draw(t, "requests"))
			for j := range plans[i] {
				plans[i][j] = drawCost(t, rules)
			}
		}
		steps := rapid.SliceOfN(rapid.IntRange(1, max(1, step)), 1, 10).Draw(t, "steps_ms")
		observe := rapid.SliceOfN(rapid.IntRange(0, 25), len(steps), len(steps)).Draw(t, "observe")

		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // hang guard only
		defer cancel()
		var (
			mu     sync.Mutex
			grants []grant
			errs   []error
			wg     sync.WaitGroup
		)
		for _, plan := range plans {
			wg.Go(func() {
				for _, c := range plan {
					at, err := l.WaitAt(ctx, c)
					mu.Lock()
					if err != nil {
						errs = append(errs, err)
					} else {
						grants = append(grants, grant{at, c})
					}
					mu.Unlock()
				}
			})
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
	drive:
		for i := 0; ; i++ {
			select {
			case <-done:
				break drive
			default:
			}
			clk.Advance(time.Duration(steps[i%len(steps)]) * time.Millisecond)
			// The "server" reports usage early on only: a server that kept
			// reporting a full window forever would rightly starve waiters.
			if o := observe[i%len(observe)]; i < len(observe) && o < 10*len(rules) && o%10 < 5 {
				r := rules[o/10]
				l.Observe(r.Name, o%10*r.Limit/4, clk.Now())
			}
			runtime.Gosched()
		}
		if len(errs) > 0 {
			t.Fatalf("Wait failed: %v", errs)
		}
		checkWindows(t, rules, grants)
	})
}
