package okx

import (
	"net/url"
	"strconv"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
)

// Page limits of the market endpoints.
const (
	maxHistoryCandles = 100
	maxCandles        = 300
	recentCandles     = 1440 // bars /market/candles serves
	maxHistoryTrades  = 100
	maxTrades         = 500
	maxBooks          = 400
	maxBooksFull      = 5000
	// tradeHistoryMs is how far back /history-trades serves (3 months).
	tradeHistoryMs = 90 * 24 * 3600_000
)

// shortest prints a decimal in its shortest form, as OKX does ("30244",
// "0.08").
const shortest = -1

func (a *api) time(_ url.Values, _ int64, b []byte) ([]byte, *apiError) {
	b = envelope(b)
	b = append(b, `{"ts":"`...)
	b = strconv.AppendInt(b, a.env.ServerTimeMs(), 10)
	b = append(b, `"}`...)
	return closeEnvelope(b), nil
}

// minLots is the minimum order size in lots (OKX: 0.00001 BTC at a lot of
// 0.00000001).
const minLots = 1000

func (a *api) instruments(q url.Values, _ int64, b []byte) ([]byte, *apiError) {
	typ := q.Get("instType")
	switch typ {
	case "":
		return nil, errEmpty("instType")
	case "SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION":
	default:
		return nil, errParam("instType")
	}
	list := a.order
	if id := q.Get("instId"); id != "" {
		sr := a.bySym[id]
		if sr == nil {
			return nil, errInstrument
		}
		list = []*sim.Series{sr}
	}
	if typ != "SPOT" && typ != "MARGIN" {
		list = nil // the simulator lists spot instruments only
	}
	b = envelope(b)
	for i, sr := range list {
		if i > 0 {
			b = append(b, ',')
		}
		sp := sr.Spec()
		sym := sr.Symbol()
		b = append(b, `{"alias":"","baseCcy":"`...)
		b = append(b, sym.Base...)
		b = append(b, `","category":"1","ctMult":"","ctType":"","ctVal":"","ctValCcy":"","expTime":"","instId":"`...)
		b = append(b, InstID(sym)...)
		b = append(b, `","instType":"`...)
		b = append(b, typ...)
		b = append(b, `","lever":"10","listTime":"`...)
		b = strconv.AppendInt(b, sr.Market().StartMs(), 10)
		b = append(b, `","lotSz":"`...)
		b = append(b, sp.LotSize.Trim(0).String()...)
		b = append(b, `","maxIcebergSz":"9999999999","maxLmtSz":"9999999999","maxMktSz":"1000000","maxStopSz":"1000000","maxTriggerSz":"9999999999","maxTwapSz":"9999999999","minSz":"`...)
		b = sr.AppendQty(b, minLots, shortest)
		b = append(b, `","optType":"","quoteCcy":"`...)
		b = append(b, sym.Quote...)
		b = append(b, `","settleCcy":"","state":"live","stk":"","tickSz":"`...)
		b = append(b, sp.TickSize.Trim(0).String()...)
		b = append(b, `","uly":""}`...)
	}
	return closeEnvelope(b), nil
}

// candleParams reads instId, bar, after, before and limit.
func (a *api) candleParams(q url.Values, maxLimit int) (sr *sim.Series, br bar, after, before int64, hasAfter, hasBefore bool, limit int, err *apiError) {
	if sr, err = a.series(q); err != nil {
		return
	}
	name := q.Get("bar")
	if name == "" {
		name = "1m"
	}
	var ok bool
	if br, ok = bars[name]; !ok {
		err = errParam("bar")
		return
	}
	if after, hasAfter, err = intParam(q, "after"); err != nil {
		return
	}
	if before, hasBefore, err = intParam(q, "before"); err != nil {
		return
	}
	limit, err = limitParam(q, 100, maxLimit)
	return
}

func (a *api) historyCandles(q url.Values, now int64, b []byte) ([]byte, *apiError) {
	return a.serveCandles(q, now, b, maxHistoryCandles, false)
}

func (a *api) candles(q url.Values, now int64, b []byte) ([]byte, *apiError) {
	return a.serveCandles(q, now, b, maxCandles, true)
}

