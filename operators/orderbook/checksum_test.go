package orderbook

import (
	"errors"
	"hash/crc32"
	"testing"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
)

type fixtureCase struct {
	file      string
	symbol    domain.Symbol
	checksums int // the number of checksummed frames the capture holds
}

var (
	krakenFixtures = []fixtureCase{
		{"testdata/ws_v1_book1000_OMG-USD_snapshot_updates_checksum_cryptofeed_2021-04-17.jsonl", domain.NewSymbol("OMG", "USD"), 573},
		{"testdata/ws_v1_book1000_XBT-CHF_snapshot_updates_checksum_cryptofeed_2021-04-17.jsonl", domain.NewSymbol("BTC", "CHF"), 289},
	}
	okxFixtures = []fixtureCase{
		{"testdata/ws_books_BTC-USDT_snapshot_updates_checksum_cryptofeed_2022-05-13.jsonl", domain.NewSymbol("BTC", "USDT"), 98},
		{"testdata/ws_books_UNI-USD-SWAP_snapshot_updates_checksum_cryptofeed_2022-05-13.jsonl", domain.MustParseSymbol("UNI/USD:perp"), 93},
	}
)

type frameParser func([]byte, domain.Symbol) (domain.BookDelta, bool, error)

// replayChecksums applies every frame to a plain Book and verifies every
// checksum the venue sent, returning how many were verified.
func replayChecksums(t *testing.T, fc fixtureCase, parse frameParser, rule ChecksumRule, depth int) int {
	t.Helper()
	b := NewBook(fc.symbol)
	b.SetMaxDepth(depth)
	verified := 0
	for i, line := range readLines(t, fc.file) {
		d, ok, err := parse(line, fc.symbol)
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if !ok {
			continue
		}
		if err := b.ApplyDelta(&d); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if !d.HasChecksum {
			continue
		}
		if got := rule.Checksum(b); got != d.Checksum {
			t.Fatalf("line %d: %s checksum %d, venue sent %d; payload %q", i+1, rule.Name(), got, d.Checksum, rule.AppendPayload(nil, b))
		}
		if b.Crossed() {
			t.Fatalf("line %d: book crossed", i+1)
		}
		verified++
	}
	return verified
}

func TestKrakenV1ChecksumsOnRecordedFrames(t *testing.T) {
	for _, fc := range krakenFixtures {
		t.Run(fc.symbol.String(), func(t *testing.T) {
			if n := replayChecksums(t, fc, krakenV1Book, KrakenChecksum{}, 1000); n != fc.checksums {
				t.Fatalf("verified %d checksums, want %d", n, fc.checksums)
			}
		})
	}
}

func TestOKXChecksumsOnRecordedFrames(t *testing.T) {
	for _, fc := range okxFixtures {
		t.Run(fc.symbol.String(), func(t *testing.T) {
			if n := replayChecksums(t, fc, okxBooks, OKXChecksum{}, 0); n != fc.checksums {
				t.Fatalf("verified %d checksums, want %d", n, fc.checksums)
			}
		})
	}
}

// TestChecksumDetectsCorruption proves the recorded checksums are not
// trivially satisfied: one changed amount breaks them.
func TestChecksumDetectsCorruption(t *testing.T) {
	fc := okxFixtures[1]
	lines := readLines(t, fc.file)
	b := NewBook(fc.symbol)
	for _, line := range lines {
		d, ok, err := okxBooks(line, fc.symbol)
		if err != nil || !ok {
			continue
		}
		_ = b.ApplyDelta(&d)
		if d.Reset {
			if (OKXChecksum{}).Checksum(b) != d.Checksum {
				t.Fatal("snapshot checksum differs")
			}
			x, _ := b.BestBid()
			_ = b.Set(Bid, x.Price, decimal.MustParse(x.Amount.String()+"1"))
			if (OKXChecksum{}).Checksum(b) == d.Checksum {
				t.Fatal("a changed amount kept the checksum")
			}
			return
		}
	}
	t.Fatal("no snapshot in the fixture")
}

