package domain

import (
	"fmt"
	"strings"
)

// MarketKind is the contract type of a [Symbol]. The zero value is spot.
type MarketKind string

// Market kinds a [Symbol] may carry after the colon.
const (
	Spot        MarketKind = ""
	Perp        MarketKind = "perp"
	Quarter     MarketKind = "quarter"
	NextQuarter MarketKind = "next_quarter"
)

// MarketKinds lists the accepted market kinds, spot first.
func MarketKinds() []MarketKind { return []MarketKind{Spot, Perp, Quarter, NextQuarter} }

// String returns the kind's canonical name ("spot" for the zero value).
func (k MarketKind) String() string {
	if k == Spot {
		return "spot"
	}
	return string(k)
}

// Symbol is pype's canonical instrument name: BASE/QUOTE with an optional
// market kind, e.g. BTC/USDT or BTC/USD:perp. Base and quote are upper case;
// XBT is normalised to BTC. The zero value is not a valid symbol.
type Symbol struct {
	Base   string
	Quote  string
	Market MarketKind
}

// NewSymbol builds a spot symbol from base and quote, normalising case and
// aliases. It panics on empty parts; use [ParseSymbol] for untrusted input.
func NewSymbol(base, quote string) Symbol {
	s, err := ParseSymbol(base + "/" + quote)
	if err != nil {
		panic(err)
	}
	return s
}

// SymbolError reports an unparseable symbol.
type SymbolError struct {
	Input  string
	Reason string
}

func (e *SymbolError) Error() string {
	return fmt.Sprintf("invalid symbol %q: %s (accepted: BASE/QUOTE[:perp|quarter|next_quarter], e.g. BTC/USDT, BTC-USDT, btc_usdt, BTC/USD:perp)", e.Input, e.Reason)
}

// assetAliases maps venue-specific asset codes to pype's canonical codes.
var assetAliases = map[string]string{"XBT": "BTC"}

// ParseSymbol parses BTC/USDT, BTC-USDT, btc_usdt and BTC/USD:perp into the
// canonical form. XBT is accepted as an alias for BTC.
func ParseSymbol(s string) (Symbol, error) {
	in := s
	s = strings.TrimSpace(s)
	if s == "" {
		return Symbol{}, &SymbolError{Input: in, Reason: "empty"}
	}
	var sym Symbol
	if i := strings.IndexByte(s, ':'); i >= 0 {
		kind := MarketKind(strings.ToLower(s[i+1:]))
		switch kind {
		case Perp, Quarter, NextQuarter:
			sym.Market = kind
		case "spot":
			sym.Market = Spot
		default:
			return Symbol{}, &SymbolError{Input: in, Reason: fmt.Sprintf("unknown market kind %q", s[i+1:])}
		}
		s = s[:i]
	}
	sep := strings.IndexAny(s, "/-_")
	if sep < 0 {
		return Symbol{}, &SymbolError{Input: in, Reason: "missing separator between base and quote"}
	}
	base, quote := s[:sep], s[sep+1:]
	if strings.ContainsAny(quote, "/-_") {
		return Symbol{}, &SymbolError{Input: in, Reason: "more than one separator"}
	}
	var err error
	if sym.Base, err = normAsset(base); err != nil {
		return Symbol{}, &SymbolError{Input: in, Reason: "base " + err.Error()}
	}
	if sym.Quote, err = normAsset(quote); err != nil {
		return Symbol{}, &SymbolError{Input: in, Reason: "quote " + err.Error()}
	}
	return sym, nil
}

// MustParseSymbol is [ParseSymbol] for constants; it panics on error.
func MustParseSymbol(s string) Symbol {
	sym, err := ParseSymbol(s)
	if err != nil {
		panic(err)
	}
	return sym
}

func normAsset(a string) (string, error) {
	if a == "" {
		return "", fmt.Errorf("is empty")
	}
	if len(a) > 20 {
		return "", fmt.Errorf("%q is longer than 20 characters", a)
	}
	for _, r := range a {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return "", fmt.Errorf("%q has character %q (letters and digits only)", a, r)
		}
	}
	a = strings.ToUpper(a)
	if c, ok := assetAliases[a]; ok {
		a = c
	}
	return a, nil
}

// IsZero reports whether s is the zero Symbol.
func (s Symbol) IsZero() bool { return s == Symbol{} }

// String returns the canonical form BASE/QUOTE[:market].
func (s Symbol) String() string {
	if s.IsZero() {
		return ""
	}
	if s.Market == Spot {
		return s.Base + "/" + s.Quote
	}
	return s.Base + "/" + s.Quote + ":" + string(s.Market)
}

// PathName returns a file-system friendly form: BTC-USDT or BTC-USD-perp.
func (s Symbol) PathName() string {
	if s.Market == Spot {
		return s.Base + "-" + s.Quote
	}
	return s.Base + "-" + s.Quote + "-" + string(s.Market)
}

// MarshalText implements encoding.TextMarshaler.
func (s Symbol) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Symbol) UnmarshalText(b []byte) error {
	v, err := ParseSymbol(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseSymbols parses a comma-separated list such as "BTC/USDT,ETH/USDT".
func ParseSymbols(list string) ([]Symbol, error) {
	var out []Symbol
	for part := range strings.SplitSeq(list, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		s, err := ParseSymbol(part)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, &SymbolError{Input: list, Reason: "no symbol given"}
	}
	return out, nil
}
