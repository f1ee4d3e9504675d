package blockchain

import (
	"context"
	"errors"
	"fmt"
	"math/big"

	"github.com/pype-go/pype/operators"
)

// Chain is the node API a [BlockchainOperator] is built on (JSON-RPC for
// EVM chains; an in-memory ledger in tests). Implementations report
// definitive rejections of a transaction as [*RejectedError], an unknown
// transaction or receipt as [ErrNotFound], and a transaction the node
// already has as [ErrAlreadyKnown].
type Chain interface {
	NonceSource
	// ChainID returns the chain id the node serves.
	ChainID(ctx context.Context) (string, error)
	// BlockNumber returns the head block number.
	BlockNumber(ctx context.Context) (uint64, error)
	// Balance returns an account's native balance at the head.
	Balance(ctx context.Context, account BlockchainIdentifier) (*big.Int, error)
	// SuggestFees returns current fee levels.
	SuggestFees(ctx context.Context) (FeeSuggestion, error)
	// EstimateGas estimates the gas a call or transaction uses.
	EstimateGas(ctx context.Context, call CallRequest) (uint64, error)
	// Call executes a read-only message call at the head.
	Call(ctx context.Context, call CallRequest) ([]byte, error)
	// SendRawTransaction submits a signed transaction.
	SendRawTransaction(ctx context.Context, stx SignedTransaction) error
	// Receipt returns a mined transaction's receipt, or ErrNotFound.
	Receipt(ctx context.Context, hash BlockchainIdentifier) (*Receipt, error)
	// IsPending reports whether the node has the transaction in its
	// mempool.
	IsPending(ctx context.Context, hash BlockchainIdentifier) (bool, error)
}

// Signer signs transactions for one account.
type Signer interface {
	Address() BlockchainIdentifier
	SignTransaction(ctx context.Context, tx Transaction) (SignedTransaction, error)
}

// Errors reported by Chain implementations and the operator.
var (
	ErrNotFound     = errors.New("blockchain: not found")
	ErrAlreadyKnown = errors.New("blockchain: transaction already known")
	ErrNoSigner     = errors.New("blockchain: operator has no signer (read-only)")
)

// RejectReason says why a node rejected a transaction.
type RejectReason uint8

// Reject reasons.
const (
	RejectInvalid                RejectReason = iota // malformed, bad signature, wrong chain id
	RejectNonceTooLow                                // the nonce is already used
	RejectUnderpriced                                // fee below the node's minimum
	RejectReplacementUnderpriced                     // same nonce, fee bump too small
	RejectInsufficientFunds                          // balance below value + max fee
	RejectGasLimit                                   // gas limit above the block limit or below intrinsic gas
)

var rejectNames = [...]string{
	RejectInvalid:                "invalid transaction",
	RejectNonceTooLow:            "nonce too low",
	RejectUnderpriced:            "transaction underpriced",
	RejectReplacementUnderpriced: "replacement transaction underpriced",
	RejectInsufficientFunds:      "insufficient funds for gas * price + value",
	RejectGasLimit:               "gas limit out of range",
}

// String describes the reason.
func (r RejectReason) String() string {
	if int(r) < len(rejectNames) {
		return rejectNames[r]
	}
	return fmt.Sprintf("RejectReason(%d)", uint8(r))
}

// RejectedError is a node's definitive refusal of a transaction.
type RejectedError struct {
	Reason  RejectReason
	Message string // the node's own words
}

func (e *RejectedError) Error() string {
	if e.Message != "" {
		return fmt.Sprintf("blockchain: transaction rejected: %v: %s", e.Reason, e.Message)
	}
	return fmt.Sprintf("blockchain: transaction rejected: %v", e.Reason)
}

// UncertainBroadcastError is returned when submitting a transaction failed
// in a way that leaves its fate unknown (timeout, connection reset): it may
// or may not have reached the mempool. The transaction stays tracked in
// PendingBroadcast and polling settles it.
type UncertainBroadcastError struct {
	Hash BlockchainIdentifier
	Err  error
}

func (e *UncertainBroadcastError) Error() string {
	return fmt.Sprintf("blockchain: broadcast of %v uncertain: %v", e.Hash, e.Err)
}

func (e *UncertainBroadcastError) Unwrap() error { return e.Err }

// BlockchainOperator is a connector to one blockchain network (the
// specification's BlockchainOperator): read chain state, build, estimate,
// sign, broadcast and track transactions, manage nonces.
type BlockchainOperator interface {
	operators.Operator
	// Network returns the network configuration.
	Network() NetworkConfig
	// Address returns the signer's account (nil when read-only).
	Address() BlockchainIdentifier
	// BlockNumber returns the head block number.
	BlockNumber(ctx context.Context) (uint64, error)
	// Balance returns an account's native balance.
	Balance(ctx context.Context, account BlockchainIdentifier) (*big.Int, error)
	// Call executes a read-only message call.
	Call(ctx context.Context, call CallRequest) ([]byte, error)
	// EstimateFee returns the fee a transaction would offer.
	EstimateFee(ctx context.Context, req TxRequest) (Fee, error)
	// BuildTransaction fills in sender, nonce, fee and chain id.
	BuildTransaction(ctx context.Context, req TxRequest) (Transaction, error)
	// SignTransaction signs a built transaction.
	SignTransaction(ctx context.Context, tx Transaction) (SignedTransaction, error)
	// Broadcast submits a signed transaction and tracks it.
	Broadcast(ctx context.Context, stx SignedTransaction) (TxInfo, error)
	// Send builds, signs, broadcasts and tracks a transaction.
	Send(ctx context.Context, req TxRequest) (TxInfo, error)
	// Receipt returns a transaction's receipt, or ErrNotFound.
	Receipt(ctx context.Context, hash BlockchainIdentifier) (*Receipt, error)
	// WaitForConfirmations waits until the transaction is mined
	// successfully with n confirmations (the tracker is updated by Poll).
	WaitForConfirmations(ctx context.Context, hash BlockchainIdentifier, n uint64) (TxInfo, error)
	// Poll refreshes every tracked transaction from the chain.
	Poll(ctx context.Context) error
	// Nonces returns the nonce manager.
	Nonces() *NonceManager
	// Tracker returns the transaction tracker.
	Tracker() *TxTracker
}
