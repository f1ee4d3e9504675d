package config

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func opts(t *testing.T, path string, env map[string]string) Options {
	t.Helper()
	return Options{
		Path:   path,
		Getenv: func(k string) string { return env[k] },
		Environ: func() []string {
			var out []string
			for k, v := range env {
				out = append(out, k+"="+v)
			}
			return out
		},
		UserConfigDir: func() (string, error) { return t.TempDir(), nil },
	}
}

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pype.json")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaults(t *testing.T) {
	t.Chdir(t.TempDir())
	c, err := Load(opts(t, "", nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Data != DefaultDataDir || c.LogLevel != "info" || len(c.Source) != 0 {
		t.Fatalf("%+v", c)
	}
}

func TestFileThenEnv(t *testing.T) {
	p := write(t, Example)
	c, err := Load(opts(t, p, map[string]string{
		"PYPE_DATA":              "/env/data",
		"PYPE_BINANCE_REST_URL":  "http://127.0.0.1:9",
		"PYPE_BINANCE_API_KEY":   "k-123",
		"PYPE_KRAKEN_API_SECRET": "s-456",
	}))
	if err != nil {
		t.Fatal(err)
	}
	b := c.Venue("Binance")
	if c.Data != "/env/data" || b.RESTURL != "http://127.0.0.1:9" || b.WSURL != "wss://stream.binance.com:9443" || b.Concurrency != 4 || b.APIKey != "k-123" {
		t.Fatalf("%+v %+v", c, b)
	}
	if c.Venue("kraken").APISecret != "s-456" {
		t.Fatal("kraken secret from env")
	}
	j, err := c.Job("btc-hourly")
	if err != nil || j.Span != "1h" || len(j.Symbols) != 2 || j.From != "2024-01-01" {
		t.Fatalf("%+v %v", j, err)
	}
	if _, err := c.Job("nope"); err == nil || !strings.Contains(err.Error(), "defined: btc-hourly, btc-trades-live") {
		t.Fatal(err)
	}
	if len(c.Source) != 2 || c.Source[0] != p || c.Source[1] != "env" {
		t.Fatalf("sources %v", c.Source)
	}
	red, _ := json.Marshal(c.Redacted())
	if strings.Contains(string(red), "k-123") || strings.Contains(string(red), "s-456") || !strings.Contains(string(red), `"api_key":"***"`) {
		t.Fatalf("redacted: %s", red)
	}
	if c.Venue("binance").APIKey != "k-123" {
		t.Fatal("Redacted modified the original")
	}
}

func TestBadFiles(t *testing.T) {
	tests := []struct{ body, msg string }{
		{`{"data": "x", "dta": 1}`, `unknown key "dta" (accepted: data, log_level, venues, jobs)`},
		{`{"venues": {"binance": {"resturl": "x"}}}`, `unknown key "resturl" in venues.binance`},
		{`{"jobs": [{"name": "a", "symbol": "BTC/USDT"}]}`, `unknown key "symbol" in jobs[0]`},
		{`{"jobs": [{"venue": "binance"}]}`, `job 1 has no name`},
		{`{"jobs": [{"name": "a", "kind": "cron"}]}`, `kind "cron" (accepted: backfill, stream)`},
		{`{"data": `, `invalid JSON`},
	}
	for _, tc := range tests {
		_, err := Load(opts(t, write(t, tc.body), nil))
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: err = %v, want %q", tc.body, err, tc.msg)
		}
	}
	_, err := Load(opts(t, filepath.Join(t.TempDir(), "missing.json"), nil))
	var fe *FileError
	if !errors.As(err, &fe) {
		t.Fatalf("missing explicit file: %v", err)
	}
}

func TestDefaultSearchFindsLocalFile(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile("pype.json", []byte(`{"data": "local"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(opts(t, "", nil))
	if err != nil || c.Data != "local" {
		t.Fatalf("%+v %v", c, err)
	}
}
