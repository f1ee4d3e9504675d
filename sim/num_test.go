package sim

import "testing"

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
