package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pype-go/pype/app/apptest"
	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/venues"
)

func TestUsageErrors(t *testing.T) {
	s := frozenSim(t)
	env := testEnv(t, simNow, map[string]string{"PYPE_BINANCE_REST_URL": s.REST("binance")})
	data := t.TempDir()
	bf := []string{"--data", data, "backfill", "--venue", "binance", "--symbol", "BTC/USDT", "--type", "ohlc", "--span", "1h", "--from", "2024-05-30", "--to", "2024-05-31"}
	with := func(kv ...string) []string {
		args := append([]string(nil), bf...)
		for i := 0; i < len(kv); i += 2 {
			found := false
			for j := range args {
				if args[j] == kv[i] {
					args[j+1] = kv[i+1]
					found = true
				}
			}
			if !found {
				args = append(args, kv[i], kv[i+1])
			}
		}
		return args
	}
	tests := []struct {
		name string
		args []string
		msg  string
	}{
		{"unknown venue", with("--venue", "mtgox"), `unknown venue "mtgox" (accepted: binance)`},
		{"unknown symbol", with("--symbol", "DOGE/EUR"), "unknown symbol DOGE/EUR on binance"},
		{"bad symbol", with("--symbol", "BTCUSDT"), `invalid symbol "BTCUSDT": missing separator`},
		{"bad span", with("--span", "7x"), `invalid span "7x"`},
		{"span not served", with("--span", "2d"), "binance does not offer span 2d for ohlc (accepted: 1s, 1m"},
		{"bad type", with("--type", "quotes"), `invalid --type "quotes" (accepted: ohlc, trades, book)`},
		{"from after to", with("--from", "2024-05-31T12:00:00Z", "--to", "2024-05-30"), "invalid range: from 2024-05-31T12:00:00Z is not before to 2024-05-30T00:00:00Z"},
		{"bad time", with("--from", "yesterday"), `--from: invalid time "yesterday"`},
		{"future", with("--from", "2024-07-01", "--to", "2024-07-02"), "not in the past"},
		{"missing from", []string{"backfill", "--venue", "binance", "--symbol", "BTC/USDT", "--type", "trades"}, "--from is required"},
		{"missing venue", []string{"backfill", "--symbol", "BTC/USDT"}, "--venue is required"},
		{"span on trades", with("--type", "trades"), "--span applies to ohlc only"},
		{"unknown flag", with("--spam", "1"), "unknown flag: --spam"},
		{"bad flag value", with("--concurrency", "many"), `invalid argument "many" for "--concurrency"`},
		{"negative concurrency", with("--concurrency", "-2"), "--concurrency and --parallel must not be negative"},
		{"unknown command", []string{"backfil"}, `unknown command "backfil" for "pype"`},
		{"bad format", []string{"--data", data, "inventory", "--format", "xml"}, `invalid format "xml" (accepted: table, json)`},
		{"bad read format", []string{"--data", data, "read", "--venue", "binance", "--symbol", "BTC/USDT", "--type", "trades", "--format", "parquet"}, `invalid format "parquet" (accepted: table, csv, jsonl)`},
		{"bad log level", []string{"--log-level", "loud", "venues"}, `invalid log level "loud"`},
		{"bad progress", []string{"--progress", "fancy", "venues"}, `invalid --progress "fancy"`},
		{"book too deep", []string{"--data", data, "backfill", "--venue", "binance", "--symbol", "BTC/USDT", "--type", "book", "--depth", "9000"}, "book depth 9000 (accepted: 1 to 5000)"},
		{"book with range", []string{"--data", data, "backfill", "--venue", "binance", "--symbol", "BTC/USDT", "--type", "book", "--from", "2024-01-01"}, "--from/--to do not apply to --type book"},
		{"negative duration", []string{"--data", data, "stream", "--venue", "binance", "--symbol", "BTC/USDT", "--type", "trades", "--duration", "-1m"}, "must not be negative"},
		{"unknown job", []string{"backfill", "--job", "nightly"}, `unknown job "nightly"`},
		{"sim unknown venue", []string{"sim", "--venues", "ftx"}, `unknown simulated venue "ftx" (accepted: binance`},
		{"sim bad fault", []string{"sim", "--faults", "explode=1"}, `unknown fault "explode"`},
		{"sim truth needs now", []string{"sim", "truth", "--venue", "binance", "--symbol", "BTC/USDT", "--type", "trades"}, "--now is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, env, tc.args...).must(t, exitUsage)
			if !strings.Contains(r.stderr, tc.msg) || !strings.Contains(r.stderr, "--help' for usage") {
				t.Fatalf("stderr %q does not contain %q", r.stderr, tc.msg)
			}
		})
	}
	if entries, _ := os.ReadDir(data); len(entries) != 0 {
		t.Fatalf("bad input wrote to the data directory: %v", entries)
	}
}

