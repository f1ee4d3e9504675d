package domain

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Span is a candle interval. Fixed spans (seconds to weeks) are stored as
// their length in nanoseconds; calendar months are stored as the negative
// number of months, so 1M (one month) never collapses into 1m (one minute).
// The zero value is not a valid span.
type Span int64

// The spans pype knows by name.
const (
	Span1s  = Span(time.Second)
	Span1m  = Span(time.Minute)
	Span3m  = 3 * Span1m
	Span5m  = 5 * Span1m
	Span15m = 15 * Span1m
	Span30m = 30 * Span1m
	Span1h  = Span(time.Hour)
	Span2h  = 2 * Span1h
	Span4h  = 4 * Span1h
	Span6h  = 6 * Span1h
	Span8h  = 8 * Span1h
	Span12h = 12 * Span1h
	Span1d  = 24 * Span1h
	Span3d  = 3 * Span1d
	Span1w  = 7 * Span1d
	Span1M  = Span(-1)
)

// StandardSpans returns the spans accepted by [ParseSpan]'s documentation,
// shortest first.
func StandardSpans() []Span {
	return []Span{Span1s, Span1m, Span3m, Span5m, Span15m, Span30m, Span1h, Span2h, Span4h,
		Span6h, Span8h, Span12h, Span1d, Span3d, Span1w, Span1M}
}

// Months returns a calendar-month span of n months (n ≥ 1).
func Months(n int) Span { return Span(-int64(n)) }

// SpanError reports an unparseable or invalid span.
type SpanError struct{ Input string }

func (e *SpanError) Error() string {
	return fmt.Sprintf("invalid span %q (accepted: a positive count and a unit s, m, h, d, w or M — e.g. 1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M; M is a calendar month, m a minute)", e.Input)
}

// ParseSpan parses "1m", "4h", "1d", "1w", "1M" and the like. The unit is
// case sensitive: "m" is minutes, "M" calendar months. "1mo" is also read as
// a month.
func ParseSpan(s string) (Span, error) {
	in := s
	s = strings.TrimSpace(s)
	if strings.HasSuffix(s, "mo") {
		s = strings.TrimSuffix(s, "mo") + "M"
	}
	if len(s) < 2 {
		return 0, &SpanError{Input: in}
	}
	unit := s[len(s)-1]
	n, err := strconv.ParseInt(s[:len(s)-1], 10, 64)
	if err != nil || n <= 0 || s[0] == '+' {
		return 0, &SpanError{Input: in}
	}
	var d time.Duration
	switch unit {
	case 's':
		d = time.Second
	case 'm':
		d = time.Minute
	case 'h':
		d = time.Hour
	case 'd', 'D':
		d = 24 * time.Hour
	case 'w', 'W':
		d = 7 * 24 * time.Hour
	case 'M':
		if n > 1200 {
			return 0, &SpanError{Input: in}
		}
		return Months(int(n)), nil
	default:
		return 0, &SpanError{Input: in}
	}
	if n > int64(10*366*24*time.Hour/d) {
		return 0, &SpanError{Input: in}
	}
	return Span(n * int64(d)), nil
}

// MustParseSpan is [ParseSpan] for constants; it panics on error.
func MustParseSpan(s string) Span {
	sp, err := ParseSpan(s)
	if err != nil {
		panic(err)
	}
	return sp
}

// Valid reports whether s is a usable span.
func (s Span) Valid() bool { return s != 0 }

// IsMonthly reports whether s is a calendar-month span.
func (s Span) IsMonthly() bool { return s < 0 }

// MonthCount returns the number of months of a monthly span, else 0.
func (s Span) MonthCount() int {
	if s < 0 {
		return int(-s)
	}
	return 0
}

// Duration returns the fixed length of s. For monthly spans it returns the
// nominal 30-day month times the count, suitable only for estimates.
func (s Span) Duration() time.Duration {
	if s < 0 {
		return time.Duration(-s) * 30 * 24 * time.Hour
	}
	return time.Duration(s)
}

// String prints the span in its shortest form ("1m", "4h", "1d", "1w", "1M").
func (s Span) String() string {
	switch {
	case s == 0:
		return "0"
	case s < 0:
		return strconv.FormatInt(int64(-s), 10) + "M"
	}
	units := []struct {
		d time.Duration
		u string
	}{{7 * 24 * time.Hour, "w"}, {24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}}
	for _, u := range units {
		if time.Duration(s)%u.d == 0 {
			return strconv.FormatInt(int64(time.Duration(s)/u.d), 10) + u.u
		}
	}
	return time.Duration(s).String()
}

// MarshalText implements encoding.TextMarshaler.
func (s Span) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Span) UnmarshalText(b []byte) error {
	v, err := ParseSpan(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// weekOffset shifts week buckets so they start on Monday 00:00 UTC (the Unix
// epoch was a Thursday), as venues align weekly candles.
const weekOffset = int64(4 * 24 * time.Hour)

// Floor returns the open time of the bar that contains ts (ns). Fixed spans
// are aligned to the Unix epoch, except whole weeks, which start on Monday;
// months start on the first day of the month, 00:00 UTC. Correct for
// negative timestamps.
func (s Span) Floor(ts int64) int64 {
	switch {
	case s < 0:
		t := time.Unix(0, ts).UTC()
		months := int64(t.Year())*12 + int64(t.Month()) - 1
		months = FloorDiv(months, int64(-s)) * int64(-s)
		return time.Date(int(months/12), time.Month(months%12+1), 1, 0, 0, 0, 0, time.UTC).UnixNano()
	case s == 0:
		return ts
	case int64(s)%int64(Span1w) == 0:
		return FloorNs(ts-weekOffset, int64(s)) + weekOffset
	default:
		return FloorNs(ts, int64(s))
	}
}

// Ceil returns the smallest bar open time ≥ ts.
func (s Span) Ceil(ts int64) int64 {
	f := s.Floor(ts)
	if f == ts {
		return f
	}
	return s.Next(f)
}

// Next returns the open time of the bar after the one opening at open.
func (s Span) Next(open int64) int64 { return s.Add(open, 1) }

// Add moves ts by n bars (n may be negative). For monthly spans the day of
// month is kept as time.AddDate does; use it on bar open times.
func (s Span) Add(ts int64, n int64) int64 {
	if s < 0 {
		return time.Unix(0, ts).UTC().AddDate(0, int(n*int64(-s)), 0).UnixNano()
	}
	return ts + n*int64(s)
}

// Bars returns the number of bar open times in [from, to).
func (s Span) Bars(from, to int64) int64 {
	if to <= from || s == 0 {
		return 0
	}
	first := s.Ceil(from)
	if first >= to {
		return 0
	}
	if s > 0 {
		return (to-1-first)/int64(s) + 1
	}
	var n int64
	for t := first; t < to; t = s.Next(t) {
		n++
	}
	return n
}
