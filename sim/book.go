package sim

import (
	"math"

	"github.com/pype-go/pype/domain"
)

// BookStepMs is the order book's update interval: the book changes once
// per 100 ms step.
const BookStepMs = 100

// BookLevel is one book level in ticks and lots. Qty 0 in a diff removes
// the level.
type BookLevel struct {
	Price int64 // ticks
	Qty   int64 // lots
}

// BookState is the book during one step.
type BookState struct {
	Step     int64
	Time     int64 // Unix ms of the step start
	UpdateID int64 // last update id included
	Bids     []BookLevel
	Asks     []BookLevel
}

// BookDiff is the change of the book from step FromStep-1 to step Step
// (normally FromStep == Step). Applying it to a book whose update id is
// FirstID-1 gives the book at LastID. Bids are sorted best (highest)
// first, asks best (lowest) first.
type BookDiff struct {
	FromStep int64
	Step     int64
	Time     int64 // Unix ms of Step's start
	FirstID  int64 // U
	LastID   int64 // u
	Bids     []BookLevel
	Asks     []BookLevel
}

// BookStep returns the step containing ms.
func BookStep(ms int64) int64 { return domain.FloorDiv(ms, BookStepMs) }

// BookDepth returns the number of levels per side.
func (sr *Series) BookDepth() int { return sr.in.depth }

// UpdateID returns the last update id of step s. Ids are contiguous:
// the first id of step s is UpdateID(s-1)+1, and each step holds 1 to 7
// updates.
func (sr *Series) UpdateID(s int64) int64 {
	rel := s - sr.m.startMs/BookStepMs
	return sr.bookBase + 4*rel + int64(hash3(sr.key, s, 0x7570)%4)
}

// levelAt returns the one tick of block k (gap ticks wide) that can hold a
// level; levels are fixed in price, jittered within their block.
func (sr *Series) levelAt(k int64) int64 {
	g := sr.in.gap
	if g == 1 {
		return k
	}
	return k*g + int64(hash3(sr.key^0x6c766c, k, 0)%uint64(g))
}

// levelAtOrBelow returns the highest level tick ≤ p.
func (sr *Series) levelAtOrBelow(p int64) int64 {
	k := domain.FloorDiv(p, sr.in.gap)
	if l := sr.levelAt(k); l <= p {
		return l
	}
	return sr.levelAt(k - 1)
}

// levelAtOrAbove returns the lowest level tick ≥ p.
func (sr *Series) levelAtOrAbove(p int64) int64 {
	k := domain.FloorDiv(p, sr.in.gap)
	if l := sr.levelAt(k); l >= p {
		return l
	}
	return sr.levelAt(k + 1)
}

// top returns the best bid and ask of step s: the nearest levels around
// the last trade price.
func (sr *Series) top(s int64) (bid, ask int64) {
	last, sell := sr.LastPriceAt(s * BookStepMs)
	spread := int64(1)
	if unit(hash3(sr.key, s/37, 0x737072)) < 0.15 {
		spread = 2
	}
	if sell {
		bid, ask = last, last+spread
	} else {
		ask, bid = last, last-spread
	}
	if bid < 1 {
		bid, ask = 1, 1+spread
	}
	bid = sr.levelAtOrBelow(bid)
	if bid < 1 {
		bid = sr.levelAtOrAbove(1)
	}
	ask = sr.levelAtOrAbove(max(ask, bid+1))
	return bid, ask
}

// levelQty is the quantity of level p during step s.
func (sr *Series) levelQty(p, s int64) int64 {
	P := int64(sr.in.period)
	kb := domain.FloorDiv(p, sr.in.gap)
	phase := (((kb % P) + P) % P) * (bookMul % P) % P
	k := domain.FloorDiv(s+phase, P)
	h := hash3(sr.key^0x626f6f6b, p, k)
	u1 := unit(h)
	u2 := float64(uint32(h)) / (1 << 32)
	q := sr.in.meanLots * 2 * -math.Log(1-u1) * (0.5 + u2)
	if q < 1 {
		return 1
	}
	return int64(q)
}

// hitResidue returns r such that the levels of blocks k ≡ r (mod period)
// change quantity at step s.
func (sr *Series) hitResidue(s int64) int64 {
	P := int64(sr.in.period)
	return ((((-s) % P) + P) % P) * sr.in.periodInv % P
}

// Book returns the book of step s with at most depth levels per side
// (depth ≤ 0: all levels; a side holds about BookDepth levels).
func (sr *Series) Book(s int64, depth int) BookState {
	if depth <= 0 {
		depth = int(sr.in.window) + 1
	}
	st := BookState{Step: s, Time: s * BookStepMs, UpdateID: sr.UpdateID(s),
		Bids: make([]BookLevel, 0, min(depth, sr.in.depth+64)), Asks: make([]BookLevel, 0, min(depth, sr.in.depth+64))}
	bw, aw := sr.windows(s)
	g := sr.in.gap
	for k := domain.FloorDiv(bw.hi, g); len(st.Bids) < depth; k-- {
		p := sr.levelAt(k)
		if p > bw.hi {
			continue
		}
		if p < bw.lo {
			break
		}
		st.Bids = append(st.Bids, BookLevel{p, sr.levelQty(p, s)})
	}
	for k := domain.FloorDiv(aw.lo, g); len(st.Asks) < depth; k++ {
		p := sr.levelAt(k)
		if p < aw.lo {
			continue
		}
		if p > aw.hi {
			break
		}
		st.Asks = append(st.Asks, BookLevel{p, sr.levelQty(p, s)})
	}
	return st
}

