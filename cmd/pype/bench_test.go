package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/pype-go/pype/app/render"
	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
	"github.com/pype-go/pype/sim/simtest"
)

// TestBackfillPeakRSS measures the peak resident memory of a trade backfill
// of PYPE_RSS_TRADES trades (e.g. 10000000) run as a separate process
// against the simulator, and fails above 300 MB. It is skipped unless the
// variable is set; run it without -race:
//
//	PYPE_RSS_TRADES=10000000 go test -run TestBackfillPeakRSS -v -timeout 30m ./cmd/pype/
func TestBackfillPeakRSS(t *testing.T) {
	n, _ := strconv.ParseInt(os.Getenv("PYPE_RSS_TRADES"), 10, 64)
	if n <= 0 {
		t.Skip("set PYPE_RSS_TRADES=10000000 to run")
	}
	const rate = 1000.0 // mean aggregate trades per second
	hist := time.Duration(float64(n)/rate*float64(time.Second))*2 + 2*time.Hour
	s := simtest.Start(t, simtest.Venues("binance"), simtest.Seed(5), simtest.Now(simNow), simtest.Frozen(),
		simtest.History(hist), simtest.WeightLimit(1<<30),
		simtest.Configure(func(c *sim.Config) { c.TradesPerSecond = rate }))
	// Walk back whole hours from the last one until they hold n trades.
	sr := s.Market("binance").Series(domain.NewSymbol("BTC", "USDT"))
	to := simNow.Truncate(time.Hour)
	from := to
	var total int64
	for total < n {
		from = from.Add(-time.Hour)
		aggs, _ := sr.HourCounts(from.UnixMilli())
		total += aggs
	}
	data := t.TempDir()
	args := []string{"--data", data, "--progress", "plain", "backfill", "--venue", "binance", "--rest-url", s.REST("binance"),
		"--symbol", "BTC/USDT", "--type", "trades", "--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339)}
	raw, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), subprocessArgs+"="+string(raw))
	cmd.Stderr = os.Stderr
	start := time.Now()
	out, err := cmd.Output()
	took := time.Since(start)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	rssMB := float64(ru.Maxrss) / 1024 // KiB on Linux
	env := testEnv(t, simNow, nil)
	r := runCLI(t, env, "--data", data, "inventory", "--format", "json").must(t, 0)
	var inv []render.InventoryEntry
	if err := json.Unmarshal([]byte(r.stdout), &inv); err != nil || len(inv) != 1 {
		t.Fatalf("inventory %v %s", err, r.stdout)
	}
	rows := inv[0].Rows
	t.Logf("backfill of %s trades (%s → %s): peak RSS %.0f MB, %s, %.0f trades/s, %s on disk",
		render.Count(rows), from.Format(time.RFC3339), to.Format(time.RFC3339), rssMB, render.Duration(took), float64(rows)/took.Seconds(), render.Bytes(inv[0].Bytes))
	if rows != total {
		t.Errorf("stored %d trades, the simulator has %d", rows, total)
	}
	if rssMB > 300 {
		t.Errorf("peak RSS %.0f MB exceeds the 300 MB target", rssMB)
	}
}

// BenchmarkDemo measures the wall time of pype demo (simulator, a week of
// 1m candles for 2 symbols, a day of trades, 1 s of book, verify) into a
// fresh directory.
//
//	go test -run '^$' -bench BenchmarkDemo -benchtime 3x ./cmd/pype/
func BenchmarkDemo(b *testing.B) {
	env := environment{getenv: func(string) string { return "" }, environ: func() []string { return nil },
		userConfigDir: func() (string, error) { return b.TempDir(), nil }, now: time.Now, registry: binanceOnly,
		terminal: func(w io.Writer) bool { return false }}
	for b.Loop() {
		data := b.TempDir()
		var out, errb bytes.Buffer
		if code := runEnv(context.Background(), env, []string{"--data", data, "--progress", "none", "demo", "--book-for", "1s"}, &out, &errb); code != 0 {
			b.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
		}
	}
}
