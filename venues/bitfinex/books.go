package bitfinex

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators"
	"github.com/pype-go/pype/operators/orderbook"
	"github.com/pype-go/pype/venues"
)

// DefaultStreamDepth is the number of levels per side a BookEvent carries
// when StreamRequest.Depth is 0.
const DefaultStreamDepth = 25

// Defaults of WithBookFlush. Without checksums a book's update frames are
// reported once the channel was quiet for DefaultBookQuiet with no frame
// waiting (at the latest after DefaultBookMaxHold); with checksums they
// wait for the "cs" frame, and a channel whose checksums stop for
// DefaultBookMaxHold falls back to the quiet rule.
const (
	DefaultBookQuiet   = 20 * time.Millisecond
	DefaultBookMaxHold = time.Second
)

// errSeqGap is the resync reason after a SEQ_ALL sequence gap.
var errSeqGap = errors.New("bitfinex: sequence gap on the connection")

// bookStream feeds book channel frames into an orderbook.Engine.
type bookStream struct {
	a     *Adapter
	eng   *orderbook.Engine
	mux   *connMux
	syms  []*streamSym
	bySym map[domain.Symbol]*streamSym
	depth int
	emit  func(venues.BookEvent) bool // nil: keep the books only
	rows  []bookRow
	delta domain.BookDelta
	// Channels holding update frames not reported yet (see StreamBooks),
	// and the idle-flush timing.
	pend, ready    []*streamSym // ready: flushIdle's scratch
	quiet, maxHold time.Duration
	now            func() time.Time // nil: time.Now
	// counters (tests, logs)
	snapshots, updates, checksums int64
}

// newBookEngine returns the sync engine for Bitfinex books: in-band
// snapshots (the channel's first frame), no per-channel continuity rule
// (SEQ_ALL numbers are per connection and checked by the connection),
// Bitfinex's CRC32 over the top 25 levels, and resubscription of just the
// affected channel on a mismatch.
func (a *Adapter) newBookEngine(pub *operators.MultiPublisher, resub orderbook.ResubscribeFunc) (*orderbook.Engine, error) {
	return orderbook.NewEngine(orderbook.Config{
		Venue:              Name,
		Continuity:         orderbook.NoContinuity{},
		Checksum:           orderbook.BitfinexChecksum{Depth: ChecksumDepth},
		Resubscribe:        resub,
		ResubscribeTimeout: a.opt.resubTimeout,
		Backoff:            a.opt.bookBackoff,
		Publisher:          pub,
		Logger:             a.log,
	})
}

// StreamBooks keeps a local P0 order book per symbol in sync with Bitfinex
// and yields its top req.Depth levels (default 25) once per complete
// update.
//
// Each connection enables SEQ_ALL (65536) and OB_CHECKSUM (131072); each
// book channel is subscribed with prec P0, freq F0 and the smallest len
// (25, 100 or 250 — never 1, so the local book always holds the 25 levels
// per side the checksum covers) holding req.Depth levels. The channel's
// first frame is the snapshot; updates [price, count, amount] set a level
// (amount > 0 a bid, < 0 an ask) or, with count 0, remove it. Every "cs"
// frame is checked against the CRC32 of the local top 25 levels (prices
// and amounts as JavaScript prints them, ask amounts negative); a
// mismatch, a malformed frame or a crossed book resubscribes just that
// channel (unsubscribe, subscribe, fresh snapshot). A sequence gap on the
// connection — a lost frame of unknown channel — resubscribes every book
// of that connection; a dropped connection or maintenance takes its books
// offline until they are resubscribed on the new connection.
//
// Bitfinex sends one update of a book as one frame per changed level, and
// the book between those frames is one the venue never had (a side short
// of levels, a new best level missing). So update frames are applied but
// not reported on their own: the book is reported
//
//   - after the snapshot;
//   - at each "cs" frame, once the checksum has verified the whole update
//     (a "cs" frame without an update before it re-reports the verified
//     book at its time); updates of a channel that has sent checksums on
//     this connection wait for their "cs" frame;
//   - on a channel that sends no checksums (OB_CHECKSUM refused, or no
//     "cs" frame for the maximum hold), once the channel was quiet for the
//     quiet period with no frame waiting to be handled, and in any case
//     after the maximum hold. P0 frames carry no timestamp, and SEQ_ALL
//     numbers count frames, not updates, so neither can delimit an update.
//     See WithBookFlush.
//
// BookEvent.Live is false — and Book empty — whenever a book is not known
// to be consistent; such a state is reported once when it begins.
func (a *Adapter) StreamBooks(ctx context.Context, req venues.StreamRequest) iter.Seq2[venues.BookEvent, error] {
	return func(yield func(venues.BookEvent, error) bool) {
		h, err := a.newBookStream(ctx, req.Symbols, req.Depth)
		if err != nil {
			yield(venues.BookEvent{}, fmt.Errorf("bitfinex: stream books: %w", err))
			return
		}
		defer h.eng.Close()
		h.emit = func(e venues.BookEvent) bool { return yield(e, nil) }
		if a.opt.onBookStream != nil {
			a.opt.onBookStream(h)
		}
		if err := h.mux.run(ctx, h); err != nil {
			yield(venues.BookEvent{}, err)
		}
	}
}

