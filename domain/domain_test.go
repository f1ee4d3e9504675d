package domain

import (
	"errors"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/govalues/decimal"
)

func TestParseSymbol(t *testing.T) {
	tests := []struct {
		in   string
		want string
		err  bool
	}{
		{"BTC/USDT", "BTC/USDT", false},
		{"BTC-USDT", "BTC/USDT", false},
		{"btc_usdt", "BTC/USDT", false},
		{"XBT/USD", "BTC/USD", false},
		{"xbt-usd", "BTC/USD", false},
		{"BTC/USD:perp", "BTC/USD:perp", false},
		{"BTC/USD:PERP", "BTC/USD:perp", false},
		{"ETH/USD:quarter", "ETH/USD:quarter", false},
		{"ETH/USD:next_quarter", "ETH/USD:next_quarter", false},
		{"ETH/USD:spot", "ETH/USD", false},
		{" 1INCH/USDT ", "1INCH/USDT", false},
		{"", "", true},
		{"BTCUSDT", "", true},
		{"BTC/", "", true},
		{"/USDT", "", true},
		{"BTC/USDT/X", "", true},
		{"BTC/USD:weekly", "", true},
		{"BT C/USD", "", true},
		{"BTC/US$", "", true},
	}
	for _, tc := range tests {
		got, err := ParseSymbol(tc.in)
		if tc.err {
			var se *SymbolError
			if !errors.As(err, &se) {
				t.Errorf("ParseSymbol(%q) = %v, %v; want *SymbolError", tc.in, got, err)
			}
			continue
		}
		if err != nil || got.String() != tc.want {
			t.Errorf("ParseSymbol(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestParseSymbols(t *testing.T) {
	got, err := ParseSymbols("BTC/USDT, eth-usdt")
	if err != nil || len(got) != 2 || got[1] != NewSymbol("ETH", "USDT") {
		t.Fatalf("got %v %v", got, err)
	}
	if _, err := ParseSymbols(" , "); err == nil {
		t.Fatal("empty list accepted")
	}
}

func TestSpanParseString(t *testing.T) {
	for _, s := range []string{"1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M", "3M"} {
		sp, err := ParseSpan(s)
		if err != nil {
			t.Fatalf("ParseSpan(%q): %v", s, err)
		}
		if sp.String() != s {
			t.Errorf("ParseSpan(%q).String() = %q", s, sp.String())
		}
	}
	if MustParseSpan("1M") == MustParseSpan("1m") {
		t.Fatal("1M collapsed into 1m")
	}
	if !Span1M.IsMonthly() || Span1m.IsMonthly() {
		t.Fatal("IsMonthly wrong")
	}
	if MustParseSpan("60m") != Span1h || MustParseSpan("1mo") != Span1M || MustParseSpan("1D") != Span1d {
		t.Fatal("aliases")
	}
	for _, bad := range []string{"", "m", "0m", "-1m", "+1m", "1x", "1.5h", "1y", "99999999999d", "1 m"} {
		if _, err := ParseSpan(bad); err == nil {
			t.Errorf("ParseSpan(%q) accepted", bad)
		}
	}
}

func TestFloorNsNegative(t *testing.T) {
	tests := []struct{ ts, step, want int64 }{
		{0, 10, 0}, {9, 10, 0}, {10, 10, 10}, {-1, 10, -10}, {-10, 10, -10}, {-11, 10, -20},
	}
	for _, tc := range tests {
		if got := FloorNs(tc.ts, tc.step); got != tc.want {
			t.Errorf("FloorNs(%d,%d)=%d want %d", tc.ts, tc.step, got, tc.want)
		}
	}
	if CeilNs(11, 10) != 20 || CeilNs(-11, 10) != -10 {
		t.Fatal("CeilNs")
	}
}

func mustTime(t *testing.T, s string) int64 {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v.UnixNano()
}

func TestSpanFloor(t *testing.T) {
	tests := []struct {
		span     Span
		ts, want string
	}{
		{Span1h, "2024-01-01T10:59:59Z", "2024-01-01T10:00:00Z"},
		{Span4h, "2024-01-01T10:59:59Z", "2024-01-01T08:00:00Z"},
		{Span1d, "2024-03-05T23:00:00Z", "2024-03-05T00:00:00Z"},
		{Span1w, "2024-01-07T12:00:00Z", "2024-01-01T00:00:00Z"}, // Sunday → Monday
		{Span1w, "2024-01-08T00:00:00Z", "2024-01-08T00:00:00Z"},
		{Span1w, "1969-12-31T00:00:00Z", "1969-12-29T00:00:00Z"},
		{Span1M, "2024-02-29T23:59:59Z", "2024-02-01T00:00:00Z"},
		{Months(3), "2024-05-15T00:00:00Z", "2024-04-01T00:00:00Z"},
		{Span1M, "1969-12-15T00:00:00Z", "1969-12-01T00:00:00Z"},
		{Span1m, "1969-12-31T23:59:30Z", "1969-12-31T23:59:00Z"},
	}
	for _, tc := range tests {
		if got := tc.span.Floor(mustTime(t, tc.ts)); got != mustTime(t, tc.want) {
			t.Errorf("%s.Floor(%s) = %s want %s", tc.span, tc.ts, FormatNs(got), tc.want)
		}
	}
	jan := mustTime(t, "2024-01-01T00:00:00Z")
	if got := Span1M.Next(jan); got != mustTime(t, "2024-02-01T00:00:00Z") {
		t.Errorf("Next month %s", FormatNs(got))
	}
	if n := Span1M.Bars(jan, mustTime(t, "2025-01-01T00:00:00Z")); n != 12 {
		t.Errorf("Bars month = %d", n)
	}
	if n := Span1h.Bars(jan, jan+int64(time.Hour)*24); n != 24 {
		t.Errorf("Bars = %d", n)
	}
	if n := Span1h.Bars(jan+1, jan+int64(time.Hour)*24); n != 23 {
		t.Errorf("Bars from mid-bar = %d", n)
	}
}

func TestSpanFloorProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		sp := StandardSpans()[r.IntN(len(StandardSpans()))]
		ts := r.Int64N(200*365*24*int64(time.Hour)) - 100*365*24*int64(time.Hour)
		f := sp.Floor(ts)
		if f > ts || sp.Next(f) <= ts || sp.Floor(f) != f {
			t.Fatalf("%s.Floor(%d)=%d next=%d", sp, ts, f, sp.Next(f))
		}
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct{ in, want string }{
		{"2024-02-01", "2024-02-01T00:00:00Z"},
		{"2024-02-01T12:00:00Z", "2024-02-01T12:00:00Z"},
		{"2024-02-01T12:00:00", "2024-02-01T12:00:00Z"},
		{"2024-02-01T12:30", "2024-02-01T12:30:00Z"},
		{"2024-02-01 12:00:00", "2024-02-01T12:00:00Z"},
		{"2024-02-01T12:00:00+02:00", "2024-02-01T10:00:00Z"},
		{"2024-02-01T12:00:00.5Z", "2024-02-01T12:00:00.5Z"},
		{"1706788800", "2024-02-01T12:00:00Z"},
		{"1706788800000", "2024-02-01T12:00:00Z"},
	}
	for _, tc := range tests {
		got, err := ParseTime(tc.in)
		want, _ := time.Parse(time.RFC3339Nano, tc.want)
		if err != nil || got != want.UnixNano() {
			t.Errorf("ParseTime(%q) = %s, %v; want %s", tc.in, FormatNs(got), err, tc.want)
		}
	}
	for _, bad := range []string{"", "yesterday", "2024-13-01", "2024-02-01T25:00"} {
		var te *TimeError
		if _, err := ParseTime(bad); !errors.As(err, &te) {
			t.Errorf("ParseTime(%q) err = %v", bad, err)
		}
	}
}

func TestRange(t *testing.T) {
	var re *RangeError
	if err := (Range{Start: 5, End: 5}).Validate(); !errors.As(err, &re) {
		t.Fatal("empty range accepted")
	}
	if err := (Range{Start: 1, End: 5}).Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestFloat64RoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		digits := 1 + r.IntN(15)
		coef := r.Int64N(pow10(digits))
		scale := r.IntN(16)
		d := decimal.MustNew(coef, scale)
		f, exact := Float64(d)
		if !exact {
			t.Fatalf("%s reported inexact", d)
		}
		back, err := FromFloat64(f)
		if err != nil || back.Cmp(d) != 0 {
			t.Fatalf("%s -> %v -> %s (%v)", d, f, back, err)
		}
	}
	big := decimal.MustParse("1234567890.1234567891")
	if _, exact := Float64(big); exact {
		t.Fatalf("%s (20 digits) reported exact", big)
	}
}

func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}

