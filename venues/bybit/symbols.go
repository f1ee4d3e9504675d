package bybit

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/govalues/decimal"
	"github.com/pype-go/pype/domain"
)

// Market is a Bybit instrument: pype's trading rules plus its category.
type Market struct {
	domain.Market
	Category     Category
	ContractType string // "" for spot; LinearPerpetual, LinearFutures, InversePerpetual, InverseFutures
	Delivery     int64  // futures delivery time (ns), 0 for perpetuals and spot
}

type venueKey struct {
	cat  Category
	name string
}

// symbolTable maps canonical symbols to Bybit's (category, name) and back,
// built from instruments-info. It is immutable once built.
type symbolTable struct {
	markets []Market
	byCanon map[domain.Symbol]int
	byVenue map[venueKey]int
}

// marketsFromInstruments converts instruments-info rows of one category.
// Perpetuals become BASE/QUOTE:perp; dated futures whose delivery falls in
// March, June, September or December become :quarter (the nearest) and
// :next_quarter (the one after), per base, quote and category; other dated
// futures keep no canonical name of their own (they are listed under
// their Bybit name only).
func marketsFromInstruments(cat Category, rows []instrument) []Market {
	var out []Market
	type futKey struct{ base, quote string }
	futures := map[futKey][]int{}
	for _, r := range rows {
		base, quote := strings.ToUpper(r.BaseCoin), strings.ToUpper(r.QuoteCoin)
		sym, err := domain.ParseSymbol(base + "/" + quote)
		if err != nil || r.Symbol == "" {
			continue
		}
		m := Market{Category: cat, ContractType: r.ContractType}
		m.Venue = Name
		m.VenueSymbol = r.Symbol
		m.Active = r.Status == "Trading"
		m.PriceTick = parseOpt(r.PriceFilter.TickSize)
		step := r.LotSizeFilter.QtyStep
		if cat == Spot {
			step = r.LotSizeFilter.BasePrecision
		}
		m.AmountStep = parseOpt(step)
		m.MinAmount = parseOpt(r.LotSizeFilter.MinOrderQty)
		m.MaxAmount = parseOpt(r.LotSizeFilter.MaxOrderQty)
		if cat == Spot {
			m.MinNotional = parseOpt(r.LotSizeFilter.MinOrderAmt)
		} else {
			m.MinNotional = parseOpt(r.LotSizeFilter.MinNotionalValue)
		}
		m.PriceScale = m.PriceTick.Trim(0).Scale()
		m.AmountScale = m.AmountStep.Trim(0).Scale()
		switch {
		case cat == Spot:
			sym.Market = domain.Spot
		case strings.HasSuffix(r.ContractType, "Perpetual"):
			sym.Market = domain.Perp
		case strings.HasSuffix(r.ContractType, "Futures") && r.DeliveryTime > 0:
			m.Delivery = domain.MillisToNanos(int64(r.DeliveryTime))
			mon := time.Unix(0, m.Delivery).UTC().Month()
			if mon%3 == 0 && m.Active {
				k := futKey{base, quote}
				futures[k] = append(futures[k], len(out))
			}
			sym = domain.Symbol{} // named below, or by venue name only
		default:
			continue
		}
		m.Symbol, m.Kind = sym, sym.Market
		out = append(out, m)
	}
	for k, idx := range futures {
		slices.SortFunc(idx, func(i, j int) int { return cmp.Compare(out[i].Delivery, out[j].Delivery) })
		for n, i := range idx[:min(2, len(idx))] {
			kind := domain.Quarter
			if n == 1 {
				kind = domain.NextQuarter
			}
			out[i].Symbol = domain.Symbol{Base: k.base, Quote: k.quote, Market: kind}
			out[i].Kind = kind
		}
	}
	return out
}

func parseOpt(s string) decimal.Decimal {
	d, err := decimal.Parse(strings.TrimSpace(s))
	if err != nil {
		return decimal.Decimal{}
	}
	return d
}

func newSymbolTable(markets []Market) *symbolTable {
	t := &symbolTable{
		markets: markets,
		byCanon: make(map[domain.Symbol]int, len(markets)),
		byVenue: make(map[venueKey]int, len(markets)),
	}
	for i, m := range markets {
		t.byVenue[venueKey{m.Category, m.VenueSymbol}] = i
		if m.Symbol.IsZero() {
			continue
		}
		if j, dup := t.byCanon[m.Symbol]; dup && (markets[j].Active || !m.Active) {
			continue // keep the first trading listing of a name
		}
		t.byCanon[m.Symbol] = i
	}
	return t
}

