package okx

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

// bookStream feeds books pushes into an orderbook.Engine.
type bookStream struct {
	a      *Adapter
	eng    *orderbook.Engine
	m      *mux
	bySym  map[string]*streamSym
	shards []*shard
	depth  int
	emit   func(venues.BookEvent) bool // nil: keep the books only
	msg    bookMsg
	delta  domain.BookDelta
	wake   chan struct{}
	sub    *operators.Subscription
}

// newBookStream plans the books subscriptions of syms and builds the
// engine: in-band snapshots (the books channel starts with one), OKX's
// seqId/prevSeqId continuity, OKX's checksum of the top 25 levels, and a
// resubscribe (unsubscribe + subscribe on the symbol's connection) to get
// a fresh snapshot after a gap or a checksum mismatch.
func (a *Adapter) newBookStream(ctx context.Context, syms []domain.Symbol, depth int) (*bookStream, error) {
	shards, bySym, err := a.planShards(ctx, syms, PublicPath, chBooks, a.opt.booksPerConn)
	if err != nil {
		return nil, err
	}
	if depth <= 0 {
		depth = DefaultStreamDepth
	}
	h := &bookStream{a: a, bySym: bySym, shards: shards, depth: depth, wake: make(chan struct{}, 1)}
	if h.m, err = a.newMux("books", shards); err != nil {
		return nil, err
	}
	h.eng, err = orderbook.NewEngine(orderbook.Config{
		Venue:       Name,
		Continuity:  orderbook.OKXContinuity{},
		Checksum:    orderbook.OKXChecksum{Depth: 25},
		Resubscribe: h.resubscribe,
		Logger:      a.log,
	})
	if err != nil {
		return nil, err
	}
	// Wake the consumer when a book changes state (resyncs run in the
	// engine's goroutines), so the state is reported at once.
	h.sub, err = operators.Subscribe(h.eng.Publisher(), orderbook.StateEvents, func(orderbook.Event) {
		select {
		case h.wake <- struct{}{}:
		default:
		}
	})
	if err != nil {
		h.eng.Close()
		return nil, err
	}
	for _, ss := range bySym {
		if err := h.eng.Add(ss.sym); err != nil {
			h.close()
			return nil, err
		}
	}
	h.m.wake, h.m.onWake = h.wake, h.report
	return h, nil
}

func (h *bookStream) close() {
	h.sub.Unsubscribe()
	h.eng.Close()
}

// resubscribe asks OKX for a fresh snapshot of sym: unsubscribe and
// subscribe again on its connection (called by the engine).
func (h *bookStream) resubscribe(ctx context.Context, sym domain.Symbol) error {
	for _, ss := range h.bySym {
		if ss.sym != sym {
			continue
		}
		arg := subArg{Channel: chBooks, InstID: ss.inst}
		if err := h.m.send(ctx, ss.shard, "unsubscribe", arg); err != nil {
			return err
		}
		return h.m.send(ctx, ss.shard, "subscribe", arg)
	}
	return fmt.Errorf("okx: resubscribe %s: not streamed", sym)
}

// StreamBooks keeps a local order book per symbol in sync with OKX's books
// channel (400 levels) and yields its top req.Depth levels (default 20)
// after every update. The channel starts with a snapshot; every update
// must continue the sequence (prevSeqId = the book's seqId) and match
// OKX's CRC32 checksum of the top 25 levels. A gap, a checksum mismatch,
// a crossed book or a dropped connection resyncs just the books concerned
// by resubscribing them. BookEvent.Live is false — and Book empty —
// whenever a book is not known to be consistent; such a state is reported
// once when it begins.
func (a *Adapter) StreamBooks(ctx context.Context, req venues.StreamRequest) iter.Seq2[venues.BookEvent, error] {
	return func(yield func(venues.BookEvent, error) bool) {
		h, err := a.newBookStream(ctx, req.Symbols, req.Depth)
		if err != nil {
			yield(venues.BookEvent{}, fmt.Errorf("okx: stream books: %w", err))
			return
		}
		defer h.close()
		h.emit = func(e venues.BookEvent) bool { return yield(e, nil) }
		if err := h.m.run(ctx, h); err != nil {
			yield(venues.BookEvent{}, fmt.Errorf("okx: stream books: %w", err))
		}
	}
}

func (h *bookStream) frame(_ int, f ws.Frame, fr *frame) bool {
	if string(fr.Channel) != chBooks {
		return true
	}
	ss := h.bySym[string(fr.InstID)]
	if ss == nil {
		return true
	}
	snapshot := string(fr.Action) == "snapshot"
	if err := wsBook(fr.Data, &h.msg); err != nil {
		h.a.log.Warn("okx: undecodable books push skipped; resyncing", "symbol", ss.sym.String(), "err", err)
		_ = h.eng.Resync(ss.sym, err)
		return h.reportSym(ss)
	}
	h.msg.delta(ss.sym, snapshot, f.Received, &h.delta)
	if err := h.eng.Handle(&h.delta); err != nil {
		h.a.log.Debug("okx: books push refused", "symbol", ss.sym.String(), "err", err)
	}
	return h.reportSym(ss)
}

// reportSym emits ss's state: the top levels while live, one not-live
// event when it stops being live.
func (h *bookStream) reportSym(ss *streamSym) bool {
	if h.emit == nil {
		return true
	}
	notLive := func() bool {
		if !ss.live {
			return true
		}
		ss.live = false
		return h.emit(venues.BookEvent{Symbol: ss.sym, Book: domain.BookSnapshot{Symbol: ss.sym}})
	}
	v, ok := h.eng.Book(ss.sym)
	if !ok || !v.Live() {
		return notLive()
	}
	snap := domain.BookSnapshot{Symbol: ss.sym}
	err := v.Read(func(b *orderbook.Book) {
		snap.Bids, snap.Asks = b.TopN(h.depth)
		snap.Seq, snap.Time, snap.RecvTime = b.Seq(), b.Time(), b.RecvTime()
	})
	if err != nil { // went stale between the check and the read
		return notLive()
	}
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
	for _, ss := range h.shards[sh].syms {
		h.eng.Remove(ss.sym)
		if !h.reportSym(ss) {
			return false
		}
	}
	return true
}

// resumed tracks the shard's books again: the new connection's
// subscriptions start with snapshots.
func (h *bookStream) resumed(sh int) bool {
	for _, ss := range h.shards[sh].syms {
		if err := h.eng.Add(ss.sym); err != nil {
			h.a.log.Warn("okx: cannot track book", "symbol", ss.sym.String(), "err", err)
		}
	}
	return true
}
