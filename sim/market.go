package sim

import (
	"fmt"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pype-go/pype/domain"
)

// Clock gives wall time; tests inject a fake one. [WallClock] is the real
// clock.
type Clock interface{ Now() time.Time }

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// WallClock is the system clock.
var WallClock Clock = wallClock{}

const (
	msPerHour   = int64(3600_000)
	msPerMinute = int64(60_000)
	hoursPerBlk = 24
)

// MarketConfig configures a [Market].
type MarketConfig struct {
	// Venue is mixed into the seed, so venues sharing a seed still get
	// independent markets.
	Venue string
	Seed  uint64
	// Now is the virtual "now" when the market is created; zero means the
	// clock's current time. Trades after Now exist (the generator goes on)
	// but become visible only as the virtual clock passes them.
	Now time.Time
	// History is how far before Now the trade history starts (floored to
	// the hour). Default 30 days.
	History time.Duration
	// Speed is how many virtual seconds pass per wall-clock second after
	// Now. Default 1. Ignored when Frozen.
	Speed float64
	// Frozen stops the virtual clock at Now: nothing new ever happens,
	// which makes every response reproducible.
	Frozen bool
	// Clock is the wall clock (default [WallClock]).
	Clock Clock
	// Symbols to simulate (default [DefaultSymbols]).
	Symbols []SymbolSpec
	// HourCache is how many generated hours of trades are kept per symbol
	// (per-minute aggregates are always kept). Default 48.
	HourCache int
}

// Market is one venue's simulated market: a [Series] per symbol and a
// virtual clock. It is safe for concurrent use.
type Market struct {
	venue   string
	seed    uint64
	clock   Clock
	wall0   time.Time
	now0Ms  int64
	speed   float64
	frozen  bool
	startMs int64
	series  []*Series
	bySym   map[domain.Symbol]*Series
}

// NewMarket builds a market. It fails on invalid symbol specs.
func NewMarket(cfg MarketConfig) (*Market, error) {
	clk := cfg.Clock
	if clk == nil {
		clk = WallClock
	}
	m := &Market{venue: cfg.Venue, seed: cfg.Seed, clock: clk, wall0: clk.Now(), speed: cfg.Speed, frozen: cfg.Frozen}
	if m.speed <= 0 {
		m.speed = 1
	}
	now := cfg.Now
	if now.IsZero() {
		now = m.wall0
	}
	m.now0Ms = now.UnixMilli()
	hist := cfg.History
	if hist <= 0 {
		hist = 30 * 24 * time.Hour
	}
	m.startMs = domain.FloorDiv(m.now0Ms-hist.Milliseconds(), msPerHour) * msPerHour
	specs := cfg.Symbols
	if len(specs) == 0 {
		specs = DefaultSymbols()
	}
	cacheCap := cfg.HourCache
	if cacheCap <= 0 {
		cacheCap = 48
	}
	m.bySym = make(map[domain.Symbol]*Series, len(specs))
	for _, s := range specs {
		in, err := compileSpec(s)
		if err != nil {
			return nil, err
		}
		if m.bySym[s.Symbol] != nil {
			return nil, fmt.Errorf("sim: symbol %s configured twice", s.Symbol)
		}
		sr := newSeries(m, in, cacheCap)
		m.series = append(m.series, sr)
		m.bySym[s.Symbol] = sr
	}
	return m, nil
}

// Venue returns the venue name the market was built for.
func (m *Market) Venue() string { return m.venue }

// NowMs returns the virtual now in Unix milliseconds.
func (m *Market) NowMs() int64 {
	if m.frozen {
		return m.now0Ms
	}
	el := m.clock.Now().Sub(m.wall0)
	if el < 0 {
		el = 0
	}
	return m.now0Ms + int64(float64(el.Milliseconds())*m.speed)
}

// Now returns the virtual now in Unix nanoseconds.
func (m *Market) Now() int64 { return m.NowMs() * int64(time.Millisecond) }

// StartMs returns the first millisecond of the trade history.
func (m *Market) StartMs() int64 { return m.startMs }

