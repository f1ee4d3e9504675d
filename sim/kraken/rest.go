package kraken

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
)

const (
	nsPerMs  = int64(time.Millisecond)
	qtyDec   = 8 // volumes are printed with 8 decimals
	maxOHLC  = 720
	maxTrade = 1000
	maxDepth = 500
)

// intervals Kraken's OHLC serves, in minutes.
var intervals = []int{1, 5, 15, 30, 60, 240, 1440, 10080, 21600}

func (a *api) time(_ url.Values, _ int64, b []byte) ([]byte, string) {
	ms := a.env.ServerTimeMs()
	t := time.UnixMilli(ms).UTC()
	b = append(b, `{"unixtime":`...)
	b = strconv.AppendInt(b, domain.FloorDiv(ms, 1000), 10)
	b = append(b, `,"rfc1123":"`...)
	b = t.AppendFormat(b, "Mon, _2 Jan 06 15:04:05 -0700")
	return append(b, `"}`...), ""
}

func (a *api) systemStatus(_ url.Values, _ int64, b []byte) ([]byte, string) {
	b = append(b, `{"status":"online","timestamp":"`...)
	b = time.UnixMilli(a.env.ServerTimeMs()).UTC().AppendFormat(b, time.RFC3339)
	return append(b, `"}`...), ""
}

func (a *api) assets(_ url.Values, _ int64, b []byte) ([]byte, string) {
	type as struct{ code, alt string }
	var list []as
	for _, p := range a.pairs {
		s := p.sr.Symbol()
		for _, iso := range []string{s.Base, s.Quote} {
			c, alt := asset(iso)
			if !slices.Contains(list, as{c, alt}) {
				list = append(list, as{c, alt})
			}
		}
	}
	slices.SortFunc(list, func(x, y as) int { return strings.Compare(x.code, y.code) })
	b = append(b, '{')
	for i, x := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, x.code)
		b = append(b, `:{"aclass":"currency","altname":`...)
		b = strconv.AppendQuote(b, x.alt)
		b = append(b, `,"decimals":10,"display_decimals":5,"status":"enabled"}`...)
	}
	return append(b, '}'), ""
}

// pairParam reads the mandatory single pair parameter.
func (a *api) pairParam(q url.Values) (*pair, string) {
	name := q.Get("pair")
	if name == "" || strings.Contains(name, ",") {
		return nil, eInvalidArgs
	}
	p := a.lookup(name)
	if p == nil {
		return nil, eUnknownPair
	}
	return p, ""
}

// intParam reads an optional non-negative integer parameter.
func intParam(q url.Values, name string) (int64, bool, string) {
	s := q.Get(name)
	if s == "" {
		return 0, false, ""
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, false, eInvalidArgs
	}
	return n, true, ""
}

func appendFees(b []byte, fees [][2]string) []byte {
	b = append(b, '[')
	for i, f := range fees {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = append(b, f[0]...)
		b = append(b, ',')
		b = append(b, f[1]...)
		b = append(b, ']')
	}
	return append(b, ']')
}

var (
	takerFees = [][2]string{{"0", "0.26"}, {"50000", "0.24"}, {"100000", "0.22"}, {"250000", "0.2"}, {"500000", "0.18"},
		{"1000000", "0.16"}, {"2500000", "0.14"}, {"5000000", "0.12"}, {"10000000", "0.1"}}
	makerFees = [][2]string{{"0", "0.16"}, {"50000", "0.14"}, {"100000", "0.12"}, {"250000", "0.1"}, {"500000", "0.08"},
		{"1000000", "0.06"}, {"2500000", "0.04"}, {"5000000", "0.02"}, {"10000000", "0"}}
)

