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

// appendUintFixed is the fast path of AppendFixed (decimals ≥ scale): it
// formats v in place and inserts the point.
func appendUintFixed(dst []byte, v uint64, scale, decimals int) []byte {
	start := len(dst)
	dst = strconv.AppendUint(dst, v, 10)
	n := len(dst) - start
	if n <= scale {
		// Left-pad with zeros so there is one integer digit.
		pad := scale - n + 1
		dst = append(dst, zeros[:pad]...)
		copy(dst[start+pad:], dst[start:start+n])
		for i := start; i < start+pad; i++ {
			dst[i] = '0'
		}
	}
	if decimals == 0 {
		return dst
	}
	dst = append(dst, '.')
	end := len(dst)
	copy(dst[end-scale:], dst[end-scale-1:end-1])
	dst[end-scale-1] = '.'
	return append(dst, zeros[:decimals-scale]...)
}
