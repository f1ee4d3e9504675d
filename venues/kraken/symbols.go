package kraken

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
)

// Pair is one entry of GET /0/public/AssetPairs, with the names Kraken
// uses for it in each API.
type Pair struct {
	Key          string        // result key, e.g. XXBTZUSD (also accepted as a REST pair name)
	Altname      string        // REST name, e.g. XBTUSD
	WSName       string        // WebSocket v1 name, e.g. XBT/USD
	Symbol       domain.Symbol // canonical, e.g. BTC/USD (also the WebSocket v2 name)
	Base, Quote  string        // Kraken asset codes, e.g. XXBT, ZUSD
	PairDecimals int           // price decimals
	LotDecimals  int           // volume decimals
	TickSize     decimal.Decimal
	OrderMin     decimal.Decimal
	CostMin      decimal.Decimal
	Status       string // "online", "cancel_only", "post_only", "limit_only", "reduce_only", "delisted"; empty in older answers
}

// V2Name is the pair's WebSocket v2 name: BASE/QUOTE with ISO codes
// (BTC, not XBT; DOGE, not XDG; USD, not ZUSD).
func (p Pair) V2Name() string { return p.Symbol.Base + "/" + p.Symbol.Quote }

// Market returns the pair's trading rules.
func (p Pair) Market() domain.Market {
	m := domain.Market{Venue: Name, Symbol: p.Symbol, VenueSymbol: p.Altname, Kind: domain.Spot,
		Active:    p.Status == "" || p.Status == "online",
		MinAmount: p.OrderMin, MinNotional: p.CostMin, PriceScale: p.PairDecimals, AmountScale: p.LotDecimals}
	m.PriceTick = p.TickSize
	if m.PriceTick.IsZero() {
		m.PriceTick, _ = decimal.New(1, p.PairDecimals)
	}
	m.AmountStep, _ = decimal.New(1, p.LotDecimals)
	return m
}

type pairJSON struct {
	Altname      string `json:"altname"`
	WSName       string `json:"wsname"`
	Base         string `json:"base"`
	Quote        string `json:"quote"`
	PairDecimals int    `json:"pair_decimals"`
	LotDecimals  int    `json:"lot_decimals"`
	TickSize     string `json:"tick_size"`
	OrderMin     string `json:"ordermin"`
	CostMin      string `json:"costmin"`
	Status       string `json:"status"`
}

