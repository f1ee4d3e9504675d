// Package apptest provides a deterministic in-memory venue for testing the
// app operations and the CLI without a network: trades on a fixed time grid
// with contiguous ids, candles aggregated from them, quiet periods (venue
// gaps), a book snapshot, live streams, and fault hooks (fail or pause after
// N records, drop trades, declare recent-only history).
package apptest

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/venues"
)

// Venue is a fake venue. Configure the exported fields before registering
// it; the zero value of each field gives the documented default.
type Venue struct {
	Name    string          // default "fake"
	Symbols []domain.Symbol // default BTC/USDT and ETH/USDT
	// Origin is the time of trade 0 (ns); default 2024-01-01T00:00:00Z.
	Origin int64
	// Every is the time between trades; default 1 minute.
	Every time.Duration
	// Quiet are ranges without trades (and so without candles): venue gaps.
	Quiet []domain.Range
	// Dropped are trade ids the venue fails to serve (lost trades).
	Dropped []int64
	// History overrides the declared history depth of candles and trades.
	History domain.History
	// RecentCount is the declared RecentCount of candles with HistoryRecent.
	RecentCount int
	// RecentTrades is the declared RecentCount of trades with HistoryRecent.
	RecentTrades int
	// PageSize is the number of rows per declared coverage page; default 100.
	PageSize int
	// NoMarkets makes the venue not implement MarketLister.
	NoMarkets bool

	mu        sync.Mutex
	failAfter int64 // fail once after this many records (0 = never)
	pauseAt   int64 // block after this many records until ctx is done
	paused    chan struct{}
	served    int64
	requests  []domain.Range
	stream    []streamStep
}

// streamStep is one scripted stream element.
type streamStep struct {
	trades []domain.Trade
	bars   []domain.OHLCBar
	gap    *venues.Gap
	book   *domain.BookSnapshot
	err    error
	end    bool
}

// DefaultOrigin is the default time of trade 0.
var DefaultOrigin = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()

func (v *Venue) name() string {
	if v.Name == "" {
		return "fake"
	}
	return v.Name
}

func (v *Venue) origin() int64 {
	if v.Origin == 0 {
		return DefaultOrigin
	}
	return v.Origin
}

func (v *Venue) every() int64 {
	if v.Every <= 0 {
		return int64(time.Minute)
	}
	return int64(v.Every)
}

func (v *Venue) pageSize() int {
	if v.PageSize <= 0 {
		return 100
	}
	return v.PageSize
}

func (v *Venue) symbols() []domain.Symbol {
	if len(v.Symbols) == 0 {
		return []domain.Symbol{domain.NewSymbol("BTC", "USDT"), domain.NewSymbol("ETH", "USDT")}
	}
	return v.Symbols
}

// FailAfter makes the next backfill fail with an error after n more
// records, once.
func (v *Venue) FailAfter(n int64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.failAfter = v.served + n
}

// PauseAfter makes backfills block after n more records until their
// context is cancelled; the returned channel is closed when that happens.
func (v *Venue) PauseAfter(n int64) <-chan struct{} {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.pauseAt = v.served + n
	v.paused = make(chan struct{})
	return v.paused
}

// Requests returns the ranges backfills asked for, in order.
func (v *Venue) Requests() []domain.Range {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.requests)
}

// ResetRequests forgets the recorded requests.
func (v *Venue) ResetRequests() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.requests = nil
}

// Info returns the venue's description.
func (v *Venue) Info() venues.Info {
	hist := v.History
	if hist == "" {
		hist = domain.HistoryFull
	}
	spans := []domain.Span{domain.Span1m, domain.Span5m, domain.Span1h, domain.Span1d}
	return venues.Info{
		Name: v.name(), DisplayName: "Fake venue", RESTURL: "http://fake.invalid", WSURL: "ws://fake.invalid",
		Capabilities: []domain.Capability{
			{DataType: domain.OHLC, Transport: domain.REST, Mode: domain.Backfill, History: hist, RecentCount: v.RecentCount, MaxPerRequest: v.pageSize(), Spans: spans, Markets: []domain.MarketKind{domain.Spot}},
			{DataType: domain.Trades, Transport: domain.REST, Mode: domain.Backfill, History: hist, RecentCount: v.RecentTrades, MaxPerRequest: v.pageSize(), Markets: []domain.MarketKind{domain.Spot}},
			{DataType: domain.Book, Transport: domain.REST, Mode: domain.Snapshot, History: domain.HistoryNone, MaxDepth: 50},
			{DataType: domain.Trades, Transport: domain.WebSocket, Mode: domain.Stream, History: domain.HistoryNone},
			{DataType: domain.OHLC, Transport: domain.WebSocket, Mode: domain.Stream, History: domain.HistoryNone, Spans: spans},
			{DataType: domain.Book, Transport: domain.WebSocket, Mode: domain.Stream, History: domain.HistoryNone, MaxDepth: 50},
		},
	}
}