func TestUsageErrorGolden(t *testing.T) {
	env := testEnv(t, simNow, nil)
	r := runCLI(t, env, "backfill", "--venue", "binance", "--symbol", "BTC/USDT", "--type", "ohlc", "--span", "1h", "--from", "2024-02-01", "--to", "2024-01-01").must(t, exitUsage)
	golden(t, "error_range.txt", r.stderr)
}

func TestHelpDocumentsExamplesAndExitCodes(t *testing.T) {
	env := testEnv(t, simNow, nil)
	for _, cmd := range [][]string{{"--help"}, {"backfill", "--help"}, {"stream", "--help"}, {"verify", "--help"}} {
		r := runCLI(t, env, cmd...).must(t, 0)
		if !strings.Contains(r.stdout, "Examples:") {
			t.Errorf("%v: no examples", cmd)
		}
		if cmd[0] != "stream" && !strings.Contains(r.stdout, "3    verification found gaps") {
			t.Errorf("%v: exit codes not documented", cmd)
		}
	}
	r := runCLI(t, env, "backfill", "--help").must(t, 0)
	golden(t, "help_backfill.txt", r.stdout)
	r = runCLI(t, env, "--version").must(t, 0)
	if r.stdout != "pype dev\n" {
		t.Fatalf("version %q", r.stdout)
	}
}

func TestVenuesTable(t *testing.T) {
	r := runCLI(t, testEnv(t, simNow, nil), "venues").must(t, 0)
	golden(t, "venues.txt", r.stdout)
	r = runCLI(t, testEnv(t, simNow, nil), "venues", "--format", "json").must(t, 0)
	if !strings.Contains(r.stdout, `"Name": "binance"`) {
		t.Fatalf("json %s", r.stdout)
	}
}

func TestUnwritableDataDir(t *testing.T) {
	s := frozenSim(t)
	env := testEnv(t, simNow, map[string]string{"PYPE_BINANCE_REST_URL": s.REST("binance")})
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, env, "--data", file, "backfill", "--venue", "binance", "--symbol", "BTC/USDT", "--type", "ohlc", "--span", "1h", "--from", "2024-05-31").must(t, exitFailure)
	if !strings.Contains(r.stderr, "data directory") || !strings.Contains(r.stderr, "not usable") {
		t.Fatalf("stderr %q", r.stderr)
	}
	if os.Geteuid() != 0 { // root ignores permissions
		ro := filepath.Join(t.TempDir(), "ro")
		if err := os.Mkdir(ro, 0o555); err != nil {
			t.Fatal(err)
		}
		r = runCLI(t, env, "--data", ro, "backfill", "--venue", "binance", "--symbol", "BTC/USDT", "--type", "ohlc", "--span", "1h", "--from", "2024-05-31").must(t, exitFailure)
		if !strings.Contains(r.stderr, "not usable") {
			t.Fatalf("stderr %q", r.stderr)
		}
	}
}

