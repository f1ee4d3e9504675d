package coinbase

import (
	"slices"
	"strings"

	"github.com/pype-go/pype/domain"
)

// symbolTable maps canonical symbols to Coinbase product ids and back,
// built from the /products list. It is immutable once built.
type symbolTable struct {
	markets []domain.Market
	byCanon map[domain.Symbol]int
	byVenue map[string]int
}

func newSymbolTable(markets []domain.Market) *symbolTable {
	t := &symbolTable{
		markets: markets,
		byCanon: make(map[domain.Symbol]int, len(markets)),
		byVenue: make(map[string]int, len(markets)),
	}
	for i, m := range markets {
		t.byVenue[strings.ToUpper(m.VenueSymbol)] = i
		if j, dup := t.byCanon[m.Symbol]; dup && markets[j].Active && !m.Active {
			continue // keep the trading product if a delisted one shares the name
		}
		t.byCanon[m.Symbol] = i
	}
	return t
}

// venueSymbol returns Coinbase's product id for sym. Without a table it
// returns BASE-QUOTE, Coinbase's naming rule; with one, unknown symbols are
// rejected with a *SymbolError.
func (t *symbolTable) venueSymbol(sym domain.Symbol) (string, error) {
	if sym.Market != domain.Spot {
		return "", &domain.CapabilityError{Venue: Name, What: "market kind " + sym.Market.String() + " (" + sym.String() + ")", Accept: "spot symbols such as BTC/USD"}
	}
	if sym.Base == "" || sym.Quote == "" {
		return "", &SymbolError{Symbol: sym.String()}
	}
	naive := sym.Base + "-" + sym.Quote
	if t == nil {
		return naive, nil
	}
	if i, ok := t.byCanon[sym]; ok {
		return t.markets[i].VenueSymbol, nil
	}
	return "", &SymbolError{Symbol: sym.String(), VenueSymbol: naive, Suggestions: t.suggest(sym)}
}

// canonical returns the canonical symbol of a product id (any case).
func (t *symbolTable) canonical(venue string) (domain.Symbol, error) {
	v := strings.ToUpper(strings.TrimSpace(venue))
	if t != nil {
		if i, ok := t.byVenue[v]; ok {
			return t.markets[i].Symbol, nil
		}
		return domain.Symbol{}, &SymbolError{Symbol: venue}
	}
	base, quote, ok := strings.Cut(v, "-")
	if ok {
		if s, err := domain.ParseSymbol(base + "/" + quote); err == nil {
			return s, nil
		}
	}
	return domain.Symbol{}, &SymbolError{Symbol: venue}
}

// suggest lists up to five listed products sharing the base (or, failing
// that, the quote and a prefix of the base) with sym, trading ones first.
func (t *symbolTable) suggest(sym domain.Symbol) []string {
	var same, quote []string
	for _, m := range t.markets {
		switch {
		case !m.Active:
		case m.Symbol.Base == sym.Base:
			same = append(same, m.Symbol.String())
		case m.Symbol.Quote == sym.Quote && strings.HasPrefix(m.Symbol.Base, sym.Base[:min(len(sym.Base), 2)]):
			quote = append(quote, m.Symbol.String())
		}
	}
	slices.Sort(same)
	slices.Sort(quote)
	out := append(same, quote...)
	if len(out) > 5 {
		out = out[:5]
	}
	return out
}