// naiveName is Bybit's naming rule, used when no instrument list is
// available: spot, linear USDT and inverse USD contracts are BASE+QUOTE,
// USDC perpetuals BASE+"PERP".
func naiveName(sym domain.Symbol) (Category, string, error) {
	cat := categoryOf(sym)
	switch sym.Market {
	case domain.Spot:
		return cat, sym.Base + sym.Quote, nil
	case domain.Perp:
		if sym.Quote == "USDC" {
			return cat, sym.Base + "PERP", nil
		}
		return cat, sym.Base + sym.Quote, nil
	}
	return cat, "", &SymbolError{Symbol: sym.String(), Category: cat,
		Reason: "dated futures are named by their delivery date (e.g. BTCUSDH25); the instrument list is needed to map " + sym.Market.String() + " and it could not be read"}
}

// venueSymbol returns Bybit's category and name for sym. Without a table it
// applies Bybit's naming rule; with one, unknown symbols are rejected with a
// *SymbolError.
func (t *symbolTable) venueSymbol(sym domain.Symbol) (Category, string, error) {
	if sym.Base == "" || sym.Quote == "" {
		return "", "", &SymbolError{Symbol: sym.String()}
	}
	if t == nil {
		return naiveName(sym)
	}
	if i, ok := t.byCanon[sym]; ok {
		return t.markets[i].Category, t.markets[i].VenueSymbol, nil
	}
	cat, name, _ := naiveName(sym)
	return "", "", &SymbolError{Symbol: sym.String(), Category: cat, VenueSymbol: name, Suggestions: t.suggest(sym)}
}

// canonical returns the canonical symbol of a Bybit name in a category.
func (t *symbolTable) canonical(cat Category, venue string) (domain.Symbol, error) {
	v := strings.ToUpper(strings.TrimSpace(venue))
	if t != nil {
		if i, ok := t.byVenue[venueKey{cat, v}]; ok && !t.markets[i].Symbol.IsZero() {
			return t.markets[i].Symbol, nil
		}
		return domain.Symbol{}, &SymbolError{Symbol: venue, Category: cat}
	}
	for _, q := range quoteCoins {
		if len(v) > len(q) && strings.HasSuffix(v, q) {
			s, err := domain.ParseSymbol(v[:len(v)-len(q)] + "/" + q)
			if err != nil {
				break
			}
			switch {
			case cat == Spot:
			case cat == Inverse && q == "USD", cat == Linear && q != "USD":
				s.Market = domain.Perp
			default:
				continue
			}
			return s, nil
		}
	}
	if cat == Linear && strings.HasSuffix(v, "PERP") && len(v) > 4 {
		if s, err := domain.ParseSymbol(v[:len(v)-4] + "/USDC:perp"); err == nil {
			return s, nil
		}
	}
	return domain.Symbol{}, &SymbolError{Symbol: venue, Category: cat}
}

// quoteCoins are Bybit quote coins, longest first, used to split a name
// when no instrument list is available.
var quoteCoins = []string{"USDT", "USDC", "USDE", "EUR", "BRL", "TRY", "PLN", "BTC", "ETH", "DAI", "USD"}

// market returns the market of sym.
func (t *symbolTable) market(sym domain.Symbol) (Market, bool) {
	if t == nil {
		return Market{}, false
	}
	i, ok := t.byCanon[sym]
	if !ok {
		return Market{}, false
	}
	return t.markets[i], true
}

// suggest lists up to five listed symbols sharing the base (or the quote
// and a base prefix) with sym, trading ones first.
func (t *symbolTable) suggest(sym domain.Symbol) []string {
	seen := map[string]bool{}
	var same, quote []string
	for _, m := range t.markets {
		s := m.Symbol.String()
		if m.Symbol.IsZero() || !m.Active || seen[s] {
			continue
		}
		seen[s] = true
		switch {
		case m.Symbol.Base == sym.Base:
			same = append(same, s)
		case m.Symbol.Quote == sym.Quote && strings.HasPrefix(m.Symbol.Base, sym.Base[:min(len(sym.Base), 2)]):
			quote = append(quote, s)
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

// String describes a market briefly (for logs and errors).
func (m Market) String() string {
	return fmt.Sprintf("%s (%s %s)", m.Symbol, m.Category, m.VenueSymbol)
}
