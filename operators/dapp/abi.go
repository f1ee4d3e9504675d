package dapp

import (
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/pype-go/pype/operators/blockchain"
)

// Type is a Solidity ABI type this package can encode and decode: the
// static types address, uint256 and bool, and the dynamic string.
type Type uint8

// ABI types.
const (
	Address Type = iota + 1
	Uint256
	Bool
	String
)

// String returns the Solidity name used in signatures.
func (t Type) String() string {
	switch t {
	case Address:
		return "address"
	case Uint256:
		return "uint256"
	case Bool:
		return "bool"
	case String:
		return "string"
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// Method is one contract function: its name, argument and result types,
// and its selector (the first 4 bytes of keccak256 of the signature).
type Method struct {
	Name     string
	Inputs   []Type
	Outputs  []Type
	Selector [4]byte
	// View marks a function that does not change state (called, not
	// transacted).
	View bool
}

// Signature returns the canonical signature, e.g. "transfer(address,uint256)".
func (m Method) Signature() string {
	parts := make([]string, len(m.Inputs))
	for i, t := range m.Inputs {
		parts[i] = t.String()
	}
	return m.Name + "(" + strings.Join(parts, ",") + ")"
}

// knownSelector returns the selectors of the standard ERC-20 signatures as
// published with EIP-20. NewMethod uses them instead of hashing when no
// Keccak is given; the tests check them against [blockchain.LegacyKeccak256].
func knownSelector(sig string) ([4]byte, bool) {
	switch sig {
	case "balanceOf(address)":
		return [4]byte{0x70, 0xa0, 0x82, 0x31}, true
	case "transfer(address,uint256)":
		return [4]byte{0xa9, 0x05, 0x9c, 0xbb}, true
	case "approve(address,uint256)":
		return [4]byte{0x09, 0x5e, 0xa7, 0xb3}, true
	case "allowance(address,address)":
		return [4]byte{0xdd, 0x62, 0xed, 0x3e}, true
	case "transferFrom(address,address,uint256)":
		return [4]byte{0x23, 0xb8, 0x72, 0xdd}, true
	case "totalSupply()":
		return [4]byte{0x18, 0x16, 0x0d, 0xdd}, true
	case "decimals()":
		return [4]byte{0x31, 0x3c, 0xe5, 0x67}, true
	case "symbol()":
		return [4]byte{0x95, 0xd8, 0x9b, 0x41}, true
	case "name()":
		return [4]byte{0x06, 0xfd, 0xde, 0x03}, true
	}
	return [4]byte{}, false
}

// NewMethod describes a function and computes its selector: the first 4
// bytes of keccak(signature). A nil keccak means
// [blockchain.LegacyKeccak256].
func NewMethod(name string, inputs, outputs []Type, view bool, keccak blockchain.Keccak256) (Method, error) {
	m := Method{Name: name, Inputs: inputs, Outputs: outputs, View: view}
	if name == "" {
		return Method{}, errors.New("dapp: method has no name")
	}
	for _, t := range append(append([]Type(nil), inputs...), outputs...) {
		if t < Address || t > String {
			return Method{}, fmt.Errorf("dapp: method %s: unsupported type %v (accepted: address, uint256, bool, string)", name, t)
		}
	}
	sig := m.Signature()
	if keccak == nil {
		if sel, ok := knownSelector(sig); ok {
			m.Selector = sel
			return m, nil
		}
		keccak = blockchain.LegacyKeccak256
	}
	m.Selector = Selector(sig, keccak)
	return m, nil
}

// Selector returns the first 4 bytes of keccak(signature), e.g.
// 0xa9059cbb for "transfer(address,uint256)". A nil keccak means
// [blockchain.LegacyKeccak256]. The signature is used as given: canonical
// form has no spaces or parameter names and full type names (uint256, not
// uint).
func Selector(signature string, keccak blockchain.Keccak256) [4]byte {
	if keccak == nil {
		keccak = blockchain.LegacyKeccak256
	}
	h := keccak([]byte(signature))
	return [4]byte(h[:4])
}

// MustMethod is [NewMethod] with [blockchain.LegacyKeccak256], for
// package-level method tables; it panics on an invalid description (no
// name, an unsupported type).
func MustMethod(name string, inputs, outputs []Type, view bool) Method {
	m, err := NewMethod(name, inputs, outputs, view, nil)
	if err != nil {
		panic(err)
	}
	return m
}

// ArgError reports an argument that does not fit its ABI type.
type ArgError struct {
	Method string
	Index  int
	Type   Type
	Value  any
	Reason string
}

func (e *ArgError) Error() string {
	return fmt.Sprintf("dapp: %s argument %d (%v): %v: %s", e.Method, e.Index, e.Type, e.Value, e.Reason)
}

var maxUint256 = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))

