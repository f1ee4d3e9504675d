package orderbook

import (
	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
)

// blockSize is the capacity of one block of a ladder. A ladder is a
// two-level B+-tree: an ordered slice of blocks, each holding up to
// blockSize levels in rank order (best first). Search is a binary search
// over the blocks' last keys and then inside one block; an insert or delete
// moves at most blockSize levels, whatever the depth of the book, so the
// cost per update stays flat for books of thousands of levels.
const blockSize = 64

// maxKey bounds the absolute value of an integer price key, leaving room to
// negate it (bids rank by the negated key) without overflow.
const maxKey = 1 << 62

var pow10 = [...]uint64{
	1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
}

type block struct {
	keys []int64            // rank keys, ascending (best first); unused in slow mode
	lv   []domain.BookLevel // levels, same order as keys
}

func (b *block) last() int64 { return b.keys[len(b.keys)-1] }

// ladder is one side of a book. Prices are compared through integer keys
// (the price's coefficient rescaled to the largest scale seen on the side),
// which keeps comparisons to one integer compare; a price whose key would
// overflow switches the side to "slow" mode, where levels are compared as
// decimals, until the side is cleared. Amounts and prices are stored as the
// decimals they were given, so the venue's original scale is preserved.
type ladder struct {
	bid    bool // ranks by descending price
	scale  int  // key scale, -1 before the first price
	slow   bool
	n      int
	blocks []*block
	free   []*block
}

func newLadder(bid bool) ladder { return ladder{bid: bid, scale: -1} }

func (l *ladder) newBlock(capacity int) *block {
	if k := len(l.free); k > 0 {
		b := l.free[k-1]
		l.free[k-1] = nil
		l.free = l.free[:k-1]
		return b
	}
	return &block{keys: make([]int64, 0, capacity), lv: make([]domain.BookLevel, 0, capacity)}
}

func (l *ladder) recycle(b *block) {
	clear(b.lv)
	b.keys, b.lv = b.keys[:0], b.lv[:0]
	if len(l.free) < 8 && cap(b.keys) >= blockSize {
		l.free = append(l.free, b)
	}
}

func (l *ladder) clear() {
	for i, b := range l.blocks {
		l.recycle(b)
		l.blocks[i] = nil
	}
	l.blocks = l.blocks[:0]
	l.n = 0
	l.scale = -1
	l.slow = false
}

// key returns the rank key of p (ascending = better), switching the ladder
// to slow mode (ok == false) when p cannot be keyed exactly.
func (l *ladder) key(p decimal.Decimal) (int64, bool) {
	if l.slow {
		return 0, false
	}
	s := p.Scale()
	if l.scale < 0 {
		l.scale = s
	}
	if s > l.scale && !l.rescale(s) {
		l.slow = true
		return 0, false
	}
	coef := p.Coef()
	f := pow10[l.scale-s]
	if coef > maxKey/f {
		l.slow = true
		return 0, false
	}
	k := int64(coef * f)
	if p.IsNeg() {
		k = -k
	}
	if l.bid {
		k = -k
	}
	return k, true
}

// rescale multiplies every key so the key scale becomes s; it reports false
// (leaving keys untouched) when a key would overflow.
func (l *ladder) rescale(s int) bool {
	f := pow10[s-l.scale]
	lim := int64(maxKey / f)
	for _, b := range l.blocks {
		for _, k := range b.keys {
			if k > lim || k < -lim {
				return false
			}
		}
	}
	for _, b := range l.blocks {
		for i := range b.keys {
			b.keys[i] *= int64(f)
		}
	}
	l.scale = s
	return true
}

// rankCmp compares prices in rank order: negative when p ranks before q.
func (l *ladder) rankCmp(p, q decimal.Decimal) int {
	if l.bid {
		return q.Cmp(p)
	}
	return p.Cmp(q)
}

