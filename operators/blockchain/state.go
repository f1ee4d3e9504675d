package blockchain

import (
	"fmt"
	"strings"
)

// TxState is a tracked transaction's lifecycle state.
//
//	PENDING_BROADCAST → BROADCASTED → CONFIRMED(n) → FINALIZED
//	                 ↘ FAILED      ↘ REVERTED(n), DROPPED, REPLACED
//
// A reorg moves a CONFIRMED or REVERTED transaction back to BROADCASTED.
// FINALIZED and FAILED are terminal; REVERTED and REPLACED become terminal
// once final (see [TxInfo.Final]).
type TxState uint8

// Transaction states. The zero value is not a state.
const (
	// PendingBroadcast: signed and tracked, not yet accepted by a node.
	PendingBroadcast TxState = iota + 1
	// Broadcasted: accepted by a node, waiting in the mempool.
	Broadcasted
	// Confirmed: mined successfully, with fewer confirmations than the
	// network's finality.
	Confirmed
	// Finalized: mined successfully with at least the network's
	// confirmations. Terminal.
	Finalized
	// Failed: a node rejected the transaction (nonce too low,
	// underpriced, insufficient funds, invalid). Terminal.
	Failed
	// Reverted: mined, but execution failed (receipt status 0).
	Reverted
	// Dropped: no node knows it any more (no receipt, not in the mempool,
	// its nonce unused). It may still reappear, be rebroadcast, or be
	// replaced.
	Dropped
	// Replaced: another transaction with the same sender and nonce was
	// mined.
	Replaced
	numTxStates
)

var txStateNames = [numTxStates]string{
	PendingBroadcast: "PENDING_BROADCAST",
	Broadcasted:      "BROADCASTED",
	Confirmed:        "CONFIRMED",
	Finalized:        "FINALIZED",
	Failed:           "FAILED",
	Reverted:         "REVERTED",
	Dropped:          "DROPPED",
	Replaced:         "REPLACED",
}

// TxStates lists every state in declaration order.
func TxStates() []TxState {
	out := make([]TxState, 0, numTxStates-1)
	for s := PendingBroadcast; s < numTxStates; s++ {
		out = append(out, s)
	}
	return out
}

// String returns the state's name, e.g. "CONFIRMED".
func (s TxState) String() string {
	if s > 0 && s < numTxStates {
		return txStateNames[s]
	}
	return fmt.Sprintf("TxState(%d)", uint8(s))
}

// MarshalText implements encoding.TextMarshaler.
func (s TxState) MarshalText() ([]byte, error) {
	if s == 0 || s >= numTxStates {
		return nil, fmt.Errorf("blockchain: invalid tx state %d", uint8(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler (case-insensitive).
func (s *TxState) UnmarshalText(b []byte) error {
	for st := PendingBroadcast; st < numTxStates; st++ {
		if strings.EqualFold(string(b), txStateNames[st]) {
			*s = st
			return nil
		}
	}
	return fmt.Errorf("blockchain: unknown tx state %q (accepted: %s)", b, strings.Join(txStateNames[1:], ", "))
}

// IsMined reports whether the state means "in a block" (Confirmed,
// Finalized, Reverted).
func (s TxState) IsMined() bool { return s == Confirmed || s == Finalized || s == Reverted }

// IsTerminal reports whether the state can never change (Finalized,
// Failed). Reverted and Replaced transactions are terminal once final.
func (s TxState) IsTerminal() bool { return s == Finalized || s == Failed }

// txTransitions is THE transition table: txTransitions[from][to] is true
// when a transaction in state from may move to state to. A same-state entry
// allows an update in place (more confirmations, finality reached).
// Everything else is refused with a *TxTransitionError.
var txTransitions = [numTxStates][numTxStates]bool{
	PendingBroadcast: {
		// The broadcast result may be lost (timeout) while the node did
		// take the transaction: a poll then finds it mined, replaced or
		// gone.
		Broadcasted: true, Failed: true, Confirmed: true, Reverted: true, Replaced: true, Dropped: true,
	},
	Broadcasted: {
		Confirmed: true, Reverted: true, Replaced: true, Dropped: true,
	},
	Confirmed: {
		Confirmed:   true, // more confirmations
		Finalized:   true,
		Broadcasted: true, // reorg
	},
	Reverted: {
		Reverted:    true, // more confirmations, finality
		Broadcasted: true, // reorg
	},
	Dropped: {
		// Seen again or rebroadcast; mined after all; nonce reused.
		Broadcasted: true, Confirmed: true, Reverted: true, Replaced: true,
	},
	Replaced: {
		Replaced: true, // finality of the replacement
		// A reorg removed the replacement: ours is pending again, mined,
		// or unknown.
		Broadcasted: true, Confirmed: true, Reverted: true, Dropped: true,
	},
}

// CanTransition reports whether the transition table allows from → to.
func CanTransition(from, to TxState) bool {
	if from == 0 || from >= numTxStates || to == 0 || to >= numTxStates {
		return false
	}
	return txTransitions[from][to]
}

// TxTransitionError reports an observation the transition table refuses;
// nothing was changed.
type TxTransitionError struct {
	Hash        BlockchainIdentifier
	From, To    TxState
	Observation ObservationKind
	Reason      string
}

func (e *TxTransitionError) Error() string {
	msg := fmt.Sprintf("blockchain: tx %v: %v observation refused in state %v", e.Hash, e.Observation, e.From)
	if e.To != 0 {
		msg += fmt.Sprintf(" (transition to %v not allowed)", e.To)
	}
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return msg
}
