package binance

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators"
	"github.com/pype-go/pype/operators/orderbook"
	"github.com/pype-go/pype/transport/ws"
	"github.com/pype-go/pype/venues"
)

// DefaultStreamDepth is the number of levels per side a BookEvent carries
// when StreamRequest.Depth is 0.
const DefaultStreamDepth = 20

// errDisconnected is the reason given to the engine when a connection breaks.
var errDisconnected = errors.New("binance: depth stream connection lost")

// bookSym is one book of a feed.
type bookSym struct {
	sym   domain.Symbol
	vs    string
	name  string // stream name
	shard int
	live  bool // last state reported (consumer goroutine)

	mu    sync.Mutex
	ready chan struct{} // closed once a diff of the current connection reached the engine
	open  bool          // ready is not closed yet
	epoch int           // connections lost so far
}

func newBookSym(sym domain.Symbol, vs string) *bookSym {
	return &bookSym{sym: sym, vs: vs, name: strings.ToLower(vs) + "@depth@100ms", ready: make(chan struct{}), open: true}
}

// markReady records that the engine has a diff of the current connection.
func (b *bookSym) markReady() {
	b.mu.Lock()
	if b.open {
		close(b.ready)
		b.open = false
	}
	b.mu.Unlock()
}

// unready starts waiting for the next connection's first diff.
func (b *bookSym) unready() {
	b.mu.Lock()
	b.epoch++
	if !b.open {
		b.ready, b.open = make(chan struct{}), true
	}
	b.mu.Unlock()
}

func (b *bookSym) readyC() (<-chan struct{}, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ready, b.epoch
}

// bookFeed keeps books in an orderbook.Engine in sync from
// <sym>@depth@100ms diffs and REST snapshots. The engine applies Binance's
// U/u rule; the feed makes the snapshot wait until the symbol's connection
// delivers diffs (so a snapshot is never bridged to a stream that is down)
// and resyncs the books of a connection that broke.
type bookFeed struct {
	a     *Adapter
	eng   *orderbook.Engine
	depth int
	emit  func(venues.BookEvent) bool // nil: keep the books only
	m     *mux

	mu    sync.RWMutex // guards bySym (read by the engine's snapshot goroutines)
	bySym map[domain.Symbol]*bookSym
	// consumer goroutine only
	byVenue map[string]*bookSym
	ev      depthEvent
	delta   domain.BookDelta
	wake    chan struct{}
	sub     *operators.Subscription
	applied int64
}

// newBookFeed returns a feed with its engine (publishing state events on
// pub, or on its own publisher when nil) and its (idle) connections.
func (a *Adapter) newBookFeed(pub *operators.MultiPublisher, depth int) (*bookFeed, error) {
	if depth <= 0 {
		depth = DefaultStreamDepth
	}
	f := &bookFeed{a: a, depth: depth, bySym: map[domain.Symbol]*bookSym{}, byVenue: map[string]*bookSym{}, wake: make(chan struct{}, 1)}
	eng, err := orderbook.NewEngine(orderbook.Config{
		Venue:      Name,
		Continuity: orderbook.BinanceContinuity{},
		Snapshot:   f.snapshot,
		Publisher:  pub,
		Logger:     a.log,
	})
	if err != nil {
		return nil, err
	}
	f.eng = eng
	// Wake the consumer when a book's state changes in the engine's own
	// goroutines (a snapshot bridged), so it is reported at once.
	f.sub, err = operators.Subscribe(eng.Publisher(), orderbook.StateEvents, func(orderbook.Event) {
		select {
		case f.wake <- struct{}{}:
		default:
		}
	})
	if err != nil {
		eng.Close()
		return nil, err
	}
	if f.m, err = a.newMux("books", nil); err != nil {
		f.close()
		return nil, err
	}
	f.m.wake, f.m.onWake = f.wake, f.report
	return f, nil
}

func (f *bookFeed) close() {
	f.sub.Unsubscribe()
	f.eng.Close()
}

// snapshot is the engine's SnapshotFunc: wait until the symbol's connection
// delivers diffs, then read GET /api/v3/depth.
func (f *bookFeed) snapshot(ctx context.Context, sym domain.Symbol) (domain.BookSnapshot, error) {
	f.mu.RLock()
	b := f.bySym[sym]
	f.mu.RUnlock()
	if b == nil {
		return domain.BookSnapshot{}, fmt.Errorf("binance: %s book is not subscribed", sym)
	}
	ready, epoch := b.readyC()
	select {
	case <-ready:
	case <-ctx.Done():
		return domain.BookSnapshot{}, ctx.Err()
	}
	snap, err := f.a.BookSnapshot(ctx, sym, f.a.opt.depthSnapshot)
	if err != nil {
		return snap, err
	}
	// A connection lost while the snapshot was on its way: bridging it
	// would make the book live with no stream behind it. Try again once
	// the new connection delivers.
	if _, now := b.readyC(); now != epoch {
		return domain.BookSnapshot{}, errDisconnected
	}
	return snap, nil
}

// add registers a book and its stream (consumer goroutine, or before run).
func (f *bookFeed) add(b *bookSym) error {
	if _, dup := f.byVenue[b.vs]; dup {
		return nil
	}
	sh, err := f.m.addStream(b.name)
	if err != nil {
		return err
	}
	b.shard = sh
	f.mu.Lock()
	f.bySym[b.sym] = b
	f.mu.Unlock()
	f.byVenue[b.vs] = b
	return f.eng.Add(b.sym)
}

