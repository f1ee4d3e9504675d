package domain

import (
	"fmt"
	"math"
	"strconv"

	"github.com/govalues/decimal"
)

// ParseDecimal parses a venue decimal string, keeping its scale, with an
// error that names the field and value.
func ParseDecimal(field, s string) (decimal.Decimal, error) {
	d, err := decimal.Parse(s)
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("%s: invalid decimal %q: %w", field, s, err)
	}
	return d, nil
}

// MaxExactFloatDigits is the number of significant decimal digits that
// always survive a decimal → float64 → shortest-decimal round trip.
const MaxExactFloatDigits = 15

// Float64 converts d to the nearest float64 and reports whether the value
// survives the round trip back to the same decimal (true whenever d has at
// most 15 significant digits). Storage uses float64 columns under this rule.
func Float64(d decimal.Decimal) (f float64, exact bool) {
	f, _ = d.Float64()
	if d.Prec() <= MaxExactFloatDigits {
		return f, true
	}
	back, err := decimal.Parse(strconv.FormatFloat(f, 'g', -1, 64))
	return f, err == nil && back.Cmp(d) == 0
}

// FromFloat64 converts a stored float64 back to the shortest decimal that
// reads as f, which is the original decimal when it had ≤ 15 significant
// digits.
func FromFloat64(f float64) (decimal.Decimal, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return decimal.Decimal{}, fmt.Errorf("cannot convert %v to a decimal", f)
	}
	return decimal.Parse(strconv.FormatFloat(f, 'f', -1, 64))
}
