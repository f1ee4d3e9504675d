package bitfinex

import (
	"fmt"
	"strconv"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/venues/internal/jsonscan"
)

// This file adapts the shared allocation-free JSON scanner
// (venues/internal/jsonscan) to Bitfinex's positional arrays. Bitfinex
// sends prices and amounts as JSON numbers ("0.00383141", "1e-8", even
// float noise such as "116.00180000000002"); they are read from their text
// by govalues/decimal (exponents included), never through a float64.

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

// scanner is jsonscan.Scanner plus the payload, whose start DecodeError
// shows, and int for the integers JavaScript prints as floats. After the
// first error every method returns zero values and loops end, so callers
// check err once at the end.
type scanner struct {
	jsonscan.Scanner
	payload []byte
}

func newScanner(what string, b []byte) scanner {
	return scanner{Scanner: jsonscan.New(what, b), payload: b}
}

// err returns the first failure as a *DecodeError, or nil. It is the one
// place scanner failures become this package's error type.
func (s *scanner) err() error {
	e := s.Failure()
	if e == nil {
		return nil
	}
	return &DecodeError{What: e.What, Offset: e.Offset, Reason: e.Reason, Sample: sample(s.payload)}
}

// isString reports whether the next value is a string.
func (s *scanner) isString() bool { return s.Peek() == '"' }

// isArray reports whether the next value is an array.
func (s *scanner) isArray() bool { return s.Peek() == '[' }

// int reads an integer. Unlike jsonscan's Int it also accepts integral
// values JavaScript prints as floats (1.7e12, 123.0); 123.5 fails
// (Int64(0) alone would round it).
func (s *scanner) int() int64 {
	s.Peek()
	at := s.Pos()
	t := s.Scalar()
	if s.Failed() {
		return 0
	}
	if n, ok := jsonscan.ParseInt(t); ok {
		return n
	}
	if d, err := decimal.Parse(string(t)); err == nil && d.IsInt() {
		if w, _, ok := d.Int64(0); ok {
			return w
		}
	}
	s.FailAt(at, "invalid integer "+strconv.Quote(string(t)))
	return 0
}
