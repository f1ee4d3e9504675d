package orderbook

import (
	"fmt"
	"hash/crc32"
	"strconv"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
)

// ChecksumRule computes a venue's checksum of a book. Rules hash the
// prices and amounts as the venue wrote them, which the [Book] preserves.
// Rules are stateless values, safe for concurrent use.
type ChecksumRule interface {
	// Name identifies the rule in errors and logs ("kraken", "okx", ...).
	Name() string
	// AppendPayload appends the exact text the rule hashes to dst.
	AppendPayload(dst []byte, b *Book) []byte
	// Checksum returns the IEEE CRC32 of b's payload as an unsigned
	// 32-bit value. Venues that publish a signed value (OKX, Bitfinex)
	// are compared through uint32(int32(value)). It allocates a payload
	// buffer; the [Engine] instead reuses one through AppendPayload.
	Checksum(b *Book) uint32
}

// ChecksumError reports a book whose checksum differs from the venue's.
type ChecksumError struct {
	Rule     string
	Venue    uint32 // the checksum the venue sent
	Computed uint32 // the checksum of the local book
	Seq      int64
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("orderbook: %s checksum mismatch at seq %d: venue %d (signed %d), local %d (signed %d)",
		e.Rule, e.Seq, e.Venue, int32(e.Venue), e.Computed, int32(e.Computed))
}

// payloadBuf is the stack buffer size for checksum payloads: enough for 25
// levels a side of 19-digit values.
const payloadBuf = 2560

// KrakenChecksum is Kraken's book checksum (WebSocket v1 and v2): CRC32 of
// the top Depth asks (best first) followed by the top Depth bids (best
// first), each level written as its price then its quantity, each with the
// decimal point removed and leading zeros stripped, all concatenated.
//
// WebSocket v1 sends prices and quantities as strings, which the book keeps
// verbatim: leave the scales zero. WebSocket v2 sends JSON numbers, which
// lose trailing zeros; set PriceScale and AmountScale to the pair's
// price and quantity precision so values are padded back.
type KrakenChecksum struct {
	Depth       int // levels per side; 0 means 10
	PriceScale  int // pad prices to this many decimals (0: as given)
	AmountScale int // pad quantities to this many decimals (0: as given)
}

// Name returns "kraken".
func (KrakenChecksum) Name() string { return "kraken" }

// AppendPayload appends the concatenated digits Kraken hashes.
func (k KrakenChecksum) AppendPayload(dst []byte, b *Book) []byte {
	depth := k.Depth
	if depth <= 0 {
		depth = 10
	}
	for _, l := range [2]*ladder{&b.asks, &b.bids} {
		it := l.iter()
		for range depth {
			x, ok := it.next()
			if !ok {
				break
			}
			dst = appendKraken(dst, x.Price.Pad(k.PriceScale))
			dst = appendKraken(dst, x.Amount.Pad(k.AmountScale))
		}
	}
	return dst
}

// Checksum returns the CRC32 of the payload.
func (k KrakenChecksum) Checksum(b *Book) uint32 {
	var arr [payloadBuf]byte
	return crc32.ChecksumIEEE(k.AppendPayload(arr[:0], b))
}

// appendKraken appends v's digits without the decimal point and without
// leading zeros.
func appendKraken(dst []byte, v decimal.Decimal) []byte {
	start := len(dst)
	dst, _ = v.AppendText(dst)
	w := start
	lead := true
	for r := start; r < len(dst); r++ {
		c := dst[r]
		if c == '.' || lead && c == '0' {
			continue
		}
		lead = false
		dst[w] = c
		w++
	}
	return dst[:w]
}

// OKXChecksum is OKX's books checksum: CRC32 (published as a signed 32-bit
// integer) of up to Depth bid and ask levels interleaved as
// "bidPx:bidSz:askPx:askSz:...", with a side omitted once it has run out of
// levels.
type OKXChecksum struct {
	Depth int // levels per side; 0 means 25
}

// Name returns "okx".
func (OKXChecksum) Name() string { return "okx" }

// AppendPayload appends the colon-joined string OKX hashes.
func (o OKXChecksum) AppendPayload(dst []byte, b *Book) []byte {
	depth := o.Depth
	if depth <= 0 {
		depth = 25
	}
	return appendInterleaved(dst, b, depth, false)
}

