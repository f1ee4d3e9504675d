package coinbase

import (
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
)

// Page limits.
const (
	maxTrades     = 1000
	defaultTrades = 1000 // the pagination docs: "limit: default 1000, maximum 1000"
)

// granularities Coinbase serves (seconds).
var granularities = map[int64]domain.Span{
	60: domain.Span1m, 300: domain.Span5m, 900: domain.Span15m,
	3600: domain.Span1h, 21600: domain.Span6h, 86400: domain.Span1d,
}

func (a *api) time(_ *http.Request, _ *product, now int64, b []byte, _ http.Header) ([]byte, *apiError) {
	b = append(b, `{"iso":"`...)
	b = time.UnixMilli(now).UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
	b = append(b, `","epoch":`...)
	b = sim.AppendFixed(b, now, 3, 3)
	return append(b, '}'), nil
}

func (a *api) appendProduct(b []byte, p *product) []byte {
	s := p.sr.Symbol()
	b = append(b, `{"id":"`...)
	b = append(b, p.id...)
	b = append(b, `","base_currency":"`...)
	b = append(b, s.Base...)
	b = append(b, `","quote_currency":"`...)
	b = append(b, s.Quote...)
	b = append(b, `","quote_increment":"`...)
	b = append(b, p.tick...)
	b = append(b, `","base_increment":"`...)
	b = append(b, p.lot...)
	b = append(b, `","display_name":"`...)
	b = append(b, p.id...)
	b = append(b, `","min_market_funds":"`...)
	b = append(b, p.minFunds...)
	b = append(b, `","margin_enabled":false,"post_only":false,"limit_only":false,"cancel_only":false,"status":"online","status_message":"","trading_disabled":false,"fx_stablecoin":false,"max_slippage_percentage":"0.02000000","auction_mode":false,"high_bid_limit_percentage":""}`...)
	return b
}

func (a *api) products(_ *http.Request, _ *product, _ int64, b []byte, _ http.Header) ([]byte, *apiError) {
	b = append(b, '[')
	for i, p := range a.order {
		if i > 0 {
			b = append(b, ',')
		}
		b = a.appendProduct(b, p)
	}
	return append(b, ']'), nil
}

func (a *api) product(_ *http.Request, p *product, _ int64, b []byte, _ http.Header) ([]byte, *apiError) {
	return a.appendProduct(b, p), nil
}

// parseTimeParam reads a start/end parameter: RFC 3339 / ISO 8601 (with or
// without zone, fraction or time) or Unix seconds (possibly fractional).
func parseTimeParam(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !strings.ContainsAny(s, "-:T") {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, false
		}
		return int64(math.Floor(f * 1000)), true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UnixMilli(), true
		}
	}
	return 0, false
}

// candles serves GET /products/{id}/candles: rows [time, low, high, open,
// close, volume] newest first, bars without trades omitted, the bar in
// progress included. With start and end, bars opening in [floor(start),
// end) (end inclusive with the candlesEnd=inclusive option) are served,
// and a range of more than candlesMax bars is rejected — or, with
// candlesOverLimit=truncate, silently cut to its newest candlesMax bars.
// Without both, the latest candlesMax bars are served.
func (a *api) candles(r *http.Request, p *product, now int64, b []byte, _ http.Header) ([]byte, *apiError) {
	q := r.URL.Query()
	g := int64(60)
	if s := q.Get("granularity"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || granularities[n] == 0 {
			return nil, badRequest("Unsupported granularity")
		}
		g = n
	}
	span := granularities[g]
	gMs := g * 1000
	limit, latest := a.candlesMax, true
	fromMs, toMs := int64(math.MinInt64/2), now
	ss, es := q.Get("start"), q.Get("end")
	if ss != "" && es != "" {
		start, ok := parseTimeParam(ss)
		if !ok {
			return nil, badRequest("Invalid start")
		}
		end, ok := parseTimeParam(es)
		if !ok {
			return nil, badRequest("Invalid end")
		}
		if start > end {
			return nil, badRequest("start must be before end")
		}
		if float64(end-start)/float64(gMs) > float64(a.candlesMax) && !a.truncate {
			return nil, badRequest("granularity too small for the requested time range. Count of aggregations requested exceeds %d", a.candlesMax)
		}
		fromMs = span.Floor(start*1e6) / 1e6
		toMs = end
		if !a.endInclusive {
			toMs = end - 1
		}
		latest = a.truncate
		if !a.truncate {
			limit = a.candlesMax + 2
		}
	}
	cs := p.sr.Candles(span, fromMs, toMs, now, limit, latest)
	b = append(b, '[')
	for i := len(cs) - 1; i >= 0; i-- {
		c := cs[i]
		if i != len(cs)-1 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendInt(b, c.OpenTime/1000, 10)
		b = append(b, ',')
		b = p.sr.AppendPrice(b, c.Low, -1)
		b = append(b, ',')
		b = p.sr.AppendPrice(b, c.High, -1)
		b = append(b, ',')
		b = p.sr.AppendPrice(b, c.Open, -1)
		b = append(b, ',')
		b = p.sr.AppendPrice(b, c.Close, -1)
		b = append(b, ',')
		b = p.sr.AppendQty(b, c.Volume, -1)
		b = append(b, ']')
	}
	return append(b, ']'), nil
}

