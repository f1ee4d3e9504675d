package blockchain

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/pype-go/pype/operators"
)

func testHash(n uint64) TxHash {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	return sha256.Sum256(b[:])
}

func testBlock(n uint64) BlockHash {
	var b [9]byte
	binary.BigEndian.PutUint64(b[:], n)
	b[8] = 'b'
	return sha256.Sum256(b[:])
}

var sender = Address{1, 2, 3}

func testTx(n uint64) SignedTransaction {
	return SignedTransaction{Hash: testHash(n), Tx: Transaction{ChainID: "1", From: sender, Nonce: n}}
}

func receipt(h BlockchainIdentifier, block uint64, ok bool) *Receipt {
	st := StatusFailed
	if ok {
		st = StatusSuccess
	}
	return &Receipt{TxHash: h, BlockHash: testBlock(block), BlockNumber: block, Status: st}
}

// TestTransitionTable checks CanTransition against the specification's
// list, pair by pair: everything not listed is refused.
func TestTransitionTable(t *testing.T) {
	allowed := map[TxState][]TxState{
		PendingBroadcast: {Broadcasted, Failed, Confirmed, Reverted, Replaced, Dropped},
		Broadcasted:      {Confirmed, Reverted, Replaced, Dropped},
		Confirmed:        {Confirmed, Finalized, Broadcasted},
		Reverted:         {Reverted, Broadcasted},
		Dropped:          {Broadcasted, Confirmed, Reverted, Replaced},
		Replaced:         {Replaced, Broadcasted, Confirmed, Reverted, Dropped},
		Finalized:        nil,
		Failed:           nil,
	}
	for _, from := range TxStates() {
		for _, to := range TxStates() {
			want := false
			for _, x := range allowed[from] {
				want = want || x == to
			}
			t.Run(from.String()+"→"+to.String(), func(t *testing.T) {
				if got := CanTransition(from, to); got != want {
					t.Fatalf("CanTransition = %v, want %v", got, want)
				}
			})
		}
	}
	if CanTransition(0, Broadcasted) || CanTransition(Broadcasted, numTxStates) {
		t.Fatal("invalid states accepted")
	}
}

func TestTxStateText(t *testing.T) {
	for _, s := range TxStates() {
		b, err := s.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back TxState
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Fatalf("%v round trip: %v %v", s, back, err)
		}
	}
	var s TxState
	if err := s.UnmarshalText([]byte("confirmed")); err != nil || s != Confirmed {
		t.Fatal("case-insensitive parse failed")
	}
	if err := s.UnmarshalText([]byte("mined")); err == nil {
		t.Fatal("unknown state accepted")
	}
}

// driveTo puts a fresh transaction into state s (finality 3, drop after 1
// miss, mined at block 10 with head 10).
func driveTo(t *testing.T, tr *TxTracker, n uint64, s TxState) BlockchainIdentifier {
	t.Helper()
	stx := testTx(n)
	h := stx.Hash
	if _, err := tr.Track(stx); err != nil {
		t.Fatal(err)
	}
	obs := map[TxState][]Observation{
		PendingBroadcast: nil,
		Broadcasted:      {{Kind: ObsBroadcastOK}},
		Confirmed:        {{Kind: ObsBroadcastOK}, {Kind: ObsMined, Receipt: receipt(h, 10, true), Head: 10}},
		Finalized:        {{Kind: ObsBroadcastOK}, {Kind: ObsMined, Receipt: receipt(h, 10, true), Head: 12}},
		Failed:           {{Kind: ObsBroadcastFailed, Err: errors.New("underpriced")}},
		Reverted:         {{Kind: ObsBroadcastOK}, {Kind: ObsMined, Receipt: receipt(h, 10, false), Head: 10}},
		Dropped:          {{Kind: ObsBroadcastOK}, {Kind: ObsMissing, Head: 10}},
		Replaced:         {{Kind: ObsBroadcastOK}, {Kind: ObsNonceTaken, Head: 10}},
	}[s]
	for _, o := range obs {
		if _, err := tr.Observe(h, o); err != nil {
			t.Fatalf("driving to %v: %v", s, err)
		}
	}
	if info, _ := tr.Get(h); info.State != s {
		t.Fatalf("drove to %v, got %v", s, info.State)
	}
	return h
}

