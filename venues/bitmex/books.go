package bitmex

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators"
	"github.com/pype-go/pype/operators/orderbook"
	"github.com/pype-go/pype/transport/ws"
	"github.com/pype-go/pype/venues"
)

// DefaultStreamDepth is the number of levels per side a BookEvent carries
// when StreamRequest.Depth is 0.
const DefaultStreamDepth = 20

// Defaults of WithBookFlush: how long a symbol's book must stay quiet
// before a change not yet closed by a later timestamp is reported, and the
// longest a change is held back at all.
const (
	DefaultBookQuiet   = 20 * time.Millisecond
	DefaultBookMaxHold = time.Second
)

// idLevel is one level of a BitMEX L2 book, keyed by its id.
type idLevel struct {
	side  domain.Side
	price decimal.Decimal
	size  decimal.Decimal
}

// idBook maps BitMEX level ids to prices for one symbol. BitMEX update and
// delete rows name a level by id (older feeds omit the price), so the
// adapter keeps the id → price map the partial and inserts established,
// and checks every message against it: an update or delete of an unknown
// id, an insert of a level that exists with other values, a changed price
// under an id, or (orderBookL2_25) more than 25 levels on a side means a
// message was lost — BitMEX books have no sequence number or checksum.
type idBook struct {
	levels map[int64]idLevel
	count  [3]int // levels per side (indexed by domain.Side)
	limit  int    // max levels per side, 0 = unlimited
}

func newIDBook(limit int) *idBook {
	return &idBook{levels: map[int64]idLevel{}, limit: limit}
}

// appendLevel adds (price, size) to d's side.
func appendLevel(d *domain.BookDelta, side domain.Side, price, size decimal.Decimal) {
	if side == domain.Buy {
		d.Bids = append(d.Bids, domain.BookLevel{Price: price, Amount: size})
	} else {
		d.Asks = append(d.Asks, domain.BookLevel{Price: price, Amount: size})
	}
}

// load replaces the book with a partial's rows and fills d (Reset) with its
// levels.
func (b *idBook) load(rows []l2Row, d *domain.BookDelta) error {
	clear(b.levels)
	b.count = [3]int{}
	d.Reset = true
	for _, r := range rows {
		if !r.HasPrice || !r.HasSize {
			return fmt.Errorf("%w: partial level %d without price or size", ErrInconsistentBook, r.ID)
		}
		if _, dup := b.levels[r.ID]; dup {
			return fmt.Errorf("%w: partial lists level %d twice", ErrInconsistentBook, r.ID)
		}
		if r.Size.IsZero() {
			continue
		}
		b.levels[r.ID] = idLevel{side: r.Side, price: r.Price, size: r.Size}
		b.count[r.Side]++
		appendLevel(d, r.Side, r.Price, r.Size)
		d.Time = max(d.Time, r.Time)
	}
	return b.checkCounts()
}

func (b *idBook) checkCounts() error {
	if b.limit <= 0 {
		return nil
	}
	for _, side := range []domain.Side{domain.Buy, domain.Sell} {
		if b.count[side] > b.limit {
			return fmt.Errorf("%w: %d %s levels in a book of %d per side (a delete was lost)", ErrInconsistentBook, b.count[side], side, b.limit)
		}
	}
	return nil
}

// apply applies one insert, update or delete message's rows to the map and
// appends the resulting level changes to d (size 0 removes a level).
func (b *idBook) apply(action string, rows []l2Row, d *domain.BookDelta) error {
	for _, r := range rows {
		old, exists := b.levels[r.ID]
		if exists && old.side != r.Side {
			return fmt.Errorf("%w: level %d changed side", ErrInconsistentBook, r.ID)
		}
		if exists && r.HasPrice && old.price.Cmp(r.Price) != 0 {
			return fmt.Errorf("%w: level %d changed price from %s to %s", ErrInconsistentBook, r.ID, old.price, r.Price)
		}
		switch action {
		case actInsert:
			if !r.HasPrice || !r.HasSize {
				return fmt.Errorf("%w: inserted level %d without price or size", ErrInconsistentBook, r.ID)
			}
			if exists {
				if old.size.Cmp(r.Size) == 0 {
					continue // the same insert again (a duplicated message)
				}
				return fmt.Errorf("%w: insert of level %d (%s) that is already in the book", ErrInconsistentBook, r.ID, r.Price)
			}
			if r.Size.IsZero() {
				continue
			}
			b.levels[r.ID] = idLevel{side: r.Side, price: r.Price, size: r.Size}
			b.count[r.Side]++
			appendLevel(d, r.Side, r.Price, r.Size)
		case actUpdate:
			if !exists {
				return fmt.Errorf("%w: update of unknown level %d", ErrInconsistentBook, r.ID)
			}
			if !r.HasSize {
				return fmt.Errorf("%w: update of level %d without size", ErrInconsistentBook, r.ID)
			}
			if r.Size.IsZero() {
				delete(b.levels, r.ID)
				b.count[r.Side]--
			} else {
				old.size = r.Size
				b.levels[r.ID] = old
			}
			appendLevel(d, r.Side, old.price, r.Size)
		case actDelete:
			if !exists {
				return fmt.Errorf("%w: delete of unknown level %d", ErrInconsistentBook, r.ID)
			}
			delete(b.levels, r.ID)
			b.count[r.Side]--
			appendLevel(d, r.Side, old.price, decimal.Zero)
		default:
			return fmt.Errorf("%w: unknown action %q", ErrInconsistentBook, action)
		}
		d.Time = max(d.Time, r.Time)
	}
	return b.checkCounts()
}

