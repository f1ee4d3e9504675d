package blockchain

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/sha3"
)

// IdentifierKind says what a [BlockchainIdentifier] names.
type IdentifierKind uint8

// Identifier kinds.
const (
	KindAddress IdentifierKind = iota + 1
	KindTxHash
	KindBlockHash
)

// String returns "address", "tx hash" or "block hash".
func (k IdentifierKind) String() string {
	switch k {
	case KindAddress:
		return "address"
	case KindTxHash:
		return "tx hash"
	case KindBlockHash:
		return "block hash"
	}
	return fmt.Sprintf("IdentifierKind(%d)", uint8(k))
}

// BlockchainIdentifier is a typed, validated identifier on a chain: an
// account or contract address, a transaction hash or a block hash.
// Implementations are comparable values (usable as map keys and with ==),
// so two identifiers are equal exactly when their types and values are: a
// transaction hash never equals a block hash with the same bytes.
type BlockchainIdentifier interface {
	// Kind says what the identifier names.
	Kind() IdentifierKind
	// Family names the chain family whose format the identifier follows
	// ("evm").
	Family() string
	// String returns the canonical text form.
	String() string
	// Bytes returns the raw bytes (a copy).
	Bytes() []byte
	// IsZero reports whether the identifier is the zero value.
	IsZero() bool
}

// Equal reports whether a and b are the same identifier (same type and
// value). Nil identifiers are equal only to nil.
func Equal(a, b BlockchainIdentifier) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a == b
}

// IdentifierError reports an identifier that does not parse. Err, when
// set, classifies the problem (see [ErrChecksum]).
type IdentifierError struct {
	Kind   IdentifierKind
	Input  string
	Reason string
	Err    error
}

func (e *IdentifierError) Error() string {
	return fmt.Sprintf("blockchain: invalid %v %q: %s", e.Kind, e.Input, e.Reason)
}

// Unwrap returns Err.
func (e *IdentifierError) Unwrap() error { return e.Err }

// ErrChecksum is wrapped by the [*IdentifierError] for a mixed-case address
// whose case does not match its EIP-55 checksum: a mistyped or corrupted
// address, never to be used.
var ErrChecksum = errors.New("EIP-55 checksum mismatch")

// Keccak256 computes the Keccak-256 hash used by Ethereum (the original
// Keccak padding, not NIST SHA3-256). [LegacyKeccak256] is the default
// wherever one is taken and nil is given; pass another to use a different
// implementation (an accelerated one, or a counting one in tests).
type Keccak256 func(data []byte) [32]byte

