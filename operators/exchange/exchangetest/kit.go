// Package exchangetest is the conformance kit for exchange connectors and
// an in-memory paper exchange that passes it.
//
// A connector's tests call [Run] with a [Harness]: a constructor for the
// connector under test and a [VenueControl] for the venue behind it (the
// simulator, or a [PaperVenue]). The kit then checks the behaviour every
// connector must share: place → fill → complete; cancel; not found → lost →
// reconciled; duplicate fills; out-of-order updates; restart from a
// restored tracker snapshot; validation before submission.
package exchangetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/operators"
	"github.com/pype-go/pype/operators/exchange"
)

// Subject is what a connector must be to run the kit: a Trader whose
// FetchUpdates pulls the venue's order states and fills into its tracker
// — including the orders in the tracker's lost set, so they can be
// reconciled — and which releases its resources on Close.
type Subject interface {
	exchange.Trader
	operators.Fetcher
	// PlaceTracked and CancelTracked come with *exchange.Base.
	PlaceTracked(ctx context.Context, p exchange.OrderPlacer, req exchange.OrderRequest) (exchange.Order, error)
	CancelTracked(ctx context.Context, c exchange.OrderCanceler, ref exchange.OrderRef) (exchange.Order, error)
	Close() error
}

// VenueControl drives the venue behind the subject, as a test needs to.
type VenueControl interface {
	// Fill executes amount of the order (at its limit price).
	Fill(ctx context.Context, ref exchange.OrderRef, amount decimal.Decimal) error
	// HideOrder makes the venue answer "not found" for the next n
	// queries of the order; n = 0 makes it visible again.
	HideOrder(ref exchange.OrderRef, n int)
}

// Harness configures a kit run.
type Harness struct {
	// New returns a new connector instance for the venue; the restart
	// test calls it twice and hands the second instance the first one's
	// tracker snapshot. The kit closes every instance it gets.
	New func(t testing.TB) Subject
	// Venue controls the venue.
	Venue VenueControl
	// Resting returns a limit order that rests on the book (does not fill
	// when placed) and is valid under the market's rules. Its amount must
	// be divisible in two lots.
	Resting func() exchange.OrderRequest
	// Invalid returns an order the market's rules refuse even after
	// quantization (e.g. an amount below the minimum, or an order type the
	// market does not accept); PlaceTracked must reject it with a
	// *exchange.RuleError before submitting. Nil skips that test.
	Invalid func() exchange.OrderRequest
	// Timeout bounds each wait for an event (default 5 s).
	Timeout time.Duration
	// LostAfter is the subject's not-found threshold (default 3).
	LostAfter int
}

// Run runs the conformance kit as subtests of t. To know that every event
// published so far has been delivered, the kit publishes marker events
// (zero Type, ClientOrderID starting "exchangetest-barrier-") on
// exchange.OrderEvents of the subject's publisher.
func Run(t *testing.T, h Harness) {
	if h.Timeout <= 0 {
		h.Timeout = 5 * time.Second
	}
	if h.LostAfter <= 0 {
		h.LostAfter = exchange.DefaultLostAfter
	}
	k := &kit{h: h}
	for _, c := range k.cases() {
		t.Run(c.name, func(t *testing.T) { c.run(t) })
	}
}

type kitCase struct {
	name string
	run  func(testing.TB)
}

func (k *kit) cases() []kitCase {
	cs := []kitCase{
		{"PlaceFillComplete", k.placeFillComplete},
		{"Cancel", k.cancel},
		{"NotFoundLostReconciled", k.notFoundLostReconciled},
		{"DuplicateFills", k.duplicateFills},
		{"OutOfOrderUpdates", k.outOfOrderUpdates},
		{"RestartWithRestoredState", k.restart},
	}
	if k.h.Invalid != nil {
		cs = append(cs, kitCase{"RejectedBeforeSubmit", k.rejectedBeforeSubmit})
	}
	return cs
}

type kit struct{ h Harness }

// watcher records the subject's order events and offers a barrier that
// proves every event published so far was seen.
type watcher struct {
	t       testing.TB
	pub     *operators.MultiPublisher
	sub     *operators.Subscription
	timeout time.Duration

	mu      sync.Mutex
	events  []exchange.OrderEvent
	signal  chan struct{}
	barrier int
}

const barrierPrefix = "exchangetest-barrier-"

