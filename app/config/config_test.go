package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
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

// writeAs writes body to a fresh directory as name.
func writeAs(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// exampleConfig is what Example, ExampleYAML and ExampleTOML all load to.
func exampleConfig(source string) *Config {
	return &Config{
		Data:     "./pype-data",
		LogLevel: "info",
		Venues: map[string]Venue{"binance": {
			RESTURL: "https://api.binance.com", WSURL: "wss://stream.binance.com:9443", Concurrency: 4,
		}},
		Jobs: []Job{
			{Name: "btc-hourly", Kind: "backfill", Venue: "binance", Symbols: []string{"BTC/USDT", "ETH/USDT"}, Type: "ohlc", Span: "1h", From: "2024-01-01"},
			{Name: "btc-trades-live", Kind: "stream", Venue: "binance", Symbols: []string{"BTC/USDT"}, Type: "trades", Duration: "1h"},
		},
		Source: []string{source},
	}
}

func TestFormatsLoadTheSameConfig(t *testing.T) {
	docs, err := os.ReadFile(filepath.Join("..", "..", "docs", "pype.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, file, body string }{
		{"json", "pype.json", Example},
		{"yaml", "pype.yaml", ExampleYAML},
		{"yml", "config.yml", ExampleYAML},
		{"toml", "pype.toml", ExampleTOML},
		{"upper-case extension", "PYPE.YAML", ExampleYAML},
		{"docs/pype.example.yaml", "pype.yaml", string(docs)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeAs(t, tc.file, tc.body)
			c, err := Load(opts(t, p, nil))
			if err != nil {
				t.Fatal(err)
			}
			if want := exampleConfig(p); !reflect.DeepEqual(c, want) {
				t.Fatalf("got  %+v\nwant %+v", c, want)
			}
		})
	}
}

func TestDocsExampleIsExampleYAML(t *testing.T) {
	docs, err := os.ReadFile(filepath.Join("..", "..", "docs", "pype.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if string(docs) != ExampleYAML {
		t.Fatal("docs/pype.example.yaml and ExampleYAML differ; keep them identical")
	}
}

// Unquoted dates and times, which YAML and TOML parse as typed values,
// arrive as the strings the flags take.
func TestDatesAndNumbersAsStrings(t *testing.T) {
	tests := []struct{ file, body string }{
		{"pype.yaml", "jobs:\n  - name: a\n    from: 2024-01-01\n    to: 2024-02-01T12:30:00.5Z\n  - name: b\n    from: 1704067200\n    to: 2024-03-01T00:00:00+02:00\n"},
		{"pype.toml", "[[jobs]]\nname = \"a\"\nfrom = 2024-01-01\nto = 2024-02-01T12:30:00.5Z\n[[jobs]]\nname = \"b\"\nfrom = 1704067200\nto = 2024-03-01T00:00:00+02:00\n"},
		{"pype.json", `{"jobs": [{"name": "a", "from": "2024-01-01", "to": "2024-02-01T12:30:00.5Z"}, {"name": "b", "from": 1704067200, "to": "2024-03-01T00:00:00+02:00"}]}`},
	}
	for _, tc := range tests {
		c, err := Load(opts(t, writeAs(t, tc.file, tc.body), nil))
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		got := fmt.Sprint(c.Jobs[0].From, " ", c.Jobs[0].To, " ", c.Jobs[1].From, " ", c.Jobs[1].To)
		if want := "2024-01-01 2024-02-01T12:30:00.5Z 1704067200 2024-03-01T00:00:00+02:00"; got != want {
			t.Errorf("%s: %s, want %s", tc.file, got, want)
		}
	}
	// A TOML local date-time (no offset) keeps its form.
	c, err := Load(opts(t, writeAs(t, "pype.toml", "[[jobs]]\nname = \"a\"\nfrom = 2024-01-01T12:00:00\n"), nil))
	if err != nil || c.Jobs[0].From != "2024-01-01T12:00:00" {
		t.Fatalf("%+v %v", c, err)
	}
}

func TestFileThenEnv(t *testing.T) {
	for _, f := range []struct{ file, body string }{{"pype.json", Example}, {"pype.yaml", ExampleYAML}, {"pype.toml", ExampleTOML}} {
		t.Run(f.file, func(t *testing.T) {
			p := writeAs(t, f.file, f.body)
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
		})
	}
}

func TestUnknownKeys(t *testing.T) {
	tests := []struct {
		file, body     string
		key, section   string
		msg            string
		suggestionWant string
	}{
		{"pype.json", `{"data": "x", "dta": 1}`, "dta", "", `unknown key "dta" (accepted: data, log_level, venues, jobs)`, `did you mean "data"?`},
		{"pype.yaml", "data: x\ndta: 1\n", "dta", "", `unknown key "dta" (accepted: data, log_level, venues, jobs)`, `did you mean "data"?`},
		{"pype.toml", "data = \"x\"\ndta = 1\n", "dta", "", `unknown key "dta" (accepted: data, log_level, venues, jobs)`, `did you mean "data"?`},
		{"pype.json", `{"venues": {"binance": {"resturl": "x"}}}`, "resturl", "venues.binance", `unknown key "resturl" in venues.binance`, `did you mean "rest_url"?`},
		{"pype.yaml", "venues:\n  binance:\n    resturl: x\n", "resturl", "venues.binance", `unknown key "resturl" in venues.binance`, `did you mean "rest_url"?`},
		{"pype.toml", "[venues.binance]\nresturl = \"x\"\n", "resturl", "venues.binance", `unknown key "resturl" in venues.binance`, `did you mean "rest_url"?`},
		{"pype.json", `{"jobs": [{"name": "a", "symbol": "BTC/USDT"}]}`, "symbol", "jobs[0]", `unknown key "symbol" in jobs[0]`, `did you mean "symbols"?`},
		{"pype.yaml", "jobs:\n  - name: a\n    symbol: BTC/USDT\n", "symbol", "jobs[0]", `unknown key "symbol" in jobs[0]`, `did you mean "symbols"?`},
		{"pype.toml", "[[jobs]]\nname = \"a\"\nsymbol = \"BTC/USDT\"\n", "symbol", "jobs[0]", `unknown key "symbol" in jobs[0]`, `did you mean "symbols"?`},
		// A TOML classic: a top-level key after a table lands in the table.
		{"pype.toml", "[venues.binance]\nrest_url = \"x\"\nlog_level = \"debug\"\n", "log_level", "venues.binance", `unknown key "log_level" in venues.binance`, ""},
		{"pype.yaml", "venues:\n  binance:\n    colour: red\n", "colour", "venues.binance", `unknown key "colour" in venues.binance`, ""},
	}
	for _, tc := range tests {
		p := writeAs(t, tc.file, tc.body)
		_, err := Load(opts(t, p, nil))
		var fe *FileError
		var uk *UnknownKeyError
		if !errors.As(err, &fe) || fe.Path != p || !errors.As(err, &uk) || uk.Key != tc.key || uk.Section != tc.section {
			t.Errorf("%s %q: err = %#v, want FileError for %s wrapping UnknownKeyError{%s, %s}", tc.file, tc.body, err, p, tc.key, tc.section)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "config file "+p+": ") || !strings.Contains(msg, tc.msg) {
			t.Errorf("%s %q: %q, want the file and %q", tc.file, tc.body, msg, tc.msg)
		}
		if tc.suggestionWant != "" && !strings.Contains(msg, tc.suggestionWant) {
			t.Errorf("%s %q: %q, want %q", tc.file, tc.body, msg, tc.suggestionWant)
		}
		if tc.suggestionWant == "" && strings.Contains(msg, "did you mean") {
			t.Errorf("%s %q: %q suggests a far-off key", tc.file, tc.body, msg)
		}
	}
}

func TestSyntaxErrors(t *testing.T) {
	tests := []struct {
		file, body string
		format     string
		line, col  int // col 0: any
		msg        string
	}{
		{"pype.yaml", "data: x\nvenues:\n  binance:\n    rest_url: a: b\n", "YAML", 4, 0, "mapping values are not allowed"},
		{"pype.yaml", "data: x\ndata: y\n", "YAML", 0, 0, `mapping key "data" already defined at line 1`},
		{"pype.yaml", "- data\n", "YAML", 0, 0, "line 1: cannot unmarshal !!seq"},
		{"pype.yml", "data: [x\n", "YAML", 1, 0, "did not find expected ',' or ']'"},
		{"pype.toml", "data = \"x\"\n[venues.binance]\nrest_url = \n", "TOML", 3, 12, ""},
		{"pype.toml", "data = \"x\"\njobs = [\n", "TOML", 2, 8, ""},
		{"pype.json", "{\n  \"data\": \"x\",\n  \"log_level\": info\n}\n", "JSON", 3, 16, "invalid character 'i'"},
		{"pype.json", "{\n  \"data\": ", "JSON", 2, 11, "unexpected end of file"},
		{"pype.json", "[1, 2]", "JSON", 1, 1, "the top level must be an object"},
		{"pype.json", "{}\n{}\n", "JSON", 2, 1, "more than one top-level value"},
	}
	for _, tc := range tests {
		p := writeAs(t, tc.file, tc.body)
		_, err := Load(opts(t, p, nil))
		var fe *FileError
		var pe *ParseError
		if !errors.As(err, &fe) || fe.Path != p || !errors.As(err, &pe) {
			t.Errorf("%s %q: err = %v, want a FileError for %s wrapping a ParseError", tc.file, tc.body, err, p)
			continue
		}
		msg := err.Error()
		if pe.Format != tc.format || pe.Line != tc.line || (tc.col != 0 && pe.Column != tc.col) || !strings.Contains(msg, tc.msg) {
			t.Errorf("%s %q: %s at %d:%d %q, want %s at %d:%d containing %q", tc.file, tc.body, pe.Format, pe.Line, pe.Column, msg, tc.format, tc.line, tc.col, tc.msg)
		}
		if !strings.HasPrefix(msg, "config file "+p+": invalid "+tc.format) {
			t.Errorf("%q does not name the file and format", msg)
		}
		if tc.line > 0 && !strings.Contains(msg, fmt.Sprintf("at line %d", tc.line)) {
			t.Errorf("%q does not name line %d", msg, tc.line)
		}
	}
}

func TestBadFiles(t *testing.T) {
	tests := []struct{ file, body, msg string }{
		{"pype.json", `{"jobs": [{"venue": "binance"}]}`, `job 1 has no name`},
		{"pype.yaml", "jobs:\n  - name: a\n  - name: a\n", `job "a" is defined twice`},
		{"pype.toml", "[[jobs]]\nname = \"a\"\nkind = \"cron\"\n", `kind "cron" (accepted: backfill, stream)`},
		{"pype.yaml", "venues:\n  binance:\n    concurrency: four\n", `invalid value: 'venues[binance].concurrency' cannot parse value as 'int'`},
		{"pype.yaml", "venues: [binance]\n", `"venues" must be a table/object keyed by venue name`},
		{"pype.yaml", "venues:\n  binance: https://x\n", `venues.binance must be a table/object`},
		{"pype.toml", "[jobs]\nname = \"a\"\n", `"jobs" must be a list (in TOML: [[jobs]] tables)`},
		{"pype.yaml", "venues:\n  Binance: {rest_url: a}\n  binance: {ws_url: b}\n", `venues "Binance" and "binance" are the same venue`},
		{"pype.yaml", "venues:\n  binance:\n    api_key: 12345\n", `venues.binance.api_key must be a string (quote it)`},
		{"pype.conf", `{}`, `unsupported extension ".conf" (accepted: .yaml, .yml, .toml, .json)`},
		{"pype", `{}`, `no extension (accepted: .yaml, .yml, .toml, .json)`},
	}
	for _, tc := range tests {
		p := writeAs(t, tc.file, tc.body)
		_, err := Load(opts(t, p, nil))
		var fe *FileError
		if !errors.As(err, &fe) || fe.Path != p || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s %q: err = %v, want a FileError for %s containing %q", tc.file, tc.body, err, p, tc.msg)
		}
	}
	_, err := Load(opts(t, filepath.Join(t.TempDir(), "missing.yaml"), nil))
	var fe *FileError
	if !errors.As(err, &fe) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing explicit file: %v", err)
	}
	// $PYPE_CONFIG is explicit too.
	missing := filepath.Join(t.TempDir(), "missing.toml")
	o := opts(t, "", map[string]string{"PYPE_CONFIG": missing})
	if _, err := Load(o); !errors.As(err, &fe) || fe.Path != missing {
		t.Fatalf("missing $PYPE_CONFIG file: %v", err)
	}
	// A null secret (YAML "api_key:" with nothing after it) is not a wrong type.
	c, err := Load(opts(t, writeAs(t, "pype.yaml", "venues:\n  binance:\n    api_key:\n"), map[string]string{"PYPE_BINANCE_API_KEY": "k"}))
	if err != nil || c.Venue("binance").APIKey != "k" {
		t.Fatalf("%+v %v", c, err)
	}
}

