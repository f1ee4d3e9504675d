package binance

import (
	"strconv"
	"time"

	"github.com/govalues/decimal"
	"github.com/pype-go/pype/sim"
)

func appendDec(b []byte, d decimal.Decimal) []byte {
	d = d.Trim(0)
	return sim.AppendFixed(b, int64(d.Coef())*int64(d.Sign()), d.Scale(), dec)
}

func intervalParts(d time.Duration) (string, int) {
	switch {
	case d%(24*time.Hour) == 0:
		return "DAY", int(d / (24 * time.Hour))
	case d%time.Hour == 0:
		return "HOUR", int(d / time.Hour)
	case d%time.Minute == 0:
		return "MINUTE", int(d / time.Minute)
	}
	return "SECOND", int(d / time.Second)
}

func appendRateLimit(b []byte, typ string, iv time.Duration, limit int) []byte {
	unit, n := intervalParts(iv)
	b = append(b, `{"rateLimitType":"`...)
	b = append(b, typ...)
	b = append(b, `","interval":"`...)
	b = append(b, unit...)
	b = append(b, `","intervalNum":`...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, `,"limit":`...)
	b = strconv.AppendInt(b, int64(limit), 10)
	return append(b, '}')
}

func (a *api) exchangeInfo(p params, _ int64, b []byte) ([]byte, *apiError) {
	srs, _, err := a.symbolsParam(p)
	if err != nil {
		return nil, err
	}
	if st := p.str("symbolStatus"); p.has("symbolStatus") && st != "TRADING" {
		if st != "HALT" && st != "BREAK" {
			return nil, badRequest(-1122, "Invalid symbolStatus.")
		}
		srs = nil
	}
	b = append(b, `{"timezone":"UTC","serverTime":`...)
	b = strconv.AppendInt(b, a.env.ServerTimeMs(), 10)
	b = append(b, `,"rateLimits":[`...)
	rules := a.env.Limiter.Rules()
	first := true
	sep := func() {
		if !first {
			b = append(b, ',')
		}
		first = false
	}
	for _, r := range rules {
		if r.Name == "REQUEST_WEIGHT" {
			sep()
			b = appendRateLimit(b, r.Name, r.Interval, r.Limit)
		}
	}
	sep()
	b = appendRateLimit(b, "ORDERS", 10*time.Second, 100)
	sep()
	b = appendRateLimit(b, "ORDERS", 24*time.Hour, 200000)
	for _, r := range rules {
		if r.Name == "RAW_REQUESTS" {
			sep()
			b = appendRateLimit(b, r.Name, r.Interval, r.Limit)
		}
	}
	b = append(b, `],"exchangeFilters":[],"symbols":[`...)
	for i, sr := range srs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendSymbolInfo(b, sr, p.str("showPermissionSets") != "false")
	}
	return append(b, "]}"...), nil
}

func appendSymbolInfo(b []byte, sr *sim.Series, permSets bool) []byte {
	spec := sr.Spec()
	sym := spec.Symbol
	b = append(b, `{"symbol":"`...)
	b = append(b, venueSymbol(sym)...)
	b = append(b, `","status":"TRADING","baseAsset":"`...)
	b = append(b, sym.Base...)
	b = append(b, `","baseAssetPrecision":8,"quoteAsset":"`...)
	b = append(b, sym.Quote...)
	b = append(b, `","quotePrecision":8,"quoteAssetPrecision":8,"baseCommissionPrecision":8,"quoteCommissionPrecision":8,`...)
	b = append(b, `"orderTypes":["LIMIT","LIMIT_MAKER","MARKET","STOP_LOSS","STOP_LOSS_LIMIT","TAKE_PROFIT","TAKE_PROFIT_LIMIT"],`...)
	b = append(b, `"icebergAllowed":true,"ocoAllowed":true,"otoAllowed":true,"quoteOrderQtyMarketAllowed":true,"allowTrailingStop":true,`...)
	b = append(b, `"cancelReplaceAllowed":true,"amendAllowed":true,"isSpotTradingAllowed":true,"isMarginTradingAllowed":true,"filters":[`...)
	b = append(b, `{"filterType":"PRICE_FILTER","minPrice":"`...)
	b = appendDec(b, spec.TickSize)
	b = append(b, `","maxPrice":"1000000.00000000","tickSize":"`...)
	b = appendDec(b, spec.TickSize)
	b = append(b, `"},{"filterType":"LOT_SIZE","minQty":"`...)
	b = appendDec(b, spec.LotSize)
	b = append(b, `","maxQty":"9000.00000000","stepSize":"`...)
	b = appendDec(b, spec.LotSize)
	b = append(b, `"},{"filterType":"ICEBERG_PARTS","limit":10},`...)
	b = append(b, `{"filterType":"MARKET_LOT_SIZE","minQty":"0.00000000","maxQty":"100.00000000","stepSize":"0.00000000"},`...)
	b = append(b, `{"filterType":"TRAILING_DELTA","minTrailingAboveDelta":10,"maxTrailingAboveDelta":2000,"minTrailingBelowDelta":10,"maxTrailingBelowDelta":2000},`...)
	b = append(b, `{"filterType":"PERCENT_PRICE_BY_SIDE","bidMultiplierUp":"5","bidMultiplierDown":"0.2","askMultiplierUp":"5","askMultiplierDown":"0.2","avgPriceMins":5},`...)
	b = append(b, `{"filterType":"NOTIONAL","minNotional":"`...)
	minNotional := "5.00000000"
	if sym.Quote == "BTC" {
		minNotional = "0.00010000"
	}
	b = append(b, minNotional...)
	b = append(b, `","applyMinToMarket":true,"maxNotional":"9000000.00000000","applyMaxToMarket":false,"avgPriceMins":5},`...)
	b = append(b, `{"filterType":"MAX_NUM_ORDERS","maxNumOrders":200},{"filterType":"MAX_NUM_ALGO_ORDERS","maxNumAlgoOrders":5}],`...)
	b = append(b, `"permissions":[],"permissionSets":[`...)
	if permSets {
		b = append(b, `["SPOT","MARGIN"]`...)
	}
	b = append(b, `],"defaultSelfTradePreventionMode":"EXPIRE_MAKER","allowedSelfTradePreventionModes":["EXPIRE_TAKER","EXPIRE_MAKER","EXPIRE_BOTH","DECREMENT"]}`...)
	return b
}
