package okx

import (
	"slices"
	"strings"

	"github.com/pype-go/pype/domain"
)

// symbolTable maps canonical symbols to OKX instrument ids and back, built
// from /api/v5/public/instruments. It is immutable once built.
type symbolTable struct {
	markets []domain.Market
	byCanon map[domain.Symbol]int
	byInst  map[string]int
}

func newSymbolTable(markets []domain.Market) *symbolTable {
	t := &symbolTable{
		markets: markets,
		byCanon: make(map[domain.Symbol]int, len(markets)),
		byInst:  make(map[string]int, len(markets)),
	}
	for i, m := range markets {
		t.byInst[m.VenueSymbol] = i
		if j, dup := t.byCanon[m.Symbol]; dup && markets[j].Active && !m.Active {
			continue
		}
		t.byCanon[m.Symbol] = i
	}
	return t
}

// instID returns OKX's instrument id for a spot symbol. Without a table
// (the instrument list could not be read) it returns BASE-QUOTE, which is
// OKX's spot naming rule; with one, unknown symbols are rejected with a
// *SymbolError.
func (t *symbolTable) instID(sym domain.Symbol) (string, error) {
	if sym.Market != domain.Spot {
		return "", &domain.CapabilityError{Venue: Name, What: "market kind " + sym.Market.String() + " (" + sym.String() + ")",
			Accept: "spot symbols such as BTC/USDT (OKX derivatives sizes are contracts; not supported yet)"}
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
	return "", &SymbolError{Symbol: sym.String(), InstID: naive, Suggestions: t.suggest(sym)}
}

// canonical returns the canonical symbol for an OKX instrument id (any
// case): BTC-USDT → BTC/USDT, BTC-USDT-SWAP → BTC/USD:perp.
func (t *symbolTable) canonical(instID string) (domain.Symbol, error) {
	v := strings.ToUpper(strings.TrimSpace(instID))
	if t != nil {
		if i, ok := t.byInst[v]; ok {
			return t.markets[i].Symbol, nil
		}
	}
	s, err := symbolOf(v)
	if err != nil {
		return domain.Symbol{}, &SymbolError{Symbol: instID}
	}
	if t != nil && s.Market == domain.Spot {
		return domain.Symbol{}, &SymbolError{Symbol: instID, Suggestions: t.suggest(s)}
	}
	return s, nil
}

func (t *symbolTable) market(sym domain.Symbol) (domain.Market, bool) {
	if t == nil {
		return domain.Market{}, false
	}
	i, ok := t.byCanon[sym]
	if !ok {
		return domain.Market{}, false
	}
	return t.markets[i], true
}

// suggest lists up to five live symbols sharing the base (or, failing
// that, the quote and a similar base) with sym.
func (t *symbolTable) suggest(sym domain.Symbol) []string {
	var same, quote []string
	for _, m := range t.markets {
		if !m.Active || m.Symbol.Market != domain.Spot {
			continue
		}
		switch {
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