func (a *Adapter) newBookStream(ctx context.Context, symbols []domain.Symbol, depth int) (*bookStream, error) {
	if depth <= 0 {
		depth = DefaultStreamDepth
	}
	n, err := BookLength(depth, true)
	if err != nil {
		return nil, err
	}
	// At least 25 levels, so the local book holds everything the
	// checksum covers (the top 25 levels per side).
	length := strconv.Itoa(max(n, ChecksumDepth))
	syms, specs, err := a.resolve(ctx, symbols, func(vs string) *channelSpec {
		return &channelSpec{key: "book:" + vs, channel: "book", target: vs,
			msg: subscribeMsg("channel", "book", "symbol", vs, "prec", "P0", "freq", "F0", "len", length)}
	})
	if err != nil {
		return nil, err
	}
	m, err := a.newConnMux("books", specs)
	if err != nil {
		return nil, err
	}
	attach(m, syms)
	h := &bookStream{a: a, mux: m, syms: syms, bySym: map[domain.Symbol]*streamSym{}, depth: depth,
		quiet: a.opt.bookQuiet, maxHold: a.opt.bookMaxHold, now: time.Now}
	m.idle = h
	for _, ss := range syms {
		h.bySym[ss.sym] = ss
	}
	h.eng, err = a.newBookEngine(nil, h.resubscribe)
	if err != nil {
		return nil, err
	}
	return h, nil
}

// resubscribe is the engine's ResubscribeFunc.
func (h *bookStream) resubscribe(ctx context.Context, sym domain.Symbol) error {
	ss := h.bySym[sym]
	if ss == nil {
		return fmt.Errorf("bitfinex: %s is not streamed", sym)
	}
	return ss.shard.resubscribe(ctx, ss.spec)
}

func (h *bookStream) connected(sh *shard, _ bool) bool {
	for ss := range onShard(h.syms, sh) {
		ss.csSeen = false // the new connection proves its own checksums
		if err := h.eng.Add(ss.sym); err != nil {
			h.a.log.Warn("bitfinex: cannot track book", "symbol", ss.sym.String(), "err", err)
		}
	}
	return true
}

// hole: the connection broke, so its books can no longer be trusted; they
// leave the engine (not live) until the next connection.
func (h *bookStream) hole(sh *shard) bool {
	for ss := range onShard(h.syms, sh) {
		h.eng.Remove(ss.sym)
		if !h.reportSym(ss) {
			return false
		}
	}
	return true
}

// gap: a frame of this connection was lost, on an unknown channel.
func (h *bookStream) gap(sh *shard) bool {
	for ss := range onShard(h.syms, sh) {
		_ = h.eng.Resync(ss.sym, errSeqGap)
		if !h.reportSym(ss) {
			return false
		}
	}
	return true
}

func (h *bookStream) subscribed(*shard, *channelSpec) bool { return true }