// lastTrade returns the newest trade at or before now.
func lastTrade(sr *sim.Series, now int64) (sim.Trade, bool) {
	for t := range sr.TradesBackward(now, now) {
		return t, true
	}
	return sim.Trade{}, false
}

// sequence is the product's feed sequence at ms: it grows with every book
// update and every trade, as Coinbase's full-channel sequence does.
func sequence(sr *sim.Series, ms, lastTradeID int64) int64 {
	return sr.UpdateID(sim.BookStep(ms)) + lastTradeID - sr.FirstTradeID() + 1
}

func cursorParam(q url.Values, name string) (int64, bool, *apiError) {
	s := q.Get(name)
	if s == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, false, badRequest("Invalid %s", name)
	}
	return n, true, nil
}

// trades serves GET /products/{id}/trades newest first: after=X the trades
// with ids below X, before=X the ones just above X, neither the newest;
// CB-BEFORE and CB-AFTER name the page's newest and oldest ids.
func (a *api) trades(r *http.Request, p *product, now int64, b []byte, h http.Header) ([]byte, *apiError) {
	q := r.URL.Query()
	limit := defaultTrades
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxTrades {
			return nil, badRequest("Invalid limit")
		}
		limit = n
	}
	after, hasAfter, aerr := cursorParam(q, "after")
	if aerr != nil {
		return nil, aerr
	}
	before, hasBefore, aerr := cursorParam(q, "before")
	if aerr != nil {
		return nil, aerr
	}
	sr := p.sr
	newest, ok := lastTrade(sr, now)
	b = append(b, '[')
	if !ok {
		return append(b, ']'), nil
	}
	first := sr.FirstTradeID()
	hi := newest.ID // newest id of the page
	switch {
	case hasAfter:
		hi = min(after-1, newest.ID)
	case hasBefore:
		hi = min(before+int64(limit), newest.ID)
	}
	lo := max(hi-int64(limit)+1, first)
	if hasBefore {
		lo = max(lo, before+1)
	}
	if hi < lo {
		return append(b, ']'), nil
	}
	page := make([]sim.Trade, 0, hi-lo+1)
	for t := range sr.TradesFromID(lo, now) {
		if t.ID > hi {
			break
		}
		page = append(page, t)
	}
	for i := len(page) - 1; i >= 0; i-- {
		t := page[i]
		if i != len(page)-1 {
			b = append(b, ',')
		}
		b = append(b, `{"trade_id":`...)
		b = strconv.AppendInt(b, t.ID, 10)
		b = append(b, `,"side":"`...)
		b = append(b, makerSide(t.BuyerMaker)...)
		b = append(b, `","size":"`...)
		b = sr.AppendQty(b, t.Qty, 8)
		b = append(b, `","price":"`...)
		b = sr.AppendPrice(b, t.Price, 8)
		b = append(b, `","time":"`...)
		b = appendTime(b, t.Time)
		b = append(b, `"}`...)
	}
	if len(page) > 0 {
		h.Set("Cb-Before", strconv.FormatInt(page[len(page)-1].ID, 10))
		h.Set("Cb-After", strconv.FormatInt(page[0].ID, 10))
	}
	return append(b, ']'), nil
}

