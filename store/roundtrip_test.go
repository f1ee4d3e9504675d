package store

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
	"github.com/pype-go/pype/domain"
)

// assertTimestampNanosUTC checks the logical type of a column as written.
func assertTimestampNanosUTC(t *testing.T, path, col string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	// Check the footer's schema element, which is what DuckDB, polars and
	// pandas read.
	var el *format.SchemaElement
	for i := range pf.Metadata().Schema {
		if pf.Metadata().Schema[i].Name == col {
			el = &pf.Metadata().Schema[i]
		}
	}
	if el == nil {
		t.Fatalf("%s: no column %q", path, col)
	}
	ts, ok := el.LogicalType.Value.(*format.TimestampType)
	if !ok {
		t.Fatalf("%s: column %q logical type = %v, want TIMESTAMP", path, col, el.LogicalType.String())
	}
	if !ts.IsAdjustedToUTC {
		t.Errorf("%s: column %q isAdjustedToUTC = false", path, col)
	}
	if _, ok := ts.Unit.Value.(*format.NanoSeconds); !ok {
		t.Errorf("%s: column %q unit = %v, want NANOS", path, col, ts.Unit.String())
	}
	if typ, _ := el.Type.Get(); typ != format.Int64 {
		t.Errorf("%s: column %q physical type %v, want INT64", path, col, typ)
	}
}

func assertDoubles(t *testing.T, path string, cols ...string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cols {
		leaf, ok := pf.Schema().Lookup(c)
		if !ok || leaf.Node.Type().Kind() != parquet.Double {
			t.Errorf("%s: column %q missing or not DOUBLE", path, c)
		}
	}
}

func TestTradesRoundTrip(t *testing.T) {
	s := openTest(t, Options{})
	var in []domain.Trade
	for i := range 5000 {
		tr := mkTrade(i)
		if i%7 == 0 {
			tr.RecvTime = tr.Time + 1234
		}
		if i%11 == 0 {
			tr.Side = domain.SideUnknown
		}
		in = append(in, tr)
	}
	// Cross a day boundary so two partitions are written.
	in = append(in, domain.Trade{ID: "99999", Time: day0 + int64(24*time.Hour) + 5, Price: dec("0.00000123"), Amount: dec("123456789.12345"), Side: domain.Sell})
	writeTrades(t, s, testProv, in)

	out := collect(t, s.ReadTrades(context.Background(), tradesID, allTime()))
	if len(out) != len(in) {
		t.Fatalf("read %d trades, wrote %d", len(out), len(in))
	}
	for i := range in {
		if !sameTrade(in[i], out[i]) {
			t.Fatalf("trade %d: got %+v, want %+v", i, out[i], in[i])
		}
	}
	p0 := filepath.Join(s.Dir(), "binance", "BTC-USDT", "trades", "2024-03-01.parquet")
	p1 := filepath.Join(s.Dir(), "binance", "BTC-USDT", "trades", "2024-03-02.parquet")
	for _, p := range []string{p0, p1} {
		assertTimestampNanosUTC(t, p, "ts")
		assertTimestampNanosUTC(t, p, "recv_ts")
		assertDoubles(t, p, "price", "amount")
	}
	if got := s.PartitionPath(tradesID, day0+5); got != p0 {
		t.Errorf("PartitionPath = %s, want %s", got, p0)
	}

	// A sub-range read.
	r := domain.Range{Start: in[100].Time, End: in[200].Time}
	sub := collect(t, s.ReadTrades(context.Background(), tradesID, r))
	if len(sub) != 100 || sub[0].ID != in[100].ID {
		t.Fatalf("sub-range read: %d trades starting %v", len(sub), sub[0].ID)
	}
}

func TestOHLCRoundTrip(t *testing.T) {
	for _, id := range []domain.DatasetID{ohlc1h, ohlc1m} {
		t.Run(id.String(), func(t *testing.T) {
			s := openTest(t, Options{})
			ctx := context.Background()
			w, err := s.OHLCWriter(id, testProv)
			if err != nil {
				t.Fatal(err)
			}
			var in []domain.OHLCBar
			for i := range 3000 {
				in = append(in, mkBar(i, id.Span, "100.75"))
			}
			if err := w.Write(ctx, in); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(ctx); err != nil {
				t.Fatal(err)
			}
			out := collect(t, s.ReadOHLC(ctx, id, allTime()))
			if len(out) != len(in) {
				t.Fatalf("read %d bars, wrote %d", len(out), len(in))
			}
			for i := range in {
				a, b := in[i], out[i]
				if a.OpenTime != b.OpenTime || a.Open.Cmp(b.Open) != 0 || a.High.Cmp(b.High) != 0 || a.Low.Cmp(b.Low) != 0 ||
					a.Close.Cmp(b.Close) != 0 || a.Volume.Cmp(b.Volume) != 0 || a.QuoteVolume.Cmp(b.QuoteVolume) != 0 || a.Trades != b.Trades || !b.Closed {
					t.Fatalf("bar %d: got %+v, want %+v", i, b, a)
				}
			}
			files, _ := filepath.Glob(filepath.Join(s.DatasetDir(id), "*.parquet"))
			if len(files) == 0 {
				t.Fatal("no files")
			}
			for _, f := range files {
				assertTimestampNanosUTC(t, f, "open_time")
				assertDoubles(t, f, "open", "high", "low", "close", "volume", "quote_volume")
			}
			wantName := map[domain.Span]string{domain.Span1h: "2024.parquet", domain.Span1m: "2024-03.parquet"}[id.Span]
			if filepath.Base(files[0]) != wantName {
				t.Errorf("first file %s, want %s", filepath.Base(files[0]), wantName)
			}
		})
	}
}

func TestBooksRoundTrip(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	w, err := s.BookWriter(bookID, testProv)
	if err != nil {
		t.Fatal(err)
	}
	var in []domain.BookSnapshot
	for i := range 50 {
		in = append(in, domain.BookSnapshot{
			Symbol: btc, Seq: int64(100 + i), Time: day0 + int64(i)*int64(time.Second), RecvTime: day0 + int64(i)*int64(time.Second) + 7,
			Bids: []domain.BookLevel{{Price: dec("100.1"), Amount: dec("1")}, {Price: dec("100.0"), Amount: dec("2.5")}, {Price: dec("99.5"), Amount: dec("0.001")}},
			Asks: []domain.BookLevel{{Price: dec("100.2"), Amount: dec("3")}, {Price: dec("100.3"), Amount: dec("4")}},
		})
	}
	if err := w.Write(ctx, in); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	out := collect(t, s.ReadBooks(ctx, bookID, allTime()))
	if len(out) != len(in) {
		t.Fatalf("read %d snapshots, wrote %d", len(out), len(in))
	}
	eq := func(a, b []domain.BookLevel) bool {
		return slices.EqualFunc(a, b, func(x, y domain.BookLevel) bool { return x.Price.Cmp(y.Price) == 0 && x.Amount.Cmp(y.Amount) == 0 })
	}
	for i := range in {
		a, b := in[i], out[i]
		if a.Time != b.Time || a.Seq != b.Seq || a.RecvTime != b.RecvTime || b.Symbol != btc || !eq(a.Bids, b.Bids) || !eq(a.Asks, b.Asks) {
			t.Fatalf("snapshot %d: got %+v, want %+v", i, b, a)
		}
	}
	f := filepath.Join(s.DatasetDir(bookID), "2024-03-01.parquet")
	assertTimestampNanosUTC(t, f, "ts")
	assertDoubles(t, f, "price", "amount")
}
