package okx

import (
	"fmt"

	"github.com/pype-go/pype/venues/internal/jsonscan"
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

// scanner is the shared allocation-free JSON reader (jsonscan.Scanner) for
// OKX's payloads (every number arrives as a string, except seqId,
// prevSeqId and checksum). After the first error every method returns zero
// values and loops end, so callers check err once at the end.
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