// TestObservationTable: every state × every observation, accepted or
// refused, with the resulting state.
func TestObservationTable(t *testing.T) {
	const E TxState = 0 // refused
	obsNames := []string{"ok", "fail", "minedOK", "minedRev", "minedFinal", "head", "unmined", "taken", "missing", "seen"}
	mk := func(h BlockchainIdentifier, name string) Observation {
		switch name {
		case "ok":
			return Observation{Kind: ObsBroadcastOK}
		case "fail":
			return Observation{Kind: ObsBroadcastFailed, Err: errors.New("nonce too low")}
		case "minedOK":
			return Observation{Kind: ObsMined, Receipt: receipt(h, 10, true), Head: 11}
		case "minedRev":
			return Observation{Kind: ObsMined, Receipt: receipt(h, 10, false), Head: 11}
		case "minedFinal":
			return Observation{Kind: ObsMined, Receipt: receipt(h, 10, true), Head: 12}
		case "head":
			return Observation{Kind: ObsHead, Head: 11}
		case "unmined":
			return Observation{Kind: ObsUnmined, Head: 11}
		case "taken":
			return Observation{Kind: ObsNonceTaken, Head: 11, ReplacedBy: testHash(999)}
		case "missing":
			return Observation{Kind: ObsMissing, Head: 11}
		case "seen":
			return Observation{Kind: ObsSeen, Head: 11}
		}
		panic(name)
	}
	want := map[TxState][]TxState{
		//                ok           fail    minedOK    minedRev  minedFinal head              unmined           taken     missing  seen
		PendingBroadcast: {Broadcasted, Failed, Confirmed, Reverted, Finalized, PendingBroadcast, PendingBroadcast, Replaced, Dropped, Broadcasted},
		Broadcasted:      {Broadcasted, E, Confirmed, Reverted, Finalized, Broadcasted, Broadcasted, Replaced, Dropped, Broadcasted},
		Confirmed:        {Confirmed, E, Confirmed, E, Finalized, Confirmed, Broadcasted, E, E, E},
		Finalized:        {E, E, Finalized, E, Finalized, Finalized, E, E, E, E},
		Failed:           {E, E, E, E, E, Failed, E, E, E, E},
		Reverted:         {Reverted, E, E, Reverted, E, Reverted, Broadcasted, E, E, E},
		Dropped:          {Broadcasted, E, Confirmed, Reverted, Finalized, Dropped, Dropped, Replaced, Dropped, Broadcasted},
		Replaced:         {Broadcasted, E, Confirmed, Reverted, Finalized, Replaced, Replaced, Replaced, Dropped, Broadcasted},
	}
	n := uint64(0)
	for _, from := range TxStates() {
		for i, name := range obsNames {
			n++
			t.Run(from.String()+"/"+name, func(t *testing.T) {
				tr := NewTxTracker(TrackerConfig{Finality: 3, DropAfter: 1})
				h := driveTo(t, tr, n, from)
				before, _ := tr.Get(h)
				got, err := tr.Observe(h, mk(h, name))
				exp := want[from][i]
				if exp == E {
					var te *TxTransitionError
					if !errors.As(err, &te) {
						t.Fatalf("accepted (→ %v), want refusal", got.State)
					}
					if after, _ := tr.Get(h); after.State != before.State || after.Confirmations != before.Confirmations || after.Final != before.Final {
						t.Fatalf("a refused observation changed the tx: %+v → %+v", before, after)
					}
					return
				}
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if got.State != exp {
					t.Fatalf("→ %v, want %v", got.State, exp)
				}
			})
		}
	}
}