// WallFor returns the wall-clock instant at which virtual time ms is
// reached (for pacing live streams).
func (m *Market) WallFor(ms int64) time.Time {
	if m.frozen {
		return time.Time{}
	}
	d := float64(ms-m.now0Ms) / m.speed
	return m.wall0.Add(time.Duration(d * float64(time.Millisecond)))
}

// Speed returns the virtual-time multiplier (0 when frozen).
func (m *Market) Speed() float64 {
	if m.frozen {
		return 0
	}
	return m.speed
}

// Series returns the series of sym, or nil.
func (m *Market) Series(sym domain.Symbol) *Series { return m.bySym[sym] }

// AllSeries returns every series in configuration order.
func (m *Market) AllSeries() []*Series { return m.series }

// AggTrade is one taker order filled at one price in one millisecond
// (Binance's aggregate trade). Prices are ticks, quantities lots; see
// [Series.Price] and [Series.Qty].
type AggTrade struct {
	ID           int64
	FirstTradeID int64
	LastTradeID  int64
	Time         int64 // Unix ms
	Price        int64 // ticks
	Qty          int64 // lots
	BuyerMaker   bool  // the taker sold
}

// Trade is one fill.
type Trade struct {
	ID         int64
	AggID      int64
	Time       int64 // Unix ms
	Price      int64 // ticks
	Qty        int64 // lots
	BuyerMaker bool  // the taker sold
}

// Series is the simulated market of one symbol.
type Series struct {
	m         *Market
	in        *symInfo
	key       uint64
	startHour int64
	aggBase   int64
	tradeBase int64
	bookBase  int64
	log0      float64

	mu       sync.Mutex // guards blocks growth, hours, fifo
	blocks   atomic.Pointer[[]*block]
	hours    map[int64]*hourEntry
	fifo     []int64
	cacheCap int

	lastWin atomic.Pointer[winEntry] // book windows of the last step asked
}

// block holds the O(1) headers of 24 consecutive hours.
type block struct {
	logStart     float64
	anchors      [hoursPerBlk + 1]int64
	nAgg         [hoursPerBlk]int32
	nExtra       [hoursPerBlk]int32
	prefixAgg    int64              // aggregate trades before the block
	prefixTrades int64              // trades before the block
	hourAgg      [hoursPerBlk]int64 // aggregate trades before hour j, from the block start
	hourTrades   [hoursPerBlk]int64 // trades before hour j, from the block start
	aggs         [hoursPerBlk]atomic.Pointer[hourAggs]
}

type hourEntry struct {
	once sync.Once
	data *hourData
}

type aggRec struct {
	t     int64 // ms
	price int64
	qty   int64
	tOff  int32 // first trade offset within the hour
	fills int32
	sell  bool
}

type hourData struct {
	h          int64
	firstAgg   int64
	firstTrade int64
	aggs       []aggRec
}

// hourAggs are the per-minute and whole-hour candles of one hour, over all
// of its trades (visibility cuts are applied by the caller).
type hourAggs struct {
	minutes [60]Candle
	hour    Candle
}

func newSeries(m *Market, in *symInfo, cacheCap int) *Series {
	key := mix64(m.seed ^ hashString(m.venue+"|"+in.Symbol.String()))
	sr := &Series{m: m, in: in, key: key, startHour: m.startMs / msPerHour,
		hours: make(map[int64]*hourEntry), cacheCap: cacheCap}
	sr.aggBase = 10_000_000 + int64(key%90_000_000)
	sr.tradeBase = sr.aggBase + 3_000_000 + int64((key>>20)%50_000_000)
	sr.bookBase = 1_000_000_000 + int64((key>>7)%9_000_000_000)
	sr.log0 = math.Log(float64(in.startTicks))
	empty := []*block{}
	sr.blocks.Store(&empty)
	return sr
}

// Spec returns the series' symbol spec.
func (sr *Series) Spec() SymbolSpec { return sr.in.SymbolSpec }

// Symbol returns the series' symbol.
func (sr *Series) Symbol() domain.Symbol { return sr.in.Symbol }