// parseAssetPairs reads a GET /0/public/AssetPairs body, sorted by altname.
func parseAssetPairs(body []byte) ([]Pair, error) {
	var env struct {
		Error  []string            `json:"error"`
		Result map[string]pairJSON `json:"result"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, &DecodeError{What: "AssetPairs", Reason: err.Error(), Near: string(body[:min(len(body), 64)])}
	}
	out := make([]Pair, 0, len(env.Result))
	for key, j := range env.Result {
		p := Pair{Key: key, Altname: j.Altname, WSName: j.WSName, Base: j.Base, Quote: j.Quote,
			PairDecimals: j.PairDecimals, LotDecimals: j.LotDecimals, Status: j.Status}
		if strings.HasSuffix(key, ".d") || p.Altname == "" {
			continue // dark-pool pairs share the altname's market data
		}
		var err error
		if p.Symbol, err = canonicalPair(j.WSName, j.Base, j.Quote); err != nil {
			continue // not a spot pair pype can name (leave it out rather than fail the list)
		}
		for _, f := range []struct {
			dst *decimal.Decimal
			s   string
		}{{&p.TickSize, j.TickSize}, {&p.OrderMin, j.OrderMin}, {&p.CostMin, j.CostMin}} {
			if f.s == "" {
				continue
			}
			if *f.dst, err = decimal.Parse(f.s); err != nil {
				return nil, fmt.Errorf("kraken: AssetPairs %s: invalid decimal %q: %w", key, f.s, err)
			}
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Pair) int { return strings.Compare(a.Altname, b.Altname) })
	return out, nil
}

// legacyAssets are Kraken's four-letter asset codes with an X (crypto) or
// Z (fiat) class prefix.
var legacyAssets = map[string]string{
	"XXBT": "XBT", "XETH": "ETH", "XLTC": "LTC", "XXRP": "XRP", "XXLM": "XLM", "XXDG": "XDG",
	"XZEC": "ZEC", "XXMR": "XMR", "XETC": "ETC", "XMLN": "MLN", "XREP": "REP", "XXTZ": "XTZ",
	"ZUSD": "USD", "ZEUR": "EUR", "ZGBP": "GBP", "ZJPY": "JPY", "ZCAD": "CAD", "ZAUD": "AUD", "ZCHF": "CHF",
}

// isoAsset maps a Kraken asset code to pype's: legacy prefixes removed,
// XBT → BTC, XDG → DOGE.
func isoAsset(a string) string {
	a = strings.ToUpper(strings.TrimSpace(a))
	if l, ok := legacyAssets[a]; ok {
		a = l
	}
	switch a {
	case "XBT":
		return "BTC"
	case "XDG":
		return "DOGE"
	}
	return a
}

// krakenAsset maps pype's asset code to the one Kraken's REST altnames use:
// BTC → XBT, DOGE → XDG.
func krakenAsset(a string) string {
	switch a {
	case "BTC":
		return "XBT"
	case "DOGE":
		return "XDG"
	}
	return a
}

// canonicalPair names a pair from its WebSocket name (XBT/USD) or, failing
// that, its base and quote asset codes.
func canonicalPair(wsname, base, quote string) (domain.Symbol, error) {
	if b, q, ok := strings.Cut(wsname, "/"); ok {
		return domain.ParseSymbol(isoAsset(b) + "/" + isoAsset(q))
	}
	if base == "" || quote == "" {
		return domain.Symbol{}, fmt.Errorf("kraken: pair without wsname, base or quote")
	}
	return domain.ParseSymbol(isoAsset(base) + "/" + isoAsset(quote))
}

// symbolTable maps canonical symbols to Kraken's names and back. It is
// immutable once built.
type symbolTable struct {
	pairs   []Pair
	byCanon map[domain.Symbol]int
	byName  map[string]int // altname, key, wsname and v2 name, upper case
}

func newSymbolTable(pairs []Pair) *symbolTable {
	t := &symbolTable{pairs: pairs, byCanon: make(map[domain.Symbol]int, len(pairs)), byName: make(map[string]int, 4*len(pairs))}
	for i, p := range pairs {
		if j, dup := t.byCanon[p.Symbol]; !dup || (!pairs[j].Market().Active && p.Market().Active) {
			t.byCanon[p.Symbol] = i
		}
		for _, n := range []string{p.Altname, p.Key, p.WSName, p.V2Name()} {
			if n != "" {
				t.byName[strings.ToUpper(n)] = i
			}
		}
	}
	return t
}

// naiveAltname is Kraken's REST altname rule: base and quote with BTC →
// XBT and DOGE → XDG on both sides (BTC/USD → XBTUSD, ETH/BTC → ETHXBT).
func naiveAltname(sym domain.Symbol) string { return krakenAsset(sym.Base) + krakenAsset(sym.Quote) }

// pair returns the listed pair of sym. Without a table (AssetPairs
// unavailable) it returns a pair built by Kraken's naming rule; with one,
// unknown symbols are rejected with a *SymbolError.
func (t *symbolTable) pair(sym domain.Symbol) (Pair, error) {
	if sym.Market != domain.Spot {
		return Pair{}, &domain.CapabilityError{Venue: Name, What: "market kind " + sym.Market.String() + " (" + sym.String() + ")", Accept: "spot symbols such as BTC/USD"}
	}
	if sym.Base == "" || sym.Quote == "" {
		return Pair{}, &SymbolError{Symbol: sym.String()}
	}
	if t == nil {
		alt := naiveAltname(sym)
		return Pair{Key: alt, Altname: alt, WSName: krakenAsset(sym.Base) + "/" + krakenAsset(sym.Quote), Symbol: sym}, nil
	}
	if i, ok := t.byCanon[sym]; ok {
		return t.pairs[i], nil
	}
	return Pair{}, &SymbolError{Symbol: sym.String(), VenueSymbol: naiveAltname(sym), Suggestions: t.suggest(sym)}
}

// lookup finds a pair by any of its Kraken names (XBTUSD, XXBTZUSD,
// XBT/USD, BTC/USD), any case.
func (t *symbolTable) lookup(name string) (Pair, bool) {
	if t == nil {
		return Pair{}, false
	}
	i, ok := t.byName[strings.ToUpper(strings.TrimSpace(name))]
	if !ok {
		return Pair{}, false
	}
	return t.pairs[i], true
}

// suggest lists up to five listed symbols sharing the base (or, failing
// that, the quote) with sym, trading ones first.
func (t *symbolTable) suggest(sym domain.Symbol) []string {
	var same, quote []string
	for _, p := range t.pairs {
		if !p.Market().Active {
			continue
		}
		switch {
		case p.Symbol.Base == sym.Base:
			same = append(same, p.Symbol.String())
		case p.Symbol.Quote == sym.Quote && strings.HasPrefix(p.Symbol.Base, sym.Base[:min(len(sym.Base), 2)]):
			quote = append(quote, p.Symbol.String())
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
