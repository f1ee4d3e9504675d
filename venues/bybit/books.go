package bybit

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strconv"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators"
	"github.com/pype-go/pype/operators/orderbook"
	"github.com/pype-go/pype/transport/ws"
	"github.com/pype-go/pype/venues"
)

// DefaultStreamDepth is the number of levels per side a BookEvent carries
// when StreamRequest.Depth is 0.
const DefaultStreamDepth = 20

// topicDepth picks the orderbook.<depth> topic for a report depth: the
// configured one, else the smallest that holds depth.
func (a *Adapter) topicDepth(cat Category, depth int) (int, error) {
	depths := bookDepths[cat]
	if a.opt.bookDepth != 0 {
		if !slices.Contains(depths, a.opt.bookDepth) {
			return 0, &domain.CapabilityError{Venue: Name, What: fmt.Sprintf("order-book topic depth %d on %s", a.opt.bookDepth, cat), Accept: fmt.Sprint(depths)}
		}
		if depth > a.opt.bookDepth {
			return 0, &domain.CapabilityError{Venue: Name, What: fmt.Sprintf("%d book levels from orderbook.%d", depth, a.opt.bookDepth), Accept: fmt.Sprintf("up to %d", a.opt.bookDepth)}
		}
		return a.opt.bookDepth, nil
	}
	for _, d := range depths {
		if d >= depth {
			return d, nil
		}
	}
	return 0, &domain.CapabilityError{Venue: Name, What: fmt.Sprintf("a live book of %d levels on %s", depth, cat), Accept: fmt.Sprintf("up to %d levels (topics %v)", depths[len(depths)-1], depths)}
}

// bookStream feeds orderbook.<depth>.<SYM> messages into an
// orderbook.Engine (in-band snapshots, Bybit continuity).
type bookStream struct {
	a       *Adapter
	eng     *orderbook.Engine
	m       *mux
	bySym   map[symKey]*streamSym
	order   []*streamSym
	byCanon map[domain.Symbol]*streamSym
	depth   int
	emit    func(venues.BookEvent) bool
	ev      wsBook
	delta   domain.BookDelta
	wake    chan struct{}
	sub     *operators.Subscription
	applied int64
}

// StreamBooks keeps a local order book per symbol in sync with Bybit and
// yields its top req.Depth levels (default 20) after every update. Each
// book follows orderbook.<depth>.<SYM> (depth: WithBookDepth, else the
// smallest topic holding req.Depth): the snapshot sent on subscription
// replaces the book, every delta must carry update id u = previous + 1
// (a snapshot, or u = 1 after a Bybit service restart, resets it), size 0
// deletes a level. A gap, a crossed book or a malformed message
// resubscribes just that topic for a fresh snapshot; a dropped connection
// resyncs the books it carried. BookEvent.Live is false — and Book empty —
// whenever a book is not known to be consistent; such a state is reported
// once when it begins.
func (a *Adapter) StreamBooks(ctx context.Context, req venues.StreamRequest) iter.Seq2[venues.BookEvent, error] {
	return func(yield func(venues.BookEvent, error) bool) {
		depth := req.Depth
		if depth <= 0 {
			depth = DefaultStreamDepth
		}
		var topicDepth int
		topics, bySym, order, err := a.resolveTopics(ctx, req.Symbols, func(cat Category, vs string) (string, error) {
			d, err := a.topicDepth(cat, depth)
			topicDepth = max(topicDepth, d)
			return "orderbook." + strconv.Itoa(d) + "." + vs, err
		})
		if err != nil {
			yield(venues.BookEvent{}, fmt.Errorf("bybit: stream books: %w", err))
			return
		}
		m, err := a.newMux("books", topics)
		if err != nil {
			yield(venues.BookEvent{}, err)
			return
		}
		bind(m, order)
		h := &bookStream{a: a, m: m, bySym: bySym, order: order, depth: depth, wake: make(chan struct{}, 1),
			byCanon: map[domain.Symbol]*streamSym{}}
		for _, ss := range order {
			h.byCanon[ss.sym] = ss
		}
		h.eng, err = orderbook.NewEngine(orderbook.Config{
			Venue:              Name,
			Continuity:         orderbook.BybitContinuity{},
			Resubscribe:        h.resubscribe,
			ResubscribeTimeout: a.opt.resubscribeTTL,
			Depth:              topicDepth,
			Logger:             a.log,
		})
		if err != nil {
			yield(venues.BookEvent{}, err)
			return
		}
		defer h.eng.Close()
		// Wake the consumer when a book's state changes in the engine's
		// goroutines, so a state is reported at once.
		h.sub, err = operators.Subscribe(h.eng.Publisher(), orderbook.StateEvents, func(orderbook.Event) {
			select {
			case h.wake <- struct{}{}:
			default:
			}
		})
		if err != nil {
			yield(venues.BookEvent{}, err)
			return
		}
		defer h.sub.Unsubscribe()
		h.emit = func(e venues.BookEvent) bool { return yield(e, nil) }
		m.wake, m.onWake = h.wake, h.report
		if err := m.run(ctx, h); err != nil {
			yield(venues.BookEvent{}, err)
		}
	}
}

