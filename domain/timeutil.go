package domain

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// FloorDiv returns ⌊a/b⌋ for b > 0, rounding toward negative infinity (Go's
// / rounds toward zero, which is wrong for negative timestamps).
func FloorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// FloorNs floors ts down to a multiple of step (both in ns), correctly for
// negative values: FloorNs(-1, 10) == -10.
func FloorNs(ts, step int64) int64 {
	if step <= 0 {
		return ts
	}
	return FloorDiv(ts, step) * step
}

// CeilNs rounds ts up to a multiple of step.
func CeilNs(ts, step int64) int64 {
	f := FloorNs(ts, step)
	if f == ts {
		return f
	}
	return f + step
}

// Time converts nanoseconds since the epoch to a UTC time.Time.
func Time(ns int64) time.Time { return time.Unix(0, ns).UTC() }

// Nanos converts a time.Time to nanoseconds since the epoch.
func Nanos(t time.Time) int64 { return t.UnixNano() }

// MillisToNanos converts epoch milliseconds to nanoseconds.
func MillisToNanos(ms int64) int64 { return ms * int64(time.Millisecond) }

// NanosToMillis converts nanoseconds to epoch milliseconds, flooring.
func NanosToMillis(ns int64) int64 { return FloorDiv(ns, int64(time.Millisecond)) }

// SecondsToNanos converts epoch seconds to nanoseconds.
func SecondsToNanos(s int64) int64 { return s * int64(time.Second) }

// FormatNs prints ns as RFC 3339 with nanoseconds, in UTC.
func FormatNs(ns int64) string { return Time(ns).Format(time.RFC3339Nano) }

// TimeError reports an unparseable time.
type TimeError struct{ Input string }

func (e *TimeError) Error() string {
	return fmt.Sprintf("invalid time %q (accepted: RFC 3339 like 2024-02-01T12:00:00Z or 2024-02-01T12:00:00.5+02:00, a date 2024-02-01 (midnight UTC), 2024-02-01T12:00[:00] (UTC), 2024-02-01 12:00:00 (UTC), or Unix time in s, ms or ns)", e.Input)
}

// ParseTime parses a user-supplied instant and returns it as ns UTC. It keeps
// the time of day: "2024-02-01T12:00:00Z" is noon, not midnight. Accepted
// forms are RFC 3339 (any offset, optional fraction), a bare date (midnight
// UTC), a date and time without zone (taken as UTC, "T" or space), and a
// Unix timestamp in seconds (≤ 11 digits), milliseconds (≤ 14) or
// nanoseconds.
func ParseTime(s string) (int64, error) {
	in := s
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, &TimeError{Input: in}
	}
	if isDigits(s) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, &TimeError{Input: in}
		}
		switch {
		case len(s) <= 11:
			return SecondsToNanos(n), nil
		case len(s) <= 14:
			return MillisToNanos(n), nil
		default:
			return n, nil
		}
	}
	layouts := []string{
		time.RFC3339Nano,
		"2006-01-02T15:04:05.999999999",
		"2006-01-02T15:04:05",
		"2006-01-02T15:04",
		"2006-01-02 15:04:05.999999999",
		"2006-01-02 15:04:05",
		"2006-01-02 15:04",
		"2006-01-02",
	}
	for _, l := range layouts {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return t.UnixNano(), nil
		}
	}
	return 0, &TimeError{Input: in}
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Range is a half-open time interval [Start, End) in ns.
type Range struct {
	Start, End int64
}

// RangeError reports an empty or inverted range.
type RangeError struct{ Start, End int64 }

func (e *RangeError) Error() string {
	return fmt.Sprintf("invalid range: from %s is not before to %s (the range is [from, to), from must be earlier)", FormatNs(e.Start), FormatNs(e.End))
}

// Validate returns a *RangeError unless Start < End.
func (r Range) Validate() error {
	if r.Start >= r.End {
		return &RangeError{Start: r.Start, End: r.End}
	}
	return nil
}

// Contains reports whether ts lies in [Start, End).
func (r Range) Contains(ts int64) bool { return ts >= r.Start && ts < r.End }

// Duration returns End − Start.
func (r Range) Duration() time.Duration { return time.Duration(r.End - r.Start) }

func (r Range) String() string { return "[" + FormatNs(r.Start) + ", " + FormatNs(r.End) + ")" }