// Secrets, from the environment or the file, never appear in Redacted's
// output or in errors.
func TestSecretsDoNotLeak(t *testing.T) {
	const envKey, envSecret, fileKey, fileSecret = "ENVKEY-7f3a", "ENVSECRET-9c1d", "FILEKEY-2b8e", "FILESECRET-5e0f"
	env := map[string]string{"PYPE_BINANCE_API_KEY": envKey, "PYPE_BINANCE_API_SECRET": envSecret, "PYPE_OKX_API_SECRET": envSecret}
	noLeak := func(t *testing.T, what, s string) {
		t.Helper()
		for _, secret := range []string{envKey, envSecret, fileKey, fileSecret} {
			if strings.Contains(s, secret) {
				t.Errorf("%s leaks %s: %s", what, secret, s)
			}
		}
	}
	good := map[string]string{
		"pype.yaml": "venues:\n  kraken:\n    api_key: " + fileKey + "\n    api_secret: \"" + fileSecret + "\"\n",
		"pype.toml": "[venues.kraken]\napi_key = \"" + fileKey + "\"\napi_secret = '" + fileSecret + "'\n",
		"pype.json": `{"venues": {"kraken": {"api_key": "` + fileKey + `", "api_secret": "` + fileSecret + `"}}}`,
	}
	for file, body := range good {
		t.Run(file, func(t *testing.T) {
			c, err := Load(opts(t, writeAs(t, file, body), env))
			if err != nil {
				t.Fatal(err)
			}
			if c.Venue("binance").APIKey != envKey || c.Venue("okx").APISecret != envSecret || c.Venue("kraken").APISecret != fileSecret {
				t.Fatalf("secrets not loaded: %+v", c)
			}
			r := c.Redacted()
			j, _ := json.Marshal(r)
			noLeak(t, "Redacted JSON", string(j))
			noLeak(t, "Redacted %+v", fmt.Sprintf("%+v", r))
			if r.Venue("binance").APIKey != "***" || r.Venue("kraken").APISecret != "***" || r.Venue("binance").RESTURL != "" {
				t.Errorf("redacted: %+v", r)
			}
		})
	}
	bad := []struct{ file, body string }{
		// Syntax errors on the very line holding a secret.
		{"pype.yaml", "venues:\n  binance:\n    api_key: " + fileKey + ": x\n"},
		{"pype.yaml", "venues:\n  binance:\n    api_key: \"" + fileKey + "\n"},
		{"pype.toml", "[venues.binance]\napi_key = \"" + fileKey + "\n"},
		{"pype.toml", "[venues.binance]\napi_key = " + fileKey + "\n"},
		{"pype.json", `{"venues": {"binance": {"api_key": "` + fileKey + `" "api_secret": "` + fileSecret + `"}}}`},
		// Wrong shapes and types.
		{"pype.yaml", "venues:\n  binance:\n    api_key: [" + fileKey + "]\n"},
		{"pype.toml", "[venues.binance.api_secret]\nvalue = \"" + fileSecret + "\"\n"},
		{"pype.json", `{"venues": {"binance": {"api_key": {"k": "` + fileKey + `"}}}}`},
		{"pype.yaml", "venues:\n  binance:\n    api_key: " + fileKey + "\n    concurrency: lots\n"},
		// Unknown keys next to secrets.
		{"pype.yaml", "venues:\n  binance:\n    api_key: " + fileKey + "\n    apisecret: " + fileSecret + "\n"},
		{"pype.toml", "[venues.binance]\napi_key = \"" + fileKey + "\"\napisecret = \"" + fileSecret + "\"\n"},
	}
	for _, tc := range bad {
		_, err := Load(opts(t, writeAs(t, tc.file, tc.body), env))
		if err == nil {
			t.Errorf("%s %q: no error", tc.file, tc.body)
			continue
		}
		noLeak(t, "error", err.Error())
		noLeak(t, "error %+v", fmt.Sprintf("%+v", err))
	}
}

