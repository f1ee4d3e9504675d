package bitfinex

import (
	"slices"
	"strings"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
)

// Bitfinex names a trading pair "t" + BASE + QUOTE when both codes have
// three letters (tBTCUSD) and "t" + BASE + ":" + QUOTE otherwise
// (tDOGE:USD, tTESTBTC:TESTUSD). Several currency codes differ from the
// usual ones (UST is Tether USDt, UDC is USDC, DSH is Dash, ...); the venue
// publishes that map at conf/pub:map:currency:sym, which the adapter loads
// with the pair list and merges over the built-in table below.

// defaultCurrencyMap maps Bitfinex currency codes to the usual codes.
var defaultCurrencyMap = map[string]string{
	"UST": "USDT", "UDC": "USDC", "TSD": "TUSD", "DSH": "DASH", "IOT": "IOTA", "QTM": "QTUM",
	"MNA": "MANA", "DAT": "DATA", "ALG": "ALGO", "ATO": "ATOM", "STJ": "STORJ", "EUT": "EURT",
	"AMP": "AMPL", "YYW": "YOYOW", "QSH": "QASH", "EUS": "EURS",
}

// SplitPair splits a Bitfinex pair ("BTCUSD", "tBTCUSD", "tDOGE:USD") into
// its venue currency codes.
func SplitPair(pair string) (base, quote string, ok bool) {
	p := strings.TrimPrefix(strings.TrimSpace(pair), "t")
	if b, q, found := strings.Cut(p, ":"); found {
		return b, q, b != "" && q != "" && !strings.Contains(q, ":")
	}
	if len(p) == 6 {
		return p[:3], p[3:], true
	}
	return "", "", false
}

// JoinPair builds the Bitfinex trading symbol of two venue currency codes:
// tBTCUSD, or tDOGE:USD when a code is not three letters long.
func JoinPair(base, quote string) string {
	if len(base) == 3 && len(quote) == 3 {
		return "t" + base + quote
	}
	return "t" + base + ":" + quote
}

// symbolTable maps canonical symbols to Bitfinex trading symbols and back,
// built from the venue's pair list. It is immutable once built.
type symbolTable struct {
	markets []domain.Market
	byCanon map[domain.Symbol]int
	byVenue map[string]int // "tBTCUSD"
	toStd   map[string]string
}

// newSymbolTable builds the table from conf pair names ("BTCUSD",
// "DOGE:USD") and a currency map (venue code → usual code; nil: built-in).
func newSymbolTable(pairs []string, currencies map[string]string) *symbolTable {
	t := &symbolTable{byCanon: make(map[domain.Symbol]int, len(pairs)), byVenue: make(map[string]int, len(pairs)),
		toStd: make(map[string]string, len(defaultCurrencyMap)+len(currencies))}
	for k, v := range defaultCurrencyMap {
		t.toStd[k] = v
	}
	for k, v := range currencies {
		if k != "" && v != "" {
			t.toStd[strings.ToUpper(k)] = strings.ToUpper(v)
		}
	}
	step := decimal.MustNew(1, 8)
	for _, p := range pairs {
		b, q, ok := SplitPair(p)
		if !ok {
			continue
		}
		sym, err := domain.ParseSymbol(t.std(b) + "/" + t.std(q))
		if err != nil {
			continue
		}
		vs := JoinPair(b, q)
		if _, dup := t.byVenue[vs]; dup {
			continue
		}
		i := len(t.markets)
		t.markets = append(t.markets, domain.Market{Venue: Name, Symbol: sym, VenueSymbol: vs, Kind: domain.Spot,
			Active: true, AmountStep: step, AmountScale: 8})
		t.byVenue[vs] = i
		if _, dup := t.byCanon[sym]; !dup {
			t.byCanon[sym] = i
		}
	}
	return t
}

func (t *symbolTable) std(code string) string {
	if s, ok := t.toStd[code]; ok {
		return s
	}
	return code
}

// venueSymbol returns Bitfinex's trading symbol for sym (tBTCUSD).
func (t *symbolTable) venueSymbol(sym domain.Symbol) (string, error) {
	if sym.Market != domain.Spot {
		return "", &domain.CapabilityError{Venue: Name, What: "market kind " + sym.Market.String() + " (" + sym.String() + ")",
			Accept: "spot symbols such as BTC/USD"}
	}
	if sym.Base == "" || sym.Quote == "" {
		return "", &SymbolError{Symbol: sym.String(), Reason: "empty base or quote"}
	}
	if t == nil {
		return "", &SymbolError{Symbol: sym.String(), Reason: "the pair list (conf/pub:list:pair:exchange) could not be loaded, so the symbol cannot be checked; Bitfinex answers unknown symbols with empty pages"}
	}
	if i, ok := t.byCanon[sym]; ok {
		return t.markets[i].VenueSymbol, nil
	}
	return "", &SymbolError{Symbol: sym.String(), VenueSymbol: JoinPair(t.fromStd(sym.Base), t.fromStd(sym.Quote)), Suggestions: t.suggest(sym)}
}

// fromStd returns the venue code of a usual currency code (USDT → UST).
func (t *symbolTable) fromStd(code string) string {
	best := ""
	for k, v := range t.toStd {
		if v == code && (best == "" || k < best) {
			best = k
		}
	}
	if best != "" {
		return best
	}
	return code
}

// canonical returns the canonical symbol of a Bitfinex symbol ("tBTCUST",
// "BTCUST", "tDOGE:USD").
func (t *symbolTable) canonical(venue string) (domain.Symbol, error) {
	v := strings.TrimSpace(venue)
	if !strings.HasPrefix(v, "t") {
		v = "t" + v
	}
	if t != nil {
		if i, ok := t.byVenue[v]; ok {
			return t.markets[i].Symbol, nil
		}
		return domain.Symbol{}, &SymbolError{Symbol: venue}
	}
	b, q, ok := SplitPair(v)
	if !ok {
		return domain.Symbol{}, &SymbolError{Symbol: venue, Reason: "not a Bitfinex trading pair (tBASEQUOTE or tBASE:QUOTE)"}
	}
	std := func(c string) string {
		if s, ok := defaultCurrencyMap[c]; ok {
			return s
		}
		return c
	}
	s, err := domain.ParseSymbol(std(b) + "/" + std(q))
	if err != nil {
		return domain.Symbol{}, &SymbolError{Symbol: venue, Reason: err.Error()}
	}
	return s, nil
}

// suggest lists up to 5 listed symbols sharing sym's base or quote.
func (t *symbolTable) suggest(sym domain.Symbol) []string {
	var out []string
	for _, m := range t.markets {
		if m.Symbol.Base == sym.Base && m.Symbol.Quote != sym.Quote || m.Symbol.Quote == sym.Quote && m.Symbol.Base == sym.Base+"2" {
			out = append(out, m.Symbol.String())
		}
	}
	if len(out) == 0 {
		for _, m := range t.markets {
			if m.Symbol.Quote == sym.Quote && strings.HasPrefix(m.Symbol.Base, sym.Base[:1]) {
				out = append(out, m.Symbol.String())
			}
		}
	}
	slices.Sort(out)
	if len(out) > 5 {
		out = out[:5]
	}
	return out
}
