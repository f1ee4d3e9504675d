package ratelimit

import "time"

// entry is a run of grants merged into one log record. first is the time of
// its earliest grant, t the time of its latest; it counts until t+interval.
type entry struct {
	first, t int64 // nanoseconds since the limiter's epoch
	n        int
}

// ring is a growable FIFO of entries in non-decreasing time order.
type ring struct {
	buf  []entry
	head int
	n    int
}

func (r *ring) len() int { return r.n }

func (r *ring) at(i int) *entry { return &r.buf[(r.head+i)%len(r.buf)] }

func (r *ring) push(e entry) {
	if r.n == len(r.buf) {
		nb := make([]entry, max(16, 2*len(r.buf)))
		for i := 0; i < r.n; i++ {
			nb[i] = *r.at(i)
		}
		r.buf, r.head = nb, 0
	}
	r.buf[(r.head+r.n)%len(r.buf)] = e
	r.n++
}

func (r *ring) pop() {
	r.buf[r.head] = entry{}
	r.head = (r.head + 1) % len(r.buf)
	r.n--
}

// mergeDivisor sets the merge resolution: grants closer together than
// interval/mergeDivisor share one log entry.
const mergeDivisor = 1000

// rule is the state of one Rule: its sliding-window log and counters.
type rule struct {
	Rule
	interval int64 // Interval in nanoseconds
	res      int64 // merge resolution in nanoseconds
	log      ring
	used     int   // units of the log entries still in the window
	acquired int64 // units granted since creation
	observed int64 // units added from server feedback
}

func newRule(r Rule) *rule {
	s := &rule{}
	s.set(r)
	return s
}

func (s *rule) set(r Rule) {
	s.Rule = r
	s.interval = int64(r.Interval)
	s.res = s.interval / mergeDivisor
}

// prune drops the entries that no longer count at now.
func (s *rule) prune(now int64) {
	for s.log.n > 0 {
		e := s.log.at(0)
		if e.t+s.interval > now {
			return
		}
		s.used -= e.n
		s.log.pop()
	}
}

// record logs n units at time t (t is not before the newest entry).
func (s *rule) record(t int64, n int) {
	if n == 0 {
		return
	}
	if s.log.n > 0 {
		last := s.log.at(s.log.n - 1)
		if t-last.first < s.res && t >= last.t {
			last.t = t
			last.n += n
			s.used += n
			return
		}
	}
	s.log.push(entry{first: t, t: t, n: n})
	s.used += n
}

// delay returns how long after now n more units will fit (0 if they do now).
// prune(now) must have been called.
func (s *rule) delay(now int64, n int) time.Duration {
	excess := s.used + n - s.Limit
	if excess <= 0 {
		return 0
	}
	for i := 0; i < s.log.n; i++ {
		e := s.log.at(i)
		excess -= e.n
		if excess <= 0 {
			return time.Duration(e.t + s.interval - now)
		}
	}
	// Unreachable for n <= Limit: once the whole log has expired, n fits.
	return time.Duration(s.interval)
}

// countAt returns the logged units that counted at time t (t <= now).
func (s *rule) countAt(t int64) int {
	sum := 0
	for i := s.log.n - 1; i >= 0; i-- {
		e := s.log.at(i)
		if e.t > t {
			continue
		}
		if e.t+s.interval <= t {
			break
		}
		sum += e.n
	}
	return sum
}
