package blockchaintest

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math/big"

	"github.com/pype-go/pype/operators/blockchain"
)

// ERC-20 function selectors (the first 4 bytes of keccak256 of the
// signature) and the Transfer event topic, as published in EIP-20.
var (
	selBalanceOf    = mustHex("70a08231") // balanceOf(address)
	selTransfer     = mustHex("a9059cbb") // transfer(address,uint256)
	selApprove      = mustHex("095ea7b3") // approve(address,uint256)
	selAllowance    = mustHex("dd62ed3e") // allowance(address,address)
	selTransferFrom = mustHex("23b872dd") // transferFrom(address,address,uint256)
	selTotalSupply  = mustHex("18160ddd") // totalSupply()
	selDecimals     = mustHex("313ce567") // decimals()
	selSymbol       = mustHex("95d89b41") // symbol()
	// TransferTopic is keccak256("Transfer(address,address,uint256)").
	TransferTopic = [32]byte(mustHex("ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"))
	// ApprovalTopic is keccak256("Approval(address,address,uint256)").
	ApprovalTopic = [32]byte(mustHex("8c5be1e5ebec7d5bd14f71427d1e84f3dd0314c0f7b2291e5b200ac8c7c3b925"))
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// Gas charged by the ERC-20 double on top of the intrinsic gas.
const (
	ERC20ReadGas  = 2_600
	ERC20WriteGas = 30_000
)

// ERC20 is an ERC-20 token for the [Ledger], decoding the standard ABI
// independently of pype's encoder. Transfers beyond the balance or
// allowance revert, like OpenZeppelin's implementation.
type ERC20 struct {
	Symbol     string
	Decimals   uint8
	supply     *big.Int
	balances   map[blockchain.Address]*big.Int
	allowances map[[2]blockchain.Address]*big.Int
}

// NewERC20 returns a token whose whole supply belongs to owner.
func NewERC20(symbol string, decimals uint8, owner blockchain.Address, supply *big.Int) *ERC20 {
	t := &ERC20{Symbol: symbol, Decimals: decimals, supply: new(big.Int).Set(supply),
		balances: map[blockchain.Address]*big.Int{}, allowances: map[[2]blockchain.Address]*big.Int{}}
	t.balances[owner] = new(big.Int).Set(supply)
	return t
}

// BalanceOf returns a's token balance.
func (t *ERC20) BalanceOf(a blockchain.Address) *big.Int {
	if v := t.balances[a]; v != nil {
		return new(big.Int).Set(v)
	}
	return new(big.Int)
}

// Clone implements [Contract].
func (t *ERC20) Clone() Contract {
	c := *t
	c.supply = new(big.Int).Set(t.supply)
	c.balances = make(map[blockchain.Address]*big.Int, len(t.balances))
	for k, v := range t.balances {
		c.balances[k] = new(big.Int).Set(v)
	}
	c.allowances = make(map[[2]blockchain.Address]*big.Int, len(t.allowances))
	for k, v := range t.allowances {
		c.allowances[k] = new(big.Int).Set(v)
	}
	return &c
}

func word(b []byte, i int) ([]byte, error) {
	if len(b) < 32*(i+1) {
		return nil, fmt.Errorf("call data too short for argument %d", i)
	}
	return b[32*i : 32*(i+1)], nil
}

func argAddress(b []byte, i int) (blockchain.Address, error) {
	w, err := word(b, i)
	if err != nil {
		return blockchain.Address{}, err
	}
	if !bytes.Equal(w[:12], make([]byte, 12)) {
		return blockchain.Address{}, fmt.Errorf("argument %d is not an address (dirty high bytes)", i)
	}
	return blockchain.Address(w[12:]), nil
}

func argUint(b []byte, i int) (*big.Int, error) {
	w, err := word(b, i)
	if err != nil {
		return nil, err
	}
	return new(big.Int).SetBytes(w), nil
}

func encUint(x *big.Int) []byte {
	out := make([]byte, 32)
	return x.FillBytes(out)
}

func encAddressTopic(a blockchain.Address) [32]byte {
	var t [32]byte
	copy(t[12:], a[:])
	return t
}

// Execute implements [Contract].
func (t *ERC20) Execute(_ *State, c ContractCall) ([]byte, uint64, []blockchain.Log, error) {
	if len(c.Data) < 4 {
		return nil, 0, nil, fmt.Errorf("no function selector")
	}
	if c.Value != nil && c.Value.Sign() != 0 {
		return nil, 0, nil, fmt.Errorf("ERC20: not payable")
	}
	sel, args := c.Data[:4], c.Data[4:]
	switch {
	case bytes.Equal(sel, selBalanceOf):
		a, err := argAddress(args, 0)
		if err != nil {
			return nil, 0, nil, err
		}
		return encUint(t.BalanceOf(a)), ERC20ReadGas, nil, nil
	case bytes.Equal(sel, selTotalSupply):
		return encUint(t.supply), ERC20ReadGas, nil, nil
	case bytes.Equal(sel, selDecimals):
		return encUint(big.NewInt(int64(t.Decimals))), ERC20ReadGas, nil, nil
	case bytes.Equal(sel, selSymbol):
		out := encUint(big.NewInt(32))
		out = append(out, encUint(big.NewInt(int64(len(t.Symbol))))...)
		pad := make([]byte, (len(t.Symbol)+31)/32*32)
		copy(pad, t.Symbol)
		return append(out, pad...), ERC20ReadGas, nil, nil
	case bytes.Equal(sel, selAllowance):
		o, err := argAddress(args, 0)
		if err != nil {
			return nil, 0, nil, err
		}
		s, err := argAddress(args, 1)
		if err != nil {
			return nil, 0, nil, err
		}
		return encUint(t.allowance(o, s)), ERC20ReadGas, nil, nil
	case bytes.Equal(sel, selTransfer):
		to, err := argAddress(args, 0)
		if err != nil {
			return nil, 0, nil, err
		}
		v, err := argUint(args, 1)
		if err != nil {
			return nil, 0, nil, err
		}
		log, err := t.move(c.Self, c.From, to, v)
		if err != nil {
			return nil, ERC20WriteGas, nil, err
		}
		return encUint(big.NewInt(1)), ERC20WriteGas, []blockchain.Log{log}, nil
	case bytes.Equal(sel, selApprove):
		sp, err := argAddress(args, 0)
		if err != nil {
			return nil, 0, nil, err
		}
		v, err := argUint(args, 1)
		if err != nil {
			return nil, 0, nil, err
		}
		t.allowances[[2]blockchain.Address{c.From, sp}] = v
		log := blockchain.Log{Address: c.Self, Topics: [][32]byte{ApprovalTopic, encAddressTopic(c.From), encAddressTopic(sp)}, Data: encUint(v)}
		return encUint(big.NewInt(1)), ERC20WriteGas, []blockchain.Log{log}, nil
	case bytes.Equal(sel, selTransferFrom):
		from, err := argAddress(args, 0)
		if err != nil {
			return nil, 0, nil, err
		}
		to, err := argAddress(args, 1)
		if err != nil {
			return nil, 0, nil, err
		}
		v, err := argUint(args, 2)
		if err != nil {
			return nil, 0, nil, err
		}
		al := t.allowance(from, c.From)
		if al.Cmp(v) < 0 {
			return nil, ERC20WriteGas, nil, fmt.Errorf("ERC20: insufficient allowance")
		}
		log, err := t.move(c.Self, from, to, v)
		if err != nil {
			return nil, ERC20WriteGas, nil, err
		}
		t.allowances[[2]blockchain.Address{from, c.From}] = al.Sub(al, v)
		return encUint(big.NewInt(1)), ERC20WriteGas, []blockchain.Log{log}, nil
	}
	return nil, 0, nil, fmt.Errorf("unknown function selector 0x%x", sel)
}

func (t *ERC20) allowance(owner, spender blockchain.Address) *big.Int {
	if v := t.allowances[[2]blockchain.Address{owner, spender}]; v != nil {
		return new(big.Int).Set(v)
	}
	return new(big.Int)
}

func (t *ERC20) move(self, from, to blockchain.Address, v *big.Int) (blockchain.Log, error) {
	bal := t.BalanceOf(from)
	if bal.Cmp(v) < 0 {
		return blockchain.Log{}, fmt.Errorf("ERC20: transfer amount exceeds balance")
	}
	t.balances[from] = bal.Sub(bal, v)
	t.balances[to] = new(big.Int).Add(t.BalanceOf(to), v)
	return blockchain.Log{Address: self, Topics: [][32]byte{TransferTopic, encAddressTopic(from), encAddressTopic(to)}, Data: encUint(v)}, nil
}

// TokenBalance reads holder's balance of the ERC20 at token directly from
// the ledger's state (bypassing the ABI).
func (l *Ledger) TokenBalance(token, holder blockchain.Address) (*big.Int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.state.Contracts[token].(*ERC20)
	if !ok {
		return nil, fmt.Errorf("blockchaintest: no ERC20 at %v", token)
	}
	return c.BalanceOf(holder), nil
}
