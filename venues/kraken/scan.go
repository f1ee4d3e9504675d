package kraken

import (
	"fmt"
	"strconv"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/venues/internal/jsonscan"
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

// scanner is the shared JSON reader (jsonscan.Scanner) with Kraken's
// helpers. It reads numbers and strings as their raw text, so decimals keep
// the exact digits the venue wrote (Kraken's WebSocket v2 sends prices as
// JSON numbers with trailing zeros that the book checksum hashes). After
// the first error every method returns zero values and loops end, so
// callers check err once.
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

// dec reads a decimal given as a string or a number, keeping its digits.
// Unlike jsonscan.Scanner.Dec it goes through parseDec, which also takes
// the exponent forms Kraken's float formatting produces.
func (s *scanner) dec() decimal.Decimal {
	s.Peek()
	at := s.Pos()
	t := s.Scalar()
	if s.Failed() {
		return decimal.Decimal{}
	}
	d, err := parseDec(t)
	if err != nil {
		s.FailAt(at, "invalid decimal "+strconv.Quote(string(t)))
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
