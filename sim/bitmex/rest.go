package bitmex

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
)

// params is a parsed query string.
type params struct{ v url.Values }

func parseParams(r *http.Request) (params, *apiError) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return params{}, badRequest("Malformed query string.")
	}
	return params{v}, nil
}

func (p params) has(name string) bool   { _, ok := p.v[name]; return ok && p.v.Get(name) != "" }
func (p params) str(name string) string { return p.v.Get(name) }

// count reads count: default 100, 1…1000 (BitMEX's maximum page).
func (p params) count() (int, *apiError) {
	if !p.has("count") {
		return 100, nil
	}
	n, err := strconv.Atoi(p.str("count"))
	if err != nil || n < 1 || n > 1000 {
		return 0, badRequest("count must be an integer between 1 and 1000, got %q.", p.str("count"))
	}
	return n, nil
}

// start reads the row offset (default 0).
func (p params) start() (int, *apiError) {
	if !p.has("start") {
		return 0, nil
	}
	n, err := strconv.Atoi(p.str("start"))
	if err != nil || n < 0 {
		return 0, badRequest("start must be a non-negative integer, got %q.", p.str("start"))
	}
	return n, nil
}

// boolean reads a true/false parameter.
func (p params) boolean(name string, def bool) (bool, *apiError) {
	if !p.has(name) {
		return def, nil
	}
	switch strings.ToLower(p.str(name)) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, badRequest("%s must be true or false, got %q.", name, p.str(name))
}

// timeMs reads a date parameter (ISO 8601, a date, or Unix time) in ms.
func (p params) timeMs(name string) (int64, bool, *apiError) {
	if !p.has(name) {
		return 0, false, nil
	}
	ns, err := domain.ParseTime(p.str(name))
	if err != nil {
		return 0, false, badRequest("Invalid %s: %q is not a date.", name, p.str(name))
	}
	return domain.NanosToMillis(ns), true, nil
}

// contract reads the symbol parameter. A symbol that is not listed gives
// nil (BitMEX treats symbol as a filter: no match is an empty answer).
func (a *api) contract(p params) *contract { return a.bySym[p.str("symbol")] }

// appendTime appends ms as BitMEX's timestamp "2006-01-02T15:04:05.000Z".
func appendTime(b []byte, ms int64) []byte {
	return time.UnixMilli(ms).UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
}

func appendDec(b []byte, d decimal.Decimal) []byte {
	return append(b, d.Trim(0).String()...)
}

func (a *api) root(_ params, _ int64, b []byte) ([]byte, *apiError) {
	b = append(b, `{"name":"BitMEX API","version":"1.2.0","timestamp":`...)
	b = strconv.AppendInt(b, a.env.ServerTimeMs(), 10)
	return append(b, '}'), nil
}

