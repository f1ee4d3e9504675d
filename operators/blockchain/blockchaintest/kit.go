// Package blockchaintest is the conformance kit for blockchain operators and
// an honest in-memory ledger to run operators, trackers and DApp operators
// end to end without a node.
//
// The [Ledger] is a small EVM-like chain: accounts with balances and
// nonces, a mempool with same-nonce replacement under a fee-bump rule,
// blocks mined on demand, receipts, a simple gas model, ERC-20 contracts
// ([ERC20]), and faults: reorgs of the last blocks, dropped transactions and
// broadcasts whose response is lost. It implements [blockchain.Chain];
// [NewLedgerHarness] wires it to a [blockchain.Base].
//
// A chain package's tests call [Run] with a [Harness] for their operator
// and a way to drive the chain (their simulated backend): the kit checks
// transfer → CONFIRMED(n) → FINALIZED, a reorg moving a confirmed
// transaction back to BROADCASTED, replacement by a higher fee, dropping
// (and reuse of the dropped nonce), reverts, rejected broadcasts, lost
// broadcast responses and nonce assignment.
package blockchaintest

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/pype-go/pype/operators"
	"github.com/pype-go/pype/operators/blockchain"
)

// Harness is one fresh chain with an operator under test.
type Harness struct {
	// Op is the operator; its signer must hold enough native currency for
	// a few transfers.
	Op blockchain.BlockchainOperator
	// Mine mines one block with the pending transactions.
	Mine func()
	// Reorg removes the last n blocks; their transactions return to the
	// mempool.
	Reorg func(n int)
	// Drop evicts a pending transaction from the node's mempool.
	Drop func(hash blockchain.BlockchainIdentifier)
	// Recipient receives value transfers.
	Recipient blockchain.BlockchainIdentifier
	// Reverting returns a request that is accepted and mined but whose
	// execution reverts. Nil skips that case.
	Reverting func() blockchain.TxRequest
	// LoseNextResponse makes the node accept the next transaction but
	// the broadcast call fail (a lost response). Nil skips that case.
	LoseNextResponse func()
	// Timeout bounds every wait (default 5 s).
	Timeout time.Duration
}

// Run runs the conformance kit as subtests of t; newHarness is called once
// per case with a fresh chain.
func Run(t *testing.T, newHarness func(t testing.TB) *Harness) {
	for _, c := range Cases() {
		t.Run(c.Name, func(t *testing.T) { c.Run(t, newHarness(t)) })
	}
}

// Case is one conformance check.
type Case struct {
	Name string
	Run  func(t testing.TB, h *Harness)
}

// Cases returns the kit's checks.
func Cases() []Case {
	return []Case{
		{"TransferConfirmedFinalized", transferConfirmedFinalized},
		{"ReorgMovesConfirmedBack", reorgMovesConfirmedBack},
		{"ReplacedByHigherFee", replacedByHigherFee},
		{"DroppedAndNonceReused", droppedAndNonceReused},
		{"Reverted", reverted},
		{"RejectedBroadcastReleasesNonce", rejectedBroadcast},
		{"LostBroadcastResponse", lostResponse},
		{"ConsecutiveNonces", consecutiveNonces},
	}
}

