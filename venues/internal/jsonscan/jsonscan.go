// Package jsonscan is a small, allocation-free JSON reader for the venue
// adapters' hot paths (order book frames, trade and candle pages).
//
// A [Scanner] walks one JSON document in place. It is strict about
// structure (objects, arrays, strings, numbers, literals) but does not
// validate what it skips beyond balance and nesting depth. Strings without
// escapes and numbers are returned as slices of the input, so reading them
// does not allocate; only strings holding escapes are unquoted into a new
// slice.
//
// Errors are latched: the first failure records an [*Error] (naming what
// was being decoded, the byte offset and a short excerpt) and moves the
// scanner to the end of the input. From then on every method returns zero
// values and the enter/more loops end, so callers check [Scanner.Err] once
// at the end instead of after every read:
//
//	s := jsonscan.New("trades", body)
//	for more := s.EnterArray(); more; more = s.MoreArray() {
//		for m := s.EnterObject(); m; m = s.MoreObject() {
//			switch string(s.Key()) {
//			case "id":
//				id = s.Int()
//			default:
//				s.Skip()
//			}
//		}
//	}
//	s.End()
//	if err := s.Err(); err != nil { ... }
package jsonscan

import (
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/govalues/decimal"
)

// MaxDepth is how deeply Skip follows nested containers before it fails.
const MaxDepth = 64

// nearRadius is how many bytes either side of the offset Error.Near holds.
const nearRadius = 32

// Error reports a payload that could not be decoded. It names what was
// being decoded, the byte offset and a short excerpt, never the whole
// (possibly large) body.
type Error struct {
	What   string // the name given to New: "klines", "ws frame", ...
	Offset int    // byte offset into the input
	Reason string // what was wrong: "expected ','", "invalid integer \"x\"", ...
	Near   string // up to 64 bytes around Offset
}

func (e *Error) Error() string {
	return fmt.Sprintf("decode %s: %s at byte %d near %q", e.What, e.Reason, e.Offset, e.Near)
}

// Scanner reads one JSON document. The zero value reads an empty input
// (any read fails); use New. A Scanner is a small value: keep it on the
// stack and pass a pointer to helpers.
type Scanner struct {
	b     []byte
	i     int
	err   *Error
	what  string
	depth int
}

// New returns a Scanner over b. what names the payload in errors.
func New(what string, b []byte) Scanner { return Scanner{b: b, what: what} }

// Err returns the first failure as an *Error, or nil.
func (s *Scanner) Err() error {
	if s.err == nil {
		return nil
	}
	return s.err
}

// Failure returns the first failure, or nil. Unlike Err its result is
// typed, for callers that copy the fields into their own error type (do
// not return it as an error: a nil *Error in an error is not nil).
func (s *Scanner) Failure() *Error { return s.err }

// Failed reports whether a read has failed.
func (s *Scanner) Failed() bool { return s.err != nil }

// Pos returns the current byte offset.
func (s *Scanner) Pos() int { return s.i }

// Seek moves to byte offset i (clamped to the input), for example to come
// back to a value whose offset was noted with Pos. It does not clear a
// latched error.
func (s *Scanner) Seek(i int) {
	if s.err != nil {
		return
	}
	s.i = min(max(i, 0), len(s.b))
}

// Fail records reason at the current offset (unless an error is already
// latched) and ends the scan.
func (s *Scanner) Fail(reason string) { s.FailAt(s.i, reason) }

// FailAt records reason at byte offset at (unless an error is already
// latched) and ends the scan.
func (s *Scanner) FailAt(at int, reason string) {
	if s.err == nil {
		at = min(max(at, 0), len(s.b))
		lo, hi := max(0, at-nearRadius), min(len(s.b), at+nearRadius)
		s.err = &Error{What: s.what, Offset: at, Reason: reason, Near: string(s.b[lo:hi])}
	}
	s.i = len(s.b)
}

