package bitfinex

import (
	"errors"
	"testing"
)

func TestScannerInt(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"1718000000000", 1718000000000, false},
		{"-42", -42, false},
		{"1.7e12", 1700000000000, false},
		{"123.0", 123, false},
		{"123.5", 0, true},
		{"1e30", 0, true},
		{"x", 0, true},
	}
	for _, tc := range tests {
		s := newScanner("test", []byte(tc.in))
		got := s.int()
		s.End()
		err := s.err()
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("int(%s) = %d, %v; want %d, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
		var de *DecodeError
		if err != nil && (!errors.As(err, &de) || de.Offset != 0 || de.Sample != tc.in) {
			t.Errorf("int(%s) error %#v: want a *DecodeError at byte 0 with the payload as sample", tc.in, err)
		}
	}
}

func TestScannerDecExponent(t *testing.T) {
	s := newScanner("test", []byte("[1e-8,116.00180000000002]"))
	var got []string
	for more := s.EnterArray(); more; more = s.MoreArray() {
		got = append(got, s.Dec().String())
	}
	s.End()
	if err := s.err(); err != nil || len(got) != 2 || got[0] != "0.00000001" || got[1] != "116.00180000000002" {
		t.Fatalf("got %v, %v; want [0.00000001 116.00180000000002]", got, err)
	}
}
