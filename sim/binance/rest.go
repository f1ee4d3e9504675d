package binance

import (
	"encoding/json"
	"strconv"

	"github.com/govalues/decimal"
	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
)

const dec = 8 // Binance prints every price and quantity with 8 decimals

func (a *api) ping(_ params, _ int64, b []byte) ([]byte, *apiError) {
	return append(b, "{}"...), nil
}

func (a *api) time(_ params, _ int64, b []byte) ([]byte, *apiError) {
	b = append(b, `{"serverTime":`...)
	b = sim.AppendInt(b, a.env.ServerTimeMs())
	return append(b, '}'), nil
}

// intervals maps Binance kline intervals to spans.
var intervals = map[string]domain.Span{
	"1s": domain.Span1s, "1m": domain.Span1m, "3m": domain.Span3m, "5m": domain.Span5m, "15m": domain.Span15m,
	"30m": domain.Span30m, "1h": domain.Span1h, "2h": domain.Span2h, "4h": domain.Span4h, "6h": domain.Span6h,
	"8h": domain.Span8h, "12h": domain.Span12h, "1d": domain.Span1d, "3d": domain.Span3d, "1w": domain.Span1w,
	"1M": domain.Span1M,
}

func closeTime(span domain.Span, openMs int64) int64 {
	return span.Next(openMs*1_000_000)/1_000_000 - 1
}

func (a *api) klines(p params, now int64, b []byte) ([]byte, *apiError) {
	sr, err := a.series(p)
	if err != nil {
		return nil, err
	}
	iv := p.str("interval")
	if iv == "" {
		return nil, errMandatory("interval")
	}
	span, ok := intervals[iv]
	if !ok {
		return nil, badRequest(-1120, "Invalid interval.")
	}
	start, hasStart, err := p.long("startTime")
	if err != nil {
		return nil, err
	}
	end, hasEnd, err := p.long("endTime")
	if err != nil {
		return nil, err
	}
	limit, err := p.limit(500, 1000)
	if err != nil {
		return nil, err
	}
	if p.has("timeZone") {
		switch p.str("timeZone") {
		case "0", "+0", "-0", "00:00", "0:00", "+00:00", "-00:00", "+0:00", "-0:00":
		default:
			return nil, errInvalid("timeZone")
		}
	}
	if !hasEnd {
		end = now
	}
	b = append(b, '[')
	b, n := a.appendKlines(b, sr, span, start, end, now, limit, hasStart)
	if n > 0 {
		b[len(b)-1] = ']' // the last row's comma
		return b, nil
	}
	return append(b, ']'), nil
}

// decCounter holds the decimal digits of a non-negative integer; moving
// it to the next integer (the common case for ids on consecutive rows)
// increments the digits in place instead of formatting anew.
type decCounter struct {
	v   int64
	n   int // digits in b[len(b)-n:]; 0 = unset
	b   [20]byte
	neg bool
}

// set makes the counter v and returns its digits.
func (c *decCounter) set(v int64) []byte {
	switch {
	case c.n > 0 && v == c.v:
	case c.n > 0 && v == c.v+1 && v > 0 && !c.neg:
		lo, i := len(c.b)-c.n, len(c.b)-1
		for i >= lo && c.b[i] == '9' {
			c.b[i] = '0'
			i--
		}
		if i < lo { // all nines: one more digit
			c.n++
			c.b[i] = '1'
		} else {
			c.b[i]++
		}
		c.v = v
	default:
		d := sim.AppendInt(c.b[:0], v)
		c.n = len(d)
		copy(c.b[len(c.b)-c.n:], d)
		c.v, c.neg = v, v < 0
	}
	return c.b[len(c.b)-c.n:]
}

// aggRows formats /aggTrades rows, reusing the digits of ids that follow
// the previous row's and the leading digits of nearby times.
type aggRows struct {
	id, first, last decCounter
	tHi             int64 // T / 10^5 of tDigits
	tDigits         []byte
}

