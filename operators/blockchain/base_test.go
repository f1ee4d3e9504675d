package blockchain_test

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/pype-go/pype/operators"
	"github.com/pype-go/pype/operators/blockchain"
	"github.com/pype-go/pype/operators/blockchain/blockchaintest"
)

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func newOp(t *testing.T, fees blockchain.FeeSettings) (*blockchain.Base, *blockchaintest.Ledger, blockchain.Address) {
	l := blockchaintest.NewLedger("31337")
	_, signer := l.NewAccount(big.NewInt(1e18))
	to, _ := l.NewAccount(nil)
	op, err := blockchain.NewBase(blockchain.NetworkConfig{
		Platform:      operators.ChainPlatform("ledger", "31337"),
		Confirmations: 2,
		Fees:          fees,
	}, l, blockchain.WithSigner(signer))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = op.Close() })
	return op, l, to
}

func TestEstimateFee(t *testing.T) {
	op, l, to := newOp(t, blockchain.FeeSettings{})
	l.SetFees(big.NewInt(100), big.NewInt(7))
	fee, err := op.EstimateFee(ctx(t), blockchain.TxRequest{To: to, Value: big.NewInt(1)})
	if err != nil {
		t.Fatal(err)
	}
	// 21000 gas + 20 % margin; max fee = 2 × base + tip.
	if fee.GasLimit != 25200 || fee.MaxFeePerGas.Int64() != 207 || fee.MaxPriorityFeePerGas.Int64() != 7 || fee.Model != blockchain.FeeEIP1559 {
		t.Fatalf("fee %+v", fee)
	}
	legacy, _, _ := newOp(t, blockchain.FeeSettings{Model: blockchain.FeeLegacy, GasLimitMarginPercent: 50})
	fee, err = legacy.EstimateFee(ctx(t), blockchain.TxRequest{To: to})
	if err != nil || fee.GasLimit != 31500 || fee.GasPrice.Int64() != 11e9 {
		t.Fatalf("legacy fee %+v %v", fee, err)
	}
	capped, lc, _ := newOp(t, blockchain.FeeSettings{MaxFeePerGas: big.NewInt(150)})
	lc.SetFees(big.NewInt(100), big.NewInt(7))
	var ce *blockchain.FeeCapError
	if _, err := capped.EstimateFee(ctx(t), blockchain.TxRequest{To: to}); !errors.As(err, &ce) || ce.Cap.Int64() != 150 {
		t.Fatalf("cap: %v", err)
	}
	if _, err := capped.Send(ctx(t), blockchain.TxRequest{To: to}); !errors.As(err, &ce) {
		t.Fatalf("send over cap: %v", err)
	}
	if st := capped.Nonces().State(capped.Address()); len(st.Reserved) != 0 {
		t.Fatalf("a failed estimate reserved a nonce: %+v", st)
	}
}

func TestReadOnlyOperator(t *testing.T) {
	l := blockchaintest.NewLedger("31337")
	op, err := blockchain.NewBase(blockchain.NetworkConfig{Platform: operators.ChainPlatform("ledger", "31337")}, l)
	if err != nil {
		t.Fatal(err)
	}
	defer op.Close()
	if op.Address() != nil {
		t.Fatal("read-only operator has an address")
	}
	if _, err := op.Send(ctx(t), blockchain.TxRequest{}); !errors.Is(err, blockchain.ErrNoSigner) {
		t.Fatalf("Send: %v", err)
	}
	if n, err := op.BlockNumber(ctx(t)); err != nil || n != 0 {
		t.Fatalf("BlockNumber %d %v", n, err)
	}
	if _, err := blockchain.NewBase(blockchain.NetworkConfig{Platform: operators.ExchangePlatform("binance")}, l); err == nil {
		t.Fatal("exchange platform accepted")
	}
	if _, err := blockchain.NewBase(blockchain.NetworkConfig{Platform: operators.ChainPlatform("x", "1")}, nil); err == nil {
		t.Fatal("nil chain accepted")
	}
}

