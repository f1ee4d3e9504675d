package exchange

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestTransitionTable(t *testing.T) {
	P, O, PF, PC, F, C, X, E := PendingCreate, Open, PartiallyFilled, PendingCancel, Filled, Canceled, Failed, Expired
	allowed := map[OrderState][]OrderState{
		P:  {O, PF, PC, F, C, X, E},
		O:  {PF, PC, F, C, E},
		PF: {PF, PC, F, C, E},
		PC: {P, O, PF, F, C, X, E},
		F:  nil, C: nil, X: nil, E: nil,
	}
	for _, from := range States() {
		for _, to := range States() {
			want := false
			for _, a := range allowed[from] {
				if a == to {
					want = true
				}
			}
			if got := CanTransition(from, to); got != want {
				t.Errorf("CanTransition(%v, %v) = %v, want %v", from, to, got, want)
			}
		}
	}
	if CanTransition(OrderState(99), Open) || CanTransition(Open, OrderState(99)) {
		t.Error("invalid state allowed")
	}
}

// TestTrackerTransitions drives a tracked order from every state with an
// update to every state and checks what the tracker does.
func TestTrackerTransitions(t *testing.T) {
	type want struct {
		out   Outcome
		state OrderState
	}
	P, O, PF, PC, F, C, X, E := PendingCreate, Open, PartiallyFilled, PendingCancel, Filled, Canceled, Failed, Expired
	A, D, S, R := OutcomeApplied, OutcomeDuplicate, OutcomeStale, OutcomeRejected
	cases := map[OrderState]map[OrderState]want{
		P:  {P: {D, P}, O: {A, O}, PF: {A, PF}, PC: {A, PC}, F: {A, F}, C: {A, C}, X: {A, X}, E: {A, E}},
		O:  {P: {S, O}, O: {D, O}, PF: {A, PF}, PC: {A, PC}, F: {A, F}, C: {A, C}, X: {R, O}, E: {A, E}},
		PF: {P: {S, PF}, O: {S, PF}, PF: {D, PF}, PC: {A, PC}, F: {A, F}, C: {A, C}, X: {R, PF}, E: {A, E}},
		PC: {P: {A, P}, O: {A, O}, PF: {A, PF}, PC: {D, PC}, F: {A, F}, C: {A, C}, X: {A, X}, E: {A, E}},
		F:  {P: {S, F}, O: {S, F}, PF: {S, F}, PC: {S, F}, F: {D, F}, C: {S, F}, X: {S, F}, E: {S, F}},
		C:  {P: {S, C}, O: {S, C}, PF: {S, C}, PC: {S, C}, F: {S, C}, C: {D, C}, X: {S, C}, E: {S, C}},
		X:  {P: {S, X}, O: {S, X}, PF: {S, X}, PC: {S, X}, F: {S, X}, C: {S, X}, X: {D, X}, E: {S, X}},
		E:  {P: {S, E}, O: {S, E}, PF: {S, E}, PC: {S, E}, F: {S, E}, C: {S, E}, X: {S, E}, E: {D, E}},
	}
	for from, row := range cases {
		for to, w := range row {
			t.Run(from.String()+"->"+to.String(), func(t *testing.T) {
				tr, _, _ := newTracker(t, WithFillGrace(-1))
				o := Order{ClientOrderID: "c1", Symbol: btcusdt, Amount: d("1"), State: from}
				if _, err := tr.Adopt(o); err != nil {
					t.Fatal(err)
				}
				out, err := tr.ProcessUpdate(OrderUpdate{ClientOrderID: "c1", State: to})
				if out != w.out {
					t.Fatalf("outcome %v, want %v (err %v)", out, w.out, err)
				}
				var te *TransitionError
				if (w.out == OutcomeRejected) != errors.As(err, &te) {
					t.Fatalf("error %v for outcome %v", err, out)
				}
				got, _ := tr.Get(OrderRef{ClientOrderID: "c1"})
				if got.State != w.state {
					t.Fatalf("state %v, want %v", got.State, w.state)
				}
			})
		}
	}
}

func TestStateText(t *testing.T) {
	for _, s := range States() {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var back OrderState
		if err := json.Unmarshal(b, &back); err != nil || back != s {
			t.Fatalf("%v: round trip %s -> %v %v", s, b, back, err)
		}
	}
	if s, err := ParseOrderState("cancelled"); err != nil || s != Canceled {
		t.Fatal(s, err)
	}
	if s, err := ParseOrderState("partially-filled"); err != nil || s != PartiallyFilled {
		t.Fatal(s, err)
	}
	if _, err := ParseOrderState("NEW"); err == nil {
		t.Fatal("NEW accepted")
	}
	if !Filled.IsTerminal() || Open.IsTerminal() || !PendingCancel.IsActive() || Expired.IsActive() {
		t.Fatal("IsTerminal/IsActive")
	}
	if _, err := OrderState(42).MarshalText(); err == nil {
		t.Fatal("invalid state marshalled")
	}
}
