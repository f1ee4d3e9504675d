package blockchain

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"pgregory.net/rapid"

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
		{KindAddress, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", true, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"}, // EIP-55
		{KindAddress, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", false, ""},                                          // EIP-55, last letter re-cased
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

func TestLegacyKeccak256(t *testing.T) {
	long := strings.Repeat("a", 200) // more than one 136-byte block
	tests := []struct{ in, want string }{
		{"", "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"},
		{"abc", "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"},
		{"The quick brown fox jumps over the lazy dog", "4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15"},
		{"Transfer(address,address,uint256)", "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"},
	}
	for _, tt := range tests {
		if got := LegacyKeccak256([]byte(tt.in)); hex.EncodeToString(got[:]) != tt.want {
			t.Errorf("keccak256(%q) = %x, want %s", tt.in, got, tt.want)
		}
	}
	// Not NIST SHA3-256, whose empty-input hash is a7ffc6f8….
	if h := LegacyKeccak256(nil); h[0] == 0xa7 {
		t.Fatal("SHA3-256 padding")
	}
	// Input is not retained or modified; repeated calls agree.
	b := []byte(long)
	if LegacyKeccak256(b) != LegacyKeccak256([]byte(long)) || string(b) != long {
		t.Fatal("not deterministic")
	}
}

// EIP-55's own test vectors: all caps, all lower, and checksummed.
var eip55Vectors = []string{
	"0x52908400098527886E0F7030069857D2E4169EE7",
	"0x8617E340B3D01FA5F11F306F4090FD50E238070D",
	"0xde709f2102306220921060314715629080e2fb77",
	"0x27b1fdb04752bbc536007a920d24acb045561c26",
	"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
	"0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
	"0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
	"0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
}

// flipCase re-cases the i-th letter (a–f) of the hex digits of s, and
// reports false if there is none.
func flipCase(s string, i int) (string, bool) {
	b := []byte(s)
	n := 0
	for j := 2; j < len(b); j++ {
		if c := b[j] | 0x20; c < 'a' || c > 'f' {
			continue
		}
		if n == i {
			b[j] ^= 0x20
			return string(b), true
		}
		n++
	}
	return "", false
}

func TestEIP55Vectors(t *testing.T) {
	for _, v := range eip55Vectors {
		a, err := ParseAddress(v)
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		if a.String() != strings.ToLower(v) {
			t.Fatalf("%s parsed as %v", v, a)
		}
		mixed := strings.ToLower(v[2:]) != v[2:] && strings.ToUpper(v[2:]) != v[2:]
		if !mixed {
			continue
		}
		// The checksummed vectors are what formatting produces, from any
		// input case, through every entry point.
		for _, s := range []string{a.EIP55(), (EVMCodec{}).FormatAddress(a), (EVMCodec{Keccak: LegacyKeccak256}).FormatAddress(a)} {
			if s != v {
				t.Fatalf("format %v = %s, want %s", a, s, v)
			}
		}
		if b, err := (EVMCodec{}).ParseAddress(v); err != nil || b != a {
			t.Fatalf("zero codec: %v %v", b, err)
		}
		var fromJSON struct{ A Address }
		if err := json.Unmarshal([]byte(`{"A":"`+v+`"}`), &fromJSON); err != nil || fromJSON.A != a {
			t.Fatalf("UnmarshalText: %v %v", fromJSON.A, err)
		}
		// Re-casing any single letter breaks the checksum.
		for i := 0; ; i++ {
			bad, ok := flipCase(v, i)
			if !ok {
				break
			}
			_, err := ParseAddress(bad)
			var ie *IdentifierError
			if !errors.As(err, &ie) || ie.Kind != KindAddress || ie.Input != bad || !errors.Is(err, ErrChecksum) {
				t.Fatalf("%s accepted or wrong error: %v", bad, err)
			}
			// The error must not offer a valid-looking re-cased address.
			if strings.Count(err.Error(), "0x") != 1 {
				t.Fatalf("error suggests an address: %v", err)
			}
			if _, err := mustParseAddressErr(bad); err == nil {
				t.Fatalf("MustParseAddress(%s) did not panic", bad)
			}
		}
	}
	if _, err := ParseAddress("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"); err == nil || !strings.Contains(err.Error(), "EIP-55 checksum mismatch") {
		t.Fatalf("message: %v", err)
	}
	if errors.Is(func() error { _, err := ParseAddress("0x12"); return err }(), ErrChecksum) {
		t.Fatal("a short address is not a checksum error")
	}
}

// mustParseAddressErr calls MustParseAddress and turns its panic into an error.
func mustParseAddressErr(s string) (a Address, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return MustParseAddress(s), nil
}

func TestEIP55Property(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var a Address
		copy(a[:], rapid.SliceOfN(rapid.Byte(), 20, 20).Draw(t, "address"))
		s := a.EIP55()
		if back, err := ParseAddress(s); err != nil || back != a {
			t.Fatalf("%s: %v %v", s, back, err)
		}
		for _, plain := range []string{a.String(), "0x" + strings.ToUpper(a.String()[2:])} {
			if back, err := ParseAddress(plain); err != nil || back != a {
				t.Fatalf("%s: %v %v", plain, back, err)
			}
		}
		i := rapid.IntRange(0, 39).Draw(t, "letter")
		bad, ok := flipCase(s, i)
		if !ok {
			return
		}
		if d := bad[2:]; d == strings.ToLower(d) || d == strings.ToUpper(d) {
			return // flipping made it uniform-case: no checksum to check
		}
		if _, err := ParseAddress(bad); !errors.Is(err, ErrChecksum) {
			t.Fatalf("%s (from %s) accepted: %v", bad, s, err)
		}
	})
}

// The hash stays pluggable: a codec uses the Keccak it is given.
func TestEVMCodecKeccakHook(t *testing.T) {
	calls := 0
	counting := func(b []byte) [32]byte { calls++; return LegacyKeccak256(b) }
	c := EVMCodec{Keccak: counting}
	v := "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"
	a, err := c.ParseAddress(v)
	if err != nil || calls != 1 || c.FormatAddress(a) != v || calls != 2 {
		t.Fatalf("%v %v, %d calls", a, err, calls)
	}
	// Uniform-case input needs no hash.
	if _, err := c.ParseAddress(strings.ToLower(v)); err != nil || calls != 2 {
		t.Fatalf("%v, %d calls", err, calls)
	}
	// A hash of zeros means "all lower case": the real checksum fails.
	zero := EVMCodec{Keccak: func([]byte) [32]byte { return [32]byte{} }}
	if _, err := zero.ParseAddress(v); !errors.Is(err, ErrChecksum) {
		t.Fatalf("custom hash not used: %v", err)
	}
	if zero.FormatAddress(a) != a.String() {
		t.Fatal(zero.FormatAddress(a))
	}
}

func BenchmarkLegacyKeccak256(b *testing.B) {
	data := make([]byte, 32)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		LegacyKeccak256(data)
	}
}

func BenchmarkParseAddressEIP55(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseAddress("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"); err != nil {
			b.Fatal(err)
		}
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
