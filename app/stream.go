package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/store"
	"github.com/pype-go/pype/venues"
)

// Defaults for streams.
const (
	DefaultFlushEvery  = 30 * time.Second
	DefaultBookEvery   = time.Second
	DefaultStreamDepth = 20
	streamQueue        = 1024
	progressEvery      = time.Second
)

// StreamRequest asks for live data of one type for some symbols.
type StreamRequest struct {
	Venue   string
	Config  venues.Config
	Symbols []domain.Symbol
	Type    domain.DataType // Trades, OHLC (closed bars) or Book
	Span    domain.Span     // OHLC only
	Depth   int             // Book: levels stored per side; 0 means DefaultStreamDepth
	// Duration ends the stream after this long; 0 runs until ctx ends.
	Duration time.Duration
	// FlushEvery commits received rows and coverage this often; 0 means
	// DefaultFlushEvery.
	FlushEvery time.Duration
	// BookEvery stores at most one book snapshot per symbol per interval;
	// 0 means DefaultBookEvery, negative stores every update.
	BookEvery time.Duration
	// Progress, if set, is called about once a second and after each
	// flush, from the stream's goroutine.
	Progress func(StreamProgress)
	Params   map[string]string
	// SkipSymbolCheck skips listing the venue's markets to validate symbols.
	SkipSymbolCheck bool
}

// StreamProgress reports a running stream.
type StreamProgress struct {
	Records  int64 // records received live
	Filled   int64 // records recovered over REST after gaps
	Added    int64 // rows new to the store so far (committed)
	Flushes  int
	Gaps     int   // holes reported or detected
	Open     int   // holes not (yet) filled
	LastTime int64 // venue time of the latest record (ns)
}

// StreamDatasetResult is what a stream did to one dataset.
type StreamDatasetResult struct {
	ID       domain.DatasetID
	Records  int64
	Filled   int64
	Added    int64
	Files    []string
	Gaps     []venues.Gap // holes reported by the adapter or detected
	Unfilled []domain.Range
	Covered  []domain.Range // ranges declared complete by this stream
}

// StreamResult summarises a stream run.
type StreamResult struct {
	RunID    string
	Status   RunStatus
	Datasets []StreamDatasetResult
}

// Stream records live data until Duration passes or ctx ends; both end it
// normally (status succeeded). Rows and coverage are committed every
// FlushEvery and at the end, so files stay consistent if the process dies.
// Coverage is declared from the first record on, except holes: holes the
// adapter reports (req.Gap) and, for candles, missing bar open times are
// fetched over REST when the venue can backfill, and stay uncovered (visible
// in inventory, fetched by the next backfill) when it cannot.
func (a *App) Stream(ctx context.Context, req StreamRequest) (*StreamResult, error) {
	info, err := a.planStream(&req)
	if err != nil {
		return nil, err
	}
	ids := make([]domain.DatasetID, len(req.Symbols))
	for i, s := range req.Symbols {
		if ids[i], err = datasetID(info.Name, s, req.Type, req.Span); err != nil {
			return nil, err
		}
	}
	st, err := a.OpenStore()
	if err != nil {
		return nil, err
	}
	v, rest, err := a.openVenue(ctx, req.Venue, req.Config)
	if err != nil {
		return nil, err
	}
	defer v.Close()
	if !req.SkipSymbolCheck {
		if err := a.checkSymbols(ctx, v, info.Name, req.Symbols); err != nil {
			return nil, err
		}
	}
	start := a.now()
	res := &StreamResult{RunID: NewRunID(start)}
	rec := RunRecord{ID: res.RunID, Kind: "stream", Venue: info.Name, Params: req.Params, Status: RunRunning, Started: start}
	for _, id := range ids {
		rec.Datasets = append(rec.Datasets, id.String())
	}
	prov := domain.Provenance{Venue: info.Name, Transport: domain.WebSocket, RunID: res.RunID, ToolVersion: a.ToolVersion, Source: sourceOf(rest), FetchedAt: start.UnixNano()}

	s := &streamer{app: a, req: req, venue: v, st: st, prov: prov, bySym: map[domain.Symbol]*streamDS{}}
	for _, id := range ids {
		ds := &streamDS{id: id}
		s.order = append(s.order, ds)
		s.bySym[id.Symbol] = ds
	}
	rec.ID = a.runStart(ctx, rec)
	res.RunID, s.prov.RunID = rec.ID, rec.ID
	if err := s.openWriters(); err != nil {
		rec.Status, rec.Ended, rec.Error = RunFailed, a.now(), err.Error()
		a.runFinish(ctx, rec)
		return nil, err
	}
	runErr := s.run(ctx)
	ferr := s.close(ctx)

	for _, ds := range s.order {
		res.Datasets = append(res.Datasets, ds.result())
		rec.Records += ds.records + ds.filled
		rec.Added += ds.added
		rec.Gaps += len(ds.gaps)
	}
	err = errors.Join(runErr, ferr)
	switch {
	case ctx.Err() != nil:
		// The caller cancelled (Ctrl-C); a Duration ending is not that.
		res.Status = RunInterrupted
		err = errors.Join(err, fmt.Errorf("stream interrupted: %w", context.Cause(ctx)))
	case err != nil:
		res.Status = RunFailed
	default:
		res.Status = RunSucceeded
	}
	rec.Status, rec.Ended = res.Status, a.now()
	if err != nil {
		rec.Error = err.Error()
	}
	a.runFinish(ctx, rec)
	return res, err
}

