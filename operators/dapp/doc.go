// Package dapp is the DApp side of pype's operator model: [DAppOperator]
// (the specification's DAppOperator) talks to one smart contract through a
// [blockchain.BlockchainOperator] — read-only calls and tracked
// transactions encoded with a minimal Solidity ABI ([Method]: address,
// uint256, bool, string). [ERC20] adds typed balanceOf, transfer, approve,
// allowance, transferFrom, totalSupply, decimals and symbol, and
// [Transfers] decodes Transfer logs.
//
// Selectors are the first 4 bytes of keccak256 of the signature
// ([Selector]); [NewMethod] computes them for any signature with
// [blockchain.LegacyKeccak256] unless given another [blockchain.Keccak256].
// The standard ERC-20 selectors are also built in (and tested against the
// hash).
package dapp
