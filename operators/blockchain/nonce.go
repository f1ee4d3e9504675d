package blockchain

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
)

// NonceSource reads an account's nonce from the chain: the number of its
// mined transactions (pending false) or including the node's mempool
// (pending true).
type NonceSource interface {
	NonceAt(ctx context.Context, account BlockchainIdentifier, pending bool) (uint64, error)
}

// NonceState is a snapshot of one account's nonces.
type NonceState struct {
	Loaded   bool
	Next     uint64   // the next never-used nonce
	Reserved []uint64 // handed out, not yet broadcast or released
	InFlight []uint64 // broadcast, not yet mined
	Gaps     []uint64 // released below Next: handed out again first
}

// NonceManager assigns nonces to outgoing transactions of any number of
// accounts. The first nonce of an account comes from the chain (pending
// count); after that nonces are handed out locally, so concurrent senders
// never collide. A nonce whose transaction failed to build, sign or
// broadcast (or was dropped) is released: it becomes a gap that the next
// [NonceManager.Next] fills first, because every later transaction of the
// account is stuck until it is used. [NonceManager.Reset] re-reads the
// chain after a "nonce too low" or a restart.
//
// A NonceManager is safe for concurrent use.
type NonceManager struct {
	src NonceSource

	mu    sync.Mutex
	accts map[BlockchainIdentifier]*nonceAcct
}

type nonceAcct struct {
	load     sync.Mutex // serialises the first chain read
	loaded   bool
	next     uint64
	reserved map[uint64]bool
	inflight map[uint64]BlockchainIdentifier
	gaps     []uint64 // sorted ascending, each < next
}

// NewNonceManager returns a manager reading initial nonces from src.
func NewNonceManager(src NonceSource) *NonceManager {
	return &NonceManager{src: src, accts: make(map[BlockchainIdentifier]*nonceAcct)}
}

func (m *NonceManager) acct(a BlockchainIdentifier) *nonceAcct {
	m.mu.Lock()
	defer m.mu.Unlock()
	x := m.accts[a]
	if x == nil {
		x = &nonceAcct{reserved: map[uint64]bool{}, inflight: map[uint64]BlockchainIdentifier{}}
		m.accts[a] = x
	}
	return x
}