func (a *api) instrumentsActive(_ params, now int64, b []byte) ([]byte, *apiError) {
	listing := appendTime(nil, a.env.Market.StartMs())
	b = append(b, '[')
	for i, c := range a.order {
		if i > 0 {
			b = append(b, ',')
		}
		sr := c.sr
		last, _ := sr.LastPriceAt(now)
		b = append(b, `{"symbol":"`...)
		b = append(b, c.venue...)
		b = append(b, `","rootSymbol":"`...)
		b = append(b, c.underlying...)
		b = append(b, `","state":"Open","typ":"FFWCSX","listing":"`...)
		b = append(b, listing...)
		b = append(b, `","front":"`...)
		b = append(b, listing...)
		b = append(b, `","expiry":null,"positionCurrency":"`...)
		if c.inverse {
			b = append(b, c.quote...)
		}
		b = append(b, `","underlying":"`...)
		b = append(b, c.underlying...)
		b = append(b, `","quoteCurrency":"`...)
		b = append(b, c.quote...)
		b = append(b, `","settlCurrency":"`...)
		b = append(b, c.settl...)
		b = append(b, `","maxOrderQty":`...)
		b = strconv.AppendInt(b, c.maxOrderQty, 10)
		b = append(b, `,"lotSize":`...)
		b = appendDec(b, c.spec.LotSize)
		b = append(b, `,"tickSize":`...)
		b = appendDec(b, c.spec.TickSize)
		b = append(b, `,"multiplier":`...)
		b = strconv.AppendInt(b, c.multiplier, 10)
		if c.inverse {
			b = append(b, `,"underlyingToPositionMultiplier":null,"underlyingToSettleMultiplier":-100000000,"quoteToSettleMultiplier":null,"isQuanto":false,"isInverse":true`...)
		} else {
			one, _ := decimal.One.Quo(c.contract)
			b = append(b, `,"underlyingToPositionMultiplier":`...)
			b = appendDec(b, one)
			b = append(b, `,"underlyingToSettleMultiplier":null,"quoteToSettleMultiplier":1000000,"isQuanto":false,"isInverse":false`...)
		}
		b = append(b, `,"fundingInterval":"2000-01-01T08:00:00.000Z","lastPrice":`...)
		b = sr.AppendPrice(b, last, -1)
		b = append(b, `,"timestamp":"`...)
		b = appendTime(b, now)
		b = append(b, `"}`...)
	}
	// BitMEX also lists spot pairs; the simulator serves no data for them.
	if len(a.order) > 0 {
		b = append(b, ',')
	}
	b = append(b, `{"symbol":"XBT_USDT","rootSymbol":"XBT","state":"Open","typ":"IFXXXP","listing":"`...)
	b = append(b, listing...)
	b = append(b, `","front":"`...)
	b = append(b, listing...)
	b = append(b, `","expiry":null,"positionCurrency":"XBT","underlying":"XBT","quoteCurrency":"USDT","settlCurrency":"","maxOrderQty":10000000000,"lotSize":1000,"tickSize":0.5,"multiplier":1,"underlyingToPositionMultiplier":1000000,"underlyingToSettleMultiplier":null,"quoteToSettleMultiplier":1000000,"isQuanto":false,"isInverse":false,"timestamp":"`...)
	b = appendTime(b, now)
	b = append(b, `"}]`...)
	return b, nil
}

// notional is BitMEX's value of a trade or bucket.
type notional struct {
	gross   int64           // grossValue / turnover, in settlement units (satoshi or micro-USDT)
	home    decimal.Decimal // base amount
	foreign decimal.Decimal // quote amount
}

var (
	satoshi = decimal.MustNew(100000000, 0)
	microU  = decimal.MustNew(1000000, 0)
)

// tradeNotional values one trade: inverse contracts are worth 1 USD each
// (grossValue = size·10⁸/price satoshi), linear ones contract × size base
// units (grossValue in micro-USDT).
func (c *contract) tradeNotional(price, size decimal.Decimal) notional {
	var n notional
	if c.inverse {
		g, _ := size.Mul(satoshi)
		g, _ = g.Quo(price)
		n.gross, _, _ = g.Round(0).Int64(0)
		n.home = decimal.MustNew(n.gross, 8).Trim(0)
		n.foreign = size
		return n
	}
	n.home, _ = size.Mul(c.contract)
	n.foreign, _ = n.home.Mul(price)
	g, _ := n.foreign.Mul(microU)
	n.gross, _, _ = g.Round(0).Int64(0)
	n.home, n.foreign = n.home.Trim(0), n.foreign.Trim(0)
	return n
}

// bucketNotional values a bucket from its volume (contracts) and quote sum
// (Σ price × size). For inverse contracts Σ size/price is approximated by
// volume²/quote (the simulator keeps no per-bucket sum of it).
func (c *contract) bucketNotional(volume, quote decimal.Decimal) notional {
	var n notional
	if volume.IsZero() {
		return notional{home: decimal.Zero, foreign: decimal.Zero}
	}
	if c.inverse {
		v2, _ := volume.Mul(volume)
		h, _ := v2.Quo(quote)
		n.home = h.Round(8).Trim(0)
		g, _ := n.home.Mul(satoshi)
		n.gross, _, _ = g.Round(0).Int64(0)
		n.foreign = volume
		return n
	}
	n.home, _ = volume.Mul(c.contract)
	n.foreign, _ = quote.Mul(c.contract)
	g, _ := n.foreign.Mul(microU)
	n.gross, _, _ = g.Round(0).Int64(0)
	n.home, n.foreign = n.home.Trim(0), n.foreign.Trim(0)
	return n
}

// TrdMatchID returns the trdMatchID the simulator gives trade id: BitMEX's
// current form, a UUID whose last group counts trades.
func TrdMatchID(id int64) string {
	return string(appendMatchID(nil, id))
}

