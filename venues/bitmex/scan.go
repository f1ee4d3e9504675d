package bitmex

import (
	"strconv"
	"time"

	"github.com/govalues/decimal"
	"github.com/pype-go/pype/venues/internal/jsonscan"
)

// scanner is the shared allocation-free JSON reader (jsonscan.Scanner) for
// the payload shapes BitMEX sends (arrays of flat objects, WebSocket table
// messages), plus int for integers printed as floats, optDec for nullable
// decimals and time for its ISO 8601 timestamps. Numbers are read as their
// literal bytes, so decimals keep the venue's digits (no float round
// trip). After the first error every method returns zero values and loops
// end, so callers check err once at the end.
type scanner struct{ jsonscan.Scanner }

func newScanner(what string, b []byte) scanner { return scanner{jsonscan.New(what, b)} }

// err returns the first failure as a *DecodeError, or nil. It is the one
// place scanner failures become this package's error type.
func (s *scanner) err() error {
	e := s.Failure()
	if e == nil {
		return nil
	}
	return &DecodeError{What: e.What, Offset: e.Offset, Reason: e.Reason, Near: e.Near}
}

// int reads an integer (a bare number, or a string holding one). Unlike
// jsonscan's Int it also accepts integral values BitMEX prints as floats
// (100.0, 1e+3).
func (s *scanner) int() int64 {
	s.Peek()
	at := s.Pos()
	t := s.Scalar()
	if s.Failed() {
		return 0
	}
	n, ok := jsonscan.ParseInt(t)
	if !ok {
		d, err := decimal.Parse(string(t))
		if err == nil && d.IsInt() {
			if v, _, ok := d.Int64(0); ok {
				return v
			}
		}
		s.FailAt(at, "invalid integer "+strconv.Quote(string(t)))
	}
	return n
}

// optDec reads a decimal or null; ok is false for null.
func (s *scanner) optDec() (decimal.Decimal, bool) {
	if s.Null() {
		return decimal.Decimal{}, false
	}
	return s.Dec(), true
}

// time reads an ISO 8601 timestamp string ("2024-01-01T00:00:01.235Z") as
// Unix ns.
func (s *scanner) time() int64 {
	s.Peek()
	at := s.Pos()
	t := s.Str()
	if s.Failed() {
		return 0
	}
	ns, ok := parseTimestamp(t)
	if !ok {
		s.FailAt(at, "invalid timestamp "+strconv.Quote(string(t)))
	}
	return ns
}

// parseTimestamp reads BitMEX's timestamps: "2006-01-02T15:04:05.000Z" on
// a fast path, anything RFC 3339 otherwise.
func parseTimestamp(b []byte) (int64, bool) {
	if len(b) == 24 && b[4] == '-' && b[7] == '-' && b[10] == 'T' && b[13] == ':' && b[16] == ':' && b[19] == '.' && b[23] == 'Z' {
		d := func(i, n int) (int, bool) {
			v := 0
			for _, c := range b[i : i+n] {
				if c < '0' || c > '9' {
					return 0, false
				}
				v = v*10 + int(c-'0')
			}
			return v, true
		}
		y, ok1 := d(0, 4)
		mo, ok2 := d(5, 2)
		dd, ok3 := d(8, 2)
		h, ok4 := d(11, 2)
		mi, ok5 := d(14, 2)
		se, ok6 := d(17, 2)
		ms, ok7 := d(20, 3)
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && mo >= 1 && mo <= 12 && dd >= 1 && dd <= 31 && h < 24 && mi < 60 && se < 61 {
			return time.Date(y, time.Month(mo), dd, h, mi, se, ms*int(time.Millisecond), time.UTC).UnixNano(), true
		}
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return 0, false
	}
	return t.UnixNano(), true
}

// formatTime prints ns as BitMEX's query form, 2006-01-02T15:04:05.000Z
// (millisecond precision; ns is rounded down).
func formatTime(ns int64) string {
	return time.Unix(0, ns).UTC().Format("2006-01-02T15:04:05.000Z")
}