func (m *NonceManager) ensureLoaded(ctx context.Context, account BlockchainIdentifier, x *nonceAcct) error {
	m.mu.Lock()
	loaded := x.loaded
	m.mu.Unlock()
	if loaded {
		return nil
	}
	x.load.Lock()
	defer x.load.Unlock()
	m.mu.Lock()
	loaded = x.loaded
	m.mu.Unlock()
	if loaded {
		return nil
	}
	if m.src == nil {
		return fmt.Errorf("blockchain: nonce of %v unknown and no nonce source configured", account)
	}
	n, err := m.src.NonceAt(ctx, account, true)
	if err != nil {
		return fmt.Errorf("blockchain: read pending nonce of %v: %w", account, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !x.loaded {
		x.next = max(x.next, n)
		x.loaded = true
	}
	return nil
}

// Next reserves and returns the account's next nonce: the lowest gap, or
// the next never-used nonce.
func (m *NonceManager) Next(ctx context.Context, account BlockchainIdentifier) (uint64, error) {
	if account == nil {
		return 0, fmt.Errorf("blockchain: Next: no account")
	}
	x := m.acct(account)
	if err := m.ensureLoaded(ctx, account, x); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var n uint64
	if len(x.gaps) > 0 {
		n = x.gaps[0]
		x.gaps = x.gaps[1:]
	} else {
		n = x.next
		x.next++
	}
	x.reserved[n] = true
	return n, nil
}

// Commit records that the transaction hash with nonce was broadcast.
func (m *NonceManager) Commit(account BlockchainIdentifier, nonce uint64, hash BlockchainIdentifier) {
	x := m.acct(account)
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(x.reserved, nonce)
	x.removeGap(nonce)
	x.inflight[nonce] = hash
	if nonce >= x.next {
		// A nonce chosen by the caller (not by Next) beyond ours.
		for n := x.next; n < nonce; n++ {
			x.addGap(n)
		}
		x.next = nonce + 1
	}
}

// Release returns a nonce whose transaction will not be mined (build, sign
// or broadcast failed, or it was dropped); hash is that transaction (nil
// for a reservation never broadcast). The topmost nonces shrink Next; lower
// ones become gaps. A nonce that another in-flight transaction (a
// replacement) holds is kept.
func (m *NonceManager) Release(account BlockchainIdentifier, nonce uint64, hash BlockchainIdentifier) {
	x := m.acct(account)
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(x.reserved, nonce)
	if h, ok := x.inflight[nonce]; ok {
		if hash != nil && !Equal(h, hash) {
			return
		}
		delete(x.inflight, nonce)
	}
	if nonce >= x.next {
		return
	}
	x.addGap(nonce)
	// Shrink: free nonces at the top are simply not handed out yet.
	for len(x.gaps) > 0 && x.gaps[len(x.gaps)-1] == x.next-1 {
		x.gaps = x.gaps[:len(x.gaps)-1]
		x.next--
	}
}

// Confirm records that the transaction with nonce was mined (or replaced
// by a mined one): the nonce is used for good.
func (m *NonceManager) Confirm(account BlockchainIdentifier, nonce uint64) {
	x := m.acct(account)
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(x.reserved, nonce)
	delete(x.inflight, nonce)
	x.removeGap(nonce)
	if nonce >= x.next {
		x.next = nonce + 1
	}
}

// Reset re-reads the account's pending nonce from the chain and makes it
// the next nonce: gaps are forgotten (the chain says which nonces are
// used), in-flight nonces at or above it are considered lost, and
// reservations still being built are kept (Next stays above them).
func (m *NonceManager) Reset(ctx context.Context, account BlockchainIdentifier) error {
	if m.src == nil {
		return fmt.Errorf("blockchain: Reset %v: no nonce source configured", account)
	}
	n, err := m.src.NonceAt(ctx, account, true)
	if err != nil {
		return fmt.Errorf("blockchain: read pending nonce of %v: %w", account, err)
	}
	x := m.acct(account)
	m.mu.Lock()
	defer m.mu.Unlock()
	x.loaded = true
	x.gaps = nil
	x.next = n
	for k := range x.inflight {
		if k >= n {
			delete(x.inflight, k)
		}
	}
	for k := range x.reserved {
		if k >= x.next {
			x.next = k + 1
		}
	}
	for k := n; k < x.next; k++ {
		if !x.reserved[k] {
			x.addGap(k)
		}
	}
	return nil
}

// Set makes next the account's next nonce, forgetting gaps (an explicit
// override, e.g. from a wallet that also sends elsewhere).
func (m *NonceManager) Set(account BlockchainIdentifier, next uint64) {
	x := m.acct(account)
	m.mu.Lock()
	defer m.mu.Unlock()
	x.loaded = true
	x.next = next
	x.gaps = nil
}

// State returns a snapshot of the account's nonces.
func (m *NonceManager) State(account BlockchainIdentifier) NonceState {
	x := m.acct(account)
	m.mu.Lock()
	defer m.mu.Unlock()
	return NonceState{
		Loaded:   x.loaded,
		Next:     x.next,
		Reserved: slices.Sorted(maps.Keys(x.reserved)),
		InFlight: slices.Sorted(maps.Keys(x.inflight)),
		Gaps:     slices.Clone(x.gaps),
	}
}

func (x *nonceAcct) addGap(n uint64) {
	i, found := slices.BinarySearch(x.gaps, n)
	if !found {
		x.gaps = slices.Insert(x.gaps, i, n)
	}
}

func (x *nonceAcct) removeGap(n uint64) {
	if i, found := slices.BinarySearch(x.gaps, n); found {
		x.gaps = slices.Delete(x.gaps, i, i+1)
	}
}