func (a *api) assetPairs(q url.Values, _ int64, b []byte) ([]byte, string) {
	list := a.pairs
	if s := q.Get("pair"); s != "" {
		list = nil
		for _, n := range strings.Split(s, ",") {
			p := a.lookup(n)
			if p == nil {
				return nil, eUnknownPair
			}
			list = append(list, p)
		}
	}
	b = append(b, '{')
	for i, p := range list {
		if i > 0 {
			b = append(b, ',')
		}
		spec := p.sr.Spec()
		b = strconv.AppendQuote(b, p.key)
		b = append(b, `:{"altname":`...)
		b = strconv.AppendQuote(b, p.altname)
		b = append(b, `,"wsname":`...)
		b = strconv.AppendQuote(b, p.wsname)
		b = append(b, `,"aclass_base":"currency","base":`...)
		b = strconv.AppendQuote(b, p.base)
		b = append(b, `,"aclass_quote":"currency","quote":`...)
		b = strconv.AppendQuote(b, p.quote)
		b = append(b, `,"lot":"unit","cost_decimals":`...)
		b = strconv.AppendInt(b, int64(min(p.priceDecimals+p.lotDecimals, 10)), 10)
		b = append(b, `,"pair_decimals":`...)
		b = strconv.AppendInt(b, int64(p.priceDecimals), 10)
		b = append(b, `,"lot_decimals":`...)
		b = strconv.AppendInt(b, int64(p.lotDecimals), 10)
		b = append(b, `,"lot_multiplier":1,"leverage_buy":[],"leverage_sell":[],"fees":`...)
		b = appendFees(b, takerFees)
		b = append(b, `,"fees_maker":`...)
		b = appendFees(b, makerFees)
		b = append(b, `,"fee_volume_currency":"ZUSD","margin_call":80,"margin_stop":40,"ordermin":"`...)
		om, _ := spec.MeanQty.Quo(decimal.Ten)
		b = append(b, om.Trim(0).String()...)
		b = append(b, `","costmin":"`...)
		if p.sr.Symbol().Quote == "USD" || p.sr.Symbol().Quote == "EUR" {
			b = append(b, "0.5"...)
		} else {
			b = append(b, "0.00002"...)
		}
		b = append(b, `","tick_size":"`...)
		b = append(b, spec.TickSize.Trim(0).String()...)
		b = append(b, `","status":"online"}`...)
	}
	return append(b, '}'), ""
}

// appendTradeRow appends [price, volume, time, side, type, misc, trade_id].
func appendTradeRow(b []byte, p *pair, t sim.Trade) []byte {
	b = append(b, `["`...)
	b = p.sr.AppendPrice(b, t.Price, p.restPrice)
	b = append(b, `","`...)
	b = p.sr.AppendQty(b, t.Qty, qtyDec)
	b = append(b, `",`...)
	b = appendSeconds(b, t.Time)
	if t.BuyerMaker {
		b = append(b, `,"s",`...)
	} else {
		b = append(b, `,"b",`...)
	}
	if orderType(t.ID) == "market" {
		b = append(b, `"m",""`...)
	} else {
		b = append(b, `"l",""`...)
	}
	b = append(b, ',')
	b = strconv.AppendInt(b, t.ID, 10)
	return append(b, ']')
}

// orderType is the (deterministic) order type of the taker of a trade.
func orderType(id int64) string {
	if id%4 == 3 {
		return "limit"
	}
	return "market"
}

// appendSeconds appends epoch ms as decimal seconds with 4 decimals, as
// Kraken prints trade times.
func appendSeconds(b []byte, ms int64) []byte {
	return sim.AppendFixed(b, ms, 3, 4)
}

// sinceNanos reads Kraken's since: a nanosecond cursor, or epoch seconds
// when it is short (Kraken accepts both).
func sinceNanos(n int64) int64 {
	if n < 1e12 {
		return n * int64(time.Second)
	}
	return n
}

