package bitmex

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
)

// Instrument is what GET /instrument/active says about one contract (the
// fields pype uses).
type Instrument struct {
	Symbol        string // XBTUSD
	RootSymbol    string // XBT
	Typ           string // FFWCSX perpetual, FFCCSX future, IFXXXP spot, …
	State         string // Open, Closed, Unlisted, Settled
	Underlying    string // XBT
	QuoteCurrency string // USD
	SettlCurrency string // XBt
	TickSize      decimal.Decimal
	LotSize       decimal.Decimal
	Multiplier    decimal.Decimal
	MaxOrderQty   decimal.Decimal
	IsInverse     bool
	IsQuanto      bool
	Listing       int64 // ns, 0 if absent
	Expiry        int64 // ns, 0 for perpetuals
}

// Instrument types (BitMEX's CFI-like "typ" codes).
const (
	typPerpetual     = "FFWCSX" // perpetual swap
	typPerpetualSpot = "FFWCSF" // perpetual on a spot index (legacy)
	typFuture        = "FFCCSX"
	typSpot          = "IFXXXP"
)

// isPerpetual reports a perpetual swap.
func (in Instrument) isPerpetual() bool {
	return in.Typ == typPerpetual || in.Typ == typPerpetualSpot
}

// parseInstruments decodes GET /instrument/active.
func parseInstruments(body []byte) ([]Instrument, error) {
	s := newScanner("instrument/active", body)
	var out []Instrument
	for more := s.EnterArray(); more; more = s.MoreArray() {
		var in Instrument
		for m := s.EnterObject(); m; m = s.MoreObject() {
			k := s.Key()
			if s.Null() {
				continue
			}
			switch string(k) {
			case "symbol":
				in.Symbol = string(s.Str())
			case "rootSymbol":
				in.RootSymbol = string(s.Str())
			case "typ":
				in.Typ = string(s.Str())
			case "state":
				in.State = string(s.Str())
			case "underlying":
				in.Underlying = string(s.Str())
			case "quoteCurrency":
				in.QuoteCurrency = string(s.Str())
			case "settlCurrency":
				in.SettlCurrency = string(s.Str())
			case "tickSize":
				in.TickSize = s.Dec()
			case "lotSize":
				in.LotSize = s.Dec()
			case "multiplier":
				in.Multiplier = s.Dec()
			case "maxOrderQty":
				in.MaxOrderQty = s.Dec()
			case "isInverse":
				in.IsInverse = s.Bool()
			case "isQuanto":
				in.IsQuanto = s.Bool()
			case "listing":
				in.Listing = s.time()
			case "expiry":
				in.Expiry = s.time()
			default:
				s.Skip()
			}
		}
		if in.Symbol != "" {
			out = append(out, in)
		}
	}
	s.End()
	return out, s.err()
}

// symbolTable maps canonical symbols to BitMEX's and back, built from the
// instrument list. It is immutable once built.
type symbolTable struct {
	markets []domain.Market
	insts   []Instrument // parallel to markets
	byCanon map[domain.Symbol]int
	byVenue map[string]int
	spot    map[domain.Symbol]string // spot pairs BitMEX lists (not served)
}

