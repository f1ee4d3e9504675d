package binance

import (
	"container/list"
	"sort"
	"sync"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
)

// chunkBars is how many consecutive bar slots one cached chunk of kline
// rows covers.
const chunkBars = 256

// rowKey names one chunk: bar slots [chunk×256, chunk×256+256) of span,
// counted from the span's alignment origin.
type rowKey struct {
	sr    *sim.Series
	span  domain.Span
	chunk int64
}

// rowChunk holds the formatted rows of the non-empty bars of one chunk,
// each row followed by a comma: row i is rows[offs[i]:offs[i+1]-1].
type rowChunk struct {
	opens []int64
	offs  []int32
	rows  []byte
}

func (c *rowChunk) size() int { return len(c.rows) + 8*len(c.opens) + 4*len(c.offs) + 128 }

// rowEntry is a cache slot; once builds it.
type rowEntry struct {
	key  rowKey
	once sync.Once
	c    *rowChunk     // set once by the builder
	el   *list.Element // guarded by rowCache.mu; nil once evicted
	size int           // guarded by rowCache.mu; counted in rowCache.bytes
}

// rowCache keeps formatted kline rows of chunks whose bars are all closed
// (they never change), least recently used first out, bounded in bytes.
// A backfill that pages through klines again, or several clients paging
// the same history, then copies rows instead of building and formatting
// bars.
type rowCache struct {
	mu    sync.Mutex
	max   int
	bytes int
	m     map[rowKey]*rowEntry
	lru   list.List // front: most recent; values *rowEntry
}

func newRowCache(maxBytes int) *rowCache {
	return &rowCache{max: maxBytes, m: map[rowKey]*rowEntry{}}
}

// get returns the chunk of k, building it with build on a miss.
func (rc *rowCache) get(k rowKey, build func() *rowChunk) *rowChunk {
	rc.mu.Lock()
	e := rc.m[k]
	if e == nil {
		e = &rowEntry{key: k}
		e.el = rc.lru.PushFront(e)
		rc.m[k] = e
	} else if e.el != nil {
		rc.lru.MoveToFront(e.el)
	}
	rc.mu.Unlock()
	built := false
	e.once.Do(func() { e.c, built = build(), true })
	if built {
		rc.mu.Lock()
		if e.el != nil { // not evicted meanwhile
			e.size = e.c.size()
			rc.bytes += e.size
			for rc.bytes > rc.max && rc.lru.Len() > 1 {
				old := rc.lru.Back().Value.(*rowEntry)
				if old == e {
					break
				}
				rc.evict(old)
			}
		}
		rc.mu.Unlock()
	}
	return e.c
}

func (rc *rowCache) evict(e *rowEntry) {
	rc.lru.Remove(e.el)
	e.el = nil
	delete(rc.m, e.key)
	rc.bytes -= e.size
	e.size = 0
}

// klineSpan is a span's geometry in milliseconds for chunked serving; ok
// is false for monthly spans (served directly).
type klineSpan struct {
	span   domain.Span
	ms     int64 // bar length
	origin int64 // an open time all bar opens are aligned to
	ok     bool
}

func newKlineSpan(span domain.Span) klineSpan {
	if span <= 0 || int64(span)%msNs != 0 {
		return klineSpan{span: span}
	}
	return klineSpan{span: span, ms: int64(span) / msNs, origin: span.Floor(0) / msNs, ok: true}
}

const msNs = 1_000_000

func (ks klineSpan) chunkOf(ms int64) int64 {
	return domain.FloorDiv(ms-ks.origin, chunkBars*ks.ms)
}

func (ks klineSpan) chunkStart(c int64) int64 { return ks.origin + c*chunkBars*ks.ms }

// appendKlineRow appends one /klines row followed by a comma. Equal
// prices (open/high/low/close) and taker amounts equal to the totals or
// zero are copied instead of formatted again.
func appendKlineRow(b []byte, sr *sim.Series, span domain.Span, c *sim.Candle) []byte {
	b = append(b, '[')
	b = sim.AppendInt(b, c.OpenTime)
	b = append(b, `,"`...)
	var px [4]struct {
		v          int64
		start, end int
	}
	for i, v := range [4]int64{c.Open, c.High, c.Low, c.Close} {
		if i > 0 {
			b = append(b, `","`...)
		}
		start := len(b)
		j := 0
		for j < i && px[j].v != v {
			j++
		}
		if j < i {
			b = append(b, b[px[j].start:px[j].end]...)
		} else {
			b = sr.AppendPrice(b, v, dec)
		}
		px[i].v, px[i].start, px[i].end = v, start, len(b)
	}
	b = append(b, `","`...)
	vs := len(b)
	b = sr.AppendQty(b, c.Volume, dec)
	ve := len(b)
	b = append(b, `",`...)
	b = sim.AppendInt(b, closeTime(span, c.OpenTime))
	b = append(b, `,"`...)
	qs := len(b)
	b = sr.AppendQuote(b, c.Quote, dec)
	qe := len(b)
	b = append(b, `",`...)
	b = sim.AppendInt(b, c.Trades)
	b = append(b, `,"`...)
	switch {
	case c.TakerBuyVolume == c.Volume && c.TakerBuyQuote == c.Quote:
		b = append(b, b[vs:ve]...)
		b = append(b, `","`...)
		b = append(b, b[qs:qe]...)
	case c.TakerBuyVolume == 0 && c.TakerBuyQuote.IsZero():
		b = append(b, `0.00000000","0.00000000`...) // zero at dec = 8 decimals
	default:
		b = sr.AppendQty(b, c.TakerBuyVolume, dec)
		b = append(b, `","`...)
		b = sr.AppendQuote(b, c.TakerBuyQuote, dec)
	}
	return append(b, `","0"],`...)
}

