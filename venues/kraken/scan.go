package kraken

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/govalues/decimal"
)

// DecodeError reports a Kraken payload that could not be decoded. It names
// what was being decoded, the byte offset and a short excerpt, never the
// whole (possibly large) body.
type DecodeError struct {
	What   string // "OHLC", "Trades", "book", ...
	Offset int
	Reason string
	Near   string // up to 64 bytes around Offset
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("kraken: decode %s: %s at byte %d near %q", e.What, e.Reason, e.Offset, e.Near)
}

// scanner is a small JSON reader for the shapes Kraken sends. It reads
// numbers and strings as their raw text, so decimals keep the exact digits
// the venue wrote (Kraken's WebSocket v2 sends prices as JSON numbers with
// trailing zeros that the book checksum hashes). After the first error
// every method returns zero values and loops end, so callers check err once.
type scanner struct {
	b    []byte
	i    int
	err  error
	what string
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

// enter consumes open and reports whether the container has a first member.
func (s *scanner) enter(open, close byte) bool {
	if !s.expect(open) {
		return false
	}
	if s.peek() == close {
		s.i++
		return false
	}
	return true
}

// more consumes a separator and reports whether another member follows, or
// consumes close and reports false.
func (s *scanner) more(close byte) bool {
	switch s.peek() {
	case ',':
		s.i++
		return true
	case close:
		s.i++
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
	s.expect(':')
	return k
}

// str reads a string and returns its content, unescaped (the slice aliases
// the input when the string has no escapes).
func (s *scanner) str() []byte {
	if s.peek() != '"' {
		s.fail("expected a string")
		return nil
	}
	start := s.i
	s.i++
	esc := false
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '\\':
			esc = true
			s.i += 2
			continue
		case '"':
			s.i++
			if !esc {
				return s.b[start+1 : s.i-1]
			}
			var out string
			if err := json.Unmarshal(s.b[start:s.i], &out); err != nil {
				s.i = start
				s.fail("invalid string escape")
				return nil
			}
			return []byte(out)
		}
		s.i++
	}
	s.i = start
	s.fail("unterminated string")
	return nil
}

// token reads a number or literal (true, false, null) as raw text.
func (s *scanner) token() []byte {
	s.ws()
	start := s.i
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c >= '0' && c <= '9', c == '-', c == '+', c == '.', c == 'e', c == 'E', c >= 'a' && c <= 'z':
			s.i++
			continue
		}
		break
	}
	if s.i == start {
		s.fail("expected a value")
		return nil
	}
	return s.b[start:s.i]
}

// scalar reads a string's content or a number's text.
func (s *scanner) scalar() []byte {
	if s.peek() == '"' {
		return s.str()
	}
	return s.token()
}

// null consumes null and reports whether it was there.
func (s *scanner) null() bool {
	if s.peek() == 'n' && len(s.b)-s.i >= 4 && string(s.b[s.i:s.i+4]) == "null" {
		s.i += 4
		return true
	}
	return false
}

// int reads an integer given as a number or a string.
func (s *scanner) int() int64 {
	t := s.scalar()
	if s.err != nil {
		return 0
	}
	n, ok := parseInt(t)
	if !ok {
		s.fail("invalid integer " + strconv.Quote(string(t)))
	}
	return n
}

func parseInt(t []byte) (int64, bool) {
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

// dec reads a decimal given as a string or a number, keeping its digits.
func (s *scanner) dec() decimal.Decimal {
	t := s.scalar()
	if s.err != nil {
		return decimal.Decimal{}
	}
	d, err := parseDec(t)
	if err != nil {
		s.fail("invalid decimal " + strconv.Quote(string(t)))
	}
	return d
}

// parseDec parses a decimal without a float round trip. Exponent notation
// ("5e-07", which Kraken's float formatting can produce for tiny amounts)
// is accepted.
func parseDec(t []byte) (decimal.Decimal, error) {
	d, err := decimal.Parse(string(t))
	if err == nil {
		return d, nil
	}
	for i, c := range t {
		if c == 'e' || c == 'E' {
			m, err1 := decimal.Parse(string(t[:i]))
			e, err2 := strconv.Atoi(string(t[i+1:]))
			if err1 != nil || err2 != nil || e < -19 || e > 19 {
				return decimal.Decimal{}, err
			}
			if e >= 0 {
				ten, _ := decimal.New(1, 0)
				for range e {
					ten, _ = ten.Mul(decimal.Ten)
				}
				return m.Mul(ten)
			}
			q, qerr := decimal.New(1, -e)
			if qerr != nil {
				return decimal.Decimal{}, err
			}
			return m.Mul(q)
		}
	}
	return decimal.Decimal{}, err
}

// skip skips one value of any kind.
func (s *scanner) skip() {
	switch s.peek() {
	case '"':
		s.str()
	case '{':
		if s.enterObject() {
			for {
				s.key()
				s.skip()
				if !s.moreObject() {
					break
				}
			}
		}
	case '[':
		if s.enterArray() {
			for {
				s.skip()
				if !s.moreArray() {
					break
				}
			}
		}
	default:
		s.token()
	}
}

// end checks that nothing but whitespace follows.
func (s *scanner) end() {
	if s.peek() != 0 {
		s.fail("trailing data")
	}
}

// secondsToNanos converts a decimal seconds text ("1688669597.8277369",
// Kraken's trade times) to nanoseconds exactly, without a float round
// trip. Digits beyond nanoseconds are truncated.
func secondsToNanos(t []byte) (int64, bool) {
	var sec, frac int64
	i := 0
	neg := len(t) > 0 && t[0] == '-'
	if neg {
		i++
	}
	start := i
	for ; i < len(t) && t[i] >= '0' && t[i] <= '9'; i++ {
		sec = sec*10 + int64(t[i]-'0')
		if i-start > 11 {
			return 0, false
		}
	}
	if i == start {
		return 0, false
	}
	digits := 0
	if i < len(t) && t[i] == '.' {
		i++
		for ; i < len(t) && t[i] >= '0' && t[i] <= '9'; i++ {
			if digits < 9 {
				frac = frac*10 + int64(t[i]-'0')
				digits++
			}
		}
	}
	if i != len(t) {
		return 0, false
	}
	for ; digits < 9; digits++ {
		frac *= 10
	}
	ns := sec*1e9 + frac
	if neg {
		ns = -ns
	}
	return ns, true
}
