package blockchain

import (
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strconv"
	"time"

	"github.com/pype-go/pype/operators"
)

// FeeModel says how a transaction pays for gas.
type FeeModel uint8

// Fee models.
const (
	// FeeEIP1559 pays max fee and max priority fee per gas (type-2).
	FeeEIP1559 FeeModel = iota
	// FeeLegacy pays one gas price (type-0).
	FeeLegacy
)

// String returns "eip1559" or "legacy".
func (m FeeModel) String() string {
	if m == FeeLegacy {
		return "legacy"
	}
	return "eip1559"
}

// Currency is a chain's native currency.
type Currency struct {
	Symbol   string // "ETH"
	Decimals int    // 18
}

// FeeSettings are a network's fee policy.
type FeeSettings struct {
	// Model is the fee model; the zero value is EIP-1559.
	Model FeeModel
	// PriorityFee is the tip per gas offered when the node suggests none
	// (nil: the node's suggestion only).
	PriorityFee *big.Int
	// BaseFeeMultiplierPercent scales the current base fee to get the max
	// fee per gas (EIP-1559); 0 means 200 (twice the base fee, which
	// survives six full blocks of base-fee growth).
	BaseFeeMultiplierPercent int
	// MaxFeePerGas caps what any transaction may pay per gas (nil: no
	// cap). Estimates above it fail with [*FeeCapError].
	MaxFeePerGas *big.Int
	// GasLimitMarginPercent is added to gas estimates; 0 means 20.
	GasLimitMarginPercent int
	// ReplacementBumpPercent is the minimum fee increase of a replacement
	// transaction (same sender and nonce); 0 means 10 (geth's rule).
	ReplacementBumpPercent int
}

func (f FeeSettings) baseMultiplier() int {
	if f.BaseFeeMultiplierPercent <= 0 {
		return 200
	}
	return f.BaseFeeMultiplierPercent
}

func (f FeeSettings) gasMargin() int {
	if f.GasLimitMarginPercent <= 0 {
		return 20
	}
	return f.GasLimitMarginPercent
}

// ReplacementBump returns the minimum replacement bump in percent.
func (f FeeSettings) ReplacementBump() int {
	if f.ReplacementBumpPercent <= 0 {
		return 10
	}
	return f.ReplacementBumpPercent
}

// NetworkConfig describes one chain network (the specification's network
// configuration model).
type NetworkConfig struct {
	// Platform identifies the network; its ChainID is the chain id ("1"
	// for Ethereum mainnet) and Testnet marks test networks.
	Platform operators.Platform
	// RPCEndpoints are the node URLs (http, https, ws or wss), tried in
	// order.
	RPCEndpoints []string
	// Confirmations is the number of confirmations (the including block
	// counts as one) after which a transaction is final. 0 means 1.
	Confirmations uint64
	// BlockTime is the expected block interval (informative; used to
	// pace polling).
	BlockTime time.Duration
	// DropAfter is how many consecutive polls may find a broadcast
	// transaction unknown to the node (no receipt, not in the mempool,
	// nonce unused) before it is declared dropped. 0 means 3.
	DropAfter int
	// Native is the native currency.
	Native Currency
	// Fees is the fee policy.
	Fees FeeSettings
}

// Finality returns the number of confirmations to finality (at least 1).
func (n NetworkConfig) Finality() uint64 { return max(n.Confirmations, 1) }

// DropPolls returns DropAfter with its default.
func (n NetworkConfig) DropPolls() int {
	if n.DropAfter <= 0 {
		return 3
	}
	return n.DropAfter
}

// EVMChainID returns the platform's chain id as a number.
func (n NetworkConfig) EVMChainID() (uint64, error) {
	id, err := strconv.ParseUint(n.Platform.ChainID, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("blockchain: chain id %q is not a decimal number", n.Platform.ChainID)
	}
	return id, nil
}

