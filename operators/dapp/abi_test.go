package dapp_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/pype-go/pype/operators/blockchain"
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

func TestNewMethodNeedsKeccakForUnknownSignatures(t *testing.T) {
	if _, err := dapp.NewMethod("mint", []dapp.Type{dapp.Address, dapp.Uint256}, nil, false, nil); !errors.Is(err, blockchain.ErrNoKeccak) {
		t.Fatalf("%v", err)
	}
	fake := func(b []byte) [32]byte { return sha256.Sum256(b) } // stands in for Keccak-256
	m, err := dapp.NewMethod("setName", []dapp.Type{dapp.String}, nil, false, fake)
	if err != nil {
		t.Fatal(err)
	}
	h := fake([]byte("setName(string)"))
	if [4]byte(h[:4]) != m.Selector {
		t.Fatal("selector is not the hash prefix")
	}
	data, _ := m.Encode("hello")
	if len(data) != 4+32+32+32 || !strings.HasPrefix(string(data[4+64:]), "hello") || data[4+31] != 32 || data[4+63] != 5 {
		t.Fatalf("string encoding %x", data)
	}
	if _, err := dapp.NewMethod("", nil, nil, true, fake); err == nil {
		t.Fatal("empty name accepted")
	}
	if _, err := dapp.NewMethod("f", []dapp.Type{99}, nil, true, fake); err == nil {
		t.Fatal("bad type accepted")
	}
}