// Encode returns the call data: the selector followed by the ABI encoding
// of args. Go values: address — blockchain.Address; uint256 — *big.Int,
// uint64, uint, int64 or int (non-negative); bool — bool; string — string.
func (m Method) Encode(args ...any) ([]byte, error) {
	if len(args) != len(m.Inputs) {
		return nil, fmt.Errorf("dapp: %s takes %d arguments, got %d", m.Signature(), len(m.Inputs), len(args))
	}
	head := make([]byte, 0, 32*len(args))
	var tail []byte
	for i, t := range m.Inputs {
		bad := func(reason string) error {
			return &ArgError{Method: m.Signature(), Index: i, Type: t, Value: args[i], Reason: reason}
		}
		switch t {
		case Address:
			a, ok := args[i].(blockchain.Address)
			if !ok {
				return nil, bad("want a blockchain.Address")
			}
			var w [32]byte
			copy(w[12:], a[:])
			head = append(head, w[:]...)
		case Uint256:
			v, err := toUint(args[i])
			if err != nil {
				return nil, bad(err.Error())
			}
			head = append(head, word(v)...)
		case Bool:
			b, ok := args[i].(bool)
			if !ok {
				return nil, bad("want a bool")
			}
			var w [32]byte
			if b {
				w[31] = 1
			}
			head = append(head, w[:]...)
		case String:
			s, ok := args[i].(string)
			if !ok {
				return nil, bad("want a string")
			}
			// Offset from the start of the arguments to the data.
			off := 32*len(m.Inputs) + len(tail)
			head = append(head, word(big.NewInt(int64(off)))...)
			tail = append(tail, word(big.NewInt(int64(len(s))))...)
			pad := make([]byte, (len(s)+31)/32*32)
			copy(pad, s)
			tail = append(tail, pad...)
		}
	}
	out := make([]byte, 0, 4+len(head)+len(tail))
	out = append(out, m.Selector[:]...)
	out = append(out, head...)
	return append(out, tail...), nil
}

func toUint(v any) (*big.Int, error) {
	var x *big.Int
	switch n := v.(type) {
	case *big.Int:
		if n == nil {
			return nil, errors.New("nil *big.Int")
		}
		x = n
	case uint64:
		x = new(big.Int).SetUint64(n)
	case uint:
		x = new(big.Int).SetUint64(uint64(n))
	case int64:
		x = big.NewInt(n)
	case int:
		x = big.NewInt(int64(n))
	default:
		return nil, fmt.Errorf("want *big.Int or an integer, got %T", v)
	}
	if x.Sign() < 0 {
		return nil, errors.New("negative value for uint256")
	}
	if x.Cmp(maxUint256) > 0 {
		return nil, errors.New("value exceeds 2^256-1")
	}
	return x, nil
}

func word(x *big.Int) []byte { return x.FillBytes(make([]byte, 32)) }

// DecodeError reports return data that does not match the outputs.
type DecodeError struct {
	Method string
	Reason string
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("dapp: decode %s result: %s", e.Method, e.Reason)
}

// Decode decodes return data into Go values: address — blockchain.Address,
// uint256 — *big.Int, bool — bool, string — string.
func (m Method) Decode(data []byte) ([]any, error) {
	bad := func(format string, args ...any) error {
		return &DecodeError{Method: m.Signature(), Reason: fmt.Sprintf(format, args...)}
	}
	if len(data) < 32*len(m.Outputs) {
		return nil, bad("%d bytes, want at least %d", len(data), 32*len(m.Outputs))
	}
	out := make([]any, len(m.Outputs))
	for i, t := range m.Outputs {
		w := data[32*i : 32*(i+1)]
		switch t {
		case Address:
			for _, c := range w[:12] {
				if c != 0 {
					return nil, bad("output %d is not an address (dirty high bytes)", i)
				}
			}
			out[i] = blockchain.Address(w[12:])
		case Uint256:
			out[i] = new(big.Int).SetBytes(w)
		case Bool:
			for _, c := range w[:31] {
				if c != 0 {
					return nil, bad("output %d is not a bool", i)
				}
			}
			if w[31] > 1 {
				return nil, bad("output %d is not a bool", i)
			}
			out[i] = w[31] == 1
		case String:
			off := new(big.Int).SetBytes(w)
			if !off.IsInt64() || off.Int64()+32 > int64(len(data)) {
				return nil, bad("output %d: string offset %v out of range", i, off)
			}
			o := int(off.Int64())
			n := new(big.Int).SetBytes(data[o : o+32])
			if !n.IsInt64() || int64(o)+32+n.Int64() > int64(len(data)) {
				return nil, bad("output %d: string length %v out of range", i, n)
			}
			out[i] = string(data[o+32 : o+32+int(n.Int64())])
		}
	}
	return out, nil
}
