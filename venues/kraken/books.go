package kraken

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"iter"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators"
	"github.com/pype-go/pype/operators/orderbook"
	"github.com/pype-go/pype/transport/ws"
	"github.com/pype-go/pype/venues"
)

// DefaultStreamDepth is the number of levels per side a BookEvent carries
// when StreamRequest.Depth is 0.
const DefaultStreamDepth = 10

// ChecksumRule is Kraken's book checksum (orderbook.KrakenChecksum over the
// top 10 levels) with each pair's price and quantity precision, so values
// whose trailing zeros were lost are padded back before hashing. Pairs
// without an entry are hashed as written. It is safe for concurrent use
// once built.
type ChecksumRule struct {
	scales map[domain.Symbol][2]int
}

// NewChecksumRule returns the checksum rule for pairs (their
// PairDecimals and LotDecimals).
func NewChecksumRule(pairs ...Pair) ChecksumRule {
	r := ChecksumRule{scales: make(map[domain.Symbol][2]int, len(pairs))}
	for _, p := range pairs {
		if p.PairDecimals > 0 || p.LotDecimals > 0 {
			r.scales[p.Symbol] = [2]int{p.PairDecimals, p.LotDecimals}
		}
	}
	return r
}

// Name returns "kraken".
func (ChecksumRule) Name() string { return "kraken" }

func (r ChecksumRule) rule(sym domain.Symbol) orderbook.KrakenChecksum {
	sc := r.scales[sym]
	return orderbook.KrakenChecksum{Depth: ChecksumDepth, PriceScale: sc[0], AmountScale: sc[1]}
}

// AppendPayload appends the digits Kraken hashes for b.
func (r ChecksumRule) AppendPayload(dst []byte, b *orderbook.Book) []byte {
	return r.rule(b.Symbol()).AppendPayload(dst, b)
}

// Checksum returns the CRC32 of b's payload.
func (r ChecksumRule) Checksum(b *orderbook.Book) uint32 {
	var arr [1024]byte
	return crc32.ChecksumIEEE(r.AppendPayload(arr[:0], b))
}

// subscriptionDepth is the book depth to subscribe for a request of n
// levels: the configured one, or the smallest Kraken depth holding n.
func (a *Adapter) subscriptionDepth(n int) (int, error) {
	if n <= 0 {
		n = DefaultStreamDepth
	}
	if d := a.opt.bookDepth; d != 0 {
		if n > d {
			return 0, &domain.CapabilityError{Venue: Name, What: fmt.Sprintf("book stream depth %d with a subscription depth of %d", n, d), Accept: "a StreamRequest.Depth up to the subscription depth"}
		}
		return d, nil
	}
	for _, d := range wsDepths {
		if d >= n {
			return d, nil
		}
	}
	return 0, &domain.CapabilityError{Venue: Name, What: fmt.Sprintf("book stream depth %d", n), Accept: "1 to 1000 levels"}
}

// bookStream is the handler of StreamBooks.
type bookStream struct {
	a      *Adapter
	conn   *wsConn
	eng    *orderbook.Engine
	syms   []*streamSym
	bySym  map[string]*streamSym
	byCan  map[domain.Symbol]*streamSym
	depth  int // subscription depth
	report int // levels per BookEvent
	emit   func(venues.BookEvent) bool
	delta  domain.BookDelta
	sub    *operators.Subscription
	wake   chan struct{}

	checksum ChecksumRule
}

// StreamBooks keeps a local order book per symbol in sync with Kraken's
// WebSocket v2 book channel and yields its top req.Depth levels (default
// 10) after every update.
//
// Kraken sends a snapshot and then updates without sequence numbers; every
// message carries the CRC32 checksum of the top 10 levels of the book it
// describes. The books are kept by the orderbook sync engine: the snapshot
// loads a book, each update is applied, the book is truncated to the
// subscribed depth (Kraken sends no removal for levels that fall out of
// it), and the checksum is verified with the pair's precision. A mismatch
// or a crossed book resubscribes just that symbol (unsubscribe, subscribe,
// fresh snapshot); a dropped connection invalidates every book until the
// new connection's snapshots arrive. BookEvent.Live is false — and Book
// empty — whenever a book is not known to be consistent; such a state is
// reported once when it begins. The checksum covers 10 levels only: deeper
// levels are as good as the updates that built them.
func (a *Adapter) StreamBooks(ctx context.Context, req venues.StreamRequest) iter.Seq2[venues.BookEvent, error] {
	return func(yield func(venues.BookEvent, error) bool) {
		h, err := a.newBookStream(ctx, req.Symbols, req.Depth)
		if err != nil {
			yield(venues.BookEvent{}, fmt.Errorf("kraken: stream books: %w", err))
			return
		}
		defer h.close()
		h.emit = func(e venues.BookEvent) bool { return yield(e, nil) }
		if err := h.conn.run(ctx, h); err != nil {
			yield(venues.BookEvent{}, err)
		}
	}
}

