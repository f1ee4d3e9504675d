package blockchain

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/pype-go/pype/operators"
)

// ObservationKind says what was observed about a transaction.
type ObservationKind uint8

// Observation kinds.
const (
	// ObsBroadcastOK: a node accepted the transaction (or already knew it).
	ObsBroadcastOK ObservationKind = iota + 1
	// ObsBroadcastFailed: a node rejected the transaction for good.
	ObsBroadcastFailed
	// ObsMined: a receipt was found (Receipt and Head set).
	ObsMined
	// ObsHead: the chain head moved (Head set); confirmations recount.
	ObsHead
	// ObsUnmined: the receipt of a mined transaction is gone (a reorg).
	ObsUnmined
	// ObsNonceTaken: the sender's nonce was consumed by another
	// transaction (ReplacedBy when known, Head set).
	ObsNonceTaken
	// ObsMissing: the node knows nothing of the transaction (no receipt,
	// not pending, nonce unused).
	ObsMissing
	// ObsSeen: the transaction is pending in a node's mempool.
	ObsSeen
)

var obsNames = [...]string{
	ObsBroadcastOK:     "broadcast-ok",
	ObsBroadcastFailed: "broadcast-failed",
	ObsMined:           "mined",
	ObsHead:            "head",
	ObsUnmined:         "unmined",
	ObsNonceTaken:      "nonce-taken",
	ObsMissing:         "missing",
	ObsSeen:            "seen",
}

// String returns the observation's name.
func (k ObservationKind) String() string {
	if int(k) < len(obsNames) && obsNames[k] != "" {
		return obsNames[k]
	}
	return fmt.Sprintf("ObservationKind(%d)", uint8(k))
}

// Observation is one fact about a transaction fed to [TxTracker.Observe].
type Observation struct {
	Kind       ObservationKind
	Receipt    *Receipt             // ObsMined
	Head       uint64               // chain head (ObsMined, ObsHead, ObsNonceTaken, ObsMissing)
	Err        error                // ObsBroadcastFailed
	ReplacedBy BlockchainIdentifier // ObsNonceTaken, when known
}

// TxInfo is a tracked transaction's state.
type TxInfo struct {
	Hash  BlockchainIdentifier
	From  BlockchainIdentifier
	Nonce uint64
	State TxState
	// Confirmations counts the including block as one (mined states).
	Confirmations uint64
	// Final is true when the state can no longer change: Finalized and
	// Failed always; Reverted once it has the network's confirmations;
	// Replaced once the replacement is that deep.
	Final bool
	// Receipt is set in mined states.
	Receipt *Receipt
	// ReplacedBy names the replacing transaction when it is known.
	ReplacedBy BlockchainIdentifier
	// Err is the broadcast error (Failed).
	Err error
	// Tx is the signed transaction.
	Tx SignedTransaction
	// Created and Updated are tracker clock times (ns).
	Created, Updated int64
	// Head is the chain head at the last observation.
	Head uint64
	// Misses counts consecutive ObsMissing observations.
	Misses int
}

// TxEvent reports a tracked transaction's change: a state transition, or an
// update in place (From == To: more confirmations, finality).
type TxEvent struct {
	From, To TxState
	Info     TxInfo
}

// TxEvents is the lossless topic of [TxEvent]s: no event is ever dropped.
var TxEvents = operators.NewTopic[TxEvent]("blockchain.tx")

// Errors of the tracker.
var (
	// ErrUnknownTx is wrapped when a hash is not tracked.
	ErrUnknownTx = errors.New("blockchain: transaction not tracked")
	// ErrAlreadyTracked is wrapped by Track for a hash already tracked.
	ErrAlreadyTracked = errors.New("blockchain: transaction already tracked")
)

// TxOutcomeError is returned by [TxTracker.Wait] when the transaction
// reached an unsuccessful state (Failed, Reverted, Dropped, Replaced)
// instead of the awaited condition. A reorg can still move a Reverted,
// Dropped or Replaced transaction on unless Info.Final is set.
type TxOutcomeError struct {
	Info TxInfo
}

func (e *TxOutcomeError) Error() string {
	msg := fmt.Sprintf("blockchain: tx %v is %v", e.Info.Hash, e.Info.State)
	switch {
	case e.Info.State == Failed && e.Info.Err != nil:
		msg += ": " + e.Info.Err.Error()
	case e.Info.State == Reverted && e.Info.Receipt != nil && e.Info.Receipt.RevertReason != "":
		msg += ": " + e.Info.Receipt.RevertReason
	case e.Info.State == Replaced && e.Info.ReplacedBy != nil:
		msg += " by " + e.Info.ReplacedBy.String()
	}
	return msg
}

