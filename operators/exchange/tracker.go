package exchange

import (
	"cmp"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators"
)

// Tracker defaults.
const (
	DefaultLostAfter     = 3
	DefaultFinishedLimit = 1000
	DefaultOrphanLimit   = 1000
	DefaultFillGrace     = 10 * time.Second
)

// Outcome says what the tracker did with an update, fill or not-found
// report.
type Outcome uint8

const (
	// OutcomeApplied: the order changed.
	OutcomeApplied Outcome = iota
	// OutcomeDuplicate: already known (same state, same fill); nothing changed.
	OutcomeDuplicate
	// OutcomeStale: older than what was already applied; ignored.
	OutcomeStale
	// OutcomeBuffered: carried only an exchange id nobody is bound to yet;
	// kept and replayed when an order gets that exchange id.
	OutcomeBuffered
	// OutcomeUnknownOrder: no such order (error *UnknownOrderError).
	OutcomeUnknownOrder
	// OutcomeRejected: the transition table refuses it (error *TransitionError).
	OutcomeRejected
	// OutcomeCounted: a not-found report was counted.
	OutcomeCounted
	// OutcomeLost: a not-found report moved the order to the lost set.
	OutcomeLost
	// OutcomeIgnored: nothing to do (e.g. not-found for a finished order).
	OutcomeIgnored
)

