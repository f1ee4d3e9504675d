package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/pype-go/pype/app/render"
	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim/simtest"
)

// simNow is the frozen simulator's virtual now in the end-to-end tests.
var simNow = time.Date(2024, 6, 1, 0, 5, 0, 0, time.UTC)

func frozenSim(t *testing.T) *simtest.Sim {
	t.Helper()
	return simtest.Start(t, simtest.Venues("binance"), simtest.Seed(1), simtest.Now(simNow), simtest.Frozen(), simtest.History(72*time.Hour))
}

// aggTruth returns the simulator's aggregate trades (what Binance's
// aggTrades endpoint and pype's trades datasets hold) in [from, to).
func aggTruth(t *testing.T, s *simtest.Sim, sym string, from, to time.Time) []domain.Trade {
	t.Helper()
	m := s.Market("binance")
	sr := m.Series(domain.MustParseSymbol(sym))
	var out []domain.Trade
	for a := range sr.AggTradesFrom(from.UnixMilli(), m.NowMs()) {
		if a.Time >= to.UnixMilli() {
			break
		}
		side := domain.Buy
		if a.BuyerMaker {
			side = domain.Sell
		}
		out = append(out, domain.Trade{ID: strconv.FormatInt(a.ID, 10), Time: a.Time * int64(time.Millisecond), Price: sr.Price(a.Price), Amount: sr.Qty(a.Qty), Side: side})
	}
	return out
}

func mustNs(t *testing.T, s string) int64 {
	t.Helper()
	ns, err := domain.ParseTime(s)
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

func parseCSV(t *testing.T, s string) [][]string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(s)).ReadAll()
	if err != nil {
		t.Fatalf("csv: %v\n%s", err, s)
	}
	return rows
}

