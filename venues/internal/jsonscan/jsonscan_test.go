package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestStr(t *testing.T) {
	tests := []struct {
		in, want string
		err      string // reason substring; "" = success
		offset   int
	}{
		{`"abc"`, "abc", "", 0},
		{` "" `, "", "", 0},
		{`"a\"b"`, `a"b`, "", 0},
		{`"a\\b\/c"`, `a\b/c`, "", 0},
		{`"\b\f\n\r\t"`, "\b\f\n\r\t", "", 0},
		{`"\u0041\u00e9\u20AC"`, "Aé€", "", 0},
		{`"\ud83d\ude00!"`, "😀!", "", 0},
		{`"\ud83d"`, "\uFFFD", "", 0},        // lone high surrogate
		{`"\ud83dx"`, "\uFFFDx", "", 0},      // high surrogate, no escape after
		{`"\ude00\u0041"`, "\uFFFDA", "", 0}, // lone low surrogate
		{`"\ud83d\u0041"`, "\uFFFDA", "", 0}, // high surrogate, then not a low one
		{`"héllo \n"`, "héllo \n", "", 0},
		{`x`, "", `expected '"'`, 0},
		{`  1`, "", `expected '"'`, 2},
		{`"abc`, "", "unterminated string", 0},
		{` "a\"`, "", "unterminated string", 1},
		{`"a\`, "", "unterminated string", 0},
		{`"a\x41"`, "", "invalid string escape", 2},
		{`"a\u00g1"`, "", "invalid string escape", 2},
		{`"a\u00"`, "", "invalid string escape", 2},
		{`"\'"`, "", "invalid string escape", 1},
	}
	for _, tc := range tests {
		s := New("t", []byte(tc.in))
		got := s.Str()
		if tc.err == "" {
			if err := s.Err(); err != nil || string(got) != tc.want {
				t.Errorf("Str(%s) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
			var want string
			if err := json.Unmarshal([]byte(tc.in), &want); err != nil || want != string(got) {
				t.Errorf("Str(%s) = %q, encoding/json says %q (%v)", tc.in, got, want, err)
			}
			continue
		}
		e := s.Failure()
		if e == nil || !strings.Contains(e.Reason, tc.err) || e.Offset != tc.offset || got != nil {
			t.Errorf("Str(%s) = %q, %+v; want reason %q at %d", tc.in, got, e, tc.err, tc.offset)
		}
	}
}

func TestStrAliasesInputWithoutEscapes(t *testing.T) {
	in := []byte(`"abc"`)
	s := New("t", in)
	got := s.Str()
	if &got[0] != &in[1] {
		t.Fatal("an unescaped string was copied")
	}
}

func TestInt(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{`0`, 0, true},
		{`"42"`, 42, true},
		{` -17`, -17, true},
		{`9223372036854775807`, 1<<63 - 1, true},
		{`-9223372036854775808`, -1 << 63, true},
		{`9223372036854775808`, 0, false},
		{`-9223372036854775809`, 0, false},
		{`99999999999999999999`, 0, false},
		{`9999999999999999999`, 0, false},
		{`1.5`, 0, false},
		{`1e3`, 0, false},
		{`"-"`, 0, false},
		{`""`, 0, false},
		{`+1`, 0, false},
		{`true`, 0, false},
		{`"12x"`, 0, false},
		{`]`, 0, false},
	}
	for _, tc := range tests {
		s := New("t", []byte(tc.in))
		got := s.Int()
		if ok := s.Err() == nil; ok != tc.ok || got != tc.want {
			t.Errorf("Int(%s) = %d, %v; want %d, ok %v", tc.in, got, s.Err(), tc.want, tc.ok)
		}
	}
	// The failure points at the value, not past it.
	s := New("t", []byte(`[1, "12x"]`))
	s.EnterArray()
	s.Int()
	s.MoreArray()
	s.Int()
	if e := s.Failure(); e == nil || e.Offset != 4 || e.Reason != `invalid integer "12x"` {
		t.Fatalf("failure %+v", e)
	}
}

func TestBoolDecNull(t *testing.T) {
	s := New("t", []byte(`[true, false, "1.50", 2e-3, null, 7]`))
	var got []string
	s.EnterArray()
	got = append(got, strings.Repeat("T", b2i(s.Bool())))
	s.MoreArray()
	got = append(got, strings.Repeat("T", b2i(s.Bool())))
	s.MoreArray()
	got = append(got, s.Dec().String())
	s.MoreArray()
	got = append(got, s.Dec().String())
	s.MoreArray()
	if !s.Null() {
		t.Fatal("null not seen")
	}
	s.MoreArray()
	if s.Null() {
		t.Fatal("null seen on 7")
	}
	if s.Int() != 7 || s.MoreArray() {
		t.Fatal("7")
	}
	s.End()
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "T,,1.50,0.002" {
		t.Fatalf("got %q", got)
	}

	for _, tc := range []struct{ in, reason string }{
		{`yes`, "expected true or false"},
		{`"x"`, "expected a value"},
		{`"1.2.3"`, `invalid decimal "1.2.3"`},
		{`abc`, `invalid decimal "abc"`},
	} {
		s := New("t", []byte(tc.in))
		if strings.HasPrefix(tc.reason, "invalid decimal") {
			s.Dec()
		} else {
			s.Bool()
		}
		if e := s.Failure(); e == nil || !strings.HasPrefix(e.Reason, tc.reason) || e.Offset != 0 {
			t.Errorf("%s: failure %+v, want %q at 0", tc.in, e, tc.reason)
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestStructure walks documents with the enter/more loops, Key, Skip and
// End, and checks acceptance and the reason and offset of failures.
func TestStructure(t *testing.T) {
	deep := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	tooDeep := strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)
	tests := []struct {
		in     string
		reason string
		offset int
	}{
		{`{}`, "", 0},
		{` { "a" : [1, "x", {"b": null}, []], "c": true } `, "", 0},
		{`[]`, "", 0},
		{`[1,2,[3,[4]]]`, "", 0},
		{`"s"`, "", 0},
		{`-1.5e+3`, "", 0},
		{deep, "", 0},
		{tooDeep, "nesting too deep", MaxDepth},
		{``, "expected a value", 0},
		{`{"a" 1}`, "expected ':'", 5},
		{`{"a":1 "b":2}`, `expected ',' or '}'`, 7},
		{`[1 2]`, `expected ',' or ']'`, 3},
		{`[1,]`, "expected a value", 3},
		{`{1:2}`, `expected '"'`, 1},
		{`{"a":1`, `expected ',' or '}'`, 6},
		{`[1] x`, "unexpected data after the value", 4},
		{`{"a":"b\q"}`, "invalid string escape", 7},
	}
	for _, tc := range tests {
		s := New("doc", []byte(tc.in))
		s.Skip()
		s.End()
		e := s.Failure()
		if tc.reason == "" {
			if e != nil {
				t.Errorf("%.40s: %v", tc.in, e)
			}
			continue
		}
		if e == nil || e.Reason != tc.reason || e.Offset != tc.offset || e.What != "doc" {
			t.Errorf("%.40s: failure %+v, want %q at %d", tc.in, e, tc.reason, tc.offset)
		}
	}
}

// TestErrorLatches checks that after the first failure reads return zero
// values, loops end and the first error is kept.
func TestErrorLatches(t *testing.T) {
	s := New("latch", []byte(`[1, x, 3, 4]`))
	n := 0
	for more := s.EnterArray(); more; more = s.MoreArray() {
		s.Int()
		n++
	}
	first := s.Failure()
	if first == nil || first.Offset != 4 || n != 2 {
		t.Fatalf("failure %+v after %d elements", first, n)
	}
	if s.Int() != 0 || s.Str() != nil || s.Scalar() != nil || s.Token() != nil || s.Bool() || s.Null() ||
		!s.Dec().IsZero() || s.Key() != nil || s.Raw() != nil || s.EnterObject() || s.EnterArray() || s.MoreArray() || s.Peek() != 0 {
		t.Fatal("a read after the failure returned a value")
	}
	s.Fail("second")
	s.End()
	s.Seek(0)
	if s.Failure() != first || s.Pos() != len(s.b) {
		t.Fatalf("failure replaced or scan resumed: %+v at %d", s.Failure(), s.Pos())
	}
	var e *Error
	if err := s.Err(); !errors.As(err, &e) || e != first {
		t.Fatalf("Err() = %v", err)
	}
	if fresh := New("ok", []byte(`1`)); fresh.Err() != nil {
		t.Fatalf("a fresh scanner has error %v", fresh.Err())
	}
}

func TestErrorMessageAndNear(t *testing.T) {
	body := []byte(strings.Repeat("a", 100) + "!" + strings.Repeat("b", 100))
	s := New("big", body)
	s.FailAt(100, "bang")
	e := s.Failure()
	if len(e.Near) != 2*nearRadius || e.Near != strings.Repeat("a", 32)+"!"+strings.Repeat("b", 31) {
		t.Fatalf("near %q", e.Near)
	}
	want := `decode big: bang at byte 100 near "` + e.Near + `"`
	if e.Error() != want {
		t.Fatalf("message %q, want %q", e.Error(), want)
	}
	s = New("short", []byte("xy"))
	s.FailAt(99, "clamped")
	if e := s.Failure(); e.Offset != 2 || e.Near != "xy" {
		t.Fatalf("failure %+v", e)
	}
}

func TestRawPosSeek(t *testing.T) {
	in := []byte(`{"a": {"x":[1,2]} , "b":"q"}`)
	s := New("t", in)
	var raw []byte
	var bPos int
	for more := s.EnterObject(); more; more = s.MoreObject() {
		switch string(s.Key()) {
		case "a":
			raw = s.Raw()
		case "b":
			s.Peek()
			bPos = s.Pos()
			s.Skip()
		}
	}
	s.End()
	if s.Err() != nil || string(raw) != `{"x":[1,2]}` || in[bPos] != '"' {
		t.Fatalf("raw %q, b at %d, %v", raw, bPos, s.Err())
	}
	s = New("t", in)
	s.Seek(bPos)
	if string(s.Str()) != "q" {
		t.Fatal("seek")
	}
}

func TestZeroValue(t *testing.T) {
	var s Scanner
	if s.EnterObject() || s.Err() == nil {
		t.Fatal("the zero Scanner read something")
	}
}

// TestNoAllocations: the hot path (structure, unescaped strings, numbers,
// decimals, skipping) does not allocate.
func TestNoAllocations(t *testing.T) {
	body := []byte(`{"e":"depthUpdate","E":1672515782136,"s":"BNBBTC","U":157,"u":160,"b":[["0.0024","10"]],"a":[["0.0026","100"]],"x":{"y":[true,null]}}`)
	var sink int64
	allocs := testing.AllocsPerRun(100, func() {
		s := New("t", body)
		for more := s.EnterObject(); more; more = s.MoreObject() {
			switch string(s.Key()) {
			case "E", "U", "u":
				sink += s.Int()
			case "b", "a":
				for m := s.EnterArray(); m; m = s.MoreArray() {
					s.EnterArray()
					d := s.Dec()
					sink += int64(d.Scale())
					s.MoreArray()
					s.Dec()
					s.MoreArray()
				}
			case "s":
				sink += int64(len(s.Str()))
			default:
				s.Skip()
			}
		}
		s.End()
		if s.Err() != nil {
			t.Fatal(s.Err())
		}
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per document", allocs)
	}
	_ = sink
}

func FuzzScanner(f *testing.F) {
	for _, seed := range []string{
		`{"a":[1,"b",{"c":null}],"d":true}`,
		`"\ud83d\ude00\u0041\n\/"`,
		`"\ud83d"`,
		`[[[[[[`,
		`[1,]`,
		`{"a":"\x"}`,
		`-12.5e3`,
		strings.Repeat("[", 70) + strings.Repeat("]", 70),
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s := New("fuzz", b)
		s.Skip()
		s.End()
		err := s.Failure()
		if err != nil && (err.Offset < 0 || err.Offset > len(b) || len(err.Near) > 2*nearRadius) {
			t.Fatalf("bad failure %+v", err)
		}
		// Every valid JSON document within the depth limit is accepted.
		if json.Valid(b) && depth(b) <= MaxDepth && err != nil {
			t.Fatalf("valid %q refused: %v", b, err)
		}
		// Strings decode as encoding/json decodes them.
		if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '"' && json.Valid(t) && utf8.Valid(t) {
			var want string
			_ = json.Unmarshal(t, &want)
			s := New("str", t)
			if got := s.Str(); string(got) != want || s.Err() != nil {
				panic("string " + string(t) + " decoded as " + string(got))
			}
		}
		// Int is ParseInt of the scalar's text.
		s = New("int", b)
		n := s.Int()
		s2 := New("scalar", b)
		v, ok := ParseInt(s2.Scalar())
		if (s.Err() == nil) != (ok && s2.Err() == nil) || s.Err() == nil && v != n {
			t.Fatalf("Int(%q) = %d, %v; ParseInt %d, %v", b, n, s.Err(), v, ok)
		}
	})
}

// depth returns the deepest container nesting in a valid JSON document.
func depth(b []byte) int {
	d, m, in := 0, 0, false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case in && c == '\\':
			i++
		case c == '"':
			in = !in
		case in:
		case c == '[' || c == '{':
			d++
			m = max(m, d)
		case c == ']' || c == '}':
			d--
		}
	}
	return m
}