func (a *api) trades(q url.Values, now int64, b []byte) ([]byte, string) {
	p, e := a.pairParam(q)
	if e != "" {
		return nil, e
	}
	count, hasCount, e := intParam(q, "count")
	if e != "" || (hasCount && count < 1) {
		return nil, eInvalidArgs
	}
	if !hasCount || count > maxTrade {
		count = maxTrade
	}
	since, hasSince, e := intParam(q, "since")
	if e != "" {
		return nil, eInvalidArgs
	}
	var list []sim.Trade
	if hasSince {
		sinceNs := sinceNanos(since)
		for t := range p.sr.TradesFrom(domain.FloorDiv(sinceNs, nsPerMs)+1, now) {
			list = append(list, t)
			if int64(len(list)) >= count {
				break
			}
		}
	} else {
		for t := range p.sr.TradesBackward(now, now) {
			list = append(list, t)
			if int64(len(list)) >= count {
				break
			}
		}
		slices.Reverse(list)
	}
	var last int64
	switch {
	case len(list) > 0:
		last = list[len(list)-1].Time * nsPerMs
	case hasSince:
		last = sinceNanos(since)
	default:
		last = now * nsPerMs
	}
	b = append(b, '{')
	b = strconv.AppendQuote(b, p.key)
	b = append(b, ":["...)
	for i, t := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendTradeRow(b, p, t)
	}
	b = append(b, `],"last":"`...)
	b = strconv.AppendInt(b, last, 10)
	return append(b, `"}`...), ""
}

// spanOf returns the span of an OHLC interval in minutes.
func spanOf(minutes int) domain.Span { return domain.Span(time.Duration(minutes) * time.Minute) }

// appendVWAP appends the volume-weighted average price of c, rounded to
// decimals.
func appendVWAP(b []byte, sr *sim.Series, c sim.Candle, decimals int) []byte {
	if c.Volume == 0 {
		return append(b, decimal.Zero.Pad(decimals).String()...)
	}
	r, err := sr.Quote(c.Quote).Quo(sr.Qty(c.Volume))
	if err != nil {
		return append(b, decimal.Zero.Pad(decimals).String()...)
	}
	return append(b, r.Round(decimals).Pad(decimals).String()...)
}

// window returns the open times (ms) of the oldest and the current bar of
// span served by OHLC at now: the 720 most recent bars.
func window(span domain.Span, nowMs int64) (oldest, current int64) {
	cur := span.Floor(nowMs * nsPerMs)
	return span.Add(cur, -(maxOHLC-1)) / nsPerMs, cur / nsPerMs
}

func (a *api) ohlc(q url.Values, now int64, b []byte) ([]byte, string) {
	p, e := a.pairParam(q)
	if e != "" {
		return nil, e
	}
	iv, hasIv, e := intParam(q, "interval")
	if e != "" {
		return nil, e
	}
	if !hasIv {
		iv = 1
	}
	if !slices.Contains(intervals, int(iv)) {
		return nil, eInvalidArgs
	}
	span := spanOf(int(iv))
	since, hasSince, e := intParam(q, "since")
	if e != "" {
		return nil, e
	}
	from, cur := window(span, now)
	if hasSince {
		from = max(from, sinceNanos(since)/nsPerMs+1)
	}
	cs := p.sr.Candles(span, from, now, now, maxOHLC, false)
	if (len(cs) == 0 || cs[len(cs)-1].OpenTime != cur) && cur >= from {
		// "The last entry is for the current, not-yet-committed timeframe,
		// and will always be present": without a trade yet, it repeats the
		// last price with no volume.
		px, _ := p.sr.LastPriceAt(now)
		cs = append(cs, sim.Candle{OpenTime: cur, Open: px, High: px, Low: px, Close: px})
		if len(cs) > maxOHLC {
			cs = cs[1:]
		}
	}
	last := cur - int64(span.Duration()/time.Millisecond)
	for i := len(cs) - 1; i >= 0; i-- {
		if span.Next(cs[i].OpenTime*nsPerMs)/nsPerMs <= now+1 {
			last = cs[i].OpenTime
			break
		}
	}
	b = append(b, '{')
	b = strconv.AppendQuote(b, p.key)
	b = append(b, ":["...)
	for i, c := range cs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendInt(b, c.OpenTime/1000, 10)
		for _, px := range []int64{c.Open, c.High, c.Low, c.Close} {
			b = append(b, `,"`...)
			b = p.sr.AppendPrice(b, px, p.priceDecimals)
			b = append(b, '"')
		}
		b = append(b, `,"`...)
		b = appendVWAP(b, p.sr, c, p.priceDecimals)
		b = append(b, `","`...)
		b = p.sr.AppendQty(b, c.Volume, qtyDec)
		b = append(b, `",`...)
		b = strconv.AppendInt(b, c.Trades, 10)
		b = append(b, ']')
	}
	b = append(b, `],"last":`...)
	b = strconv.AppendInt(b, last/1000, 10)
	return append(b, '}'), ""
}

