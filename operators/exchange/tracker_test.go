package exchange

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestTrackerFillsBeforeStatus(t *testing.T) {
	tr, rec, _ := newTracker(t)
	mustTrack(t, tr, buyReq("c1", "1"))
	if out, err := tr.ProcessUpdate(OrderUpdate{ClientOrderID: "c1", ExchangeOrderID: "x1", State: Open, Timestamp: 10}); out != OutcomeApplied || err != nil {
		t.Fatal(out, err)
	}
	// Fills arrive (matched by exchange id only) before any FILLED status.
	if out, _ := tr.ProcessFill(Fill{ExchangeOrderID: "x1", TradeID: "t1", Price: d("100"), Amount: d("0.4"), Fee: d("0.04"), FeeAsset: "USDT"}); out != OutcomeApplied {
		t.Fatal(out)
	}
	if out, _ := tr.ProcessFill(Fill{ExchangeOrderID: "x1", TradeID: "t2", Price: d("101"), Amount: d("0.6"), Fee: d("0.00001"), FeeAsset: "BNB"}); out != OutcomeApplied {
		t.Fatal(out)
	}
	// The FILLED status arrives afterwards: no second completion.
	// (It records the venue's executed amount, so it counts as applied.)
	if out, err := tr.ProcessUpdate(OrderUpdate{ExchangeOrderID: "x1", State: Filled, Timestamp: 20, Executed: d("1")}); out != OutcomeApplied || err != nil {
		t.Fatalf("late FILLED: %v %v", out, err)
	}
	want := []OrderEventType{OrderCreated, OrderFilled, OrderFilled, OrderCompleted}
	if got := rec.types("c1"); !eqTypes(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	o, _ := tr.Get(OrderRef{ExchangeOrderID: "x1"})
	if o.State != Filled || !o.Executed.Equal(d("1")) || !o.AveragePrice().Equal(d("100.6")) {
		t.Fatalf("order %+v avg %s", o, o.AveragePrice())
	}
	if !o.Fees["USDT"].Equal(d("0.04")) || !o.Fees["BNB"].Equal(d("0.00001")) {
		t.Fatalf("fees %v", o.Fees)
	}
	if len(tr.ActiveOrders()) != 0 || len(tr.FinishedOrders()) != 1 {
		t.Fatal("completed order not moved to finished")
	}
}

func TestTrackerStatusBeforeFills(t *testing.T) {
	tr, rec, _ := newTracker(t)
	mustTrack(t, tr, buyReq("c1", "1"))
	_, _ = tr.ProcessUpdate(OrderUpdate{ClientOrderID: "c1", ExchangeOrderID: "x1", State: Filled, Executed: d("1")})
	if rec.count(OrderCompleted) != 0 {
		t.Fatal("completed before the fills arrived")
	}
	if len(tr.AwaitingFills()) != 1 {
		t.Fatal("order not awaiting fills")
	}
	_, _ = tr.ProcessFill(Fill{ClientOrderID: "c1", TradeID: "t1", Price: d("100"), Amount: d("0.5")})
	if rec.count(OrderCompleted) != 0 {
		t.Fatal("completed with half the fills")
	}
	_, _ = tr.ProcessFill(Fill{ClientOrderID: "c1", TradeID: "t2", Price: d("100"), Amount: d("0.5")})
	want := []OrderEventType{OrderCreated, OrderFilled, OrderFilled, OrderCompleted}
	if got := rec.types("c1"); !eqTypes(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	if ev := rec.last(); ev.IncompleteFills || !ev.Order.Executed.Equal(d("1")) {
		t.Fatalf("completion %+v", ev)
	}
}

func TestTrackerFillGrace(t *testing.T) {
	tr, rec, clk := newTracker(t, WithFillGrace(5*time.Second))
	mustTrack(t, tr, buyReq("c1", "1"))
	_, _ = tr.ProcessFill(Fill{ClientOrderID: "c1", TradeID: "t1", Price: d("100"), Amount: d("0.5")})
	_, _ = tr.ProcessUpdate(OrderUpdate{ClientOrderID: "c1", State: Filled})
	clk.Advance(4 * time.Second)
	if n := tr.Sweep(); n != 0 {
		t.Fatalf("swept %d before the grace", n)
	}
	clk.Advance(time.Second)
	if n := tr.Sweep(); n != 1 {
		t.Fatalf("swept %d after the grace, want 1", n)
	}
	ev := rec.last()
	if ev.Type != OrderCompleted || !ev.IncompleteFills {
		t.Fatalf("event %+v, want completion with incomplete fills", ev)
	}
	// The missing fill arrives late: applied and published, no second
	// completion.
	if out, _ := tr.ProcessFill(Fill{ClientOrderID: "c1", TradeID: "t2", Price: d("100"), Amount: d("0.5")}); out != OutcomeApplied {
		t.Fatal(out)
	}
	if rec.count(OrderCompleted) != 1 || rec.last().Type != OrderFilled {
		t.Fatalf("events %v", rec.types(""))
	}
	if tr.Sweep() != 0 {
		t.Fatal("second sweep emitted")
	}
}

func TestTrackerNegativeGraceCompletesWithStatus(t *testing.T) {
	tr, rec, _ := newTracker(t, WithFillGrace(-1))
	mustTrack(t, tr, buyReq("c1", "1"))
	_, _ = tr.ProcessUpdate(OrderUpdate{ClientOrderID: "c1", State: Filled})
	if ev := rec.last(); ev.Type != OrderCompleted || !ev.IncompleteFills {
		t.Fatalf("event %+v", ev)
	}
}

func TestTrackerCanceledWaitsForReportedFills(t *testing.T) {
	tr, rec, _ := newTracker(t)
	mustTrack(t, tr, buyReq("c1", "1"))
	_, _ = tr.ProcessUpdate(OrderUpdate{ClientOrderID: "c1", ExchangeOrderID: "x1", State: Canceled, Executed: d("0.3")})
	if rec.count(OrderCanceled) != 0 {
		t.Fatal("canceled emitted while a reported fill is missing")
	}
	_, _ = tr.ProcessFill(Fill{ExchangeOrderID: "x1", TradeID: "t1", Price: d("100"), Amount: d("0.3")})
	want := []OrderEventType{OrderCreated, OrderFilled, OrderCanceled}
	if got := rec.types("c1"); !eqTypes(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	if o := rec.last().Order; o.State != Canceled || !o.Executed.Equal(d("0.3")) {
		t.Fatalf("order %+v", o)
	}
}

func TestTrackerDuplicateAndOverfill(t *testing.T) {
	tr, rec, _ := newTracker(t)
	mustTrack(t, tr, buyReq("c1", "1"))
	f := Fill{ClientOrderID: "c1", TradeID: "t1", Price: d("100"), Amount: d("0.7")}
	_, _ = tr.ProcessFill(f)
	if out, _ := tr.ProcessFill(f); out != OutcomeDuplicate {
		t.Fatalf("duplicate fill: %v", out)
	}
	// Without trade ids, fills dedupe by (time, price, amount).
	g := Fill{ClientOrderID: "c1", Price: d("100"), Amount: d("0.1"), Timestamp: 5}
	_, _ = tr.ProcessFill(g)
	if out, _ := tr.ProcessFill(g); out != OutcomeDuplicate {
		t.Fatalf("duplicate id-less fill: %v", out)
	}
	// The venue sends more than ordered: kept, flagged.
	_, _ = tr.ProcessFill(Fill{ClientOrderID: "c1", TradeID: "t2", Price: d("100"), Amount: d("0.7")})
	o, _ := tr.Get(OrderRef{ClientOrderID: "c1"})
	if !o.Overfilled || !o.Executed.Equal(d("1.5")) || o.State != Filled {
		t.Fatalf("order %+v", o)
	}
	if rec.count(OrderCompleted) != 1 || rec.count(OrderFilled) != 3 {
		t.Fatalf("events %v", rec.types(""))
	}
	if _, err := tr.ProcessFill(Fill{ClientOrderID: "c1", TradeID: "z", Amount: d("0")}); err == nil {
		t.Fatal("zero fill accepted")
	}
}

func TestTrackerStaleUpdates(t *testing.T) {
	tr, _, _ := newTracker(t)
	mustTrack(t, tr, buyReq("c1", "1"))
	steps := []struct {
		u    OrderUpdate
		want Outcome
		st   OrderState
	}{
		{OrderUpdate{State: Open, Timestamp: 100}, OutcomeApplied, Open},
		{OrderUpdate{State: PartiallyFilled, Timestamp: 200, Executed: d("0.5")}, OutcomeApplied, PartiallyFilled},
		{OrderUpdate{State: Open, Timestamp: 150}, OutcomeStale, PartiallyFilled},     // older timestamp
		{OrderUpdate{State: Canceled, Timestamp: 199}, OutcomeStale, PartiallyFilled}, // older, even if terminal
		{OrderUpdate{State: Open, Timestamp: 300}, OutcomeStale, PartiallyFilled},     // newer but backwards
		{OrderUpdate{State: PartiallyFilled, Sequence: 7}, OutcomeDuplicate, PartiallyFilled},
		{OrderUpdate{State: Canceled, Sequence: 6, Timestamp: 900}, OutcomeStale, PartiallyFilled}, // lower sequence wins over newer time
		{OrderUpdate{State: PendingCancel, Sequence: 8}, OutcomeApplied, PendingCancel},
		{OrderUpdate{State: Canceled, Sequence: 9, Executed: d("0.5")}, OutcomeApplied, Canceled},
	}
	for i, s := range steps {
		s.u.ClientOrderID = "c1"
		out, _ := tr.ProcessUpdate(s.u)
		o, _ := tr.Get(OrderRef{ClientOrderID: "c1"})
		if out != s.want || o.State != s.st {
			t.Fatalf("step %d: %v/%v, want %v/%v", i, out, o.State, s.want, s.st)
		}
	}
}

func TestTrackerOrphansAndUnknown(t *testing.T) {
	tr, rec, _ := newTracker(t)
	// A fill and a status carrying only an exchange id arrive before the
	// placement response binds that id.
	if out, err := tr.ProcessFill(Fill{ExchangeOrderID: "x9", TradeID: "t1", Price: d("100"), Amount: d("1")}); out != OutcomeBuffered || err != nil {
		t.Fatal(out, err)
	}
	if out, _ := tr.ProcessUpdate(OrderUpdate{ExchangeOrderID: "x9", State: Filled, Timestamp: 5}); out != OutcomeBuffered {
		t.Fatal(out)
	}
	if tr.Orphans() != 2 {
		t.Fatal(tr.Orphans())
	}
	mustTrack(t, tr, buyReq("c1", "1"))
	if out, _ := tr.ProcessUpdate(OrderUpdate{ClientOrderID: "c1", ExchangeOrderID: "x9", State: Open, Timestamp: 1}); out != OutcomeApplied {
		t.Fatal(out)
	}
	want := []OrderEventType{OrderCreated, OrderFilled, OrderCompleted}
	if got := rec.types("c1"); !eqTypes(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	if tr.Orphans() != 0 {
		t.Fatal("orphans not consumed")
	}
	var unknown *UnknownOrderError
	if out, err := tr.ProcessUpdate(OrderUpdate{ClientOrderID: "nope", State: Open}); out != OutcomeUnknownOrder || !errors.As(err, &unknown) {
		t.Fatal(out, err)
	}
	// The orphan buffer is bounded.
	small, _, _ := newTracker(t, WithOrphanLimit(2))
	for _, id := range []string{"a", "b", "c"} {
		_, _ = small.ProcessUpdate(OrderUpdate{ExchangeOrderID: id, State: Open})
	}
	if small.Orphans() != 2 {
		t.Fatalf("orphans %d, want 2", small.Orphans())
	}
}

func TestTrackerLostAndReconciled(t *testing.T) {
	tr, rec, _ := newTracker(t)
	mustTrack(t, tr, buyReq("c1", "1"))
	_, _ = tr.ProcessUpdate(OrderUpdate{ClientOrderID: "c1", ExchangeOrderID: "x1", State: Open})
	ref := OrderRef{ClientOrderID: "c1"}
	for i, want := range []Outcome{OutcomeCounted, OutcomeCounted, OutcomeLost, OutcomeCounted, OutcomeCounted} {
		if out, err := tr.NotFound(ref); out != want || err != nil {
			t.Fatalf("not found #%d: %v %v, want %v", i+1, out, err, want)
		}
	}
	if !tr.IsLost(ref) || len(tr.ActiveOrders()) != 0 || len(tr.LostOrders()) != 1 {
		t.Fatal("order not in the lost set")
	}
	// A "found" answer in between resets the count.
	mustTrack(t, tr, buyReq("c2", "1"))
	_, _ = tr.NotFound(OrderRef{ClientOrderID: "c2"})
	_, _ = tr.NotFound(OrderRef{ClientOrderID: "c2"})
	_, _ = tr.ProcessUpdate(OrderUpdate{ClientOrderID: "c2", State: PendingCreate})
	if out, _ := tr.NotFound(OrderRef{ClientOrderID: "c2"}); out != OutcomeCounted {
		t.Fatal("count not reset by an update")
	}
	// The venue reports the lost order again (by exchange id only).
	if out, _ := tr.ProcessUpdate(OrderUpdate{ExchangeOrderID: "x1", State: PartiallyFilled, Executed: d("0.2")}); out != OutcomeApplied {
		t.Fatal(out)
	}
	if tr.IsLost(ref) {
		t.Fatal("still lost")
	}
	want := []OrderEventType{OrderCreated, OrderLost, OrderReconciled}
	if got := rec.types("c1"); !eqTypes(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	// Reconciled by a fill too.
	for range 3 {
		_, _ = tr.NotFound(ref)
	}
	_, _ = tr.ProcessFill(Fill{ClientOrderID: "c1", TradeID: "t", Price: d("1"), Amount: d("1")})
	want = append(want, OrderLost, OrderReconciled, OrderFilled, OrderCompleted)
	if got := rec.types("c1"); !eqTypes(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	if out, _ := tr.NotFound(ref); out != OutcomeIgnored {
		t.Fatal("not-found for a finished order not ignored")
	}
	if !tr.Forget(ref) || tr.Forget(ref) {
		t.Fatal("Forget")
	}
}

func TestTrackerCancelFlow(t *testing.T) {
	tr, rec, _ := newTracker(t)
	mustTrack(t, tr, buyReq("c1", "1"))
	ref := OrderRef{ClientOrderID: "c1"}
	_, _ = tr.ProcessUpdate(OrderUpdate{ClientOrderID: "c1", ExchangeOrderID: "x1", State: Open})
	_, _ = tr.ProcessFill(Fill{ClientOrderID: "c1", TradeID: "t1", Price: d("100"), Amount: d("0.1")})
	if o, err := tr.CancelRequested(ref); err != nil || o.State != PendingCancel {
		t.Fatal(o.State, err)
	}
	if o, err := tr.CancelRequested(ref); err != nil || o.State != PendingCancel {
		t.Fatal("second cancel request", o.State, err)
	}
	_ = tr.CancelFailed(ref, "rate limited")
	o, _ := tr.Get(ref)
	if o.State != PartiallyFilled {
		t.Fatalf("after failed cancel: %v, want PARTIALLY_FILLED", o.State)
	}
	if ev := rec.last(); ev.Type != OrderCancelFailed || ev.Reason != "rate limited" {
		t.Fatalf("event %+v", ev)
	}
	_, _ = tr.CancelRequested(ref)
	_, _ = tr.ProcessUpdate(OrderUpdate{ClientOrderID: "c1", State: Canceled, Reason: "user"})
	if ev := rec.last(); ev.Type != OrderCanceled || ev.Reason != "user" {
		t.Fatalf("event %+v", ev)
	}
	var na *NotActiveError
	if _, err := tr.CancelRequested(ref); !errors.As(err, &na) || na.State != Canceled {
		t.Fatalf("cancel of canceled: %v", err)
	}
	// Failing a placement.
	mustTrack(t, tr, buyReq("c2", "1"))
	if err := tr.Fail(OrderRef{ClientOrderID: "c2"}, "insufficient balance"); err != nil {
		t.Fatal(err)
	}
	if ev := rec.last(); ev.Type != OrderFailed || ev.Reason != "insufficient balance" {
		t.Fatalf("event %+v", ev)
	}
	var te *TransitionError
	if err := tr.Fail(ref, "x"); !errors.As(err, &te) {
		t.Fatalf("failing a canceled order: %v", err)
	}
	if rec.count(OrderCreated) != 1 {
		t.Fatal("a failed placement emitted created")
	}
}

func TestTrackerTrackValidation(t *testing.T) {
	tr, _, _ := newTracker(t)
	mustTrack(t, tr, buyReq("c1", "1"))
	var dup *DuplicateOrderError
	if _, err := tr.Track(buyReq("c1", "1")); !errors.As(err, &dup) {
		t.Fatal(err)
	}
	for _, r := range []OrderRequest{buyReq("", "1"), buyReq("c3", "0"), {ClientOrderID: "c4", Amount: d("1")}} {
		if _, err := tr.Track(r); err == nil {
			t.Fatalf("%+v accepted", r)
		}
	}
}

func TestTrackerFinishedCacheBounded(t *testing.T) {
	tr, _, _ := newTracker(t, WithFinishedLimit(2), WithFillGrace(-1))
	for _, id := range []string{"a", "b", "c"} {
		mustTrack(t, tr, buyReq(id, "1"))
		_, _ = tr.ProcessUpdate(OrderUpdate{ClientOrderID: id, ExchangeOrderID: "x" + id, State: Canceled})
	}
	if got := tr.FinishedOrders(); len(got) != 2 || got[0].ClientOrderID != "b" {
		t.Fatalf("finished %v", got)
	}
	if _, ok := tr.Get(OrderRef{ExchangeOrderID: "xa"}); ok {
		t.Fatal("evicted order still indexed by exchange id")
	}
	// A late fill for a cached finished order is applied.
	if out, _ := tr.ProcessFill(Fill{ExchangeOrderID: "xc", TradeID: "t", Price: d("1"), Amount: d("0.1")}); out != OutcomeApplied {
		t.Fatal(out)
	}
}

func TestTrackerSnapshotRestore(t *testing.T) {
	tr, _, _ := newTracker(t)
	mustTrack(t, tr, buyReq("open", "1"))
	_, _ = tr.ProcessUpdate(OrderUpdate{ClientOrderID: "open", ExchangeOrderID: "x1", State: Open, Timestamp: 50, Sequence: 3})
	_, _ = tr.ProcessFill(Fill{ClientOrderID: "open", TradeID: "t1", Price: d("100"), Amount: d("0.25"), Fee: d("0.1"), FeeAsset: "USDT"})
	mustTrack(t, tr, buyReq("lost", "2"))
	for range 3 {
		_, _ = tr.NotFound(OrderRef{ClientOrderID: "lost"})
	}
	mustTrack(t, tr, buyReq("done", "1"))
	_, _ = tr.ProcessUpdate(OrderUpdate{ClientOrderID: "done", ExchangeOrderID: "x3", State: Expired})

	b, err := json.Marshal(tr.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	var st TrackerState
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	tr2, rec2, _ := newTracker(t)
	if err := tr2.Restore(st); err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(tr2.Snapshot())
	if string(b) != string(b2) {
		t.Fatalf("snapshot changed across restore:\n%s\n%s", b, b2)
	}
	o, ok := tr2.Get(OrderRef{ExchangeOrderID: "x1"})
	if !ok || o.Side != buyReq("", "1").Side || !o.Fees["USDT"].Equal(d("0.1")) || !o.Price.Equal(d("100")) {
		t.Fatalf("restored %+v", o)
	}
	// Duplicate fill after restart: recognised. Stale update: ignored.
	if out, _ := tr2.ProcessFill(Fill{ExchangeOrderID: "x1", TradeID: "t1", Price: d("100"), Amount: d("0.25")}); out != OutcomeDuplicate {
		t.Fatal("replayed fill applied twice after restore:", out)
	}
	if out, _ := tr2.ProcessUpdate(OrderUpdate{ExchangeOrderID: "x1", State: Open, Sequence: 2}); out != OutcomeStale {
		t.Fatal(out)
	}
	_, _ = tr2.ProcessFill(Fill{ExchangeOrderID: "x1", TradeID: "t2", Price: d("100"), Amount: d("0.75")})
	if got := rec2.types("open"); !eqTypes(got, []OrderEventType{OrderFilled, OrderCompleted}) {
		t.Fatalf("events after restore %v (created must not repeat)", got)
	}
	if !tr2.IsLost(OrderRef{ClientOrderID: "lost"}) {
		t.Fatal("lost set not restored")
	}
	if err := tr2.Restore(st); err == nil {
		t.Fatal("restore into a non-empty tracker accepted")
	}
	bad := []TrackerState{
		{Version: 99},
		{Version: 1, Active: []Order{{ClientOrderID: ""}}},
		{Version: 1, Active: []Order{{ClientOrderID: "a"}}, Lost: []Order{{ClientOrderID: "a"}}},
		{Version: 1, Finished: []Order{{ClientOrderID: "a", State: Open}}},
		{Version: 1, Lost: []Order{{ClientOrderID: "a", State: Filled}}},
		{Version: 1, Active: []Order{{ClientOrderID: "a", ExchangeOrderID: "x"}, {ClientOrderID: "b", ExchangeOrderID: "x"}}},
	}
	for i, s := range bad {
		t3, _, _ := newTracker(t)
		if err := t3.Restore(s); err == nil {
			t.Errorf("bad state %d accepted", i)
		}
	}
}

func TestTrackerAdopt(t *testing.T) {
	tr, rec, _ := newTracker(t)
	if _, err := tr.Adopt(Order{ClientOrderID: "a", ExchangeOrderID: "x", Amount: d("1"), State: Open, CreatedEmitted: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Adopt(Order{ClientOrderID: "b", ExchangeOrderID: "x", Amount: d("1")}); err == nil {
		t.Fatal("second order with the same exchange id adopted")
	}
	if _, err := tr.Adopt(Order{ClientOrderID: "c", Amount: d("1"), State: Canceled}); err != nil {
		t.Fatal(err)
	}
	if len(tr.FinishedOrders()) != 1 || len(rec.types("")) != 0 {
		t.Fatal("adopting emitted events or misplaced a finished order")
	}
}

func TestTrackerOrphanFIFOStaysBounded(t *testing.T) {
	tr, _, _ := newTracker(t, WithOrphanLimit(3))
	_, _ = tr.ProcessUpdate(OrderUpdate{ExchangeOrderID: "stuck", State: Open}) // never bound
	for i := range 50 {
		id := fmt.Sprint("c", i)
		x := fmt.Sprint("x", i)
		_, _ = tr.ProcessUpdate(OrderUpdate{ExchangeOrderID: x, State: Open})
		mustTrack(t, tr, buyReq(id, "1"))
		_, _ = tr.ProcessUpdate(OrderUpdate{ClientOrderID: id, ExchangeOrderID: x, State: PendingCreate})
	}
	tr.mu.Lock()
	n := len(tr.orphOrder)
	tr.mu.Unlock()
	if n != 1 || tr.Orphans() != 1 {
		t.Fatalf("orphan FIFO holds %d ids, %d orphans; want 1 and 1", n, tr.Orphans())
	}
}