// Validate checks the configuration.
func (n NetworkConfig) Validate() error {
	if err := n.Platform.Validate(); err != nil {
		return fmt.Errorf("blockchain: network: %w", err)
	}
	if n.Platform.Kind != operators.Blockchain {
		return fmt.Errorf("blockchain: network %q has kind %v (want blockchain)", n.Platform.Identifier, n.Platform.Kind)
	}
	if n.Platform.ChainID == "" {
		return fmt.Errorf("blockchain: network %q has no chain id", n.Platform.Identifier)
	}
	for _, ep := range n.RPCEndpoints {
		u, err := url.Parse(ep)
		if err != nil || u.Host == "" {
			return fmt.Errorf("blockchain: network %q: RPC endpoint %q is not a URL (want e.g. https://host/path)", n.Platform.Identifier, ep)
		}
		switch u.Scheme {
		case "http", "https", "ws", "wss":
		default:
			return fmt.Errorf("blockchain: network %q: RPC endpoint %q has scheme %q (accepted: http, https, ws, wss)", n.Platform.Identifier, ep, u.Scheme)
		}
	}
	if n.Fees.MaxFeePerGas != nil && n.Fees.MaxFeePerGas.Sign() <= 0 {
		return fmt.Errorf("blockchain: network %q: fee cap %s must be positive", n.Platform.Identifier, n.Fees.MaxFeePerGas)
	}
	return nil
}

// Fee is what a transaction offers to pay.
type Fee struct {
	Model    FeeModel
	GasLimit uint64
	// GasPrice is the legacy price per gas.
	GasPrice *big.Int
	// MaxFeePerGas and MaxPriorityFeePerGas are the EIP-1559 prices.
	MaxFeePerGas         *big.Int
	MaxPriorityFeePerGas *big.Int
}

// PricePerGas returns the highest price per gas the fee may pay (the gas
// price, or the max fee).
func (f Fee) PricePerGas() *big.Int {
	if f.Model == FeeLegacy {
		return orZero(f.GasPrice)
	}
	return orZero(f.MaxFeePerGas)
}

// MaxCost returns GasLimit × PricePerGas: the most the fee may cost.
func (f Fee) MaxCost() *big.Int {
	return new(big.Int).Mul(new(big.Int).SetUint64(f.GasLimit), f.PricePerGas())
}

// Bump returns f with every price raised by percent (rounded up), as a
// replacement transaction needs.
func (f Fee) Bump(percent int) Fee {
	up := func(x *big.Int) *big.Int {
		if x == nil {
			return nil
		}
		n := new(big.Int).Mul(x, big.NewInt(int64(100+percent)))
		n.Add(n, big.NewInt(99))
		return n.Quo(n, big.NewInt(100))
	}
	f.GasPrice = up(f.GasPrice)
	f.MaxFeePerGas = up(f.MaxFeePerGas)
	f.MaxPriorityFeePerGas = up(f.MaxPriorityFeePerGas)
	return f
}

// Covers reports whether f's prices are each at least percent above old's
// (the replacement rule).
func (f Fee) Covers(old Fee, percent int) bool {
	need := old.Bump(percent)
	ge := func(a, b *big.Int) bool { return b == nil || a != nil && a.Cmp(b) >= 0 }
	return ge(f.GasPrice, need.GasPrice) && ge(f.MaxFeePerGas, need.MaxFeePerGas) && ge(f.MaxPriorityFeePerGas, need.MaxPriorityFeePerGas)
}

// Validate checks that the prices the model needs are set and consistent.
func (f Fee) Validate() error {
	pos := func(x *big.Int) bool { return x != nil && x.Sign() >= 0 }
	switch f.Model {
	case FeeLegacy:
		if !pos(f.GasPrice) {
			return errors.New("blockchain: legacy fee needs a non-negative GasPrice")
		}
	default:
		if !pos(f.MaxFeePerGas) || !pos(f.MaxPriorityFeePerGas) {
			return errors.New("blockchain: EIP-1559 fee needs non-negative MaxFeePerGas and MaxPriorityFeePerGas")
		}
		if f.MaxPriorityFeePerGas.Cmp(f.MaxFeePerGas) > 0 {
			return fmt.Errorf("blockchain: max priority fee %s exceeds max fee %s", f.MaxPriorityFeePerGas, f.MaxFeePerGas)
		}
	}
	if f.GasLimit == 0 {
		return errors.New("blockchain: fee has no gas limit")
	}
	return nil
}

