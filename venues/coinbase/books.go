package coinbase

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync/atomic"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators"
	"github.com/pype-go/pype/operators/orderbook"
	"github.com/pype-go/pype/transport/ws"
	"github.com/pype-go/pype/venues"
)

// DefaultStreamDepth is the number of levels per side a BookEvent carries
// when StreamRequest.Depth is 0.
const DefaultStreamDepth = 20

// bookChannel is the public level-2 channel. The unbatched "level2"
// channel of the Exchange feed requires authentication since 2023;
// level2_batch carries the same snapshot and l2update messages, batched
// every 50 ms.
const bookChannel = "level2_batch"

// errBookRefresh is the reason of a periodic book refresh.
var errBookRefresh = errors.New("coinbase: periodic level2 refresh")

// bookStream feeds level2_batch messages into an orderbook.Engine.
type bookStream struct {
	a      *Adapter
	eng    *orderbook.Engine
	feed   *feed
	by     map[string]*prodState
	bySym  map[domain.Symbol]*prodState
	order  []*prodState
	depth  int
	emit   func(venues.BookEvent) bool
	delta  domain.BookDelta
	snap   domain.BookSnapshot
	wake   chan struct{}
	resubs atomic.Int64 // resubscriptions sent
}

// StreamBooks keeps a local order book per symbol in sync with Coinbase
// and yields its top req.Depth levels (default 20) after every update.
//
// Coinbase's level2 messages carry no sequence number, so the venue's
// "sequence" continuity cannot be checked message by message (its REST
// book's sequence counts full-channel messages, which the public feed does
// not show). What pype can and does prove: the book is built from the
// snapshot the feed sends on subscribing and from the l2updates of the
// same connection, in order (TCP; the feed guarantees level2 delivery);
// each message gets a per-connection sequence number checked by the
// orderbook engine's Coinbase rule; a new connection invalidates every
// book until its fresh snapshot arrives; a crossed book resyncs by
// unsubscribing and resubscribing the product (a fresh snapshot); and,
// with WithBookRefresh, each book is replaced by a fresh snapshot
// periodically, bounding the life of any divergence the venue could cause
// without telling. BookEvent.Live is false — and Book empty — whenever a
// book is not known to be consistent; such a state is reported once when
// it begins.
func (a *Adapter) StreamBooks(ctx context.Context, req venues.StreamRequest) iter.Seq2[venues.BookEvent, error] {
	return func(yield func(venues.BookEvent, error) bool) {
		order, by, err := a.resolveProducts(ctx, req.Symbols)
		if err != nil {
			yield(venues.BookEvent{}, fmt.Errorf("coinbase: stream books: %w", err))
			return
		}
		h := &bookStream{a: a, by: by, order: order, depth: req.Depth, bySym: map[domain.Symbol]*prodState{}, wake: make(chan struct{}, 1)}
		if h.depth <= 0 {
			h.depth = DefaultStreamDepth
		}
		for _, ps := range order {
			h.bySym[ps.sym] = ps
		}
		h.feed, err = a.newFeed("books", productIDs(order), []string{bookChannel, "heartbeat"})
		if err != nil {
			yield(venues.BookEvent{}, err)
			return
		}
		h.eng, err = orderbook.NewEngine(orderbook.Config{
			Venue:       Name,
			Continuity:  orderbook.CoinbaseContinuity{},
			Resubscribe: h.resubscribe,
			Logger:      a.log,
		})
		if err != nil {
			yield(venues.BookEvent{}, err)
			return
		}
		defer h.eng.Close()
		sub, err := operators.Subscribe(h.eng.Publisher(), orderbook.StateEvents, func(orderbook.Event) {
			select {
			case h.wake <- struct{}{}:
			default:
			}
		})
		if err != nil {
			yield(venues.BookEvent{}, err)
			return
		}
		defer sub.Unsubscribe()
		h.emit = func(e venues.BookEvent) bool { return yield(e, nil) }
		h.feed.wake, h.feed.onWake = h.wake, h.report
		if err := h.feed.run(ctx, h); err != nil {
			yield(venues.BookEvent{}, err)
		}
	}
}

// resubscribe makes the feed send a fresh snapshot of sym's book:
// unsubscribe and subscribe its level2_batch again (engine goroutine).
func (h *bookStream) resubscribe(ctx context.Context, sym domain.Symbol) error {
	ps := h.bySym[sym]
	if ps == nil {
		return fmt.Errorf("coinbase: resubscribe: %s is not streamed", sym)
	}
	h.resubs.Add(1)
	p := []string{ps.product}
	if err := h.feed.send(ctx, "unsubscribe", p, []string{bookChannel}); err != nil {
		return err
	}
	return h.feed.send(ctx, "subscribe", p, []string{bookChannel})
}