// LegacyKeccak256 returns the Keccak-256 hash of data as Ethereum computes
// it (golang.org/x/crypto/sha3.NewLegacyKeccak256): keccak256("") is
// c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470.
func LegacyKeccak256(data []byte) [32]byte {
	h := sha3.NewLegacyKeccak256()
	h.Write(data)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// Address is a 20-byte EVM account or contract address. [Address.String]
// is lower-case hex (cheap, stable for logs and keys); [Address.EIP55] and
// [EVMCodec.FormatAddress] give the mixed-case checksummed form to show
// users.
type Address [20]byte

// TxHash is a 32-byte EVM transaction hash.
type TxHash [32]byte

// BlockHash is a 32-byte EVM block hash.
type BlockHash [32]byte

// Kind implements [BlockchainIdentifier].
func (Address) Kind() IdentifierKind { return KindAddress }

// Family implements [BlockchainIdentifier].
func (Address) Family() string { return "evm" }

// String returns "0x" and 40 lower-case hex digits.
func (a Address) String() string { return "0x" + hex.EncodeToString(a[:]) }

// EIP55 returns the EIP-55 checksummed form, e.g.
// "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed".
func (a Address) EIP55() string { return EVMCodec{}.FormatAddress(a) }

// Bytes returns a copy of the address bytes.
func (a Address) Bytes() []byte { return append([]byte(nil), a[:]...) }

// IsZero reports whether a is the zero address.
func (a Address) IsZero() bool { return a == Address{} }

// MarshalText implements encoding.TextMarshaler (lower-case hex).
func (a Address) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with [ParseAddress].
func (a *Address) UnmarshalText(b []byte) error {
	v, err := ParseAddress(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// Kind implements [BlockchainIdentifier].
func (TxHash) Kind() IdentifierKind { return KindTxHash }

// Family implements [BlockchainIdentifier].
func (TxHash) Family() string { return "evm" }

// String returns "0x" and 64 lower-case hex digits.
func (h TxHash) String() string { return "0x" + hex.EncodeToString(h[:]) }

// Bytes returns a copy of the hash bytes.
func (h TxHash) Bytes() []byte { return append([]byte(nil), h[:]...) }

// IsZero reports whether h is the zero hash.
func (h TxHash) IsZero() bool { return h == TxHash{} }

// MarshalText implements encoding.TextMarshaler.
func (h TxHash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with [ParseTxHash].
func (h *TxHash) UnmarshalText(b []byte) error {
	v, err := ParseTxHash(string(b))
	if err != nil {
		return err
	}
	*h = v
	return nil
}

// Kind implements [BlockchainIdentifier].
func (BlockHash) Kind() IdentifierKind { return KindBlockHash }

// Family implements [BlockchainIdentifier].
func (BlockHash) Family() string { return "evm" }

// String returns "0x" and 64 lower-case hex digits.
func (h BlockHash) String() string { return "0x" + hex.EncodeToString(h[:]) }

// Bytes returns a copy of the hash bytes.
func (h BlockHash) Bytes() []byte { return append([]byte(nil), h[:]...) }

// IsZero reports whether h is the zero hash.
func (h BlockHash) IsZero() bool { return h == BlockHash{} }

// MarshalText implements encoding.TextMarshaler.
func (h BlockHash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with [ParseBlockHash].
func (h *BlockHash) UnmarshalText(b []byte) error {
	v, err := ParseBlockHash(string(b))
	if err != nil {
		return err
	}
	*h = v
	return nil
}

// decodeHex decodes "0x"-prefixed hex of exactly n bytes into dst.
func decodeHex(kind IdentifierKind, s string, dst []byte) error {
	in := s
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "0x") && !strings.HasPrefix(s, "0X") {
		return &IdentifierError{Kind: kind, Input: in, Reason: fmt.Sprintf("missing 0x prefix (want 0x and %d hex digits)", 2*len(dst))}
	}
	s = s[2:]
	if len(s) != 2*len(dst) {
		return &IdentifierError{Kind: kind, Input: in, Reason: fmt.Sprintf("%d hex digits, want %d", len(s), 2*len(dst))}
	}
	if _, err := hex.Decode(dst, []byte(s)); err != nil {
		return &IdentifierError{Kind: kind, Input: in, Reason: "not hexadecimal"}
	}
	return nil
}

// ParseTxHash parses "0x" and 64 hex digits (any case).
func ParseTxHash(s string) (TxHash, error) {
	var h TxHash
	err := decodeHex(KindTxHash, s, h[:])
	return h, err
}

// ParseBlockHash parses "0x" and 64 hex digits (any case).
func ParseBlockHash(s string) (BlockHash, error) {
	var h BlockHash
	err := decodeHex(KindBlockHash, s, h[:])
	return h, err
}

// ParseAddress parses "0x" and 40 hex digits with [EVMCodec.ParseAddress]
// and [LegacyKeccak256]: all-lower-case and all-upper-case hex carry no
// checksum and are accepted; a mixed-case address must match its EIP-55
// checksum, or the error wraps [ErrChecksum].
func ParseAddress(s string) (Address, error) { return EVMCodec{}.ParseAddress(s) }

// MustParseAddress is [ParseAddress] for constants; it panics on error.
func MustParseAddress(s string) Address {
	a, err := ParseAddress(s)
	if err != nil {
		panic(err)
	}
	return a
}

// EVMCodec parses and formats EVM identifiers, verifying and producing
// EIP-55 checksums with Keccak. The zero value is ready to use and hashes
// with [LegacyKeccak256].
type EVMCodec struct {
	// Keccak hashes for EIP-55; nil means [LegacyKeccak256].
	Keccak Keccak256
}

func (c EVMCodec) keccak() Keccak256 {
	if c.Keccak == nil {
		return LegacyKeccak256
	}
	return c.Keccak
}

// ParseAddress parses "0x" (or "0X") and 40 hex digits, ignoring
// surrounding space. All-lower and all-upper case are accepted as is; mixed
// case must be a valid EIP-55 checksum, or the [*IdentifierError] wraps
// [ErrChecksum]. (The error does not show the "right" casing: the digits
// themselves are likely mistyped, and re-casing them would make a wrong
// address look valid.)
func (c EVMCodec) ParseAddress(s string) (Address, error) {
	var a Address
	if err := decodeHex(KindAddress, s, a[:]); err != nil {
		return Address{}, err
	}
	digits := strings.TrimSpace(s)[2:]
	if digits == strings.ToLower(digits) || digits == strings.ToUpper(digits) {
		return a, nil
	}
	if c.checksum(a)[2:] != digits {
		return Address{}, &IdentifierError{Kind: KindAddress, Input: s, Err: ErrChecksum,
			Reason: "EIP-55 checksum mismatch: the letter case does not match the digits, so the address is mistyped or corrupted (copy it again from its source)"}
	}
	return a, nil
}

// FormatAddress returns a's EIP-55 checksummed form.
func (c EVMCodec) FormatAddress(a Address) string { return c.checksum(a) }

// checksum applies EIP-55: hex digit i is upper-cased when nibble i of
// keccak256(lower-case hex) is ≥ 8.
func (c EVMCodec) checksum(a Address) string {
	lower := hex.EncodeToString(a[:])
	h := c.keccak()([]byte(lower))
	out := []byte(lower)
	for i := range out {
		nib := h[i/2]
		if i%2 == 0 {
			nib >>= 4
		}
		if out[i] >= 'a' && nib&0xf >= 8 {
			out[i] -= 'a' - 'A'
		}
	}
	return "0x" + string(out)
}

// ParseIdentifier parses s as an identifier of kind.
func ParseIdentifier(kind IdentifierKind, s string) (BlockchainIdentifier, error) {
	var (
		id  BlockchainIdentifier
		err error
	)
	switch kind {
	case KindAddress:
		id, err = ParseAddress(s)
	case KindTxHash:
		id, err = ParseTxHash(s)
	case KindBlockHash:
		id, err = ParseBlockHash(s)
	default:
		return nil, fmt.Errorf("blockchain: unknown identifier kind %v (accepted: address, tx hash, block hash)", kind)
	}
	if err != nil {
		return nil, err
	}
	return id, nil
}
