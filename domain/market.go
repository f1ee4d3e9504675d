package domain

import "github.com/govalues/decimal"

// Market describes one tradable instrument on a venue: how the venue names
// it and its trading rules. Zero decimals mean "no rule".
type Market struct {
	Venue       string
	Symbol      Symbol
	VenueSymbol string // the venue's own name, e.g. BTCUSDT, XBTUSD, tBTCUSD
	Kind        MarketKind
	Active      bool
	PriceTick   decimal.Decimal // minimum price increment
	AmountStep  decimal.Decimal // minimum amount increment (lot)
	MinAmount   decimal.Decimal
	MaxAmount   decimal.Decimal
	MinNotional decimal.Decimal // price × amount minimum
	PriceScale  int             // decimals in price strings
	AmountScale int             // decimals in amount strings
}
