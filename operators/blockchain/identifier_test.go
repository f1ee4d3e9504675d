package blockchain

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/pype-go/pype/operators"
)

func TestParseIdentifiers(t *testing.T) {
	const addr = "0x52908400098527886e0f7030069857d2e4169ee7"
	const hash = "0x88df016429689c079f3b2f6ad39fa052532c56795b733da78a91ebe6a713944b"
	tests := []struct {
		kind  IdentifierKind
		in    string
		ok    bool
		canon string
	}{
		{KindAddress, addr, true, addr},
		{KindAddress, strings.ToUpper(addr[:2]) + strings.ToUpper(addr[2:]), true, addr},
		{KindAddress, "0x" + strings.ToUpper(addr[2:]), true, addr},
		{KindAddress, "  " + addr + " ", true, addr},
		{KindAddress, addr[2:], false, ""},
		{KindAddress, addr + "00", false, ""},
		{KindAddress, "0x52908400098527886e0f7030069857d2e4169eez", false, ""},
		{KindAddress, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", false, ""}, // mixed case: needs Keccak
		{KindTxHash, hash, true, hash},
		{KindTxHash, strings.ToUpper(hash), true, hash},
		{KindTxHash, hash[:65], false, ""},
		{KindBlockHash, hash, true, hash},
		{KindBlockHash, "", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String()+" "+tt.in, func(t *testing.T) {
			id, err := ParseIdentifier(tt.kind, tt.in)
			if !tt.ok {
				var ie *IdentifierError
				if !errors.As(err, &ie) || ie.Kind != tt.kind {
					t.Fatalf("err = %v, want *IdentifierError", err)
				}
				if id != nil {
					t.Fatalf("identifier %v returned with an error", id)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if id.String() != tt.canon || id.Kind() != tt.kind || id.Family() != "evm" {
				t.Fatalf("%v %v %v", id, id.Kind(), id.Family())
			}
		})
	}
	if _, err := ParseAddress("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"); !errors.Is(err, ErrNoKeccak) {
		t.Fatalf("mixed case without Keccak: %v", err)
	}
}

func TestIdentifierEquality(t *testing.T) {
	h := testHash(1)
	tx, blk := TxHash(h), BlockHash(h)
	var a, b BlockchainIdentifier = tx, blk
	if Equal(a, b) || a == b {
		t.Fatal("a tx hash equals a block hash with the same bytes")
	}
	if !Equal(a, TxHash(h)) || !Equal(nil, nil) || Equal(a, nil) {
		t.Fatal("Equal")
	}
	m := map[BlockchainIdentifier]int{tx: 1, blk: 2}
	if len(m) != 2 {
		t.Fatal("map keys collide")
	}
	if !(Address{}).IsZero() || tx.IsZero() {
		t.Fatal("IsZero")
	}
	by := tx.Bytes()
	by[0]++
	if tx.Bytes()[0] == by[0] {
		t.Fatal("Bytes shares memory")
	}
}

func TestIdentifierJSON(t *testing.T) {
	type doc struct {
		From Address `json:"from"`
		Tx   TxHash  `json:"tx"`
	}
	in := doc{From: MustParseAddress("0x52908400098527886e0f7030069857d2e4169ee7"), Tx: testHash(3)}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out doc
	if err := json.Unmarshal(b, &out); err != nil || out != in {
		t.Fatalf("round trip: %s → %+v (%v)", b, out, err)
	}
	if err := json.Unmarshal([]byte(`{"from":"0x12"}`), &out); err == nil {
		t.Fatal("short address accepted")
	}
}

// fakeKeccak stands in for Keccak-256 (not among the dependencies) to test
// the EIP-55 mechanics: digit i is upper-cased when nibble i of the hash of
// the lower-case hex is ≥ 8.
func fakeKeccak(b []byte) [32]byte { return sha256.Sum256(b) }

func TestEIP55Mechanics(t *testing.T) {
	c := EVMCodec{Keccak: fakeKeccak}
	a := MustParseAddress("0x52908400098527886e0f7030069857d2e4169ee7")
	s := c.FormatAddress(a)
	h := fakeKeccak([]byte(strings.ToLower(s[2:])))
	for i, ch := range s[2:] {
		nib := h[i/2] >> 4
		if i%2 == 1 {
			nib = h[i/2] & 0xf
		}
		upper := ch >= 'A' && ch <= 'F'
		if ch >= 'a' && ch <= 'f' && nib >= 8 || upper && nib < 8 {
			t.Fatalf("digit %d %q with nibble %x", i, ch, nib)
		}
	}
	if back, err := c.ParseAddress(s); err != nil || back != a {
		t.Fatalf("checksummed parse: %v %v", back, err)
	}
	// Flip the case of one letter: checksum mismatch.
	bad := []byte(s)
	for i := 2; i < len(bad); i++ {
		if bad[i] >= 'a' && bad[i] <= 'f' {
			bad[i] -= 'a' - 'A'
			break
		}
		if bad[i] >= 'A' && bad[i] <= 'F' {
			bad[i] += 'a' - 'A'
			break
		}
	}
	var ie *IdentifierError
	if _, err := c.ParseAddress(string(bad)); !errors.As(err, &ie) || !strings.Contains(ie.Reason, "EIP-55") {
		t.Fatalf("bad checksum: %v", err)
	}
	if (EVMCodec{}).FormatAddress(a) != a.String() {
		t.Fatal("no-Keccak format is not lower case")
	}
}

func TestNetworkConfigValidate(t *testing.T) {
	good := NetworkConfig{Platform: operators.ChainPlatform("ethereum", "1"), RPCEndpoints: []string{"https://rpc.example/v1", "wss://rpc.example/ws"}, Confirmations: 12}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	if id, _ := good.EVMChainID(); id != 1 || good.Finality() != 12 || good.DropPolls() != 3 {
		t.Fatal("accessors")
	}
	bad := []NetworkConfig{
		{Platform: operators.ExchangePlatform("binance")},
		{Platform: operators.ChainPlatform("ethereum", "")},
		{Platform: operators.ChainPlatform("ethereum", "1"), RPCEndpoints: []string{"ftp://x"}},
		{Platform: operators.ChainPlatform("ethereum", "1"), RPCEndpoints: []string{"not a url"}},
		{Platform: operators.ChainPlatform("ethereum", "1"), Fees: FeeSettings{MaxFeePerGas: big.NewInt(0)}},
	}
	for i, n := range bad {
		if err := n.Validate(); err == nil {
			t.Errorf("bad config %d accepted", i)
		}
	}
	if (NetworkConfig{}).Finality() != 1 {
		t.Fatal("zero confirmations must mean 1")
	}
}

func TestFeeBumpAndCovers(t *testing.T) {
	f := Fee{GasLimit: 21000, MaxFeePerGas: big.NewInt(100), MaxPriorityFeePerGas: big.NewInt(3)}
	b := f.Bump(10)
	if b.MaxFeePerGas.Int64() != 110 || b.MaxPriorityFeePerGas.Int64() != 4 { // 3.3 rounds up
		t.Fatalf("bump %v %v", b.MaxFeePerGas, b.MaxPriorityFeePerGas)
	}
	if f.MaxFeePerGas.Int64() != 100 {
		t.Fatal("Bump changed the original")
	}
	if !b.Covers(f, 10) || f.Covers(f, 10) {
		t.Fatal("Covers")
	}
	if b.MaxCost().Int64() != 21000*110 {
		t.Fatalf("MaxCost %v", b.MaxCost())
	}
	legacy := Fee{Model: FeeLegacy, GasLimit: 1, GasPrice: big.NewInt(5)}
	if err := legacy.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (Fee{GasLimit: 1, MaxFeePerGas: big.NewInt(1), MaxPriorityFeePerGas: big.NewInt(2)}).Validate(); err == nil {
		t.Fatal("tip above max fee accepted")
	}
	if err := (Fee{MaxFeePerGas: big.NewInt(1), MaxPriorityFeePerGas: big.NewInt(1)}).Validate(); err == nil {
		t.Fatal("no gas limit accepted")
	}
}