// Market returns the series' market.
func (sr *Series) Market() *Market { return sr.m }

// FirstAggID returns the id of the first aggregate trade of the history.
func (sr *Series) FirstAggID() int64 { return sr.aggBase }

// FirstTradeID returns the id of the first trade of the history.
func (sr *Series) FirstTradeID() int64 { return sr.tradeBase }

// maxBlocks bounds how far into the future the generator is extended.
const maxBlocks = 366 * 30

// blockAt returns block b (≥ 0), building blocks up to it.
func (sr *Series) blockAt(b int64) *block {
	bs := *sr.blocks.Load()
	if b < int64(len(bs)) {
		return bs[b]
	}
	sr.mu.Lock()
	defer sr.mu.Unlock()
	bs = *sr.blocks.Load()
	if b < int64(len(bs)) {
		return bs[b]
	}
	nb := make([]*block, len(bs), b+1+16)
	copy(nb, bs)
	for int64(len(nb)) <= b {
		var prev *block
		if len(nb) > 0 {
			prev = nb[len(nb)-1]
		}
		nb = append(nb, sr.buildBlock(int64(len(nb)), prev))
	}
	sr.blocks.Store(&nb)
	return nb[b]
}

func (sr *Series) nextLog(b int64, logStart float64) float64 {
	g := gaussOf(hash3(sr.key, b, 0x64617973))
	return logStart + sr.in.vol*g - 0.05*(logStart-sr.log0)
}

func (sr *Series) buildBlock(b int64, prev *block) *block {
	bl := &block{}
	if prev == nil {
		bl.logStart = sr.log0
	} else {
		bl.logStart = sr.nextLog(b-1, prev.logStart)
		bl.prefixAgg = prev.prefixAgg
		bl.prefixTrades = prev.prefixTrades
		for j := 0; j < hoursPerBlk; j++ {
			bl.prefixAgg += int64(prev.nAgg[j])
			bl.prefixTrades += int64(prev.nAgg[j]) + int64(prev.nExtra[j])
		}
	}
	logEnd := sr.nextLog(b, bl.logStart)
	// Hourly anchors: a random walk bridged to the next block's start.
	var w [hoursPerBlk + 1]float64
	hv := sr.in.vol / math.Sqrt(hoursPerBlk)
	for j := 0; j < hoursPerBlk; j++ {
		w[j+1] = w[j] + hv*gaussOf(hash3(sr.key, b*hoursPerBlk+int64(j), 0x686f7572))
	}
	for j := 0; j <= hoursPerBlk; j++ {
		lg := bl.logStart + w[j] - float64(j)/hoursPerBlk*(w[hoursPerBlk]-(logEnd-bl.logStart))
		t := int64(math.Round(math.Exp(lg)))
		if t < 1 {
			t = 1
		}
		bl.anchors[j] = t
	}
	for j := 0; j < hoursPerBlk; j++ {
		h := sr.startHour + b*hoursPerBlk + int64(j)
		if unit(hash3(sr.key, h, 0x7175696574)) < sr.in.quiet {
			continue
		}
		hod := float64((h%24 + 24) % 24) // hour of day (UTC)
		diurnal := 1 + 0.35*math.Cos(2*math.Pi*(hod-15)/24)
		act := math.Exp(0.35 * gaussOf(hash3(sr.key, h, 0x616374)))
		n := math.Round(sr.in.rate * 3600 * diurnal * act)
		if n > 1<<26 {
			n = 1 << 26
		}
		bl.nAgg[j] = int32(n)
		bl.nExtra[j] = int32(n * 0.3 * unit(hash3(sr.key, h, 0x657874)))
	}
	for j := 1; j < hoursPerBlk; j++ {
		bl.hourAgg[j] = bl.hourAgg[j-1] + int64(bl.nAgg[j-1])
		bl.hourTrades[j] = bl.hourTrades[j-1] + int64(bl.nAgg[j-1]) + int64(bl.nExtra[j-1])
	}
	return bl
}

// hdr is an hour's O(1) header.
type hdr struct {
	h                    int64
	nAgg, nExtra         int64
	startTicks, endTicks int64
	firstAgg, firstTrade int64
	bl                   *block
	j                    int
}