func TestCorruptFileIsReportedNeverOverwritten(t *testing.T) {
	s := frozenSim(t)
	env := testEnv(t, simNow, map[string]string{"PYPE_BINANCE_REST_URL": s.REST("binance")})
	data := t.TempDir()
	args := []string{"--data", data, "--progress", "none", "backfill", "--venue", "binance", "--symbol", "BTC/USDT", "--type", "ohlc", "--span", "1m", "--from", "2024-05-31T00:00:00Z", "--to", "2024-05-31T02:00:00Z"}
	runCLI(t, env, args...).must(t, 0)
	path := filepath.Join(data, "binance", "BTC-USDT", "ohlc", "1m", "2024-05.parquet")
	garbage := []byte("PAR1 this is not a parquet file")
	if err := os.WriteFile(path, garbage, 0o644); err != nil {
		t.Fatal(err)
	}
	args[len(args)-1] = "2024-05-31T04:00:00Z"
	r := runCLI(t, env, args...).must(t, exitFailure)
	if !strings.Contains(r.stderr, "corrupt or unreadable parquet file "+path) {
		t.Fatalf("stderr %q", r.stderr)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, garbage) {
		t.Fatal("the corrupt file was overwritten")
	}
	r = runCLI(t, env, "--data", data, "verify").must(t, exitVerify)
	if !strings.Contains(r.stdout, "FAIL") || !strings.Contains(r.stdout, path) {
		t.Fatalf("verify stdout %q", r.stdout)
	}
	r = runCLI(t, env, "--data", data, "inventory").must(t, 0)
	if !strings.Contains(r.stdout, "corrupt file "+path) {
		t.Fatalf("inventory %q", r.stdout)
	}
	r = runCLI(t, env, "--data", data, "read", "--venue", "binance", "--symbol", "BTC/USDT", "--type", "ohlc", "--span", "1m").must(t, exitFailure)
	if !strings.Contains(r.stderr, "corrupt") {
		t.Fatalf("read stderr %q", r.stderr)
	}
}

func TestVerifyExitsThreeOnGaps(t *testing.T) {
	s := frozenSim(t)
	env := testEnv(t, simNow, map[string]string{"PYPE_BINANCE_REST_URL": s.REST("binance")})
	data := t.TempDir()
	bf := func(from, to string) {
		runCLI(t, env, "--data", data, "--progress", "none", "backfill", "--venue", "binance", "--symbol", "BTC/USDT", "--type", "trades", "--from", from, "--to", to).must(t, 0)
	}
	bf("2024-05-31T00:00:00Z", "2024-05-31T00:10:00Z")
	bf("2024-05-31T00:20:00Z", "2024-05-31T00:30:00Z")
	r := runCLI(t, env, "--data", data, "verify").must(t, exitVerify)
	golden(t, "verify_gap.txt", r.stdout)
	// Backfilling the whole range fills the hole; verify passes.
	bf("2024-05-31T00:00:00Z", "2024-05-31T00:30:00Z")
	runCLI(t, env, "--data", data, "verify").must(t, 0)
	// Nothing to verify is an error, not a pass.
	r = runCLI(t, env, "--data", data, "verify", "--venue", "kraken").must(t, exitFailure)
	if !strings.Contains(r.stderr, "no dataset") {
		t.Fatalf("stderr %q", r.stderr)
	}
}