func (h *bookStream) frame(_ *shard, c *channelSpec, f *wsFrame, recv int64) bool {
	ss := h.syms[c.idx]
	d := &h.delta
	*d = domain.BookDelta{Symbol: ss.sym, Seq: f.Seq, Time: recv, RecvTime: recv, Bids: d.Bids[:0], Asks: d.Asks[:0]}
	switch f.Kind {
	case fkSnapshot:
		rows, err := parseBookRows(f.Payload, h.rows[:0])
		h.rows = rows
		if err != nil {
			return h.invalid(ss, err)
		}
		d.Bids, d.Asks = splitBook(rows, d.Bids, d.Asks)
		sortLevels(d.Bids, d.Asks)
		d.Reset = true
		h.snapshots++
	case fkUpdate:
		r, err := parseBookPayload(f.Payload)
		if err == nil {
			err = bookDelta(r, d)
		}
		if err != nil {
			return h.invalid(ss, err)
		}
		h.updates++
	case fkChecksum:
		d.Checksum, d.HasChecksum = uint32(f.Checksum), true
		h.checksums++
	default:
		return true
	}
	if err := h.eng.Handle(d); err != nil {
		h.a.log.Debug("bitfinex: book frame refused", "symbol", ss.sym.String(), "err", err)
	}
	switch {
	case f.Kind == fkChecksum:
		// The checksum has verified the whole update (or, with nothing
		// changed, that the book still is the venue's at this time): report
		// it. A mismatch has made the book not live.
		ss.csSeen = true
		return h.reportSym(ss)
	case f.Kind == fkUpdate && h.live(ss):
		h.hold(ss)
		return true
	default: // the snapshot, or an update that made the book not live
		return h.reportSym(ss)
	}
}

func (h *bookStream) live(ss *streamSym) bool {
	v, ok := h.eng.Book(ss.sym)
	return ok && v.Live()
}

// hold marks ss as holding update frames not reported yet.
func (h *bookStream) hold(ss *streamSym) {
	now := h.clock()
	if !ss.pending {
		ss.pending, ss.pendSince, ss.pendIdx = true, now, len(h.pend)
		h.pend = append(h.pend, ss)
	}
	ss.pendSeen = now
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

// holding reports whether an update waits to be reported (idleFlusher).
func (h *bookStream) holding() bool { return len(h.pend) > 0 }

// quietPeriod is the idle time after which held updates are looked at
// (idleFlusher).
func (h *bookStream) quietPeriod() time.Duration { return h.quiet }

// flushIdle reports the held updates that no checksum will close
// (idleFlusher): on channels without checksums, those quiet since
// now-quiet while no frame waits (backlog 0) and not leaving a side with
// fewer of the requested levels than the last report, or held for
// maxHold. A channel with checksums whose "cs" frame has not come for
// maxHold is taken to have none any more.
func (h *bookStream) flushIdle(now time.Time, backlog int) bool {
	ready := h.ready[:0]
	for _, ss := range h.pend {
		if ss.csSeen {
			if now.Sub(ss.pendSince) < h.maxHold {
				continue
			}
			h.a.log.Warn("bitfinex: no checksum frame after a book update; reporting updates when the channel is quiet", "symbol", ss.sym.String(), "waited", now.Sub(ss.pendSince))
			ss.csSeen = false
		}
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
	v, ok := h.eng.Book(ss.sym)
	if !ok {
		return false
	}
	short := false
	_ = v.Read(func(b *orderbook.Book) {
		short = min(b.Depth(orderbook.Bid), h.depth) < ss.shown[0] || min(b.Depth(orderbook.Ask), h.depth) < ss.shown[1]
	})
	return short
}

// invalid resyncs a book after an undecodable frame.
func (h *bookStream) invalid(ss *streamSym, err error) bool {
	h.a.log.Warn("bitfinex: undecodable book frame; resubscribing", "symbol", ss.sym.String(), "err", err)
	_ = h.eng.Resync(ss.sym, err)
	return h.reportSym(ss)
}

// reportSym emits ss's state: the top levels while live, one not-live
// event when it stops being live. Whatever update ss held is reported
// with it.
func (h *bookStream) reportSym(ss *streamSym) bool {
	h.unhold(ss)
	if h.emit == nil {
		return true
	}
	notLive := func() bool {
		if ss.live {
			ss.live = false
			return h.emit(venues.BookEvent{Symbol: ss.sym, Live: false, Book: domain.BookSnapshot{Symbol: ss.sym}})
		}
		return true
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
	if err != nil {
		return notLive()
	}
	snap.Symbol = ss.sym
	ss.live = true
	ss.shown = [2]int{len(snap.Bids), len(snap.Asks)}
	return h.emit(venues.BookEvent{Symbol: ss.sym, Live: true, Book: snap})
}
