package bitfinex

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
)

// timeframes maps Bitfinex candle time frames to spans. Weekly and
// two-weekly bars open on Monday 00:00 UTC (pype's grid), months on the 1st.
var timeframes = map[string]domain.Span{
	"1m": domain.Span1m, "5m": domain.Span5m, "15m": domain.Span15m, "30m": domain.Span30m,
	"1h": domain.Span1h, "3h": 3 * domain.Span1h, "6h": domain.Span6h, "12h": domain.Span12h,
	"1D": domain.Span1d, "1W": domain.Span1w, "14D": 2 * domain.Span1w, "1M": domain.Span1M,
}

func (a *api) status(_ string, _ *http.Request, _ int64, b []byte) ([]byte, *apiError) {
	return append(b, "[1]"...), nil
}

// conf serves GET /v2/conf/{key}[,{key}…]: one list per key.
func (a *api) conf(rest string, _ *http.Request, _ int64, b []byte) ([]byte, *apiError) {
	b = append(b, '[')
	for i, key := range strings.Split(rest, ",") {
		if i > 0 {
			b = append(b, ',')
		}
		switch key {
		case "pub:list:pair:exchange":
			b = append(b, '[')
			for j, vs := range a.order {
				if j > 0 {
					b = append(b, ',')
				}
				b = strconv.AppendQuote(b, strings.TrimPrefix(vs, "t"))
			}
			b = append(b, ']')
		case "pub:map:currency:sym":
			keys := make([]string, 0, len(currencyCode))
			for std, c := range currencyCode {
				keys = append(keys, c+"\x00"+std)
			}
			slices.Sort(keys)
			b = append(b, '[')
			for j, k := range keys {
				c, std, _ := strings.Cut(k, "\x00")
				if j > 0 {
					b = append(b, ',')
				}
				b = append(b, '[')
				b = strconv.AppendQuote(b, c)
				b = append(b, ',')
				b = strconv.AppendQuote(b, std)
				b = append(b, ']')
			}
			b = append(b, ']')
		case "pub:list:currency":
			seen := map[string]bool{}
			var cur []string
			for _, vs := range a.order {
				s := a.bySym[vs].Symbol()
				for _, c := range []string{code(s.Base), code(s.Quote)} {
					if !seen[c] {
						seen[c] = true
						cur = append(cur, c)
					}
				}
			}
			slices.Sort(cur)
			b = append(b, '[')
			for j, c := range cur {
				if j > 0 {
					b = append(b, ',')
				}
				b = strconv.AppendQuote(b, c)
			}
			b = append(b, ']')
		default:
			b = append(b, "null"...)
		}
	}
	return append(b, ']'), nil
}

// query reads an optional integer parameter; a malformed one is a 10020
// "<name>: invalid" error.
func query(r *http.Request, name string) (int64, bool, *apiError) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, false, errParams(name + ": invalid")
	}
	return n, true, nil
}

// window reads start, end, limit and sort as Bitfinex does: start and end
// inclusive (ms), limit default def and at most max, sort -1 (default,
// newest first) or 1.
func window(r *http.Request, now int64, def, max int64) (start, end, limit int64, asc bool, err *apiError) {
	var ok bool
	if start, _, err = query(r, "start"); err != nil {
		return
	}
	if end, ok, err = query(r, "end"); err != nil {
		return
	}
	if !ok || end > now {
		end = now
	}
	if limit, ok, err = query(r, "limit"); err != nil {
		return
	}
	if !ok {
		limit = def
	}
	if limit < 1 || limit > max {
		err = errParams("limit: invalid")
		return
	}
	s, ok, err := query(r, "sort")
	if err != nil {
		return
	}
	asc = ok && s == 1
	return
}

