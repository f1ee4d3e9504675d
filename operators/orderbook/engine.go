package orderbook

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators"
)

// State is the sync state of one symbol's book.
type State uint8

// States. Only a Live book is readable; every other state means "do not
// trust the book".
const (
	// Stopped: the symbol is not tracked (never added, removed, or the
	// engine is closed).
	Stopped State = iota
	// Syncing: waiting for the first snapshot; diffs are buffered.
	Syncing
	// Live: the book is consistent with the venue and readable.
	Live
	// Resyncing: a gap, checksum mismatch, crossed book or an explicit
	// request invalidated the book; a fresh snapshot is on its way.
	Resyncing
)

// String returns the state's name.
func (s State) String() string {
	switch s {
	case Stopped:
		return "stopped"
	case Syncing:
		return "syncing"
	case Live:
		return "live"
	case Resyncing:
		return "resyncing"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Reason says why an [Event] happened.
type Reason uint8

// Reasons.
const (
	ReasonAdded             Reason = iota + 1 // the symbol started syncing
	ReasonSnapshot                            // a snapshot (REST or in-band) made the book live
	ReasonGap                                 // the continuity rule found a missing delta
	ReasonStaleSnapshot                       // the snapshot is older than the buffered diffs
	ReasonChecksum                            // the venue's checksum differs from the book's
	ReasonCrossed                             // the book became crossed or locked
	ReasonInvalid                             // a snapshot or delta was malformed (e.g. negative amount)
	ReasonRequested                           // Resync was called (e.g. the connection was re-established)
	ReasonSnapshotFailed                      // fetching the snapshot failed; it will be retried
	ReasonResubscribeFailed                   // the resubscribe hook failed; it will be retried
	ReasonRemoved                             // the symbol was removed or the engine closed
	ReasonSuperseded                          // a snapshot requested before the book was invalidated was discarded
)

var reasonNames = [...]string{
	ReasonAdded:             "added",
	ReasonSnapshot:          "snapshot",
	ReasonGap:               "sequence gap",
	ReasonStaleSnapshot:     "stale snapshot",
	ReasonChecksum:          "checksum mismatch",
	ReasonCrossed:           "crossed book",
	ReasonInvalid:           "invalid update",
	ReasonRequested:         "resync requested",
	ReasonSnapshotFailed:    "snapshot failed",
	ReasonResubscribeFailed: "resubscribe failed",
	ReasonRemoved:           "removed",
	ReasonSuperseded:        "snapshot superseded",
}

// String returns the reason in words.
func (r Reason) String() string {
	if int(r) < len(reasonNames) && reasonNames[r] != "" {
		return reasonNames[r]
	}
	return fmt.Sprintf("Reason(%d)", uint8(r))
}

// Event reports a state change of one symbol's book, or a failed attempt
// to sync it (From == To).
type Event struct {
	Venue  string
	Symbol domain.Symbol
	From   State
	To     State
	Reason Reason
	Err    error // details: *GapError, *ChecksumError, the snapshot error, ...
	Seq    int64 // the book's sequence after the event (0 when not live)
	Time   int64 // engine clock, ns
}

// StateEvents is the lossless topic on which an [Engine] publishes every
// [Event].
var StateEvents = operators.NewTopic[Event]("orderbook.state")

// SnapshotFunc fetches a full book snapshot for symbol, e.g. Binance
// GET /api/v3/depth, with Seq set to the venue's update id.
type SnapshotFunc func(ctx context.Context, symbol domain.Symbol) (domain.BookSnapshot, error)

// ResubscribeFunc asks a venue adapter to make the venue send a fresh
// in-band snapshot for symbol (unsubscribe and subscribe again).
type ResubscribeFunc func(ctx context.Context, symbol domain.Symbol) error

// Defaults of [Config].
const (
	DefaultMaxBuffer          = 10_000
	DefaultSnapshotWait       = 2 * time.Second
	DefaultResubscribeTimeout = 10 * time.Second
	DefaultHealthyAfter       = 100
)

// Config configures an [Engine]. Only one of the two snapshot sources is
// normally used: Snapshot (REST, Binance/Coinbase style) or in-band
// snapshots (deltas with Reset set, or [Engine.HandleSnapshot]) with an
// optional Resubscribe hook.
type Config struct {
	// Venue names the venue in events and logs.
	Venue string
	// Continuity is the venue's sequence rule; nil means [NoContinuity].
	Continuity ContinuityRule
	// Checksum verifies deltas that carry a checksum; nil disables it.
	Checksum ChecksumRule
	// Snapshot fetches snapshots. When nil, the engine waits for in-band
	// snapshots.
	Snapshot SnapshotFunc
	// Resubscribe is called (in-band mode) when a book must be resynced.
	// When nil, the engine waits for the venue to send a snapshot.
	Resubscribe ResubscribeFunc
	// Depth keeps at most this many levels per side (0 = unlimited).
	Depth int
	// MaxBuffer bounds the diffs buffered per symbol while syncing; the
	// oldest are dropped beyond it (a resulting gap is detected and
	// healed). 0 means DefaultMaxBuffer.
	MaxBuffer int
	// SnapshotWait is how long a new symbol waits for its first diff
	// before fetching the snapshot anyway (Binance's procedure fetches
	// after the stream has started). 0 means DefaultSnapshotWait; a
	// negative value fetches at once.
	SnapshotWait time.Duration
	// ResubscribeTimeout is how long to wait for an in-band snapshot after
	// a successful Resubscribe before asking again. 0 means
	// DefaultResubscribeTimeout.
	ResubscribeTimeout time.Duration
	// AllowCrossed keeps a crossed or locked book live instead of
	// resyncing it. Leave false unless the venue's feed legitimately
	// crosses.
	AllowCrossed bool
	// Backoff returns the wait before retry attempt n (n ≥ 1) of a
	// snapshot fetch or resubscribe, and before the snapshot of the n-th
	// resync in a row of an unhealthy stream. nil means exponential from
	// 250 ms to 30 s with full jitter.
	Backoff func(attempt int) time.Duration
	// HealthyAfter is the number of deltas a live book must apply before
	// its resync streak is forgotten. 0 means DefaultHealthyAfter.
	HealthyAfter int
	// Clock stamps events; nil means the system clock.
	Clock operators.Clock
	// Publisher receives [StateEvents]; nil makes the engine create (and
	// close) its own, available from [Engine.Publisher].
	Publisher *operators.MultiPublisher
	// Logger logs state changes; nil means slog.Default().
	Logger *slog.Logger
}

// DefaultBackoff is exponential from 250 ms doubling to 30 s, with full
// jitter.
func DefaultBackoff(attempt int) time.Duration {
	if attempt <= 0 {
		return 0
	}
	d := 250 * time.Millisecond << min(attempt-1, 7)
	d = min(d, 30*time.Second)
	return time.Duration(rand.Int64N(int64(d)) + 1)
}

// Stats are one symbol's counters.
type Stats struct {
	State            State
	Seq              int64
	Applied          uint64 // deltas applied
	Skipped          uint64 // stale or duplicate deltas ignored
	Dropped          uint64 // deltas discarded while waiting for an in-band snapshot
	Buffered         int    // deltas buffered now
	BufferOverflows  uint64 // buffered deltas dropped because the buffer was full
	Snapshots        uint64 // snapshots loaded (REST or in-band)
	SnapshotErrors   uint64
	Gaps             uint64
	ChecksumChecks   uint64
	ChecksumFailures uint64
	Crossed          uint64
	Resyncs          uint64
	// Superseded counts snapshots discarded because the book was
	// invalidated (Resync, a gap, ...) while they were being fetched.
	Superseded uint64
}

// Errors returned by the engine.
var (
	// ErrNotLive is wrapped by reads of a book that is not live.
	ErrNotLive = errors.New("orderbook: book is not live")
	// ErrNotTracked is wrapped when a symbol was never added or was removed.
	ErrNotTracked = errors.New("orderbook: symbol not tracked")
	// ErrClosed is returned after [Engine.Close].
	ErrClosed = errors.New("orderbook: engine closed")
)

// Engine keeps the L2 books of many symbols of one venue in sync. It is the
// one generic implementation behind every venue: the venue adapter feeds it
// parsed deltas ([Engine.Handle]) from its stream goroutine and supplies a
// snapshot source and the venue's continuity and checksum rules; the engine
// buffers diffs while a snapshot is fetched, bridges the snapshot to the
// buffered diffs, applies only diffs that continue the sequence, verifies
// checksums, and resyncs just the affected symbol on a gap, mismatch or
// crossed book.
//
// # Concurrency
//
// All methods are safe for concurrent use. Each symbol has its own
// RWMutex: a delta is applied under the write lock, so readers never see a
// half-applied update, and every read through a [View] takes the read lock
// and first checks that the book is Live. A book that is not live is never
// readable: it is cleared when it is invalidated and rebuilt from the next
// snapshot. Deltas of one symbol must be passed to Handle in stream order
// (from one goroutine); different symbols may be fed concurrently.
//
// Snapshot fetches and resubscribe calls run in goroutines owned by the
// engine; [Engine.Close] stops and waits for them.
type Engine struct {
	cfg    Config
	rule   ContinuityRule
	clock  operators.Clock
	log    *slog.Logger
	pub    *operators.MultiPublisher
	ownPub bool

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.RWMutex
	closed bool
	books  map[domain.Symbol]*tracked
}

// tracked is one symbol's book and sync state, guarded by mu.
//
// gen is the sync generation: every invalidation (Resync, a gap, a
// checksum mismatch, Remove, ...) starts a new one. Only what belongs to
// the current generation can make the book live: diffs buffered before the
// invalidation are dropped with it, and a snapshot whose fetch started
// before it is discarded (its request is cancelled) and fetched again.
type tracked struct {
	sym    domain.Symbol
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.RWMutex
	book     *Book
	state    State
	pos      Position
	buf      []domain.BookDelta
	live     chan struct{} // closed while Live; replaced when leaving Live
	first    chan struct{} // signalled when a diff is buffered
	working  bool          // a fetch or resubscribe goroutine is running
	gen      uint64        // sync generation, bumped by every invalidation
	streak   int           // resyncs without a healthy period in between
	sinceRes int           // deltas applied since the book went live
	stats    Stats
	scratch  []byte // checksum payload buffer, reused

	// fetchCancel cancels the snapshot fetch in flight, if any (it belongs
	// to the current generation).
	fetchCancel context.CancelFunc
}

// NewEngine returns an engine for cfg.
func NewEngine(cfg Config) (*Engine, error) {
	if cfg.Depth < 0 {
		return nil, fmt.Errorf("orderbook: Config.Depth %d is negative (accepted: 0 for unlimited, or a positive level count)", cfg.Depth)
	}
	if cfg.MaxBuffer < 0 {
		return nil, fmt.Errorf("orderbook: Config.MaxBuffer %d is negative (accepted: 0 for the default %d, or a positive count)", cfg.MaxBuffer, DefaultMaxBuffer)
	}
	e := &Engine{cfg: cfg, rule: cfg.Continuity, clock: cfg.Clock, log: cfg.Logger, pub: cfg.Publisher}
	if e.rule == nil {
		e.rule = NoContinuity{}
	}
	if e.clock == nil {
		e.clock = operators.SystemClock{}
	}
	if e.log == nil {
		e.log = slog.Default()
	}
	if e.pub == nil {
		e.pub = operators.NewMultiPublisher(operators.WithPublisherLogger(e.log))
		e.ownPub = true
	}
	if e.cfg.MaxBuffer == 0 {
		e.cfg.MaxBuffer = DefaultMaxBuffer
	}
	if e.cfg.SnapshotWait == 0 {
		e.cfg.SnapshotWait = DefaultSnapshotWait
	}
	if e.cfg.ResubscribeTimeout <= 0 {
		e.cfg.ResubscribeTimeout = DefaultResubscribeTimeout
	}
	if e.cfg.Backoff == nil {
		e.cfg.Backoff = DefaultBackoff
	}
	if e.cfg.HealthyAfter <= 0 {
		e.cfg.HealthyAfter = DefaultHealthyAfter
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.books = make(map[domain.Symbol]*tracked)
	return e, nil
}

// Publisher returns the publisher carrying [StateEvents].
func (e *Engine) Publisher() *operators.MultiPublisher { return e.pub }

// Config returns the engine's configuration with defaults filled in.
func (e *Engine) Config() Config { return e.cfg }

// Add starts tracking symbol. In snapshot mode the snapshot is fetched once
// the first diff has been buffered (or after SnapshotWait); in in-band mode
// the engine waits for the venue's snapshot. Adding a tracked symbol again
// is a no-op.
func (e *Engine) Add(symbol domain.Symbol) error {
	if symbol.IsZero() {
		return errors.New("orderbook: Add: empty symbol")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	if _, ok := e.books[symbol]; ok {
		return nil
	}
	t := &tracked{sym: symbol, book: NewBook(symbol), live: make(chan struct{}), first: make(chan struct{}, 1)}
	t.book.SetMaxDepth(e.cfg.Depth)
	t.ctx, t.cancel = context.WithCancel(e.ctx)
	e.books[symbol] = t
	t.mu.Lock()
	defer t.mu.Unlock()
	e.transition(t, Syncing, ReasonAdded, nil)
	e.startWork(t)
	return nil
}

// Remove stops tracking symbol; its book is discarded.
func (e *Engine) Remove(symbol domain.Symbol) {
	e.mu.Lock()
	t := e.books[symbol]
	delete(e.books, symbol)
	e.mu.Unlock()
	if t != nil {
		e.stop(t)
	}
}

func (e *Engine) stop(t *tracked) {
	t.cancel()
	t.mu.Lock()
	defer t.mu.Unlock()
	e.invalidate(t, Stopped, ReasonRemoved, nil)
}

// Close stops every symbol, waits for the engine's goroutines and closes
// the engine-owned publisher (after delivering queued events).
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	all := make([]*tracked, 0, len(e.books))
	for _, t := range e.books {
		all = append(all, t)
	}
	clear(e.books)
	e.mu.Unlock()
	e.cancel()
	for _, t := range all {
		e.stop(t)
	}
	e.wg.Wait()
	if e.ownPub {
		return e.pub.Close()
	}
	return nil
}

// Symbols returns the tracked symbols, sorted.
func (e *Engine) Symbols() []domain.Symbol {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make([]domain.Symbol, 0, len(e.books))
	for s := range e.books {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b domain.Symbol) int {
		switch {
		case a.String() < b.String():
			return -1
		case a.String() > b.String():
			return 1
		}
		return 0
	})
	return out
}

func (e *Engine) get(symbol domain.Symbol) (*tracked, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return nil, ErrClosed
	}
	t := e.books[symbol]
	if t == nil {
		return nil, fmt.Errorf("%w: %s", ErrNotTracked, symbol)
	}
	return t, nil
}

// State returns symbol's state (Stopped when not tracked).
func (e *Engine) State(symbol domain.Symbol) State {
	t, err := e.get(symbol)
	if err != nil {
		return Stopped
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.state
}

// Stats returns symbol's counters.
func (e *Engine) Stats(symbol domain.Symbol) (Stats, bool) {
	t, err := e.get(symbol)
	if err != nil {
		return Stats{}, false
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	st := t.stats
	st.State, st.Seq, st.Buffered = t.state, t.pos.Seq, len(t.buf)
	return st, true
}

// Book returns a read view of symbol's book.
func (e *Engine) Book(symbol domain.Symbol) (*View, bool) {
	t, err := e.get(symbol)
	if err != nil {
		return nil, false
	}
	return &View{t: t}, true
}

// WaitLive blocks until symbol's book is live, ctx is done, or the symbol
// is removed.
func (e *Engine) WaitLive(ctx context.Context, symbol domain.Symbol) error {
	v, ok := e.Book(symbol)
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotTracked, symbol)
	}
	return v.WaitLive(ctx)
}

// Resync invalidates symbol's book and fetches (or asks for) a fresh
// snapshot, e.g. because the venue connection was lost. reason may be nil.
//
// Resync starts a new sync generation: the diffs buffered so far are
// dropped, and a snapshot being fetched when Resync is called is cancelled
// and, should it still arrive, discarded; the book can only go live from a
// snapshot requested after the Resync and the diffs handled after it.
// Call it in stream order with [Engine.Handle] (after the last delta of a
// lost connection, before the first delta of the new one). Calls while a
// snapshot is on its way share one new fetch.
func (e *Engine) Resync(symbol domain.Symbol, reason error) error {
	t, err := e.get(symbol)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.state != Stopped {
		e.resync(t, ReasonRequested, reason)
	}
	return nil
}

// ResyncAll resyncs every tracked symbol.
func (e *Engine) ResyncAll(reason error) {
	for _, s := range e.Symbols() {
		_ = e.Resync(s, reason)
	}
}

// HandleSnapshot applies an in-band snapshot (Kraken's first book message,
// a BitMEX partial, ...): it replaces symbol's book whatever its state.
func (e *Engine) HandleSnapshot(s *domain.BookSnapshot) error {
	d := domain.BookDelta{Symbol: s.Symbol, Seq: s.Seq, Time: s.Time, RecvTime: s.RecvTime, Bids: s.Bids, Asks: s.Asks, Reset: true}
	return e.Handle(&d)
}

// Handle processes one delta of d.Symbol's stream. The engine does not keep
// d or its slices after Handle returns. It returns an error only for a
// symbol that is not tracked or a malformed delta (which also triggers a
// resync); gaps and checksum mismatches are handled (resync) and reported
// as events, not errors.
func (e *Engine) Handle(d *domain.BookDelta) error {
	t, err := e.get(d.Symbol)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch t.state {
	case Stopped:
		return fmt.Errorf("%w: %s", ErrNotTracked, d.Symbol)
	case Live:
		return e.applyLive(t, d)
	}
	// Syncing or Resyncing.
	if d.Reset {
		t.buf = t.buf[:0]
		return e.load(t, d)
	}
	if e.cfg.Snapshot == nil {
		t.stats.Dropped++
		return nil
	}
	e.buffer(t, d)
	return nil
}

func (e *Engine) buffer(t *tracked, d *domain.BookDelta) {
	if len(t.buf) >= e.cfg.MaxBuffer {
		n := len(t.buf) - e.cfg.MaxBuffer + 1
		t.stats.BufferOverflows += uint64(n)
		copy(t.buf, t.buf[n:])
		clear(t.buf[len(t.buf)-n:])
		t.buf = t.buf[:len(t.buf)-n]
	}
	c := *d
	c.Bids = slices.Clone(d.Bids)
	c.Asks = slices.Clone(d.Asks)
	t.buf = append(t.buf, c)
	select {
	case t.first <- struct{}{}:
	default:
	}
}

// applyLive applies a delta to a live book.
func (e *Engine) applyLive(t *tracked, d *domain.BookDelta) error {
	v := Reset
	if !d.Reset {
		v = e.rule.Check(t.pos, d)
	}
	switch v {
	case Skip:
		t.stats.Skipped++
		return nil
	case Reset:
		return e.load(t, d)
	case Apply:
	default:
		t.stats.Gaps++
		e.resync(t, ReasonGap, &GapError{Rule: e.rule.Name(), Have: t.pos, FirstSeq: d.FirstSeq, Seq: d.Seq, PrevSeq: d.PrevSeq})
		if e.cfg.Snapshot != nil {
			// The delta that revealed the gap may be needed to bridge
			// the next snapshot.
			e.buffer(t, d)
		}
		return nil
	}
	if err := t.book.ApplyDelta(d); err != nil {
		e.resync(t, ReasonInvalid, err)
		return err
	}
	t.pos = Position{Seq: d.Seq, Bridged: true}
	t.stats.Applied++
	if t.sinceRes++; t.sinceRes >= e.cfg.HealthyAfter {
		t.streak = 0
	}
	if reason, err := e.verify(t, d); err != nil {
		e.resync(t, reason, err)
	}
	return nil
}

// load replaces the book with an in-band snapshot (a delta with Reset set,
// or one the continuity rule says resets the book, like Bybit's u = 1)
// and, if it verifies, makes it live.
func (e *Engine) load(t *tracked, d *domain.BookDelta) error {
	if !d.Reset {
		c := *d
		c.Reset = true
		d = &c
	}
	if err := t.book.ApplyDelta(d); err != nil {
		e.resync(t, ReasonInvalid, err)
		return err
	}
	t.pos = Position{Seq: d.Seq}
	t.stats.Snapshots++
	if reason, err := e.verify(t, d); err != nil {
		e.resync(t, reason, err)
		return nil
	}
	if t.state != Live {
		e.goLive(t)
	} else {
		e.transition(t, Live, ReasonSnapshot, nil)
	}
	return nil
}

// verify checks the checksum (when d carries one) and the crossed state.
func (e *Engine) verify(t *tracked, d *domain.BookDelta) (Reason, error) {
	if err := e.verifyChecksum(t, d); err != nil {
		return ReasonChecksum, err
	}
	if err := e.verifyCrossed(t); err != nil {
		return ReasonCrossed, err
	}
	return 0, nil
}

func (e *Engine) verifyChecksum(t *tracked, d *domain.BookDelta) error {
	if e.cfg.Checksum == nil || !d.HasChecksum {
		return nil
	}
	t.stats.ChecksumChecks++
	t.scratch = e.cfg.Checksum.AppendPayload(t.scratch[:0], t.book)
	if got := crc32.ChecksumIEEE(t.scratch); got != d.Checksum {
		t.stats.ChecksumFailures++
		return &ChecksumError{Rule: e.cfg.Checksum.Name(), Venue: d.Checksum, Computed: got, Seq: d.Seq}
	}
	return nil
}

func (e *Engine) verifyCrossed(t *tracked) error {
	if e.cfg.AllowCrossed || !t.book.Crossed() {
		return nil
	}
	t.stats.Crossed++
	bid, _ := t.book.BestBid()
	ask, _ := t.book.BestAsk()
	return fmt.Errorf("orderbook: %s crossed at seq %d: best bid %s ≥ best ask %s", t.sym, t.pos.Seq, bid.Price, ask.Price)
}

func (e *Engine) goLive(t *tracked) {
	t.sinceRes = 0
	t.cancelFetch() // an in-band snapshot won the race: the fetch is moot
	e.transition(t, Live, ReasonSnapshot, nil)
	close(t.live)
}

// resync invalidates the book and starts getting a new snapshot.
func (e *Engine) resync(t *tracked, reason Reason, err error) {
	to := Resyncing
	if t.state == Syncing {
		to = Syncing
	}
	t.stats.Resyncs++
	t.streak++
	e.invalidate(t, to, reason, err)
	e.startWork(t)
}

// invalidate clears the book, moves it to a non-live state and starts a
// new generation: buffered diffs are dropped and the snapshot fetch in
// flight is cancelled (fetchLoop discards its result).
func (e *Engine) invalidate(t *tracked, to State, reason Reason, err error) {
	wasLive := t.state == Live
	t.book.Clear()
	t.pos = Position{}
	t.gen++
	t.cancelFetch()
	clear(t.buf)
	t.buf = t.buf[:0]
	if to == Stopped {
		t.buf = nil
	}
	select { // a diff of the old generation does not start the new fetch
	case <-t.first:
	default:
	}
	e.transition(t, to, reason, err)
	if wasLive {
		t.live = make(chan struct{})
	}
	if to == Stopped {
		// Wake WaitLive callers so they see Stopped.
		select {
		case <-t.live:
		default:
			close(t.live)
		}
	}
}

// transition records a state change (or a failed attempt when the state
// does not change) and publishes it. Called with t.mu held, which keeps a
// symbol's events in order.
func (e *Engine) transition(t *tracked, to State, reason Reason, err error) {
	from := t.state
	t.state = to
	ev := Event{Venue: e.cfg.Venue, Symbol: t.sym, From: from, To: to, Reason: reason, Err: err, Time: e.clock.Now().UnixNano()}
	if to == Live {
		ev.Seq = t.pos.Seq
	}
	level := slog.LevelDebug
	switch {
	case err != nil && reason != ReasonRequested:
		level = slog.LevelWarn
	case from != to && (from == Resyncing || to == Resyncing):
		level = slog.LevelInfo
	}
	e.log.Log(context.Background(), level, "orderbook: book state", "venue", e.cfg.Venue, "symbol", t.sym.String(),
		"from", from.String(), "to", to.String(), "reason", reason.String(), "seq", ev.Seq, "err", err)
	_ = operators.Publish(e.pub, StateEvents, ev)
}

// startWork starts the goroutine that gets a snapshot for t, unless one is
// already running (it loops until the book is live).
func (e *Engine) startWork(t *tracked) {
	if t.working || t.state == Stopped || t.ctx.Err() != nil {
		return
	}
	if e.cfg.Snapshot == nil && e.cfg.Resubscribe == nil {
		return // wait for the venue's next in-band snapshot
	}
	t.working = true
	e.wg.Add(1)
	if e.cfg.Snapshot != nil {
		go e.fetchLoop(t)
	} else {
		go e.resubscribeLoop(t)
	}
}

// cancelFetch cancels the snapshot fetch in flight, if any. Called with
// t.mu held.
func (t *tracked) cancelFetch() {
	if t.fetchCancel != nil {
		t.fetchCancel()
		t.fetchCancel = nil
	}
}

func (e *Engine) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// done ends a worker goroutine's turn: it reports whether the worker should
// stop (the book is live or stopped) and clears the working flag if so.
// Called with t.mu held.
func (t *tracked) done() bool {
	if t.state == Live || t.state == Stopped || t.ctx.Err() != nil {
		t.working = false
		return true
	}
	return false
}

// fetchLoop fetches snapshots until one bridges to the buffered diffs. A
// fetch belongs to the generation in which it started; when the book is
// invalidated meanwhile, its result is discarded and the loop starts over
// for the new generation.
func (e *Engine) fetchLoop(t *tracked) {
	defer e.wg.Done()
	for attempt := 0; ; attempt++ {
		t.mu.Lock()
		if t.done() {
			t.mu.Unlock()
			return
		}
		gen := t.gen
		empty := len(t.buf) == 0
		wait := e.cfg.Backoff(max(attempt, t.streak-1))
		if attempt == 0 && t.streak <= 1 {
			wait = 0
		}
		t.mu.Unlock()

		if empty && attempt == 0 && e.cfg.SnapshotWait > 0 {
			// Binance's procedure: fetch once the stream is delivering.
			timer := time.NewTimer(e.cfg.SnapshotWait)
			select {
			case <-t.first:
			case <-timer.C:
			case <-t.ctx.Done():
			}
			timer.Stop()
		}
		if !e.sleep(t.ctx, wait) {
			e.finish(t)
			return
		}

		t.mu.Lock()
		if t.done() {
			t.mu.Unlock()
			return
		}
		if t.gen != gen {
			// Invalidated while waiting: wait for the new generation's
			// stream instead.
			t.mu.Unlock()
			attempt = -1
			continue
		}
		ctx, cancel := context.WithCancel(t.ctx)
		t.fetchCancel = cancel
		t.mu.Unlock()

		snap, err := e.cfg.Snapshot(ctx, t.sym)
		cancel()

		t.mu.Lock()
		if t.gen == gen {
			t.fetchCancel = nil
		}
		if t.done() {
			t.mu.Unlock()
			return
		}
		switch {
		case t.gen != gen:
			// Requested before the book was invalidated (e.g. before the
			// connection was lost): bridging it to the new generation's
			// diffs could make the book live with no stream behind it.
			t.stats.Superseded++
			e.transition(t, t.state, ReasonSuperseded, nil)
			attempt = -1
		case err != nil:
			t.stats.SnapshotErrors++
			e.transition(t, t.state, ReasonSnapshotFailed, fmt.Errorf("orderbook: %s snapshot: %w", t.sym, err))
		case e.bridge(t, &snap):
			t.working = false
			t.mu.Unlock()
			return
		}
		t.mu.Unlock()
	}
}

func (e *Engine) finish(t *tracked) {
	t.mu.Lock()
	t.working = false
	t.mu.Unlock()
}

// bridge loads a fetched snapshot and replays the buffered diffs on top. It
// reports whether the book went live. Called with t.mu held.
func (e *Engine) bridge(t *tracked, snap *domain.BookSnapshot) bool {
	if !snap.Symbol.IsZero() && snap.Symbol != t.sym {
		t.stats.SnapshotErrors++
		e.transition(t, t.state, ReasonInvalid, fmt.Errorf("orderbook: the snapshot fetched for %s is of %s", t.sym, snap.Symbol))
		return false
	}
	snap.Symbol = t.sym
	if err := t.book.Load(snap); err != nil {
		t.stats.SnapshotErrors++
		e.transition(t, t.state, ReasonInvalid, err)
		return false
	}
	t.pos = Position{Seq: snap.Seq}
	t.stats.Snapshots++
	for i := range t.buf {
		d := &t.buf[i]
		v := Reset
		if !d.Reset {
			v = e.rule.Check(t.pos, d)
		}
		switch v {
		case Skip:
			t.stats.Skipped++
			continue
		case Apply, Reset:
			if v == Reset && !d.Reset {
				t.book.Clear()
			}
			if err := t.book.ApplyDelta(d); err != nil {
				e.dropBuffered(t, i+1)
				e.fail(t, ReasonInvalid, err)
				return false
			}
			t.pos = Position{Seq: d.Seq, Bridged: v == Apply}
			t.stats.Applied++
			if err := e.verifyChecksum(t, d); err != nil {
				e.dropBuffered(t, i+1)
				e.fail(t, ReasonChecksum, err)
				return false
			}
		default:
			// The snapshot predates the buffered diffs (or the stream has
			// a hole): keep the diffs from here on for the next snapshot.
			gap := &GapError{Rule: e.rule.Name(), Have: t.pos, FirstSeq: d.FirstSeq, Seq: d.Seq, PrevSeq: d.PrevSeq}
			e.dropBuffered(t, i)
			e.fail(t, ReasonStaleSnapshot, gap)
			return false
		}
	}
	e.dropBuffered(t, len(t.buf))
	if err := e.verifyCrossed(t); err != nil {
		e.fail(t, ReasonCrossed, err)
		return false
	}
	e.goLive(t)
	return true
}

// fail reports a failed bridge: the book stays invalid and the fetch loop
// tries again.
func (e *Engine) fail(t *tracked, reason Reason, err error) {
	t.book.Clear()
	t.pos = Position{}
	t.streak++
	e.transition(t, t.state, reason, err)
}

func (e *Engine) dropBuffered(t *tracked, n int) {
	k := copy(t.buf, t.buf[n:])
	clear(t.buf[k:])
	t.buf = t.buf[:k]
}

// resubscribeLoop asks the venue adapter for a fresh in-band snapshot until
// one arrives. For a symbol just added, it first gives the adapter's own
// subscription ResubscribeTimeout to deliver the snapshot.
func (e *Engine) resubscribeLoop(t *tracked) {
	defer e.wg.Done()
	t.mu.Lock()
	initial, live := t.stats.Resyncs == 0, t.live
	t.mu.Unlock()
	if initial {
		timer := time.NewTimer(e.cfg.ResubscribeTimeout)
		select {
		case <-live:
		case <-timer.C:
		case <-t.ctx.Done():
		}
		timer.Stop()
	}
	for attempt := 0; ; attempt++ {
		t.mu.Lock()
		if t.done() {
			t.mu.Unlock()
			return
		}
		wait := e.cfg.Backoff(max(attempt, t.streak-1))
		if attempt == 0 && t.streak <= 1 {
			wait = 0
		}
		live := t.live
		t.mu.Unlock()
		if !e.sleep(t.ctx, wait) {
			e.finish(t)
			return
		}
		if err := e.cfg.Resubscribe(t.ctx, t.sym); err != nil {
			t.mu.Lock()
			if !t.done() {
				e.transition(t, t.state, ReasonResubscribeFailed, fmt.Errorf("orderbook: %s resubscribe: %w", t.sym, err))
			}
			t.mu.Unlock()
			continue
		}
		timer := time.NewTimer(e.cfg.ResubscribeTimeout)
		select {
		case <-live:
		case <-timer.C:
		case <-t.ctx.Done():
		}
		timer.Stop()
	}
}
