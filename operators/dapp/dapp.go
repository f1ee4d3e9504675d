package dapp

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/pype-go/pype/operators"
	"github.com/pype-go/pype/operators/blockchain"
)

// DAppOperator is a connector to one smart contract (the specification's
// DAppOperator), built on a [blockchain.BlockchainOperator]: read-only
// calls and state-changing transactions through the contract's ABI.
type DAppOperator interface {
	operators.Operator
	// Chain returns the blockchain operator the DApp runs on.
	Chain() blockchain.BlockchainOperator
	// Contract returns the contract's address.
	Contract() blockchain.BlockchainIdentifier
	// Call executes a read-only call of m and decodes its results.
	Call(ctx context.Context, m Method, args ...any) ([]any, error)
	// Transact sends a transaction calling m and tracks it.
	Transact(ctx context.Context, m Method, args ...any) (blockchain.TxInfo, error)
}

// Config configures a [Base].
type Config struct {
	// Name identifies the DApp ("usdc"); with the chain's identifier it
	// forms the operator's platform identifier ("ethereum.usdc").
	Name string
	// Contract is the contract address.
	Contract blockchain.Address
}

// Base implements [DAppOperator] for any contract. Embed it to add typed
// methods (see [ERC20]).
type Base struct {
	*operators.Base
	chain    blockchain.BlockchainOperator
	contract blockchain.Address
}

var _ DAppOperator = (*Base)(nil)

// NewBase returns a DApp operator for cfg on chain. Its platform is the
// chain's (same chain id and testnet flag) with identifier
// "<chain>.<name>"; it publishes on the chain operator's publisher, so
// transaction events of both arrive together.
func NewBase(cfg Config, chain blockchain.BlockchainOperator, opts ...operators.BaseOption) (*Base, error) {
	if chain == nil {
		return nil, errors.New("dapp: NewBase: nil chain operator")
	}
	if cfg.Contract.IsZero() {
		return nil, fmt.Errorf("dapp: %s: contract address is zero", cfg.Name)
	}
	name := strings.ToLower(strings.TrimSpace(cfg.Name))
	if name == "" {
		return nil, errors.New("dapp: Config.Name is empty (want e.g. \"usdc\")")
	}
	p := chain.Platform()
	p.Identifier += "." + name
	all := append([]operators.BaseOption{operators.WithPublisher(chain.Publishing())}, opts...)
	ob, err := operators.NewBase(operators.OperatorConfiguration{Platform: p}, all...)
	if err != nil {
		return nil, fmt.Errorf("dapp: %w", err)
	}
	return &Base{Base: ob, chain: chain, contract: cfg.Contract}, nil
}

// Chain returns the blockchain operator.
func (b *Base) Chain() blockchain.BlockchainOperator { return b.chain }

// Contract returns the contract address.
func (b *Base) Contract() blockchain.BlockchainIdentifier { return b.contract }

// Call executes a read-only call of m (from the chain operator's account,
// if any) and decodes the results.
func (b *Base) Call(ctx context.Context, m Method, args ...any) ([]any, error) {
	data, err := m.Encode(args...)
	if err != nil {
		return nil, err
	}
	out, err := b.chain.Call(ctx, blockchain.CallRequest{From: b.chain.Address(), To: b.contract, Data: data})
	if err != nil {
		return nil, fmt.Errorf("dapp: call %s on %v: %w", m.Signature(), b.contract, err)
	}
	return m.Decode(out)
}

// Request returns the transaction request calling m, for callers that set
// a value, fee or nonce before sending it with the chain operator.
func (b *Base) Request(m Method, args ...any) (blockchain.TxRequest, error) {
	data, err := m.Encode(args...)
	if err != nil {
		return blockchain.TxRequest{}, err
	}
	return blockchain.TxRequest{To: b.contract, Data: data}, nil
}

// Transact sends a transaction calling m through the chain operator (which
// estimates the fee, assigns the nonce and tracks it).
func (b *Base) Transact(ctx context.Context, m Method, args ...any) (blockchain.TxInfo, error) {
	if m.View {
		return blockchain.TxInfo{}, fmt.Errorf("dapp: %s is a view function; use Call", m.Signature())
	}
	req, err := b.Request(m, args...)
	if err != nil {
		return blockchain.TxInfo{}, err
	}
	info, err := b.chain.Send(ctx, req)
	if err != nil {
		return info, fmt.Errorf("dapp: transact %s on %v: %w", m.Signature(), b.contract, err)
	}
	return info, nil
}

// ERC20Methods are the ERC-20 functions.
type ERC20Methods struct {
	BalanceOf, Transfer, Approve, Allowance, TransferFrom Method
	TotalSupply, Decimals, Symbol, Name                   Method
}