// Checksum returns the CRC32 of the payload.
func (o OKXChecksum) Checksum(b *Book) uint32 {
	var arr [payloadBuf]byte
	return crc32.ChecksumIEEE(o.AppendPayload(arr[:0], b))
}

// BitfinexChecksum is Bitfinex's checksum for precision (P0…P4) books:
// CRC32 (published as a signed 32-bit integer) of the top Depth bids and
// asks interleaved as "bidPrice:bidAmount:askPrice:askAmount:...", where
// ask amounts are negative (Bitfinex's own sign convention; the book holds
// them as positive amounts) and a side is omitted once it has run out.
//
// Bitfinex sends JSON numbers and hashes them as JavaScript prints them, so
// values are written in JavaScript's Number-to-string form: no trailing
// zeros, and exponent notation below 1e-6 or from 1e21 on ("1e-7",
// "1.5e+21").
type BitfinexChecksum struct {
	Depth int // levels per side; 0 means 25
}

// Name returns "bitfinex".
func (BitfinexChecksum) Name() string { return "bitfinex" }

// AppendPayload appends the colon-joined string Bitfinex hashes.
func (f BitfinexChecksum) AppendPayload(dst []byte, b *Book) []byte {
	depth := f.Depth
	if depth <= 0 {
		depth = 25
	}
	return appendInterleaved(dst, b, depth, true)
}

// Checksum returns the CRC32 of the payload.
func (f BitfinexChecksum) Checksum(b *Book) uint32 {
	var arr [payloadBuf]byte
	return crc32.ChecksumIEEE(f.AppendPayload(arr[:0], b))
}

// appendInterleaved writes "px:sz" pairs of bids and asks interleaved. In
// Bitfinex form (bfx) numbers are printed as JavaScript does and ask
// amounts are negated.
func appendInterleaved(dst []byte, b *Book, depth int, bfx bool) []byte {
	first := true
	bi, ai := b.bids.iter(), b.asks.iter()
	for i := 0; i < depth; i++ {
		bid, okB := bi.next()
		ask, okA := ai.next()
		if !okB && !okA {
			break
		}
		if okB {
			if !first {
				dst = append(dst, ':')
			}
			first = false
			dst = appendPair(dst, bid, bfx, false)
		}
		if okA {
			if !first {
				dst = append(dst, ':')
			}
			first = false
			dst = appendPair(dst, ask, bfx, true)
		}
	}
	return dst
}

func appendPair(dst []byte, x domain.BookLevel, bfx, ask bool) []byte {
	if !bfx {
		dst, _ = x.Price.AppendText(dst)
		dst = append(dst, ':')
		dst, _ = x.Amount.AppendText(dst)
		return dst
	}
	dst = AppendJSNumber(dst, x.Price)
	dst = append(dst, ':')
	amt := x.Amount
	if ask {
		amt = amt.Neg()
	}
	return AppendJSNumber(dst, amt)
}

// AppendJSNumber appends v as JavaScript's Number.prototype.toString would
// print the same value (for values exactly representable in 19 digits):
// trailing zeros dropped, plain notation for 1e-7 < |v| < 1e21 and
// exponent notation otherwise.
func AppendJSNumber(dst []byte, v decimal.Decimal) []byte {
	if v.IsZero() {
		return append(dst, '0')
	}
	v = v.Trim(0)
	if v.IsNeg() {
		dst = append(dst, '-')
	}
	var tmp [24]byte
	digits := strconv.AppendUint(tmp[:0], v.Coef(), 10)
	k := len(digits)
	n := k - v.Scale() // value = 0.d1d2…dk × 10^n
	switch {
	case k <= n && n <= 21:
		dst = append(dst, digits...)
		for range n - k {
			dst = append(dst, '0')
		}
	case 0 < n && n <= 21:
		dst = append(dst, digits[:n]...)
		dst = append(dst, '.')
		dst = append(dst, digits[n:]...)
	case -6 < n && n <= 0:
		dst = append(dst, '0', '.')
		for range -n {
			dst = append(dst, '0')
		}
		dst = append(dst, digits...)
	default:
		dst = append(dst, digits[0])
		if k > 1 {
			dst = append(dst, '.')
			dst = append(dst, digits[1:]...)
		}
		dst = append(dst, 'e')
		if n-1 >= 0 {
			dst = append(dst, '+')
		}
		dst = strconv.AppendInt(dst, int64(n-1), 10)
	}
	return dst
}