// bookTopic picks the table for a report depth: orderBookL2_25 when 25
// levels suffice, else the full orderBookL2.
func bookTopic(depth int) (table string, limit int) {
	if depth <= BookTopicDepth {
		return "orderBookL2_25", BookTopicDepth
	}
	return "orderBookL2", 0
}

// bookStream feeds orderBookL2 messages into an orderbook.Engine (in-band
// partials, no continuity rule).
type bookStream struct {
	a          *Adapter
	eng        *orderbook.Engine
	rt         *realtime
	topicTable string
	limit      int
	bySym      map[string]*streamSym
	order      []*streamSym
	byCanon    map[domain.Symbol]*streamSym
	depth      int
	emit       func(venues.BookEvent) bool
	rows       []l2Row
	delta      domain.BookDelta
	wake       chan struct{}
	sub        *operators.Subscription
	// Changes applied to the engine but not reported yet (see
	// StreamBooks): the symbols holding one, and the idle-flush timing.
	pend, ready    []*streamSym // ready: flushIdle's scratch
	quiet, maxHold time.Duration
	now            func() time.Time // nil: time.Now
	// counters (consumer goroutine only)
	applied, dropped, inconsistent int64
}

// StreamBooks keeps a local order book per symbol in sync with BitMEX and
// yields its top req.Depth levels (default 20) once per complete change.
// Depths up to 25 follow orderBookL2_25:<SYM>, deeper ones the full
// orderBookL2:<SYM>. The partial sent on subscription replaces the book
// (and the id → price map); insert, update and delete rows change levels
// by id. BitMEX sends no sequence number or checksum, so every message is
// checked against the book instead (see idBook); a message that does not
// fit, a crossed book or a malformed message resubscribes just that topic
// for a fresh partial, and a dropped connection resyncs every book.
//
// BitMEX sends one change of a book as up to three messages — delete,
// insert, update — whose rows carry the same timestamp; between them the
// book is one the venue never had (a side short of levels, a new best
// level missing, a size not yet updated). Such states are never yielded:
// a change is reported when it is known to be complete, that is
//
//   - when the symbol's next message carries a later timestamp (proof);
//   - else once the symbol has been quiet for the quiet period (default
//     DefaultBookQuiet) with no frame waiting to be handled, unless that
//     would show a side with fewer of the requested levels than the last
//     report while the change may still be in flight (then the next
//     message proves it, or it waits);
//   - in any case after the maximum hold (default DefaultBookMaxHold), so
//     a feed without row timestamps or a book that legitimately thinned
//     is still reported. See WithBookFlush.
//
// The partial is reported at once. BookEvent.Live is false — and Book
// empty — whenever a book is not known to be consistent; such a state is
// reported once when it begins. Books carry no sequence number (Seq 0);
// Time is the latest level timestamp.
func (a *Adapter) StreamBooks(ctx context.Context, req venues.StreamRequest) iter.Seq2[venues.BookEvent, error] {
	return func(yield func(venues.BookEvent, error) bool) {
		depth := req.Depth
		if depth <= 0 {
			depth = DefaultStreamDepth
		}
		table, limit := bookTopic(depth)
		topics, bySym, order, err := a.resolveTopics(ctx, req.Symbols, table)
		if err != nil {
			yield(venues.BookEvent{}, fmt.Errorf("bitmex: stream books: %w", err))
			return
		}
		rt, err := a.newRealtime("books", topics)
		if err != nil {
			yield(venues.BookEvent{}, err)
			return
		}
		h := &bookStream{a: a, rt: rt, topicTable: table, limit: limit, bySym: bySym, order: order, depth: depth,
			wake: make(chan struct{}, 1), byCanon: map[domain.Symbol]*streamSym{},
			quiet: a.opt.bookQuiet, maxHold: a.opt.bookMaxHold, now: time.Now}
		for _, ss := range order {
			h.byCanon[ss.sym] = ss
		}
		h.eng, err = orderbook.NewEngine(orderbook.Config{
			Venue:              Name,
			Continuity:         orderbook.NoContinuity{},
			Resubscribe:        h.resubscribe,
			ResubscribeTimeout: a.opt.resubscribeTTL,
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
		rt.wake, rt.onWake, rt.idle = h.wake, h.report, h
		if err := rt.run(ctx, h); err != nil {
			yield(venues.BookEvent{}, err)
		}
	}
}

// resubscribe is the engine's hook: unsubscribe and subscribe the symbol's
// topic so BitMEX sends a fresh partial.
func (h *bookStream) resubscribe(ctx context.Context, sym domain.Symbol) error {
	ss := h.byCanon[sym]
	if ss == nil {
		return fmt.Errorf("bitmex: %s is not part of this book stream", sym)
	}
	return h.rt.resubscribe(ctx, ss.topic)
}

func (h *bookStream) live(ss *streamSym) bool {
	v, ok := h.eng.Book(ss.sym)
	return ok && v.Live()
}

func (h *bookStream) table(f ws.Frame, fr *wsFrame) bool {
	if string(fr.Table) != h.topicTable {
		return true
	}
	var err error
	h.rows, err = parseL2Rows(fr.Data, h.rows[:0])
	if err != nil {
		h.a.log.Warn("bitmex: undecodable order-book message; resyncing the books", "err", err)
		for _, ss := range h.order {
			h.invalidate(ss, err)
		}
		return h.report()
	}
	action := string(fr.Action)
	if action == actPartial {
		sym := fr.FilterSymbol
		if len(sym) == 0 && len(h.rows) > 0 {
			sym = h.rows[0].Symbol
		}
		ss := h.bySym[string(sym)]
		if ss == nil {
			return true
		}
		return h.partial(ss, f, h.rows)
	}
	// Rows are grouped by symbol (a message normally carries one).
	rows := h.rows
	for len(rows) > 0 {
		n := 1
		for n < len(rows) && string(rows[n].Symbol) == string(rows[0].Symbol) {
			n++
		}
		ss := h.bySym[string(rows[0].Symbol)]
		if ss != nil && !h.change(ss, f, action, rows[:n]) {
			return false
		}
		rows = rows[n:]
	}
	return true
}

func (h *bookStream) partial(ss *streamSym, f ws.Frame, rows []l2Row) bool {
	if ss.book == nil {
		ss.book = newIDBook(h.limit)
	}
	d := &h.delta
	*d = domain.BookDelta{Symbol: ss.sym, RecvTime: f.Received, Bids: d.Bids[:0], Asks: d.Asks[:0]}
	if err := ss.book.load(rows, d); err != nil {
		h.invalidate(ss, err)
		return h.reportSym(ss)
	}
	if d.Time == 0 {
		d.Time = h.a.serverNow()
	}
	if err := h.eng.Handle(d); err != nil {
		h.a.log.Debug("bitmex: partial refused", "symbol", ss.sym.String(), "err", err)
	}
	ss.count = 0
	h.applied++
	return h.reportSym(ss)
}

func (h *bookStream) change(ss *streamSym, f ws.Frame, action string, rows []l2Row) bool {
	if ss.book == nil || !h.live(ss) {
		h.dropped++ // before the partial, or while resyncing
		return true
	}
	// A later timestamp than the held change's proves that change is
	// complete: report it before applying this message.
	t := rowsTime(rows)
	if ss.pending && t > ss.pendTime && !h.reportSym(ss) {
		return false
	}
	d := &h.delta
	*d = domain.BookDelta{Symbol: ss.sym, RecvTime: f.Received, Bids: d.Bids[:0], Asks: d.Asks[:0]}
	if err := ss.book.apply(action, rows, d); err != nil {
		h.inconsistent++
		h.a.log.Warn("bitmex: order-book message does not fit the book; resubscribing", "symbol", ss.sym.String(), "err", err)
		h.invalidate(ss, err)
		return h.reportSym(ss)
	}
	if len(d.Bids)+len(d.Asks) == 0 {
		if ss.pending {
			h.hold(ss, t) // a repeated insert is still part of the change
		}
		return true
	}
	if d.Time == 0 {
		d.Time = f.Received
	}
	if err := h.eng.Handle(d); err != nil {
		h.a.log.Debug("bitmex: order-book message refused", "symbol", ss.sym.String(), "err", err)
	}
	ss.count++
	h.applied++
	h.hold(ss, t)
	return true
}

// rowsTime is the latest row timestamp (0 if the rows carry none).
func rowsTime(rows []l2Row) int64 {
	var t int64
	for i := range rows {
		t = max(t, rows[i].Time)
	}
	return t
}

// hold marks ss as holding an unreported change of venue time t (0 if
// unknown), last touched now.
func (h *bookStream) hold(ss *streamSym, t int64) {
	if !ss.pending {
		ss.pending, ss.pendTime, ss.pendIdx = true, 0, len(h.pend)
		h.pend = append(h.pend, ss)
	}
	ss.pendTime = max(ss.pendTime, t)
	ss.pendSeen = h.clock()
}

// unhold forgets ss's held change (it is being reported).
func (h *bookStream) unhold(ss *streamSym) {
	if !ss.pending {
		return
	}
	ss.pending = false
	last := h.pend[len(h.pend)-1]
	h.pend[ss.pendIdx], last.pendIdx = last, ss.pendIdx
	h.pend[len(h.pend)-1] = nil
	h.pend = h.pend[:len(h.pend)-1]
}

func (h *bookStream) clock() time.Time {
	if h.now == nil {
		return time.Now()
	}
	return h.now()
}

// holding reports whether a change waits to be reported (idleFlusher).
func (h *bookStream) holding() bool { return len(h.pend) > 0 }

// quietPeriod is the idle time after which held changes are looked at
// (idleFlusher).
func (h *bookStream) quietPeriod() time.Duration { return h.quiet }

// flushIdle reports the held changes of symbols quiet since now-quiet
// (idleFlusher). backlog is the number of frames received but not handled
// yet: while there are some, the rest of a change may be among them, so
// only changes held longer than maxHold are reported. A change that leaves
// a side with fewer of the requested levels than the last report is held
// until a later message proves it complete, or maxHold.
func (h *bookStream) flushIdle(now time.Time, backlog int) bool {
	ready := h.ready[:0]
	for _, ss := range h.pend {
		quiet := now.Sub(ss.pendSeen)
		if quiet >= h.maxHold || (quiet >= h.quiet && backlog == 0 && !h.short(ss)) {
			ready = append(ready, ss)
		}
	}
	h.ready = ready
	for _, ss := range ready {
		if !h.reportSym(ss) {
			return false
		}
	}
	clear(ready)
	return true
}

// short reports whether ss's book shows fewer of the requested levels on
// a side than its last report did.
func (h *bookStream) short(ss *streamSym) bool {
	if ss.book == nil {
		return false
	}
	return min(ss.book.count[domain.Buy], h.depth) < ss.shown[domain.Buy] ||
		min(ss.book.count[domain.Sell], h.depth) < ss.shown[domain.Sell]
}

// invalidate forgets ss's id map and resyncs its book (the engine
// resubscribes the topic).
func (h *bookStream) invalidate(ss *streamSym, reason error) {
	ss.book = nil
	_ = h.eng.Resync(ss.sym, reason)
}

// reportSym emits ss's state: the top levels while live, one not-live
// event when it stops being live. Whatever change ss held is reported
// with it.
func (h *bookStream) reportSym(ss *streamSym) bool {
	h.unhold(ss)
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
	ss.shown[domain.Buy], ss.shown[domain.Sell] = len(snap.Bids), len(snap.Asks)
	return h.emit(venues.BookEvent{Symbol: ss.sym, Live: true, Book: snap})
}

// report emits the state of books whose liveness changed (woken by the
// engine's state events).
func (h *bookStream) report() bool {
	for _, ss := range h.order {
		if h.live(ss) != ss.live {
			if !h.reportSym(ss) {
				return false
			}
		}
	}
	return true
}

// hole: the connection broke, so its books can no longer be trusted. They
// are dropped from the engine (not live) until the connection is back.
func (h *bookStream) hole() bool {
	for _, ss := range h.order {
		h.eng.Remove(ss.sym)
		ss.book = nil
		if !h.reportSym(ss) {
			return false
		}
	}
	return true
}

// resumed starts (again) tracking the books: the engine waits for the
// partial BitMEX sends on subscription.
func (h *bookStream) resumed() bool {
	for _, ss := range h.order {
		if err := h.eng.Add(ss.sym); err != nil {
			h.a.log.Warn("bitmex: cannot track book", "symbol", ss.sym.String(), "err", err)
		}
	}
	return true
}
