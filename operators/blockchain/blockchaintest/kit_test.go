package blockchaintest

import (
	"context"
	"fmt"
	"math/big"
	"runtime"
	"sync"
	"testing"

	"github.com/pype-go/pype/operators/blockchain"
)

func TestLedgerPassesConformanceKit(t *testing.T) {
	for _, fin := range []uint64{1, 3} {
		t.Run(fmt.Sprintf("finality_%d", fin), func(t *testing.T) {
			Run(t, func(t testing.TB) *Harness {
				h, _ := NewLedgerHarness(t, fin)
				return h
			})
		})
	}
}

type fakeTB struct {
	testing.TB
	mu       sync.Mutex
	msgs     []string
	cleanups []func()
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Fatalf(format string, args ...any) { f.Errorf(format, args...); runtime.Goexit() }
func (f *fakeTB) Fatal(args ...any)                 { f.Errorf("%s", fmt.Sprint(args...)); runtime.Goexit() }
func (f *fakeTB) Skip(args ...any)                  { f.Errorf("skipped: %s", fmt.Sprint(args...)); runtime.Goexit() }
func (f *fakeTB) Cleanup(fn func())                 { f.cleanups = append(f.cleanups, fn) }

func runFake(c Case, h func(testing.TB) *Harness) []string {
	ft := &fakeTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(ft, h(ft))
	}()
	<-done
	for i := len(ft.cleanups) - 1; i >= 0; i-- {
		ft.cleanups[i]()
	}
	return ft.msgs
}

// noPoll never looks at the chain: nothing ever gets confirmed.
type noPoll struct{ *blockchain.Base }

func (noPoll) Poll(context.Context) error { return nil }

// leakyNonces burns a nonce before every send, leaving gaps.
type leakyNonces struct{ *blockchain.Base }

func (l leakyNonces) Send(ctx context.Context, req blockchain.TxRequest) (blockchain.TxInfo, error) {
	if req.Nonce == nil {
		_, _ = l.Nonces().Next(ctx, l.Address())
	}
	return l.Base.Send(ctx, req)
}

// noReleases never gives a nonce back.
type noReleases struct{ *blockchain.Base }

func (n noReleases) Poll(ctx context.Context) error {
	err := n.Base.Poll(ctx)
	n.Nonces().Set(n.Address(), n.Nonces().State(n.Address()).Next+1)
	return err
}

func TestKitCatchesBrokenOperators(t *testing.T) {
	tests := []struct {
		name string
		wrap func(*blockchain.Base) blockchain.BlockchainOperator
		kase string
	}{
		{"no polling", func(b *blockchain.Base) blockchain.BlockchainOperator { return noPoll{b} }, "TransferConfirmedFinalized"},
		{"no polling, reorg", func(b *blockchain.Base) blockchain.BlockchainOperator { return noPoll{b} }, "ReorgMovesConfirmedBack"},
		{"leaky nonces", func(b *blockchain.Base) blockchain.BlockchainOperator { return leakyNonces{b} }, "ConsecutiveNonces"},
		{"dropped nonce not reused", func(b *blockchain.Base) blockchain.BlockchainOperator { return noReleases{b} }, "DroppedAndNonceReused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range Cases() {
				if c.Name != tt.kase {
					continue
				}
				msgs := runFake(c, func(tb testing.TB) *Harness {
					h, _ := NewLedgerHarness(tb, 3)
					h.Op = tt.wrap(h.Op.(*blockchain.Base))
					return h
				})
				if len(msgs) == 0 {
					t.Fatalf("kit case %s passed a broken operator", c.Name)
				}
				t.Logf("kit reported: %s", msgs[0])
				return
			}
			t.Fatalf("no kit case %s", tt.kase)
		})
	}
}

