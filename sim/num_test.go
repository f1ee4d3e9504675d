package sim

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

func TestAppendFixed(t *testing.T) {
	cases := []struct {
		v        int64
		scale    int
		decimals int
		want     string
	}{
		{4231501, 2, 8, "42315.01000000"},
		{4231501, 2, -1, "42315.01"},
		{4231500, 2, -1, "42315"},
		{5, 5, 8, "0.00005000"},
		{5, 5, -1, "0.00005"},
		{50, 5, -1, "0.0005"},
		{0, 2, 8, "0.00000000"},
		{0, 2, -1, "0"},
		{123456789, 10, 8, "0.01234567"},
		{-15, 1, 2, "-1.50"},
		{7, 0, 3, "7.000"},
		{7, 0, 0, "7"},
		{1234, 3, 0, "1"},
	}
	for _, c := range cases {
		got := string(AppendFixed(nil, c.v, c.scale, c.decimals))
		if got != c.want {
			t.Errorf("AppendFixed(%d,%d,%d) = %q, want %q", c.v, c.scale, c.decimals, got, c.want)
		}
	}
}

func TestAppendFixed128(t *testing.T) {
	var u U128
	u.AddMul(1<<63, 4) // 2^65
	got := string(AppendFixed128(nil, u, 2, 2))
	if got != "368934881474191032.32" {
		t.Fatalf("got %s", got)
	}
	var s U128
	s.AddMul(3, 7)
	s.Add(U128{Lo: 1})
	if got := string(AppendFixed128(nil, s, 1, 8)); got != "2.20000000" {
		t.Fatalf("got %s", got)
	}
}

// refFixed is a slow reference for AppendFixed built on strconv.
func refFixed(v int64, scale, decimals int) string {
	neg := v < 0
	u := uint64(v)
	if neg {
		u = uint64(-v)
	}
	d := strconv.FormatUint(u, 10)
	for len(d) <= scale {
		d = "0" + d
	}
	ip, fp := d[:len(d)-scale], d[len(d)-scale:]
	switch {
	case decimals < 0:
		fp = strings.TrimRight(fp, "0")
	case decimals < len(fp):
		fp = fp[:decimals]
	default:
		fp += strings.Repeat("0", decimals-len(fp))
	}
	s := ip
	if fp != "" {
		s += "." + fp
	}
	if neg {
		s = "-" + s
	}
	return s
}

func TestAppendFixedMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	vals := []int64{0, 1, 9, 10, 99, 100, 101, 999, 1000, math.MaxInt64, math.MinInt64 + 1, -1, -100}
	for i := 0; i < 20000; i++ {
		v := int64(r.Uint64() >> r.IntN(64))
		if r.IntN(5) == 0 {
			v = -v
		}
		vals = append(vals, v)
	}
	for _, v := range vals {
		for scale := 0; scale <= 18; scale++ {
			for _, dec := range []int{-1, 0, 1, 2, 5, 8, 12, 18} {
				want := refFixed(v, scale, dec)
				if got := string(AppendFixed([]byte("x"), v, scale, dec)); got != "x"+want {
					t.Fatalf("AppendFixed(%d,%d,%d) = %q, want %q", v, scale, dec, got[1:], want)
				}
				if v >= 0 {
					if got := string(AppendFixed128(nil, U128{Lo: uint64(v)}, scale, dec)); got != want {
						t.Fatalf("AppendFixed128(%d,%d,%d) = %q, want %q", v, scale, dec, got, want)
					}
				}
			}
		}
		if got, want := string(AppendInt(nil, v)), strconv.FormatInt(v, 10); got != want {
			t.Fatalf("AppendInt(%d) = %q, want %q", v, got, want)
		}
		if got, want := string(AppendUint([]byte("ab"), uint64(v))), "ab"+strconv.FormatUint(uint64(v), 10); got != want {
			t.Fatalf("AppendUint(%d) = %q, want %q", uint64(v), got, want)
		}
	}
}

func BenchmarkAppendFixed(b *testing.B) {
	buf := make([]byte, 0, 64)
	for i := 0; i < b.N; i++ {
		buf = AppendFixed(buf[:0], 4231501+int64(i&1023), 2, 8)
	}
}