var outcomeNames = [...]string{"applied", "duplicate", "stale", "buffered", "unknown_order", "rejected", "counted", "lost", "ignored"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// OrderTracker follows orders from submission to their end and publishes
// lossless [OrderEvent]s. It implements the state machine of the
// transition table (see [CanTransition]) and these rules:
//
//   - Matching: updates and fills are matched by client order id or by
//     exchange order id; one carrying only an exchange id matches the order
//     bound to it. If no order is bound to that exchange id yet (the fill
//     raced the placement response), it is buffered (bounded) and replayed
//     when an order gets that id.
//   - Staleness: an update with a lower Sequence, or an older Timestamp,
//     than already applied is ignored; so is an update moving the order
//     backwards (e.g. PARTIALLY_FILLED → OPEN) or out of a terminal state.
//   - Fills are de-duplicated by trade id; executed amount, average price
//     and fees by asset follow from the distinct fills. Fills beyond the
//     order amount set Order.Overfilled (the fills are kept: they happened).
//   - Exactly one terminal event (completed, canceled, failed or expired)
//     per order, whichever of fills and status arrives first. Completion is
//     emitted when the fills reach the amount — at once if the fills come
//     first, or after the FILLED status once the missing fills arrive. A
//     terminal status whose fills are missing (FILLED with executed <
//     amount, or any status with venue-reported execution ahead of the
//     fills) waits for them at most the fill grace period; [OrderTracker.Sweep]
//     then emits the event with IncompleteFills set. Fills arriving after the
//     terminal event are still applied and published as OrderFilled.
//   - Lost orders: after LostAfter consecutive [OrderTracker.NotFound]
//     reports an active order moves to the lost set (OrderLost event); any
//     later update or fill for it reconciles it (OrderReconciled event) and
//     applies normally. Not-found reports for lost orders are counted and
//     otherwise ignored.
//   - Finished orders stay cached (bounded, oldest evicted first) so late
//     fills and updates still match.
//   - [OrderTracker.Snapshot] and [OrderTracker.Restore] persist all of it
//     as JSON-serialisable values, buffered orphans included.
//
// Events are published while the tracker's lock is held, so their order on
// [OrderEvents] is the order of the changes. The zero value is not usable;
// use [NewOrderTracker]. Safe for concurrent use.
type OrderTracker struct {
	pub       *operators.MultiPublisher
	sink      func(OrderEvent)
	clock     operators.Clock
	logger    *slog.Logger
	lostAfter int
	finLimit  int
	orphLimit int
	grace     time.Duration

	mu         sync.Mutex
	active     map[string]*tracked
	lost       map[string]*tracked
	finished   map[string]*tracked
	finOrder   []string          // FIFO of finished client ids
	byExchange map[string]string // exchange id → client id (all sets)
	orphans    map[string][]orphan
	orphOrder  []string // FIFO of exchange ids with orphans
	orphCount  int
	seq        uint64 // bumped on every change, for tests and caching
}

type tracked struct {
	Order
	trades map[string]struct{}
}

type orphan struct {
	update *OrderUpdate
	fill   *Fill
}

// TrackerOption configures an [OrderTracker].
type TrackerOption func(*OrderTracker)

// WithLostAfter sets how many consecutive not-found reports make an order
// lost (default 3).
func WithLostAfter(n int) TrackerOption { return func(t *OrderTracker) { t.lostAfter = n } }

// WithFinishedLimit bounds the cache of finished orders (default 1000).
func WithFinishedLimit(n int) TrackerOption { return func(t *OrderTracker) { t.finLimit = n } }

// WithOrphanLimit bounds the buffer of updates and fills that carry an
// exchange id no order is bound to yet (default 1000; oldest dropped).
func WithOrphanLimit(n int) TrackerOption { return func(t *OrderTracker) { t.orphLimit = n } }

// WithFillGrace sets how long a terminal status waits for missing fills
// before its event is emitted anyway by Sweep (default 10 s). A negative
// value means never wait: the terminal event goes out with the status.
func WithFillGrace(d time.Duration) TrackerOption { return func(t *OrderTracker) { t.grace = d } }

// WithTrackerClock sets the clock for local timestamps and the fill grace.
func WithTrackerClock(c operators.Clock) TrackerOption { return func(t *OrderTracker) { t.clock = c } }

// WithTrackerLogger sets the logger.
func WithTrackerLogger(l *slog.Logger) TrackerOption { return func(t *OrderTracker) { t.logger = l } }

// WithEventSink calls fn synchronously, under the tracker's lock, with
// every event, in addition to publishing it. fn must be quick and must not
// call the tracker. Useful for persistence and tests.
func WithEventSink(fn func(OrderEvent)) TrackerOption { return func(t *OrderTracker) { t.sink = fn } }

// NewOrderTracker returns a tracker publishing on pub (nil: events go only
// to the sink, if any).
func NewOrderTracker(pub *operators.MultiPublisher, opts ...TrackerOption) *OrderTracker {
	t := &OrderTracker{
		pub:        pub,
		lostAfter:  DefaultLostAfter,
		finLimit:   DefaultFinishedLimit,
		orphLimit:  DefaultOrphanLimit,
		grace:      DefaultFillGrace,
		active:     map[string]*tracked{},
		lost:       map[string]*tracked{},
		finished:   map[string]*tracked{},
		byExchange: map[string]string{},
		orphans:    map[string][]orphan{},
	}
	for _, o := range opts {
		o(t)
	}
	if t.clock == nil {
		t.clock = operators.SystemClock{}
	}
	if t.logger == nil {
		t.logger = slog.Default()
	}
	if t.lostAfter < 1 {
		t.lostAfter = 1
	}
	if t.finLimit < 0 {
		t.finLimit = 0
	}
	return t
}

func (t *OrderTracker) now() int64 { return t.clock.Now().UnixNano() }

// Track starts tracking a new order in PENDING_CREATE. req.ClientOrderID is
// required and must not be tracked already.
func (t *OrderTracker) Track(req OrderRequest) (Order, error) {
	if req.ClientOrderID == "" {
		return Order{}, fmt.Errorf("exchange: Track: empty client order id")
	}
	if !req.Amount.IsPos() {
		return Order{}, fmt.Errorf("exchange: Track %s: amount %s must be positive", req.ClientOrderID, req.Amount)
	}
	if req.Side != domain.Buy && req.Side != domain.Sell {
		return Order{}, fmt.Errorf("exchange: Track %s: side %v (accepted: buy, sell)", req.ClientOrderID, req.Side)
	}
	now := t.now()
	o := Order{
		ClientOrderID: req.ClientOrderID,
		Symbol:        req.Symbol,
		Side:          req.Side,
		Type:          req.Type,
		TimeInForce:   req.TimeInForce,
		Price:         req.Price,
		Amount:        req.Amount,
		State:         PendingCreate,
		CreatedAt:     now,
		UpdatedAt:     now,
	}
	return t.Adopt(o)
}

// Adopt starts tracking an order in whatever state it is, e.g. an open
// order found at the venue on start-up that no snapshot knew. ExchangeOrderID
// is bound if set. Terminal orders go straight to the finished cache
// without events.
func (t *OrderTracker) Adopt(o Order) (Order, error) {
	if o.ClientOrderID == "" {
		return Order{}, fmt.Errorf("exchange: Adopt: empty client order id")
	}
	if o.State >= numStates {
		return Order{}, fmt.Errorf("exchange: Adopt %s: invalid state %v", o.ClientOrderID, o.State)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.findByClient(o.ClientOrderID) != nil {
		return Order{}, &DuplicateOrderError{ClientOrderID: o.ClientOrderID}
	}
	if o.ExchangeOrderID != "" {
		if other, ok := t.byExchange[o.ExchangeOrderID]; ok {
			return Order{}, fmt.Errorf("exchange: Adopt %s: exchange order id %q already belongs to %s", o.ClientOrderID, o.ExchangeOrderID, other)
		}
	}
	if o.CreatedAt == 0 {
		o.CreatedAt = t.now()
	}
	if o.UpdatedAt == 0 {
		o.UpdatedAt = o.CreatedAt
	}
	tr := &tracked{Order: o.clone(), trades: map[string]struct{}{}}
	for _, id := range tr.TradeIDs {
		tr.trades[id] = struct{}{}
	}
	if o.State.IsTerminal() {
		tr.TerminalEmitted = true
		t.addFinished(tr)
	} else {
		t.active[o.ClientOrderID] = tr
	}
	if o.ExchangeOrderID != "" {
		t.byExchange[o.ExchangeOrderID] = o.ClientOrderID
		t.replayOrphans(tr)
	}
	t.seq++
	return tr.clone(), nil
}

func (t *OrderTracker) findByClient(id string) *tracked {
	if o := t.active[id]; o != nil {
		return o
	}
	if o := t.lost[id]; o != nil {
		return o
	}
	return t.finished[id]
}

func (t *OrderTracker) find(clientID, exchangeID string) *tracked {
	if clientID != "" {
		if o := t.findByClient(clientID); o != nil {
			return o
		}
	}
	if exchangeID != "" {
		if c, ok := t.byExchange[exchangeID]; ok {
			return t.findByClient(c)
		}
	}
	return nil
}

// Get returns a copy of the order with the given client or exchange id, in
// any set (active, lost, finished).
func (t *OrderTracker) Get(ref OrderRef) (Order, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	o := t.find(ref.ClientOrderID, ref.ExchangeOrderID)
	if o == nil {
		return Order{}, false
	}
	return o.clone(), true
}

// IsLost reports whether the order is in the lost set.
func (t *OrderTracker) IsLost(ref OrderRef) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	o := t.find(ref.ClientOrderID, ref.ExchangeOrderID)
	return o != nil && t.lost[o.ClientOrderID] == o
}

func sortedCopies(m map[string]*tracked, keep func(*tracked) bool) []Order {
	out := make([]Order, 0, len(m))
	for _, o := range m {
		if keep == nil || keep(o) {
			out = append(out, o.clone())
		}
	}
	slices.SortFunc(out, func(a, b Order) int {
		return cmp.Or(cmp.Compare(a.CreatedAt, b.CreatedAt), cmp.Compare(a.ClientOrderID, b.ClientOrderID))
	})
	return out
}

// ActiveOrders returns the orders that may still change at the venue
// (PENDING_CREATE, OPEN, PARTIALLY_FILLED, PENDING_CANCEL) — those a poll
// loop must query — oldest first.
func (t *OrderTracker) ActiveOrders() []Order {
	t.mu.Lock()
	defer t.mu.Unlock()
	return sortedCopies(t.active, func(o *tracked) bool { return o.State.IsActive() })
}

// AwaitingFills returns orders with a terminal status whose event waits
// for missing fills.
func (t *OrderTracker) AwaitingFills() []Order {
	t.mu.Lock()
	defer t.mu.Unlock()
	return sortedCopies(t.active, func(o *tracked) bool { return o.State.IsTerminal() })
}

// LostOrders returns the lost set, oldest first.
func (t *OrderTracker) LostOrders() []Order {
	t.mu.Lock()
	defer t.mu.Unlock()
	return sortedCopies(t.lost, nil)
}

// FinishedOrders returns the cached finished orders, oldest first.
func (t *OrderTracker) FinishedOrders() []Order {
	t.mu.Lock()
	defer t.mu.Unlock()
	return sortedCopies(t.finished, nil)
}

// Version returns a counter bumped by every change.
func (t *OrderTracker) Version() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.seq
}