// remove drops a book (consumer goroutine).
func (f *bookFeed) remove(sym domain.Symbol) {
	f.mu.Lock()
	b := f.bySym[sym]
	delete(f.bySym, sym)
	f.mu.Unlock()
	f.eng.Remove(sym)
	if b != nil {
		delete(f.byVenue, b.vs)
		f.m.removeStream(b.name)
	}
}

// StreamBooks keeps a local order book per symbol in sync with Binance and
// yields its top req.Depth levels (default 20) after every update. Each book
// is synchronised the documented way: the <sym>@depth@100ms diff stream is
// buffered, a REST snapshot is fetched once the stream delivers, buffered
// diffs up to the snapshot's lastUpdateId are dropped, the first applied
// diff must straddle it (U ≤ lastUpdateId+1 ≤ u) and every later one must
// continue it (U = previous u + 1). A gap, a crossed book or a dropped
// connection resyncs just the books concerned. BookEvent.Live is false — and
// Book empty — whenever a book is not known to be consistent (syncing,
// resyncing, disconnected); that state is reported once when it begins.
// Many symbols share a connection (up to 1024 streams each).
func (a *Adapter) StreamBooks(ctx context.Context, req venues.StreamRequest) iter.Seq2[venues.BookEvent, error] {
	return func(yield func(venues.BookEvent, error) bool) {
		if len(req.Symbols) == 0 {
			yield(venues.BookEvent{}, errors.New("binance: stream books: no symbol (give at least one, e.g. BTC/USDT)"))
			return
		}
		var books []*bookSym
		for _, s := range req.Symbols {
			vs, err := a.VenueSymbol(ctx, s)
			if err != nil {
				yield(venues.BookEvent{}, fmt.Errorf("binance: stream books: %w", err))
				return
			}
			books = append(books, newBookSym(s, vs))
		}
		f, err := a.newBookFeed(nil, req.Depth)
		if err != nil {
			yield(venues.BookEvent{}, err)
			return
		}
		defer f.close()
		for _, b := range books {
			if err := f.add(b); err != nil {
				yield(venues.BookEvent{}, err)
				return
			}
		}
		f.emit = func(e venues.BookEvent) bool { return yield(e, nil) }
		if err := f.m.run(ctx, f); err != nil {
			yield(venues.BookEvent{}, err)
		}
	}
}

func (f *bookFeed) frame(_ int, fr ws.Frame, sf *frame) bool {
	if sf.Kind != evDepthUpdate {
		return true
	}
	err := parseDepthUpdate(sf.Data, &f.ev)
	if err != nil && refine(fr.Data, sf) {
		err = parseDepthUpdate(sf.Data, &f.ev)
	}
	if err != nil {
		f.a.log.Warn("binance: undecodable depth update skipped; resyncing its connection's books", "err", err)
		return f.hole(-1)
	}
	b := f.byVenue[string(f.ev.Symbol)]
	if b == nil {
		return true
	}
	d := &f.delta
	*d = domain.BookDelta{Symbol: b.sym, FirstSeq: f.ev.First, Seq: f.ev.Final, Time: f.ev.EventTime,
		RecvTime: fr.Received, Bids: f.ev.Bids, Asks: f.ev.Asks}
	if err := f.eng.Handle(d); err != nil {
		f.a.log.Debug("binance: depth update refused", "symbol", b.sym.String(), "err", err)
		return true
	}
	f.applied++
	b.markReady()
	return f.reportSym(b)
}

// reportSym emits b's state: the top levels while live, one not-live
// event when it stops being live.
func (f *bookFeed) reportSym(b *bookSym) bool {
	if f.emit == nil {
		return true
	}
	notLive := func() bool {
		if !b.live {
			return true
		}
		b.live = false
		return f.emit(venues.BookEvent{Symbol: b.sym, Live: false, Book: domain.BookSnapshot{Symbol: b.sym}})
	}
	v, ok := f.eng.Book(b.sym)
	if !ok || !v.Live() {
		return notLive()
	}
	snap := domain.BookSnapshot{Symbol: b.sym}
	err := v.Read(func(bk *orderbook.Book) {
		snap.Bids, snap.Asks = bk.TopN(f.depth)
		snap.Seq, snap.Time, snap.RecvTime = bk.Seq(), bk.Time(), bk.RecvTime()
	})
	if err != nil { // went stale between the check and the read
		return notLive()
	}
	b.live = true
	return f.emit(venues.BookEvent{Symbol: b.sym, Live: true, Book: snap})
}

// report emits the books whose liveness changed (woken by engine events).
func (f *bookFeed) report() bool {
	for _, b := range f.byVenue {
		v, ok := f.eng.Book(b.sym)
		if live := ok && v.Live(); live != b.live {
			if !f.reportSym(b) {
				return false
			}
		}
	}
	return true
}

// hole: shard sh's connection broke (sh < 0: every shard), so its books can
// no longer be trusted: they are invalidated at once and resynced from a
// snapshot once the new connection delivers.
func (f *bookFeed) hole(sh int) bool {
	for _, b := range f.byVenue {
		if sh >= 0 && b.shard != sh {
			continue
		}
		b.unready()
		_ = f.eng.Resync(b.sym, errDisconnected)
		if !f.reportSym(b) {
			return false
		}
	}
	return true
}

// resumed: shard sh has a live connection; its books are tracked (Add is a
// no-op for tracked books) and sync as soon as diffs arrive.
func (f *bookFeed) resumed(sh int) bool {
	for _, b := range f.byVenue {
		if b.shard == sh {
			if err := f.eng.Add(b.sym); err != nil {
				f.a.log.Warn("binance: cannot track book", "symbol", b.sym.String(), "err", err)
			}
		}
	}
	return true
}