// Register adds the venue to r.
func (v *Venue) Register(r *venues.Registry) error {
	return r.Register(v.Info(), func(ctx context.Context, cfg venues.Config) (venues.Venue, error) {
		if v.NoMarkets {
			return noMarkets{v}, nil
		}
		return conn{v}, nil
	})
}

// conn is an opened Venue.
type conn struct{ v *Venue }

func (c conn) Info() venues.Info { return c.v.Info() }
func (c conn) Close() error      { return nil }

func (c conn) Markets(ctx context.Context) ([]domain.Market, error) {
	var out []domain.Market
	for _, s := range c.v.symbols() {
		out = append(out, domain.Market{Venue: c.v.name(), Symbol: s, VenueSymbol: s.Base + s.Quote, Active: true})
	}
	return out, nil
}

func (c conn) BackfillCandles(ctx context.Context, req venues.CandleRequest) iter.Seq2[domain.OHLCBar, error] {
	return c.v.BackfillCandles(ctx, req)
}

func (c conn) BackfillTrades(ctx context.Context, req venues.TradeRequest) iter.Seq2[domain.Trade, error] {
	return c.v.BackfillTrades(ctx, req)
}

func (c conn) BookSnapshot(ctx context.Context, sym domain.Symbol, depth int) (domain.BookSnapshot, error) {
	return c.v.Book(sym, depth, 0), nil
}

func (c conn) StreamTrades(ctx context.Context, req venues.StreamRequest) iter.Seq2[venues.TradeEvent, error] {
	return streamOf(ctx, c.v, req, func(s streamStep, yield func(venues.TradeEvent, error) bool) bool {
		for _, t := range s.trades {
			if !yield(venues.TradeEvent{Symbol: req.Symbols[0], Trade: t}, nil) {
				return false
			}
		}
		return true
	})
}

func (c conn) StreamCandles(ctx context.Context, req venues.StreamRequest) iter.Seq2[venues.CandleEvent, error] {
	return streamOf(ctx, c.v, req, func(s streamStep, yield func(venues.CandleEvent, error) bool) bool {
		for _, b := range s.bars {
			if !yield(venues.CandleEvent{Symbol: req.Symbols[0], Span: req.Span, Bar: b}, nil) {
				return false
			}
		}
		return true
	})
}

func (c conn) StreamBooks(ctx context.Context, req venues.StreamRequest) iter.Seq2[venues.BookEvent, error] {
	return streamOf(ctx, c.v, req, func(s streamStep, yield func(venues.BookEvent, error) bool) bool {
		if s.book != nil {
			return yield(venues.BookEvent{Symbol: req.Symbols[0], Live: true, Book: *s.book}, nil)
		}
		return true
	})
}

// noMarkets hides MarketLister.
type noMarkets struct{ v *Venue }

func (c noMarkets) Info() venues.Info { return c.v.Info() }
func (c noMarkets) Close() error      { return nil }
func (c noMarkets) BackfillCandles(ctx context.Context, req venues.CandleRequest) iter.Seq2[domain.OHLCBar, error] {
	return c.v.BackfillCandles(ctx, req)
}
func (c noMarkets) BackfillTrades(ctx context.Context, req venues.TradeRequest) iter.Seq2[domain.Trade, error] {
	return c.v.BackfillTrades(ctx, req)
}

// quiet reports whether ts lies in a quiet range.
func (v *Venue) quiet(ts int64) bool {
	for _, q := range v.Quiet {
		if q.Contains(ts) {
			return true
		}
	}
	return false
}

// quietBefore counts grid points in quiet ranges before index k.
func (v *Venue) quietBefore(k int64) int64 {
	var n int64
	o, e := v.origin(), v.every()
	for _, q := range v.Quiet {
		lo := max(ceilDiv(q.Start-o, e), 0)
		hi := min(ceilDiv(q.End-o, e), k)
		if hi > lo {
			n += hi - lo
		}
	}
	return n
}

func ceilDiv(a, b int64) int64 {
	q := domain.FloorDiv(a, b)
	if q*b != a {
		q++
	}
	return q
}

