package dapp_test

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/pype-go/pype/operators"
	"github.com/pype-go/pype/operators/blockchain"
	"github.com/pype-go/pype/operators/blockchain/blockchaintest"
	"github.com/pype-go/pype/operators/dapp"
)

type world struct {
	ledger     *blockchaintest.Ledger
	alice, bob blockchain.Address
	aliceChain *blockchain.Base
	bobChain   *blockchain.Base
	token      blockchain.Address
	aliceToken *dapp.ERC20
	bobToken   *dapp.ERC20
}

func newWorld(t *testing.T) *world {
	l := blockchaintest.NewLedger("31337")
	w := &world{ledger: l}
	var sa, sb *blockchaintest.Signer
	w.alice, sa = l.NewAccount(big.NewInt(1e18))
	w.bob, sb = l.NewAccount(big.NewInt(1e18))
	w.token = l.Deploy(blockchaintest.NewERC20("TST", 6, w.alice, big.NewInt(1_000_000_000)))
	net := blockchain.NetworkConfig{Platform: operators.ChainPlatform("ledger", "31337"), Confirmations: 3}
	var err error
	if w.aliceChain, err = blockchain.NewBase(net, l, blockchain.WithSigner(sa)); err != nil {
		t.Fatal(err)
	}
	if w.bobChain, err = blockchain.NewBase(net, l, blockchain.WithSigner(sb)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.aliceChain.Close(); _ = w.bobChain.Close() })
	if w.aliceToken, err = dapp.NewERC20(dapp.Config{Name: "TST", Contract: w.token}, w.aliceChain); err != nil {
		t.Fatal(err)
	}
	if w.bobToken, err = dapp.NewERC20(dapp.Config{Name: "tst", Contract: w.token}, w.bobChain); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) mineAndPoll(t *testing.T, n int) {
	t.Helper()
	for range n {
		w.ledger.Mine()
		for _, op := range []*blockchain.Base{w.aliceChain, w.bobChain} {
			if err := op.Poll(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestERC20TransferConfirmedFinalized(t *testing.T) {
	w := newWorld(t)
	c := ctx(t)
	if w.aliceToken.Name() != "ledger.tst" || w.aliceToken.Platform().ChainID != "31337" {
		t.Fatalf("platform %v", w.aliceToken.Platform())
	}
	if d, err := w.aliceToken.Decimals(c); err != nil || d != 6 {
		t.Fatalf("decimals %d %v", d, err)
	}
	if s, err := w.aliceToken.Symbol(c); err != nil || s != "TST" {
		t.Fatalf("symbol %q %v", s, err)
	}
	info, err := w.aliceToken.Transfer(c, w.bob, big.NewInt(250_000))
	if err != nil {
		t.Fatal(err)
	}
	if info.State != blockchain.Broadcasted {
		t.Fatalf("state %v", info.State)
	}
	w.mineAndPoll(t, 1)
	got, _ := w.aliceChain.Tracker().Get(info.Hash)
	if got.State != blockchain.Confirmed || got.Confirmations != 1 {
		t.Fatalf("after one block: %v(%d)", got.State, got.Confirmations)
	}
	evs := dapp.Transfers(got.Receipt)
	if len(evs) != 1 || evs[0].From != w.alice || evs[0].To != w.bob || evs[0].Value.Int64() != 250_000 || !blockchain.Equal(evs[0].Token, w.token) {
		t.Fatalf("transfer logs %+v", evs)
	}
	w.mineAndPoll(t, 2)
	if got, _ := w.aliceChain.Tracker().Get(info.Hash); got.State != blockchain.Finalized {
		t.Fatalf("after finality: %v", got.State)
	}
	bal, err := w.bobToken.BalanceOf(c, w.bob)
	if err != nil || bal.Int64() != 250_000 {
		t.Fatalf("bob balance %v %v", bal, err)
	}
	// The ledger's own view agrees (independent ABI decoding).
	if direct, _ := w.ledger.TokenBalance(w.token, w.alice); direct.Int64() != 1_000_000_000-250_000 {
		t.Fatalf("ledger says %v", direct)
	}
}

func TestERC20ApproveTransferFrom(t *testing.T) {
	w := newWorld(t)
	c := ctx(t)
	if _, err := w.aliceToken.Approve(c, w.bob, big.NewInt(500)); err != nil {
		t.Fatal(err)
	}
	w.mineAndPoll(t, 1)
	if a, err := w.bobToken.Allowance(c, w.alice, w.bob); err != nil || a.Int64() != 500 {
		t.Fatalf("allowance %v %v", a, err)
	}
	tf, err := w.bobToken.TransferFrom(c, w.alice, w.bob, big.NewInt(300))
	if err != nil {
		t.Fatal(err)
	}
	over, err := w.bobToken.TransferFrom(c, w.alice, w.bob, big.NewInt(300)) // 300 > 200 left
	if err != nil {
		t.Fatal(err)
	}
	w.mineAndPoll(t, 1)
	if got, _ := w.bobChain.Tracker().Get(tf.Hash); got.State != blockchain.Confirmed {
		t.Fatalf("transferFrom %v", got.State)
	}
	got, _ := w.bobChain.Tracker().Get(over.Hash)
	if got.State != blockchain.Reverted || !strings.Contains(got.Receipt.RevertReason, "allowance") {
		t.Fatalf("over-allowance %v %q", got.State, got.Receipt.RevertReason)
	}
	if a, _ := w.bobToken.Allowance(c, w.alice, w.bob); a.Int64() != 200 {
		t.Fatalf("allowance left %v", a)
	}
}

func TestERC20RevertedTransfer(t *testing.T) {
	w := newWorld(t)
	c := ctx(t)
	// Bob has no tokens: the estimate already reverts, so send with a
	// fixed fee to get the revert on chain.
	fee := blockchain.Fee{GasLimit: 100_000, MaxFeePerGas: big.NewInt(50e9), MaxPriorityFeePerGas: big.NewInt(1e9)}
	req, err := w.bobToken.Request(dapp.ERC20ABI().Transfer, w.alice, big.NewInt(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.bobChain.EstimateFee(c, req); err == nil {
		t.Fatal("estimate of a reverting transfer succeeded")
	}
	req.Fee = &fee
	info, err := w.bobChain.Send(c, req)
	if err != nil {
		t.Fatal(err)
	}
	w.mineAndPoll(t, 1)
	_, err = w.bobChain.WaitForConfirmations(c, info.Hash, 1)
	var oe *blockchain.TxOutcomeError
	if !errors.As(err, &oe) || oe.Info.State != blockchain.Reverted || !strings.Contains(err.Error(), "exceeds balance") {
		t.Fatalf("%v", err)
	}
	if _, err := w.bobToken.Transact(c, dapp.ERC20ABI().BalanceOf, w.bob); err == nil {
		t.Fatal("transacted a view function")
	}
}

func TestERC20ReorgAndReplacement(t *testing.T) {
	w := newWorld(t)
	c := ctx(t)
	info, _ := w.aliceToken.Transfer(c, w.bob, big.NewInt(10))
	w.mineAndPoll(t, 1)
	w.ledger.Reorg(1)
	_ = w.aliceChain.Poll(c)
	if got, _ := w.aliceChain.Tracker().Get(info.Hash); got.State != blockchain.Broadcasted {
		t.Fatalf("after reorg %v", got.State)
	}
	if bal, _ := w.bobToken.BalanceOf(c, w.bob); bal.Sign() != 0 {
		t.Fatalf("reorged transfer still credited: %v", bal)
	}
	// Speed it up while it waits in the mempool again.
	fast, err := w.aliceChain.SpeedUp(c, info.Hash)
	if err != nil {
		t.Fatal(err)
	}
	w.mineAndPoll(t, 3)
	if got, _ := w.aliceChain.Tracker().Get(fast.Hash); got.State != blockchain.Finalized {
		t.Fatalf("speed-up %v", got.State)
	}
	if got, _ := w.aliceChain.Tracker().Get(info.Hash); got.State != blockchain.Replaced || !got.Final {
		t.Fatalf("original %v final %v", got.State, got.Final)
	}
	if bal, _ := w.bobToken.BalanceOf(c, w.bob); bal.Int64() != 10 {
		t.Fatalf("bob %v", bal)
	}
}

func TestDAppFromFactory(t *testing.T) {
	l := blockchaintest.NewLedger("31337")
	owner, signer := l.NewAccount(big.NewInt(1e18))
	token := l.Deploy(blockchaintest.NewERC20("TST", 6, owner, big.NewInt(77)))
	var f operators.OperatorFactory
	_ = f.Register("ledger", func(context.Context) (operators.Operator, error) {
		return blockchain.NewBase(blockchain.NetworkConfig{Platform: operators.ChainPlatform("ledger", "31337")}, l, blockchain.WithSigner(signer))
	})
	_ = f.Register("ledger.tst", func(ctx context.Context) (operators.Operator, error) {
		chain, err := f.Get(ctx, "ledger") // a DApp depends on its chain operator
		if err != nil {
			return nil, err
		}
		return dapp.NewERC20(dapp.Config{Name: "tst", Contract: token}, chain.(blockchain.BlockchainOperator))
	})
	op, err := f.Get(ctx(t), "ledger.tst")
	if err != nil {
		t.Fatal(err)
	}
	erc := op.(*dapp.ERC20)
	if bal, err := erc.BalanceOf(ctx(t), owner); err != nil || bal.Int64() != 77 {
		t.Fatalf("%v %v", bal, err)
	}
	chain, _ := f.Lookup("ledger")
	if erc.Chain() != chain {
		t.Fatal("the DApp got another chain instance")
	}
	_ = chain.(*blockchain.Base).Close()
}

func ExampleERC20() {
	ctx := context.Background()
	chain := blockchaintest.NewLedger("31337")
	me, signer := chain.NewAccount(big.NewInt(1e18))
	friend, _ := chain.NewAccount(nil)
	token := chain.Deploy(blockchaintest.NewERC20("TST", 6, me, big.NewInt(5_000_000)))

	eth, _ := blockchain.NewBase(blockchain.NetworkConfig{Platform: operators.ChainPlatform("devnet", "31337"), Confirmations: 1}, chain, blockchain.WithSigner(signer))
	defer eth.Close()
	tst, _ := dapp.NewERC20(dapp.Config{Name: "tst", Contract: token}, eth)

	info, _ := tst.Transfer(ctx, friend, big.NewInt(1_500_000))
	chain.Mine()
	_ = eth.Poll(ctx)
	info, _ = eth.Tracker().Get(info.Hash)
	bal, _ := tst.BalanceOf(ctx, friend)
	fmt.Println(tst.Name(), info.State, "friend holds", bal)
	// Output: devnet.tst FINALIZED friend holds 1500000
}
