package sim

import (
	"math/big"
	"math/bits"
	"strconv"
)

// U128 is an unsigned 128-bit integer, used for sums of price × amount
// products (quote volumes) that can exceed 64 bits over long bars.
type U128 struct{ Hi, Lo uint64 }

// AddMul adds a × b to u.
func (u *U128) AddMul(a, b uint64) {
	hi, lo := bits.Mul64(a, b)
	var c uint64
	u.Lo, c = bits.Add64(u.Lo, lo, 0)
	u.Hi, _ = bits.Add64(u.Hi, hi, c)
}

// Add adds v to u.
func (u *U128) Add(v U128) {
	var c uint64
	u.Lo, c = bits.Add64(u.Lo, v.Lo, 0)
	u.Hi, _ = bits.Add64(u.Hi, v.Hi, c)
}

// IsZero reports whether u is 0.
func (u U128) IsZero() bool { return u.Hi == 0 && u.Lo == 0 }

// appendDigits appends the base-10 digits of u.
func (u U128) appendDigits(dst []byte) []byte {
	if u.Hi == 0 {
		return strconv.AppendUint(dst, u.Lo, 10)
	}
	b := new(big.Int).SetUint64(u.Hi)
	b.Lsh(b, 64)
	b.Or(b, new(big.Int).SetUint64(u.Lo))
	return b.Append(dst, 10)
}

// AppendFixed appends v × 10^-scale with exactly decimals digits after the
// point (truncating toward zero when decimals < scale, padding with zeros
// otherwise). decimals < 0 prints the shortest exact form ("42315.01",
// "5", "0.1").
func AppendFixed(dst []byte, v int64, scale, decimals int) []byte {
	if v >= 0 && decimals >= scale && decimals <= 18 {
		return appendUintFixed(dst, uint64(v), scale, decimals)
	}
	if v < 0 {
		dst = append(dst, '-')
		var buf [24]byte
		return appendFixedDigits(dst, strconv.AppendUint(buf[:0], uint64(-v), 10), scale, decimals)
	}
	var buf [24]byte
	return appendFixedDigits(dst, strconv.AppendUint(buf[:0], uint64(v), 10), scale, decimals)
}

// AppendFixed128 is [AppendFixed] for a non-negative 128-bit value.
func AppendFixed128(dst []byte, v U128, scale, decimals int) []byte {
	if v.Hi == 0 && decimals >= scale && decimals <= 18 {
		return appendUintFixed(dst, v.Lo, scale, decimals)
	}
	var buf [48]byte
	return appendFixedDigits(dst, v.appendDigits(buf[:0]), scale, decimals)
}

const zeros = "000000000000000000000000000000000000000000"

func appendFixedDigits(dst, digits []byte, scale, decimals int) []byte {
	n := len(digits)
	if decimals >= scale && decimals-scale < len(zeros) && scale < len(zeros) {
		// Fast path: integer part, point, the fraction, zero padding.
		if n > scale {
			dst = append(dst, digits[:n-scale]...)
		} else {
			dst = append(dst, '0')
		}
		if decimals == 0 {
			return dst
		}
		dst = append(dst, '.')
		if n >= scale {
			dst = append(dst, digits[n-scale:]...)
		} else {
			dst = append(dst, zeros[:scale-n]...)
			dst = append(dst, digits...)
		}
		return append(dst, zeros[:decimals-scale]...)
	}
	// Integer part: digits[:len-scale] (or "0").
	if n <= scale {
		dst = append(dst, '0')
	} else {
		dst = append(dst, digits[:n-scale]...)
	}
	if decimals < 0 {
		// Shortest form: strip trailing zeros of the fraction.
		frac := fracDigits(digits, scale)
		end := len(frac)
		for end > 0 && frac[end-1] == '0' {
			end--
		}
		if end == 0 {
			return dst
		}
		dst = append(dst, '.')
		// Leading zeros of the fraction.
		for i := 0; i < scale-n && i < end; i++ {
			dst = append(dst, '0')
		}
		return appendFrac(dst, digits, scale, end)
	}
	if decimals == 0 {
		return dst
	}
	dst = append(dst, '.')
	return appendFracN(dst, digits, scale, decimals)
}

// fracDigits returns a virtual view length helper: the fraction is the last
// scale digits, left-padded with zeros. It returns a slice only for length.
func fracDigits(digits []byte, scale int) []byte {
	if scale <= 0 {
		return nil
	}
	if len(digits) >= scale {
		return digits[len(digits)-scale:]
	}
	// Pad on the left: callers handle the padding explicitly; for trailing
	// zero detection the unpadded tail is equivalent.
	pad := make([]byte, scale-len(digits), scale)
	for i := range pad {
		pad[i] = '0'
	}
	return append(pad, digits...)
}

// appendFrac appends the first end digits of the scale-digit fraction,
// skipping the leading zeros already written when the value is < 1.
func appendFrac(dst, digits []byte, scale, end int) []byte {
	n := len(digits)
	if n >= scale {
		return append(dst, digits[n-scale:n-scale+end]...)
	}
	lead := scale - n
	if end <= lead {
		return dst
	}
	return append(dst, digits[:end-lead]...)
}