// fakeEnv is a test environment whose registry holds the apptest venue.
func fakeEnv(t *testing.T, v *apptest.Venue) environment {
	env := testEnv(t, time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), nil)
	env.registry = func() *venues.Registry {
		r := venues.NewRegistry()
		if err := v.Register(r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	return env
}

func TestInterruptedBackfillResumes(t *testing.T) {
	v := &apptest.Venue{}
	env := fakeEnv(t, v)
	data := t.TempDir()
	args := []string{"--data", data, "--progress", "plain", "backfill", "--venue", "fake", "--symbol", "BTC/USDT", "--type", "ohlc", "--span", "1m", "--from", "2024-01-01", "--to", "2024-01-03"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	paused := v.PauseAfter(1000)
	go func() {
		<-paused
		cancel() // Ctrl-C
	}()
	r := runCLICtx(t, ctx, env, args...).must(t, exitInterrupted)
	if !strings.Contains(r.stderr, "interrupted") || !strings.Contains(r.stderr, "run the same command again to resume") || !strings.Contains(r.stdout, "interrupted") {
		t.Fatalf("stdout %q\nstderr %q", r.stdout, r.stderr)
	}
	r = runCLI(t, env, args...).must(t, 0)
	if !strings.Contains(r.stdout, "2,880 rows received") && !strings.Contains(r.stdout, "1,880 rows received") {
		t.Logf("rerun: %s", r.stdout)
	}
	r = runCLI(t, env, "--data", data, "read", "--venue", "fake", "--symbol", "BTC/USDT", "--type", "ohlc", "--span", "1m", "--format", "csv").must(t, 0)
	if n := strings.Count(r.stdout, "\n") - 1; n != 2880 {
		t.Fatalf("%d bars after resume, want 2880", n)
	}
	runCLI(t, env, "--data", data, "verify").must(t, 0)
}

func TestRangeVenueCannotServe(t *testing.T) {
	v := &apptest.Venue{History: domain.HistoryRecent, RecentCount: 720}
	r := runCLI(t, fakeEnv(t, v), "--data", t.TempDir(), "backfill", "--venue", "fake", "--symbol", "BTC/USDT", "--type", "ohlc", "--span", "1h", "--from", "2023-01-01").must(t, exitUsage)
	if !strings.Contains(r.stderr, "fake serves ohlc 1h only from 2024-01-31T00:00:00Z on (recent history only), but --from is 2023-01-01T00:00:00Z") {
		t.Fatalf("stderr %q", r.stderr)
	}
}

func TestConfigFileJobsAndSecrets(t *testing.T) {
	v := &apptest.Venue{}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cfgPath := filepath.Join(dir, "pype.json")
	cfg := `{"data": "` + data + `", "venues": {"fake": {"concurrency": 2}},
	  "jobs": [{"name": "jan", "venue": "fake", "symbols": ["BTC/USDT"], "type": "ohlc", "span": "1h", "from": "2024-01-01", "to": "2024-01-02"}]}`
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	env := fakeEnv(t, v)
	secret := "sk-very-secret-123"
	env.getenv = func(k string) string {
		return map[string]string{"PYPE_CONFIG": cfgPath, "PYPE_FAKE_API_KEY": secret}[k]
	}
	env.environ = func() []string { return []string{"PYPE_CONFIG=" + cfgPath, "PYPE_FAKE_API_KEY=" + secret} }
	r := runCLI(t, env, "--log-level", "debug", "backfill", "--job", "jan").must(t, 0)
	if !strings.Contains(r.stdout, "fake/BTC-USDT/ohlc/1h") || !strings.Contains(r.stdout, "24 rows received") || !strings.Contains(r.stdout, data) {
		t.Fatalf("job run: %s", r.stdout)
	}
	// A flag overrides the job.
	r = runCLI(t, env, "backfill", "--job", "jan", "--to", "2024-01-03").must(t, 0)
	if !strings.Contains(r.stdout, "24 rows received") {
		t.Fatalf("override: %s", r.stdout)
	}
	c := runCLI(t, env, "--log-level", "debug", "config").must(t, 0)
	if strings.Contains(r.stdout+r.stderr+c.stdout+c.stderr, secret) {
		t.Fatal("a secret was printed or logged")
	}
	if !strings.Contains(c.stdout, `"api_key": "***"`) || !strings.Contains(c.stdout, `"concurrency": 2`) {
		t.Fatalf("config: %s", c.stdout)
	}
	r = runCLI(t, env, "stream", "--job", "jan").must(t, exitUsage)
	if !strings.Contains(r.stderr, `job "jan" is a backfill job`) {
		t.Fatalf("stderr %q", r.stderr)
	}
}

func TestRunUsesAllVenues(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"venues"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "binance") {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
}

func TestProgressBarMode(t *testing.T) {
	v := &apptest.Venue{Every: time.Second}
	env := fakeEnv(t, v)
	env.terminal = func(io.Writer) bool { return true }
	r := runCLI(t, env, "--data", t.TempDir(), "backfill", "--venue", "fake", "--symbol", "BTC/USDT,ETH/USDT", "--type", "trades",
		"--from", "2024-01-01", "--to", "2024-01-01T06:00:00Z").must(t, 0)
	t.Logf("bar output:\n%s", r.stdout)
	for _, want := range []string{"fake/BTC-USDT/trades", "rows/s", "100 %", "21,600 rows received"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("bar output lacks %q:\n%s", want, r.stdout)
		}
	}
}