// candles serves GET /v2/candles/trade:{tf}:{sym}/{hist|last}: rows
// [MTS, OPEN, CLOSE, HIGH, LOW, VOLUME]. Unknown symbols get an empty
// list (as on Bitfinex); unknown time frames a 10020 error.
func (a *api) candles(rest string, r *http.Request, now int64, b []byte) ([]byte, *apiError) {
	key, section, ok := strings.Cut(rest, "/")
	if !ok || (section != "hist" && section != "last") {
		return nil, &apiError{status: 500, code: 10020, msg: "section: invalid"}
	}
	kind, rest2, _ := strings.Cut(key, ":")
	tf, sym, _ := strings.Cut(rest2, ":")
	if kind != "trade" {
		return nil, errParams("key: invalid")
	}
	span, ok := timeframes[tf]
	if !ok {
		return nil, errParams("time_interval: invalid")
	}
	start, end, limit, asc, err := window(r, now, 100, 10000)
	if err != nil {
		return nil, err
	}
	sr := a.bySym[sym]
	if sr == nil {
		return append(b, "[]"...), nil
	}
	if section == "last" {
		cs := sr.Candles(span, 0, now, now, 1, true)
		if len(cs) == 0 {
			return append(b, "[]"...), nil
		}
		return appendCandle(b, sr, &cs[0]), nil
	}
	cs := sr.Candles(span, start, end, now, int(limit), !asc)
	b = append(b, '[')
	for i := range cs {
		j := i
		if !asc {
			j = len(cs) - 1 - i
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = appendCandle(b, sr, &cs[j])
	}
	return append(b, ']'), nil
}

func appendCandle(b []byte, sr *sim.Series, c *sim.Candle) []byte {
	b = append(b, '[')
	b = strconv.AppendInt(b, c.OpenTime, 10)
	b = append(b, ',')
	b = appendDec(b, sr.Price(c.Open))
	b = append(b, ',')
	b = appendDec(b, sr.Price(c.Close))
	b = append(b, ',')
	b = appendDec(b, sr.Price(c.High))
	b = append(b, ',')
	b = appendDec(b, sr.Price(c.Low))
	b = append(b, ',')
	b = appendDec(b, sr.Qty(c.Volume))
	return append(b, ']')
}

// appendTrade appends [ID, MTS, ±AMOUNT, PRICE].
func appendTrade(b []byte, sr *sim.Series, t sim.Trade) []byte {
	b = append(b, '[')
	b = strconv.AppendInt(b, t.ID, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, t.Time, 10)
	b = append(b, ',')
	q := sr.Qty(t.Qty)
	if t.BuyerMaker {
		q = q.Neg() // the taker sold
	}
	b = appendDec(b, q)
	b = append(b, ',')
	b = appendDec(b, sr.Price(t.Price))
	return append(b, ']')
}

// trades serves GET /v2/trades/{sym}/hist: rows [ID, MTS, AMOUNT, PRICE],
// limit ≤ 10000 (default 125), sort -1 by default. Same-millisecond trades
// are ordered by id in the direction of the sort.
func (a *api) trades(rest string, r *http.Request, now int64, b []byte) ([]byte, *apiError) {
	sym, section, ok := strings.Cut(rest, "/")
	if !ok || section != "hist" {
		return nil, &apiError{status: 500, code: 10020, msg: "section: invalid"}
	}
	start, end, limit, asc, err := window(r, now, 125, 10000)
	if err != nil {
		return nil, err
	}
	sr := a.bySym[sym]
	if sr == nil {
		return append(b, "[]"...), nil
	}
	b = append(b, '[')
	n := int64(0)
	if asc {
		for t := range sr.TradesFrom(start, now) {
			if t.Time > end || n == limit {
				break
			}
			if n > 0 {
				b = append(b, ',')
			}
			b = appendTrade(b, sr, t)
			n++
		}
	} else {
		for t := range sr.TradesBackward(end, now) {
			if t.Time < start || n == limit {
				break
			}
			if n > 0 {
				b = append(b, ',')
			}
			b = appendTrade(b, sr, t)
			n++
		}
	}
	return append(b, ']'), nil
}

// levelCount is the number of orders shown at a level: a deterministic
// function of its price and quantity (the model has no orders).
func levelCount(price, qty int64) int64 {
	return 1 + int64((uint64(price)*31+uint64(qty))%9)
}

// appendLevel appends [PRICE, COUNT, ±AMOUNT] (asks negative).
func appendLevel(b []byte, sr *sim.Series, l sim.BookLevel, ask bool) []byte {
	b = append(b, '[')
	b = appendDec(b, sr.Price(l.Price))
	b = append(b, ',')
	b = strconv.AppendInt(b, levelCount(l.Price, l.Qty), 10)
	b = append(b, ',')
	q := sr.Qty(l.Qty)
	if ask {
		q = q.Neg()
	}
	b = appendDec(b, q)
	return append(b, ']')
}

// book serves GET /v2/book/{sym}/P0?len=1|25|100: bids (best first) then
// asks (best first). Only P0 is simulated.
func (a *api) book(rest string, r *http.Request, now int64, b []byte) ([]byte, *apiError) {
	sym, prec, ok := strings.Cut(rest, "/")
	if !ok {
		return nil, errParams("prec: invalid")
	}
	sr := a.bySym[sym]
	if sr == nil {
		return nil, errParams("symbol: invalid")
	}
	if prec != "P0" {
		return nil, errParams("prec: invalid")
	}
	n := int64(25)
	if v := r.URL.Query().Get("len"); v != "" {
		var err error
		if n, err = strconv.ParseInt(v, 10, 64); err != nil || (n != 1 && n != 25 && n != 100) {
			return nil, errParams("len: invalid")
		}
	}
	st := sr.Book(sim.BookStep(now), int(n))
	b = append(b, '[')
	first := true
	for _, l := range st.Bids {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendLevel(b, sr, l, false)
	}
	for _, l := range st.Asks {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendLevel(b, sr, l, true)
	}
	return append(b, ']'), nil
}

// ticker serves GET /v2/ticker/{sym}: [BID, BID_SIZE, ASK, ASK_SIZE,
// DAILY_CHANGE, DAILY_CHANGE_RELATIVE, LAST_PRICE, VOLUME, HIGH, LOW].
func (a *api) ticker(rest string, _ *http.Request, now int64, b []byte) ([]byte, *apiError) {
	sr := a.bySym[rest]
	if sr == nil {
		return nil, errParams("symbol: invalid")
	}
	st := sr.Book(sim.BookStep(now), 1)
	c := sr.Aggregate(now-24*3600*1000, now+1, now)
	last, _ := sr.LastPriceAt(now)
	b = append(b, '[')
	b = appendDec(b, sr.Price(st.Bids[0].Price))
	b = append(b, ',')
	b = appendDec(b, sr.Qty(st.Bids[0].Qty))
	b = append(b, ',')
	b = appendDec(b, sr.Price(st.Asks[0].Price))
	b = append(b, ',')
	b = appendDec(b, sr.Qty(st.Asks[0].Qty))
	b = append(b, ',')
	open := last
	if c.Trades > 0 {
		open = c.Open
	}
	b = appendDec(b, sr.Price(last-open))
	b = append(b, ',')
	rel := 0.0
	if open != 0 {
		rel = float64(last-open) / float64(open)
	}
	b = strconv.AppendFloat(b, rel, 'g', 8, 64)
	b = append(b, ',')
	b = appendDec(b, sr.Price(last))
	b = append(b, ',')
	b = appendDec(b, sr.Qty(c.Volume))
	b = append(b, ',')
	hi, lo := c.High, c.Low
	if c.Trades == 0 {
		hi, lo = last, last
	}
	b = appendDec(b, sr.Price(hi))
	b = append(b, ',')
	b = appendDec(b, sr.Price(lo))
	return append(b, ']'), nil
}