// bind attaches an exchange id to an order that has none, and replays
// buffered orphans for it.
func (t *OrderTracker) bind(o *tracked, exchangeID string) {
	if exchangeID == "" || o.ExchangeOrderID == exchangeID {
		return
	}
	if o.ExchangeOrderID != "" {
		t.logger.Warn("exchange: update carries a different exchange order id; keeping the first",
			"client_order_id", o.ClientOrderID, "exchange_order_id", o.ExchangeOrderID, "other", exchangeID)
		return
	}
	if other, ok := t.byExchange[exchangeID]; ok && other != o.ClientOrderID {
		t.logger.Warn("exchange: exchange order id already bound to another order",
			"exchange_order_id", exchangeID, "client_order_id", o.ClientOrderID, "other", other)
		return
	}
	o.ExchangeOrderID = exchangeID
	t.byExchange[exchangeID] = o.ClientOrderID
	if !o.CreatedEmitted && o.State != Failed && !o.TerminalEmitted {
		t.emit(o, OrderCreated, nil, "", false)
	}
	t.replayOrphans(o)
}

func (t *OrderTracker) replayOrphans(o *tracked) {
	items, ok := t.orphans[o.ExchangeOrderID]
	if !ok {
		return
	}
	delete(t.orphans, o.ExchangeOrderID)
	t.orphCount -= len(items)
	if i := slices.Index(t.orphOrder, o.ExchangeOrderID); i >= 0 {
		t.orphOrder = slices.Delete(t.orphOrder, i, i+1)
	}
	for _, it := range items {
		if it.update != nil {
			_, _ = t.applyUpdate(o, *it.update)
		} else {
			t.applyFill(o, *it.fill)
		}
	}
}