func (r *aggRows) appendRow(b []byte, sr *sim.Series, t sim.AggTrade) []byte {
	b = append(b, `{"a":`...)
	b = append(b, r.id.set(t.ID)...)
	b = append(b, `,"p":"`...)
	b = sr.AppendPrice(b, t.Price, dec)
	b = append(b, `","q":"`...)
	b = sr.AppendQty(b, t.Qty, dec)
	b = append(b, `","f":`...)
	f := r.first.set(t.FirstTradeID)
	b = append(b, f...)
	b = append(b, `,"l":`...)
	if t.LastTradeID == t.FirstTradeID {
		b = append(b, f...)
	} else {
		b = append(b, r.last.set(t.LastTradeID)...)
	}
	// The next row's first trade id follows this row's last.
	r.first.set(t.LastTradeID)
	b = append(b, `,"T":`...)
	b = r.appendTime(b, t.Time)
	if t.BuyerMaker {
		return append(b, `,"m":true,"M":true}`...)
	}
	return append(b, `,"m":false,"M":true}`...)
}

// appendTime appends ms, reusing the leading digits when only the last
// five changed since the previous row.
func (r *aggRows) appendTime(b []byte, ms int64) []byte {
	if ms < 100_000 {
		return sim.AppendInt(b, ms)
	}
	hi := ms / 100_000
	if hi != r.tHi || r.tDigits == nil {
		r.tHi = hi
		r.tDigits = sim.AppendInt(r.tDigits[:0], hi)
	}
	b = append(b, r.tDigits...)
	low := ms - hi*100_000
	n := len(b)
	b = append(b, "00000"...)
	for i := n + 4; i >= n; i-- {
		b[i] = byte('0' + low%10)
		low /= 10
	}
	return b
}

// appendAggFields appends an aggregate trade's fields and the closing
// brace (shared by REST rows and stream events).
func appendAggFields(b []byte, sr *sim.Series, t sim.AggTrade) []byte {
	b = append(b, `"a":`...)
	b = sim.AppendInt(b, t.ID)
	b = append(b, `,"p":"`...)
	b = sr.AppendPrice(b, t.Price, dec)
	b = append(b, `","q":"`...)
	b = sr.AppendQty(b, t.Qty, dec)
	b = append(b, `","f":`...)
	b = sim.AppendInt(b, t.FirstTradeID)
	b = append(b, `,"l":`...)
	b = sim.AppendInt(b, t.LastTradeID)
	b = append(b, `,"T":`...)
	b = sim.AppendInt(b, t.Time)
	if t.BuyerMaker {
		return append(b, `,"m":true,"M":true}`...)
	}
	return append(b, `,"m":false,"M":true}`...)
}

func (a *api) aggTrades(p params, now int64, b []byte) ([]byte, *apiError) {
	sr, err := a.series(p)
	if err != nil {
		return nil, err
	}
	fromID, hasFrom, err := p.long("fromId")
	if err != nil {
		return nil, err
	}
	start, hasStart, err := p.long("startTime")
	if err != nil {
		return nil, err
	}
	end, hasEnd, err := p.long("endTime")
	if err != nil {
		return nil, err
	}
	limit, err := p.limit(500, 1000)
	if err != nil {
		return nil, err
	}
	if hasFrom && (hasStart || hasEnd) {
		return nil, badRequest(-1128, "Combination of optional parameters invalid.")
	}
	if hasStart && hasEnd && a.aggWindowMs > 0 && end-start > a.aggWindowMs {
		return nil, badRequest(-1127, "More than %d hours between startTime and endTime.", max(1, a.aggWindowMs/3600_000))
	}
	b = append(b, '[')
	n := 0
	var rows aggRows
	add := func(t sim.AggTrade) {
		if n > 0 {
			b = append(b, ',')
		}
		b = rows.appendRow(b, sr, t)
		n++
	}
	switch {
	case hasFrom:
		for t := range sr.AggTradesFromID(fromID, now) {
			if n == limit {
				break
			}
			add(t)
		}
	case hasStart:
		if !hasEnd {
			end = now
		}
		for t := range sr.AggTradesFrom(start, now) {
			if t.Time > end || n == limit {
				break
			}
			add(t)
		}
	default:
		if !hasEnd {
			end = now
		}
		ap := a.aggs.Get().(*[]sim.AggTrade)
		defer a.aggs.Put(ap)
		out := (*ap)[:0]
		for t := range sr.AggTradesBackward(end, now) {
			if len(out) == limit {
				break
			}
			out = append(out, t)
		}
		*ap = out
		for i := len(out) - 1; i >= 0; i-- {
			add(out[i])
		}
	}
	return append(b, ']'), nil
}

