package sim

import (
	"github.com/pype-go/pype/domain"
)

// Candle is an OHLC bar aggregated from a series' trades, in ticks and
// lots. Quote sums are Σ ticks × lots (see [Series.AppendQuote]). A candle
// with Trades == 0 is empty (no trade in the bar).
type Candle struct {
	OpenTime       int64 // Unix ms
	Open           int64
	High           int64
	Low            int64
	Close          int64
	Volume         int64 // lots
	TakerBuyVolume int64 // lots bought by takers
	Quote          U128
	TakerBuyQuote  U128
	Trades         int64 // number of trades (fills)
	AggTrades      int64 // number of aggregate trades
	FirstTradeID   int64
	LastTradeID    int64
	FirstAggID     int64
	LastAggID      int64
	LastTime       int64 // Unix ms of the last trade
}

// add accumulates agg i of hd.
func (c *Candle) add(hd *hourData, i int) {
	a := &hd.aggs[i]
	first := hd.firstTrade + int64(a.tOff)
	id := hd.firstAgg + int64(i)
	if c.Trades == 0 {
		c.Open, c.High, c.Low = a.price, a.price, a.price
		c.FirstTradeID, c.FirstAggID = first, id
	} else {
		if a.price > c.High {
			c.High = a.price
		}
		if a.price < c.Low {
			c.Low = a.price
		}
	}
	c.Close = a.price
	c.Volume += a.qty
	c.Quote.AddMul(uint64(a.price), uint64(a.qty))
	if !a.sell {
		c.TakerBuyVolume += a.qty
		c.TakerBuyQuote.AddMul(uint64(a.price), uint64(a.qty))
	}
	c.Trades += int64(a.fills)
	c.AggTrades++
	c.LastTradeID = first + int64(a.fills) - 1
	c.LastAggID = id
	c.LastTime = a.t
}

// Merge appends the later candle o into c (keeping c's open time).
func (c *Candle) Merge(o Candle) { c.mergeFrom(&o) }

func (c *Candle) mergeFrom(o *Candle) {
	if o.Trades == 0 {
		return
	}
	if c.Trades == 0 {
		ot := c.OpenTime
		*c = *o
		c.OpenTime = ot
		return
	}
	if o.High > c.High {
		c.High = o.High
	}
	if o.Low < c.Low {
		c.Low = o.Low
	}
	c.Close = o.Close
	c.Volume += o.Volume
	c.TakerBuyVolume += o.TakerBuyVolume
	c.Quote.Add(o.Quote)
	c.TakerBuyQuote.Add(o.TakerBuyQuote)
	c.Trades += o.Trades
	c.AggTrades += o.AggTrades
	c.LastTradeID = o.LastTradeID
	c.LastAggID = o.LastAggID
	c.LastTime = o.LastTime
}

// Aggregate returns the candle of all trades with fromMs ≤ time < toMs and
// time ≤ cutoffMs. It uses cached per-hour and per-minute aggregates for
// whole hours and minutes and scans trades only at the edges.
func (sr *Series) Aggregate(fromMs, toMs, cutoffMs int64) Candle {
	c := Candle{OpenTime: fromMs}
	if toMs > cutoffMs+1 {
		toMs = cutoffMs + 1
	}
	if fromMs < sr.m.startMs {
		fromMs = sr.m.startMs
	}
	cur := fromMs
	for cur < toMs {
		h := domain.FloorDiv(cur, msPerHour)
		hs := h * msPerHour
		he := hs + msPerHour
		x, ok := sr.header(h)
		if !ok {
			if h < sr.startHour {
				cur = sr.m.startMs
				continue
			}
			break
		}
		if x.nAgg == 0 {
			cur = he
			continue
		}
		if cur == hs && he <= toMs {
			c.mergeFrom(&sr.hourAggsOf(h).hour)
			cur = he
			continue
		}
		ms := domain.FloorDiv(cur, msPerMinute) * msPerMinute
		if cur == ms && ms+msPerMinute <= toMs {
			ha := sr.hourAggsOf(h)
			for cur+msPerMinute <= toMs && cur < he {
				c.mergeFrom(&ha.minutes[(cur-hs)/msPerMinute])
				cur += msPerMinute
			}
			continue
		}
		// Partial minute: scan trades of [cur, min(next minute, toMs)).
		end := ms + msPerMinute
		if end > toMs {
			end = toMs
		}
		hd := sr.hour(h)
		for i := hd.firstAtOrAfter(cur); i < len(hd.aggs) && hd.aggs[i].t < end; i++ {
			c.add(hd, i)
		}
		cur = end
	}
	c.OpenTime = 0
	return c
}

// barBuilder builds bars of one span, reusing the last hour's aggregates.
type barBuilder struct {
	sr    *Series
	span  domain.Span
	mins  int64 // span in minutes when it divides an hour, else 0
	hours int64 // span in hours when whole hours (fixed spans), else 0
	h     int64
	ha    *hourAggs
	valid bool
}

func newBarBuilder(sr *Series, span domain.Span) *barBuilder {
	b := &barBuilder{sr: sr, span: span}
	if span > 0 {
		ms := int64(span) / msNs
		switch {
		case ms%msPerHour == 0:
			b.hours = ms / msPerHour
		case ms%msPerMinute == 0 && msPerHour%ms == 0:
			b.mins = ms / msPerMinute
		}
	} else if span.IsMonthly() {
		b.hours = -1
	}
	return b
}

func (b *barBuilder) hourAggs(h int64) *hourAggs {
	if !b.valid || h != b.h {
		b.h, b.valid = h, true
		b.ha = b.sr.hourAggsOf(h)
	}
	return b.ha
}

