package render

import (
	"errors"
	"strings"
	"testing"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
)

func dec(s string) decimal.Decimal { return decimal.MustParse(s) }

var t0 = int64(1704067200000000000) // 2024-01-01T00:00:00Z

func TestBarFormats(t *testing.T) {
	bar := domain.OHLCBar{OpenTime: t0, Open: dec("42000.50"), High: dec("42100.00"), Low: dec("41999.99"), Close: dec("42050.1"),
		Volume: dec("12.34500"), QuoteVolume: dec("518000.123"), Trades: 42}
	tests := []struct {
		f    Format
		want string
	}{
		{CSV, "ts_ns,open,high,low,close,volume,quote_volume,trades\n1704067200000000000,42000.5,42100,41999.99,42050.1,12.345,518000.123,42\n"},
		{JSONL, `{"ts_ns":1704067200000000000,"time":"2024-01-01T00:00:00Z","open":42000.5,"high":42100,"low":41999.99,"close":42050.1,"volume":12.345,"quote_volume":518000.123,"trades":42}` + "\n"},
		{Table, "TIME                               OPEN           HIGH            LOW          CLOSE           VOLUME       QUOTE_VOLUME   TRADES\n" +
			"2024-01-01T00:00:00.000Z        42000.5          42100       41999.99        42050.1           12.345         518000.123       42\n"},
	}
	for _, tc := range tests {
		var b strings.Builder
		w := NewBarWriter(&b, tc.f)
		if err := w.Write(bar); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if b.String() != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.f, b.String(), tc.want)
		}
	}
}

func TestTradeFormats(t *testing.T) {
	tr := domain.Trade{ID: "12345", Time: t0 + 1_500_000, Price: dec("0.05500"), Amount: dec("1.0"), Side: domain.Sell}
	tests := []struct {
		f    Format
		want string
	}{
		{CSV, "ts_ns,id,price,amount,side\n1704067200001500000,12345,0.055,1,sell\n"},
		{JSONL, `{"ts_ns":1704067200001500000,"time":"2024-01-01T00:00:00.0015Z","id":"12345","price":0.055,"amount":1,"side":"sell"}` + "\n"},
		{Table, "TIME                                 ID            PRICE           AMOUNT SIDE\n2024-01-01T00:00:00.001Z          12345            0.055                1 sell\n"},
	}
	for _, tc := range tests {
		var b strings.Builder
		w := NewTradeWriter(&b, tc.f)
		if err := w.Write(tr); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if b.String() != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.f, b.String(), tc.want)
		}
	}
}

func TestBookFormats(t *testing.T) {
	b := domain.BookSnapshot{Seq: 7, Time: t0, Bids: []domain.BookLevel{{Price: dec("100.10"), Amount: dec("2")}}, Asks: []domain.BookLevel{{Price: dec("100.20"), Amount: dec("0.50")}}}
	tests := []struct {
		f    Format
		want string
	}{
		{CSV, "ts_ns,seq,side,level,price,amount\n1704067200000000000,7,bid,1,100.1,2\n1704067200000000000,7,ask,1,100.2,0.5\n"},
		{JSONL, `{"ts_ns":1704067200000000000,"time":"2024-01-01T00:00:00Z","seq":7,"bids":[[100.1,2]],"asks":[[100.2,0.5]]}` + "\n"},
	}
	for _, tc := range tests {
		var sb strings.Builder
		w := NewBookWriter(&sb, tc.f)
		if err := w.Write(b); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if sb.String() != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.f, sb.String(), tc.want)
		}
	}
}

func TestEmptyOutputsHaveHeaders(t *testing.T) {
	var b strings.Builder
	if err := NewTradeWriter(&b, CSV).Flush(); err != nil || b.String() != "ts_ns,id,price,amount,side\n" {
		t.Fatalf("%q %v", b.String(), err)
	}
	b.Reset()
	if err := NewBarWriter(&b, CSV).Flush(); err != nil || b.String() != "ts_ns,open,high,low,close,volume,quote_volume,trades\n" {
		t.Fatalf("%q %v", b.String(), err)
	}
	b.Reset()
	if err := NewBarWriter(&b, JSONL).Flush(); err != nil || b.String() != "" {
		t.Fatalf("%q %v", b.String(), err)
	}
}

func TestParseFormat(t *testing.T) {
	if f, err := ParseFormat("CSV", Table, CSV, JSONL); err != nil || f != CSV {
		t.Fatal(f, err)
	}
	if f, err := ParseFormat("ndjson", Table, CSV, JSONL); err != nil || f != JSONL {
		t.Fatal(f, err)
	}
	_, err := ParseFormat("xml", Table, JSON)
	var fe *FormatError
	if !errors.As(err, &fe) || err.Error() != `invalid format "xml" (accepted: table, json)` {
		t.Fatal(err)
	}
}

func TestCountBytes(t *testing.T) {
	if Count(1234567) != "1,234,567" || Count(12) != "12" || Count(-1000) != "-1,000" {
		t.Fatal(Count(1234567), Count(-1000))
	}
	if Bytes(512) != "512 B" || Bytes(1536) != "1.5 KiB" || Bytes(3<<20) != "3.0 MiB" {
		t.Fatal(Bytes(1536), Bytes(3<<20))
	}
}