func appendMatchID(b []byte, id int64) []byte {
	b = append(b, "00000000-006d-1000-0000-"...)
	h := strconv.FormatUint(uint64(id), 16)
	for i := len(h); i < 12; i++ {
		b = append(b, '0')
	}
	return append(b, h...)
}

// tickDirection names the price move of a trade against the previous one.
type tickState struct {
	prev  int64 // previous price in ticks, -1 if unknown
	upish bool  // the last non-zero move was up
}

func (ts *tickState) next(price int64) string {
	switch {
	case ts.prev < 0:
		ts.prev, ts.upish = price, true
		return "ZeroPlusTick"
	case price > ts.prev:
		ts.prev, ts.upish = price, true
		return "PlusTick"
	case price < ts.prev:
		ts.prev, ts.upish = price, false
		return "MinusTick"
	case ts.upish:
		return "ZeroPlusTick"
	}
	return "ZeroMinusTick"
}

func (a *api) appendTrade(b []byte, c *contract, t sim.Trade, dir string) []byte {
	sr := c.sr
	price, size := sr.Price(t.Price), sr.Qty(t.Qty)
	n := c.tradeNotional(price, size)
	b = append(b, `{"timestamp":"`...)
	b = appendTime(b, t.Time)
	b = append(b, `","symbol":"`...)
	b = append(b, c.venue...)
	if t.BuyerMaker {
		b = append(b, `","side":"Sell","size":`...)
	} else {
		b = append(b, `","side":"Buy","size":`...)
	}
	b = sr.AppendQty(b, t.Qty, -1)
	b = append(b, `,"price":`...)
	b = sr.AppendPrice(b, t.Price, -1)
	b = append(b, `,"tickDirection":"`...)
	b = append(b, dir...)
	b = append(b, `","trdMatchID":"`...)
	b = appendMatchID(b, t.ID)
	b = append(b, `","grossValue":`...)
	b = strconv.AppendInt(b, n.gross, 10)
	b = append(b, `,"homeNotional":`...)
	b = appendDec(b, n.home)
	b = append(b, `,"foreignNotional":`...)
	b = appendDec(b, n.foreign)
	return append(b, `,"trdType":"Regular"}`...)
}

// trades serves GET /api/v1/trade: rows with startTime ≤ timestamp ≤
// endTime (both inclusive), oldest first (reverse=false, the default) or
// newest first, skipping start rows, at most count. Trades of one
// millisecond keep one order (by match), so start offsets are stable.
func (a *api) trades(p params, now int64, b []byte) ([]byte, *apiError) {
	count, err := p.count()
	if err != nil {
		return nil, err
	}
	start, err := p.start()
	if err != nil {
		return nil, err
	}
	reverse, err := p.boolean("reverse", false)
	if err != nil {
		return nil, err
	}
	from, _, err := p.timeMs("startTime")
	if err != nil {
		return nil, err
	}
	to, hasTo, err := p.timeMs("endTime")
	if err != nil {
		return nil, err
	}
	if !p.has("symbol") {
		return nil, badRequest("symbol is required by this simulator (BitMEX would list every instrument's trades).")
	}
	c := a.contract(p)
	b = append(b, '[')
	if c == nil {
		return append(b, ']'), nil
	}
	if !hasTo || to > now {
		to = now
	}
	sr := c.sr
	rows := make([]sim.Trade, 0, min(count, 1000))
	if !reverse {
		i := 0
		for t := range sr.TradesFrom(from, to) {
			if i++; i <= start {
				continue
			}
			rows = append(rows, t)
			if len(rows) == count {
				break
			}
		}
	} else {
		i := 0
		for t := range sr.TradesBackward(to, now) {
			if t.Time < from {
				break
			}
			if i++; i <= start {
				continue
			}
			rows = append(rows, t)
			if len(rows) == count+1 {
				break
			}
		}
	}
	// Tick directions need the trade before each row.
	ts := tickState{prev: -1}
	oldest := len(rows) - 1
	if !reverse {
		oldest = 0
	}
	if len(rows) > 0 {
		for t := range sr.TradesBackward(rows[oldest].Time, now) {
			if t.ID < rows[oldest].ID {
				ts.prev = t.Price
				break
			}
		}
	}
	if reverse {
		if len(rows) > count {
			ts.prev = rows[count].Price
			rows = rows[:count]
		}
		dirs := make([]string, len(rows))
		for i := len(rows) - 1; i >= 0; i-- {
			dirs[i] = ts.next(rows[i].Price)
		}
		for i, t := range rows {
			if i > 0 {
				b = append(b, ',')
			}
			b = a.appendTrade(b, c, t, dirs[i])
		}
		return append(b, ']'), nil
	}
	for i, t := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = a.appendTrade(b, c, t, ts.next(t.Price))
	}
	return append(b, ']'), nil
}