func (k *kit) watch(t testing.TB, s Subject) *watcher {
	w := &watcher{t: t, pub: s.Publishing(), timeout: k.h.Timeout, signal: make(chan struct{}, 1)}
	sub, err := operators.Subscribe(w.pub, exchange.OrderEvents, func(e exchange.OrderEvent) {
		w.mu.Lock()
		w.events = append(w.events, e)
		w.mu.Unlock()
		select {
		case w.signal <- struct{}{}:
		default:
		}
	}, operators.WithSubscriberName("exchangetest"))
	if err != nil {
		t.Fatalf("subscribe to order events: %v", err)
	}
	w.sub = sub
	t.Cleanup(sub.Unsubscribe)
	return w
}

// sync publishes a marker event and waits until it arrives: the publisher
// delivers in order, so everything published before it has been recorded.
func (w *watcher) sync() {
	w.t.Helper()
	w.mu.Lock()
	w.barrier++
	id := barrierPrefix + strconv.Itoa(w.barrier)
	w.mu.Unlock()
	if err := operators.Publish(w.pub, exchange.OrderEvents, exchange.OrderEvent{Order: exchange.Order{ClientOrderID: id}}); err != nil {
		w.t.Fatalf("publish barrier: %v", err)
	}
	deadline := time.NewTimer(w.timeout)
	defer deadline.Stop()
	for {
		w.mu.Lock()
		n := len(w.events)
		seen := n > 0 && w.events[n-1].Order.ClientOrderID == id
		w.mu.Unlock()
		if seen {
			return
		}
		select {
		case <-w.signal:
		case <-deadline.C:
			w.t.Fatalf("order events not delivered within %v", w.timeout)
		}
	}
}

// types returns the event types recorded for the order (after a sync).
func (w *watcher) types(clientID string) []exchange.OrderEventType {
	w.sync()
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []exchange.OrderEventType
	for _, e := range w.events {
		if e.Order.ClientOrderID == clientID {
			out = append(out, e.Type)
		}
	}
	return out
}

func (w *watcher) last(clientID string, typ exchange.OrderEventType) (exchange.OrderEvent, bool) {
	w.sync()
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := len(w.events) - 1; i >= 0; i-- {
		if e := w.events[i]; e.Order.ClientOrderID == clientID && e.Type == typ {
			return e, true
		}
	}
	return exchange.OrderEvent{}, false
}

func count(types []exchange.OrderEventType, typ exchange.OrderEventType) int {
	n := 0
	for _, x := range types {
		if x == typ {
			n++
		}
	}
	return n
}

func terminals(types []exchange.OrderEventType) int {
	n := 0
	for _, x := range types {
		if x.IsTerminal() {
			n++
		}
	}
	return n
}

func (k *kit) subject(t testing.TB) Subject {
	s := k.h.New(t)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close subject: %v", err)
		}
	})
	return s
}

func (k *kit) ctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 4*k.h.Timeout)
	t.Cleanup(cancel)
	return ctx
}

func (k *kit) place(t testing.TB, s Subject) exchange.Order {
	t.Helper()
	o, err := s.PlaceTracked(k.ctx(t), s, k.h.Resting())
	if err != nil {
		t.Fatalf("place resting order: %v", err)
	}
	if o.ClientOrderID == "" || o.ExchangeOrderID == "" {
		t.Fatalf("placed order lacks ids: %+v", o)
	}
	if o.State == exchange.PendingCreate { // acknowledged asynchronously
		k.fetch(t, s)
		o = k.tracked(t, s, o)
	}
	if o.State != exchange.Open {
		t.Fatalf("resting order is %v after placement, want OPEN", o.State)
	}
	return o
}

func (k *kit) fetch(t testing.TB, s Subject) {
	t.Helper()
	if err := s.FetchUpdates(k.ctx(t)); err != nil {
		t.Fatalf("FetchUpdates: %v", err)
	}
}

func (k *kit) fill(t testing.TB, o exchange.Order, amount decimal.Decimal) {
	t.Helper()
	if err := k.h.Venue.Fill(k.ctx(t), o.Ref(), amount); err != nil {
		t.Fatalf("venue fill %s of %s: %v", amount, o.Ref(), err)
	}
}

func half(t testing.TB, o exchange.Order) (decimal.Decimal, decimal.Decimal) {
	t.Helper()
	h, err := o.Amount.Quo(decimal.MustNew(2, 0))
	if err != nil {
		t.Fatal(err)
	}
	rest, _ := o.Amount.Sub(h)
	return h, rest
}

func (k *kit) tracked(t testing.TB, s Subject, o exchange.Order) exchange.Order {
	t.Helper()
	got, ok := s.Tracker().Get(o.Ref())
	if !ok {
		t.Fatalf("tracker lost %s", o.Ref())
	}
	return got
}