// buildChunk formats the non-empty bars of chunk c (all closed).
func (a *api) buildChunk(sr *sim.Series, ks klineSpan, c int64) *rowChunk {
	from := ks.chunkStart(c)
	to := from + chunkBars*ks.ms - 1
	cp := a.candles.Get().(*[]sim.Candle)
	defer a.candles.Put(cp)
	cs := sr.AppendCandles(*cp, ks.span, from, to, to, chunkBars, false)
	*cp = cs
	ch := &rowChunk{opens: make([]int64, len(cs)), offs: make([]int32, len(cs)+1)}
	var rows []byte
	if len(cs) > 0 {
		rows = make([]byte, 0, len(cs)*176)
	}
	for i := range cs {
		ch.opens[i] = cs[i].OpenTime
		rows = appendKlineRow(rows, sr, ks.span, &cs[i])
		ch.offs[i+1] = int32(len(rows))
	}
	ch.rows = rows
	return ch
}

// chunk returns chunk c of (sr, span) from the row cache.
func (a *api) chunk(sr *sim.Series, ks klineSpan, c int64) *rowChunk {
	return a.rows.get(rowKey{sr, ks.span, c}, func() *rowChunk { return a.buildChunk(sr, ks, c) })
}

// appendKlines appends the rows of /klines (each followed by a comma):
// with hasStart the first limit non-empty bars with start ≤ open ≤ end,
// else the last limit with open ≤ end, all built from trades ≤ now. Chunks
// of bars that are all closed come from the row cache; the rest is built
// and formatted directly. It returns the number of rows.
func (a *api) appendKlines(b []byte, sr *sim.Series, span domain.Span, start, end, now int64, limit int, hasStart bool) ([]byte, int) {
	ks := newKlineSpan(span)
	toMs := min(end, now)
	if !ks.ok || a.rows == nil {
		return a.appendDirect(b, sr, span, start, toMs, now, limit, !hasStart)
	}
	startBar := span.Floor(sr.Market().StartMs()*msNs) / msNs
	n := 0
	if hasStart {
		if start > toMs {
			return b, 0 // (and no ns overflow for far-future starts)
		}
		o := max(span.Ceil(start*msNs)/msNs, startBar)
		for n < limit && o <= toMs {
			c := ks.chunkOf(o)
			ce := ks.chunkStart(c + 1)
			if ce-1 > now {
				var k int
				b, k = a.appendDirect(b, sr, span, o, toMs, now, limit-n, false)
				return b, n + k
			}
			ch := a.chunk(sr, ks, c)
			i := sort.Search(len(ch.opens), func(i int) bool { return ch.opens[i] >= o })
			j := i
			for j < len(ch.opens) && ch.opens[j] <= toMs && n < limit {
				j++
				n++
			}
			b = append(b, ch.rows[ch.offs[i]:ch.offs[j]]...)
			o = ce
		}
		return b, n
	}
	// Latest bars: collect segments walking back, then emit oldest first.
	if toMs < 0 {
		return b, 0
	}
	lo := max(0, startBar)
	type seg struct {
		ch   *rowChunk
		i, j int
	}
	var segs [8]seg
	back := segs[:0]
	var tail []byte // directly formatted rows of a chunk still open
	var tailBuf *[]byte
	c := ks.chunkOf(span.Floor(toMs*msNs) / msNs)
	for n < limit && ks.chunkStart(c+1) > lo {
		cs, ce := ks.chunkStart(c), ks.chunkStart(c+1)
		if ce-1 > now {
			tailBuf = a.bufs.Get().(*[]byte)
			var k int
			tail, k = a.appendDirect((*tailBuf)[:0], sr, span, max(cs, lo), toMs, now, limit, true)
			n += k
			c--
			continue
		}
		ch := a.chunk(sr, ks, c)
		j := sort.Search(len(ch.opens), func(i int) bool { return ch.opens[i] > toMs })
		i := j
		for i > 0 && ch.opens[i-1] >= lo && n < limit {
			i--
			n++
		}
		back = append(back, seg{ch, i, j})
		c--
	}
	for k := len(back) - 1; k >= 0; k-- {
		s := back[k]
		b = append(b, s.ch.rows[s.ch.offs[s.i]:s.ch.offs[s.j]]...)
	}
	b = append(b, tail...)
	if tailBuf != nil {
		*tailBuf = tail
		a.putBuf(tailBuf)
	}
	return b, n
}

// appendDirect builds and formats bars without the cache (see
// [sim.Series.AppendCandles] for the arguments).
func (a *api) appendDirect(b []byte, sr *sim.Series, span domain.Span, from, to, now int64, limit int, latest bool) ([]byte, int) {
	cp := a.candles.Get().(*[]sim.Candle)
	defer a.candles.Put(cp)
	cs := sr.AppendCandles(*cp, span, from, to, now, limit, latest)
	*cp = cs
	for i := range cs {
		b = appendKlineRow(b, sr, span, &cs[i])
	}
	return b, len(cs)
}
