package exchange

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/pype-go/pype/operators"
)

// IDCharset is the alphabet a venue accepts in client order ids.
type IDCharset uint8

const (
	// Alphanumeric ids use 0-9, A-Z, a-z (OKX, and a safe subset of
	// Binance, Bybit, BitMEX).
	Alphanumeric IDCharset = iota
	// Numeric ids are decimal integers (Bitfinex cid, Kraken userref).
	Numeric
	// Hex ids use 0-9 and a-f.
	Hex
	// UUID ids are RFC 9562 version-8 UUIDs, 36 characters (Coinbase,
	// Kraken cl_ord_id).
	UUID
)

func (c IDCharset) String() string {
	switch c {
	case Alphanumeric:
		return "alphanumeric"
	case Numeric:
		return "numeric"
	case Hex:
		return "hex"
	case UUID:
		return "uuid"
	}
	return fmt.Sprintf("IDCharset(%d)", uint8(c))
}

// ClientOrderIDPolicy describes a venue's client order ids.
type ClientOrderIDPolicy struct {
	// Prefix starts every generated id (e.g. a strategy tag); it must use
	// the charset. Not used with UUID.
	Prefix string
	// MaxLength is the venue's limit; 0 means 32 (36 for UUID).
	MaxLength int
	Charset   IDCharset
	// Extra lists further characters the venue accepts in ids the user
	// supplies (e.g. "-_" for Bybit, "._:/-" for Binance). Generated ids
	// never use them.
	Extra string
}

func (p ClientOrderIDPolicy) maxLen() int {
	switch {
	case p.Charset == UUID:
		return 36
	case p.MaxLength > 0:
		return p.MaxLength
	default:
		return 32
	}
}

func (p ClientOrderIDPolicy) allowed(r rune) bool {
	switch p.Charset {
	case Numeric:
		return r >= '0' && r <= '9' || strings.ContainsRune(p.Extra, r)
	case Hex, UUID:
		return r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F' || (p.Charset == UUID && r == '-') || strings.ContainsRune(p.Extra, r)
	default:
		return r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || strings.ContainsRune(p.Extra, r)
	}
}

// ValidateID checks a client order id (e.g. one the user supplied)
// against the policy: length 1..MaxLength and the charset (+ Extra).
func (p ClientOrderIDPolicy) ValidateID(id string) error {
	if id == "" {
		return fmt.Errorf("exchange: client order id is empty")
	}
	if len(id) > p.maxLen() {
		return fmt.Errorf("exchange: client order id %q has %d characters (accepted: at most %d)", id, len(id), p.maxLen())
	}
	for _, r := range id {
		if !p.allowed(r) {
			extra := ""
			if p.Extra != "" {
				extra = " plus " + strconv.Quote(p.Extra)
			}
			return fmt.Errorf("exchange: client order id %q contains %q (accepted: %v characters%s)", id, r, p.Charset, extra)
		}
	}
	return nil
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func appendBase62(b []byte, v uint64) []byte {
	var tmp [11]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = base62[v%62]
		v /= 62
		if v == 0 {
			break
		}
	}
	return append(b, tmp[i:]...)
}

// ClientOrderIDs generates client order ids from a [operators.NonceCreator]
// (strictly increasing, so unique within the process) and a random
// per-instance tag (so two processes sharing an account do not collide):
//
//	Alphanumeric: prefix + base62(nonce) + 4-character tag
//	Hex:          prefix + hex(nonce) + 6-character tag
//	UUID:         60 bits of nonce + 62 random bits of tag, version 8
//	Numeric:      prefix + the nonce's low digits (no tag: numeric ids are
//	              unique per generator only; use a dedicated nonce creator
//	              per venue key)
//
// Ids sort by creation time within one generator for Alphanumeric (fixed
// length while the nonce keeps its width), Hex and UUID. Safe for
// concurrent use.
type ClientOrderIDs struct {
	policy ClientOrderIDPolicy
	nonce  *operators.NonceCreator
	tag    [8]byte
	text   string // the textual tag
}

// NewClientOrderIDs returns a generator for policy drawing on nonce (nil:
// a new microsecond creator). It fails if the prefix does not fit the
// charset or the ids would not fit MaxLength.
func NewClientOrderIDs(policy ClientOrderIDPolicy, nonce *operators.NonceCreator) (*ClientOrderIDs, error) {
	if nonce == nil {
		nonce = operators.ForMicroseconds()
	}
	g := &ClientOrderIDs{policy: policy, nonce: nonce}
	if _, err := rand.Read(g.tag[:]); err != nil {
		return nil, fmt.Errorf("exchange: client order ids: random tag: %w", err)
	}
	if policy.Charset == UUID {
		if policy.Prefix != "" {
			return nil, fmt.Errorf("exchange: client order ids: prefix %q cannot be used with UUID ids", policy.Prefix)
		}
		return g, nil
	}
	for _, r := range policy.Prefix {
		p := policy
		p.Extra = ""
		if !p.allowed(r) {
			return nil, fmt.Errorf("exchange: client order id prefix %q contains %q (accepted: %v characters)", policy.Prefix, r, policy.Charset)
		}
	}
	var need int
	switch policy.Charset {
	case Alphanumeric:
		for _, b := range g.tag[:4] {
			g.text += string(base62[int(b)%62])
		}
		need = len(policy.Prefix) + 9 + len(g.text) // 9 base62 digits cover microsecond nonces to year 2330
	case Hex:
		g.text = hex.EncodeToString(g.tag[:3])
		need = len(policy.Prefix) + 14 + len(g.text)
	case Numeric:
		need = len(policy.Prefix) + 10 // at least 10 digits of nonce
	default:
		return nil, fmt.Errorf("exchange: client order ids: unknown charset %v", policy.Charset)
	}
	if need > policy.maxLen() {
		return nil, fmt.Errorf("exchange: client order ids: prefix %q leaves too little room: ids need %d characters, the venue accepts %d", policy.Prefix, need, policy.maxLen())
	}
	return g, nil
}

// Policy returns the generator's policy.
func (g *ClientOrderIDs) Policy() ClientOrderIDPolicy { return g.policy }

// Next returns a new id.
func (g *ClientOrderIDs) Next() string {
	n := uint64(g.nonce.TrackingNonce())
	p := g.policy
	switch p.Charset {
	case UUID:
		var u [16]byte
		u[0], u[1], u[2], u[3], u[4], u[5] = byte(n>>52), byte(n>>44), byte(n>>36), byte(n>>28), byte(n>>20), byte(n>>12)
		u[6] = 0x80 | byte(n>>8)&0x0F
		u[7] = byte(n)
		copy(u[8:], g.tag[:])
		u[8] = 0x80 | u[8]&0x3F
		h := hex.EncodeToString(u[:])
		return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
	case Numeric:
		digits := strconv.FormatUint(n, 10)
		if room := p.maxLen() - len(p.Prefix); len(digits) > room {
			digits = strings.TrimLeft(digits[len(digits)-room:], "0")
			if digits == "" {
				digits = "0"
			}
		}
		return p.Prefix + digits
	case Hex:
		return p.Prefix + strconv.FormatUint(n, 16) + g.text
	default:
		b := make([]byte, 0, p.maxLen())
		b = append(b, p.Prefix...)
		b = appendBase62(b, n)
		return string(append(b, g.text...))
	}
}