func TestConfirmationsAndFinality(t *testing.T) {
	pub := operators.NewMultiPublisher()
	events, _, _ := operators.SubscribeChan(pub, TxEvents, 64)
	tr := NewTxTracker(TrackerConfig{Finality: 3, Publisher: pub})
	stx := testTx(1)
	h := stx.Hash
	_, _ = tr.Track(stx)
	_, _ = tr.Observe(h, Observation{Kind: ObsBroadcastOK})
	info, _ := tr.Observe(h, Observation{Kind: ObsMined, Receipt: receipt(h, 100, true), Head: 100})
	if info.State != Confirmed || info.Confirmations != 1 || info.Final {
		t.Fatalf("%+v", info)
	}
	info, _ = tr.Observe(h, Observation{Kind: ObsHead, Head: 101})
	if info.Confirmations != 2 {
		t.Fatalf("%+v", info)
	}
	info, _ = tr.Observe(h, Observation{Kind: ObsHead, Head: 101}) // no change, no event
	info, _ = tr.Observe(h, Observation{Kind: ObsHead, Head: 102})
	if info.State != Finalized || !info.Final || info.Confirmations != 3 {
		t.Fatalf("%+v", info)
	}
	_ = pub.Close()
	var got []string
	for ev := range events {
		got = append(got, fmt.Sprintf("%v→%v/%d", ev.From, ev.To, ev.Info.Confirmations))
	}
	want := []string{"TxState(0)→PENDING_BROADCAST/0", "PENDING_BROADCAST→BROADCASTED/0", "BROADCASTED→CONFIRMED/1", "CONFIRMED→CONFIRMED/2", "CONFIRMED→FINALIZED/3"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events\n got %v\nwant %v", got, want)
	}
}