// tradeAt returns the trade at grid index k (ok false in quiet ranges or
// for dropped ids).
func (v *Venue) tradeAt(k int64) (domain.Trade, bool) {
	ts := v.origin() + k*v.every()
	if k < 0 || v.quiet(ts) {
		return domain.Trade{}, false
	}
	id := k - v.quietBefore(k) + 1
	if slices.Contains(v.Dropped, id) {
		return domain.Trade{}, false
	}
	price := decimal.MustNew(100_00+(k%50)*7, 2)                                 // 100.00 … 103.43
	amount := decimal.MustNew((k%7+1)*125, 4)                                    // 0.0125 … 0.0875
	side := map[bool]domain.Side{true: domain.Buy, false: domain.Sell}[k%3 != 0] // buy, buy, sell
	return domain.Trade{ID: strconv.FormatInt(id, 10), Time: ts, Price: price, Amount: amount, Side: side}, true
}

// Trades returns the trades with time in r, in order (the ground truth,
// dropped ids excluded).
func (v *Venue) Trades(r domain.Range) []domain.Trade {
	var out []domain.Trade
	for t := range v.tradesIn(r) {
		out = append(out, t)
	}
	return out
}

func (v *Venue) tradesIn(r domain.Range) iter.Seq[domain.Trade] {
	return func(yield func(domain.Trade) bool) {
		o, e := v.origin(), v.every()
		for k := max(ceilDiv(r.Start-o, e), 0); o+k*e < r.End; k++ {
			if t, ok := v.tradeAt(k); ok && !yield(t) {
				return
			}
		}
	}
}

// Bars returns the candles of span with open time in r (the ground truth):
// one per bar that holds at least one trade.
func (v *Venue) Bars(span domain.Span, r domain.Range) []domain.OHLCBar {
	var out []domain.OHLCBar
	for open := span.Ceil(r.Start); open < r.End; open = span.Next(open) {
		if b, ok := v.bar(span, open); ok {
			out = append(out, b)
		}
	}
	return out
}

func (v *Venue) bar(span domain.Span, open int64) (domain.OHLCBar, bool) {
	b := domain.OHLCBar{OpenTime: open, Closed: true}
	n := 0
	for t := range v.tradesIn(domain.Range{Start: open, End: span.Next(open)}) {
		if n == 0 {
			b.Open, b.High, b.Low = t.Price, t.Price, t.Price
		}
		if t.Price.Cmp(b.High) > 0 {
			b.High = t.Price
		}
		if t.Price.Cmp(b.Low) < 0 {
			b.Low = t.Price
		}
		b.Close = t.Price
		b.Volume, _ = b.Volume.Add(t.Amount)
		q, _ := t.Price.Mul(t.Amount)
		b.QuoteVolume, _ = b.QuoteVolume.Add(q)
		n++
	}
	b.Trades = int64(n)
	return b, n > 0
}

// Book returns a deterministic book of depth levels per side.
func (v *Venue) Book(sym domain.Symbol, depth int, ts int64) domain.BookSnapshot {
	if depth <= 0 {
		depth = 10
	}
	s := domain.BookSnapshot{Symbol: sym, Seq: 1000 + ts%1000, Time: ts}
	for i := range depth {
		s.Bids = append(s.Bids, domain.BookLevel{Price: decimal.MustNew(int64(10000-i), 2), Amount: decimal.MustNew(int64(i+1), 1)})
		s.Asks = append(s.Asks, domain.BookLevel{Price: decimal.MustNew(int64(10001+i), 2), Amount: decimal.MustNew(int64(i+2), 1)})
	}
	return s
}

// ErrInjected is the error of FailAfter.
var ErrInjected = errors.New("apptest: injected venue failure")

// gate counts a served record and applies the fault hooks. It returns a
// non-nil error to end the iteration.
func (v *Venue) gate(ctx context.Context) error {
	v.mu.Lock()
	v.served++
	n := v.served
	fail := v.failAfter > 0 && n > v.failAfter
	if fail {
		v.failAfter = 0
	}
	pause := v.pauseAt > 0 && n > v.pauseAt
	var ch chan struct{}
	if pause {
		v.pauseAt = 0
		ch = v.paused
	}
	v.mu.Unlock()
	if fail {
		return fmt.Errorf("%w after %d records", ErrInjected, n-1)
	}
	if pause {
		close(ch)
		<-ctx.Done()
		return ctx.Err()
	}
	return ctx.Err()
}

func (v *Venue) record(r domain.Range) {
	v.mu.Lock()
	v.requests = append(v.requests, r)
	v.mu.Unlock()
}

