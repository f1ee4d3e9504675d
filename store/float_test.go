package store

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"strings"
	"testing"

	"github.com/govalues/decimal"
	"github.com/pype-go/pype/domain"
	"pgregory.net/rapid"
)

// TestFloatRoundTripRule checks the storage rule: every decimal with at most
// 15 significant digits survives decimal → float64 → decimal exactly, and
// the fast conversions agree with domain.Float64 / domain.FromFloat64.
func TestFloatRoundTripRule(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		digits := rapid.IntRange(1, domain.MaxExactFloatDigits).Draw(rt, "digits")
		coef := rapid.Int64Range(0, int64(pow10u[digits])-1).Draw(rt, "coef")
		scale := rapid.IntRange(0, decimal.MaxScale).Draw(rt, "scale")
		if rapid.Bool().Draw(rt, "neg") {
			coef = -coef
		}
		d := decimal.MustNew(coef, scale)
		f, exact := toFloat(d)
		if !exact {
			rt.Fatalf("%s (%d digits) reported inexact", d, d.Prec())
		}
		if want, _ := domain.Float64(d); f != want {
			rt.Fatalf("toFloat(%s) = %v, domain.Float64 = %v", d, f, want)
		}
		back, err := fromFloat(f)
		if err != nil || back.Cmp(d) != 0 {
			rt.Fatalf("fromFloat(toFloat(%s)) = %s, %v", d, back, err)
		}
		ref, err := domain.FromFloat64(f)
		if err != nil || ref.Cmp(back) != 0 {
			rt.Fatalf("fromFloat(%v) = %s, domain.FromFloat64 = %s", f, back, ref)
		}
	})
}

func TestFromFloatMatchesDomain(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		f := rapid.Float64().Draw(rt, "f")
		got, err1 := fromFloat(f)
		want, err2 := domain.FromFloat64(f)
		if (err1 == nil) != (err2 == nil) {
			rt.Fatalf("fromFloat(%v) err %v, domain err %v", f, err1, err2)
		}
		if err1 == nil && got.Cmp(want) != 0 {
			rt.Fatalf("fromFloat(%v) = %s, want %s", f, got, want)
		}
	})
	// Floats near short decimals exercise the fast path and its edges.
	rapid.Check(t, func(rt *rapid.T) {
		digits := rapid.IntRange(1, 17).Draw(rt, "digits")
		coef := rapid.Int64Range(1, int64(pow10u[digits])-1).Draw(rt, "coef")
		scale := rapid.IntRange(0, decimal.MaxScale).Draw(rt, "scale")
		f, _ := decimal.MustNew(coef, scale).Float64()
		switch rapid.IntRange(0, 2).Draw(rt, "nudge") {
		case 1:
			f = math.Nextafter(f, math.Inf(1))
		case 2:
			f = math.Nextafter(f, 0)
		}
		got, err1 := fromFloat(f)
		want, err2 := domain.FromFloat64(f)
		if (err1 == nil) != (err2 == nil) || (err1 == nil && got.Cmp(want) != 0) {
			rt.Fatalf("fromFloat(%v) = %s, %v; domain %s, %v", f, got, err1, want, err2)
		}
	})
	for _, f := range []float64{0, math.Copysign(0, -1), 1e-19, 1e-20, 5e-324, 1e18, 9.2e18, 1e19, math.MaxFloat64, 123456789012345.6} {
		got, err1 := fromFloat(f)
		want, err2 := domain.FromFloat64(f)
		if (err1 == nil) != (err2 == nil) || (err1 == nil && got.Cmp(want) != 0) {
			t.Errorf("fromFloat(%v) = %s, %v; domain %s, %v", f, got, err1, want, err2)
		}
	}
	if _, ok := mustFromFloat(math.NaN()); ok {
		t.Error("NaN converted")
	}
}

func TestFloatExamples(t *testing.T) {
	for _, tc := range []struct {
		in    string
		exact bool
	}{
		{"0.1", true},
		{"67432.15", true},
		{"0.00000001", true},
		{"123456789.123456", true},       // 15 digits
		{"999999999999999", true},        // 15 digits
		{"1.500", true},                  // scale is not kept, the value is
		{"0.1234567890123456789", false}, // 19 digits
		{"12345678901234567", false},     // 17 digits, above 2^53
	} {
		d := dec(tc.in)
		f, exact := toFloat(d)
		if exact != tc.exact {
			t.Errorf("toFloat(%s) exact = %v, want %v", tc.in, exact, tc.exact)
		}
		back, _ := fromFloat(f)
		if tc.exact && back.Cmp(d) != 0 {
			t.Errorf("%s read back as %s", tc.in, back)
		}
	}
}

func TestInexactValuesWarnedAndCounted(t *testing.T) {
	var logs bytes.Buffer
	s := openTest(t, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx := context.Background()
	w, _ := s.TradeWriter(tradesID, testProv)
	tr := mkTrade(1)
	tr.Price = dec("0.1234567890123456789")
	tr2 := mkTrade(2)
	tr2.Amount = dec("1.234567890123456789")
	if err := w.Write(ctx, []domain.Trade{tr, tr2, mkTrade(3)}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := w.Stats().Inexact; got != 2 {
		t.Errorf("Inexact = %d, want 2", got)
	}
	out := logs.String()
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "0.1234567890123456789") || !strings.Contains(out, "count=2") {
		t.Errorf("warning missing or incomplete:\n%s", out)
	}
	info, _ := s.Info(ctx, tradesID)
	if p := info.Partitions[0].Provenance; len(p) != 1 || p[0].Inexact != 2 {
		t.Errorf("provenance inexact = %+v", p)
	}
}