func (t *OrderTracker) buffer(exchangeID string, it orphan) {
	if t.orphLimit <= 0 {
		return
	}
	if _, ok := t.orphans[exchangeID]; !ok {
		t.orphOrder = append(t.orphOrder, exchangeID)
	}
	t.orphans[exchangeID] = append(t.orphans[exchangeID], it)
	t.orphCount++
	for t.orphCount > t.orphLimit && len(t.orphOrder) > 0 {
		oldest := t.orphOrder[0]
		t.orphOrder = t.orphOrder[1:]
		n := len(t.orphans[oldest])
		if n == 0 {
			continue
		}
		delete(t.orphans, oldest)
		t.orphCount -= n
		t.logger.Warn("exchange: dropped buffered updates for unknown exchange order id", "exchange_order_id", oldest, "count", n)
	}
}

// Orphans returns how many buffered updates and fills wait for an exchange
// id to be bound.
func (t *OrderTracker) Orphans() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.orphCount
}

// reconcile moves a lost order back to the active set.
func (t *OrderTracker) reconcile(o *tracked) {
	if t.lost[o.ClientOrderID] != o {
		return
	}
	delete(t.lost, o.ClientOrderID)
	o.NotFoundCount = 0
	t.active[o.ClientOrderID] = o
	t.emit(o, OrderReconciled, nil, "", false)
}