// binSizes are the buckets GET /trade/bucketed serves.
var binSizes = map[string]domain.Span{"1m": domain.Span1m, "5m": domain.Span5m, "1h": domain.Span1h, "1d": domain.Span1d}

const msNs = int64(time.Millisecond)

// bucketed serves GET /api/v1/trade/bucketed. A bucket is stamped with its
// close; startTime/endTime filter on that stamp (inclusive). Buckets with
// no trade are listed with the previous close as a flat OHLC and null
// vwap/lastSize (or null prices before the first trade), as BitMEX does.
// partial=true adds the bucket in progress.
func (a *api) bucketed(p params, now int64, b []byte) ([]byte, *apiError) {
	bin := p.str("binSize")
	span, ok := binSizes[bin]
	if !ok {
		return nil, badRequest("Invalid binSize %q: binSize must be one of 1m, 5m, 1h, 1d.", bin)
	}
	count, err := p.count()
	if err != nil {
		return nil, err
	}
	start, err := p.start()
	if err != nil {
		return nil, err
	}
	reverse, err := p.boolean("reverse", false)
	if err != nil {
		return nil, err
	}
	partial, err := p.boolean("partial", false)
	if err != nil {
		return nil, err
	}
	from, hasFrom, err := p.timeMs("startTime")
	if err != nil {
		return nil, err
	}
	to, hasTo, err := p.timeMs("endTime")
	if err != nil {
		return nil, err
	}
	if !p.has("symbol") {
		return nil, badRequest("symbol is required by this simulator.")
	}
	c := a.contract(p)
	b = append(b, '[')
	if c == nil {
		return append(b, ']'), nil
	}
	spanMs := int64(span) / msNs
	grid := func(ms int64) int64 { return span.Floor(ms*msNs) / msNs } // open of the bucket holding ms
	firstOpen := grid(a.env.Market.StartMs())
	// Closed buckets close at or before now; the forming one (partial)
	// closes after now.
	lastOpen := grid(now) - spanMs
	if partial {
		lastOpen = grid(now)
	}
	lo, hi := firstOpen, lastOpen
	if hasFrom {
		// close ≥ from ⇔ open ≥ from − span: the first grid open at or
		// after from − span.
		o := grid(from - spanMs)
		if o < from-spanMs {
			o += spanMs
		}
		lo = max(lo, o)
	}
	if hasTo {
		hi = min(hi, grid(to-spanMs)) // close ≤ to ⇔ open ≤ to − span
	}
	var opens []int64
	if !reverse {
		for o, i := lo+int64(start)*spanMs, 0; o <= hi && i < count; o, i = o+spanMs, i+1 {
			opens = append(opens, o)
		}
	} else {
		for o, i := hi-int64(start)*spanMs, 0; o >= lo && i < count; o, i = o-spanMs, i+1 {
			opens = append(opens, o)
		}
		for i, j := 0, len(opens)-1; i < j; i, j = i+1, j-1 {
			opens[i], opens[j] = opens[j], opens[i]
		}
	}
	rows := make([][]byte, len(opens))
	prev, hasPrev := int64(0), false
	if len(opens) > 0 {
		for t := range c.sr.TradesBackward(opens[0]-1, now) {
			prev, hasPrev = t.Price, true
			break
		}
	}
	for i, o := range opens {
		cd := c.sr.Aggregate(o, o+spanMs, now)
		rows[i] = a.appendBucket(nil, c, o+spanMs, cd, prev, hasPrev)
		if cd.Trades > 0 {
			prev, hasPrev = cd.Close, true
		}
	}
	if reverse {
		for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
			rows[i], rows[j] = rows[j], rows[i]
		}
	}
	for i, r := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, r...)
	}
	return append(b, ']'), nil
}