func (h *Harness) ctx(t testing.TB) context.Context {
	d := h.Timeout
	if d <= 0 {
		d = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func (h *Harness) poll(t testing.TB) {
	t.Helper()
	if err := h.Op.Poll(h.ctx(t)); err != nil {
		t.Fatalf("Poll: %v", err)
	}
}

func (h *Harness) state(t testing.TB, hash blockchain.BlockchainIdentifier) blockchain.TxInfo {
	t.Helper()
	info, ok := h.Op.Tracker().Get(hash)
	if !ok {
		t.Fatalf("tx %v not tracked", hash)
	}
	return info
}

func (h *Harness) expect(t testing.TB, hash blockchain.BlockchainIdentifier, s blockchain.TxState) blockchain.TxInfo {
	t.Helper()
	info := h.state(t, hash)
	if info.State != s {
		t.Fatalf("tx %v is %v, want %v", hash, info.State, s)
	}
	return info
}

func (h *Harness) send(t testing.TB, req blockchain.TxRequest) blockchain.TxInfo {
	t.Helper()
	info, err := h.Op.Send(h.ctx(t), req)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if info.State != blockchain.Broadcasted {
		t.Fatalf("sent tx is %v, want BROADCASTED", info.State)
	}
	return info
}

func (h *Harness) transfer(wei int64) blockchain.TxRequest {
	return blockchain.TxRequest{To: h.Recipient, Value: big.NewInt(wei)}
}

// recorder collects the operator's transaction events.
type recorder struct {
	mu      sync.Mutex
	events  []blockchain.TxEvent
	changed chan struct{}
}

func record(t testing.TB, op blockchain.BlockchainOperator) *recorder {
	r := &recorder{changed: make(chan struct{}, 1)}
	sub, err := operators.Subscribe(op.Publishing(), blockchain.TxEvents, func(ev blockchain.TxEvent) {
		r.mu.Lock()
		r.events = append(r.events, ev)
		r.mu.Unlock()
		select {
		case r.changed <- struct{}{}:
		default:
		}
	})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	t.Cleanup(sub.Unsubscribe)
	return r
}

// states waits (up to timeout) until hash has want state-changing events
// (CONFIRMED updates included) and returns their To states.
func (r *recorder) states(hash blockchain.BlockchainIdentifier, want int, timeout time.Duration) []blockchain.TxState {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		var got []blockchain.TxState
		r.mu.Lock()
		for _, ev := range r.events {
			if blockchain.Equal(ev.Info.Hash, hash) && (ev.From != ev.To || ev.To == blockchain.Confirmed) {
				got = append(got, ev.To)
			}
		}
		r.mu.Unlock()
		if len(got) >= want {
			return got
		}
		select {
		case <-r.changed:
		case <-timer.C:
			return got
		}
	}
}

func transferConfirmedFinalized(t testing.TB, h *Harness) {
	rec := record(t, h.Op)
	ctx := h.ctx(t)
	before, err := h.Op.Balance(ctx, h.Recipient)
	if err != nil {
		t.Fatalf("Balance: %v", err)
	}
	info := h.send(t, h.transfer(12345))
	fin := h.Op.Network().Finality()
	h.Mine()
	h.poll(t)
	if fin > 1 {
		got := h.expect(t, info.Hash, blockchain.Confirmed)
		if got.Confirmations != 1 || got.Receipt == nil || got.Receipt.Status != blockchain.StatusSuccess {
			t.Fatalf("after one block: %+v", got)
		}
	}
	for i := uint64(1); i < fin; i++ {
		h.Mine()
		h.poll(t)
	}
	got := h.expect(t, info.Hash, blockchain.Finalized)
	if got.Confirmations != fin || !got.Final {
		t.Fatalf("finalized with %d confirmations (final %v), want %d", got.Confirmations, got.Final, fin)
	}
	if w, err := h.Op.WaitForConfirmations(ctx, info.Hash, fin); err != nil || w.State != blockchain.Finalized {
		t.Fatalf("WaitForConfirmations: %v %v", w.State, err)
	}
	after, _ := h.Op.Balance(ctx, h.Recipient)
	if d := new(big.Int).Sub(after, before); d.Int64() != 12345 {
		t.Fatalf("recipient received %v, want 12345", d)
	}
	want := []blockchain.TxState{blockchain.PendingBroadcast, blockchain.Broadcasted}
	for range fin - 1 {
		want = append(want, blockchain.Confirmed)
	}
	if fin == 1 {
		want = append(want, blockchain.Confirmed)
	}
	want = append(want, blockchain.Finalized)
	states := rec.states(info.Hash, len(want), 2*time.Second)
	if fmt.Sprint(states) != fmt.Sprint(want) {
		t.Fatalf("events %v, want %v", states, want)
	}
	// Polling a final transaction again changes nothing.
	h.poll(t)
	h.expect(t, info.Hash, blockchain.Finalized)
}

func reorgMovesConfirmedBack(t testing.TB, h *Harness) {
	if h.Op.Network().Finality() < 2 {
		t.Skip("finality 1: nothing to reorg before finality")
	}
	info := h.send(t, h.transfer(1))
	h.Mine()
	h.poll(t)
	first := h.expect(t, info.Hash, blockchain.Confirmed)
	h.Reorg(1)
	h.poll(t)
	back := h.expect(t, info.Hash, blockchain.Broadcasted)
	if back.Receipt != nil || back.Confirmations != 0 {
		t.Fatalf("after the reorg: %+v", back)
	}
	h.Mine()
	h.poll(t)
	again := h.expect(t, info.Hash, blockchain.Confirmed)
	if blockchain.Equal(again.Receipt.BlockHash, first.Receipt.BlockHash) {
		t.Fatal("re-mined in the same block hash after a reorg")
	}
}

func replacedByHigherFee(t testing.TB, h *Harness) {
	orig := h.send(t, h.transfer(1))
	tx := orig.Tx.Tx
	bump := h.Op.Network().Fees.ReplacementBump()
	// A bump below the rule is refused by the node and fails.
	low := tx.Fee.Bump(bump / 2)
	nonce := tx.Nonce
	if _, err := h.Op.Send(h.ctx(t), blockchain.TxRequest{To: tx.To, Value: big.NewInt(2), Nonce: &nonce, Fee: &low}); err == nil {
		t.Fatal("an underpriced replacement was accepted")
	}
	fee := tx.Fee.Bump(bump)
	repl := h.send(t, blockchain.TxRequest{To: tx.To, Value: big.NewInt(2), Nonce: &nonce, Fee: &fee})
	h.Mine()
	h.poll(t)
	if s := h.state(t, repl.Hash).State; s != blockchain.Confirmed && s != blockchain.Finalized {
		t.Fatalf("replacement is %v", s)
	}
	got := h.expect(t, orig.Hash, blockchain.Replaced)
	if !blockchain.Equal(got.ReplacedBy, repl.Hash) {
		t.Fatalf("replaced by %v, want %v", got.ReplacedBy, repl.Hash)
	}
	for range h.Op.Network().Finality() {
		h.Mine()
		h.poll(t)
	}
	if got := h.state(t, orig.Hash); !got.Final || got.State != blockchain.Replaced {
		t.Fatalf("replaced tx after finality: %v final %v", got.State, got.Final)
	}
}

func droppedAndNonceReused(t testing.TB, h *Harness) {
	info := h.send(t, h.transfer(1))
	h.Drop(info.Hash)
	for range h.Op.Network().DropPolls() {
		h.poll(t)
	}
	h.expect(t, info.Hash, blockchain.Dropped)
	// The dropped nonce is handed out again, so the account is not stuck.
	next := h.send(t, h.transfer(2))
	if next.Nonce != info.Nonce {
		t.Fatalf("next tx nonce %d, want the dropped %d", next.Nonce, info.Nonce)
	}
	h.Mine()
	h.poll(t)
	if s := h.state(t, next.Hash).State; s != blockchain.Confirmed && s != blockchain.Finalized {
		t.Fatalf("reusing tx is %v", s)
	}
	h.expect(t, info.Hash, blockchain.Replaced)
}

func reverted(t testing.TB, h *Harness) {
	if h.Reverting == nil {
		t.Skip("no reverting request")
	}
	info := h.send(t, h.Reverting())
	h.Mine()
	h.poll(t)
	got := h.expect(t, info.Hash, blockchain.Reverted)
	if got.Receipt == nil || got.Receipt.Status != blockchain.StatusFailed || got.Receipt.GasUsed == 0 {
		t.Fatalf("reverted receipt %+v", got.Receipt)
	}
	_, err := h.Op.WaitForConfirmations(h.ctx(t), info.Hash, 1)
	var oe *blockchain.TxOutcomeError
	if !errors.As(err, &oe) || oe.Info.State != blockchain.Reverted {
		t.Fatalf("WaitForConfirmations on a reverted tx: %v", err)
	}
	// The reverted transaction used its nonce.
	next := h.send(t, h.transfer(1))
	if next.Nonce != info.Nonce+1 {
		t.Fatalf("next nonce %d after reverted %d", next.Nonce, info.Nonce)
	}
}

func rejectedBroadcast(t testing.TB, h *Harness) {
	ctx := h.ctx(t)
	fee, err := h.Op.EstimateFee(ctx, h.transfer(1))
	if err != nil {
		t.Fatalf("EstimateFee: %v", err)
	}
	cheap := fee
	cheap.GasPrice, cheap.MaxFeePerGas, cheap.MaxPriorityFeePerGas = big.NewInt(1), big.NewInt(1), big.NewInt(0)
	req := h.transfer(1)
	req.Fee = &cheap
	info, err := h.Op.Send(ctx, req)
	var rej *blockchain.RejectedError
	if !errors.As(err, &rej) {
		t.Fatalf("Send underpriced: %v", err)
	}
	if info.State != blockchain.Failed || !info.Final {
		t.Fatalf("rejected tx is %v", info.State)
	}
	next := h.send(t, h.transfer(1))
	if next.Nonce != info.Nonce {
		t.Fatalf("nonce %d of the rejected tx not reused (got %d)", info.Nonce, next.Nonce)
	}
}

func lostResponse(t testing.TB, h *Harness) {
	if h.LoseNextResponse == nil {
		t.Skip("no way to lose a response")
	}
	h.LoseNextResponse()
	info, err := h.Op.Send(h.ctx(t), h.transfer(1))
	var ub *blockchain.UncertainBroadcastError
	if !errors.As(err, &ub) || info.State != blockchain.PendingBroadcast {
		t.Fatalf("lost response: %v, state %v", err, info.State)
	}
	h.poll(t)
	h.expect(t, info.Hash, blockchain.Broadcasted)
	h.Mine()
	h.poll(t)
	if s := h.state(t, info.Hash).State; !s.IsMined() {
		t.Fatalf("after mining: %v", s)
	}
}

func consecutiveNonces(t testing.TB, h *Harness) {
	var infos []blockchain.TxInfo
	for i := range 3 {
		infos = append(infos, h.send(t, h.transfer(int64(i+1))))
	}
	for i := 1; i < len(infos); i++ {
		if infos[i].Nonce != infos[i-1].Nonce+1 {
			t.Fatalf("nonces %d then %d", infos[i-1].Nonce, infos[i].Nonce)
		}
	}
	h.Mine()
	h.poll(t)
	for _, in := range infos {
		if s := h.state(t, in.Hash).State; s != blockchain.Confirmed && s != blockchain.Finalized {
			t.Fatalf("tx nonce %d is %v", in.Nonce, s)
		}
	}
	st := h.Op.Nonces().State(h.Op.Address())
	if len(st.InFlight) != 0 || len(st.Gaps) != 0 || st.Next != infos[2].Nonce+1 {
		t.Fatalf("nonce state after mining: %+v", st)
	}
}

// NewLedgerHarness returns a harness over a fresh [Ledger] with a
// [blockchain.Base] operator whose network has the given finality, an
// ERC-20 token for the reverting case, and the ledger's fault hooks. The
// operator is closed when t ends.
func NewLedgerHarness(t testing.TB, finality uint64) (*Harness, *Ledger) {
	l := NewLedger("31337")
	eth := new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)
	owner, signer := l.NewAccount(new(big.Int).Mul(eth, big.NewInt(100)))
	recipient, _ := l.NewAccount(nil)
	token := l.Deploy(NewERC20("TST", 6, owner, big.NewInt(1_000_000)))
	net := blockchain.NetworkConfig{
		Platform:      operators.ChainPlatform("ledger", "31337").WithTestnet(true),
		Confirmations: finality,
		Native:        blockchain.Currency{Symbol: "ETH", Decimals: 18},
	}
	op, err := blockchain.NewBase(net, l, blockchain.WithSigner(signer))
	if err != nil {
		t.Fatalf("NewBase: %v", err)
	}
	t.Cleanup(func() { _ = op.Close() })
	h := &Harness{
		Op:        op,
		Mine:      func() { l.Mine() },
		Reorg:     l.Reorg,
		Drop:      func(hash blockchain.BlockchainIdentifier) { l.Drop(hash.(blockchain.TxHash)) },
		Recipient: recipient,
		Reverting: func() blockchain.TxRequest {
			// transfer(recipient, 2_000_000): more than the supply.
			data := append([]byte(nil), selTransfer...)
			var w [32]byte
			copy(w[12:], recipient[:])
			data = append(data, w[:]...)
			data = append(data, encUint(big.NewInt(2_000_000))...)
			fee := blockchain.Fee{GasLimit: 100_000, MaxFeePerGas: big.NewInt(50_000_000_000), MaxPriorityFeePerGas: big.NewInt(1_000_000_000)}
			return blockchain.TxRequest{To: token, Data: data, Fee: &fee}
		},
		LoseNextResponse: func() { l.FailNextSend(errors.New("read tcp: connection reset by peer"), true) },
	}
	return h, l
}