// ProcessUpdate applies a venue status update. The error is non-nil for
// OutcomeUnknownOrder (*UnknownOrderError) and OutcomeRejected
// (*TransitionError); stale and duplicate updates are not errors.
func (t *OrderTracker) ProcessUpdate(u OrderUpdate) (Outcome, error) {
	if u.State >= numStates {
		return OutcomeRejected, fmt.Errorf("exchange: update for %s: invalid state %v", OrderRef{ClientOrderID: u.ClientOrderID, ExchangeOrderID: u.ExchangeOrderID}, u.State)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	o := t.find(u.ClientOrderID, u.ExchangeOrderID)
	if o == nil {
		if u.ClientOrderID == "" && u.ExchangeOrderID != "" {
			t.buffer(u.ExchangeOrderID, orphan{update: &u})
			return OutcomeBuffered, nil
		}
		return OutcomeUnknownOrder, &UnknownOrderError{Ref: OrderRef{ClientOrderID: u.ClientOrderID, ExchangeOrderID: u.ExchangeOrderID}}
	}
	t.reconcile(o)
	o.NotFoundCount = 0
	out, err := t.applyUpdate(o, u)
	t.bind(o, u.ExchangeOrderID) // after applying: replayed orphans are older
	return out, err
}

func (t *OrderTracker) applyUpdate(o *tracked, u OrderUpdate) (Outcome, error) {
	// Staleness: sequence first (exact), then timestamp.
	if u.Sequence != 0 && o.LastSequence != 0 {
		if u.Sequence < o.LastSequence {
			return OutcomeStale, nil
		}
		if u.Sequence == o.LastSequence && u.State == o.State {
			return OutcomeDuplicate, nil
		}
	} else if u.Timestamp != 0 && o.LastVenueTime != 0 && u.Timestamp < o.LastVenueTime {
		return OutcomeStale, nil
	}
	changed := false
	if u.Executed.Cmp(o.VenueExecuted) > 0 {
		o.VenueExecuted = u.Executed
		changed = true
		if o.VenueExecuted.Cmp(o.Amount) > 0 && !o.Overfilled {
			o.Overfilled = true
			t.logger.Warn("exchange: venue reports more executed than the order amount",
				"client_order_id", o.ClientOrderID, "amount", o.Amount, "venue_executed", o.VenueExecuted)
		}
	}
	if u.State != o.State && !CanTransition(o.State, u.State) {
		if o.State.IsTerminal() || u.State.rank() < o.State.rank() {
			// Late or out of order: the order is already further along.
			if changed {
				t.maybeEmitTerminal(o)
			}
			return OutcomeStale, nil
		}
		t.logger.Warn("exchange: refused order transition", "client_order_id", o.ClientOrderID, "from", o.State, "to", u.State)
		return OutcomeRejected, &TransitionError{ClientOrderID: o.ClientOrderID, From: o.State, To: u.State}
	}
	if u.Sequence > o.LastSequence {
		o.LastSequence = u.Sequence
	}
	if u.Timestamp > o.LastVenueTime {
		o.LastVenueTime = u.Timestamp
	}
	if u.State == o.State {
		if !changed {
			return OutcomeDuplicate, nil
		}
		o.UpdatedAt = t.now()
		t.seq++
		t.maybeEmitTerminal(o)
		return OutcomeApplied, nil
	}
	if u.Reason != "" {
		o.Reason = u.Reason
	}
	t.setState(o, u.State)
	return OutcomeApplied, nil
}

// setState performs an allowed transition and its consequences.
func (t *OrderTracker) setState(o *tracked, to OrderState) {
	t.transition(o, to)
	t.afterTransition(o)
}

// transition changes the state without publishing anything.
func (t *OrderTracker) transition(o *tracked, to OrderState) {
	if to == PendingCancel && o.State != PendingCancel {
		o.CancelFrom = o.State
	}
	o.State = to
	o.UpdatedAt = t.now()
	if to.IsTerminal() {
		o.TerminalAt = o.UpdatedAt
	}
	t.seq++
}

// afterTransition publishes what the current state implies: the created
// event on acknowledgement, the terminal event once due.
func (t *OrderTracker) afterTransition(o *tracked) {
	if !o.CreatedEmitted && acknowledged(o.State) {
		t.emit(o, OrderCreated, nil, "", false)
	}
	t.maybeEmitTerminal(o)
}

// acknowledged reports whether reaching s implies the venue accepted the
// order.
func acknowledged(s OrderState) bool {
	switch s {
	case Open, PartiallyFilled, Filled, Canceled, Expired:
		return true
	}
	return false
}

// fillsMissing reports whether a terminal order still waits for fills.
func fillsMissing(o *tracked) bool {
	if o.State == Filled && o.Executed.Cmp(o.Amount) < 0 {
		return true
	}
	return o.VenueExecuted.Cmp(o.Executed) > 0
}

// maybeEmitTerminal emits the terminal event of a terminal order once its
// fills are complete (or the grace is negative).
func (t *OrderTracker) maybeEmitTerminal(o *tracked) {
	if !o.State.IsTerminal() || o.TerminalEmitted {
		return
	}
	if t.grace >= 0 && fillsMissing(o) {
		return
	}
	t.emitTerminal(o, fillsMissing(o))
}

func (t *OrderTracker) emitTerminal(o *tracked, incomplete bool) {
	o.TerminalEmitted = true
	var typ OrderEventType
	switch o.State {
	case Filled:
		typ = OrderCompleted
	case Canceled:
		typ = OrderCanceled
	case Failed:
		typ = OrderFailed
	case Expired:
		typ = OrderExpired
	}
	t.emit(o, typ, nil, o.Reason, incomplete)
	if t.active[o.ClientOrderID] == o {
		delete(t.active, o.ClientOrderID)
	}
	if t.lost[o.ClientOrderID] == o {
		delete(t.lost, o.ClientOrderID)
	}
	t.addFinished(o)
}

func (t *OrderTracker) addFinished(o *tracked) {
	if t.finished[o.ClientOrderID] == o {
		return
	}
	t.finished[o.ClientOrderID] = o
	t.finOrder = append(t.finOrder, o.ClientOrderID)
	for len(t.finOrder) > t.finLimit {
		old := t.finOrder[0]
		t.finOrder = t.finOrder[1:]
		if f := t.finished[old]; f != nil {
			delete(t.finished, old)
			if f.ExchangeOrderID != "" && t.byExchange[f.ExchangeOrderID] == old {
				delete(t.byExchange, f.ExchangeOrderID)
			}
		}
	}
}

func (t *OrderTracker) emit(o *tracked, typ OrderEventType, fill *Fill, reason string, incomplete bool) {
	if typ == OrderCreated {
		o.CreatedEmitted = true
	}
	ev := OrderEvent{Type: typ, Order: o.clone(), Fill: fill, Reason: reason, IncompleteFills: incomplete, Timestamp: t.now()}
	if t.sink != nil {
		t.sink(ev)
	}
	if t.pub != nil {
		// Publish never blocks; it fails only after the publisher closed,
		// when nobody can receive anyway.
		_ = operators.Publish(t.pub, OrderEvents, ev)
		_ = operators.Publish(t.pub, TopicFor(typ), ev)
	}
}

// ProcessFill applies one fill. Duplicates (same trade id) are reported as
// OutcomeDuplicate. A fill carrying only an exchange id that no order is
// bound to yet is buffered.
func (t *OrderTracker) ProcessFill(f Fill) (Outcome, error) {
	if !f.Amount.IsPos() {
		return OutcomeRejected, fmt.Errorf("exchange: fill %s for %s: amount %s must be positive", f.TradeID, OrderRef{ClientOrderID: f.ClientOrderID, ExchangeOrderID: f.ExchangeOrderID}, f.Amount)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	o := t.find(f.ClientOrderID, f.ExchangeOrderID)
	if o == nil {
		if f.ClientOrderID == "" && f.ExchangeOrderID != "" {
			t.buffer(f.ExchangeOrderID, orphan{fill: &f})
			return OutcomeBuffered, nil
		}
		return OutcomeUnknownOrder, &UnknownOrderError{Ref: OrderRef{ClientOrderID: f.ClientOrderID, ExchangeOrderID: f.ExchangeOrderID}}
	}
	t.reconcile(o)
	o.NotFoundCount = 0
	out := t.applyFill(o, f)
	t.bind(o, f.ExchangeOrderID)
	return out, nil
}

func (t *OrderTracker) applyFill(o *tracked, f Fill) Outcome {
	key := f.dedupKey()
	if _, dup := o.trades[key]; dup {
		return OutcomeDuplicate
	}
	quote, err1 := f.Price.Mul(f.Amount)
	executed, err2 := o.Executed.Add(f.Amount)
	quoteExec, err3 := o.QuoteExecuted.Add(quote)
	if err := cmp.Or(err1, err2, err3); err != nil {
		t.logger.Error("exchange: fill arithmetic overflow; fill ignored", "client_order_id", o.ClientOrderID, "trade_id", f.TradeID, "error", err)
		return OutcomeRejected
	}
	o.trades[key] = struct{}{}
	o.TradeIDs = append(o.TradeIDs, key)
	o.Executed, o.QuoteExecuted = executed, quoteExec
	if !f.Fee.IsZero() || f.FeeAsset != "" {
		if o.Fees == nil {
			o.Fees = map[string]decimal.Decimal{}
		}
		if sum, err := o.Fees[f.FeeAsset].Add(f.Fee); err == nil {
			o.Fees[f.FeeAsset] = sum
		}
	}
	if f.ClientOrderID == "" {
		f.ClientOrderID = o.ClientOrderID
	}
	if f.ExchangeOrderID == "" {
		f.ExchangeOrderID = o.ExchangeOrderID
	}
	if o.Executed.Cmp(o.Amount) > 0 && !o.Overfilled {
		o.Overfilled = true
		t.logger.Warn("exchange: order overfilled", "client_order_id", o.ClientOrderID, "amount", o.Amount, "executed", o.Executed)
	}
	o.UpdatedAt = t.now()
	t.seq++
	// Change the state first so that the fill event shows the order as it
	// is after the fill; then publish created (if this fill is the first
	// sign of life), the fill, and the terminal event if now due.
	switch {
	case o.State.IsActive() && o.Executed.Cmp(o.Amount) >= 0:
		t.transition(o, Filled)
	case o.State == PendingCreate || o.State == Open:
		t.transition(o, PartiallyFilled)
	}
	if !o.CreatedEmitted && o.State != Failed {
		t.emit(o, OrderCreated, nil, "", false)
	}
	fill := f
	t.emit(o, OrderFilled, &fill, "", false)
	t.maybeEmitTerminal(o)
	return OutcomeApplied
}

// NotFound records that the venue answered "order not found" for ref.
// After LostAfter consecutive reports an active order moves to the lost
// set (OutcomeLost, OrderLost event). Reports for lost orders are counted;
// reports for finished orders are ignored.
func (t *OrderTracker) NotFound(ref OrderRef) (Outcome, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	o := t.find(ref.ClientOrderID, ref.ExchangeOrderID)
	if o == nil {
		return OutcomeUnknownOrder, &UnknownOrderError{Ref: ref}
	}
	switch {
	case t.lost[o.ClientOrderID] == o:
		o.NotFoundCount++
		return OutcomeCounted, nil
	case t.active[o.ClientOrderID] != o || !o.State.IsActive():
		return OutcomeIgnored, nil
	}
	o.NotFoundCount++
	t.seq++
	if o.NotFoundCount < t.lostAfter {
		return OutcomeCounted, nil
	}
	delete(t.active, o.ClientOrderID)
	t.lost[o.ClientOrderID] = o
	t.emit(o, OrderLost, nil, fmt.Sprintf("not found %d times in a row", o.NotFoundCount), false)
	return OutcomeLost, nil
}

// Fail marks an order that the venue definitively rejected (or that was
// never sent) as FAILED and emits OrderFailed. Only PENDING_CREATE orders
// can fail (see the transition table).
func (t *OrderTracker) Fail(ref OrderRef, reason string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	o := t.find(ref.ClientOrderID, ref.ExchangeOrderID)
	if o == nil {
		return &UnknownOrderError{Ref: ref}
	}
	if !CanTransition(o.State, Failed) {
		return &TransitionError{ClientOrderID: o.ClientOrderID, From: o.State, To: Failed}
	}
	t.reconcile(o)
	o.Reason = reason
	t.setState(o, Failed)
	return nil
}

// CancelRequested records that a cancel request is being sent: the order
// moves to PENDING_CANCEL. It fails with *NotActiveError for finished
// orders (nothing to cancel) and is a no-op if already PENDING_CANCEL.
func (t *OrderTracker) CancelRequested(ref OrderRef) (Order, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	o := t.find(ref.ClientOrderID, ref.ExchangeOrderID)
	if o == nil {
		return Order{}, &UnknownOrderError{Ref: ref}
	}
	if !o.State.IsActive() {
		return o.clone(), &NotActiveError{ClientOrderID: o.ClientOrderID, State: o.State}
	}
	if o.State != PendingCancel {
		t.setState(o, PendingCancel)
	}
	return o.clone(), nil
}

// CancelFailed records that a cancel request failed: a PENDING_CANCEL
// order returns to the state it had before, and OrderCancelFailed is
// emitted with reason (also when the order has meanwhile changed state,
// e.g. filled).
func (t *OrderTracker) CancelFailed(ref OrderRef, reason string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	o := t.find(ref.ClientOrderID, ref.ExchangeOrderID)
	if o == nil {
		return &UnknownOrderError{Ref: ref}
	}
	if o.State == PendingCancel {
		back := o.CancelFrom
		if back == PendingCancel || !CanTransition(PendingCancel, back) {
			back = Open
		}
		if (back == PendingCreate || back == Open) && o.Executed.IsPos() {
			back = PartiallyFilled
		}
		t.setState(o, back)
	}
	t.emit(o, OrderCancelFailed, nil, reason, false)
	return nil
}

// Sweep emits the terminal events that have waited longer than the fill
// grace period for missing fills (with IncompleteFills set). Call it from
// the poll loop. It returns how many events it emitted.
func (t *OrderTracker) Sweep() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	var due []*tracked
	for _, o := range t.active {
		if o.State.IsTerminal() && !o.TerminalEmitted && now-o.TerminalAt >= int64(t.grace) {
			due = append(due, o)
		}
	}
	slices.SortFunc(due, func(a, b *tracked) int { return cmp.Compare(a.TerminalAt, b.TerminalAt) })
	for _, o := range due {
		t.emitTerminal(o, fillsMissing(o))
	}
	return len(due)
}

// Forget drops an order from every set without an event (e.g. a lost order
// the operator has given up on). It reports whether the order was known.
func (t *OrderTracker) Forget(ref OrderRef) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	o := t.find(ref.ClientOrderID, ref.ExchangeOrderID)
	if o == nil {
		return false
	}
	delete(t.active, o.ClientOrderID)
	delete(t.lost, o.ClientOrderID)
	delete(t.finished, o.ClientOrderID)
	if i := slices.Index(t.finOrder, o.ClientOrderID); i >= 0 {
		t.finOrder = slices.Delete(t.finOrder, i, i+1)
	}
	if o.ExchangeOrderID != "" {
		delete(t.byExchange, o.ExchangeOrderID)
	}
	t.seq++
	return true
}