// window is one side's contiguous price range [lo, hi].
type window struct{ lo, hi int64 }

func (w window) has(p int64) bool { return p >= w.lo && p <= w.hi }

// winEntry remembers the windows of one step: consecutive diffs share a
// step (the new side of one is the old side of the next).
type winEntry struct {
	s          int64
	bids, asks window
}

func (sr *Series) windows(s int64) (bids, asks window) {
	if e := sr.lastWin.Load(); e != nil && e.s == s {
		return e.bids, e.asks
	}
	bid, ask := sr.top(s)
	d := sr.in.window
	lo := bid - d + 1
	if lo < 1 {
		lo = 1
	}
	bids, asks = window{lo, bid}, window{ask, ask + d - 1}
	sr.lastWin.Store(&winEntry{s, bids, asks})
	return bids, asks
}

// Diff fills d with the change from step s-1 to step s, reusing d's
// slices.
func (sr *Series) Diff(s int64, d *BookDiff) {
	sr.DiffRange(s, s, d)
}

// DiffRange fills d with the change from step from-1 to step to (from ≤
// to), as one message covering update ids UpdateID(from-1)+1 …
// UpdateID(to).
func (sr *Series) DiffRange(from, to int64, d *BookDiff) {
	d.FromStep, d.Step, d.Time = from, to, to*BookStepMs
	d.FirstID, d.LastID = sr.UpdateID(from-1)+1, sr.UpdateID(to)
	d.Bids, d.Asks = d.Bids[:0], d.Asks[:0]
	ob, oa := sr.windows(from - 1)
	nb, na := sr.windows(to)
	prev := from - 1
	if from == to {
		r := sr.hitResidue(to)
		d.Bids = sr.sideDiff(d.Bids, ob, nb, prev, to, r, true)
		d.Asks = sr.sideDiff(d.Asks, oa, na, prev, to, r, false)
		return
	}
	d.Bids = sr.sideDiff(d.Bids, ob, nb, prev, to, -1, true)
	d.Asks = sr.sideDiff(d.Asks, oa, na, prev, to, -1, false)
}

// sideDiff appends one side's changes in book order (bids descending,
// asks ascending). With r ≥ 0 only levels ≡ r (mod period) can change in
// the overlap (single step); with r < 0 every overlapping level is
// compared. Ranges are walked level by level (one candidate tick per block
// of gap ticks), not tick by tick.
func (sr *Series) sideDiff(out []BookLevel, old, nw window, s0, s1, r int64, desc bool) []BookLevel {
	lo, hi := min(old.lo, nw.lo), max(old.hi, nw.hi)
	P := int64(sr.in.period)
	g := sr.in.gap
	emit := func(p int64) {
		inOld, inNew := old.has(p), nw.has(p)
		switch {
		case inOld && !inNew:
			out = append(out, BookLevel{p, 0})
		case inNew && !inOld:
			out = append(out, BookLevel{p, sr.levelQty(p, s1)})
		case inNew && inOld:
			if r >= 0 {
				if ((p%P)+P)%P == r {
					out = append(out, BookLevel{p, sr.levelQty(p, s1)})
				}
				return
			}
			if q := sr.levelQty(p, s1); q != sr.levelQty(p, s0) {
				out = append(out, BookLevel{p, q})
			}
		}
	}
	// levels calls emit for every level tick in [a, b], in book order.
	levels := func(a, b int64) {
		if a > b {
			return
		}
		if desc {
			for k := domain.FloorDiv(b, g); k*g+g-1 >= a; k-- {
				if p := sr.levelAt(k); p >= a && p <= b {
					emit(p)
				}
			}
			return
		}
		for k := domain.FloorDiv(a, g); k*g <= b; k++ {
			if p := sr.levelAt(k); p >= a && p <= b {
				emit(p)
			}
		}
	}
	// Overlap (if any) and the non-overlapping zones.
	olo, ohi := max(old.lo, nw.lo), min(old.hi, nw.hi)
	if olo > ohi || hi-lo > 4*sr.in.window {
		// Disjoint windows: emit both ranges wholesale.
		first, second := old, nw
		if (desc && nw.hi > old.hi) || (!desc && nw.lo < old.lo) {
			first, second = nw, old
		}
		levels(first.lo, first.hi)
		levels(second.lo, second.hi)
		return out
	}
	if desc {
		levels(ohi+1, hi)
		if r >= 0 {
			// Blocks k ≡ r, from the highest block touching the overlap down.
			kh := domain.FloorDiv(ohi, g)
			k := kh - ((((kh - r) % P) + P) % P)
			for ; k*g+g-1 >= olo; k -= P {
				if p := sr.levelAt(k); p >= olo && p <= ohi {
					out = append(out, BookLevel{p, sr.levelQty(p, s1)})
				}
			}
		} else {
			levels(olo, ohi)
		}
		levels(lo, olo-1)
		return out
	}
	levels(lo, olo-1)
	if r >= 0 {
		kl := domain.FloorDiv(olo, g)
		k := kl + ((((r - kl) % P) + P) % P)
		for ; k*g <= ohi; k += P {
			if p := sr.levelAt(k); p >= olo && p <= ohi {
				out = append(out, BookLevel{p, sr.levelQty(p, s1)})
			}
		}
	} else {
		levels(olo, ohi)
	}
	levels(ohi+1, hi)
	return out
}