// serveCandles answers /candles and /history-candles: the newest limit bars
// with before < open < after (both exclusive), newest first. /candles
// (recent) only reaches back 1440 bars.
func (a *api) serveCandles(q url.Values, now int64, b []byte, maxLimit int, recent bool) ([]byte, *apiError) {
	sr, br, after, before, hasAfter, hasBefore, limit, err := a.candleParams(q, maxLimit)
	if err != nil {
		return nil, err
	}
	lo, hi := int64(0), now
	if hasBefore {
		lo = before + 1
	}
	if hasAfter && after-1 < hi {
		hi = after - 1
	}
	if recent {
		lo = max(lo, br.add(br.floor(now), -(recentCandles-1)))
	}
	if br.span == domain.Span1s {
		lo = max(lo, now-tradeHistoryMs) // 1s bars: the last 3 months only
	}
	cs := br.newest(sr, lo, hi, now, limit, make([]sim.Candle, 0, limit))
	b = envelope(b)
	for i := range cs {
		c := &cs[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `["`...)
		b = strconv.AppendInt(b, c.OpenTime, 10)
		b = append(b, `","`...)
		b = sr.AppendPrice(b, c.Open, shortest)
		b = append(b, `","`...)
		b = sr.AppendPrice(b, c.High, shortest)
		b = append(b, `","`...)
		b = sr.AppendPrice(b, c.Low, shortest)
		b = append(b, `","`...)
		b = sr.AppendPrice(b, c.Close, shortest)
		b = append(b, `","`...)
		b = sr.AppendQty(b, c.Volume, shortest)
		quote := sr.Quote(c.Quote).Trim(0).String()
		b = append(b, `","`...)
		b = append(b, quote...) // volCcy: the quote volume for spot
		b = append(b, `","`...)
		b = append(b, quote...) // volCcyQuote
		if br.next(c.OpenTime) <= now+1 {
			b = append(b, `","1"]`...)
		} else {
			b = append(b, `","0"]`...)
		}
	}
	return closeEnvelope(b), nil
}

func appendTrade(b []byte, sr *sim.Series, instID string, t sim.Trade) []byte {
	b = append(b, `{"instId":"`...)
	b = append(b, instID...)
	b = append(b, `","side":"`...)
	b = append(b, side(t.BuyerMaker)...)
	b = append(b, `","sz":"`...)
	b = sr.AppendQty(b, t.Qty, shortest)
	b = append(b, `","px":"`...)
	b = sr.AppendPrice(b, t.Price, shortest)
	b = append(b, `","tradeId":"`...)
	b = strconv.AppendInt(b, t.ID, 10)
	b = append(b, `","ts":"`...)
	b = strconv.AppendInt(b, t.Time, 10)
	return append(b, `"}`...)
}

// side is the taker's side: a buyer-maker fill was a taker sell.
func side(buyerMaker bool) string {
	if buyerMaker {
		return "sell"
	}
	return "buy"
}

func appendTrades(b []byte, sr *sim.Series, ts []sim.Trade) []byte {
	b = envelope(b)
	id := InstID(sr.Symbol())
	for i, t := range ts {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendTrade(b, sr, id, t)
	}
	return closeEnvelope(b)
}

// trades answers /market/trades: the latest trades, newest first.
func (a *api) trades(q url.Values, now int64, b []byte) ([]byte, *apiError) {
	sr, err := a.series(q)
	if err != nil {
		return nil, err
	}
	limit, err := limitParam(q, 100, maxTrades)
	if err != nil {
		return nil, err
	}
	out := make([]sim.Trade, 0, limit)
	for t := range sr.TradesBackward(now, now) {
		if len(out) == limit {
			break
		}
		out = append(out, t)
	}
	return appendTrades(b, sr, out), nil
}

// historyTrades answers /market/history-trades: newest first, paginated by
// trade id (type 1, the default: after/before are exclusive ids) or by
// time (type 2: after is an exclusive ms bound; before is refused), over
// the last 3 months.
func (a *api) historyTrades(q url.Values, now int64, b []byte) ([]byte, *apiError) {
	sr, err := a.series(q)
	if err != nil {
		return nil, err
	}
	typ := q.Get("type")
	if typ == "" {
		typ = "1"
	}
	if typ != "1" && typ != "2" {
		return nil, errParam("type")
	}
	after, hasAfter, err := intParam(q, "after")
	if err != nil {
		return nil, err
	}
	before, hasBefore, err := intParam(q, "before")
	if err != nil {
		return nil, err
	}
	limit, err := limitParam(q, 100, maxHistoryTrades)
	if err != nil {
		return nil, err
	}
	oldest := now - tradeHistoryMs
	out := make([]sim.Trade, 0, limit)
	if typ == "2" {
		if hasBefore {
			return nil, &apiError{status: 200, code: "50039", msg: `Parameter "before" isn't supported for timestamp pagination`}
		}
		to := now
		if hasAfter {
			to = min(to, after-1)
		}
		for t := range sr.TradesBackward(to, now) {
			if len(out) == limit || t.Time < oldest {
				break
			}
			out = append(out, t)
		}
		return appendTrades(b, sr, out), nil
	}
	if hasBefore && !hasAfter {
		// A lone before returns the latest trades newer than it.
		return appendTrades(b, sr, latestAbove(sr, before, now, oldest, limit, out)), nil
	}
	to := now
	if hasAfter {
		// The newest trade with an id below after: start at its time.
		found := false
		for t := range sr.TradesFromID(after-1, now) {
			if t.ID < after {
				to, found = t.Time, true
			}
			break
		}
		if !found && after <= sr.FirstTradeID() {
			return appendTrades(b, sr, nil), nil
		}
	}
	for t := range sr.TradesBackward(to, now) {
		if t.ID >= after && hasAfter {
			continue
		}
		if (hasBefore && t.ID <= before) || t.Time < oldest || len(out) == limit {
			break
		}
		out = append(out, t)
	}
	return appendTrades(b, sr, out), nil
}