func (a *api) depth(q url.Values, now int64, b []byte) ([]byte, string) {
	p, e := a.pairParam(q)
	if e != "" {
		return nil, e
	}
	count, hasCount, e := intParam(q, "count")
	if e != "" || (hasCount && count < 1) {
		return nil, eInvalidArgs
	}
	if !hasCount {
		count = 100
	}
	count = min(count, maxDepth)
	st := p.sr.Book(sim.BookStep(now), int(count))
	ts := strconv.AppendInt(nil, domain.FloorDiv(st.Time, 1000), 10)
	side := func(b []byte, ls []sim.BookLevel) []byte {
		b = append(b, '[')
		for i, l := range ls {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `["`...)
			b = p.sr.AppendPrice(b, l.Price, p.restPrice)
			b = append(b, `","`...)
			b = p.sr.AppendQty(b, l.Qty, qtyDec)
			b = append(b, `",`...)
			b = append(b, ts...)
			b = append(b, ']')
		}
		return append(b, ']')
	}
	b = append(b, '{')
	b = strconv.AppendQuote(b, p.key)
	b = append(b, `:{"asks":`...)
	b = side(b, st.Asks)
	b = append(b, `,"bids":`...)
	b = side(b, st.Bids)
	return append(b, "}}"...), ""
}

// ticker answers Ticker for one or more pairs (all when pair is absent).
func (a *api) ticker(q url.Values, now int64, b []byte) ([]byte, string) {
	list := a.pairs
	if s := q.Get("pair"); s != "" {
		list = nil
		for _, n := range strings.Split(s, ",") {
			p := a.lookup(n)
			if p == nil {
				return nil, eUnknownPair
			}
			list = append(list, p)
		}
	}
	dayStart := domain.Span1d.Floor(now*nsPerMs) / nsPerMs
	b = append(b, '{')
	for i, p := range list {
		if i > 0 {
			b = append(b, ',')
		}
		sr := p.sr
		st := sr.Book(sim.BookStep(now), 1)
		today := sr.Aggregate(dayStart, now+1, now)
		day := sr.Aggregate(now-24*3600_000+1, now+1, now)
		last, _ := sr.LastPriceAt(now)
		px := func(b []byte, t int64) []byte { return sr.AppendPrice(b, t, p.restPrice) }
		b = strconv.AppendQuote(b, p.key)
		b = append(b, `:{"a":["`...)
		b = px(b, st.Asks[0].Price)
		b = append(b, `","1","1.000"],"b":["`...)
		b = px(b, st.Bids[0].Price)
		b = append(b, `","1","1.000"],"c":["`...)
		b = px(b, last)
		b = append(b, `","0.00000000"],"v":["`...)
		b = sr.AppendQty(b, today.Volume, qtyDec)
		b = append(b, `","`...)
		b = sr.AppendQty(b, day.Volume, qtyDec)
		b = append(b, `"],"p":["`...)
		b = appendVWAP(b, sr, today, p.restPrice)
		b = append(b, `","`...)
		b = appendVWAP(b, sr, day, p.restPrice)
		b = append(b, `"],"t":[`...)
		b = strconv.AppendInt(b, today.Trades, 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, day.Trades, 10)
		tl, th := lowHigh(today, last)
		dl, dh := lowHigh(day, last)
		b = append(b, `],"l":["`...)
		b = px(b, tl)
		b = append(b, `","`...)
		b = px(b, dl)
		b = append(b, `"],"h":["`...)
		b = px(b, th)
		b = append(b, `","`...)
		b = px(b, dh)
		b = append(b, `"],"o":"`...)
		if today.Trades > 0 {
			b = px(b, today.Open)
		} else {
			b = px(b, last)
		}
		b = append(b, `"}`...)
	}
	return append(b, '}'), ""
}

// lowHigh returns a candle's low and high, or last twice when it is empty.
func lowHigh(c sim.Candle, last int64) (int64, int64) {
	if c.Trades == 0 {
		return last, last
	}
	return c.Low, c.High
}