func (h *bookStream) message(f ws.Frame, m *wsMsg) bool {
	ps := h.by[string(m.Product)]
	if ps == nil {
		return true
	}
	switch m.Kind {
	case msgSnapshot:
		ps.seq++
		ps.snap, ps.snapAt = true, time.Now()
		t := m.Time
		if t == 0 {
			// The level2 snapshot carries no time: stamp it with the best
			// estimate of the venue's clock (as BookSnapshot does), so that
			// every book of the stream is on the venue's time base.
			t = h.a.serverNow()
		}
		h.snap = domain.BookSnapshot{Symbol: ps.sym, Seq: ps.seq, Time: t, RecvTime: f.Received, Bids: m.Bids, Asks: m.Asks}
		if h.a.opt.onSnapshot != nil {
			h.a.opt.onSnapshot(ps.sym, ps.seq)
		}
		if err := h.eng.HandleSnapshot(&h.snap); err != nil {
			h.a.log.Debug("coinbase: level2 snapshot refused", "symbol", ps.sym.String(), "err", err)
		}
	case msgL2Update:
		if !ps.snap {
			return true // an update before this connection's snapshot: nothing to apply it to
		}
		ps.seq++
		h.delta = domain.BookDelta{Symbol: ps.sym, Seq: ps.seq, Time: m.Time, RecvTime: f.Received, Bids: m.Bids, Asks: m.Asks}
		if err := h.eng.Handle(&h.delta); err != nil {
			h.a.log.Debug("coinbase: l2update refused", "symbol", ps.sym.String(), "err", err)
		}
	default:
		return true
	}
	return h.reportSym(ps)
}

// reportSym emits ps's state: the top levels while live, one not-live
// event when it stops being live.
func (h *bookStream) reportSym(ps *prodState) bool {
	notLive := func() bool {
		if ps.live {
			ps.live = false
			return h.emit(venues.BookEvent{Symbol: ps.sym, Live: false, Book: domain.BookSnapshot{Symbol: ps.sym}})
		}
		return true
	}
	v, ok := h.eng.Book(ps.sym)
	if !ok || !v.Live() {
		return notLive()
	}
	var snap domain.BookSnapshot
	err := v.Read(func(b *orderbook.Book) {
		snap.Bids, snap.Asks = b.TopN(h.depth)
		snap.Seq, snap.Time, snap.RecvTime = b.Seq(), b.Time(), b.RecvTime()
	})
	if err != nil { // went stale between the check and the read
		return notLive()
	}
	snap.Symbol = ps.sym
	ps.live = true
	return h.emit(venues.BookEvent{Symbol: ps.sym, Live: true, Book: snap})
}

// report emits the state of books whose liveness changed (woken by the
// engine's state events).
func (h *bookStream) report() bool {
	for _, ps := range h.order {
		v, ok := h.eng.Book(ps.sym)
		if live := ok && v.Live(); live != ps.live {
			if !h.reportSym(ps) {
				return false
			}
		}
	}
	return true
}

// hole: the connection broke, so every book may miss updates. They are
// dropped from the engine (not live) until the next connection's
// snapshots arrive.
func (h *bookStream) hole() bool {
	for _, ps := range h.order {
		ps.snap = false
		h.eng.Remove(ps.sym)
		if !h.reportSym(ps) {
			return false
		}
	}
	return true
}

// resumed starts (again) syncing every book: the subscription sent on
// connecting brings a snapshot per product.
func (h *bookStream) resumed() bool {
	for _, ps := range h.order {
		ps.snap = false
		if err := h.eng.Add(ps.sym); err != nil {
			h.a.log.Warn("coinbase: cannot track book", "symbol", ps.sym.String(), "err", err)
		}
	}
	return true
}

// tick refreshes books whose snapshot is older than WithBookRefresh.
func (h *bookStream) tick() bool {
	d := h.a.opt.bookRefresh
	if d <= 0 {
		return true
	}
	for _, ps := range h.order {
		if ps.snap && ps.live && time.Since(ps.snapAt) >= d {
			ps.snapAt = time.Now()
			_ = h.eng.Resync(ps.sym, errBookRefresh)
		}
	}
	return h.report()
}