// header returns hour h's header; ok is false before the history start
// or beyond the generator's horizon.
func (sr *Series) header(h int64) (hdr, bool) {
	rel := h - sr.startHour
	if rel < 0 || rel >= maxBlocks*hoursPerBlk {
		return hdr{h: h}, false
	}
	b, j := rel/hoursPerBlk, int(rel%hoursPerBlk)
	bl := sr.blockAt(b)
	x := hdr{h: h, bl: bl, j: j, nAgg: int64(bl.nAgg[j]), nExtra: int64(bl.nExtra[j]),
		startTicks: bl.anchors[j], endTicks: bl.anchors[j+1]}
	x.firstAgg = sr.aggBase + bl.prefixAgg + bl.hourAgg[j]
	x.firstTrade = sr.tradeBase + bl.prefixTrades + bl.hourTrades[j]
	return x, true
}

// hour returns the generated trades of hour h (cached).
func (sr *Series) hour(h int64) *hourData {
	sr.mu.Lock()
	e := sr.hours[h]
	if e == nil {
		e = &hourEntry{}
		sr.hours[h] = e
		sr.fifo = append(sr.fifo, h)
		if len(sr.fifo) > sr.cacheCap {
			delete(sr.hours, sr.fifo[0])
			sr.fifo = sr.fifo[1:]
		}
	}
	sr.mu.Unlock()
	e.once.Do(func() { e.data = sr.genHour(h) })
	return e.data
}

// genHour generates hour h from its hash alone.
func (sr *Series) genHour(h int64) *hourData {
	x, ok := sr.header(h)
	hd := &hourData{h: h, firstAgg: x.firstAgg, firstTrade: x.firstTrade}
	if !ok || x.nAgg == 0 {
		return hd
	}
	n := int(x.nAgg)
	r := newRNG(hash3(sr.key, h, 0x74726164))
	aggs := make([]aggRec, n)
	// Cluster sizes: mostly single orders, some small groups, rare bursts
	// of many orders in the same millisecond.
	sizes := make([]int32, 0, n/2+1)
	for total := 0; total < n; {
		u := r.float()
		s := 1
		switch {
		case u < 0.62:
		case u < 0.97:
			s = 2 + r.intn(5)
		default:
			s = 7 + r.intn(60)
		}
		if total+s > n {
			s = n - total
		}
		sizes = append(sizes, int32(s))
		total += s
	}
	c := len(sizes)
	// Cluster times: exponential gaps (some stretched into quiet spells),
	// normalised to the hour.
	gaps := make([]float64, c+1)
	var gsum float64
	for i := range gaps {
		g := r.exp()
		if r.float() < 0.01 {
			g *= 40
		}
		gaps[i] = g
		gsum += g
	}
	hourStart := h * msPerHour
	std := float64(x.startTicks) * sr.in.vol / math.Sqrt(hoursPerBlk) / math.Sqrt(float64(c))
	small := int(std/4) + 1
	var cum float64
	var w int64
	k := 0
	for ci := 0; ci < c; ci++ {
		cum += gaps[ci]
		t := hourStart + int64(cum/gsum*float64(msPerHour))
		next := hourStart + int64((cum+gaps[ci+1])/gsum*float64(msPerHour))
		if next > hourStart+msPerHour-1 {
			next = hourStart + msPerHour - 1
		}
		if t > next {
			t = next
		}
		sell := r.next()&1 == 1
		spread := r.float() < 0.25
		for i := 0; i < int(sizes[ci]); i++ {
			if i == 0 {
				w += int64(math.Round(r.gauss() * std))
			} else {
				if spread {
					t += int64(r.intn(3))
					if t > next {
						t = next
					}
				}
				if r.float() < 0.5 {
					d := int64(1 + r.intn(small))
					if sell {
						d = -d
					}
					w += d
				}
			}
			a := &aggs[k]
			a.t, a.price, a.sell = t, w, sell
			q := int64(math.Round(sr.in.meanLots * r.exp() * r.exp()))
			if q < 1 {
				q = 1
			}
			if r.float() < 0.3 && q >= 100 {
				p := int64(1)
				for p*100 <= q {
					p *= 10
				}
				q = q / p * p
			}
			a.qty = q
			a.fills = 1
			k++
		}
	}
	// Bridge the walk so the hour ends exactly at the next hour's anchor.
	target := x.endTicks - x.startTicks
	last := aggs[n-1].price
	for i := range aggs {
		p := x.startTicks + aggs[i].price + (target-last)*int64(i+1)/int64(n)
		if p < 1 {
			p = 1
		}
		aggs[i].price = p
	}
	for e := int64(0); e < x.nExtra; e++ {
		aggs[r.intn(n)].fills++
	}
	hd.aggs = aggs
	// Per-minute aggregates (kept for good) in the same pass.
	var ha *hourAggs
	if x.bl.aggs[x.j].Load() == nil {
		ha = &hourAggs{}
	}
	var off int32
	for i := range aggs {
		a := &aggs[i]
		if a.qty < int64(a.fills) {
			a.qty = int64(a.fills)
		}
		a.tOff = off
		off += a.fills
		if ha != nil {
			ha.minutes[(a.t-hourStart)/msPerMinute].add(hd, i)
		}
	}
	if ha != nil {
		for mi := range ha.minutes {
			if ha.minutes[mi].Trades > 0 {
				ha.minutes[mi].OpenTime = hourStart + int64(mi)*msPerMinute
				ha.hour.Merge(ha.minutes[mi])
			}
		}
		ha.hour.OpenTime = hourStart
		x.bl.aggs[x.j].CompareAndSwap(nil, ha)
	}
	return hd
}

