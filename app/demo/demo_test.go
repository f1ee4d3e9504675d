package demo

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRunSmall(t *testing.T) {
	dir := t.TempDir()
	var log strings.Builder
	rep, err := Run(context.Background(), Options{DataDir: dir, CandleDays: 1, TradeHours: 1, BookFor: 300 * time.Millisecond, Log: &log})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if !rep.Verify.OK() || len(rep.Datasets) != 4 || len(rep.Steps) != 4 {
		t.Fatalf("report %+v", rep)
	}
	var out strings.Builder
	if err := rep.Write(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"duckdb -c", "read_parquet('" + dir + "/binance/BTC-USDT/ohlc/1m/*.parquet')", "binance/BTC-USDT/trades"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("report lacks %q:\n%s", want, out.String())
		}
	}
	// Same market, same files: the second run fetches no history.
	rep, err = Run(context.Background(), Options{DataDir: dir, CandleDays: 1, TradeHours: 1, BookFor: 100 * time.Millisecond})
	if err != nil || rep.Steps[0].Records != 0 || rep.Steps[1].Records != 0 {
		t.Fatalf("second run %v %+v", err, rep.Steps)
	}
}
