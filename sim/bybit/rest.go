package bybit

import (
	"strconv"

	"github.com/govalues/decimal"
	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
)

// intervals maps Bybit kline intervals to spans.
var intervals = map[string]domain.Span{
	"1": domain.Span1m, "3": domain.Span3m, "5": domain.Span5m, "15": domain.Span15m, "30": domain.Span30m,
	"60": domain.Span1h, "120": domain.Span2h, "240": domain.Span4h, "360": domain.Span6h, "720": domain.Span12h,
	"D": domain.Span1d, "W": domain.Span1w, "M": domain.Span1M,
}

// Page limits of the market endpoints.
const (
	maxKlines           = 1000
	defKlines           = 200
	maxRecentSpot       = 60
	maxRecentDerivative = 1000
	defRecentDerivative = 500
	maxBookSpot         = 200
	maxBookDerivative   = 500
	defBookDerivative   = 25
)

func (a *api) time(_ params, _ int64, b []byte) ([]byte, *apiError) {
	ms := a.env.ServerTimeMs()
	b = append(b, `{"timeSecond":"`...)
	b = strconv.AppendInt(b, ms/1000, 10)
	b = append(b, `","timeNano":"`...)
	b = strconv.AppendInt(b, ms*1_000_000, 10)
	return append(b, `"}`...), nil
}