func want(t testing.TB, what string, got []exchange.OrderEventType, wantTypes ...exchange.OrderEventType) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(wantTypes) {
		t.Fatalf("%s: events %v, want %v", what, got, wantTypes)
	}
}

func (k *kit) placeFillComplete(t testing.TB) {
	s := k.subject(t)
	w := k.watch(t, s)
	o := k.place(t, s)
	first, second := half(t, o)
	k.fill(t, o, first)
	k.fetch(t, s)
	if got := k.tracked(t, s, o); got.State != exchange.PartiallyFilled || !got.Executed.Equal(first) {
		t.Fatalf("after a partial fill: %v executed %s, want PARTIALLY_FILLED %s", got.State, got.Executed, first)
	}
	k.fill(t, o, second)
	k.fetch(t, s)
	k.fetch(t, s)
	got := k.tracked(t, s, o)
	if got.State != exchange.Filled || !got.Executed.Equal(o.Amount) || got.Overfilled {
		t.Fatalf("after the last fill: %v executed %s of %s (overfilled %v)", got.State, got.Executed, o.Amount, got.Overfilled)
	}
	if got.AveragePrice().IsZero() {
		t.Fatal("average price not computed")
	}
	want(t, "place, fill, fill", w.types(o.ClientOrderID),
		exchange.OrderCreated, exchange.OrderFilled, exchange.OrderFilled, exchange.OrderCompleted)
	ev, _ := w.last(o.ClientOrderID, exchange.OrderCompleted)
	if ev.IncompleteFills || !ev.Order.Executed.Equal(o.Amount) {
		t.Fatalf("completion event %+v", ev)
	}
	if n := len(s.Tracker().ActiveOrders()); n != 0 {
		t.Fatalf("%d active orders after completion", n)
	}
}

func (k *kit) cancel(t testing.TB) {
	s := k.subject(t)
	w := k.watch(t, s)
	o := k.place(t, s)
	got, err := s.CancelTracked(k.ctx(t), s, o.Ref())
	if err != nil {
		t.Fatalf("cancel: %v", err)
	}
	if got.State != exchange.PendingCancel && got.State != exchange.Canceled {
		t.Fatalf("after cancel: %v", got.State)
	}
	k.fetch(t, s)
	if got := k.tracked(t, s, o); got.State != exchange.Canceled {
		t.Fatalf("after cancel and fetch: %v, want CANCELED", got.State)
	}
	k.fetch(t, s)
	want(t, "place, cancel", w.types(o.ClientOrderID), exchange.OrderCreated, exchange.OrderCanceled)
	var na *exchange.NotActiveError
	if _, err := s.CancelTracked(k.ctx(t), s, o.Ref()); !errors.As(err, &na) {
		t.Fatalf("second cancel: %v, want *exchange.NotActiveError", err)
	}
}

func (k *kit) notFoundLostReconciled(t testing.TB) {
	s := k.subject(t)
	w := k.watch(t, s)
	o := k.place(t, s)
	// Hide the order until further notice: LostAfter polls make it lost;
	// further not-found answers on the lost order (the reference tracker
	// crashed on the fourth for an OPEN order) change nothing.
	k.h.Venue.HideOrder(o.Ref(), 1<<30)
	for range k.h.LostAfter {
		k.fetch(t, s)
	}
	if !s.Tracker().IsLost(o.Ref()) {
		t.Fatalf("order not lost after %d polls answered not found", k.h.LostAfter)
	}
	k.fetch(t, s)
	if !s.Tracker().IsLost(o.Ref()) {
		t.Fatal("order left the lost set without being found")
	}
	k.h.Venue.HideOrder(o.Ref(), 0)
	k.fetch(t, s) // found again
	if s.Tracker().IsLost(o.Ref()) {
		t.Fatal("order still lost after the venue reported it again (does FetchUpdates query lost orders?)")
	}
	k.fill(t, o, o.Amount)
	k.fetch(t, s)
	want(t, "lost and found", w.types(o.ClientOrderID),
		exchange.OrderCreated, exchange.OrderLost, exchange.OrderReconciled, exchange.OrderFilled, exchange.OrderCompleted)
}

