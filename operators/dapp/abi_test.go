package dapp_test

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/pype-go/pype/operators/blockchain"
	"github.com/pype-go/pype/operators/blockchain/blockchaintest"
	"github.com/pype-go/pype/operators/dapp"
)

func TestEncodeTransfer(t *testing.T) {
	m := dapp.ERC20ABI().Transfer
	if m.Signature() != "transfer(address,uint256)" {
		t.Fatal(m.Signature())
	}
	to := blockchain.MustParseAddress("0x52908400098527886e0f7030069857d2e4169ee7")
	data, err := m.Encode(to, big.NewInt(1_000_000))
	if err != nil {
		t.Fatal(err)
	}
	want := "a9059cbb" +
		"00000000000000000000000052908400098527886e0f7030069857d2e4169ee7" +
		"00000000000000000000000000000000000000000000000000000000000f4240"
	if hex.EncodeToString(data) != want {
		t.Fatalf("calldata\n got %x\nwant %s", data, want)
	}
	for _, m := range []dapp.Method{dapp.ERC20ABI().BalanceOf, dapp.ERC20ABI().Approve, dapp.ERC20ABI().Allowance, dapp.ERC20ABI().TransferFrom, dapp.ERC20ABI().TotalSupply, dapp.ERC20ABI().Decimals} {
		if m.Selector == [4]byte{} {
			t.Fatalf("%s has no selector", m.Signature())
		}
	}
}

