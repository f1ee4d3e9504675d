package okx

import (
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
)

// bar is one OKX candle size: its span and the time zone its bars are
// aligned to.
type bar struct {
	span domain.Span
	hk   bool // aligned to Hong Kong time (UTC+8): 6H 12H 1D 2D 3D 1W 1M 3M
}

// hkOffsetMs is Hong Kong's UTC offset (no daylight saving time).
const hkOffsetMs = 8 * 3600_000

// bars maps OKX bar names (case sensitive, as OKX reads them) to sizes.
var bars = map[string]bar{
	"1s": {domain.Span1s, false}, "1m": {domain.Span1m, false}, "3m": {domain.Span3m, false},
	"5m": {domain.Span5m, false}, "15m": {domain.Span15m, false}, "30m": {domain.Span30m, false},
	"1H": {domain.Span1h, false}, "2H": {domain.Span2h, false}, "4H": {domain.Span4h, false},
	"6H": {domain.Span6h, true}, "12H": {domain.Span12h, true}, "1D": {domain.Span1d, true},
	"2D": {2 * domain.Span1d, true}, "3D": {domain.Span3d, true}, "1W": {domain.Span1w, true},
	"1M": {domain.Span1M, true}, "3M": {domain.Months(3), true},
	"6Hutc": {domain.Span6h, false}, "12Hutc": {domain.Span12h, false}, "1Dutc": {domain.Span1d, false},
	"2Dutc": {2 * domain.Span1d, false}, "3Dutc": {domain.Span3d, false}, "1Wutc": {domain.Span1w, false},
	"1Mutc": {domain.Span1M, false}, "3Mutc": {domain.Months(3), false},
}

const msNs = int64(time.Millisecond)

// floor returns the open time (ms) of the bar containing ms.
func (b bar) floor(ms int64) int64 {
	if !b.hk {
		return b.span.Floor(ms*msNs) / msNs
	}
	return b.span.Floor((ms+hkOffsetMs)*msNs)/msNs - hkOffsetMs
}

// next returns the open time (ms) of the bar after the one opening at open.
func (b bar) next(open int64) int64 {
	if !b.hk {
		return b.span.Next(open*msNs) / msNs
	}
	return b.span.Next((open+hkOffsetMs)*msNs)/msNs - hkOffsetMs
}

// add moves a bar open time by n bars.
func (b bar) add(open, n int64) int64 {
	if !b.hk {
		return b.span.Add(open*msNs, n) / msNs
	}
	return b.span.Add((open+hkOffsetMs)*msNs, n)/msNs - hkOffsetMs
}

// newest returns up to limit non-empty bars with open times in [lo, hi]
// (ms, inclusive), built from trades up to cutoff, newest first. dst is
// reused.
func (b bar) newest(sr *sim.Series, lo, hi, cutoff int64, limit int, dst []sim.Candle) []sim.Candle {
	if hi > cutoff {
		hi = cutoff
	}
	if lo > hi || limit <= 0 {
		return dst[:0]
	}
	if !b.hk {
		cs := sr.AppendCandles(dst, b.span, lo, hi, cutoff, limit, true)
		for i, j := 0, len(cs)-1; i < j; i, j = i+1, j-1 {
			cs[i], cs[j] = cs[j], cs[i]
		}
		return cs
	}
	out := dst[:0]
	start := sr.Market().StartMs()
	for open := b.floor(hi); open >= lo && len(out) < limit; open = b.add(open, -1) {
		if b.next(open) <= start {
			break // before the history: nothing more
		}
		c := sr.Aggregate(open, b.next(open), cutoff)
		if c.Trades == 0 {
			continue
		}
		c.OpenTime = open
		out = append(out, c)
	}
	return out
}