// TrackerConfig configures a [TxTracker].
type TrackerConfig struct {
	// Finality is the number of confirmations to finality (≥ 1; 0 means 1).
	Finality uint64
	// DropAfter is the number of consecutive ObsMissing observations
	// before a transaction is Dropped (0 means 3).
	DropAfter int
	// Publisher receives [TxEvents]; nil means events are not published
	// (Wait and Get still work).
	Publisher *operators.MultiPublisher
	// Clock stamps Created/Updated; nil means the system clock.
	Clock operators.Clock
}

// TxTracker follows transactions through the [TxState] machine. It is
// driven by observations ([TxTracker.Observe]), normally made by an
// operator's poll, and applies only the transitions of the transition
// table; an observation that does not fit is refused with a
// [*TxTransitionError] and changes nothing. Every change is published on
// [TxEvents] in order. A TxTracker is safe for concurrent use.
type TxTracker struct {
	cfg TrackerConfig
	clk operators.Clock

	mu  sync.Mutex
	txs map[BlockchainIdentifier]*trackedTx
}

type trackedTx struct {
	info       TxInfo
	replacedAt uint64        // head when Replaced was observed
	changed    chan struct{} // closed and replaced on every change
}

// NewTxTracker returns an empty tracker.
func NewTxTracker(cfg TrackerConfig) *TxTracker {
	cfg.Finality = max(cfg.Finality, 1)
	if cfg.DropAfter <= 0 {
		cfg.DropAfter = 3
	}
	clk := cfg.Clock
	if clk == nil {
		clk = operators.SystemClock{}
	}
	return &TxTracker{cfg: cfg, clk: clk, txs: make(map[BlockchainIdentifier]*trackedTx)}
}

// Finality returns the confirmations to finality.
func (t *TxTracker) Finality() uint64 { return t.cfg.Finality }

// Track starts tracking a signed transaction in PendingBroadcast.
func (t *TxTracker) Track(stx SignedTransaction) (TxInfo, error) {
	if stx.Hash == nil || stx.Hash.IsZero() {
		return TxInfo{}, errors.New("blockchain: Track: transaction has no hash")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.txs[stx.Hash]; ok {
		return TxInfo{}, fmt.Errorf("%w: %v", ErrAlreadyTracked, stx.Hash)
	}
	now := t.clk.Now().UnixNano()
	e := &trackedTx{changed: make(chan struct{}), info: TxInfo{
		Hash: stx.Hash, From: stx.Tx.From, Nonce: stx.Tx.Nonce, State: PendingBroadcast,
		Tx: stx, Created: now, Updated: now,
	}}
	t.txs[stx.Hash] = e
	t.publish(e, 0)
	return e.info, nil
}

// Get returns the transaction's state.
func (t *TxTracker) Get(hash BlockchainIdentifier) (TxInfo, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.txs[hash]
	if !ok {
		return TxInfo{}, false
	}
	return e.info, true
}

// List returns every tracked transaction, oldest first.
func (t *TxTracker) List() []TxInfo { return t.list(func(TxInfo) bool { return true }) }

// Active returns the transactions that are not final, oldest first: the
// ones a poll must look at.
func (t *TxTracker) Active() []TxInfo { return t.list(func(i TxInfo) bool { return !i.Final }) }

// BySenderNonce returns the tracked transactions of from with nonce.
func (t *TxTracker) BySenderNonce(from BlockchainIdentifier, nonce uint64) []TxInfo {
	return t.list(func(i TxInfo) bool { return Equal(i.From, from) && i.Nonce == nonce })
}

func (t *TxTracker) list(keep func(TxInfo) bool) []TxInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []TxInfo
	for _, e := range t.txs {
		if keep(e.info) {
			out = append(out, e.info)
		}
	}
	slices.SortFunc(out, func(a, b TxInfo) int {
		if a.Created != b.Created {
			if a.Created < b.Created {
				return -1
			}
			return 1
		}
		if a.Nonce != b.Nonce {
			if a.Nonce < b.Nonce {
				return -1
			}
			return 1
		}
		switch {
		case a.Hash.String() < b.Hash.String():
			return -1
		case a.Hash.String() > b.Hash.String():
			return 1
		}
		return 0
	})
	return out
}