func TestEncodeArgErrors(t *testing.T) {
	m := dapp.ERC20ABI().Transfer
	to := blockchain.Address{1}
	neg := big.NewInt(-1)
	huge := new(big.Int).Lsh(big.NewInt(1), 256)
	cases := []struct {
		name string
		args []any
	}{
		{"too few", []any{to}},
		{"wrong address type", []any{"0x01", big.NewInt(1)}},
		{"negative", []any{to, neg}},
		{"too large", []any{to, huge}},
		{"float", []any{to, 1.5}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := m.Encode(c.args...); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	var ae *dapp.ArgError
	if _, err := m.Encode(to, neg); !errors.As(err, &ae) || ae.Index != 1 {
		t.Fatalf("%v", err)
	}
	if v, err := m.Encode(to, uint64(7)); err != nil || v[len(v)-1] != 7 {
		t.Fatalf("uint64 arg: %v", err)
	}
}

func TestDecode(t *testing.T) {
	m := dapp.MustMethod("symbol", nil, []dapp.Type{dapp.String}, true)
	raw, _ := hex.DecodeString(
		"0000000000000000000000000000000000000000000000000000000000000020" +
			"0000000000000000000000000000000000000000000000000000000000000004" +
			"5553444300000000000000000000000000000000000000000000000000000000")
	out, err := m.Decode(raw)
	if err != nil || out[0] != "USDC" {
		t.Fatalf("%v %v", out, err)
	}
	if _, err := m.Decode(raw[:40]); err == nil {
		t.Fatal("truncated string accepted")
	}
	b := dapp.MustMethod("transfer", []dapp.Type{dapp.Address, dapp.Uint256}, []dapp.Type{dapp.Bool}, false)
	one := make([]byte, 32)
	one[31] = 1
	if out, err := b.Decode(one); err != nil || out[0] != true {
		t.Fatalf("%v %v", out, err)
	}
	two := make([]byte, 32)
	two[31] = 2
	var de *dapp.DecodeError
	if _, err := b.Decode(two); !errors.As(err, &de) {
		t.Fatalf("bool 2: %v", err)
	}
	if _, err := b.Decode(nil); !errors.As(err, &de) {
		t.Fatalf("empty: %v", err)
	}
}

func TestERC20SelectorsMatchKeccak(t *testing.T) {
	abi := dapp.ERC20ABI()
	tests := []struct {
		m    dapp.Method
		sig  string
		want string
	}{
		{abi.Transfer, "transfer(address,uint256)", "a9059cbb"},
		{abi.BalanceOf, "balanceOf(address)", "70a08231"},
		{abi.Approve, "approve(address,uint256)", "095ea7b3"},
		{abi.Allowance, "allowance(address,address)", "dd62ed3e"},
		{abi.TransferFrom, "transferFrom(address,address,uint256)", "23b872dd"},
		{abi.TotalSupply, "totalSupply()", "18160ddd"},
		{abi.Decimals, "decimals()", "313ce567"},
		{abi.Symbol, "symbol()", "95d89b41"},
		{abi.Name, "name()", "06fdde03"},
	}
	for _, tt := range tests {
		if tt.m.Signature() != tt.sig {
			t.Fatalf("signature %s, want %s", tt.m.Signature(), tt.sig)
		}
		// Built in (the table NewMethod uses without a hash) …
		if got := hex.EncodeToString(tt.m.Selector[:]); got != tt.want {
			t.Errorf("built-in %s = %s, want %s", tt.sig, got, tt.want)
		}
		// … and computed, through Selector and through NewMethod with an
		// explicit hash (which skips the table).
		if got := dapp.Selector(tt.sig, nil); got != tt.m.Selector {
			t.Errorf("keccak %s = %x, built in %x", tt.sig, got, tt.m.Selector)
		}
		computed, err := dapp.NewMethod(tt.m.Name, tt.m.Inputs, tt.m.Outputs, tt.m.View, blockchain.LegacyKeccak256)
		if err != nil || computed.Selector != tt.m.Selector {
			t.Errorf("NewMethod %s with LegacyKeccak256 = %x (%v), want %x", tt.sig, computed.Selector, err, tt.m.Selector)
		}
	}
}

func TestEventTopicsMatchKeccak(t *testing.T) {
	if dapp.TransferTopic() != blockchain.LegacyKeccak256([]byte("Transfer(address,address,uint256)")) {
		t.Error("dapp.TransferTopic")
	}
	// The ledger's ERC-20 double carries its own constants.
	if blockchaintest.TransferTopic != blockchain.LegacyKeccak256([]byte("Transfer(address,address,uint256)")) {
		t.Error("blockchaintest.TransferTopic")
	}
	if blockchaintest.ApprovalTopic != blockchain.LegacyKeccak256([]byte("Approval(address,address,uint256)")) {
		t.Error("blockchaintest.ApprovalTopic")
	}
}

func TestNewMethodAnySignature(t *testing.T) {
	// Selectors known from deployed contracts.
	tests := []struct {
		name   string
		inputs []dapp.Type
		want   string
	}{
		{"mint", []dapp.Type{dapp.Address, dapp.Uint256}, "40c10f19"},
		{"burn", []dapp.Type{dapp.Uint256}, "42966c68"},
		{"owner", nil, "8da5cb5b"},
		{"increaseAllowance", []dapp.Type{dapp.Address, dapp.Uint256}, "39509351"},
	}
	for _, tt := range tests {
		m, err := dapp.NewMethod(tt.name, tt.inputs, nil, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(m.Selector[:]); got != tt.want {
			t.Errorf("%s = %s, want %s", m.Signature(), got, tt.want)
		}
	}
	m, err := dapp.NewMethod("setName", []dapp.Type{dapp.String}, nil, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := blockchain.LegacyKeccak256([]byte("setName(string)"))
	if [4]byte(h[:4]) != m.Selector {
		t.Fatal("selector is not the hash prefix")
	}
	data, _ := m.Encode("hello")
	if len(data) != 4+32+32+32 || !strings.HasPrefix(string(data[4+64:]), "hello") || data[4+31] != 32 || data[4+63] != 5 {
		t.Fatalf("string encoding %x", data)
	}
	if _, err := dapp.NewMethod("", nil, nil, true, nil); err == nil {
		t.Fatal("empty name accepted")
	}
	if _, err := dapp.NewMethod("f", []dapp.Type{99}, nil, true, nil); err == nil {
		t.Fatal("bad type accepted")
	}
}

// The hash stays pluggable: a given Keccak is used, even for the built-in
// signatures.
func TestNewMethodKeccakHook(t *testing.T) {
	var hashed []string
	hook := func(b []byte) [32]byte {
		hashed = append(hashed, string(b))
		return [32]byte{0xde, 0xad, 0xbe, 0xef}
	}
	for _, name := range []string{"transfer", "mint"} {
		m, err := dapp.NewMethod(name, []dapp.Type{dapp.Address, dapp.Uint256}, []dapp.Type{dapp.Bool}, false, hook)
		if err != nil || m.Selector != [4]byte{0xde, 0xad, 0xbe, 0xef} {
			t.Fatalf("%s: %x %v", name, m.Selector, err)
		}
	}
	if strings.Join(hashed, " ") != "transfer(address,uint256) mint(address,uint256)" {
		t.Fatalf("hashed %q", hashed)
	}
	if dapp.Selector("x()", hook) != [4]byte{0xde, 0xad, 0xbe, 0xef} {
		t.Fatal("Selector ignores the hook")
	}
}

func BenchmarkNewMethodComputed(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dapp.NewMethod("mint", []dapp.Type{dapp.Address, dapp.Uint256}, nil, false, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func ExampleSelector() {
	fmt.Printf("%x\n", dapp.Selector("transfer(address,uint256)", nil))
	m, _ := dapp.NewMethod("mint", []dapp.Type{dapp.Address, dapp.Uint256}, nil, false, nil)
	fmt.Printf("%s %x\n", m.Signature(), m.Selector)
	// Output:
	// a9059cbb
	// mint(address,uint256) 40c10f19
}