// ERC20ABI returns the ERC-20 functions with their standard selectors.
func ERC20ABI() ERC20Methods {
	return ERC20Methods{
		BalanceOf:    MustMethod("balanceOf", []Type{Address}, []Type{Uint256}, true),
		Transfer:     MustMethod("transfer", []Type{Address, Uint256}, []Type{Bool}, false),
		Approve:      MustMethod("approve", []Type{Address, Uint256}, []Type{Bool}, false),
		Allowance:    MustMethod("allowance", []Type{Address, Address}, []Type{Uint256}, true),
		TransferFrom: MustMethod("transferFrom", []Type{Address, Address, Uint256}, []Type{Bool}, false),
		TotalSupply:  MustMethod("totalSupply", nil, []Type{Uint256}, true),
		Decimals:     MustMethod("decimals", nil, []Type{Uint256}, true),
		Symbol:       MustMethod("symbol", nil, []Type{String}, true),
		Name:         MustMethod("name", nil, []Type{String}, true),
	}
}

// TransferTopic is keccak256("Transfer(address,address,uint256)"), the
// first topic of ERC-20 Transfer logs.
func TransferTopic() [32]byte {
	return [32]byte{
		0xdd, 0xf2, 0x52, 0xad, 0x1b, 0xe2, 0xc8, 0x9b, 0x69, 0xc2, 0xb0, 0x68, 0xfc, 0x37, 0x8d, 0xaa,
		0x95, 0x2b, 0xa7, 0xf1, 0x63, 0xc4, 0xa1, 0x16, 0x28, 0xf5, 0x5a, 0x4d, 0xf5, 0x23, 0xb3, 0xef,
	}
}

// ERC20 is a [DAppOperator] for an ERC-20 token with typed methods.
type ERC20 struct {
	*Base
	abi ERC20Methods
}

// NewERC20 returns an ERC-20 operator for the token at cfg.Contract.
func NewERC20(cfg Config, chain blockchain.BlockchainOperator, opts ...operators.BaseOption) (*ERC20, error) {
	b, err := NewBase(cfg, chain, opts...)
	if err != nil {
		return nil, err
	}
	return &ERC20{Base: b, abi: ERC20ABI()}, nil
}

func (t *ERC20) callUint(ctx context.Context, m Method, args ...any) (*big.Int, error) {
	out, err := t.Call(ctx, m, args...)
	if err != nil {
		return nil, err
	}
	return out[0].(*big.Int), nil
}

// BalanceOf returns owner's token balance in base units.
func (t *ERC20) BalanceOf(ctx context.Context, owner blockchain.Address) (*big.Int, error) {
	return t.callUint(ctx, t.abi.BalanceOf, owner)
}

// Allowance returns how much spender may transfer from owner.
func (t *ERC20) Allowance(ctx context.Context, owner, spender blockchain.Address) (*big.Int, error) {
	return t.callUint(ctx, t.abi.Allowance, owner, spender)
}

// TotalSupply returns the token's total supply.
func (t *ERC20) TotalSupply(ctx context.Context) (*big.Int, error) {
	return t.callUint(ctx, t.abi.TotalSupply)
}

// Decimals returns the token's decimals.
func (t *ERC20) Decimals(ctx context.Context) (uint8, error) {
	v, err := t.callUint(ctx, t.abi.Decimals)
	if err != nil {
		return 0, err
	}
	if !v.IsUint64() || v.Uint64() > 255 {
		return 0, &DecodeError{Method: "decimals()", Reason: fmt.Sprintf("%v does not fit uint8", v)}
	}
	return uint8(v.Uint64()), nil
}

// Symbol returns the token's symbol.
func (t *ERC20) Symbol(ctx context.Context) (string, error) {
	out, err := t.Call(ctx, t.abi.Symbol)
	if err != nil {
		return "", err
	}
	return out[0].(string), nil
}

// Transfer sends amount (base units) to to from the chain operator's
// account.
func (t *ERC20) Transfer(ctx context.Context, to blockchain.Address, amount *big.Int) (blockchain.TxInfo, error) {
	return t.Transact(ctx, t.abi.Transfer, to, amount)
}

// Approve lets spender transfer up to amount from the chain operator's
// account.
func (t *ERC20) Approve(ctx context.Context, spender blockchain.Address, amount *big.Int) (blockchain.TxInfo, error) {
	return t.Transact(ctx, t.abi.Approve, spender, amount)
}

// TransferFrom moves amount from from to to under an allowance granted to
// the chain operator's account.
func (t *ERC20) TransferFrom(ctx context.Context, from, to blockchain.Address, amount *big.Int) (blockchain.TxInfo, error) {
	return t.Transact(ctx, t.abi.TransferFrom, from, to, amount)
}

// TransferEvent is a decoded ERC-20 Transfer log.
type TransferEvent struct {
	Token    blockchain.BlockchainIdentifier
	From, To blockchain.Address
	Value    *big.Int
}

// Transfers decodes the ERC-20 Transfer logs of a receipt.
func Transfers(r *blockchain.Receipt) []TransferEvent {
	if r == nil {
		return nil
	}
	var out []TransferEvent
	topic := TransferTopic()
	for _, l := range r.Logs {
		if len(l.Topics) != 3 || l.Topics[0] != topic || len(l.Data) != 32 {
			continue
		}
		out = append(out, TransferEvent{
			Token: l.Address,
			From:  blockchain.Address(l.Topics[1][12:]),
			To:    blockchain.Address(l.Topics[2][12:]),
			Value: new(big.Int).SetBytes(l.Data),
		})
	}
	return out
}
