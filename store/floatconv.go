package store

import (
	"math"
	"strconv"

	"github.com/govalues/decimal"
	"github.com/pype-go/pype/domain"
)

// Prices and amounts are stored as float64 (DOUBLE) columns so that every
// Parquet reader sees plain numbers. The rule, shared with
// [domain.Float64]: a decimal with at most [domain.MaxExactFloatDigits] (15)
// significant digits survives decimal → float64 → shortest decimal exactly
// (the value, not the scale: "1.500" reads back as "1.5"). Values with more
// digits are stored as the nearest float64; writers count them and warn.

// pow10f holds the powers of ten that are exact in float64 (10^0 … 10^22).
var pow10f = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// pow10u holds 10^0 … 10^19 as uint64.
var pow10u = [...]uint64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

const maxExactCoef = 1<<53 - 1

// toFloat converts d to the nearest float64 and reports whether the value is
// guaranteed to read back exactly. It is [domain.Float64] with a fast path:
// when the coefficient fits in 53 bits and the scale is at most 22, both the
// coefficient and 10^scale are exact doubles and one IEEE division gives the
// correctly rounded result (Clinger's fast path), with no allocation.
func toFloat(d decimal.Decimal) (float64, bool) {
	coef, scale := d.Coef(), d.Scale()
	if coef <= maxExactCoef && scale < len(pow10f) {
		f := float64(coef) / pow10f[scale]
		if d.IsNeg() {
			f = -f
		}
		return f, coef < pow10u[domain.MaxExactFloatDigits] || exactBack(d, f)
	}
	return domain.Float64(d)
}

// exactBack reports whether f reads back as d (used only for 16-digit
// coefficients below 2^53, which sometimes survive).
func exactBack(d decimal.Decimal, f float64) bool {
	back, err := fromFloat(f)
	return err == nil && back.Cmp(d) == 0
}

// fromFloat converts a stored float64 to the shortest decimal that reads as
// f — the original decimal when it had at most 15 significant digits. It
// is [domain.FromFloat64] without the intermediate string allocation.
func fromFloat(f float64) (decimal.Decimal, error) {
	if f == 0 {
		return decimal.Decimal{}, nil
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return domain.FromFloat64(f) // returns the error
	}
	// Fast path: find the smallest scale s at which an integer c ≤ 15
	// digits gives c/10^s == f. With c < 10^15 the decimal grid is coarser
	// than the float's rounding interval, so c is unique at each scale, and
	// the smallest scale gives the shortest decimal — the one strconv's
	// shortest formatting yields.
	if a := math.Abs(f); a < 1e15 && a >= 1e-4 {
		for s := 0; s < len(pow10f) && s <= decimal.MaxScale; s++ {
			c := math.Round(a * pow10f[s])
			if c >= 1e15 {
				break
			}
			if c/pow10f[s] == a {
				v := int64(c)
				if f < 0 {
					v = -v
				}
				return decimal.New(v, s)
			}
		}
	}
	var buf [32]byte
	b := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	neg := false
	if b[0] == '-' {
		neg = true
		b = b[1:]
	}
	// b is d[.ddd]e±XX
	var coef uint64
	nd := 0
	i := 0
	for ; i < len(b) && b[i] != 'e'; i++ {
		if b[i] == '.' {
			continue
		}
		coef = coef*10 + uint64(b[i]-'0')
		nd++
	}
	exp := 0
	if i+1 < len(b) {
		e := b[i+1:]
		eneg := e[0] == '-'
		for _, c := range e[1:] {
			exp = exp*10 + int(c-'0')
		}
		if eneg {
			exp = -exp
		}
	}
	scale := nd - 1 - exp
	if scale < 0 {
		if -scale >= len(pow10u) || coef > math.MaxInt64/pow10u[-scale] {
			return domain.FromFloat64(f)
		}
		coef *= pow10u[-scale]
		scale = 0
	}
	if scale > decimal.MaxScale || coef > math.MaxInt64 {
		return domain.FromFloat64(f)
	}
	v := int64(coef)
	if neg {
		v = -v
	}
	return decimal.New(v, scale)
}

// mustFromFloat is fromFloat for values read from a file: a NaN or an
// out-of-range value becomes zero and is reported through ok.
func mustFromFloat(f float64) (decimal.Decimal, bool) {
	d, err := fromFloat(f)
	if err != nil {
		return decimal.Decimal{}, false
	}
	return d, true
}
