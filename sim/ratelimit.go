package sim

import (
	"sync"
	"time"
)

// RateRule is one request-rate rule of a venue, e.g. Binance's
// REQUEST_WEIGHT of 6000 per rolling minute.
type RateRule struct {
	Name     string        // venue's name for the rule, e.g. "REQUEST_WEIGHT"
	Interval time.Duration // rolling window, whole seconds
	Limit    int
}

// LimiterConfig configures a [Limiter].
type LimiterConfig struct {
	Rules []RateRule
	// BanAfter is how many requests a client may send while it is being
	// refused with 429 before it is banned (418). Default 5.
	BanAfter int
	// BanDuration is the first ban's length (default 2 minutes); repeat
	// offenders get twice the previous ban, up to MaxBan (default 3 days).
	BanDuration time.Duration
	MaxBan      time.Duration
	// Disabled turns enforcement off (usage is still counted).
	Disabled bool
}

// Decision is the outcome of [Limiter.Take].
type Decision struct {
	Allowed bool
	// Used is the usage of each rule (in rule order) after this request.
	Used []int
	// Rule is the index of the rule that refused the request.
	Rule int
	// RetryAfter is how long to wait (429: until the request would fit; 418:
	// until the ban ends). Whole seconds, at least one.
	RetryAfter time.Duration
	// Banned is set for a 418: the client is banned until BanUntil.
	Banned   bool
	BanUntil time.Time
	// Forced marks a 429 injected by the fault injector.
	Forced bool
}

// Limiter enforces rolling-window rate rules per client key (the remote
// IP), with 429-then-418 escalation. It is safe for concurrent use.
type Limiter struct {
	cfg    LimiterConfig
	clock  Clock
	faults *FaultInjector
	stats  *Stats
	mu     sync.Mutex
	keys   map[string]*limState
}

type limState struct {
	rules     []ringWindow
	overUntil time.Time
	strikes   int
	banUntil  time.Time
	bans      int
}

// ringWindow counts cost per second over a rolling window.
type ringWindow struct {
	secs  []int64
	costs []int
}

func newRing(n int) ringWindow { return ringWindow{secs: make([]int64, n), costs: make([]int, n)} }

func (w *ringWindow) used(now int64) int {
	n := int64(len(w.secs))
	t := 0
	for i := range w.secs {
		if w.secs[i] > now-n && w.secs[i] <= now {
			t += w.costs[i]
		}
	}
	return t
}

func (w *ringWindow) add(now int64, c int) {
	i := int(now % int64(len(w.secs)))
	if w.secs[i] != now {
		w.secs[i], w.costs[i] = now, 0
	}
	w.costs[i] += c
}

// waitFor returns the seconds until used+cost ≤ limit.
func (w *ringWindow) waitFor(now int64, cost, limit int) int64 {
	n := int64(len(w.secs))
	excess := w.used(now) + cost - limit
	for s := now - n + 1; s <= now && excess > 0; s++ {
		i := int(((s % n) + n) % n)
		if w.secs[i] == s {
			excess -= w.costs[i]
		}
		if excess <= 0 {
			return s + n - now
		}
	}
	return n
}

// NewLimiter returns a limiter. faults and stats may be nil.
func NewLimiter(cfg LimiterConfig, clock Clock, faults *FaultInjector, stats *Stats) *Limiter {
	if cfg.BanAfter <= 0 {
		cfg.BanAfter = 5
	}
	if cfg.BanDuration <= 0 {
		cfg.BanDuration = 2 * time.Minute
	}
	if cfg.MaxBan <= 0 {
		cfg.MaxBan = 72 * time.Hour
	}
	if clock == nil {
		clock = WallClock
	}
	return &Limiter{cfg: cfg, clock: clock, faults: faults, stats: stats, keys: map[string]*limState{}}
}

// Rules returns the enforced rules.
func (l *Limiter) Rules() []RateRule { return l.cfg.Rules }

// Take charges a request of the given per-rule costs (missing costs are 0)
// to key and decides whether it is served.
func (l *Limiter) Take(key string, costs ...int) Decision {
	now := l.clock.Now()
	sec := now.Unix()
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.keys[key]
	if st == nil {
		st = &limState{}
		for _, r := range l.cfg.Rules {
			n := int(r.Interval / time.Second)
			if n < 1 {
				n = 1
			}
			st.rules = append(st.rules, newRing(n))
		}
		l.keys[key] = st
	}
	d := Decision{Used: make([]int, len(l.cfg.Rules)), Rule: -1}
	cost := func(i int) int {
		if i < len(costs) {
			return costs[i]
		}
		return 0
	}
	for i := range st.rules {
		d.Used[i] = st.rules[i].used(sec)
	}
	if !l.cfg.Disabled {
		if now.Before(st.banUntil) {
			d.Banned, d.BanUntil = true, st.banUntil
			d.RetryAfter = ceilSeconds(st.banUntil.Sub(now))
			l.count(d)
			return d
		}
		for i, r := range l.cfg.Rules {
			if d.Used[i]+cost(i) > r.Limit {
				d.Rule = i
				d.RetryAfter = time.Duration(st.rules[i].waitFor(sec, cost(i), r.Limit)) * time.Second
				break
			}
		}
		if d.Rule < 0 && l.faults != nil && l.faults.roll(faultRateLimit) {
			d.Rule, d.Forced, d.RetryAfter = 0, true, time.Duration(1+l.faults.intn(5))*time.Second
		}
		if d.Rule >= 0 {
			if now.Before(st.overUntil) {
				st.strikes++
			} else {
				st.strikes = 1
			}
			if until := now.Add(d.RetryAfter); until.After(st.overUntil) {
				st.overUntil = until
			}
			if st.strikes > l.cfg.BanAfter {
				ban := l.cfg.BanDuration << min(st.bans, 20)
				if ban > l.cfg.MaxBan || ban <= 0 {
					ban = l.cfg.MaxBan
				}
				st.bans++
				st.strikes = 0
				st.banUntil = now.Add(ban)
				d.Banned, d.BanUntil = true, st.banUntil
				d.RetryAfter = ceilSeconds(ban)
			}
			l.count(d)
			return d
		}
	}
	st.strikes = 0
	for i := range st.rules {
		if c := cost(i); c > 0 {
			st.rules[i].add(sec, c)
			d.Used[i] += c
		}
	}
	d.Allowed = true
	if l.stats != nil && len(costs) > 0 {
		l.stats.weight.Add(int64(costs[0]))
	}
	return d
}

func (l *Limiter) count(d Decision) {
	if l.stats == nil {
		return
	}
	if d.Banned {
		l.stats.s418.Add(1)
	} else {
		l.stats.s429.Add(1)
	}
}

// Reset forgets all usage and bans.
func (l *Limiter) Reset() {
	l.mu.Lock()
	l.keys = map[string]*limState{}
	l.mu.Unlock()
}

func ceilSeconds(d time.Duration) time.Duration {
	s := (d + time.Second - 1) / time.Second
	if s < 1 {
		s = 1
	}
	return s * time.Second
}
