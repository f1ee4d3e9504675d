package bitfinex

import (
	"strconv"

	"github.com/govalues/decimal"
)

// appendDec appends d as JavaScript prints the same number.
func appendDec(dst []byte, d decimal.Decimal) []byte {
	return appendJS(dst, d.IsNeg(), d.Coef(), d.Scale())
}

// appendJS appends the number ±coef × 10^-scale as JavaScript's
// Number.prototype.toString prints it — which is how Bitfinex writes every
// price and amount: no trailing zeros, plain notation from 1e-6 up to
// 1e21, exponent notation outside ("1e-7", "5e-8", "1.5e+21").
func appendJS(dst []byte, neg bool, coef uint64, scale int) []byte {
	if coef == 0 {
		return append(dst, '0')
	}
	if neg {
		dst = append(dst, '-')
	}
	for scale > 0 && coef%10 == 0 {
		coef /= 10
		scale--
	}
	var tmp [24]byte
	digits := strconv.AppendUint(tmp[:0], coef, 10)
	k := len(digits)
	n := k - scale // value = 0.d1…dk × 10^n
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
