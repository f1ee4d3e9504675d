package bitmex

import (
	"strconv"
	"time"

	"github.com/govalues/decimal"
)

// scanner is a small allocation-light JSON reader for the payload shapes
// BitMEX sends (arrays of flat objects, WebSocket table messages). Numbers
// are read as their literal bytes, so decimals keep the venue's digits (no
// float round trip). After the first error every method returns zero
// values and loops end, so callers check err once at the end.
type scanner struct {
	b     []byte
	i     int
	err   error
	what  string
	depth int
}

func newScanner(what string, b []byte) scanner { return scanner{b: b, what: what} }

func (s *scanner) fail(reason string) {
	if s.err == nil {
		lo, hi := max(0, s.i-32), min(len(s.b), s.i+32)
		s.err = &DecodeError{What: s.what, Offset: s.i, Reason: reason, Near: string(s.b[lo:hi])}
	}
	s.i = len(s.b)
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) expect(c byte) bool {
	if s.peek() != c {
		s.fail("expected " + strconv.QuoteRune(rune(c)))
		return false
	}
	s.i++
	return true
}

func (s *scanner) open(o, c byte) bool {
	if !s.expect(o) {
		return false
	}
	if s.peek() == c {
		s.i++
		return false
	}
	return true
}

func (s *scanner) next(c byte) bool {
	switch s.peek() {
	case ',':
		s.i++
		return true
	case c:
		s.i++
		return false
	}
	s.fail("expected ',' or " + strconv.QuoteRune(rune(c)))
	return false
}

func (s *scanner) enterObject() bool { return s.open('{', '}') }
func (s *scanner) moreObject() bool  { return s.next('}') }
func (s *scanner) enterArray() bool  { return s.open('[', ']') }
func (s *scanner) moreArray() bool   { return s.next(']') }

// key reads an object key and its colon.
func (s *scanner) key() []byte {
	k := s.str()
	s.expect(':')
	return k
}

// str reads a string: a slice of the input when it has no escapes, else a
// new unquoted slice.
func (s *scanner) str() []byte {
	if !s.expect('"') {
		return nil
	}
	start := s.i
	for j := start; j < len(s.b); j++ {
		switch s.b[j] {
		case '"':
			s.i = j + 1
			return s.b[start:j]
		case '\\':
			return s.escaped(start)
		}
	}
	s.fail("unterminated string")
	return nil
}

func (s *scanner) escaped(start int) []byte {
	for j := start; j < len(s.b); j++ {
		switch s.b[j] {
		case '\\':
			j++
		case '"':
			u, err := strconv.Unquote(string(s.b[start-1 : j+1]))
			if err != nil {
				s.fail("invalid string escape")
				return nil
			}
			s.i = j + 1
			return []byte(u)
		}
	}
	s.fail("unterminated string")
	return nil
}

// token reads a bare number or literal.
func (s *scanner) token() []byte {
	s.ws()
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		if c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' || c >= 'a' && c <= 'z' {
			s.i++
			continue
		}
		break
	}
	if s.i == start {
		s.fail("expected a value")
	}
	return s.b[start:s.i]
}

// null consumes a null literal if one is next.
func (s *scanner) null() bool {
	if s.peek() == 'n' && len(s.b)-s.i >= 4 && string(s.b[s.i:s.i+4]) == "null" {
		s.i += 4
		return true
	}
	return false
}

// int reads an integer (a bare number, or a string holding one).
func (s *scanner) int() int64 {
	var t []byte
	if s.peek() == '"' {
		t = s.str()
	} else {
		t = s.token()
	}
	if s.err != nil {
		return 0
	}
	n, ok := parseInt(t)
	if !ok {
		// BitMEX prints some integral fields as floats (1e+21, 100.0).
		d, err := decimal.Parse(string(t))
		if err == nil && d.IsInt() {
			if v, _, ok := d.Int64(0); ok {
				return v
			}
		}
		s.i -= len(t)
		s.fail("invalid integer " + strconv.Quote(string(t)))
	}
	return n
}

func parseInt(t []byte) (int64, bool) {
	neg := false
	if len(t) > 0 && t[0] == '-' {
		neg, t = true, t[1:]
	}
	if len(t) == 0 || len(t) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range t {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if n > 1<<63-1 {
		return 0, false
	}
	if neg {
		return -int64(n), true
	}
	return int64(n), true
}

// bool reads true or false.
func (s *scanner) bool() bool {
	t := s.token()
	switch string(t) {
	case "true":
		return true
	case "false":
		return false
	}
	if s.err == nil {
		s.i -= len(t)
		s.fail("expected true or false")
	}
	return false
}

// dec reads a decimal from a bare number (BitMEX) or a string.
func (s *scanner) dec() decimal.Decimal {
	var t []byte
	if s.peek() == '"' {
		t = s.str()
	} else {
		t = s.token()
	}
	if s.err != nil {
		return decimal.Decimal{}
	}
	var d decimal.Decimal
	if err := d.UnmarshalText(t); err != nil {
		s.i -= len(t)
		s.fail("invalid decimal " + strconv.Quote(string(t)))
	}
	return d
}

// optDec reads a decimal or null; ok is false for null.
func (s *scanner) optDec() (decimal.Decimal, bool) {
	if s.null() {
		return decimal.Decimal{}, false
	}
	return s.dec(), true
}

// time reads an ISO 8601 timestamp string ("2024-01-01T00:00:01.235Z") as
// Unix ns.
func (s *scanner) time() int64 {
	t := s.str()
	if s.err != nil {
		return 0
	}
	ns, ok := parseTimestamp(t)
	if !ok {
		s.i -= len(t) + 1
		s.fail("invalid timestamp " + strconv.Quote(string(t)))
	}
	return ns
}

// skip consumes any value.
func (s *scanner) skip() {
	switch s.peek() {
	case '"':
		s.str()
	case '{':
		if s.depth++; s.depth > 64 {
			s.fail("nesting too deep")
			return
		}
		for more := s.enterObject(); more; more = s.moreObject() {
			s.key()
			s.skip()
		}
		s.depth--
	case '[':
		if s.depth++; s.depth > 64 {
			s.fail("nesting too deep")
			return
		}
		for more := s.enterArray(); more; more = s.moreArray() {
			s.skip()
		}
		s.depth--
	default:
		s.token()
	}
}

// raw consumes a value and returns its bytes.
func (s *scanner) raw() []byte {
	s.ws()
	start := s.i
	s.skip()
	return s.b[start:s.i]
}

// end checks that only white space is left.
func (s *scanner) end() {
	if s.peek() != 0 && s.err == nil {
		s.fail("unexpected data after the value")
	}
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
