package binance

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators/exchange"
	"github.com/pype-go/pype/transport/ratelimit"
)

// ExchangeInfo is what GET /api/v3/exchangeInfo says about the venue: its
// clock, its rate limits and its markets with their trading rules.
type ExchangeInfo struct {
	ServerTime int64            // ns
	RateLimits []ratelimit.Rule // named TYPE_<n><unit>, e.g. REQUEST_WEIGHT_1M
	Markets    []domain.Market
	// Rules are the markets' full trading rules (price and notional
	// bounds, order types), in the order of Markets.
	Rules []exchange.TradingRules
}

// Rate-limit types Binance announces.
const (
	limitRequestWeight = "REQUEST_WEIGHT"
	limitOrders        = "ORDERS"
	limitRawRequests   = "RAW_REQUESTS"
)

type exchangeInfoJSON struct {
	ServerTime int64 `json:"serverTime"`
	RateLimits []struct {
		RateLimitType string `json:"rateLimitType"`
		Interval      string `json:"interval"`
		IntervalNum   int    `json:"intervalNum"`
		Limit         int    `json:"limit"`
	} `json:"rateLimits"`
	Symbols []struct {
		Symbol               string            `json:"symbol"`
		Status               string            `json:"status"`
		BaseAsset            string            `json:"baseAsset"`
		QuoteAsset           string            `json:"quoteAsset"`
		IsSpotTradingAllowed *bool             `json:"isSpotTradingAllowed"`
		OrderTypes           []string          `json:"orderTypes"`
		Filters              []json.RawMessage `json:"filters"`
	} `json:"symbols"`
}

type filterJSON struct {
	FilterType  string `json:"filterType"`
	MinPrice    string `json:"minPrice"`
	MaxPrice    string `json:"maxPrice"`
	MaxNotional string `json:"maxNotional"`
	TickSize    string `json:"tickSize"`
	MinQty      string `json:"minQty"`
	MaxQty      string `json:"maxQty"`
	StepSize    string `json:"stepSize"`
	MinNotional string `json:"minNotional"`
}

// rateLimitRuleName names a Binance rate limit: REQUEST_WEIGHT_1M,
// ORDERS_10S, ORDERS_1D, RAW_REQUESTS_5M. The suffix is the one Binance
// uses in its usage headers (X-MBX-USED-WEIGHT-1M, X-MBX-ORDER-COUNT-10S).
func rateLimitRuleName(typ string, num int, interval string) (string, time.Duration, error) {
	var unit time.Duration
	var letter string
	switch strings.ToUpper(interval) {
	case "SECOND":
		unit, letter = time.Second, "S"
	case "MINUTE":
		unit, letter = time.Minute, "M"
	case "HOUR":
		unit, letter = time.Hour, "H"
	case "DAY":
		unit, letter = 24*time.Hour, "D"
	default:
		return "", 0, fmt.Errorf("unknown rate-limit interval %q (accepted: SECOND, MINUTE, HOUR, DAY)", interval)
	}
	if num <= 0 {
		return "", 0, fmt.Errorf("rate-limit intervalNum %d must be > 0", num)
	}
	return strings.ToUpper(typ) + "_" + strconv.Itoa(num) + letter, time.Duration(num) * unit, nil
}