func (hd *hourData) agg(i int) AggTrade {
	a := &hd.aggs[i]
	first := hd.firstTrade + int64(a.tOff)
	return AggTrade{ID: hd.firstAgg + int64(i), FirstTradeID: first, LastTradeID: first + int64(a.fills) - 1,
		Time: a.t, Price: a.price, Qty: a.qty, BuyerMaker: a.sell}
}

// fill returns the j-th fill of agg i.
func (hd *hourData) fill(i, j int) Trade {
	a := &hd.aggs[i]
	n := int64(a.fills)
	q := a.qty / n
	if int64(j) < a.qty%n {
		q++
	}
	return Trade{ID: hd.firstTrade + int64(a.tOff) + int64(j), AggID: hd.firstAgg + int64(i),
		Time: a.t, Price: a.price, Qty: q, BuyerMaker: a.sell}
}

// firstAtOrAfter returns the index of the first agg with time ≥ ms.
func (hd *hourData) firstAtOrAfter(ms int64) int {
	return sort.Search(len(hd.aggs), func(i int) bool { return hd.aggs[i].t >= ms })
}

// hourAggsOf returns the per-minute aggregates of hour h (nil when empty).
func (sr *Series) hourAggsOf(h int64) *hourAggs {
	x, ok := sr.header(h)
	if !ok || x.nAgg == 0 {
		return nil
	}
	if ha := x.bl.aggs[x.j].Load(); ha != nil {
		return ha
	}
	sr.hour(h)
	if ha := x.bl.aggs[x.j].Load(); ha != nil {
		return ha
	}
	// The cached hour was generated by another path before the pointer
	// was set; generate directly.
	sr.genHour(h)
	return x.bl.aggs[x.j].Load()
}

// IsQuietHour reports whether the hour starting at hourMs (floored) has no
// trade at all.
func (sr *Series) IsQuietHour(hourMs int64) bool {
	x, ok := sr.header(domain.FloorDiv(hourMs, msPerHour))
	return !ok || x.nAgg == 0
}

// HourCounts returns the number of aggregate trades and trades in the hour
// containing ms, without generating it.
func (sr *Series) HourCounts(ms int64) (aggs, trades int64) {
	x, ok := sr.header(domain.FloorDiv(ms, msPerHour))
	if !ok {
		return 0, 0
	}
	return x.nAgg, x.nAgg + x.nExtra
}