func (f Fee) clone() Fee {
	f.GasPrice = cloneInt(f.GasPrice)
	f.MaxFeePerGas = cloneInt(f.MaxFeePerGas)
	f.MaxPriorityFeePerGas = cloneInt(f.MaxPriorityFeePerGas)
	return f
}

// FeeCapError reports a fee above the network's configured cap.
type FeeCapError struct {
	Wanted, Cap *big.Int
}

func (e *FeeCapError) Error() string {
	return fmt.Sprintf("blockchain: fee of %s per gas exceeds the configured cap of %s", e.Wanted, e.Cap)
}

// FeeSuggestion is a node's view of current prices.
type FeeSuggestion struct {
	BaseFee     *big.Int // current base fee (EIP-1559), nil on legacy chains
	GasPrice    *big.Int // suggested legacy gas price
	PriorityFee *big.Int // suggested tip
}

// CallRequest is a message call (read-only eth_call, or the basis of gas
// estimation).
type CallRequest struct {
	From  BlockchainIdentifier // may be nil for calls
	To    BlockchainIdentifier // nil for contract creation
	Value *big.Int
	Data  []byte
}

// TxRequest is what a caller wants to send; the operator fills in what is
// missing when it builds the transaction.
type TxRequest struct {
	From  BlockchainIdentifier // nil: the operator's signer
	To    BlockchainIdentifier // nil: contract creation
	Value *big.Int             // nil: zero
	Data  []byte
	// Nonce, when set, is used as is (replacements); otherwise the nonce
	// manager assigns the next one.
	Nonce *uint64
	// Fee, when set, is used as is; otherwise it is estimated.
	Fee *Fee
}

// Transaction is a built, unsigned transaction.
type Transaction struct {
	ChainID string
	From    BlockchainIdentifier
	To      BlockchainIdentifier // nil: contract creation
	Nonce   uint64
	Value   *big.Int
	Data    []byte
	Fee     Fee
}

// Clone returns a deep copy.
func (t Transaction) Clone() Transaction {
	t.Value = cloneInt(t.Value)
	t.Data = append([]byte(nil), t.Data...)
	t.Fee = t.Fee.clone()
	return t
}

// SignedTransaction is a signed transaction ready to broadcast.
type SignedTransaction struct {
	Tx   Transaction
	Hash BlockchainIdentifier // the transaction hash
	Raw  []byte               // the signed wire encoding
}

// ReceiptStatus is a mined transaction's outcome.
type ReceiptStatus uint8

// Receipt statuses.
const (
	StatusFailed  ReceiptStatus = 0 // reverted
	StatusSuccess ReceiptStatus = 1
)

// Log is an event log emitted by a transaction.
type Log struct {
	Address BlockchainIdentifier
	Topics  [][32]byte
	Data    []byte
	Index   uint
}

// Receipt is a mined transaction's receipt.
type Receipt struct {
	TxHash            BlockchainIdentifier
	BlockHash         BlockchainIdentifier
	BlockNumber       uint64
	Status            ReceiptStatus
	GasUsed           uint64
	EffectiveGasPrice *big.Int
	Logs              []Log
	// RevertReason is the decoded revert message when the node gives one.
	RevertReason string
}

// Fee returns GasUsed × EffectiveGasPrice.
func (r *Receipt) Fee() *big.Int {
	return new(big.Int).Mul(new(big.Int).SetUint64(r.GasUsed), orZero(r.EffectiveGasPrice))
}

func (r *Receipt) clone() *Receipt {
	if r == nil {
		return nil
	}
	c := *r
	c.EffectiveGasPrice = cloneInt(r.EffectiveGasPrice)
	c.Logs = append([]Log(nil), r.Logs...)
	return &c
}

// cloneInt copies x (nil stays nil).
func cloneInt(x *big.Int) *big.Int {
	if x == nil {
		return nil
	}
	return new(big.Int).Set(x)
}

// orZero copies x, or returns a new zero for nil.
func orZero(x *big.Int) *big.Int {
	if x == nil {
		return new(big.Int)
	}
	return new(big.Int).Set(x)
}