// latestAbove returns the latest limit trades with id > before, newest
// first.
func latestAbove(sr *sim.Series, before, now, oldest int64, limit int, out []sim.Trade) []sim.Trade {
	for t := range sr.TradesBackward(now, now) {
		if t.ID <= before || t.Time < oldest || len(out) == limit {
			break
		}
		out = append(out, t)
	}
	return out
}

// orders is a deterministic number of orders at a level (the simulator
// does not model individual orders).
func orders(l sim.BookLevel) int64 { return 1 + (l.Qty^l.Price)%5 }

func appendLevels(b []byte, sr *sim.Series, ls []sim.BookLevel, full bool) []byte {
	b = append(b, '[')
	for i, l := range ls {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `["`...)
		b = sr.AppendPrice(b, l.Price, shortest)
		b = append(b, `","`...)
		b = sr.AppendQty(b, l.Qty, shortest)
		if !full {
			b = append(b, `","0`...)
		}
		b = append(b, `","`...)
		b = strconv.AppendInt(b, orders(l), 10)
		b = append(b, `"]`...)
	}
	return append(b, ']')
}

func (a *api) books(q url.Values, now int64, b []byte) ([]byte, *apiError) {
	return a.serveBooks(q, now, b, maxBooks, false)
}

func (a *api) booksFull(q url.Values, now int64, b []byte) ([]byte, *apiError) {
	return a.serveBooks(q, now, b, maxBooksFull, true)
}

func (a *api) serveBooks(q url.Values, now int64, b []byte, maxSz int, full bool) ([]byte, *apiError) {
	sr, err := a.series(q)
	if err != nil {
		return nil, err
	}
	sz, has, err := intParam(q, "sz")
	if err != nil {
		return nil, err
	}
	if !has {
		sz = 1
	}
	if sz < 1 || sz > int64(maxSz) {
		return nil, errParam("sz")
	}
	st := sr.Book(sim.BookStep(now), int(sz))
	b = envelope(b)
	b = append(b, `{"asks":`...)
	b = appendLevels(b, sr, st.Asks, full)
	b = append(b, `,"bids":`...)
	b = appendLevels(b, sr, st.Bids, full)
	b = append(b, `,"ts":"`...)
	b = strconv.AppendInt(b, now, 10)
	b = append(b, `"}`...)
	return closeEnvelope(b), nil
}

func (a *api) ticker(q url.Values, now int64, b []byte) ([]byte, *apiError) {
	sr, err := a.series(q)
	if err != nil {
		return nil, err
	}
	c := sr.Aggregate(now-86400_000, now+1, now)
	last, lastQty := c.Close, int64(0)
	for t := range sr.TradesBackward(now, now) {
		last, lastQty = t.Price, t.Qty
		break
	}
	if c.Trades == 0 {
		c.Open, c.High, c.Low = last, last, last
	}
	st := sr.Book(sim.BookStep(now), 1)
	sod := func(offset int64) int64 {
		day := (now+offset)/86400_000*86400_000 - offset
		p, _ := sr.LastPriceAt(day)
		return p
	}
	b = envelope(b)
	b = append(b, `{"instType":"SPOT","instId":"`...)
	b = append(b, InstID(sr.Symbol())...)
	b = append(b, `","last":"`...)
	b = sr.AppendPrice(b, last, shortest)
	b = append(b, `","lastSz":"`...)
	b = sr.AppendQty(b, lastQty, shortest)
	b = append(b, `","askPx":"`...)
	b = sr.AppendPrice(b, st.Asks[0].Price, shortest)
	b = append(b, `","askSz":"`...)
	b = sr.AppendQty(b, st.Asks[0].Qty, shortest)
	b = append(b, `","bidPx":"`...)
	b = sr.AppendPrice(b, st.Bids[0].Price, shortest)
	b = append(b, `","bidSz":"`...)
	b = sr.AppendQty(b, st.Bids[0].Qty, shortest)
	b = append(b, `","open24h":"`...)
	b = sr.AppendPrice(b, c.Open, shortest)
	b = append(b, `","high24h":"`...)
	b = sr.AppendPrice(b, c.High, shortest)
	b = append(b, `","low24h":"`...)
	b = sr.AppendPrice(b, c.Low, shortest)
	b = append(b, `","volCcy24h":"`...)
	b = append(b, sr.Quote(c.Quote).Trim(0).String()...)
	b = append(b, `","vol24h":"`...)
	b = sr.AppendQty(b, c.Volume, shortest)
	b = append(b, `","ts":"`...)
	b = strconv.AppendInt(b, now, 10)
	b = append(b, `","sodUtc0":"`...)
	b = sr.AppendPrice(b, sod(0), shortest)
	b = append(b, `","sodUtc8":"`...)
	b = sr.AppendPrice(b, sod(hkOffsetMs), shortest)
	b = append(b, `"}`...)
	return closeEnvelope(b), nil
}