func (a *Adapter) newBookStream(ctx context.Context, syms []domain.Symbol, n int) (*bookStream, error) {
	depth, err := a.subscriptionDepth(n)
	if err != nil {
		return nil, err
	}
	if n <= 0 {
		n = DefaultStreamDepth
	}
	order, by, err := a.resolveStreams(ctx, syms)
	if err != nil {
		return nil, err
	}
	h := &bookStream{a: a, syms: order, bySym: by, byCan: map[domain.Symbol]*streamSym{}, depth: depth, report: n,
		wake: make(chan struct{}, 1)}
	pairs := make([]Pair, len(order))
	for i, ss := range order {
		pairs[i] = ss.pair
		h.byCan[ss.sym] = ss
	}
	h.checksum = NewChecksumRule(pairs...)
	if h.conn, err = a.newConn("books", []subscription{{Channel: "book", Symbol: v2Names(order), Depth: depth, Snapshot: boolPtr(true)}}); err != nil {
		return nil, err
	}
	h.conn.wake, h.conn.onWk = h.wake, h.reportAll
	h.eng, err = orderbook.NewEngine(orderbook.Config{
		Venue:              Name,
		Continuity:         orderbook.NoContinuity{},
		Checksum:           h.checksum,
		Resubscribe:        h.resubscribe,
		Depth:              depth,
		ResubscribeTimeout: a.opt.resubTimeout,
		Logger:             a.log,
	})
	if err != nil {
		return nil, err
	}
	// Wake the consumer when a book's state changes (resubscriptions run in
	// the engine's goroutines) so liveness changes are reported at once.
	h.sub, err = operators.Subscribe(h.eng.Publisher(), orderbook.StateEvents, func(orderbook.Event) {
		select {
		case h.wake <- struct{}{}:
		default:
		}
	})
	if err != nil {
		_ = h.eng.Close()
		return nil, err
	}
	return h, nil
}

func (h *bookStream) close() {
	h.sub.Unsubscribe()
	_ = h.eng.Close()
}

// resubscribe is the engine's hook: ask Kraken for a fresh snapshot of one
// book.
func (h *bookStream) resubscribe(ctx context.Context, sym domain.Symbol) error {
	ss := h.byCan[sym]
	if ss == nil {
		return fmt.Errorf("kraken: resubscribe %s: not streamed", sym)
	}
	return h.conn.resubscribe(ctx, subscription{Channel: "book", Symbol: []string{ss.v2}, Depth: h.depth, Snapshot: boolPtr(true)})
}

func (h *bookStream) message(m *wsMsg, f ws.Frame) bool {
	snapshot := m.Type == "snapshot"
	for i := range m.Books {
		wb := &m.Books[i]
		ss := h.bySym[wb.Symbol]
		if ss == nil {
			continue
		}
		d := &h.delta
		*d = domain.BookDelta{Symbol: ss.sym, Time: wb.Time, RecvTime: f.Received, Bids: wb.Bids, Asks: wb.Asks,
			Checksum: wb.Checksum, HasChecksum: wb.HasChecksum, Reset: snapshot}
		if err := h.eng.Handle(d); err != nil && !errors.Is(err, orderbook.ErrNotTracked) {
			h.a.log.Debug("kraken: book message refused", "symbol", ss.sym.String(), "err", err)
		}
		if !h.reportSym(ss) {
			return false
		}
	}
	return true
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
		return h.emit(venues.BookEvent{Symbol: ss.sym, Live: false, Book: domain.BookSnapshot{Symbol: ss.sym}})
	}
	v, ok := h.eng.Book(ss.sym)
	if !ok || !v.Live() {
		return notLive()
	}
	var snap domain.BookSnapshot
	err := v.Read(func(b *orderbook.Book) {
		snap.Bids, snap.Asks = b.TopN(h.report)
		snap.Seq, snap.Time, snap.RecvTime = b.Seq(), b.Time(), b.RecvTime()
	})
	if err != nil {
		return notLive()
	}
	snap.Symbol = ss.sym
	ss.live = true
	return h.emit(venues.BookEvent{Symbol: ss.sym, Live: true, Book: snap})
}

// reportAll emits the books whose liveness changed.
func (h *bookStream) reportAll() bool {
	for _, ss := range h.syms {
		v, ok := h.eng.Book(ss.sym)
		if live := ok && v.Live(); live != ss.live {
			if !h.reportSym(ss) {
				return false
			}
		}
	}
	return true
}

// hole: the connection broke, so no book can be trusted until the new
// connection's snapshots arrive.
func (h *bookStream) hole() bool {
	for _, ss := range h.syms {
		h.eng.Remove(ss.sym)
		if !h.reportSym(ss) {
			return false
		}
	}
	return true
}

// resumed tracks every book on the new connection, whose subscription
// (sent on connect) brings the snapshots.
func (h *bookStream) resumed(bool) bool {
	for _, ss := range h.syms {
		if err := h.eng.Add(ss.sym); err != nil {
			h.a.log.Warn("kraken: cannot track book", "symbol", ss.sym.String(), "err", err)
		}
	}
	return true
}

func (h *bookStream) tick() bool { return true }