func (a *App) planStream(req *StreamRequest) (venues.Info, error) {
	if a.Venues == nil {
		return venues.Info{}, errors.New("app: no venue registry configured")
	}
	info, err := a.Venues.Info(req.Venue)
	if err != nil {
		return info, err
	}
	if len(req.Symbols) == 0 {
		return info, &InputError{Field: "symbol", Msg: "at least one symbol is required (e.g. BTC/USDT)"}
	}
	for i, s := range req.Symbols {
		if slices.Contains(req.Symbols[:i], s) {
			return info, &InputError{Field: "symbol", Msg: fmt.Sprintf("%s is listed twice", s)}
		}
	}
	switch req.Type {
	case domain.OHLC, domain.Trades, domain.Book:
	case "":
		return info, &InputError{Field: "type", Msg: "a data type is required (accepted: trades, ohlc, book)"}
	default:
		return info, &domain.CapabilityError{Venue: info.Name, What: "streaming " + string(req.Type), Accept: streamTypes(info)}
	}
	c, ok := info.Capability(req.Type, domain.WebSocket, domain.Stream)
	if !ok {
		return info, &domain.CapabilityError{Venue: info.Name, What: "streaming " + string(req.Type), Accept: streamTypes(info)}
	}
	switch req.Type {
	case domain.OHLC:
		if !req.Span.Valid() {
			return info, &InputError{Field: "span", Msg: "ohlc needs a span (e.g. 1m)"}
		}
		if len(c.Spans) > 0 && !c.SupportsSpan(req.Span) {
			return info, &domain.CapabilityError{Venue: info.Name, What: "span " + req.Span.String() + " for streamed ohlc", Accept: domain.FormatSpans(c.Spans)}
		}
	case domain.Book:
		if req.Span.Valid() {
			return info, &InputError{Field: "span", Msg: "book takes no span"}
		}
		if req.Depth == 0 {
			req.Depth = DefaultStreamDepth
			if c.MaxDepth > 0 {
				req.Depth = min(req.Depth, c.MaxDepth)
			}
		}
		if err := checkDepth(info.Name, c, req.Depth); err != nil {
			return info, err
		}
	default:
		if req.Span.Valid() {
			return info, &InputError{Field: "span", Msg: "trades take no span"}
		}
	}
	for _, s := range req.Symbols {
		if len(c.Markets) > 0 && !slices.Contains(c.Markets, s.Market) {
			return info, &domain.CapabilityError{Venue: info.Name, What: s.Market.String() + " markets (" + s.String() + ")", Accept: marketKinds(c.Markets)}
		}
	}
	if req.Duration < 0 {
		return info, &InputError{Field: "duration", Msg: fmt.Sprintf("%s is negative", req.Duration)}
	}
	return info, nil
}