func appendTrade(b []byte, sr *sim.Series, t sim.Trade) []byte {
	b = append(b, `{"id":`...)
	b = sim.AppendInt(b, t.ID)
	b = append(b, `,"price":"`...)
	b = sr.AppendPrice(b, t.Price, dec)
	b = append(b, `","qty":"`...)
	b = sr.AppendQty(b, t.Qty, dec)
	b = append(b, `","quoteQty":"`...)
	var q sim.U128
	q.AddMul(uint64(t.Price), uint64(t.Qty))
	b = sr.AppendQuote(b, q, dec)
	b = append(b, `","time":`...)
	b = sim.AppendInt(b, t.Time)
	b = append(b, `,"isBuyerMaker":`...)
	b = strconv.AppendBool(b, t.BuyerMaker)
	return append(b, `,"isBestMatch":true}`...)
}

func (a *api) recentTrades(sr *sim.Series, limit int, now int64) []sim.Trade {
	out := make([]sim.Trade, 0, limit)
	for t := range sr.TradesBackward(now, now) {
		if len(out) == limit {
			break
		}
		out = append(out, t)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

func appendTrades(b []byte, sr *sim.Series, ts []sim.Trade) []byte {
	b = append(b, '[')
	for i, t := range ts {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendTrade(b, sr, t)
	}
	return append(b, ']')
}

func (a *api) trades(p params, now int64, b []byte) ([]byte, *apiError) {
	sr, err := a.series(p)
	if err != nil {
		return nil, err
	}
	limit, err := p.limit(500, 1000)
	if err != nil {
		return nil, err
	}
	return appendTrades(b, sr, a.recentTrades(sr, limit, now)), nil
}

func (a *api) historicalTrades(p params, now int64, b []byte) ([]byte, *apiError) {
	sr, err := a.series(p)
	if err != nil {
		return nil, err
	}
	limit, err := p.limit(500, 1000)
	if err != nil {
		return nil, err
	}
	fromID, hasFrom, err := p.long("fromId")
	if err != nil {
		return nil, err
	}
	if !hasFrom {
		return appendTrades(b, sr, a.recentTrades(sr, limit, now)), nil
	}
	out := make([]sim.Trade, 0, limit)
	for t := range sr.TradesFromID(fromID, now) {
		if len(out) == limit {
			break
		}
		out = append(out, t)
	}
	return appendTrades(b, sr, out), nil
}

func appendLevels(b []byte, sr *sim.Series, ls []sim.BookLevel) []byte {
	b = append(b, '[')
	for i, l := range ls {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `["`...)
		b = sr.AppendPrice(b, l.Price, dec)
		b = append(b, `","`...)
		b = sr.AppendQty(b, l.Qty, dec)
		b = append(b, `"]`...)
	}
	return append(b, ']')
}

func (a *api) depth(p params, now int64, b []byte) ([]byte, *apiError) {
	sr, err := a.series(p)
	if err != nil {
		return nil, err
	}
	n, has, err := p.long("limit")
	if err != nil {
		return nil, err
	}
	limit := 100
	if has {
		if n < 1 {
			return nil, errInvalid("limit")
		}
		limit = int(min(n, 5000))
	}
	st := sr.Book(sim.BookStep(now), limit)
	b = append(b, `{"lastUpdateId":`...)
	b = sim.AppendInt(b, st.UpdateID)
	b = append(b, `,"bids":`...)
	b = appendLevels(b, sr, st.Bids)
	b = append(b, `,"asks":`...)
	b = appendLevels(b, sr, st.Asks)
	return append(b, '}'), nil
}

// symbolsParam resolves the symbol / symbols parameters of the ticker and
// exchangeInfo endpoints; nil means all symbols.
func (a *api) symbolsParam(p params) ([]*sim.Series, bool, *apiError) {
	if p.has("symbol") && p.has("symbols") {
		return nil, false, badRequest(-1128, "Combination of optional parameters invalid.")
	}
	if p.has("symbol") {
		sr, err := a.series(p)
		if err != nil {
			return nil, false, err
		}
		return []*sim.Series{sr}, true, nil
	}
	if p.has("symbols") {
		var names []string
		if json.Unmarshal([]byte(p.str("symbols")), &names) != nil || len(names) == 0 {
			return nil, false, errIllegal("symbols", `^\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\]$`)
		}
		var out []*sim.Series
		for _, n := range names {
			if !symbolRE.MatchString(n) {
				return nil, false, errIllegal("symbols", `^\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\]$`)
			}
			sr := a.bySym[n]
			if sr == nil {
				return nil, false, errInvalidSymbol
			}
			out = append(out, sr)
		}
		return out, false, nil
	}
	return a.order, false, nil
}

func (a *api) tickerPrice(p params, now int64, b []byte) ([]byte, *apiError) {
	srs, single, err := a.symbolsParam(p)
	if err != nil {
		return nil, err
	}
	return appendEach(b, srs, single, func(b []byte, sr *sim.Series) []byte {
		px, _ := sr.LastPriceAt(now)
		b = append(b, `{"symbol":"`...)
		b = append(b, venueSymbol(sr.Symbol())...)
		b = append(b, `","price":"`...)
		b = sr.AppendPrice(b, px, dec)
		return append(b, `"}`...)
	}), nil
}

func appendEach(b []byte, srs []*sim.Series, single bool, f func([]byte, *sim.Series) []byte) []byte {
	if single {
		return f(b, srs[0])
	}
	b = append(b, '[')
	for i, sr := range srs {
		if i > 0 {
			b = append(b, ',')
		}
		b = f(b, sr)
	}
	return append(b, ']')
}

func (a *api) bookTicker(p params, now int64, b []byte) ([]byte, *apiError) {
	srs, single, err := a.symbolsParam(p)
	if err != nil {
		return nil, err
	}
	return appendEach(b, srs, single, func(b []byte, sr *sim.Series) []byte {
		st := sr.Book(sim.BookStep(now), 1)
		b = append(b, `{"symbol":"`...)
		b = append(b, venueSymbol(sr.Symbol())...)
		return appendTop(b, sr, st, `","bidPrice":"`, `","bidQty":"`, `","askPrice":"`, `","askQty":"`, `"}`)
	}), nil
}

func appendTop(b []byte, sr *sim.Series, st sim.BookState, k1, k2, k3, k4, end string) []byte {
	b = append(b, k1...)
	b = sr.AppendPrice(b, st.Bids[0].Price, dec)
	b = append(b, k2...)
	b = sr.AppendQty(b, st.Bids[0].Qty, dec)
	b = append(b, k3...)
	b = sr.AppendPrice(b, st.Asks[0].Price, dec)
	b = append(b, k4...)
	b = sr.AppendQty(b, st.Asks[0].Qty, dec)
	return append(b, end...)
}

func (a *api) avgPrice(p params, now int64, b []byte) ([]byte, *apiError) {
	sr, err := a.series(p)
	if err != nil {
		return nil, err
	}
	c := sr.Aggregate(now-5*60_000, now+1, now)
	b = append(b, `{"mins":5,"price":"`...)
	b = appendRatio(b, sr, c, dec)
	b = append(b, `","closeTime":`...)
	b = sim.AppendInt(b, c.LastTime)
	return append(b, '}'), nil
}

// appendRatio appends the volume-weighted average price of c.
func appendRatio(b []byte, sr *sim.Series, c sim.Candle, decimals int) []byte {
	if c.Volume == 0 {
		return append(b, "0.00000000"...)
	}
	q := sr.Quote(c.Quote)
	v := sr.Qty(c.Volume)
	r, err := q.Quo(v)
	if err != nil {
		return append(b, "0.00000000"...)
	}
	return append(b, r.Trunc(decimals).Pad(decimals).String()...)
}

func (a *api) ticker24h(p params, now int64, b []byte) ([]byte, *apiError) {
	srs, single, err := a.symbolsParam(p)
	if err != nil {
		return nil, err
	}
	return appendEach(b, srs, single, func(b []byte, sr *sim.Series) []byte {
		open := now - 86400_000
		c := sr.Aggregate(open, now+1, now)
		prev, _ := sr.LastPriceAt(open - 1)
		last := c.Close
		lastQty := int64(0)
		for t := range sr.TradesBackward(now, now) {
			last, lastQty = t.Price, t.Qty
			break
		}
		if c.Trades == 0 {
			c.Open, c.High, c.Low = last, last, last
		}
		st := sr.Book(sim.BookStep(now), 1)
		b = append(b, `{"symbol":"`...)
		b = append(b, venueSymbol(sr.Symbol())...)
		b = append(b, `","priceChange":"`...)
		b = sr.AppendPrice(b, last-c.Open, dec)
		b = append(b, `","priceChangePercent":"`...)
		pct := decimal.Zero
		if o := sr.Price(c.Open); !o.IsZero() {
			d, _ := sr.Price(last - c.Open).Quo(o)
			pct, _ = d.Mul(decimal.Hundred)
		}
		b = append(b, pct.Trunc(3).Pad(3).String()...)
		b = append(b, `","weightedAvgPrice":"`...)
		b = appendRatio(b, sr, c, dec)
		b = append(b, `","prevClosePrice":"`...)
		b = sr.AppendPrice(b, prev, dec)
		b = append(b, `","lastPrice":"`...)
		b = sr.AppendPrice(b, last, dec)
		b = append(b, `","lastQty":"`...)
		b = sr.AppendQty(b, lastQty, dec)
		b = appendTop(b, sr, st, `","bidPrice":"`, `","bidQty":"`, `","askPrice":"`, `","askQty":"`, `","openPrice":"`)
		b = sr.AppendPrice(b, c.Open, dec)
		b = append(b, `","highPrice":"`...)
		b = sr.AppendPrice(b, c.High, dec)
		b = append(b, `","lowPrice":"`...)
		b = sr.AppendPrice(b, c.Low, dec)
		b = append(b, `","volume":"`...)
		b = sr.AppendQty(b, c.Volume, dec)
		b = append(b, `","quoteVolume":"`...)
		b = sr.AppendQuote(b, c.Quote, dec)
		b = append(b, `","openTime":`...)
		b = sim.AppendInt(b, open)
		b = append(b, `,"closeTime":`...)
		b = sim.AppendInt(b, now)
		first, lastID := c.FirstTradeID, c.LastTradeID
		if c.Trades == 0 {
			first, lastID = -1, -1
		}
		b = append(b, `,"firstId":`...)
		b = sim.AppendInt(b, first)
		b = append(b, `,"lastId":`...)
		b = sim.AppendInt(b, lastID)
		b = append(b, `,"count":`...)
		b = sim.AppendInt(b, c.Trades)
		return append(b, '}')
	}), nil
}