// bar returns the candle of the bar [o, next) cut at cutoffMs.
func (b *barBuilder) bar(o, next, cutoffMs int64) Candle {
	if next-1 > cutoffMs || o < b.sr.m.startMs || (b.mins == 0 && b.hours == 0) {
		return b.sr.Aggregate(o, next, cutoffMs)
	}
	var c Candle
	if b.hours != 0 {
		for h := o / msPerHour; h < next/msPerHour; h++ {
			if ha := b.hourAggs(h); ha != nil {
				c.mergeFrom(&ha.hour)
			}
		}
		return c
	}
	h := o / msPerHour
	ha := b.hourAggs(h)
	if ha == nil {
		return c
	}
	hs := h * msPerHour
	for m := (o - hs) / msPerMinute; m < (next-hs)/msPerMinute; m++ {
		c.mergeFrom(&ha.minutes[m])
	}
	return c
}

// Candles returns the non-empty bars of span whose open time lies in
// [fromMs, toMs] (both inclusive, as Binance's startTime/endTime), built
// from trades with time ≤ cutoffMs, oldest first, at most limit of them.
// With latest set it returns the last limit such bars instead of the first.
// Bars are aligned as [domain.Span.Floor] aligns them (weeks on Monday,
// months on the 1st); a bar still open at cutoffMs holds the trades so far.
func (sr *Series) Candles(span domain.Span, fromMs, toMs, cutoffMs int64, limit int, latest bool) []Candle {
	return sr.AppendCandles(make([]Candle, 0, min(max(limit, 0), 1024)), span, fromMs, toMs, cutoffMs, limit, latest)
}

// AppendCandles is [Series.Candles] appending to dst[:0] (to reuse a slice).
func (sr *Series) AppendCandles(dst []Candle, span domain.Span, fromMs, toMs, cutoffMs int64, limit int, latest bool) []Candle {
	if limit <= 0 || !span.Valid() {
		return dst[:0]
	}
	if toMs > cutoffMs {
		toMs = cutoffMs
	}
	out := dst[:0]
	if !span.IsMonthly() && int64(span)%int64(msNs) != 0 {
		return out
	}
	if !latest && fromMs > toMs {
		return out // also keeps far-future fromMs from overflowing in ns
	}
	if span == domain.Span1s {
		return sr.secondCandles(fromMs, toMs, cutoffMs, limit, latest, out)
	}
	nsOf := func(ms int64) int64 { return ms * msNs }
	msOf := func(ns int64) int64 { return ns / msNs }
	startBar := msOf(span.Floor(nsOf(sr.m.startMs)))
	bb := newBarBuilder(sr, span)
	if latest {
		if toMs < fromMs {
			return out
		}
		o := msOf(span.Floor(nsOf(toMs)))
		for o >= fromMs && o >= startBar && len(out) < limit {
			next := msOf(span.Next(nsOf(o)))
			c := bb.bar(o, next, cutoffMs)
			if c.Trades > 0 {
				c.OpenTime = o
				out = append(out, c)
			}
			o = msOf(span.Add(nsOf(o), -1))
		}
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
		return out
	}
	o := msOf(span.Ceil(nsOf(fromMs)))
	if o < startBar {
		o = startBar
		if o < fromMs {
			o = msOf(span.Next(nsOf(o)))
		}
	}
	for o <= toMs && len(out) < limit {
		next := msOf(span.Next(nsOf(o)))
		c := bb.bar(o, next, cutoffMs)
		if c.Trades > 0 {
			c.OpenTime = o
			out = append(out, c)
		}
		o = next
	}
	return out
}

const msNs = int64(1_000_000)

// secondCandles builds 1 s bars by scanning trades.
func (sr *Series) secondCandles(fromMs, toMs, cutoffMs int64, limit int, latest bool, out []Candle) []Candle {
	if latest {
		var cur Candle
		curSec := int64(-1)
		// The bar holding toMs is whole (up to cutoffMs): scan from the end
		// of its second.
		for a := range sr.aggsBackwardRaw(domain.FloorDiv(toMs, 1000)*1000+999, cutoffMs) {
			if a.hd.aggs[a.i].t < fromMs {
				break
			}
			sec := domain.FloorDiv(a.hd.aggs[a.i].t, 1000) * 1000
			if sec != curSec {
				if curSec >= 0 {
					out = append(out, cur)
					if len(out) == limit {
						break
					}
				}
				cur, curSec = Candle{}, sec
			}
			// Walking backward: build a one-agg candle and merge the
			// accumulated later part after it.
			var one Candle
			one.add(a.hd, a.i)
			one.Merge(cur)
			one.OpenTime = sec
			cur = one
		}
		if curSec >= 0 && len(out) < limit {
			out = append(out, cur)
		}
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
		return out
	}
	from := domain.FloorDiv(fromMs+999, 1000) * 1000 // first open ≥ fromMs
	var cur Candle
	curSec := int64(-1)
	for a := range sr.aggsForwardRaw(from, cutoffMs) {
		t := a.hd.aggs[a.i].t
		if t > toMs+999 {
			break
		}
		sec := domain.FloorDiv(t, 1000) * 1000
		if sec > toMs {
			break
		}
		if sec != curSec {
			if curSec >= 0 {
				out = append(out, cur)
				if len(out) == limit {
					return out
				}
			}
			cur, curSec = Candle{OpenTime: sec}, sec
		}
		cur.add(a.hd, a.i)
	}
	if curSec >= 0 && len(out) < limit {
		out = append(out, cur)
	}
	return out
}