func TestDefaultSearch(t *testing.T) {
	type files map[string]string // path relative to the working dir ("cwd/…") or user config dir ("ucd/…")
	tests := []struct {
		name  string
		files files
		want  string // relative like files; "" = none
		err   string
	}{
		{"none", nil, "", ""},
		{"local yaml", files{"cwd/pype.yaml": "data: a\n"}, "cwd/pype.yaml", ""},
		{"local yml", files{"cwd/pype.yml": "data: a\n"}, "cwd/pype.yml", ""},
		{"local toml", files{"cwd/pype.toml": "data = \"a\"\n"}, "cwd/pype.toml", ""},
		{"local json", files{"cwd/pype.json": `{"data": "a"}`}, "cwd/pype.json", ""},
		{"user yaml", files{"ucd/pype/config.yaml": "data: a\n"}, "ucd/pype/config.yaml", ""},
		{"user toml", files{"ucd/pype/config.toml": "data = \"a\"\n"}, "ucd/pype/config.toml", ""},
		{"user json", files{"ucd/pype/config.json": `{"data": "a"}`}, "ucd/pype/config.json", ""},
		{"local wins over user", files{"cwd/pype.json": `{"data": "a"}`, "ucd/pype/config.yaml": "data: b\n"}, "cwd/pype.json", ""},
		{"ambiguous local", files{"cwd/pype.yaml": "data: a\n", "cwd/pype.json": `{"data": "b"}`}, "", "config file pype.yaml: ambiguous: pype.json also exists; keep one of them, or choose with --config or $PYPE_CONFIG"},
		{"ambiguous user", files{"ucd/pype/config.yml": "data: a\n", "ucd/pype/config.toml": "data = \"b\"\n", "ucd/pype/config.json": "{}"}, "", "config.yml: ambiguous: "},
		// Other names are not picked up.
		{"others ignored", files{"cwd/config.yaml": "data: a\n", "cwd/pype.conf": "x", "ucd/pype/pype.yaml": "data: a\n"}, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cwd, ucd := t.TempDir(), t.TempDir()
			t.Chdir(cwd)
			for rel, body := range tc.files {
				p := strings.Replace(strings.Replace(rel, "cwd", cwd, 1), "ucd", ucd, 1)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			o := opts(t, "", nil)
			o.UserConfigDir = func() (string, error) { return ucd, nil }
			c, err := Load(o)
			if tc.err != "" {
				var fe *FileError
				if !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want a FileError containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := strings.Replace(strings.Replace(tc.want, "cwd/", "", 1), "ucd", ucd, 1)
			switch {
			case want == "" && (len(c.Source) != 0 || c.Data != DefaultDataDir):
				t.Fatalf("loaded %v (data %q), want none", c.Source, c.Data)
			case want != "" && (len(c.Source) != 1 || c.Source[0] != want || c.Data != "a"):
				t.Fatalf("loaded %v (data %q), want %s", c.Source, c.Data, want)
			}
		})
	}
	// No user config directory: only the working directory is searched.
	if got := SearchPaths(""); !reflect.DeepEqual(got, []string{"pype.yaml", "pype.yml", "pype.toml", "pype.json"}) {
		t.Fatal(got)
	}
	t.Chdir(t.TempDir())
	o := opts(t, "", nil)
	o.UserConfigDir = func() (string, error) { return "", errors.New("$HOME is not defined") }
	if c, err := Load(o); err != nil || len(c.Source) != 0 {
		t.Fatalf("%+v %v", c, err)
	}
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
	// An empty file is valid and changes nothing.
	for _, f := range []string{"pype.yaml", "pype.toml"} {
		c, err := Load(opts(t, writeAs(t, f, ""), nil))
		if err != nil || c.Data != DefaultDataDir || len(c.Source) != 1 {
			t.Fatalf("%s: %+v %v", f, c, err)
		}
	}
}

func TestClosest(t *testing.T) {
	tests := []struct{ key, want string }{
		{"dta", "data"}, {"Data", "data"}, {"loglevel", "log_level"}, {"venue", "venues"},
		{"job", "jobs"}, {"zzzzzz", ""}, {"", ""},
	}
	for _, tc := range tests {
		if got := closest(tc.key, topKeys); got != tc.want {
			t.Errorf("closest(%q) = %q, want %q", tc.key, got, tc.want)
		}
	}
}
