package coinbase

import (
	"fmt"
	"strconv"
	"time"

	"github.com/govalues/decimal"
)

// DecodeError reports a Coinbase payload that could not be decoded. It
// names what was being decoded, the byte offset and a short excerpt, never
// the whole (possibly large) body.
type DecodeError struct {
	What   string // "candles", "trades", "book", "products", "ws", ...
	Offset int
	Reason string
	Near   string // up to 64 bytes around Offset
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("coinbase: decode %s: %s at byte %d near %q", e.What, e.Reason, e.Offset, e.Near)
}

// scanner is a small, allocation-free JSON reader for the payload shapes
// Coinbase sends (arrays of rows, flat objects). It checks structure but
// does not validate what it skips beyond balance. After the first error
// every method returns zero values and loops end, so callers check err once.
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

func (s *scanner) peek() byte {
	for s.i < len(s.b) {
		switch c := s.b[s.i]; c {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return c
		}
	}
	return 0
}

// enter consumes open and reports whether the container has a member.
func (s *scanner) enter(open, close byte) bool {
	if s.err != nil {
		return false
	}
	if s.peek() != open {
		s.fail("expected " + strconv.QuoteRune(rune(open)))
		return false
	}
	s.i++
	s.depth++
	if s.depth > 64 {
		s.fail("nesting too deep")
		return false
	}
	if s.peek() == close {
		s.i++
		s.depth--
		return false
	}
	return true
}

// more consumes ',' (true) or close (false).
func (s *scanner) more(close byte) bool {
	if s.err != nil {
		return false
	}
	switch s.peek() {
	case ',':
		s.i++
		return true
	case close:
		s.i++
		s.depth--
		return false
	}
	s.fail("expected ',' or " + strconv.QuoteRune(rune(close)))
	return false
}

func (s *scanner) enterObject() bool { return s.enter('{', '}') }
func (s *scanner) moreObject() bool  { return s.more('}') }
func (s *scanner) enterArray() bool  { return s.enter('[', ']') }
func (s *scanner) moreArray() bool   { return s.more(']') }

// key reads an object key and its colon.
func (s *scanner) key() []byte {
	k := s.str()
	if s.err == nil {
		if s.peek() != ':' {
			s.fail("expected ':'")
			return nil
		}
		s.i++
	}
	return k
}

// str reads a string; escapes are left as they are (Coinbase's keys and
// values never need unescaping, and only messages are shown to people).
func (s *scanner) str() []byte {
	if s.err != nil {
		return nil
	}
	if s.peek() != '"' {
		s.fail("expected a string")
		return nil
	}
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		switch s.b[j] {
		case '"':
			s.i = j + 1
			return s.b[start:j]
		case '\\':
			j++
		}
	}
	s.fail("unterminated string")
	return nil
}

// scalar reads a string's contents or a bare literal (number, true, ...).
func (s *scanner) scalar() []byte {
	if s.peek() == '"' {
		return s.str()
	}
	if s.err != nil {
		return nil
	}
	start := s.i
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r', ':':
			if s.i == start {
				s.fail("expected a value")
				return nil
			}
			return s.b[start:s.i]
		case '{', '[', '"':
			s.fail("expected a scalar")
			return nil
		}
		s.i++
	}
	if s.i == start {
		s.fail("unexpected end")
		return nil
	}
	return s.b[start:s.i]
}

// int reads an integer given as a number or a string ("18502034").
func (s *scanner) int() int64 {
	t := s.scalar()
	if s.err != nil {
		return 0
	}
	n, ok := atoi(t)
	if !ok {
		s.i -= len(t)
		s.fail("invalid integer " + strconv.Quote(string(t)))
	}
	return n
}

func atoi(t []byte) (int64, bool) {
	if len(t) == 0 || len(t) > 19 {
		return 0, false
	}
	neg := t[0] == '-'
	if neg {
		t = t[1:]
		if len(t) == 0 {
			return 0, false
		}
	}
	var n int64
	for _, c := range t {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// dec reads a decimal given as a string ("0.00002682") or a bare JSON
// number (candles: 42175.65) straight from its text: no float round trip.
func (s *scanner) dec() decimal.Decimal {
	t := s.scalar()
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

// time reads an RFC 3339 timestamp string ("2026-06-11T12:53:38.945255Z")
// as Unix ns.
func (s *scanner) time() int64 {
	t := s.str()
	if s.err != nil {
		return 0
	}
	ns, ok := parseTime(t)
	if !ok {
		s.i -= len(t) + 1
		s.fail("invalid time " + strconv.Quote(string(t)))
	}
	return ns
}

// null consumes a null literal if one is next.
func (s *scanner) null() bool {
	if s.peek() == 'n' && len(s.b)-s.i >= 4 && string(s.b[s.i:s.i+4]) == "null" {
		s.i += 4
		return true
	}
	return false
}

// bool reads true or false.
func (s *scanner) bool() bool {
	t := s.scalar()
	switch string(t) {
	case "true":
		return true
	case "false":
		return false
	}
	if s.err == nil {
		s.fail("expected true or false")
	}
	return false
}

// skip skips one value of any kind.
func (s *scanner) skip() {
	switch s.peek() {
	case '{':
		for more := s.enterObject(); more; more = s.moreObject() {
			s.key()
			s.skip()
		}
	case '[':
		for more := s.enterArray(); more; more = s.moreArray() {
			s.skip()
		}
	default:
		s.scalar()
	}
}

// end checks that nothing but space follows the value.
func (s *scanner) end() {
	if s.err == nil && s.peek() != 0 {
		s.fail("trailing data")
	}
}

// parseTime reads the timestamps Coinbase writes: RFC 3339 in UTC with 0 to
// 9 fraction digits ("2014-11-07T08:19:28.464459Z"). Other offsets fall
// back to the standard library.
func parseTime(b []byte) (int64, bool) {
	// YYYY-MM-DDTHH:MM:SS[.f+]Z
	if len(b) >= 20 && b[4] == '-' && b[7] == '-' && (b[10] == 'T' || b[10] == ' ') && b[13] == ':' && b[16] == ':' && b[len(b)-1] == 'Z' {
		num := func(i, n int) (int, bool) {
			v := 0
			for _, c := range b[i : i+n] {
				if c < '0' || c > '9' {
					return 0, false
				}
				v = v*10 + int(c-'0')
			}
			return v, true
		}
		y, ok1 := num(0, 4)
		mo, ok2 := num(5, 2)
		d, ok3 := num(8, 2)
		h, ok4 := num(11, 2)
		mi, ok5 := num(14, 2)
		sec, ok6 := num(17, 2)
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h < 24 && mi < 60 && sec < 61 {
			frac := int64(0)
			rest := b[19 : len(b)-1]
			if len(rest) > 0 {
				if rest[0] != '.' || len(rest) < 2 || len(rest) > 10 {
					return 0, false
				}
				digits := rest[1:]
				for _, c := range digits {
					if c < '0' || c > '9' {
						return 0, false
					}
					frac = frac*10 + int64(c-'0')
				}
				for k := len(digits); k < 9; k++ {
					frac *= 10
				}
			}
			days := daysFromCivil(y, mo, d)
			return ((days*24+int64(h))*60+int64(mi))*60*1e9 + int64(sec)*1e9 + frac, true
		}
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return 0, false
	}
	return t.UnixNano(), true
}

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian
// date (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
