package sim

import (
	"iter"
	"sort"

	"github.com/pype-go/pype/domain"
)

// pos is a position in the generated stream: agg i of hour hd.
type pos struct {
	hd *hourData
	i  int
}

// aggsFrom walks forward from agg index i of hour h, yielding aggs with
// time ≤ cutoffMs.
func (sr *Series) aggsFrom(h int64, i int, cutoffMs int64) iter.Seq[pos] {
	return func(yield func(pos) bool) {
		if h < sr.startHour {
			h, i = sr.startHour, 0
		}
		for ; h*msPerHour <= cutoffMs; h, i = h+1, 0 {
			x, ok := sr.header(h)
			if !ok {
				return
			}
			if x.nAgg == 0 || int64(i) >= x.nAgg {
				continue
			}
			hd := sr.hour(h)
			for ; i < len(hd.aggs); i++ {
				if hd.aggs[i].t > cutoffMs {
					return
				}
				if !yield(pos{hd, i}) {
					return
				}
			}
		}
	}
}

// aggsForwardRaw yields aggs with fromMs ≤ time ≤ cutoffMs, oldest first.
func (sr *Series) aggsForwardRaw(fromMs, cutoffMs int64) iter.Seq[pos] {
	h := domain.FloorDiv(fromMs, msPerHour)
	i := 0
	if h >= sr.startHour {
		if x, ok := sr.header(h); ok && x.nAgg > 0 {
			i = sr.hour(h).firstAtOrAfter(fromMs)
		}
	}
	return sr.aggsFrom(h, i, cutoffMs)
}

// aggsBackwardRaw yields aggs with time ≤ min(toMs, cutoffMs), newest first.
func (sr *Series) aggsBackwardRaw(toMs, cutoffMs int64) iter.Seq[pos] {
	if toMs > cutoffMs {
		toMs = cutoffMs
	}
	return func(yield func(pos) bool) {
		h := domain.FloorDiv(toMs, msPerHour)
		if max := sr.startHour + maxBlocks*hoursPerBlk - 1; h > max {
			h = max
		}
		first := true
		for ; h >= sr.startHour; h-- {
			x, ok := sr.header(h)
			if !ok || x.nAgg == 0 {
				first = false
				continue
			}
			hd := sr.hour(h)
			i := len(hd.aggs) - 1
			if first {
				i = hd.firstAtOrAfter(toMs+1) - 1
				first = false
			}
			for ; i >= 0; i-- {
				if !yield(pos{hd, i}) {
					return
				}
			}
		}
	}
}

// locateAgg finds the hour and index of agg id (clamped to the first).
func (sr *Series) locateAgg(id, cutoffMs int64) (int64, int) {
	if id <= sr.aggBase {
		return sr.startHour, 0
	}
	rel := id - sr.aggBase
	b := sr.findBlock(rel, sr.blockLimit(cutoffMs), func(bl *block) int64 { return bl.prefixAgg })
	bl := sr.blockAt(b)
	acc := bl.prefixAgg
	for j := 0; j < hoursPerBlk; j++ {
		n := int64(bl.nAgg[j])
		if rel < acc+n {
			return sr.startHour + b*hoursPerBlk + int64(j), int(rel - acc)
		}
		acc += n
	}
	return sr.startHour + (b+1)*hoursPerBlk, 0
}

// blockLimit returns the index of the block after the one holding
// cutoffMs, bounded by the horizon: id lookups never grow blocks further.
func (sr *Series) blockLimit(cutoffMs int64) int64 {
	b := (domain.FloorDiv(cutoffMs, msPerHour)-sr.startHour)/hoursPerBlk + 1
	return max(0, min(b, maxBlocks-1))
}

// findBlock returns the last block (≤ limit) whose prefix (by f) is ≤ rel,
// growing blocks as needed.
func (sr *Series) findBlock(rel, limit int64, f func(*block) int64) int64 {
	sr.blockAt(limit)
	bs := *sr.blocks.Load()
	n := min(int64(len(bs)), limit+1)
	i := sort.Search(int(n), func(i int) bool { return f(bs[i]) > rel })
	return int64(i - 1)
}