func (a *api) appendBucket(b []byte, c *contract, closeMs int64, cd sim.Candle, prev int64, hasPrev bool) []byte {
	sr := c.sr
	b = append(b, `{"timestamp":"`...)
	b = appendTime(b, closeMs)
	b = append(b, `","symbol":"`...)
	b = append(b, c.venue...)
	b = append(b, `",`...)
	if cd.Trades == 0 {
		if !hasPrev {
			b = append(b, `"open":null,"high":null,"low":null,"close":null`...)
		} else {
			for _, k := range []string{`"open":`, `,"high":`, `,"low":`, `,"close":`} {
				b = append(b, k...)
				b = sr.AppendPrice(b, prev, -1)
			}
		}
		return append(b, `,"trades":0,"volume":0,"vwap":null,"lastSize":null,"turnover":0,"homeNotional":0,"foreignNotional":0}`...)
	}
	b = append(b, `"open":`...)
	b = sr.AppendPrice(b, cd.Open, -1)
	b = append(b, `,"high":`...)
	b = sr.AppendPrice(b, cd.High, -1)
	b = append(b, `,"low":`...)
	b = sr.AppendPrice(b, cd.Low, -1)
	b = append(b, `,"close":`...)
	b = sr.AppendPrice(b, cd.Close, -1)
	b = append(b, `,"trades":`...)
	b = strconv.AppendInt(b, cd.Trades, 10)
	b = append(b, `,"volume":`...)
	b = sr.AppendQty(b, cd.Volume, -1)
	vol, quote := sr.Qty(cd.Volume), sr.Quote(cd.Quote)
	vwap, _ := quote.Quo(vol)
	b = append(b, `,"vwap":`...)
	b = appendDec(b, vwap.Round(4))
	b = append(b, `,"lastSize":`...)
	last := int64(0)
	for t := range sr.TradesFromID(cd.LastTradeID, closeMs) {
		last = t.Qty
		break
	}
	b = sr.AppendQty(b, last, -1)
	n := c.bucketNotional(vol, quote)
	b = append(b, `,"turnover":`...)
	b = strconv.AppendInt(b, n.gross, 10)
	b = append(b, `,"homeNotional":`...)
	b = appendDec(b, n.home)
	b = append(b, `,"foreignNotional":`...)
	b = appendDec(b, n.foreign)
	return append(b, '}')
}

// orderBookL2 serves GET /api/v1/orderBook/L2: depth levels per side
// (default 25, 0 = all), sorted by id — asks from the highest price down,
// then bids from the highest down.
func (a *api) orderBookL2(p params, now int64, b []byte) ([]byte, *apiError) {
	depth := 25
	if p.has("depth") {
		n, err := strconv.Atoi(p.str("depth"))
		if err != nil || n < 0 {
			return nil, badRequest("depth must be a non-negative integer, got %q.", p.str("depth"))
		}
		depth = n
	}
	if !p.has("symbol") {
		return nil, badRequest("symbol is required.")
	}
	c := a.contract(p)
	b = append(b, '[')
	if c == nil {
		return append(b, ']'), nil
	}
	st := c.sr.Book(sim.BookStep(now), depth)
	first := true
	for i := len(st.Asks) - 1; i >= 0; i-- {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = a.appendLevel(b, c, st.Asks[i], "Sell", st.Time, true, true)
	}
	for _, l := range st.Bids {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = a.appendLevel(b, c, l, "Buy", st.Time, true, true)
	}
	return append(b, ']'), nil
}

// levelID is the level's id: BitMEX's legacy rule, (88+index)·10⁸ − price
// in ticks, so ids sort opposite to prices.
func (c *contract) levelID(ticks int64) int64 { return (88+c.index)*100000000 - ticks }

func (a *api) appendLevel(b []byte, c *contract, l sim.BookLevel, side string, ms int64, withSize, withPrice bool) []byte {
	b = append(b, `{"symbol":"`...)
	b = append(b, c.venue...)
	b = append(b, `","id":`...)
	b = strconv.AppendInt(b, c.levelID(l.Price), 10)
	b = append(b, `,"side":"`...)
	b = append(b, side...)
	b = append(b, '"')
	if withSize {
		b = append(b, `,"size":`...)
		b = c.sr.AppendQty(b, l.Qty, -1)
	}
	if withPrice {
		b = append(b, `,"price":`...)
		b = c.sr.AppendPrice(b, l.Price, -1)
	}
	b = append(b, `,"timestamp":"`...)
	b = appendTime(b, ms)
	return append(b, `"}`...)
}