// Peek skips white space and returns the next byte, 0 at the end.
func (s *Scanner) Peek() byte {
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

// Expect consumes byte c (after white space) and reports whether it was
// there; otherwise it fails.
func (s *Scanner) Expect(c byte) bool {
	if s.Peek() != c {
		s.Fail("expected " + strconv.QuoteRune(rune(c)))
		return false
	}
	s.i++
	return true
}

// enter consumes open and reports whether the container has a first member.
func (s *Scanner) enter(open, close byte) bool {
	if !s.Expect(open) {
		return false
	}
	if s.Peek() == close {
		s.i++
		return false
	}
	return true
}

// more is called after each member: it consumes ',' and returns true, or
// consumes close and returns false.
func (s *Scanner) more(close byte) bool {
	switch s.Peek() {
	case ',':
		s.i++
		return true
	case close:
		s.i++
		return false
	}
	s.Fail("expected ',' or " + strconv.QuoteRune(rune(close)))
	return false
}

// EnterObject consumes '{' and reports whether the object has a member.
func (s *Scanner) EnterObject() bool { return s.enter('{', '}') }

// MoreObject consumes ',' (true: another member follows) or '}' (false).
func (s *Scanner) MoreObject() bool { return s.more('}') }

// EnterArray consumes '[' and reports whether the array has an element.
func (s *Scanner) EnterArray() bool { return s.enter('[', ']') }

// MoreArray consumes ',' (true: another element follows) or ']' (false).
func (s *Scanner) MoreArray() bool { return s.more(']') }

// Key reads an object key and the colon after it.
func (s *Scanner) Key() []byte {
	k := s.Str()
	s.Expect(':')
	return k
}

// Str reads a string. A string without escapes is returned as a slice of
// the input (no allocation); one with escapes is unquoted into a new
// slice. Bytes other than escapes are passed through unchanged.
func (s *Scanner) Str() []byte {
	if !s.Expect('"') {
		return nil
	}
	start := s.i
	for j := start; j < len(s.b); j++ {
		switch s.b[j] {
		case '"':
			s.i = j + 1
			return s.b[start:j]
		case '\\':
			return s.escaped(start, j)
		}
	}
	s.FailAt(start-1, "unterminated string")
	return nil
}

// escaped unquotes the string whose content starts at start and whose
// first backslash is at j.
func (s *Scanner) escaped(start, j int) []byte {
	end := j
	for ; end < len(s.b) && s.b[end] != '"'; end++ {
		if s.b[end] == '\\' {
			end++
		}
	}
	if end >= len(s.b) {
		s.FailAt(start-1, "unterminated string")
		return nil
	}
	out := make([]byte, 0, end-start)
	out = append(out, s.b[start:j]...)
	for j < end {
		c := s.b[j]
		if c != '\\' {
			out = append(out, c)
			j++
			continue
		}
		var r rune
		n := 2
		switch s.b[j+1] {
		case '"', '\\', '/':
			out = append(out, s.b[j+1])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			var ok bool
			if r, ok = hex4(s.b[j+2 : end]); !ok {
				s.FailAt(j, "invalid string escape")
				return nil
			}
			n = 6
			if utf16.IsSurrogate(r) {
				r2, ok := rune(-1), false
				if end-(j+6) >= 6 && s.b[j+6] == '\\' && s.b[j+7] == 'u' {
					r2, ok = hex4(s.b[j+8 : end])
				}
				if d := utf16.DecodeRune(r, r2); ok && d != utf8.RuneError {
					r, n = d, 12
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			s.FailAt(j, "invalid string escape")
			return nil
		}
		j += n
	}
	s.i = end + 1
	return out
}

// hex4 decodes the four hex digits at the start of b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// Token reads a bare number or literal (true, false, null) as raw text.
func (s *Scanner) Token() []byte {
	s.Peek()
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
		s.Fail("expected a value")
		return nil
	}
	return s.b[start:s.i]
}

// Scalar reads a string's content or a bare token's text.
func (s *Scanner) Scalar() []byte {
	if s.Peek() == '"' {
		return s.Str()
	}
	return s.Token()
}

// Int reads an integer, bare or quoted. A value that is not an integer in
// the int64 range fails at the value's offset.
func (s *Scanner) Int() int64 {
	at := s.valueStart()
	t := s.Scalar()
	if s.err != nil {
		return 0
	}
	n, ok := ParseInt(t)
	if !ok {
		s.FailAt(at, "invalid integer "+strconv.Quote(string(t)))
	}
	return n
}

// valueStart returns the offset of the next value (after white space).
func (s *Scanner) valueStart() int {
	s.Peek()
	return s.i
}

// ParseInt parses a decimal integer (optional '-', 1 to 19 digits) in the
// int64 range, without allocating.
func ParseInt(t []byte) (int64, bool) {
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
	if neg {
		if n > 1<<63 {
			return 0, false
		}
		return int64(-n), true
	}
	if n > 1<<63-1 {
		return 0, false
	}
	return int64(n), true
}

// Bool reads true or false.
func (s *Scanner) Bool() bool {
	at := s.valueStart()
	t := s.Token()
	switch string(t) {
	case "true":
		return true
	case "false":
		return false
	}
	s.FailAt(at, "expected true or false")
	return false
}

// Dec reads a decimal given as a string or a bare number, without a float
// round trip. Values with more than 19 significant digits keep their 19
// leading digits (the fraction is rounded), as govalues/decimal does.
func (s *Scanner) Dec() decimal.Decimal {
	at := s.valueStart()
	t := s.Scalar()
	if s.err != nil {
		return decimal.Decimal{}
	}
	var d decimal.Decimal
	if err := d.UnmarshalText(t); err != nil {
		s.FailAt(at, "invalid decimal "+strconv.Quote(string(t))+": "+err.Error())
		return decimal.Decimal{}
	}
	return d
}

// Null consumes a null literal if one is next and reports whether it did.
func (s *Scanner) Null() bool {
	if s.Peek() == 'n' && len(s.b)-s.i >= 4 && string(s.b[s.i:s.i+4]) == "null" {
		s.i += 4
		return true
	}
	return false
}

// Skip consumes one value of any kind, following at most MaxDepth nested
// containers.
func (s *Scanner) Skip() {
	switch s.Peek() {
	case '"':
		s.Str()
	case '{':
		if s.depth++; s.depth > MaxDepth {
			s.Fail("nesting too deep")
			return
		}
		for more := s.EnterObject(); more; more = s.MoreObject() {
			s.Key()
			s.Skip()
		}
		s.depth--
	case '[':
		if s.depth++; s.depth > MaxDepth {
			s.Fail("nesting too deep")
			return
		}
		for more := s.EnterArray(); more; more = s.MoreArray() {
			s.Skip()
		}
		s.depth--
	default:
		s.Token()
	}
}

// Raw consumes one value and returns its text (a slice of the input).
func (s *Scanner) Raw() []byte {
	at := s.valueStart()
	s.Skip()
	if s.err != nil {
		return nil
	}
	return s.b[at:s.i]
}

// End checks that only white space is left.
func (s *Scanner) End() {
	if s.Peek() != 0 {
		s.Fail("unexpected data after the value")
	}
}