func (k *kit) duplicateFills(t testing.TB) {
	s := k.subject(t)
	w := k.watch(t, s)
	o := k.place(t, s)
	first, _ := half(t, o)
	k.fill(t, o, first)
	for range 3 {
		k.fetch(t, s)
	}
	ev, ok := w.last(o.ClientOrderID, exchange.OrderFilled)
	if !ok || ev.Fill == nil {
		t.Fatal("no fill event")
	}
	// The same fill delivered again, by either id: ignored.
	f := *ev.Fill
	for _, g := range []exchange.Fill{f, {ExchangeOrderID: f.ExchangeOrderID, TradeID: f.TradeID, Price: f.Price, Amount: f.Amount}} {
		if out, err := s.Tracker().ProcessFill(g); out != exchange.OutcomeDuplicate || err != nil {
			t.Fatalf("replayed fill: %v %v, want duplicate", out, err)
		}
	}
	if got := k.tracked(t, s, o); !got.Executed.Equal(first) {
		t.Fatalf("executed %s after duplicates, want %s", got.Executed, first)
	}
	types := w.types(o.ClientOrderID)
	if count(types, exchange.OrderFilled) != 1 || terminals(types) != 0 {
		t.Fatalf("events %v: want exactly one fill and no terminal event", types)
	}
}

func (k *kit) outOfOrderUpdates(t testing.TB) {
	s := k.subject(t)
	w := k.watch(t, s)
	o := k.place(t, s)
	ctx := k.ctx(t)
	open, err := s.GetOrder(ctx, o.Ref())
	if err != nil {
		t.Fatalf("GetOrder: %v", err)
	}
	first, second := half(t, o)
	k.fill(t, o, first)
	partial, err := s.GetOrder(ctx, o.Ref())
	if err != nil {
		t.Fatalf("GetOrder: %v", err)
	}
	k.fill(t, o, second)
	k.fetch(t, s)
	if got := k.tracked(t, s, o); got.State != exchange.Filled {
		t.Fatalf("state %v, want FILLED", got.State)
	}
	// Older answers arrive late, by exchange id only and by both ids.
	for _, u := range []exchange.OrderUpdate{partial, open, {ExchangeOrderID: o.ExchangeOrderID, State: open.State, Timestamp: open.Timestamp, Sequence: open.Sequence}} {
		out, err := s.Tracker().ProcessUpdate(u)
		if err != nil || (out != exchange.OutcomeStale && out != exchange.OutcomeDuplicate) {
			t.Fatalf("late %v update: %v %v, want stale", u.State, out, err)
		}
	}
	if got := k.tracked(t, s, o); got.State != exchange.Filled || !got.Executed.Equal(o.Amount) {
		t.Fatalf("after late updates: %v executed %s", got.State, got.Executed)
	}
	want(t, "late updates", w.types(o.ClientOrderID),
		exchange.OrderCreated, exchange.OrderFilled, exchange.OrderFilled, exchange.OrderCompleted)
}

func (k *kit) restart(t testing.TB) {
	s1 := k.subject(t)
	o := k.place(t, s1)
	first, second := half(t, o)
	k.fill(t, o, first)
	k.fetch(t, s1)
	b, err := json.Marshal(s1.Tracker().Snapshot())
	if err != nil {
		t.Fatalf("marshal snapshot: %v", err)
	}

	s2 := k.subject(t)
	w := k.watch(t, s2)
	var st exchange.TrackerState
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("unmarshal snapshot: %v", err)
	}
	if err := s2.Tracker().Restore(st); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if got := k.tracked(t, s2, o); got.State != exchange.PartiallyFilled || !got.Executed.Equal(first) {
		t.Fatalf("restored order %v executed %s", got.State, got.Executed)
	}
	k.fill(t, o, second)
	k.fetch(t, s2)
	k.fetch(t, s2)
	// The fill applied before the restart is not applied again.
	want(t, "after restart", w.types(o.ClientOrderID), exchange.OrderFilled, exchange.OrderCompleted)
	if got := k.tracked(t, s2, o); got.State != exchange.Filled || !got.Executed.Equal(o.Amount) || got.Overfilled {
		t.Fatalf("after restart: %v executed %s (overfilled %v)", got.State, got.Executed, got.Overfilled)
	}
}

func (k *kit) rejectedBeforeSubmit(t testing.TB) {
	s := k.subject(t)
	_, err := s.PlaceTracked(k.ctx(t), s, k.h.Invalid())
	var re *exchange.RuleError
	if !errors.As(err, &re) {
		t.Fatalf("invalid order: %v, want a *exchange.RuleError", err)
	}
	if n := len(s.Tracker().ActiveOrders()); n != 0 {
		t.Fatalf("an invalid order was tracked (%d active)", n)
	}
}
