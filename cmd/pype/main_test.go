package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/pype-go/pype/venues"
	"github.com/pype-go/pype/venues/binance"
)

var update = flag.Bool("update", false, "rewrite golden files")

// subprocessArgs is the environment variable that makes the test binary
// act as the pype command (for the kill -9 test).
const subprocessArgs = "PYPE_TEST_SUBPROCESS_ARGS"

// subprocessFileLimit caps the size of files the subprocess may write
// (RLIMIT_FSIZE, in bytes), to make writes fail as on a full disk.
const subprocessFileLimit = "PYPE_TEST_SUBPROCESS_FSIZE"

func TestMain(m *testing.M) {
	if raw := os.Getenv(subprocessArgs); raw != "" {
		var args []string
		if err := json.Unmarshal([]byte(raw), &args); err != nil {
			os.Exit(99)
		}
		if err := limitFileSize(os.Getenv(subprocessFileLimit)); err != nil {
			os.Exit(98)
		}
		ctx, stop := interruptContext()
		code := run(ctx, args, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	goleak.VerifyTestMain(m)
}

// binanceOnly is a registry with the Binance adapter alone, so outputs do
// not change as adapters are added to venues/all.
func binanceOnly() *venues.Registry {
	r := venues.NewRegistry()
	if err := r.Register(binance.Info(), func(ctx context.Context, cfg venues.Config) (venues.Venue, error) {
		return binance.Open(ctx, cfg)
	}); err != nil {
		panic(err)
	}
	return r
}

type result struct {
	code           int
	stdout, stderr string
}

// testEnv is an environment with a fixed clock, no terminal, no config
// file and an empty process environment.
func testEnv(t *testing.T, now time.Time, env map[string]string) environment {
	t.Helper()
	cfgDir := t.TempDir()
	return environment{
		getenv: func(k string) string { return env[k] },
		environ: func() []string {
			var out []string
			for k, v := range env {
				out = append(out, k+"="+v)
			}
			return out
		},
		userConfigDir: func() (string, error) { return cfgDir, nil },
		now:           func() time.Time { return now },
		registry:      binanceOnly,
		terminal:      func(io.Writer) bool { return false },
	}
}

func runCLI(t *testing.T, env environment, args ...string) result {
	t.Helper()
	return runCLICtx(t, context.Background(), env, args...)
}

func runCLICtx(t *testing.T, ctx context.Context, env environment, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := runEnv(ctx, env, args, &out, &errb)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

func (r result) must(t *testing.T, code int) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	return r
}

var (
	runIDRe    = regexp.MustCompile(`\b(\d{8}T\d{6}Z-[0-9a-f]{6}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b`)
	durationRe = regexp.MustCompile(`\bin [0-9.]+(ns|µs|ms|s|m[0-9]+s)\b`)
	sizeRe     = regexp.MustCompile(`\b[0-9.]+ (B|KiB|MiB)\b`)
)

// normalize replaces what varies between runs.
func normalize(s string, replace map[string]string) string {
	for from, to := range replace {
		s = strings.ReplaceAll(s, from, to)
	}
	s = runIDRe.ReplaceAllString(s, "RUNID")
	s = durationRe.ReplaceAllString(s, "in DURATION")
	return s
}

// golden compares got with testdata/golden/name, rewriting it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (go test -run %s -update to accept):\n--- got\n%s\n--- want\n%s", name, t.Name(), got, want)
	}
}
