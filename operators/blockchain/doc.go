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
// # Keccak-256 and EIP-55
//
// [LegacyKeccak256] is Ethereum's Keccak-256 (golang.org/x/crypto/sha3).
// [ParseAddress] and the zero [EVMCodec] use it to verify EIP-55 checksums:
// all-lower- and all-upper-case addresses carry no checksum and are
// accepted; a mixed-case one must match, or the [*IdentifierError] wraps
// [ErrChecksum]. [Address.String] is lower-case hex; [Address.EIP55] and
// [EVMCodec.FormatAddress] give the checksummed form. The hash stays
// pluggable: [EVMCodec.Keccak] (and the keccak argument of
// dapp.NewMethod) take any [Keccak256], nil meaning LegacyKeccak256.
package blockchain
