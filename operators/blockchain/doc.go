// Package blockchain is the blockchain side of pype's operator model: the
// [BlockchainOperator] interface (build, estimate, sign, broadcast, track
// transactions, manage nonces), typed [BlockchainIdentifier]s, network and
// transaction models, a [NonceManager], and the [TxTracker] state machine
//
//	PENDING_BROADCAST → BROADCASTED → CONFIRMED(n) → FINALIZED
//	FAILED, REVERTED(n), DROPPED, REPLACED
//
// driven by observations and one explicit transition table, publishing
// every change losslessly on [TxEvents].
//
// [Base] implements BlockchainOperator on any [Chain] (a node API: JSON-RPC
// for EVM chains, the in-memory ledger of package blockchaintest in tests)
// and an optional [Signer].
//
// # Keccak-256
//
// EIP-55 address checksums and ABI selectors need Keccak-256, which is not
// among pype's dependencies yet. Identifiers therefore format as lower-case
// hex by default and a mixed-case address is only accepted through an
// [EVMCodec] given a [Keccak256] implementation; without one it is refused
// with [ErrNoKeccak] rather than accepted unverified.
package blockchain
