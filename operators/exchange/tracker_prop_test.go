package exchange

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/govalues/decimal"
	"pgregory.net/rapid"
)

// msg is one thing the venue tells the tracker.
type msg struct {
	update       *OrderUpdate
	fill         *Fill
	notFound     bool
	cancel       bool // the client requests a cancel
	cancelFailed bool // the cancel request fails
}

// TestTrackerPropertyExactlyOneTerminal delivers a venue's story of one
// order — status updates and fills, duplicated, shuffled, some carrying
// only the exchange id, with "not found" answers, client cancel requests
// (some failing) and a restart from a JSON snapshot in between — and
// checks the invariants.
func TestTrackerPropertyExactlyOneTerminal(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		amountUnits := rapid.IntRange(1, 6).Draw(rt, "amount")
		amount := decimal.MustNew(int64(amountUnits), 0)
		nFills := rapid.IntRange(0, amountUnits).Draw(rt, "fills")
		overfill := nFills == amountUnits && rapid.Bool().Draw(rt, "overfill")
		executedUnits := nFills
		if overfill {
			executedUnits++
		}
		var final OrderState
		switch {
		case executedUnits >= amountUnits:
			final = Filled
		case executedUnits == 0 && rapid.Bool().Draw(rt, "failed"):
			final = Failed
		default:
			final = rapid.SampledFrom([]OrderState{Canceled, Expired}).Draw(rt, "final")
		}
		reportExecuted := rapid.Bool().Draw(rt, "reportExecuted")
		useSeq := rapid.Bool().Draw(rt, "useSeq")

		// The venue's story in true order.
		var story []msg
		ts := int64(0)
		upd := func(s OrderState, executed int) {
			ts++
			u := &OrderUpdate{ExchangeOrderID: "X", State: s}
			if rapid.Bool().Draw(rt, "withClientID") {
				u.ClientOrderID = "C"
			}
			if useSeq {
				u.Sequence = ts
			} else {
				u.Timestamp = ts
			}
			if reportExecuted {
				u.Executed = decimal.MustNew(int64(executed), 0)
			}
			story = append(story, msg{update: u})
		}
		if final != Failed {
			upd(Open, 0)
		}
		for i := range executedUnits {
			f := &Fill{ExchangeOrderID: "X", TradeID: fmt.Sprintf("T%d", i), Price: decimal.MustNew(int64(100+i), 0), Amount: decimal.MustNew(1, 0), Fee: decimal.MustNew(1, 2), FeeAsset: "USDT"}
			if rapid.Bool().Draw(rt, "fillClientID") {
				f.ClientOrderID = "C"
			}
			story = append(story, msg{fill: f})
			if i+1 < amountUnits {
				upd(PartiallyFilled, i+1)
			}
		}
		upd(final, executedUnits)

		// Delivery: duplicates, shuffling, not-found noise.
		var delivery []msg
		for _, m := range story {
			delivery = append(delivery, m)
			if rapid.IntRange(0, 3).Draw(rt, "dup") == 0 {
				delivery = append(delivery, m)
			}
			if rapid.IntRange(0, 4).Draw(rt, "nf") == 0 {
				delivery = append(delivery, msg{notFound: true})
			}
			switch rapid.IntRange(0, 6).Draw(rt, "cancel") {
			case 0:
				delivery = append(delivery, msg{cancel: true})
			case 1:
				delivery = append(delivery, msg{cancel: true}, msg{cancelFailed: true})
			}
		}
		perm := rapid.Permutation(delivery).Draw(rt, "order")
		restartAt := rapid.IntRange(-1, len(perm)-1).Draw(rt, "restart")

		rec := &recorder{}
		clk := newFakeClock()
		newT := func() *OrderTracker {
			return NewOrderTracker(nil, WithEventSink(rec.sink), WithTrackerClock(clk), WithTrackerLogger(quiet()), WithFillGrace(time.Minute))
		}
		tr := newT()
		if _, err := tr.Track(OrderRequest{ClientOrderID: "C", Symbol: btcusdt, Side: 1, Price: d("100"), Amount: amount}); err != nil {
			rt.Fatal(err)
		}
		// The placement ack binds the exchange id — or it comes late and
		// the venue's messages wait in the orphan buffer.
		if rapid.Bool().Draw(rt, "ackFirst") {
			_, _ = tr.ProcessUpdate(OrderUpdate{ClientOrderID: "C", ExchangeOrderID: "X", State: PendingCreate})
		}
		for i, m := range perm {
			switch {
			case m.update != nil:
				_, _ = tr.ProcessUpdate(*m.update)
			case m.fill != nil:
				_, _ = tr.ProcessFill(*m.fill)
			case m.cancel:
				_, _ = tr.CancelRequested(OrderRef{ClientOrderID: "C"})
			case m.cancelFailed:
				_ = tr.CancelFailed(OrderRef{ClientOrderID: "C"}, "rejected")
			default:
				_, _ = tr.NotFound(OrderRef{ClientOrderID: "C"})
			}
			if i == restartAt {
				b, err := json.Marshal(tr.Snapshot())
				if err != nil {
					rt.Fatal(err)
				}
				var st TrackerState
				if err := json.Unmarshal(b, &st); err != nil {
					rt.Fatal(err)
				}
				tr = newT()
				if err := tr.Restore(st); err != nil {
					rt.Fatal(err)
				}
			}
		}
		// Whatever the venue said last, the final status was delivered:
		// if the order got lost, one more report reconciles it.
		last := *story[len(story)-1].update
		last.ClientOrderID = "C" // a poll by client id answers with both ids
		_, _ = tr.ProcessUpdate(last)
		clk.Advance(2 * time.Minute)
		tr.Sweep()

		terminal := 0
		var term OrderEvent
		filled, created := 0, 0
		for _, e := range rec.events {
			switch {
			case e.Type.IsTerminal():
				terminal++
				term = e
			case e.Type == OrderFilled:
				filled++
			case e.Type == OrderCreated:
				created++
			}
		}
		if terminal != 1 {
			rt.Fatalf("%d terminal events, want exactly 1: %v", terminal, rec.types(""))
		}
		if created > 1 {
			rt.Fatalf("%d created events", created)
		}
		if filled != executedUnits {
			rt.Fatalf("%d fill events, want %d", filled, executedUnits)
		}
		wantType := map[OrderState]OrderEventType{Filled: OrderCompleted, Canceled: OrderCanceled, Expired: OrderExpired, Failed: OrderFailed}[final]
		if term.Type != wantType {
			rt.Fatalf("terminal %v, want %v", term.Type, wantType)
		}
		o, ok := tr.Get(OrderRef{ClientOrderID: "C"})
		if !ok {
			rt.Fatal("order forgotten")
		}
		if !o.Executed.Equal(decimal.MustNew(int64(executedUnits), 0)) {
			rt.Fatalf("executed %s, want %d", o.Executed, executedUnits)
		}
		if o.Executed.Cmp(o.Amount) > 0 != o.Overfilled {
			rt.Fatalf("executed %s of %s, overfilled=%v", o.Executed, o.Amount, o.Overfilled)
		}
		if !overfill && o.Executed.Cmp(o.Amount) > 0 {
			rt.Fatal("executed exceeds amount without a venue overfill")
		}
		if o.State != final {
			rt.Fatalf("state %v, want %v", o.State, final)
		}
		// Terminal events wait for fills the venue reported (or, for
		// FILLED, for the full amount), so with every fill delivered
		// before the sweep none is incomplete.
		if term.IncompleteFills {
			rt.Fatalf("terminal event with incomplete fills although all fills were delivered: %+v", term)
		}
		if overfill {
			// An overfill cannot be foreseen: completion goes out when the
			// amount is reached, the extra fill follows.
			if term.Order.Executed.Cmp(o.Amount) < 0 {
				rt.Fatalf("completion at executed %s of %s", term.Order.Executed, o.Amount)
			}
		} else if (final == Filled || reportExecuted) && !term.Order.Executed.Equal(o.Executed) {
			rt.Fatalf("terminal event executed %s, final %s", term.Order.Executed, o.Executed)
		}
	})
}