// makerSide is Coinbase's trade side: the side of the maker order (a
// buyer-maker trade is a "buy", a down-tick).
func makerSide(buyerMaker bool) string {
	if buyerMaker {
		return "buy"
	}
	return "sell"
}

// numOrders is a deterministic order count for a level.
func numOrders(lv sim.BookLevel) int64 { return 1 + (lv.Price*31+lv.Qty)%7 }

// book serves GET /products/{id}/book?level=1|2|3.
func (a *api) book(r *http.Request, p *product, now int64, b []byte, _ http.Header) ([]byte, *apiError) {
	level := r.URL.Query().Get("level")
	depth := 0
	switch level {
	case "", "1":
		depth = 1
		level = "1"
	case "2", "3":
	default:
		return nil, badRequest("Invalid level")
	}
	sr := p.sr
	st := sr.Book(sim.BookStep(now), depth)
	last, _ := lastTrade(sr, now)
	side := func(b []byte, lv []sim.BookLevel) []byte {
		b = append(b, '[')
		for i, l := range lv {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `["`...)
			b = sr.AppendPrice(b, l.Price, p.tickScale)
			b = append(b, `","`...)
			b = sr.AppendQty(b, l.Qty, p.lotScale)
			if level == "3" {
				b = append(b, `","`...)
				b = appendOrderID(b, sr, l)
				b = append(b, `"]`...)
			} else {
				b = append(b, `",`...)
				b = strconv.AppendInt(b, numOrders(l), 10)
				b = append(b, ']')
			}
		}
		return append(b, ']')
	}
	b = append(b, `{"bids":`...)
	b = side(b, st.Bids)
	b = append(b, `,"asks":`...)
	b = side(b, st.Asks)
	b = append(b, `,"sequence":`...)
	b = strconv.AppendInt(b, sequence(sr, now, last.ID), 10)
	b = append(b, `,"auction_mode":false,"auction":null,"time":"`...)
	b = appendTime(b, now)
	return append(b, `"}`...), nil
}

// appendOrderID writes a deterministic UUID-shaped order id for a level.
func appendOrderID(b []byte, sr *sim.Series, l sim.BookLevel) []byte {
	x := uint64(l.Price)*0x9e3779b97f4a7c15 ^ uint64(l.Qty)*0xc2b2ae3d27d4eb4f ^ uint64(sr.FirstTradeID())
	y := x*0xbf58476d1ce4e5b9 + 0x94d049bb133111eb
	hex := strconv.FormatUint(x, 16) + strconv.FormatUint(y, 16)
	for len(hex) < 32 {
		hex = "0" + hex
	}
	hex = hex[:32]
	return append(b, hex[0:8]+"-"+hex[8:12]+"-"+hex[12:16]+"-"+hex[16:20]+"-"+hex[20:32]...)
}

// ticker serves GET /products/{id}/ticker.
func (a *api) ticker(_ *http.Request, p *product, now int64, b []byte, _ http.Header) ([]byte, *apiError) {
	sr := p.sr
	st := sr.Book(sim.BookStep(now), 1)
	last, _ := lastTrade(sr, now)
	day := sr.Aggregate(now-24*3600_000+1, now+1, now)
	b = append(b, `{"ask":"`...)
	if len(st.Asks) > 0 {
		b = sr.AppendPrice(b, st.Asks[0].Price, p.tickScale)
	}
	b = append(b, `","bid":"`...)
	if len(st.Bids) > 0 {
		b = sr.AppendPrice(b, st.Bids[0].Price, p.tickScale)
	}
	b = append(b, `","volume":"`...)
	b = sr.AppendQty(b, day.Volume, 8)
	b = append(b, `","trade_id":`...)
	b = strconv.AppendInt(b, last.ID, 10)
	b = append(b, `,"price":"`...)
	b = sr.AppendPrice(b, last.Price, p.tickScale)
	b = append(b, `","size":"`...)
	b = sr.AppendQty(b, last.Qty, 8)
	b = append(b, `","time":"`...)
	b = appendTime(b, last.Time)
	return append(b, `","rfq_volume":"0"}`...), nil
}
