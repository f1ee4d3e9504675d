package okx

import (
	"fmt"
	"strconv"

	"github.com/govalues/decimal"
)

// DecodeError reports an OKX payload that could not be decoded. It names
// what was being decoded, the byte offset and a short excerpt, never the
// whole (possibly large) body.
type DecodeError struct {
	What   string // "history-candles", "books", "ws frame", ...
	Offset int
	Reason string
	Near   string // up to 64 bytes around Offset
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("okx: decode %s: %s at byte %d near %q", e.What, e.Reason, e.Offset, e.Near)
}

// scanner is a small, allocation-free JSON reader for OKX's payloads (every
// number arrives as a string, except seqId, prevSeqId and checksum). After
// the first error every method returns zero values and loops end, so
// callers check err once at the end.
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

// peek returns the next non-space byte, 0 at the end.
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

func (s *scanner) expect(c byte) bool {
	if s.peek() != c {
		s.fail("expected " + strconv.QuoteRune(rune(c)))
		return false
	}
	s.i++
	return true
}

// enter consumes open and reports whether the container has a member.
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

// more consumes ',' (true, another member follows) or close (false).
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

// str reads a string: a slice of the input, or a new slice when it holds
// escapes.
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
	s.peek()
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

// scalar reads a string's contents or a bare token.
func (s *scanner) scalar() []byte {
	if s.peek() == '"' {
		return s.str()
	}
	return s.token()
}

// int reads an integer, bare or quoted.
func (s *scanner) int() int64 {
	t := s.scalar()
	if s.err != nil {
		return 0
	}
	n, ok := parseInt(t)
	if !ok {
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
	if n > 1<<63 || (!neg && n > 1<<63-1) {
		return 0, false
	}
	if neg {
		return -int64(n), true
	}
	return int64(n), true
}

// dec reads a decimal given as a string or a bare number. Values with more
// than 19 significant digits keep their 19 leading digits (the fraction is
// rounded), as govalues/decimal does.
func (s *scanner) dec() decimal.Decimal {
	t := s.scalar()
	if s.err != nil {
		return decimal.Decimal{}
	}
	var d decimal.Decimal
	if err := d.UnmarshalText(t); err != nil {
		s.i -= len(t)
		s.fail("invalid decimal " + strconv.Quote(string(t)) + ": " + err.Error())
	}
	return d
}

// null consumes a null literal if one is next.
func (s *scanner) null() bool {
	if s.peek() == 'n' && len(s.b)-s.i >= 4 && string(s.b[s.i:s.i+4]) == "null" {
		s.i += 4
		return true
	}
	return false
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

// end checks that only white space is left.
func (s *scanner) end() {
	if s.peek() != 0 && s.err == nil {
		s.fail("unexpected data after the value")
	}
}
