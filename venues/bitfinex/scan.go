package bitfinex

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/govalues/decimal"
)

// This file is a small allocation-light JSON scanner for Bitfinex's
// positional arrays. Bitfinex sends prices and amounts as JSON numbers
// ("0.00383141", "1e-8", even float noise such as "116.00180000000002");
// they are read from their text by govalues/decimal, never through a
// float64.

// DecodeError reports a payload that does not have the expected shape.
type DecodeError struct {
	What   string // e.g. "candles", "ws frame"
	Offset int
	Reason string
	Sample string // start of the payload
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("bitfinex: decoding %s at byte %d: %s; payload starts %q", e.What, e.Offset, e.Reason, e.Sample)
}

type scanner struct {
	b    []byte
	i    int
	err  error
	what string
}

func newScanner(what string, b []byte) scanner { return scanner{b: b, what: what} }

func (s *scanner) fail(reason string) {
	if s.err != nil {
		return
	}
	sample := s.b
	if len(sample) > 120 {
		sample = sample[:120]
	}
	s.err = &DecodeError{What: s.what, Offset: s.i, Reason: reason, Sample: string(sample)}
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

func (s *scanner) peek() byte {
	s.ws()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

// enterArray consumes '[' and reports whether an element follows.
func (s *scanner) enterArray() bool {
	if s.err != nil {
		return false
	}
	if s.peek() != '[' {
		s.fail("expected an array")
		return false
	}
	s.i++
	if s.peek() == ']' {
		s.i++
		return false
	}
	return true
}

// moreArray consumes ',' (true: another element follows) or ']' (false).
func (s *scanner) moreArray() bool {
	if s.err != nil {
		return false
	}
	switch s.peek() {
	case ',':
		s.i++
		return true
	case ']':
		s.i++
		return false
	}
	s.fail("expected ',' or ']'")
	return false
}

// token returns the text of a scalar (number, true, false, null).
func (s *scanner) token() []byte {
	if s.err != nil {
		return nil
	}
	s.ws()
	start := s.i
	for s.i < len(s.b) {
		switch c := s.b[s.i]; c {
		case ',', ']', '}', ' ', '\t', '\n', '\r', ':':
			if s.i == start {
				s.fail("expected a value")
				return nil
			}
			return s.b[start:s.i]
		case '[', '{', '"':
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

// str returns a string's contents (escapes decoded).
func (s *scanner) str() string {
	if s.err != nil {
		return ""
	}
	if s.peek() != '"' {
		s.fail("expected a string")
		return ""
	}
	s.i++
	start := s.i
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '"':
			v := string(s.b[start:s.i])
			s.i++
			return v
		case '\\':
			return s.strEscaped(start)
		}
		s.i++
	}
	s.fail("unterminated string")
	return ""
}

func (s *scanner) strEscaped(start int) string {
	end := start
	for end < len(s.b) {
		if s.b[end] == '\\' {
			end += 2
			continue
		}
		if s.b[end] == '"' {
			break
		}
		end++
	}
	if end >= len(s.b) {
		s.fail("unterminated string")
		return ""
	}
	v, err := strconv.Unquote(string(s.b[start-1 : end+1]))
	if err != nil || !utf8.ValidString(v) {
		s.fail("invalid string escape")
		return ""
	}
	s.i = end + 1
	return v
}

// isString reports whether the next value is a string.
func (s *scanner) isString() bool { return s.peek() == '"' }

// isArray reports whether the next value is an array.
func (s *scanner) isArray() bool { return s.peek() == '[' }

func (s *scanner) int() int64 {
	t := s.token()
	if s.err != nil {
		return 0
	}
	n, err := strconv.ParseInt(string(t), 10, 64)
	if err != nil {
		// Some integers arrive as 1.7e12 or 123.0 from JavaScript.
		d, derr := decimal.Parse(string(t))
		if derr != nil {
			s.fail(fmt.Sprintf("invalid integer %q", t))
			return 0
		}
		w, f, ok := d.Int64(0)
		if !ok || f != 0 {
			s.fail(fmt.Sprintf("invalid integer %q", t))
			return 0
		}
		return w
	}
	return n
}

func (s *scanner) dec() decimal.Decimal {
	t := s.token()
	if s.err != nil {
		return decimal.Decimal{}
	}
	d, err := decimal.Parse(string(t))
	if err != nil {
		s.fail(fmt.Sprintf("invalid number %q: %v", t, err))
	}
	return d
}

// skip skips one value of any kind.
func (s *scanner) skip() {
	if s.err != nil {
		return
	}
	switch s.peek() {
	case '[', '{':
		depth := 0
		inStr := false
		for s.i < len(s.b) {
			c := s.b[s.i]
			s.i++
			switch {
			case inStr:
				if c == '\\' {
					s.i++
				} else if c == '"' {
					inStr = false
				}
			case c == '"':
				inStr = true
			case c == '[' || c == '{':
				depth++
			case c == ']' || c == '}':
				depth--
				if depth == 0 {
					return
				}
			}
		}
		s.fail("unterminated value")
	case '"':
		s.str()
	default:
		s.token()
	}
}

// end checks that nothing but white space follows.
func (s *scanner) end() {
	if s.err == nil && s.peek() != 0 {
		s.fail("trailing data")
	}
}