func appendStr(b []byte, s string) []byte {
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func (a *api) instruments(p params, _ int64, b []byte) ([]byte, *apiError) {
	cat, err := p.category()
	if err != nil {
		return nil, err
	}
	want := p.str("symbol")
	b = append(b, `{"category":"`...)
	b = append(b, cat...)
	b = append(b, `","list":[`...)
	n := 0
	for _, in := range a.order {
		if in.cat != cat || (want != "" && in.name != want) {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		spec := in.sr.Spec()
		sym := in.sr.Symbol()
		tick, lot := spec.TickSize.Trim(0).String(), spec.LotSize.Trim(0).String()
		mq, _ := spec.LotSize.Mul(decimal.MustNew(1_000_000, 0))
		maxQty := mq.Trim(0).String()
		b = append(b, `{"symbol":`...)
		b = appendStr(b, in.name)
		if cat == catSpot {
			b = append(b, `,"baseCoin":`...)
			b = appendStr(b, sym.Base)
			b = append(b, `,"quoteCoin":`...)
			b = appendStr(b, sym.Quote)
			b = append(b, `,"innovation":"0","status":"Trading","marginTrading":"none","lotSizeFilter":{"basePrecision":`...)
			b = appendStr(b, lot)
			b = append(b, `,"quotePrecision":"0.00000001","minOrderQty":`...)
			b = appendStr(b, lot)
			b = append(b, `,"maxOrderQty":`...)
			b = appendStr(b, maxQty)
			b = append(b, `,"minOrderAmt":"1","maxOrderAmt":"2000000"},"priceFilter":{"tickSize":`...)
			b = appendStr(b, tick)
			b = append(b, `}}`...)
			continue
		}
		b = append(b, `,"contractType":"LinearPerpetual","status":"Trading","baseCoin":`...)
		b = appendStr(b, sym.Base)
		b = append(b, `,"quoteCoin":`...)
		b = appendStr(b, sym.Quote)
		b = append(b, `,"launchTime":"1585526400000","deliveryTime":"0","deliveryFeeRate":"","priceScale":`...)
		b = appendStr(b, strconv.Itoa(in.pxDec))
		b = append(b, `,"leverageFilter":{"minLeverage":"1","maxLeverage":"100.00","leverageStep":"0.01"},"priceFilter":{"minPrice":`...)
		b = appendStr(b, tick)
		b = append(b, `,"maxPrice":"1999999.00","tickSize":`...)
		b = appendStr(b, tick)
		b = append(b, `},"lotSizeFilter":{"maxOrderQty":`...)
		b = appendStr(b, maxQty)
		b = append(b, `,"minOrderQty":`...)
		b = appendStr(b, lot)
		b = append(b, `,"qtyStep":`...)
		b = appendStr(b, lot)
		b = append(b, `,"postOnlyMaxOrderQty":`...)
		b = appendStr(b, maxQty)
		b = append(b, `,"minNotionalValue":"5"},"unifiedMarginTrade":true,"fundingInterval":480,"settleCoin":`...)
		b = appendStr(b, sym.Quote)
		b = append(b, `}`...)
	}
	b = append(b, ']')
	if cat != catSpot {
		b = append(b, `,"nextPageCursor":""`...)
	}
	return append(b, '}'), nil
}

func (a *api) kline(p params, now int64, b []byte) ([]byte, *apiError) {
	in, err := a.instrument(p)
	if err != nil {
		return nil, err
	}
	iv := p.str("interval")
	span, ok := intervals[iv]
	if !ok {
		return nil, errInterval
	}
	start, _, err := p.long("start")
	if err != nil {
		return nil, err
	}
	end, hasEnd, err := p.long("end")
	if err != nil {
		return nil, err
	}
	limit, err := p.limit(defKlines, maxKlines)
	if err != nil {
		return nil, err
	}
	if !hasEnd {
		end = now
	}
	cp := a.candles.Get().(*[]sim.Candle)
	defer a.candles.Put(cp)
	// Bybit serves the newest limit bars of [start, end], newest first.
	cs := in.sr.AppendCandles(*cp, span, start, end, now, limit, true)
	*cp = cs
	b = append(b, `{"symbol":"`...)
	b = append(b, in.name...)
	b = append(b, `","category":"`...)
	b = append(b, in.cat...)
	b = append(b, `","list":[`...)
	sr := in.sr
	for i := len(cs) - 1; i >= 0; i-- {
		c := &cs[i]
		if i < len(cs)-1 {
			b = append(b, ',')
		}
		b = append(b, `["`...)
		b = strconv.AppendInt(b, c.OpenTime, 10)
		b = append(b, `","`...)
		b = sr.AppendPrice(b, c.Open, in.pxDec)
		b = append(b, `","`...)
		b = sr.AppendPrice(b, c.High, in.pxDec)
		b = append(b, `","`...)
		b = sr.AppendPrice(b, c.Low, in.pxDec)
		b = append(b, `","`...)
		b = sr.AppendPrice(b, c.Close, in.pxDec)
		b = append(b, `","`...)
		b = sr.AppendQty(b, c.Volume, in.qtyDec)
		b = append(b, `","`...)
		b = sr.AppendQuote(b, c.Quote, -1)
		b = append(b, `"]`...)
	}
	return append(b, "]}"...), nil
}

func (in *instrument) appendTrade(b []byte, t sim.Trade, ws bool) []byte {
	sr := in.sr
	side := "Buy"
	if t.BuyerMaker {
		side = "Sell"
	}
	if ws {
		b = append(b, `{"T":`...)
		b = strconv.AppendInt(b, t.Time, 10)
		b = append(b, `,"s":"`...)
		b = append(b, in.name...)
		b = append(b, `","S":"`...)
		b = append(b, side...)
		b = append(b, `","v":"`...)
		b = sr.AppendQty(b, t.Qty, in.qtyDec)
		b = append(b, `","p":"`...)
		b = sr.AppendPrice(b, t.Price, in.pxDec)
		if in.cat != catSpot {
			b = append(b, `","L":"`...)
			if t.BuyerMaker {
				b = append(b, "MinusTick"...)
			} else {
				b = append(b, "PlusTick"...)
			}
		}
		b = append(b, `","i":"`...)
		b = in.appendID(b, t.ID)
		return append(b, `","BT":false}`...)
	}
	b = append(b, `{"execId":"`...)
	b = in.appendID(b, t.ID)
	b = append(b, `","symbol":"`...)
	b = append(b, in.name...)
	b = append(b, `","price":"`...)
	b = sr.AppendPrice(b, t.Price, in.pxDec)
	b = append(b, `","size":"`...)
	b = sr.AppendQty(b, t.Qty, in.qtyDec)
	b = append(b, `","side":"`...)
	b = append(b, side...)
	b = append(b, `","time":"`...)
	b = strconv.AppendInt(b, t.Time, 10)
	return append(b, `","isBlockTrade":false}`...)
}

func (in *instrument) appendID(b []byte, id int64) []byte {
	if in.cat == catSpot {
		return strconv.AppendInt(b, id, 10)
	}
	return appendUUID(b, id)
}

func (a *api) recentTrade(p params, now int64, b []byte) ([]byte, *apiError) {
	in, err := a.instrument(p)
	if err != nil {
		return nil, err
	}
	var limit int
	if in.cat == catSpot {
		limit, err = p.limit(maxRecentSpot, maxRecentSpot)
	} else {
		limit, err = p.limit(defRecentDerivative, maxRecentDerivative)
	}
	if err != nil {
		return nil, err
	}
	b = append(b, `{"category":"`...)
	b = append(b, in.cat...)
	b = append(b, `","list":[`...)
	n := 0
	for t := range in.sr.TradesBackward(now, now) {
		if n > 0 {
			b = append(b, ',')
		}
		b = in.appendTrade(b, t, false)
		if n++; n >= limit {
			break
		}
	}
	return append(b, "]}"...), nil
}

func (a *api) orderbook(p params, now int64, b []byte) ([]byte, *apiError) {
	in, err := a.instrument(p)
	if err != nil {
		return nil, err
	}
	var limit int
	if in.cat == catSpot {
		limit, err = p.limit(1, maxBookSpot)
	} else {
		limit, err = p.limit(defBookDerivative, maxBookDerivative)
	}
	if err != nil {
		return nil, err
	}
	st := in.sr.Book(sim.BookStep(now), limit)
	b = append(b, `{"s":"`...)
	b = append(b, in.name...)
	b = append(b, `","b":`...)
	b = in.appendLevels(b, st.Bids)
	b = append(b, `,"a":`...)
	b = in.appendLevels(b, st.Asks)
	b = append(b, `,"ts":`...)
	b = strconv.AppendInt(b, now, 10)
	b = append(b, `,"u":`...)
	b = strconv.AppendInt(b, st.UpdateID, 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, st.UpdateID, 10)
	b = append(b, `,"cts":`...)
	b = strconv.AppendInt(b, st.Time, 10)
	return append(b, '}'), nil
}

func (in *instrument) appendLevels(b []byte, lv []sim.BookLevel) []byte {
	b = append(b, '[')
	for i, l := range lv {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `["`...)
		b = in.sr.AppendPrice(b, l.Price, in.pxDec)
		b = append(b, `","`...)
		b = in.sr.AppendQty(b, l.Qty, in.qtyDec)
		b = append(b, `"]`...)
	}
	return append(b, ']')
}