// appendFracN appends exactly decimals fraction digits.
func appendFracN(dst, digits []byte, scale, decimals int) []byte {
	n := len(digits)
	for i := 0; i < decimals; i++ {
		// Fraction digit i is digit index (n - scale + i) of digits.
		j := n - scale + i
		if i >= scale || j < 0 {
			dst = append(dst, '0')
		} else {
			dst = append(dst, digits[j])
		}
	}
	return dst
}

// appendUintFixed is the fast path of AppendFixed (decimals ≥ scale,
// decimals ≤ 18): it writes the integer part, the point and the fraction
// straight into dst, two digits at a time, without an intermediate string.
func appendUintFixed(dst []byte, v uint64, scale, decimals int) []byte {
	if scale == 0 {
		dst = AppendUint(dst, v)
		if decimals == 0 {
			return dst
		}
		dst = append(dst, '.')
		return append(dst, zeros[:decimals]...)
	}
	n := decLen(v) - scale // integer digits
	if n < 1 {
		n = 1
	}
	start := len(dst)
	total := n + 1 + decimals
	dst = grow(dst, total)
	b := dst[start : start+total]
	// Fraction digits right to left (constant divisions only), the point,
	// then the integer part.
	v = putLow(b[n+1:n+1+scale], v)
	b[n] = '.'
	putDigits(b[:n], v)
	copy(b[n+1+scale:], zeros[:decimals-scale])
	return dst
}

// digits2 holds the two-digit decimal strings 00…99.
const digits2 = "00010203040506070809" +
	"10111213141516171819" +
	"20212223242526272829" +
	"30313233343536373839" +
	"40414243444546474849" +
	"50515253545556575859" +
	"60616263646566676869" +
	"70717273747576777879" +
	"80818283848586878889" +
	"90919293949596979899"

// pow10[i] = 10^i.
var pow10 = [20]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
	1e17, 1e18, 1e19}

// decLen returns the number of decimal digits of v (1 for 0).
func decLen(v uint64) int {
	t := bits.Len64(v|1) * 1233 >> 12
	if t > 0 && v < pow10[t] {
		return t
	}
	return t + 1
}

// putDigits writes v's decimal digits right-aligned into b (len(b) must
// be decLen(v)).
func putDigits(b []byte, v uint64) {
	i := len(b)
	for v >= 1e8 {
		q := v / 1e8
		put8(b[i-8:i], uint32(v-q*1e8))
		v = q
		i -= 8
	}
	w := uint32(v)
	for w >= 100 {
		r := w % 100
		w /= 100
		i -= 2
		b[i], b[i+1] = digits2[2*r], digits2[2*r+1]
	}
	if w >= 10 {
		b[i-2], b[i-1] = digits2[2*w], digits2[2*w+1]
		return
	}
	b[i-1] = byte('0' + w)
}

// divPow10 returns v / 10^i for 1 ≤ i ≤ 7 with constant divisors.
func divPow10(v uint64, i int) uint64 {
	switch i {
	case 1:
		return v / 10
	case 2:
		return v / 100
	case 3:
		return v / 1000
	case 4:
		return v / 10000
	case 5:
		return v / 100000
	case 6:
		return v / 1000000
	}
	return v / 10000000
}

// put8 writes v < 10^8 as exactly 8 digits (independent halves, so the
// divisions overlap).
func put8(b []byte, v uint32) {
	_ = b[7]
	hi, lo := v/10000, v%10000
	h1, h2 := hi/100, hi%100
	l1, l2 := lo/100, lo%100
	b[0], b[1] = digits2[2*h1], digits2[2*h1+1]
	b[2], b[3] = digits2[2*h2], digits2[2*h2+1]
	b[4], b[5] = digits2[2*l1], digits2[2*l1+1]
	b[6], b[7] = digits2[2*l2], digits2[2*l2+1]
}

// putLow writes the len(b) lowest decimal digits of v into b (zero
// padded) and returns v without them.
func putLow(b []byte, v uint64) uint64 {
	i := len(b)
	for i >= 8 {
		q := v / 1e8
		put8(b[i-8:i], uint32(v-q*1e8))
		v = q
		i -= 8
	}
	if i == 0 {
		return v
	}
	q := divPow10(v, i)
	w := uint32(v - q*pow10[i])
	for i >= 2 {
		r := w % 100
		w /= 100
		i -= 2
		b[i], b[i+1] = digits2[2*r], digits2[2*r+1]
	}
	if i == 1 {
		b[0] = byte('0' + w)
	}
	return q
}

// grow returns dst with room for n more bytes, its length extended by n.
func grow(dst []byte, n int) []byte {
	l := len(dst)
	if cap(dst)-l < n {
		nd := make([]byte, l, 2*cap(dst)+n)
		copy(nd, dst)
		dst = nd
	}
	return dst[:l+n]
}

// AppendUint appends the decimal digits of v (as strconv.AppendUint, but
// written in place).
func AppendUint(dst []byte, v uint64) []byte {
	n := decLen(v)
	dst = grow(dst, n)
	putDigits(dst[len(dst)-n:], v)
	return dst
}

// AppendInt appends the decimal form of v (as strconv.AppendInt, but
// written in place).
func AppendInt(dst []byte, v int64) []byte {
	if v < 0 {
		return AppendUint(append(dst, '-'), uint64(-v))
	}
	return AppendUint(dst, uint64(v))
}