// locateTrade finds the hour, agg index and fill index of trade id.
func (sr *Series) locateTrade(id, cutoffMs int64) (int64, int, int) {
	if id <= sr.tradeBase {
		return sr.startHour, 0, 0
	}
	rel := id - sr.tradeBase
	b := sr.findBlock(rel, sr.blockLimit(cutoffMs), func(bl *block) int64 { return bl.prefixTrades })
	bl := sr.blockAt(b)
	acc := bl.prefixTrades
	for j := 0; j < hoursPerBlk; j++ {
		n := int64(bl.nAgg[j]) + int64(bl.nExtra[j])
		if rel < acc+n {
			h := sr.startHour + b*hoursPerBlk + int64(j)
			hd := sr.hour(h)
			off := int32(rel - acc)
			i := sort.Search(len(hd.aggs), func(i int) bool { return hd.aggs[i].tOff > off }) - 1
			return h, i, int(off - hd.aggs[i].tOff)
		}
		acc += n
	}
	return sr.startHour + (b+1)*hoursPerBlk, 0, 0
}

// AggTradesFrom yields aggregate trades with fromMs ≤ time ≤ cutoffMs,
// oldest first.
func (sr *Series) AggTradesFrom(fromMs, cutoffMs int64) iter.Seq[AggTrade] {
	return aggSeq(sr.aggsForwardRaw(fromMs, cutoffMs))
}

// AggTradesFromID yields aggregate trades with id ≥ id and time ≤
// cutoffMs, oldest first.
func (sr *Series) AggTradesFromID(id, cutoffMs int64) iter.Seq[AggTrade] {
	h, i := sr.locateAgg(id, cutoffMs)
	return aggSeq(sr.aggsFrom(h, i, cutoffMs))
}

// AggTradesBackward yields aggregate trades with time ≤ min(toMs,
// cutoffMs), newest first.
func (sr *Series) AggTradesBackward(toMs, cutoffMs int64) iter.Seq[AggTrade] {
	return aggSeq(sr.aggsBackwardRaw(toMs, cutoffMs))
}

func aggSeq(src iter.Seq[pos]) iter.Seq[AggTrade] {
	return func(yield func(AggTrade) bool) {
		for p := range src {
			if !yield(p.hd.agg(p.i)) {
				return
			}
		}
	}
}

// TradesFrom yields trades with fromMs ≤ time ≤ cutoffMs, oldest first.
func (sr *Series) TradesFrom(fromMs, cutoffMs int64) iter.Seq[Trade] {
	return tradeSeq(sr.aggsForwardRaw(fromMs, cutoffMs), 0)
}

// TradesFromID yields trades with id ≥ id and time ≤ cutoffMs, oldest
// first.
func (sr *Series) TradesFromID(id, cutoffMs int64) iter.Seq[Trade] {
	h, i, j := sr.locateTrade(id, cutoffMs)
	return tradeSeq(sr.aggsFrom(h, i, cutoffMs), j)
}

func tradeSeq(src iter.Seq[pos], skip int) iter.Seq[Trade] {
	return func(yield func(Trade) bool) {
		for p := range src {
			n := int(p.hd.aggs[p.i].fills)
			for j := skip; j < n; j++ {
				if !yield(p.hd.fill(p.i, j)) {
					return
				}
			}
			skip = 0
		}
	}
}

// TradesBackward yields trades with time ≤ min(toMs, cutoffMs), newest
// first.
func (sr *Series) TradesBackward(toMs, cutoffMs int64) iter.Seq[Trade] {
	return func(yield func(Trade) bool) {
		for p := range sr.aggsBackwardRaw(toMs, cutoffMs) {
			for j := int(p.hd.aggs[p.i].fills) - 1; j >= 0; j-- {
				if !yield(p.hd.fill(p.i, j)) {
					return
				}
			}
		}
	}
}

// LastPriceAt returns the price (ticks) of the last aggregate trade at or
// before ms and whether that trade was a taker sell. Before the first
// trade of an hour it returns the hour's opening anchor.
func (sr *Series) LastPriceAt(ms int64) (ticks int64, sell bool) {
	h := domain.FloorDiv(ms, msPerHour)
	x, ok := sr.header(h)
	if !ok {
		if h < sr.startHour {
			return sr.in.startTicks, false
		}
		return sr.in.startTicks, false
	}
	if x.nAgg > 0 {
		hd := sr.hour(h)
		if i := hd.firstAtOrAfter(ms+1) - 1; i >= 0 {
			return hd.aggs[i].price, hd.aggs[i].sell
		}
	}
	return x.startTicks, false
}