// parseExchangeInfo decodes GET /api/v3/exchangeInfo.
func parseExchangeInfo(body []byte) (ExchangeInfo, error) {
	var raw exchangeInfoJSON
	if err := json.Unmarshal(body, &raw); err != nil {
		return ExchangeInfo{}, &DecodeError{What: "exchangeInfo", Reason: err.Error()}
	}
	info := ExchangeInfo{ServerTime: domain.MillisToNanos(raw.ServerTime)}
	for _, rl := range raw.RateLimits {
		name, d, err := rateLimitRuleName(rl.RateLimitType, rl.IntervalNum, rl.Interval)
		if err != nil {
			return ExchangeInfo{}, &DecodeError{What: "exchangeInfo", Reason: "rateLimits: " + err.Error()}
		}
		if rl.Limit <= 0 {
			return ExchangeInfo{}, &DecodeError{What: "exchangeInfo", Reason: fmt.Sprintf("rateLimits: %s limit %d must be > 0", name, rl.Limit)}
		}
		info.RateLimits = append(info.RateLimits, ratelimit.Rule{Name: name, Limit: rl.Limit, Interval: d})
	}
	for _, rs := range raw.Symbols {
		if rs.Symbol == "" || rs.BaseAsset == "" || rs.QuoteAsset == "" {
			continue
		}
		sym, err := domain.ParseSymbol(rs.BaseAsset + "/" + rs.QuoteAsset)
		if err != nil {
			// Binance has had odd asset codes (e.g. with lower-case
			// letters); a market we cannot name canonically is skipped
			// rather than failing the whole list.
			continue
		}
		m := domain.Market{
			Venue:       Name,
			Symbol:      sym,
			VenueSymbol: rs.Symbol,
			Kind:        domain.Spot,
			Active:      rs.Status == "TRADING" && (rs.IsSpotTradingAllowed == nil || *rs.IsSpotTradingAllowed),
		}
		var bounds filterJSON // PRICE_FILTER min/max, NOTIONAL max
		for _, fr := range rs.Filters {
			var f filterJSON
			if err := json.Unmarshal(fr, &f); err != nil {
				return ExchangeInfo{}, &DecodeError{What: "exchangeInfo", Reason: fmt.Sprintf("symbol %s filter: %v", rs.Symbol, err)}
			}
			if err := applyFilter(&m, f); err != nil {
				return ExchangeInfo{}, &DecodeError{What: "exchangeInfo", Reason: fmt.Sprintf("symbol %s: %v", rs.Symbol, err)}
			}
			switch f.FilterType {
			case "PRICE_FILTER":
				bounds.MinPrice, bounds.MaxPrice = f.MinPrice, f.MaxPrice
			case "NOTIONAL":
				bounds.MaxNotional = f.MaxNotional
			}
		}
		r, err := tradingRules(m, bounds, rs.OrderTypes)
		if err != nil {
			return ExchangeInfo{}, &DecodeError{What: "exchangeInfo", Reason: fmt.Sprintf("symbol %s: %v", rs.Symbol, err)}
		}
		info.Markets = append(info.Markets, m)
		info.Rules = append(info.Rules, r)
	}
	return info, nil
}

// tradingRules builds a market's trading rules. Binance writes 0 for a
// bound it does not enforce, which is also pype's "no constraint".
func tradingRules(m domain.Market, bounds filterJSON, orderTypes []string) (exchange.TradingRules, error) {
	r := exchange.RulesFromMarket(m)
	for _, b := range []struct {
		field string
		s     string
		dst   *decimal.Decimal
	}{{"PRICE_FILTER.minPrice", bounds.MinPrice, &r.MinPrice}, {"PRICE_FILTER.maxPrice", bounds.MaxPrice, &r.MaxPrice},
		{"NOTIONAL.maxNotional", bounds.MaxNotional, &r.MaxNotional}} {
		if b.s == "" {
			continue
		}
		d, err := domain.ParseDecimal(b.field, b.s)
		if err != nil {
			return r, err
		}
		*b.dst = d.Trim(0)
	}
	for _, t := range orderTypes {
		switch t {
		case "LIMIT":
			r.OrderTypes = append(r.OrderTypes, exchange.Limit)
		case "MARKET":
			r.OrderTypes = append(r.OrderTypes, exchange.Market)
		case "LIMIT_MAKER":
			r.OrderTypes = append(r.OrderTypes, exchange.LimitMaker)
		}
	}
	r.TimeInForces = []exchange.TimeInForce{exchange.GTC, exchange.IOC, exchange.FOK}
	return r, nil
}

func applyFilter(m *domain.Market, f filterJSON) error {
	dec := func(field, s string) (decimal.Decimal, error) {
		if s == "" {
			return decimal.Decimal{}, nil
		}
		return domain.ParseDecimal(f.FilterType+"."+field, s)
	}
	var err error
	switch f.FilterType {
	case "PRICE_FILTER":
		if m.PriceTick, err = dec("tickSize", f.TickSize); err != nil {
			return err
		}
		m.PriceTick = m.PriceTick.Trim(0)
		m.PriceScale = m.PriceTick.Scale()
	case "LOT_SIZE":
		if m.AmountStep, err = dec("stepSize", f.StepSize); err != nil {
			return err
		}
		m.AmountStep = m.AmountStep.Trim(0)
		m.AmountScale = m.AmountStep.Scale()
		if m.MinAmount, err = dec("minQty", f.MinQty); err != nil {
			return err
		}
		if m.MaxAmount, err = dec("maxQty", f.MaxQty); err != nil {
			return err
		}
		m.MinAmount, m.MaxAmount = m.MinAmount.Trim(0), m.MaxAmount.Trim(0)
	case "MIN_NOTIONAL", "NOTIONAL":
		v, err := dec("minNotional", f.MinNotional)
		if err != nil {
			return err
		}
		// NOTIONAL replaced MIN_NOTIONAL in 2023; keep the stricter one
		// if a venue announces both.
		if v = v.Trim(0); v.Cmp(m.MinNotional) > 0 {
			m.MinNotional = v
		}
	}
	return nil
}