// Forget stops tracking hash.
func (t *TxTracker) Forget(hash BlockchainIdentifier) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.txs[hash]; ok {
		close(e.changed)
		delete(t.txs, hash)
	}
}

// Observe applies one observation and returns the transaction's state
// afterwards. Observations that change nothing (a head that adds no
// confirmation, a second broadcast-ok) are accepted silently; ones the
// transition table refuses return a [*TxTransitionError].
func (t *TxTracker) Observe(hash BlockchainIdentifier, obs Observation) (TxInfo, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.txs[hash]
	if !ok {
		return TxInfo{}, fmt.Errorf("%w: %v", ErrUnknownTx, hash)
	}
	cur := e.info
	refuse := func(to TxState, reason string) (TxInfo, error) {
		return cur, &TxTransitionError{Hash: hash, From: cur.State, To: to, Observation: obs.Kind, Reason: reason}
	}
	if cur.Final {
		// Nothing moves a final transaction; repeating what is known is
		// harmless, anything else is reported.
		if obs.Kind == ObsHead || obs.Kind == ObsMined && cur.State.IsMined() && sameBlock(cur.Receipt, obs.Receipt) && cur.Receipt.Status == obs.Receipt.Status {
			return cur, nil
		}
		return refuse(0, "the transaction is final")
	}
	next := cur
	if obs.Head > next.Head {
		next.Head = obs.Head
	}
	switch obs.Kind {
	case ObsBroadcastOK, ObsSeen:
		next.Misses = 0
		switch cur.State {
		case Broadcasted:
			return t.commit(e, next)
		case PendingBroadcast, Dropped, Replaced:
			next.State = Broadcasted
			next.ReplacedBy = nil
		default:
			if obs.Kind == ObsSeen {
				return refuse(Broadcasted, "a mined transaction cannot be pending without a reorg")
			}
			return cur, nil // a late broadcast result for a transaction already mined
		}
	case ObsBroadcastFailed:
		if cur.State != PendingBroadcast {
			return refuse(Failed, "only a transaction not yet accepted can fail to broadcast")
		}
		next.State, next.Err, next.Final = Failed, obs.Err, true
	case ObsMined:
		r := obs.Receipt
		if r == nil {
			return refuse(0, "mined observation without a receipt")
		}
		next.Receipt = r.clone()
		next.Misses = 0
		next.ReplacedBy = nil
		if r.Status == StatusSuccess {
			next.State = Confirmed
		} else {
			next.State = Reverted
		}
		if cur.State == Confirmed && next.State == Reverted || cur.State == Reverted && next.State == Confirmed {
			return refuse(next.State, "the status of a mined transaction cannot change without a reorg")
		}
		next.Head = max(next.Head, r.BlockNumber)
		t.count(&next)
	case ObsHead:
		switch cur.State {
		case Confirmed, Reverted:
			t.count(&next)
		case Replaced:
			t.replacedFinal(e, &next)
		default:
			return t.commit(e, next)
		}
	case ObsUnmined:
		if !cur.State.IsMined() {
			return cur, nil
		}
		next.State, next.Receipt, next.Confirmations = Broadcasted, nil, 0
	case ObsNonceTaken:
		switch cur.State {
		case PendingBroadcast, Broadcasted, Dropped:
		case Replaced:
			if obs.ReplacedBy != nil {
				next.ReplacedBy = obs.ReplacedBy
			}
			t.replacedFinal(e, &next)
			return t.commit(e, next)
		default:
			return refuse(Replaced, "a mined transaction holds its own nonce")
		}
		next.State, next.ReplacedBy, next.Misses = Replaced, obs.ReplacedBy, 0
		e.replacedAt = next.Head
		t.replacedFinal(e, &next)
	case ObsMissing:
		switch cur.State {
		case PendingBroadcast, Broadcasted, Replaced:
			next.Misses++
			if next.Misses >= t.cfg.DropAfter {
				next.State = Dropped
			}
		case Dropped:
			return cur, nil
		default:
			return refuse(Dropped, "a mined transaction is not missing")
		}
	default:
		return refuse(0, "unknown observation")
	}
	// A successful transaction seen already final passes through CONFIRMED
	// (commit publishes both steps).
	target := next.State
	if target == Finalized && cur.State != Confirmed {
		target = Confirmed
	}
	if target != cur.State && !CanTransition(cur.State, target) {
		return refuse(next.State, "")
	}
	return t.commit(e, next)
}