func TestCapabilityError(t *testing.T) {
	err := error(&CapabilityError{Venue: "kraken", What: "span 2h for ohlc", Accept: "1m, 5m"})
	if !errors.Is(err, ErrNoCapability) {
		t.Fatal("not ErrNoCapability")
	}
}

func TestDatasetID(t *testing.T) {
	id := DatasetID{Venue: "binance", Symbol: NewSymbol("BTC", "USDT"), Type: OHLC, Span: Span1h}
	if id.String() != "binance/BTC-USDT/ohlc/1h" || id.Validate() != nil {
		t.Fatal(id.String(), id.Validate())
	}
	if (DatasetID{Venue: "binance", Symbol: NewSymbol("BTC", "USDT"), Type: OHLC}).Validate() == nil {
		t.Fatal("ohlc without span accepted")
	}
}

func TestParseDataTypeAndSide(t *testing.T) {
	for in, want := range map[string]DataType{"candles": OHLC, "Trades": Trades, "depth": Book} {
		if got, err := ParseDataType(in); err != nil || got != want {
			t.Errorf("%s: %v %v", in, got, err)
		}
	}
	if _, err := ParseDataType("quotes"); err == nil {
		t.Fatal("bad type accepted")
	}
	if s, _ := ParseSide("SELL"); s != Sell {
		t.Fatal("side")
	}
}

func FuzzParseSymbol(f *testing.F) {
	for _, s := range []string{"BTC/USDT", "btc_usdt", "BTC-USD:perp", "XBT/USD", ":", "/", "a/b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sym, err := ParseSymbol(s)
		if err != nil {
			return
		}
		again, err := ParseSymbol(sym.String())
		if err != nil || again != sym {
			t.Fatalf("round trip %q -> %q -> %v %v", s, sym, again, err)
		}
	})
}

func FuzzParseSpan(f *testing.F) {
	for _, s := range []string{"1m", "1M", "12h", "3d", "1w", "0m", "1mo", "9223372036854775807s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := ParseSpan(s)
		if err != nil {
			return
		}
		if !sp.Valid() {
			t.Fatalf("%q parsed to invalid span", s)
		}
		again, err := ParseSpan(sp.String())
		if err != nil || again != sp {
			t.Fatalf("round trip %q -> %s -> %v %v", s, sp, again, err)
		}
		if sp > 0 && sp.Duration() <= 0 {
			t.Fatalf("overflow %q", s)
		}
		_ = strconv.Itoa(int(sp))
	})
}