func TestSpeedUpAndCancel(t *testing.T) {
	op, l, to := newOp(t, blockchain.FeeSettings{})
	c := ctx(t)
	orig, err := op.Send(c, blockchain.TxRequest{To: to, Value: big.NewInt(5)})
	if err != nil {
		t.Fatal(err)
	}
	fast, err := op.SpeedUp(c, orig.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if fast.Nonce != orig.Nonce || !fast.Tx.Tx.Fee.Covers(orig.Tx.Tx.Fee, 10) {
		t.Fatalf("speed-up %+v", fast.Tx.Tx.Fee)
	}
	cancel, err := op.Cancel(c, fast.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if !blockchain.Equal(cancel.Tx.Tx.To, op.Address()) || cancel.Tx.Tx.Value.Sign() != 0 {
		t.Fatalf("cancel tx %+v", cancel.Tx.Tx)
	}
	l.Mine()
	if err := op.Poll(c); err != nil {
		t.Fatal(err)
	}
	for _, h := range []blockchain.BlockchainIdentifier{orig.Hash, fast.Hash} {
		if info, _ := op.Tracker().Get(h); info.State != blockchain.Replaced || !blockchain.Equal(info.ReplacedBy, cancel.Hash) {
			t.Fatalf("%v: %v by %v", h, info.State, info.ReplacedBy)
		}
	}
	if got, _ := l.Balance(c, to); got.Sign() != 0 {
		t.Fatalf("canceled transfer arrived: %v", got)
	}
	if _, err := op.SpeedUp(c, cancel.Hash); err == nil {
		t.Fatal("sped up a mined tx")
	}
}

func TestUncertainBroadcastNotAcceptedIsDropped(t *testing.T) {
	op, l, to := newOp(t, blockchain.FeeSettings{})
	c := ctx(t)
	l.FailNextSend(errors.New("i/o timeout"), false)
	info, err := op.Send(c, blockchain.TxRequest{To: to, Value: big.NewInt(1)})
	var ub *blockchain.UncertainBroadcastError
	if !errors.As(err, &ub) || info.State != blockchain.PendingBroadcast {
		t.Fatalf("%v %v", err, info.State)
	}
	for range op.Network().DropPolls() {
		if err := op.Poll(c); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := op.Tracker().Get(info.Hash); got.State != blockchain.Dropped {
		t.Fatalf("state %v", got.State)
	}
	// Rebroadcasting the dropped transaction revives it.
	re, err := op.Broadcast(c, info.Tx)
	if err != nil || re.State != blockchain.Broadcasted {
		t.Fatalf("rebroadcast: %v %v", re.State, err)
	}
	l.Mine()
	_ = op.Poll(c)
	if got, _ := op.Tracker().Get(info.Hash); got.State != blockchain.Confirmed {
		t.Fatalf("after mining: %v", got.State)
	}
}

func TestReorgThatDropsTheTransaction(t *testing.T) {
	op, l, to := newOp(t, blockchain.FeeSettings{})
	c := ctx(t)
	info, _ := op.Send(c, blockchain.TxRequest{To: to, Value: big.NewInt(1)})
	l.Mine()
	_ = op.Poll(c)
	l.ReorgAndDrop(1)
	_ = op.Poll(c)
	got, _ := op.Tracker().Get(info.Hash)
	if got.State != blockchain.Broadcasted || got.Misses != 1 {
		t.Fatalf("after the reorg: %v misses %d", got.State, got.Misses)
	}
	for range op.Network().DropPolls() {
		_ = op.Poll(c)
	}
	if got, _ := op.Tracker().Get(info.Hash); got.State != blockchain.Dropped {
		t.Fatalf("state %v", got.State)
	}
	if st := op.Nonces().State(op.Address()); st.Next != info.Nonce {
		t.Fatalf("dropped nonce not released: %+v", st)
	}
}

func TestNonceTooLowResetsFromChain(t *testing.T) {
	op, l, to := newOp(t, blockchain.FeeSettings{})
	c := ctx(t)
	a, _ := op.Send(c, blockchain.TxRequest{To: to, Value: big.NewInt(1)})
	l.Mine()
	_ = op.Poll(c)
	// Another wallet instance forgot about it and sets the nonce back.
	op.Nonces().Set(op.Address(), a.Nonce)
	_, err := op.Send(c, blockchain.TxRequest{To: to, Value: big.NewInt(2)})
	var rej *blockchain.RejectedError
	if !errors.As(err, &rej) || rej.Reason != blockchain.RejectNonceTooLow {
		t.Fatalf("%v", err)
	}
	b, err := op.Send(c, blockchain.TxRequest{To: to, Value: big.NewInt(1)})
	if err != nil || b.Nonce != a.Nonce+1 {
		t.Fatalf("after reset: nonce %d, %v", b.Nonce, err)
	}
}

func TestPollUnderProcessor(t *testing.T) {
	op, l, to := newOp(t, blockchain.FeeSettings{})
	c := ctx(t)
	info, _ := op.Send(c, blockchain.TxRequest{To: to, Value: big.NewInt(1)})
	l.MineN(2)
	p := operators.NewOperatorProcessor(op, operators.WithInterval(time.Hour))
	pctx, stop := context.WithCancel(c)
	done := make(chan error, 1)
	go func() { done <- p.Run(pctx) }()
	p.Poll()
	got, err := op.WaitForConfirmations(c, info.Hash, 2)
	stop()
	<-done
	if err != nil || got.State != blockchain.Finalized {
		t.Fatalf("%v %v", got.State, err)
	}
}

func Example() {
	ctx := context.Background()
	chain := blockchaintest.NewLedger("31337") // a JSON-RPC Chain in production
	_, signer := chain.NewAccount(big.NewInt(1e18))
	alice, _ := chain.NewAccount(nil)
	op, _ := blockchain.NewBase(blockchain.NetworkConfig{
		Platform:      operators.ChainPlatform("devnet", "31337"),
		Confirmations: 2,
	}, chain, blockchain.WithSigner(signer))
	defer op.Close()

	info, _ := op.Send(ctx, blockchain.TxRequest{To: alice, Value: big.NewInt(1000)})
	fmt.Println(info.State, "nonce", info.Nonce)
	for range 2 {
		chain.Mine()
		_ = op.Poll(ctx) // or run op under an operators.OperatorProcessor
		info, _ = op.Tracker().Get(info.Hash)
		fmt.Println(info.State, info.Confirmations)
	}
	// Output:
	// BROADCASTED nonce 0
	// CONFIRMED 1
	// FINALIZED 2
}
