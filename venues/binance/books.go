package binance

import (
	"context"
	"fmt"
	"iter"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators"
	"github.com/pype-go/pype/operators/orderbook"
	"github.com/pype-go/pype/transport/ws"
	"github.com/pype-go/pype/venues"
)

// DefaultStreamDepth is the number of levels per side a BookEvent carries
// when StreamRequest.Depth is 0.
const DefaultStreamDepth = 20

// newBookEngine returns the order-book sync engine for Binance: U/u
// continuity, REST snapshots of the configured depth.
func (a *Adapter) newBookEngine(pub *operators.MultiPublisher) (*orderbook.Engine, error) {
	return orderbook.NewEngine(orderbook.Config{
		Venue:      Name,
		Continuity: orderbook.BinanceContinuity{},
		Snapshot: func(ctx context.Context, sym domain.Symbol) (domain.BookSnapshot, error) {
			return a.BookSnapshot(ctx, sym, a.opt.depthSnapshot)
		},
		Publisher: pub,
		Logger:    a.log,
	})
}

// bookStream feeds <sym>@depth@100ms diffs into an orderbook.Engine.
type bookStream struct {
	a      *Adapter
	eng    *orderbook.Engine
	bySym  map[string]*streamSym
	shards [][]*streamSym
	depth  int
	emit   func(venues.BookEvent) bool // nil: keep the books only
	ev     depthEvent
	delta  domain.BookDelta
	wake   chan struct{}
	sub    *operators.Subscription
	// applied counts deltas handed to the engine.
	applied int64
}

func (a *Adapter) newBookStream(ctx context.Context, eng *orderbook.Engine, syms []domain.Symbol, depth int) (*bookStream, []string, error) {
	names, bySym, shards, err := a.resolveStreams(ctx, syms, "@depth@100ms")
	if err != nil {
		return nil, nil, err
	}
	if depth <= 0 {
		depth = DefaultStreamDepth
	}
	h := &bookStream{a: a, eng: eng, bySym: bySym, shards: shards, depth: depth, wake: make(chan struct{}, 1)}
	// Wake the consumer when a book goes live (the snapshot is bridged in
	// the engine's goroutine) so the first live state is reported at once.
	h.sub, err = operators.Subscribe(eng.Publisher(), orderbook.StateEvents, func(orderbook.Event) {
		select {
		case h.wake <- struct{}{}:
		default:
		}
	})
	if err != nil {
		return nil, nil, err
	}
	return h, names, nil
}

// StreamBooks keeps a local order book per symbol in sync with Binance and
// yields its top req.Depth levels (default 20) after every update. Each book
// is synchronised the documented way: the <sym>@depth@100ms diff stream is
// buffered, a REST snapshot is fetched, buffered diffs up to the snapshot's
// lastUpdateId are dropped, the first applied diff must straddle it
// (U ≤ lastUpdateId+1 ≤ u) and every later one must continue it (U = previous
// u + 1). A gap, a crossed book or a dropped connection resyncs just the
// books concerned. BookEvent.Live is false — and Book empty — whenever a
// book is not known to be consistent (syncing, resyncing, disconnected);
// such a state is reported once when it begins.
func (a *Adapter) StreamBooks(ctx context.Context, req venues.StreamRequest) iter.Seq2[venues.BookEvent, error] {
	return func(yield func(venues.BookEvent, error) bool) {
		eng, err := a.newBookEngine(nil)
		if err != nil {
			yield(venues.BookEvent{}, err)
			return
		}
		defer eng.Close()
		h, names, err := a.newBookStream(ctx, eng, req.Symbols, req.Depth)
		if err != nil {
			yield(venues.BookEvent{}, fmt.Errorf("binance: stream books: %w", err))
			return
		}
		defer h.sub.Unsubscribe()
		h.emit = func(e venues.BookEvent) bool { return yield(e, nil) }
		if err := h.run(ctx, names); err != nil {
			yield(venues.BookEvent{}, err)
		}
	}
}

func (h *bookStream) run(ctx context.Context, names []string) error {
	m, err := h.a.newMux("books", names)
	if err != nil {
		return err
	}
	m.wake, m.onWake = h.wake, h.report
	return m.run(ctx, h)
}

func (h *bookStream) frame(_ int, f ws.Frame, fr *frame) bool {
	if fr.Kind != evDepthUpdate {
		return true
	}
	if err := parseDepthUpdate(fr.Data, &h.ev); err != nil {
		h.a.log.Warn("binance: undecodable depth update skipped; resyncing", "err", err)
		h.resyncAll(err)
		return true
	}
	ss := h.bySym[string(h.ev.Symbol)]
	if ss == nil {
		return true
	}
	d := &h.delta
	*d = domain.BookDelta{Symbol: ss.sym, FirstSeq: h.ev.First, Seq: h.ev.Final, Time: h.ev.EventTime,
		RecvTime: f.Received, Bids: h.ev.Bids, Asks: h.ev.Asks}
	if err := h.eng.Handle(d); err != nil {
		h.a.log.Debug("binance: depth update refused", "symbol", ss.sym.String(), "err", err)
	}
	h.applied++
	return h.reportSym(ss)
}

func (h *bookStream) resyncAll(reason error) {
	for _, ss := range h.bySym {
		_ = h.eng.Resync(ss.sym, reason)
	}
}

// reportSym emits ss's state: the top levels while live, one not-live
// event when it stops being live.
func (h *bookStream) reportSym(ss *streamSym) bool {
	if h.emit == nil {
		return true
	}
	v, ok := h.eng.Book(ss.sym)
	if !ok || !v.Live() {
		if ss.live {
			ss.live = false
			return h.emit(venues.BookEvent{Symbol: ss.sym, Live: false, Book: domain.BookSnapshot{Symbol: ss.sym}})
		}
		return true
	}
	var snap domain.BookSnapshot
	err := v.Read(func(b *orderbook.Book) {
		snap.Bids, snap.Asks = b.TopN(h.depth)
		snap.Seq, snap.Time, snap.RecvTime = b.Seq(), b.Time(), b.RecvTime()
	})
	if err != nil { // went stale between the check and the read
		if ss.live {
			ss.live = false
			return h.emit(venues.BookEvent{Symbol: ss.sym, Live: false, Book: domain.BookSnapshot{Symbol: ss.sym}})
		}
		return true
	}
	snap.Symbol = ss.sym
	ss.live = true
	return h.emit(venues.BookEvent{Symbol: ss.sym, Live: true, Book: snap})
}

// report emits the state of books whose liveness changed (woken by the
// engine's state events).
func (h *bookStream) report() bool {
	for _, ss := range h.bySym {
		v, ok := h.eng.Book(ss.sym)
		if live := ok && v.Live(); live != ss.live {
			if !h.reportSym(ss) {
				return false
			}
		}
	}
	return true
}

// hole: the connection broke, so its books can no longer be trusted. They
// are dropped from the engine (not live) until the connection is back.
func (h *bookStream) hole(sh int) bool {
	for _, ss := range h.shards[sh] {
		h.eng.Remove(ss.sym)
		if !h.reportSym(ss) {
			return false
		}
	}
	return true
}

// resumed starts (again) syncing the shard's books: the engine buffers the
// diffs of the new connection and bridges them to a fresh snapshot.
func (h *bookStream) resumed(sh int) bool {
	for _, ss := range h.shards[sh] {
		if err := h.eng.Add(ss.sym); err != nil {
			h.a.log.Warn("binance: cannot track book", "symbol", ss.sym.String(), "err", err)
		}
	}
	return true
}