// find locates price p: the block index and position where p is or would
// be inserted, and whether it is present. k is p's key (ignored in slow
// mode).
func (l *ladder) find(p decimal.Decimal, k int64) (bi, pos int, found bool) {
	nb := len(l.blocks)
	if nb == 0 {
		return 0, 0, false
	}
	if !l.slow {
		lo, hi := 0, nb
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if l.blocks[m].last() < k {
				lo = m + 1
			} else {
				hi = m
			}
		}
		if lo == nb {
			b := l.blocks[nb-1]
			return nb - 1, len(b.keys), false
		}
		keys := l.blocks[lo].keys
		i, j := 0, len(keys)
		for i < j {
			m := int(uint(i+j) >> 1)
			if keys[m] < k {
				i = m + 1
			} else {
				j = m
			}
		}
		return lo, i, keys[i] == k
	}
	lo, hi := 0, nb
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		b := l.blocks[m]
		if l.rankCmp(b.lv[len(b.lv)-1].Price, p) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == nb {
		b := l.blocks[nb-1]
		return nb - 1, len(b.lv), false
	}
	lv := l.blocks[lo].lv
	i, j := 0, len(lv)
	for i < j {
		m := int(uint(i+j) >> 1)
		if l.rankCmp(lv[m].Price, p) < 0 {
			i = m + 1
		} else {
			j = m
		}
	}
	return lo, i, l.rankCmp(lv[i].Price, p) == 0
}

// set applies one level: amount zero removes the level. It returns the
// change in the number of levels (-1, 0 or +1).
func (l *ladder) set(price, amount decimal.Decimal) int {
	k, _ := l.key(price)
	bi, pos, found := l.find(price, k)
	if found {
		b := l.blocks[bi]
		if amount.IsZero() {
			l.remove(bi, pos)
			return -1
		}
		b.lv[pos] = domain.BookLevel{Price: price, Amount: amount}
		return 0
	}
	if amount.IsZero() {
		return 0
	}
	l.insert(bi, pos, k, domain.BookLevel{Price: price, Amount: amount})
	return 1
}

func (l *ladder) insert(bi, pos int, k int64, lv domain.BookLevel) {
	l.n++
	if len(l.blocks) == 0 {
		b := l.newBlock(8)
		b.keys = append(b.keys, k)
		b.lv = append(b.lv, lv)
		l.blocks = append(l.blocks, b)
		return
	}
	b := l.blocks[bi]
	if len(b.keys) < blockSize {
		insertAt(b, pos, k, lv)
		return
	}
	// The block is full. Appending past the worst level (a snapshot loaded
	// best first, a book growing at its tail) starts a fresh block so full
	// blocks stay full; otherwise split the block in half.
	nb := l.newBlock(blockSize)
	if bi == len(l.blocks)-1 && pos == len(b.keys) {
		nb.keys = append(nb.keys, k)
		nb.lv = append(nb.lv, lv)
		l.blocks = append(l.blocks, nb)
		return
	}
	half := blockSize / 2
	nb.keys = append(nb.keys, b.keys[half:]...)
	nb.lv = append(nb.lv, b.lv[half:]...)
	clear(b.lv[half:])
	b.keys, b.lv = b.keys[:half], b.lv[:half]
	l.blocks = append(l.blocks, nil)
	copy(l.blocks[bi+2:], l.blocks[bi+1:])
	l.blocks[bi+1] = nb
	if pos <= half {
		insertAt(b, pos, k, lv)
	} else {
		insertAt(nb, pos-half, k, lv)
	}
}

func insertAt(b *block, pos int, k int64, lv domain.BookLevel) {
	b.keys = append(b.keys, 0)
	copy(b.keys[pos+1:], b.keys[pos:])
	b.keys[pos] = k
	b.lv = append(b.lv, domain.BookLevel{})
	copy(b.lv[pos+1:], b.lv[pos:])
	b.lv[pos] = lv
}

func (l *ladder) remove(bi, pos int) {
	l.n--
	b := l.blocks[bi]
	b.keys = append(b.keys[:pos], b.keys[pos+1:]...)
	copy(b.lv[pos:], b.lv[pos+1:])
	b.lv[len(b.lv)-1] = domain.BookLevel{}
	b.lv = b.lv[:len(b.lv)-1]
	switch {
	case len(b.keys) == 0:
		l.dropBlock(bi)
	case len(b.keys) < blockSize/4:
		// Merge an underfull block into a neighbour so blocks stay dense.
		if bi+1 < len(l.blocks) && len(b.keys)+len(l.blocks[bi+1].keys) <= blockSize*3/4 {
			l.merge(bi)
		} else if bi > 0 && len(b.keys)+len(l.blocks[bi-1].keys) <= blockSize*3/4 {
			l.merge(bi - 1)
		}
	}
}

// merge appends block i+1 to block i and drops block i+1.
func (l *ladder) merge(i int) {
	a, b := l.blocks[i], l.blocks[i+1]
	a.keys = append(a.keys, b.keys...)
	a.lv = append(a.lv, b.lv...)
	l.dropBlock(i + 1)
}