func TestKrakenFormatting(t *testing.T) {
	// Kraken's v2 guide: price "45285.2" → "452852", qty "0.00100000" → "100000".
	cases := []struct{ in, want string }{
		{"45285.2", "452852"},
		{"0.00100000", "100000"},
		{"0.05000", "5000"},
		{"100.0", "1000"},
		{"9.596677", "9596677"},
	}
	for _, c := range cases {
		if got := string(appendKraken(nil, d(c.in))); got != c.want {
			t.Errorf("appendKraken(%s) = %q, want %q", c.in, got, c.want)
		}
	}
	// v2 sends numbers: padding restores the pair's precision.
	b := NewBook(btcusdt)
	_ = b.Set(Ask, d("45285.2"), d("0.001"))
	_ = b.Set(Bid, d("45283.5"), d("0.5"))
	got := string((KrakenChecksum{PriceScale: 1, AmountScale: 8}).AppendPayload(nil, b))
	if want := "452852100000" + "452835" + "50000000"; got != want {
		t.Fatalf("payload %q, want %q", got, want)
	}
	if c := (KrakenChecksum{PriceScale: 1, AmountScale: 8}).Checksum(b); c != crc32.ChecksumIEEE([]byte(got)) {
		t.Fatal("checksum is not the CRC32 of the payload")
	}
}

func TestBitfinexChecksumDocsVector(t *testing.T) {
	// Bitfinex's guide: 25 highest bids and 25 lowest asks interleaved as
	// [bid.price, bid.amount, ask.price, ask.amount, ...] with ask amounts
	// negative, joined with ":", CRC32 as a signed integer. Values print as
	// JavaScript numbers. The expected CRC was computed independently
	// (Python zlib.crc32 of the string below).
	b := NewBook(btcusdt)
	_ = b.Set(Bid, d("6000.1"), d("1.5"))
	_ = b.Set(Bid, d("6000.0"), d("0.250"))
	_ = b.Set(Ask, d("6000.2"), d("2"))
	_ = b.Set(Ask, d("6000.5"), d("0.00000001"))
	const want = "6000.1:1.5:6000.2:-2:6000:0.25:6000.5:-1e-8"
	if got := string((BitfinexChecksum{}).AppendPayload(nil, b)); got != want {
		t.Fatalf("payload %q, want %q", got, want)
	}
	if got := (BitfinexChecksum{}).Checksum(b); int32(got) != 538459499 {
		t.Fatalf("checksum %d, want 538459499", int32(got))
	}
	// One side shorter than the other: the missing entries are omitted.
	_ = b.Set(Ask, d("6000.5"), d("0"))
	if got := string((BitfinexChecksum{}).AppendPayload(nil, b)); got != "6000.1:1.5:6000.2:-2:6000:0.25" {
		t.Fatalf("payload %q", got)
	}
	if got := int32((BitfinexChecksum{}).Checksum(b)); got != -319540334 {
		t.Fatalf("checksum %d, want -319540334", got)
	}
}

func TestOKXPayloadShape(t *testing.T) {
	b := NewBook(btcusdt)
	_ = b.Set(Bid, d("3366.1"), d("7"))
	_ = b.Set(Bid, d("3366"), d("6"))
	_ = b.Set(Ask, d("3366.8"), d("9"))
	_ = b.Set(Ask, d("3368"), d("8"))
	_ = b.Set(Ask, d("3370"), d("1.0"))
	if got := string((OKXChecksum{}).AppendPayload(nil, b)); got != "3366.1:7:3366.8:9:3366:6:3368:8:3370:1.0" {
		t.Fatalf("payload %q", got)
	}
	if got := string((OKXChecksum{Depth: 1}).AppendPayload(nil, b)); got != "3366.1:7:3366.8:9" {
		t.Fatalf("depth-1 payload %q", got)
	}
}

func TestAppendJSNumber(t *testing.T) {
	cases := []struct{ in, want string }{
		{"0", "0"},
		{"0.000", "0"},
		{"100", "100"},
		{"100.00", "100"},
		{"123.4500", "123.45"},
		{"-0.5", "-0.5"},
		{"0.000001", "0.000001"},
		{"0.0000001", "1e-7"},
		{"0.00000015", "1.5e-7"},
		{"-0.000000012", "-1.2e-8"},
		{"1234567890123456789", "1234567890123456789"},
		{"0.1234567890123456789", "0.1234567890123456789"},
	}
	for _, c := range cases {
		if got := string(AppendJSNumber(nil, d(c.in))); got != c.want {
			t.Errorf("AppendJSNumber(%s) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestChecksumErrorMessage(t *testing.T) {
	err := error(&ChecksumError{Rule: "okx", Venue: uint32(0xFFFFFFFF), Computed: 5, Seq: 9})
	var ce *ChecksumError
	if !errors.As(err, &ce) || ce.Error() != "orderbook: okx checksum mismatch at seq 9: venue 4294967295 (signed -1), local 5 (signed 5)" {
		t.Fatalf("%v", err)
	}
}

func BenchmarkChecksum(b *testing.B) {
	book := benchBook(1000)
	for _, r := range []ChecksumRule{KrakenChecksum{}, OKXChecksum{}, BitfinexChecksum{}} {
		b.Run(r.Name(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = r.Checksum(book)
			}
		})
	}
}
