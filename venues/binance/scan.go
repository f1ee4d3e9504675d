package binance

import (
	"fmt"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/venues/internal/jsonscan"
)

// DecodeError reports a Binance payload that could not be decoded. It names
// what was being decoded, the byte offset and a short excerpt, never the
// whole (possibly large) body.
type DecodeError struct {
	What   string // "klines", "aggTrades", "depthUpdate", ...
	Offset int
	Reason string
	Near   string // up to 64 bytes around Offset
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("binance: decode %s: %s at byte %d near %q", e.What, e.Reason, e.Offset, e.Near)
}

// scanner is the shared allocation-free JSON reader (jsonscan.Scanner)
// with Binance's helpers. It is strict about structure but does not
// validate what it skips beyond balance. After the first error every method
// returns zero values and loops end, so callers check err once at the end.
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

// levels appends [price, qty] pairs from an array to dst.
func (s *scanner) levels(dst []domain.BookLevel) []domain.BookLevel {
	for more := s.EnterArray(); more; more = s.MoreArray() {
		var l domain.BookLevel
		if s.EnterArray() {
			l.Price = s.Dec()
			if s.MoreArray() {
				l.Amount = s.Dec()
				for s.MoreArray() {
					s.Skip()
				}
			} else {
				s.Fail("book level without a quantity")
			}
		} else {
			s.Fail("empty book level")
		}
		dst = append(dst, l)
	}
	return dst
}
