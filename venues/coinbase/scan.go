package coinbase

import (
	"fmt"
	"strconv"
	"time"

	"github.com/pype-go/pype/venues/internal/jsonscan"
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

// scanner is the shared allocation-free JSON reader (jsonscan.Scanner) for
// the payload shapes Coinbase sends (arrays of rows, flat objects), plus
// time for its RFC 3339 timestamps. After the first error every method
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

// time reads an RFC 3339 timestamp string ("2026-06-11T12:53:38.945255Z")
// as Unix ns.
func (s *scanner) time() int64 {
	s.Peek()
	at := s.Pos()
	t := s.Str()
	if s.Failed() {
		return 0
	}
	ns, ok := parseTime(t)
	if !ok {
		s.FailAt(at, "invalid time "+strconv.Quote(string(t)))
	}
	return ns
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