func TestLedgerRules(t *testing.T) {
	ctx := context.Background()
	l := NewLedger("5")
	a, sa := l.NewAccount(big.NewInt(1e18))
	_, sb := l.NewAccount(big.NewInt(1e18))
	to, _ := l.NewAccount(nil)
	fee := blockchain.Fee{GasLimit: 21000, MaxFeePerGas: big.NewInt(20e9), MaxPriorityFeePerGas: big.NewInt(1e9)}
	tx := blockchain.Transaction{ChainID: "5", From: a, To: to, Value: big.NewInt(100), Fee: fee}
	stx, _ := sa.SignTransaction(ctx, tx)
	if err := l.SendRawTransaction(ctx, stx); err != nil {
		t.Fatal(err)
	}
	if err := l.SendRawTransaction(ctx, stx); err != blockchain.ErrAlreadyKnown {
		t.Fatalf("resend: %v", err)
	}
	// Someone else's signer cannot send from a.
	forged := tx
	forged.Nonce = 1
	if _, err := sb.SignTransaction(ctx, forged); err == nil {
		t.Fatal("signer b signed for a")
	}
	other, _ := sa.SignTransaction(ctx, forged)
	other.Raw[len(other.Raw)-1]++
	var rej *blockchain.RejectedError
	if err := l.SendRawTransaction(ctx, other); !asReject(err, &rej) || rej.Reason != blockchain.RejectInvalid {
		t.Fatalf("tampered signature: %v", err)
	}
	wrongChain := tx
	wrongChain.ChainID = "1"
	wc, _ := sa.SignTransaction(ctx, wrongChain)
	if err := l.SendRawTransaction(ctx, wc); !asReject(err, &rej) || rej.Reason != blockchain.RejectInvalid {
		t.Fatalf("wrong chain: %v", err)
	}
	rich := tx
	rich.Nonce, rich.Value = 1, big.NewInt(2e18)
	rs, _ := sa.SignTransaction(ctx, rich)
	if err := l.SendRawTransaction(ctx, rs); !asReject(err, &rej) || rej.Reason != blockchain.RejectInsufficientFunds {
		t.Fatalf("overspend: %v", err)
	}
	l.Mine()
	if got, _ := l.Balance(ctx, to); got.Int64() != 100 {
		t.Fatalf("recipient %v", got)
	}
	r, err := l.Receipt(ctx, stx.Hash)
	if err != nil || r.GasUsed != TxGas || r.EffectiveGasPrice.Int64() != 11e9 {
		t.Fatalf("receipt %+v %v", r, err)
	}
	spent := new(big.Int).Sub(big.NewInt(1e18), big.NewInt(100))
	spent.Sub(spent, big.NewInt(21000*11e9))
	if got, _ := l.Balance(ctx, a); got.Cmp(spent) != 0 {
		t.Fatalf("sender balance %v, want %v", got, spent)
	}
	if err := l.SendRawTransaction(ctx, stx); err != blockchain.ErrAlreadyKnown {
		t.Fatalf("mined resend: %v", err)
	}
	old := tx
	old.Value = big.NewInt(5)
	os, _ := sa.SignTransaction(ctx, old)
	if err := l.SendRawTransaction(ctx, os); !asReject(err, &rej) || rej.Reason != blockchain.RejectNonceTooLow {
		t.Fatalf("reused nonce: %v", err)
	}
	// Reorg rolls state back and returns the tx to the mempool.
	l.Reorg(1)
	if got, _ := l.Balance(ctx, to); got.Sign() != 0 {
		t.Fatalf("after reorg recipient %v", got)
	}
	if p, _ := l.IsPending(ctx, stx.Hash); !p {
		t.Fatal("reorged tx not pending")
	}
	if n, _ := l.NonceAt(ctx, a, true); n != 1 {
		t.Fatalf("pending nonce %d", n)
	}
	l.ReorgAndDrop(0)
	l.Mine()
	if _, err := l.Receipt(ctx, stx.Hash); err != nil {
		t.Fatal(err)
	}
}

func asReject(err error, target **blockchain.RejectedError) bool {
	r, ok := err.(*blockchain.RejectedError)
	if ok {
		*target = r
	}
	return ok
}