// resubscribe is the engine's hook: unsubscribe and subscribe the symbol's
// topic so Bybit sends a fresh snapshot.
func (h *bookStream) resubscribe(ctx context.Context, sym domain.Symbol) error {
	ss := h.byCanon[sym]
	if ss == nil {
		return fmt.Errorf("bybit: %s is not part of this book stream", sym)
	}
	return h.m.resubscribe(ctx, ss.cat, ss.topic)
}

func (h *bookStream) data(c *wsConn, f ws.Frame, fr *wsFrame) bool {
	kind, _, vs := splitTopic(fr.Topic)
	if kind != "orderbook" {
		return true
	}
	ss := h.bySym[symKey{c.cat, vs}]
	if ss == nil || fr.Topic != ss.topic {
		return true
	}
	if err := parseBookData(fr, &h.ev); err != nil {
		h.a.log.Warn("bybit: undecodable orderbook message; resyncing", "symbol", ss.sym.String(), "err", err)
		_ = h.eng.Resync(ss.sym, err)
		return h.reportSym(ss)
	}
	d := &h.delta
	*d = domain.BookDelta{Symbol: ss.sym, Seq: h.ev.U, Time: h.ev.Time, RecvTime: f.Received,
		Bids: h.ev.Bids, Asks: h.ev.Asks, Reset: h.ev.Snapshot}
	if err := h.eng.Handle(d); err != nil {
		h.a.log.Debug("bybit: orderbook message refused", "symbol", ss.sym.String(), "err", err)
	}
	h.applied++
	return h.reportSym(ss)
}

// reportSym emits ss's state: the top levels while live, one not-live
// event when it stops being live.
func (h *bookStream) reportSym(ss *streamSym) bool {
	notLive := func() bool {
		if !ss.live {
			return true
		}
		ss.live = false
		return h.emit(venues.BookEvent{Symbol: ss.sym, Live: false, Book: domain.BookSnapshot{Symbol: ss.sym}})
	}
	v, ok := h.eng.Book(ss.sym)
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
	snap.Symbol = ss.sym
	ss.live = true
	return h.emit(venues.BookEvent{Symbol: ss.sym, Live: true, Book: snap})
}

// report emits the state of books whose liveness changed (woken by the
// engine's state events).
func (h *bookStream) report() bool {
	for _, ss := range h.order {
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
func (h *bookStream) hole(c *wsConn) bool {
	for _, ss := range h.order {
		if ss.conn != c {
			continue
		}
		h.eng.Remove(ss.sym)
		if !h.reportSym(ss) {
			return false
		}
	}
	return true
}

func (h *bookStream) subscribed(*wsConn, []string) bool { return true }

// resumed starts (again) tracking the connection's books: the engine waits
// for the snapshot Bybit sends on subscription.
func (h *bookStream) resumed(c *wsConn) bool {
	for _, ss := range h.order {
		if ss.conn != c {
			continue
		}
		if err := h.eng.Add(ss.sym); err != nil {
			h.a.log.Warn("bybit: cannot track book", "symbol", ss.sym.String(), "err", err)
		}
	}
	return true
}