// replacedFinal marks a replaced transaction final once the chain has
// grown Finality blocks past the observation of the replacement (the
// replacing transaction itself may be unknown, so its own depth is not).
func (t *TxTracker) replacedFinal(e *trackedTx, next *TxInfo) {
	if next.Head+1 >= e.replacedAt+t.cfg.Finality {
		next.Final = true
	}
}

func sameBlock(a, b *Receipt) bool {
	return a != nil && b != nil && a.BlockNumber == b.BlockNumber && Equal(a.BlockHash, b.BlockHash)
}

// count sets the confirmations of a mined transaction from its receipt and
// head, and finality.
func (t *TxTracker) count(i *TxInfo) {
	if i.Receipt == nil {
		return
	}
	i.Confirmations = 0
	if i.Head >= i.Receipt.BlockNumber {
		i.Confirmations = i.Head - i.Receipt.BlockNumber + 1
	}
	if i.Confirmations >= t.cfg.Finality {
		if i.State == Confirmed {
			i.State = Finalized
		}
		i.Final = true
	}
}

// commit stores next and publishes the change if there is one. When a
// successful transaction is first seen at or beyond finality, the
// table-required CONFIRMED(n) step is published first, immediately
// followed by FINALIZED.
func (t *TxTracker) commit(e *trackedTx, next TxInfo) (TxInfo, error) {
	cur := e.info
	if sameInfo(cur, next) {
		e.info.Head = next.Head
		return e.info, nil
	}
	next.Updated = t.clk.Now().UnixNano()
	if next.State == Finalized && cur.State != Confirmed {
		if !CanTransition(cur.State, Confirmed) {
			return cur, &TxTransitionError{Hash: cur.Hash, From: cur.State, To: Finalized, Observation: ObsMined}
		}
		step := next
		step.State, step.Final = Confirmed, false
		e.info = step
		t.publish(e, cur.State)
		cur = step
	}
	e.info = next
	t.publish(e, cur.State)
	return next, nil
}

func sameInfo(a, b TxInfo) bool {
	sameReceipt := a.Receipt == nil && b.Receipt == nil ||
		sameBlock(a.Receipt, b.Receipt) && a.Receipt.Status == b.Receipt.Status
	return a.State == b.State && a.Confirmations == b.Confirmations && a.Final == b.Final &&
		a.Misses == b.Misses && Equal(a.ReplacedBy, b.ReplacedBy) && sameReceipt
}

// publish emits the change and wakes waiters. Called with t.mu held, so
// events of one tracker are published in order.
func (t *TxTracker) publish(e *trackedTx, from TxState) {
	close(e.changed)
	e.changed = make(chan struct{})
	if t.cfg.Publisher != nil {
		_ = operators.Publish(t.cfg.Publisher, TxEvents, TxEvent{From: from, To: e.info.State, Info: e.info})
	}
}

// Wait blocks until done(info) holds, ctx ends, or the transaction reaches
// an unsuccessful state (Failed, Reverted, Dropped, Replaced), which gives
// a [*TxOutcomeError]. The info returned is the latest seen.
func (t *TxTracker) Wait(ctx context.Context, hash BlockchainIdentifier, done func(TxInfo) bool) (TxInfo, error) {
	for {
		t.mu.Lock()
		e, ok := t.txs[hash]
		if !ok {
			t.mu.Unlock()
			return TxInfo{}, fmt.Errorf("%w: %v", ErrUnknownTx, hash)
		}
		info, ch := e.info, e.changed
		t.mu.Unlock()
		if done(info) {
			return info, nil
		}
		switch info.State {
		case Failed, Reverted, Dropped, Replaced:
			return info, &TxOutcomeError{Info: info}
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return info, fmt.Errorf("blockchain: waiting for tx %v (now %v): %w", hash, info.State, ctx.Err())
		}
	}
}

// WaitConfirmations waits until the transaction is mined successfully with
// at least n confirmations (or finalized).
func (t *TxTracker) WaitConfirmations(ctx context.Context, hash BlockchainIdentifier, n uint64) (TxInfo, error) {
	return t.Wait(ctx, hash, func(i TxInfo) bool {
		return i.State == Finalized || i.State == Confirmed && i.Confirmations >= n
	})
}