func streamTypes(info venues.Info) string {
	var out []string
	for _, c := range info.Capabilities {
		if c.Mode == domain.Stream && !slices.Contains(out, string(c.DataType)) {
			out = append(out, string(c.DataType))
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return fmt.Sprint(out)
}

// streamDS is the state of one dataset of a stream. It is only touched by
// the stream's main loop.
type streamDS struct {
	id      domain.DatasetID
	trades  *store.Writer[domain.Trade]
	bars    *store.Writer[domain.OHLCBar]
	books   *store.Writer[domain.BookSnapshot]
	tbuf    []domain.Trade
	bbuf    []domain.OHLCBar
	kbuf    []domain.BookSnapshot
	records int64
	filled  int64
	added   int64
	files   []string

	started  bool
	covFrom  int64 // start of what this stream covers
	covUntil int64 // coverage declared up to here
	high     int64 // trades: latest time; candles: next expected open
	// books: the venue and receive times of the last stored snapshot, and
	// whether sampling is on the receive clock (see sampleBook)
	lastBook     int64
	lastBookRecv int64
	bookRecv     bool
	holes        []domain.Range // open holes (fill pending or failed)
	unfilled     []domain.Range
	gaps         []venues.Gap
	coverDone    []domain.Range
}

func (ds *streamDS) result() StreamDatasetResult {
	return StreamDatasetResult{ID: ds.id, Records: ds.records, Filled: ds.filled, Added: ds.added, Files: ds.files,
		Gaps: ds.gaps, Unfilled: append(slices.Clone(ds.unfilled), ds.holes...), Covered: ds.coverDone}
}

// item is one element of the stream's queue: a live record, records from a
// REST fill, a hole, or the end of a fill or of the live stream.
type item struct {
	sym    domain.Symbol
	trade  *domain.Trade
	bar    *domain.OHLCBar
	book   *domain.BookSnapshot
	fill   bool          // from a REST fill
	gap    *venues.Gap   // a hole reported by the adapter
	filled *domain.Range // a REST fill of this hole completed
	failed *domain.Range // a REST fill of this hole failed
	end    bool          // the live stream ended
	err    error         // with end: why
}

type streamer struct {
	app   *App
	req   StreamRequest
	venue venues.Venue
	st    *store.Store
	prov  domain.Provenance
	order []*streamDS
	bySym map[domain.Symbol]*streamDS

	fillMu sync.Mutex
	fills  []venues.Gap
	wake   chan struct{}
}

func (s *streamer) openWriters() error {
	for _, ds := range s.order {
		var err error
		switch ds.id.Type {
		case domain.Trades:
			ds.trades, err = s.st.TradeWriter(ds.id, s.prov)
		case domain.OHLC:
			ds.bars, err = s.st.OHLCWriter(ds.id, s.prov)
		case domain.Book:
			ds.books, err = s.st.BookWriter(ds.id, s.prov)
		}
		if err != nil {
			s.abort()
			return err
		}
	}
	return nil
}

func (s *streamer) abort() {
	for _, ds := range s.order {
		if ds.trades != nil {
			ds.trades.Abort()
		}
		if ds.bars != nil {
			ds.bars.Abort()
		}
		if ds.books != nil {
			ds.books.Abort()
		}
	}
}

// run pumps the live stream and REST fills into the store until the stream
// ends.
func (s *streamer) run(ctx context.Context) error {
	var live context.Context
	var stopLive context.CancelFunc
	if s.req.Duration > 0 {
		live, stopLive = context.WithTimeout(ctx, s.req.Duration)
	} else {
		live, stopLive = context.WithCancel(ctx)
	}
	defer stopLive()
	// Fills outlive the live stream's Duration (they finish what was
	// reported) but not the caller's cancellation.
	fillCtx, stopFills := context.WithCancel(ctx)
	defer stopFills()

	q := make(chan item, streamQueue)
	s.wake = make(chan struct{}, 1)
	noMoreFills := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		s.produce(live, q)
	}()
	go func() {
		defer wg.Done()
		s.fillWorker(fillCtx, noMoreFills, q)
	}()
	allDone := make(chan struct{})
	go func() {
		wg.Wait()
		close(allDone)
	}()
	// fail stops everything and waits for the goroutines, discarding
	// whatever they still queue.
	fail := func(err error) error {
		stopLive()
		stopFills()
		for {
			select {
			case <-q:
			case <-allDone:
				return err
			}
		}
	}

	flushEvery := s.req.FlushEvery
	if flushEvery <= 0 {
		flushEvery = DefaultFlushEvery
	}
	flushT := time.NewTicker(flushEvery)
	defer flushT.Stop()
	progT := time.NewTicker(progressEvery)
	defer progT.Stop()

	var runErr error
	for {
		select {
		case it := <-q:
			if it.end {
				if it.err != nil {
					runErr = it.err
					stopFills()
				}
				close(noMoreFills)
				s.kick()
				continue
			}
			if err := s.handle(ctx, it); err != nil {
				return fail(err)
			}
		case <-flushT.C:
			if err := s.flush(ctx); err != nil {
				return fail(err)
			}
		case <-progT.C:
			s.progress()
		case <-allDone:
			// Both goroutines are done: the queue holds the last items.
			for {
				select {
				case it := <-q:
					if it.end {
						continue
					}
					if err := s.handle(ctx, it); err != nil {
						return err
					}
				default:
					return runErr
				}
			}
		}
	}
}

func (s *streamer) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// produce ranges over the venue's live stream and queues its elements.
func (s *streamer) produce(ctx context.Context, q chan<- item) {
	req := venues.StreamRequest{Symbols: s.req.Symbols, Span: s.req.Span, Depth: s.req.Depth,
		Gap: func(g venues.Gap) {
			gg := g
			select {
			case q <- item{sym: g.Symbol, gap: &gg}:
			case <-ctx.Done():
			}
		}}
	send := func(it item) bool {
		select {
		case q <- it:
			return true
		case <-ctx.Done():
			return false
		}
	}
	var err error
	switch s.req.Type {
	case domain.Trades:
		ts, ok := s.venue.(venues.TradeStreamer)
		if !ok {
			err = &domain.CapabilityError{Venue: s.prov.Venue, What: "streaming trades (not implemented by the adapter)"}
			break
		}
		for ev, e := range ts.StreamTrades(ctx, req) {
			if e != nil {
				err = e
				break
			}
			t := ev.Trade
			if !send(item{sym: ev.Symbol, trade: &t}) {
				break
			}
		}
	case domain.OHLC:
		cs, ok := s.venue.(venues.CandleStreamer)
		if !ok {
			err = &domain.CapabilityError{Venue: s.prov.Venue, What: "streaming ohlc (not implemented by the adapter)"}
			break
		}
		for ev, e := range cs.StreamCandles(ctx, req) {
			if e != nil {
				err = e
				break
			}
			if !ev.Bar.Closed {
				continue
			}
			b := ev.Bar
			if !send(item{sym: ev.Symbol, bar: &b}) {
				break
			}
		}
	case domain.Book:
		bs, ok := s.venue.(venues.BookStreamer)
		if !ok {
			err = &domain.CapabilityError{Venue: s.prov.Venue, What: "streaming books (not implemented by the adapter)"}
			break
		}
		for ev, e := range bs.StreamBooks(ctx, req) {
			if e != nil {
				err = e
				break
			}
			if !ev.Live {
				continue
			}
			b := ev.Book
			if !send(item{sym: ev.Symbol, book: &b}) {
				break
			}
		}
	}
	if ctx.Err() != nil {
		err = nil // the stream's end was asked for
	}
	// The end marker must arrive even after ctx ended: the main loop waits
	// for it.
	q <- item{end: true, err: err}
}

// fillWorker fetches the holes queued by the main loop over REST, one at a
// time, until the main loop has seen the live stream's end and nothing is
// queued, or ctx ends.
func (s *streamer) fillWorker(ctx context.Context, noMore <-chan struct{}, q chan<- item) {
	for {
		s.fillMu.Lock()
		var g *venues.Gap
		if len(s.fills) > 0 {
			gg := s.fills[0]
			s.fills = s.fills[1:]
			g = &gg
		}
		s.fillMu.Unlock()
		if g == nil {
			select {
			case <-noMore:
				s.fillMu.Lock()
				n := len(s.fills)
				s.fillMu.Unlock()
				if n == 0 {
					return
				}
			case <-s.wake:
			case <-ctx.Done():
				return
			}
			continue
		}
		if ctx.Err() != nil {
			return
		}
		err := s.fillOne(ctx, *g, q)
		r := g.Range
		if err != nil {
			s.app.log().Warn("stream: filling a hole over REST failed; it stays uncovered", "symbol", g.Symbol.String(), "range", r.String(), "err", err)
			q <- item{sym: g.Symbol, failed: &r}
		} else {
			q <- item{sym: g.Symbol, filled: &r}
		}
	}
}

func (s *streamer) fillOne(ctx context.Context, g venues.Gap, q chan<- item) error {
	switch s.req.Type {
	case domain.Trades:
		tb, ok := s.venue.(venues.TradeBackfiller)
		if !ok {
			return errors.New("the venue cannot backfill trades")
		}
		for t, err := range tb.BackfillTrades(ctx, venues.TradeRequest{Symbol: g.Symbol, Range: g.Range}) {
			if err != nil {
				return err
			}
			tt := t
			q <- item{sym: g.Symbol, trade: &tt, fill: true}
		}
	case domain.OHLC:
		cb, ok := s.venue.(venues.CandleBackfiller)
		if !ok {
			return errors.New("the venue cannot backfill candles")
		}
		for b, err := range cb.BackfillCandles(ctx, venues.CandleRequest{Symbol: g.Symbol, Span: s.req.Span, Range: g.Range}) {
			if err != nil {
				return err
			}
			bb := b
			q <- item{sym: g.Symbol, bar: &bb, fill: true}
		}
	default:
		return nil
	}
	return nil
}

// handle applies one queue item.
func (s *streamer) handle(ctx context.Context, it item) error {
	ds := s.bySym[it.sym]
	if ds == nil {
		if len(s.order) == 1 && it.sym.IsZero() {
			ds = s.order[0]
		} else {
			return nil // a symbol not asked for
		}
	}
	switch {
	case it.gap != nil:
		s.hole(ds, *it.gap)
	case it.filled != nil:
		ds.holes = removeRange(ds.holes, *it.filled)
		if err := s.cover(ctx, ds, *it.filled); err != nil {
			return err
		}
	case it.failed != nil:
		ds.holes = removeRange(ds.holes, *it.failed)
		ds.unfilled = append(ds.unfilled, *it.failed)
	case it.trade != nil:
		t := *it.trade
		if it.fill {
			ds.filled++
		} else {
			ds.records++
			if !ds.started {
				ds.started, ds.covFrom, ds.covUntil = true, t.Time, t.Time
			}
			ds.high = max(ds.high, t.Time)
		}
		ds.tbuf = append(ds.tbuf, t)
		if len(ds.tbuf) >= backfillBatch {
			return s.writeBuf(ctx, ds)
		}
	case it.bar != nil:
		b := *it.bar
		span := ds.id.Span
		if it.fill {
			ds.filled++
		} else {
			ds.records++
			if !ds.started {
				ds.started, ds.covFrom, ds.covUntil, ds.high = true, b.OpenTime, b.OpenTime, b.OpenTime
			}
			if b.OpenTime > ds.high {
				// Bars missing between the last one and this one.
				s.hole(ds, venues.Gap{Symbol: ds.id.Symbol, Range: domain.Range{Start: ds.high, End: b.OpenTime}, Reason: "closed bars missing from the stream", Reported: s.app.now().UnixNano()})
			}
			ds.high = max(ds.high, span.Next(b.OpenTime))
		}
		ds.bbuf = append(ds.bbuf, b)
		if len(ds.bbuf) >= backfillBatch {
			return s.writeBuf(ctx, ds)
		}
	case it.book != nil:
		b := *it.book
		if b.RecvTime == 0 {
			b.RecvTime = s.app.now().UnixNano()
		}
		every := s.req.BookEvery
		if every == 0 {
			every = DefaultBookEvery
		}
		if !ds.sampleBook(&b, every) {
			return nil
		}
		t := b.Time // the time the store files it under
		if t == 0 {
			t = b.RecvTime
		}
		if len(b.Bids) > s.req.Depth {
			b.Bids = b.Bids[:s.req.Depth]
		}
		if len(b.Asks) > s.req.Depth {
			b.Asks = b.Asks[:s.req.Depth]
		}
		b.Bids, b.Asks = slices.Clone(b.Bids), slices.Clone(b.Asks)
		ds.records++
		ds.high = max(ds.high, t)
		ds.kbuf = append(ds.kbuf, b)
		if len(ds.kbuf) >= 256 {
			return s.writeBuf(ctx, ds)
		}
	}
	return nil
}

// sampleBook reports whether b (RecvTime set) is stored: at most one
// snapshot per every, none skipped when every < 0.
//
// Books are sampled on one clock per symbol, never on a mix: the venue's
// time while every book of the symbol carried one, else — from the first
// book without a venue time on, for the rest of the stream — the receive
// time. Comparing a venue time with a receive time would hold back every
// later book for as long as the venue's clock is behind the local one
// (pype sim --now <past>), or let everything through while it is ahead. A
// clock that jumps back by more than every (a venue's clock reset) restarts
// the sampling instead of stalling it.
func (ds *streamDS) sampleBook(b *domain.BookSnapshot, every time.Duration) bool {
	if b.Time == 0 {
		ds.bookRecv = true
	}
	t, last := b.Time, ds.lastBook
	if ds.bookRecv {
		t, last = b.RecvTime, ds.lastBookRecv
	}
	if ds.started && every > 0 && t < last+int64(every) && t >= last-int64(every) {
		return false
	}
	ds.started, ds.lastBook, ds.lastBookRecv = true, b.Time, b.RecvTime
	return true
}

// hole records a gap and queues a REST fill when the venue can backfill.
func (s *streamer) hole(ds *streamDS, g venues.Gap) {
	if g.Symbol.IsZero() {
		g.Symbol = ds.id.Symbol
	}
	if g.Range.Start >= g.Range.End {
		return
	}
	ds.gaps = append(ds.gaps, g)
	s.app.log().Warn("stream: hole in live data; filling over REST", "dataset", ds.id.String(), "range", g.Range.String(), "reason", g.Reason)
	canFill := false
	switch ds.id.Type {
	case domain.Trades:
		_, canFill = s.venue.(venues.TradeBackfiller)
	case domain.OHLC:
		_, canFill = s.venue.(venues.CandleBackfiller)
	}
	if !canFill {
		ds.unfilled = append(ds.unfilled, g.Range)
		return
	}
	ds.holes = append(ds.holes, g.Range)
	s.fillMu.Lock()
	s.fills = append(s.fills, g)
	s.fillMu.Unlock()
	s.kick()
}

func removeRange(rs []domain.Range, r domain.Range) []domain.Range {
	for i, x := range rs {
		if x == r {
			return slices.Delete(rs, i, i+1)
		}
	}
	return rs
}

func (s *streamer) writeBuf(ctx context.Context, ds *streamDS) error {
	wctx := context.WithoutCancel(ctx)
	var err error
	switch {
	case len(ds.tbuf) > 0:
		err = ds.trades.Write(wctx, ds.tbuf)
		ds.tbuf = ds.tbuf[:0]
	case len(ds.bbuf) > 0:
		err = ds.bars.Write(wctx, ds.bbuf)
		ds.bbuf = ds.bbuf[:0]
	case len(ds.kbuf) > 0:
		err = ds.books.Write(wctx, ds.kbuf)
		ds.kbuf = ds.kbuf[:0]
	}
	if err != nil {
		return fmt.Errorf("%s: %w", ds.id, err)
	}
	return nil
}

func (s *streamer) cover(ctx context.Context, ds *streamDS, r domain.Range) error {
	if r.Start >= r.End {
		return nil
	}
	if err := s.writeBuf(ctx, ds); err != nil {
		return err
	}
	var err error
	wctx := context.WithoutCancel(ctx)
	switch ds.id.Type {
	case domain.Trades:
		err = ds.trades.Cover(wctx, r)
	case domain.OHLC:
		err = ds.bars.Cover(wctx, r)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", ds.id, err)
	}
	ds.coverDone = appendRange(ds.coverDone, r)
	return nil
}

func appendRange(rs []domain.Range, r domain.Range) []domain.Range {
	if n := len(rs); n > 0 && rs[n-1].End == r.Start {
		rs[n-1].End = r.End
		return rs
	}
	return append(rs, r)
}

// declare covers what the live stream has delivered since the last flush,
// minus open holes.
func (s *streamer) declare(ctx context.Context, ds *streamDS) error {
	if !ds.started || ds.id.Type == domain.Book {
		return nil
	}
	until := ds.high // trades: rows at ds.high may still come; candles: next open
	if until <= ds.covUntil {
		return nil
	}
	r := domain.Range{Start: ds.covUntil, End: until}
	parts := []domain.Range{r}
	for _, h := range append(slices.Clone(ds.holes), ds.unfilled...) {
		var next []domain.Range
		for _, p := range parts {
			if h.End <= p.Start || h.Start >= p.End {
				next = append(next, p)
				continue
			}
			if h.Start > p.Start {
				next = append(next, domain.Range{Start: p.Start, End: h.Start})
			}
			if h.End < p.End {
				next = append(next, domain.Range{Start: h.End, End: p.End})
			}
		}
		parts = next
	}
	for _, p := range parts {
		if err := s.cover(ctx, ds, p); err != nil {
			return err
		}
	}
	ds.covUntil = until
	return nil
}

// flush writes buffers, declares coverage and commits every dataset.
func (s *streamer) flush(ctx context.Context) error {
	wctx := context.WithoutCancel(ctx)
	var errs []error
	for _, ds := range s.order {
		if err := s.writeBuf(ctx, ds); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := s.declare(ctx, ds); err != nil {
			errs = append(errs, err)
			continue
		}
		var st store.WriterStats
		var err error
		switch {
		case ds.trades != nil:
			err = ds.trades.Flush(wctx)
			st = ds.trades.Stats()
		case ds.bars != nil:
			err = ds.bars.Flush(wctx)
			st = ds.bars.Stats()
		case ds.books != nil:
			err = ds.books.Flush(wctx)
			st = ds.books.Stats()
		}
		ds.added, ds.files = st.Added, st.Files
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ds.id, err))
		}
	}
	s.progress()
	return errors.Join(errs...)
}

func (s *streamer) progress() {
	if s.req.Progress == nil {
		return
	}
	var p StreamProgress
	for _, ds := range s.order {
		p.Records += ds.records
		p.Filled += ds.filled
		p.Added += ds.added
		p.Gaps += len(ds.gaps)
		p.Open += len(ds.holes)
		p.LastTime = max(p.LastTime, ds.high)
	}
	s.req.Progress(p)
}

// close flushes and closes every writer.
func (s *streamer) close(ctx context.Context) error {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalFlushTimeout)
	defer cancel()
	err := s.flush(fctx)
	var errs []error
	for _, ds := range s.order {
		var e error
		var st store.WriterStats
		switch {
		case ds.trades != nil:
			e = ds.trades.Close(fctx)
			st = ds.trades.Stats()
		case ds.bars != nil:
			e = ds.bars.Close(fctx)
			st = ds.bars.Stats()
		case ds.books != nil:
			e = ds.books.Close(fctx)
			st = ds.books.Stats()
		}
		ds.added, ds.files = st.Added, st.Files
		if e != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ds.id, e))
		}
	}
	s.progress()
	return errors.Join(append([]error{err}, errs...)...)
}