func TestWait(t *testing.T) {
	tr := NewTxTracker(TrackerConfig{Finality: 2})
	a, b := testTx(1), testTx(2)
	_, _ = tr.Track(a)
	_, _ = tr.Track(b)
	type result struct {
		info TxInfo
		err  error
	}
	ra, rb := make(chan result, 1), make(chan result, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() { i, err := tr.WaitConfirmations(ctx, a.Hash, 2); ra <- result{i, err} }()
	go func() { i, err := tr.WaitConfirmations(ctx, b.Hash, 1); rb <- result{i, err} }()
	_, _ = tr.Observe(a.Hash, Observation{Kind: ObsMined, Receipt: receipt(a.Hash, 5, true), Head: 5})
	_, _ = tr.Observe(b.Hash, Observation{Kind: ObsMined, Receipt: receipt(b.Hash, 5, false), Head: 5})
	_, _ = tr.Observe(a.Hash, Observation{Kind: ObsHead, Head: 6})
	r := <-ra
	if r.err != nil || r.info.State != Finalized {
		t.Fatalf("a: %+v %v", r.info, r.err)
	}
	r = <-rb
	var oe *TxOutcomeError
	if !errors.As(r.err, &oe) || oe.Info.State != Reverted {
		t.Fatalf("b: %v", r.err)
	}
	short, cancelShort := context.WithCancel(context.Background())
	cancelShort()
	c := testTx(3)
	_, _ = tr.Track(c)
	if _, err := tr.WaitConfirmations(short, c.Hash, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled wait: %v", err)
	}
	if _, err := tr.WaitConfirmations(ctx, testHash(77), 1); !errors.Is(err, ErrUnknownTx) {
		t.Fatalf("unknown: %v", err)
	}
	if _, err := tr.Track(c); !errors.Is(err, ErrAlreadyTracked) {
		t.Fatalf("double track: %v", err)
	}
}

// TestTrackerProperties feeds random observation sequences and checks the
// invariants after every step, and that the published events replay to the
// final state through table transitions only.
func TestTrackerProperties(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		finality := rapid.Uint64Range(1, 4).Draw(rt, "finality")
		pub := operators.NewMultiPublisher()
		events, _, _ := operators.SubscribeChan(pub, TxEvents, 0)
		var got []TxEvent
		done := make(chan struct{})
		go func() {
			for ev := range events {
				got = append(got, ev)
			}
			close(done)
		}()
		tr := NewTxTracker(TrackerConfig{Finality: finality, DropAfter: rapid.IntRange(1, 3).Draw(rt, "dropAfter"), Publisher: pub})
		stx := testTx(1)
		h := stx.Hash
		_, _ = tr.Track(stx)
		steps := rapid.IntRange(1, 60).Draw(rt, "steps")
		block := uint64(10)
		for range steps {
			var o Observation
			o.Kind = ObservationKind(rapid.IntRange(1, 8).Draw(rt, "kind"))
			// Heads around the latest receipt's block, so confirmation
			// counts near finality are common.
			o.Head = block + rapid.Uint64Range(0, 6).Draw(rt, "head") - 1
			if o.Kind == ObsMined {
				block = rapid.Uint64Range(5, 20).Draw(rt, "block")
				o.Receipt = receipt(h, block, rapid.Bool().Draw(rt, "success"))
			}
			if o.Kind == ObsBroadcastFailed {
				o.Err = errors.New("rejected")
			}
			before, _ := tr.Get(h)
			after, err := tr.Observe(h, o)
			if err != nil {
				var te *TxTransitionError
				if !errors.As(err, &te) {
					rt.Fatalf("unexpected error type: %v", err)
				}
				now, _ := tr.Get(h)
				if now.State != before.State || now.Confirmations != before.Confirmations || now.Final != before.Final || !Equal(now.ReplacedBy, before.ReplacedBy) {
					rt.Fatalf("refused observation changed the tx")
				}
				continue
			}
			if before.Final && (after.State != before.State || after.Confirmations != before.Confirmations) {
				rt.Fatalf("a final tx changed: %v → %v", before.State, after.State)
			}
			checkInvariants(rt, after, finality)
		}
		_ = pub.Close()
		<-done
		final, _ := tr.Get(h)
		if len(got) == 0 || got[0].From != 0 || got[0].To != PendingBroadcast {
			rt.Fatalf("first event %+v", got)
		}
		state := PendingBroadcast
		for k, ev := range got[1:] {
			if ev.To == Confirmed && ev.Info.Confirmations >= finality {
				// Seen final at once: CONFIRMED(n) then FINALIZED back to back.
				if k+2 >= len(got) || got[k+2].To != Finalized {
					rt.Fatalf("CONFIRMED(%d) at finality %d not followed by FINALIZED", ev.Info.Confirmations, finality)
				}
				state = ev.To
				continue
			}
			if ev.From != state {
				rt.Fatalf("event from %v, but the tx was %v", ev.From, state)
			}
			if ev.From != ev.To && !CanTransition(ev.From, ev.To) {
				rt.Fatalf("event %v → %v not in the table", ev.From, ev.To)
			}
			if ev.From == ev.To && !txTransitions[ev.From][ev.To] && ev.From != Broadcasted && ev.From != PendingBroadcast && ev.From != Dropped {
				rt.Fatalf("in-place update of %v not in the table", ev.From)
			}
			checkInvariants(rt, ev.Info, finality)
			state = ev.To
		}
		if state != final.State {
			rt.Fatalf("events end in %v, tracker says %v", state, final.State)
		}
	})
}

func checkInvariants(t interface{ Fatalf(string, ...any) }, i TxInfo, finality uint64) {
	switch i.State {
	case Confirmed:
		if i.Receipt == nil || i.Receipt.Status != StatusSuccess || i.Confirmations >= finality || i.Final {
			t.Fatalf("bad CONFIRMED: %+v", i)
		}
	case Finalized:
		if i.Receipt == nil || i.Receipt.Status != StatusSuccess || i.Confirmations < finality || !i.Final {
			t.Fatalf("bad FINALIZED: %+v", i)
		}
	case Reverted:
		if i.Receipt == nil || i.Receipt.Status != StatusFailed || i.Final != (i.Confirmations >= finality) {
			t.Fatalf("bad REVERTED: %+v", i)
		}
	case Failed:
		if !i.Final || i.Err == nil {
			t.Fatalf("bad FAILED: %+v", i)
		}
	default:
		if i.Receipt != nil || i.Confirmations != 0 {
			t.Fatalf("%v with a receipt: %+v", i.State, i)
		}
		if i.Final && i.State != Replaced {
			t.Fatalf("%v final: %+v", i.State, i)
		}
	}
}