func (l *ladder) dropBlock(i int) {
	l.recycle(l.blocks[i])
	copy(l.blocks[i:], l.blocks[i+1:])
	l.blocks[len(l.blocks)-1] = nil
	l.blocks = l.blocks[:len(l.blocks)-1]
}

// truncate removes the worst levels until at most depth remain.
func (l *ladder) truncate(depth int) {
	for l.n > depth {
		bi := len(l.blocks) - 1
		l.remove(bi, len(l.blocks[bi].keys)-1)
	}
}

func (l *ladder) best() (domain.BookLevel, bool) {
	if l.n == 0 {
		return domain.BookLevel{}, false
	}
	return l.blocks[0].lv[0], true
}

func (l *ladder) worst() (domain.BookLevel, bool) {
	if l.n == 0 {
		return domain.BookLevel{}, false
	}
	b := l.blocks[len(l.blocks)-1]
	return b.lv[len(b.lv)-1], true
}

// at returns the level of rank i (0 = best).
func (l *ladder) at(i int) (domain.BookLevel, bool) {
	if i < 0 || i >= l.n {
		return domain.BookLevel{}, false
	}
	for _, b := range l.blocks {
		if i < len(b.lv) {
			return b.lv[i], true
		}
		i -= len(b.lv)
	}
	return domain.BookLevel{}, false
}

// get returns the level at price p.
func (l *ladder) get(p decimal.Decimal) (domain.BookLevel, bool) {
	if l.n == 0 {
		return domain.BookLevel{}, false
	}
	var k int64
	if !l.slow {
		// Compute the key without changing the ladder: a price with a larger
		// scale than the ladder's, or one that overflows, is matched exactly
		// only if its trailing digits allow it.
		s := p.Scale()
		if s > l.scale {
			q := p.Trim(l.scale)
			if q.Scale() > l.scale {
				return domain.BookLevel{}, false
			}
			p = q
			s = p.Scale()
		}
		f := pow10[l.scale-s]
		coef := p.Coef()
		if coef > maxKey/f {
			return domain.BookLevel{}, false
		}
		k = int64(coef * f)
		if p.IsNeg() {
			k = -k
		}
		if l.bid {
			k = -k
		}
	}
	bi, pos, found := l.find(p, k)
	if !found {
		return domain.BookLevel{}, false
	}
	return l.blocks[bi].lv[pos], true
}

// each calls fn for levels best first until fn returns false.
func (l *ladder) each(fn func(i int, lv domain.BookLevel) bool) {
	i := 0
	for _, b := range l.blocks {
		for _, lv := range b.lv {
			if !fn(i, lv) {
				return
			}
			i++
		}
	}
}

// appendTo appends up to n levels (n < 0: all) best first.
func (l *ladder) appendTo(dst []domain.BookLevel, n int) []domain.BookLevel {
	if n < 0 || n > l.n {
		n = l.n
	}
	for _, b := range l.blocks {
		if n <= 0 {
			break
		}
		m := min(n, len(b.lv))
		dst = append(dst, b.lv[:m]...)
		n -= m
	}
	return dst
}

// clone returns a deep copy with dense blocks.
func (l *ladder) clone() ladder {
	c := ladder{bid: l.bid, scale: l.scale, slow: l.slow, n: l.n}
	c.blocks = make([]*block, 0, len(l.blocks))
	for _, b := range l.blocks {
		nb := &block{keys: make([]int64, len(b.keys), max(len(b.keys), blockSize)), lv: make([]domain.BookLevel, len(b.lv), max(len(b.lv), blockSize))}
		copy(nb.keys, b.keys)
		copy(nb.lv, b.lv)
		c.blocks = append(c.blocks, nb)
	}
	return c
}

// ladderIter walks a ladder best first without a callback.
type ladderIter struct {
	l     *ladder
	bi, i int
}

func (l *ladder) iter() ladderIter { return ladderIter{l: l} }

func (it *ladderIter) next() (domain.BookLevel, bool) {
	for it.bi < len(it.l.blocks) {
		b := it.l.blocks[it.bi]
		if it.i < len(b.lv) {
			x := b.lv[it.i]
			it.i++
			return x, true
		}
		it.bi++
		it.i = 0
	}
	return domain.BookLevel{}, false
}
