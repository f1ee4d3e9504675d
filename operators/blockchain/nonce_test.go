package blockchain

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
)

type fakeNonces struct {
	mu      sync.Mutex
	pending uint64
	reads   int
	err     error
}

func (f *fakeNonces) NonceAt(_ context.Context, _ BlockchainIdentifier, pending bool) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	return f.pending, f.err
}

func TestNonceManager(t *testing.T) {
	ctx := context.Background()
	src := &fakeNonces{pending: 7}
	m := NewNonceManager(src)
	next := func() uint64 {
		t.Helper()
		n, err := m.Next(ctx, sender)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if a, b, c := next(), next(), next(); a != 7 || b != 8 || c != 9 {
		t.Fatalf("nonces %d %d %d", a, b, c)
	}
	if src.reads != 1 {
		t.Fatalf("chain read %d times, want once", src.reads)
	}
	m.Commit(sender, 7, testHash(7))
	m.Commit(sender, 9, testHash(9))
	// 8 failed to sign: a gap below in-flight 9, refilled first.
	m.Release(sender, 8, nil)
	st := m.State(sender)
	if !slices.Equal(st.Gaps, []uint64{8}) || !slices.Equal(st.InFlight, []uint64{7, 9}) || st.Next != 10 {
		t.Fatalf("state %+v", st)
	}
	if n := next(); n != 8 {
		t.Fatalf("gap not refilled: %d", n)
	}
	m.Commit(sender, 8, testHash(8))
	if n := next(); n != 10 {
		t.Fatalf("after the gap: %d", n)
	}
	// Releasing the top nonce shrinks Next instead of leaving a gap.
	m.Release(sender, 10, nil)
	if st := m.State(sender); st.Next != 10 || len(st.Gaps) != 0 {
		t.Fatalf("state %+v", st)
	}
	// A replacement holds nonce 9: dropping the original keeps it.
	m.Commit(sender, 9, testHash(90))
	m.Release(sender, 9, testHash(9))
	if st := m.State(sender); !slices.Contains(st.InFlight, 9) {
		t.Fatalf("replacement's nonce released: %+v", st)
	}
	m.Confirm(sender, 7)
	m.Confirm(sender, 9)
	if st := m.State(sender); len(st.InFlight) != 1 || st.InFlight[0] != 8 {
		t.Fatalf("state %+v", st)
	}
	// Reset trusts the chain.
	src.pending = 12
	if err := m.Reset(ctx, sender); err != nil {
		t.Fatal(err)
	}
	if n := next(); n != 12 {
		t.Fatalf("after reset: %d", n)
	}
	// A caller-chosen nonce beyond Next leaves gaps below it.
	m.Commit(sender, 15, testHash(15))
	if st := m.State(sender); !slices.Equal(st.Gaps, []uint64{13, 14}) || st.Next != 16 {
		t.Fatalf("state %+v", st)
	}
	src.err = errors.New("node down")
	other := Address{9}
	if _, err := m.Next(ctx, other); err == nil {
		t.Fatal("no error from a failing source")
	}
	m.Set(other, 3)
	if n, _ := m.Next(ctx, other); n != 3 {
		t.Fatalf("after Set: %d", n)
	}
}

func TestNonceManagerResetKeepsReservations(t *testing.T) {
	ctx := context.Background()
	src := &fakeNonces{pending: 0}
	m := NewNonceManager(src)
	a, _ := m.Next(ctx, sender) // 0, still being built
	b, _ := m.Next(ctx, sender) // 1
	m.Commit(sender, b, testHash(1))
	src.pending = 0 // the node lost nonce 1
	if err := m.Reset(ctx, sender); err != nil {
		t.Fatal(err)
	}
	st := m.State(sender)
	if !slices.Equal(st.Reserved, []uint64{a}) || st.Next != 1 || len(st.InFlight) != 0 {
		t.Fatalf("state %+v", st)
	}
	if n, _ := m.Next(ctx, sender); n != 1 {
		t.Fatalf("next %d", n)
	}
}

func TestNonceManagerConcurrentUnique(t *testing.T) {
	ctx := context.Background()
	m := NewNonceManager(&fakeNonces{pending: 100})
	var mu sync.Mutex
	seen := map[uint64]bool{}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				n, err := m.Next(ctx, sender)
				if err != nil {
					t.Error(err)
					return
				}
				if (g+i)%5 == 0 {
					m.Release(sender, n, nil)
					continue
				}
				m.Commit(sender, n, testHash(n))
				mu.Lock()
				if seen[n] {
					t.Errorf("nonce %d committed twice", n)
				}
				seen[n] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	st := m.State(sender)
	// Every nonce below Next is either committed or a gap.
	for n := uint64(100); n < st.Next; n++ {
		if !seen[n] && !slices.Contains(st.Gaps, n) {
			t.Fatalf("nonce %d lost (state %s)", n, fmt.Sprint(st))
		}
	}
}
