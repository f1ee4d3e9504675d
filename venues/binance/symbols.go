package binance

import (
	"slices"
	"strings"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators/exchange"
)

// symbolTable maps canonical symbols to Binance's and back, built from the
// exchangeInfo symbol list. It is immutable once built.
type symbolTable struct {
	markets []domain.Market
	rules   []exchange.TradingRules // parallel to markets (may be empty)
	byCanon map[domain.Symbol]int
	byVenue map[string]int
}

func newSymbolTable(markets []domain.Market, rules []exchange.TradingRules) *symbolTable {
	t := &symbolTable{
		markets: markets,
		rules:   rules,
		byCanon: make(map[domain.Symbol]int, len(markets)),
		byVenue: make(map[string]int, len(markets)),
	}
	for i, m := range markets {
		t.byVenue[m.VenueSymbol] = i
		if j, dup := t.byCanon[m.Symbol]; dup && markets[j].Active && !m.Active {
			continue // keep the trading market if a delisted one shares the name
		}
		t.byCanon[m.Symbol] = i
	}
	return t
}

// quoteAssets are Binance quote assets, longest first, used to split a
// venue symbol when no symbol list is available.
var quoteAssets = []string{"FDUSD", "USDT", "USDC", "BUSD", "TUSD", "USDP", "DAI", "EUR", "TRY", "BRL", "GBP", "AUD", "JPY", "RUB", "UAH", "ZAR", "PLN", "RON", "ARS", "MXN", "COP", "IDRT", "BIDR", "NGN", "BTC", "ETH", "BNB", "XRP", "TRX", "DOGE", "DOT", "VAI", "PAX"}

// venueSymbol returns Binance's name for sym. Without a table (exchangeInfo
// unavailable) it returns BASE+QUOTE, which is Binance's spot naming rule;
// with one, unknown symbols are rejected with a *SymbolError.
func (t *symbolTable) venueSymbol(sym domain.Symbol) (string, error) {
	if sym.Market != domain.Spot {
		return "", &domain.CapabilityError{Venue: Name, What: "market kind " + sym.Market.String() + " (" + sym.String() + ")", Accept: "spot symbols such as BTC/USDT"}
	}
	if sym.Base == "" || sym.Quote == "" {
		return "", &SymbolError{Symbol: sym.String()}
	}
	if t == nil {
		return sym.Base + sym.Quote, nil
	}
	if i, ok := t.byCanon[sym]; ok {
		return t.markets[i].VenueSymbol, nil
	}
	return "", &SymbolError{Symbol: sym.String(), VenueSymbol: sym.Base + sym.Quote, Suggestions: t.suggest(sym)}
}

// canonical returns the canonical symbol for a Binance symbol (any case).
func (t *symbolTable) canonical(venue string) (domain.Symbol, error) {
	v := strings.ToUpper(strings.TrimSpace(venue))
	if t != nil {
		if i, ok := t.byVenue[v]; ok {
			return t.markets[i].Symbol, nil
		}
		return domain.Symbol{}, &SymbolError{Symbol: venue}
	}
	for _, q := range quoteAssets {
		if len(v) > len(q) && strings.HasSuffix(v, q) {
			if s, err := domain.ParseSymbol(v[:len(v)-len(q)] + "/" + q); err == nil {
				return s, nil
			}
		}
	}
	return domain.Symbol{}, &SymbolError{Symbol: venue}
}

// market returns the market of sym.
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

// suggest lists up to five listed symbols sharing the base (or, failing
// that, the quote) with sym, trading ones first.
func (t *symbolTable) suggest(sym domain.Symbol) []string {
	var same, quote []string
	for _, m := range t.markets {
		switch {
		case m.Symbol.Base == sym.Base && m.Active:
			same = append(same, m.Symbol.String())
		case m.Symbol.Quote == sym.Quote && strings.HasPrefix(m.Symbol.Base, sym.Base[:min(len(sym.Base), 2)]) && m.Active:
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