// BackfillCandles serves candles, declaring coverage page by page.
func (v *Venue) BackfillCandles(ctx context.Context, req venues.CandleRequest) iter.Seq2[domain.OHLCBar, error] {
	return func(yield func(domain.OHLCBar, error) bool) {
		v.record(req.Range)
		if !slices.Contains(v.symbols(), req.Symbol) {
			yield(domain.OHLCBar{}, fmt.Errorf("fake: invalid symbol %s", req.Symbol))
			return
		}
		page := v.pageSize()
		start := req.Span.Ceil(req.Range.Start)
		for start < req.Range.End {
			end := min(req.Span.Add(start, int64(page)), req.Range.End)
			for _, b := range v.Bars(req.Span, domain.Range{Start: start, End: end}) {
				if err := v.gate(ctx); err != nil {
					yield(domain.OHLCBar{}, err)
					return
				}
				if !yield(b, nil) {
					return
				}
			}
			if req.Covered != nil {
				req.Covered(domain.Range{Start: start, End: end})
			}
			if req.Progress != nil {
				req.Progress(venues.Progress{Position: end})
			}
			start = end
		}
	}
}

// BackfillTrades serves trades, declaring coverage page by page and
// reporting nothing about dropped ids (as a careless venue would).
func (v *Venue) BackfillTrades(ctx context.Context, req venues.TradeRequest) iter.Seq2[domain.Trade, error] {
	return func(yield func(domain.Trade, error) bool) {
		v.record(req.Range)
		if !slices.Contains(v.symbols(), req.Symbol) {
			yield(domain.Trade{}, fmt.Errorf("fake: invalid symbol %s", req.Symbol))
			return
		}
		page := v.pageSize()
		start := req.Range.Start
		n := 0
		for t := range v.tradesIn(req.Range) {
			if err := v.gate(ctx); err != nil {
				yield(domain.Trade{}, err)
				return
			}
			if !yield(t, nil) {
				return
			}
			n++
			if n%page == 0 {
				if req.Covered != nil {
					req.Covered(domain.Range{Start: start, End: t.Time + 1})
				}
				if req.Progress != nil {
					req.Progress(venues.Progress{Items: int64(n), Position: t.Time})
				}
				start = t.Time + 1
			}
		}
		if req.Covered != nil && start < req.Range.End {
			req.Covered(domain.Range{Start: start, End: req.Range.End})
		}
	}
}

// ScriptTrades appends stream elements: the trades with time in r.
func (v *Venue) ScriptTrades(r domain.Range) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.stream = append(v.stream, streamStep{trades: v.Trades(r)})
}

// ScriptBars appends stream elements: the closed bars of span in r.
func (v *Venue) ScriptBars(span domain.Span, r domain.Range) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.stream = append(v.stream, streamStep{bars: v.Bars(span, r)})
}

// ScriptGap appends a stream element that reports a hole to the stream's
// Gap callback (as an adapter does after a reconnect it could not fill).
func (v *Venue) ScriptGap(g venues.Gap) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.stream = append(v.stream, streamStep{gap: &g})
}

// ScriptBooks appends n book events at times t0, t0+step, ….
func (v *Venue) ScriptBooks(sym domain.Symbol, depth int, t0 int64, step time.Duration, n int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for i := range n {
		b := v.Book(sym, depth, t0+int64(i)*int64(step))
		v.stream = append(v.stream, streamStep{book: &b})
	}
}

// ScriptBook appends one book event carrying b as given (Time or
// RecvTime may be 0, as some venues send).
func (v *Venue) ScriptBook(b domain.BookSnapshot) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.stream = append(v.stream, streamStep{book: &b})
}

// ScriptError appends a stream element that ends the stream with err.
func (v *Venue) ScriptError(err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.stream = append(v.stream, streamStep{err: err})
}

// ScriptEnd appends a stream element that ends the stream without error
// (as if the venue closed it for good).
func (v *Venue) ScriptEnd() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.stream = append(v.stream, streamStep{end: true})
}

// streamOf plays the script, then waits for ctx to end.
func streamOf[E any](ctx context.Context, v *Venue, req venues.StreamRequest, emit func(streamStep, func(E, error) bool) bool) iter.Seq2[E, error] {
	return func(yield func(E, error) bool) {
		v.mu.Lock()
		script := slices.Clone(v.stream)
		v.mu.Unlock()
		var zero E
		for _, s := range script {
			if ctx.Err() != nil {
				yield(zero, ctx.Err())
				return
			}
			if s.err != nil {
				yield(zero, s.err)
				return
			}
			if s.end {
				return
			}
			if s.gap != nil && req.Gap != nil {
				req.Gap(*s.gap)
			}
			if !emit(s, yield) {
				return
			}
		}
		<-ctx.Done()
		yield(zero, ctx.Err())
	}
}