// newSymbolTable builds the table at time now (ns): perpetual swaps map to
// BASE/QUOTE:perp; quarterly futures (expiry in March, June, September or
// December) to :quarter (nearest) and :next_quarter (the one after).
// Spot pairs, options and other futures are not served.
func newSymbolTable(insts []Instrument, now int64) *symbolTable {
	t := &symbolTable{byCanon: map[domain.Symbol]int{}, byVenue: map[string]int{}, spot: map[domain.Symbol]string{}}
	add := func(in Instrument, sym domain.Symbol) {
		i := len(t.markets)
		m := domain.Market{
			Venue: Name, Symbol: sym, VenueSymbol: in.Symbol, Kind: sym.Market, Active: in.State == "Open",
			PriceTick: in.TickSize.Trim(0), AmountStep: in.LotSize.Trim(0), MinAmount: in.LotSize.Trim(0), MaxAmount: in.MaxOrderQty.Trim(0),
		}
		m.PriceScale, m.AmountScale = m.PriceTick.Scale(), m.AmountStep.Scale()
		t.markets = append(t.markets, m)
		t.insts = append(t.insts, in)
		t.byVenue[in.Symbol] = i
		if j, dup := t.byCanon[sym]; dup && t.markets[j].Active && !m.Active {
			return // keep the trading instrument if a closed one shares the name
		}
		t.byCanon[sym] = i
	}
	type fut struct {
		in  Instrument
		sym domain.Symbol
	}
	futures := map[domain.Symbol][]fut{}
	for _, in := range insts {
		sym, err := domain.ParseSymbol(in.Underlying + "/" + in.QuoteCurrency)
		if err != nil || in.Underlying == "" || in.QuoteCurrency == "" {
			continue // an index or an instrument without a pair
		}
		switch {
		case in.isPerpetual():
			sym.Market = domain.Perp
			add(in, sym)
		case in.Typ == typFuture && in.Expiry > now && isQuarterly(in.Expiry):
			futures[sym] = append(futures[sym], fut{in, sym})
		case in.Typ == typSpot:
			t.spot[sym] = in.Symbol
		}
	}
	keys := make([]domain.Symbol, 0, len(futures))
	for k := range futures {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b domain.Symbol) int { return strings.Compare(a.String(), b.String()) })
	for _, k := range keys {
		fs := futures[k]
		slices.SortFunc(fs, func(a, b fut) int { return cmp.Compare(a.in.Expiry, b.in.Expiry) })
		for i, f := range fs[:min(2, len(fs))] {
			f.sym.Market = domain.Quarter
			if i == 1 {
				f.sym.Market = domain.NextQuarter
			}
			add(f.in, f.sym)
		}
	}
	return t
}

func isQuarterly(expiry int64) bool {
	switch time.Unix(0, expiry).UTC().Month() {
	case time.March, time.June, time.September, time.December:
		return true
	}
	return false
}

// venueSymbol returns BitMEX's symbol for sym, or a typed error.
func (t *symbolTable) venueSymbol(sym domain.Symbol) (string, error) {
	if sym.Base == "" || sym.Quote == "" {
		return "", &SymbolError{Symbol: sym.String()}
	}
	if i, ok := t.byCanon[sym]; ok {
		return t.markets[i].VenueSymbol, nil
	}
	if sym.Market == domain.Spot {
		what := "spot market " + sym.String()
		if v, ok := t.spot[sym]; ok {
			what += " (" + v + ")"
		}
		return "", &domain.CapabilityError{Venue: Name, What: what,
			Accept: "perpetual swaps and quarterly futures, e.g. " + sym.Base + "/" + sym.Quote + ":perp — pype does not serve BitMEX spot pairs"}
	}
	return "", &SymbolError{Symbol: sym.String(), VenueSymbol: guessVenue(sym), Suggestions: t.suggest(sym)}
}

// guessVenue is BitMEX's perpetual naming rule (XBT for BTC), used in
// error messages only.
func guessVenue(sym domain.Symbol) string {
	if sym.Market != domain.Perp {
		return ""
	}
	return venueAsset(sym.Base) + sym.Quote
}

func venueAsset(a string) string {
	if a == "BTC" {
		return "XBT"
	}
	return a
}

// canonical returns the canonical symbol for a BitMEX symbol (any case).
func (t *symbolTable) canonical(venue string) (domain.Symbol, error) {
	v := strings.ToUpper(strings.TrimSpace(venue))
	if i, ok := t.byVenue[v]; ok {
		return t.markets[i].Symbol, nil
	}
	for s, vs := range t.spot {
		if vs == v {
			return domain.Symbol{}, &domain.CapabilityError{Venue: Name, What: fmt.Sprintf("spot market %s (%s)", s, v), Accept: "perpetual swaps and quarterly futures"}
		}
	}
	return domain.Symbol{}, &SymbolError{Symbol: venue}
}

func (t *symbolTable) instrument(sym domain.Symbol) (Instrument, domain.Market, bool) {
	i, ok := t.byCanon[sym]
	if !ok {
		return Instrument{}, domain.Market{}, false
	}
	return t.insts[i], t.markets[i], true
}

// suggest lists up to five served symbols sharing the base with sym.
func (t *symbolTable) suggest(sym domain.Symbol) []string {
	var out []string
	for _, m := range t.markets {
		if m.Symbol.Base == sym.Base && m.Active {
			out = append(out, m.Symbol.String())
		}
	}
	slices.Sort(out)
	return out[:min(len(out), 5)]
}