func TestEndToEndOnFrozenSimulator(t *testing.T) {
	s := frozenSim(t)
	data := t.TempDir()
	env := testEnv(t, simNow, map[string]string{"PYPE_BINANCE_REST_URL": s.REST("binance"), "PYPE_BINANCE_WS_URL": s.WS("binance")})
	norm := map[string]string{data: "$DATA"}
	cli := func(args ...string) result {
		return runCLI(t, env, append([]string{"--data", data, "--progress", "none"}, args...)...)
	}

	// Candles: fetched, then already complete.
	r := cli("backfill", "--venue", "binance", "--symbol", "BTC/USDT,ETH/USDT", "--type", "ohlc", "--span", "1h", "--from", "2024-05-30", "--to", "2024-06-01").must(t, 0)
	golden(t, "backfill_ohlc.txt", normalize(r.stdout, norm))
	r = cli("backfill", "--venue", "binance", "--symbol", "BTC/USDT,ETH/USDT", "--type", "ohlc", "--span", "1h", "--from", "2024-05-30", "--to", "2024-06-01").must(t, 0)
	golden(t, "backfill_ohlc_again.txt", normalize(r.stdout, norm))

	// Candles read back equal the simulator's truth.
	r = cli("read", "--venue", "binance", "--symbol", "BTC/USDT", "--type", "ohlc", "--span", "1h", "--format", "csv").must(t, 0)
	rows := parseCSV(t, r.stdout)
	if strings.Join(rows[0], ",") != "ts_ns,open,high,low,close,volume,quote_volume,trades" {
		t.Fatalf("header %v", rows[0])
	}
	bars, err := s.Truth("binance").Candles("BTC/USDT", domain.Span1h, mustNs(t, "2024-05-30"), mustNs(t, "2024-06-01"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows)-1 != len(bars) || len(bars) != 48 {
		t.Fatalf("%d rows, truth %d bars", len(rows)-1, len(bars))
	}
	for i, b := range bars {
		want := []string{strconv.FormatInt(b.OpenTime, 10), render.Decimal(b.Open), render.Decimal(b.High), render.Decimal(b.Low), render.Decimal(b.Close),
			render.Decimal(b.Volume), render.Decimal(b.QuoteVolume), strconv.FormatInt(b.Trades, 10)}
		if strings.Join(rows[i+1], ",") != strings.Join(want, ",") {
			t.Fatalf("bar %d: got %v want %v", i, rows[i+1], want)
		}
	}
	r = cli("read", "--venue", "binance", "--symbol", "BTC/USDT", "--type", "ohlc", "--span", "1h", "--from", "2024-05-31T10:00:00Z", "--to", "2024-05-31T13:00:00Z")
	golden(t, "read_ohlc_table.txt", r.must(t, 0).stdout)

	// An hour of trades.
	from, to := time.Date(2024, 5, 31, 0, 0, 0, 0, time.UTC), time.Date(2024, 5, 31, 1, 0, 0, 0, time.UTC)
	cli("backfill", "--venue", "binance", "--symbol", "BTC/USDT", "--type", "trades", "--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339)).must(t, 0)
	r = cli("read", "--venue", "binance", "--symbol", "BTC/USDT", "--type", "trades", "--format", "csv").must(t, 0)
	rows = parseCSV(t, r.stdout)
	truth := aggTruth(t, s, "BTC/USDT", from, to)
	if len(rows)-1 != len(truth) || len(truth) < 1000 {
		t.Fatalf("%d trades read, truth %d", len(rows)-1, len(truth))
	}
	for i, tr := range truth {
		want := strings.Join([]string{strconv.FormatInt(tr.Time, 10), tr.ID, render.Decimal(tr.Price), render.Decimal(tr.Amount), tr.Side.String()}, ",")
		if got := strings.Join(rows[i+1], ","); got != want {
			t.Fatalf("trade %d: got %s want %s", i, got, want)
		}
	}
	for _, f := range []string{"csv", "jsonl", "table"} {
		r = cli("read", "--venue", "binance", "--symbol", "BTC/USDT", "--type", "trades", "--format", f, "--limit", "3").must(t, 0)
		golden(t, "read_trades_"+f+".txt", r.stdout)
	}

	// Inventory and verify.
	r = cli("inventory").must(t, 0)
	golden(t, "inventory.txt", sizeRe.ReplaceAllString(normalize(r.stdout, norm), "SIZE"))
	r = cli("inventory", "--format", "json", "--type", "trades").must(t, 0)
	var inv []render.InventoryEntry
	if err := json.Unmarshal([]byte(r.stdout), &inv); err != nil || len(inv) != 1 || inv[0].Rows != int64(len(truth)) ||
		len(inv[0].Coverage) != 1 || inv[0].Coverage[0].FromNs != from.UnixNano() || inv[0].Coverage[0].ToNs != to.UnixNano() {
		t.Fatalf("inventory json %v %+v", err, inv)
	}
	r = cli("verify").must(t, 0)
	golden(t, "verify.txt", r.stdout)
	r = cli("verify", "--format", "json", "--type", "trades").must(t, 0)
	var ver []render.VerifyEntry
	if err := json.Unmarshal([]byte(r.stdout), &ver); err != nil || len(ver) != 1 || !ver[0].OK || !ver[0].IDsChecked || !ver[0].ContiguousIDs {
		t.Fatalf("verify json %v %+v", err, ver)
	}

	// A book snapshot. Binance depth snapshots carry no venue time, so the
	// row time is the (clock-offset corrected) receive time: masked.
	cli("backfill", "--venue", "binance", "--symbol", "BTC/USDT", "--type", "book", "--depth", "5").must(t, 0)
	r = cli("read", "--venue", "binance", "--symbol", "BTC/USDT", "--type", "book", "--format", "csv").must(t, 0)
	golden(t, "read_book_csv.txt", regexp.MustCompile(`(?m)^\d{19},`).ReplaceAllString(r.stdout, "TS_NS,"))

	// The files are Parquet with real timestamp columns.
	checkParquetTypes(t, filepath.Join(data, "binance", "BTC-USDT", "trades", "2024-05-31.parquet"), "ts", "id", "price")
	checkParquetTypes(t, filepath.Join(data, "binance", "BTC-USDT", "ohlc", "1h", "2024.parquet"), "open_time", "open", "volume")
}

// checkParquetTypes opens a file with parquet-go and checks, in the footer
// schema that DuckDB, polars and pandas read, that the time column is
// TIMESTAMP(NANOS, UTC), ids are UTF-8 strings and prices/amounts DOUBLE.
func checkParquetTypes(t *testing.T, path, tsCol string, cols ...string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if pf.NumRows() == 0 {
		t.Fatalf("%s: no rows", path)
	}
	elem := func(name string) *format.SchemaElement {
		for i := range pf.Metadata().Schema {
			if pf.Metadata().Schema[i].Name == name {
				return &pf.Metadata().Schema[i]
			}
		}
		t.Fatalf("%s: no column %s", path, name)
		return nil
	}
	el := elem(tsCol)
	ts, ok := el.LogicalType.Value.(*format.TimestampType)
	if !ok || !ts.IsAdjustedToUTC {
		t.Fatalf("%s: %s has logical type %v, want TIMESTAMP(NANOS, UTC)", path, tsCol, el.LogicalType.String())
	}
	if _, ok := ts.Unit.Value.(*format.NanoSeconds); !ok {
		t.Fatalf("%s: %s unit %v, want NANOS", path, tsCol, ts.Unit.String())
	}
	for _, c := range cols {
		el := elem(c)
		typ, _ := el.Type.Get()
		switch c {
		case "id":
			if _, ok := el.LogicalType.Value.(*format.StringType); !ok || typ != format.ByteArray {
				t.Errorf("%s: id is %v %v, want a UTF-8 string", path, typ, el.LogicalType.String())
			}
		default:
			if typ != format.Double {
				t.Errorf("%s: %s is %v, want DOUBLE", path, c, typ)
			}
		}
	}
}
