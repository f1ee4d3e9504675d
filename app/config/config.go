// Package config loads pype's configuration: defaults, a JSON config file,
// and environment variables, merged with koanf in that order (later wins).
// Command-line flags override all of them; the CLI applies them on top.
//
// The file (JSON; see [Example]) sets the data directory, per-venue URLs,
// request concurrency and credentials, and named jobs that `pype backfill
// --job NAME` and `pype stream --job NAME` run. It is found at --config, or
// $PYPE_CONFIG, or ./pype.json, or $XDG_CONFIG_HOME/pype/config.json
// (~/.config/pype/config.json); a missing default file is not an error.
//
// Environment variables:
//
//	PYPE_CONFIG                 config file path
//	PYPE_DATA                   data directory
//	PYPE_LOG_LEVEL              debug, info, warn or error
//	PYPE_<VENUE>_REST_URL       venue REST base URL (e.g. PYPE_BINANCE_REST_URL)
//	PYPE_<VENUE>_WS_URL         venue WebSocket base URL
//	PYPE_<VENUE>_API_KEY        venue API key (secret)
//	PYPE_<VENUE>_API_SECRET     venue API secret (secret)
//
// Secrets are best kept in the environment; [Config.Redacted] hides them
// for display and they are never logged.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/knadh/koanf/v2"
)

// DefaultDataDir is the data directory when nothing else is configured.
const DefaultDataDir = "./pype-data"

// Config is pype's configuration.
type Config struct {
	// Data is the data directory.
	Data string `koanf:"data" json:"data"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `koanf:"log_level" json:"log_level"`
	// Venues holds per-venue settings by venue name (lower case).
	Venues map[string]Venue `koanf:"venues" json:"venues,omitempty"`
	// Jobs are named backfills and streams.
	Jobs []Job `koanf:"jobs" json:"jobs,omitempty"`
	// Source lists where the configuration came from (file path, "env").
	Source []string `koanf:"-" json:"-"`
}

// Venue is one venue's settings.
type Venue struct {
	RESTURL     string `koanf:"rest_url" json:"rest_url,omitempty"`
	WSURL       string `koanf:"ws_url" json:"ws_url,omitempty"`
	Concurrency int    `koanf:"concurrency" json:"concurrency,omitempty"`
	WeightLimit int    `koanf:"weight_limit" json:"weight_limit,omitempty"`
	APIKey      string `koanf:"api_key" json:"api_key,omitempty"`
	APISecret   string `koanf:"api_secret" json:"api_secret,omitempty"`
}

// Job is a named backfill or stream. Its fields take the same values as the
// matching command-line flags; flags given on the command line win.
type Job struct {
	Name     string   `koanf:"name" json:"name"`
	Kind     string   `koanf:"kind" json:"kind,omitempty"` // backfill (default) or stream
	Venue    string   `koanf:"venue" json:"venue,omitempty"`
	Symbols  []string `koanf:"symbols" json:"symbols,omitempty"`
	Type     string   `koanf:"type" json:"type,omitempty"`
	Span     string   `koanf:"span" json:"span,omitempty"`
	From     string   `koanf:"from" json:"from,omitempty"`
	To       string   `koanf:"to" json:"to,omitempty"` // empty: now
	Depth    int      `koanf:"depth" json:"depth,omitempty"`
	Duration string   `koanf:"duration" json:"duration,omitempty"`
}

// Job returns the job called name.
func (c *Config) Job(name string) (Job, error) {
	var names []string
	for _, j := range c.Jobs {
		if j.Name == name {
			return j, nil
		}
		names = append(names, j.Name)
	}
	if len(names) == 0 {
		return Job{}, fmt.Errorf("unknown job %q: the configuration defines no jobs (add a \"jobs\" list to the config file)", name)
	}
	return Job{}, fmt.Errorf("unknown job %q (defined: %s)", name, strings.Join(names, ", "))
}

// Venue returns a venue's settings (zero if none).
func (c *Config) Venue(name string) Venue { return c.Venues[strings.ToLower(name)] }

// Redacted returns a copy with secrets replaced by "***".
func (c *Config) Redacted() Config {
	r := *c
	r.Venues = make(map[string]Venue, len(c.Venues))
	for k, v := range c.Venues {
		if v.APIKey != "" {
			v.APIKey = "***"
		}
		if v.APISecret != "" {
			v.APISecret = "***"
		}
		r.Venues[k] = v
	}
	return r
}

// Options says where to load from.
type Options struct {
	// Path is an explicit config file; it must exist. Empty means the
	// default search.
	Path string
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
	// Environ lists the environment as KEY=VALUE (for per-venue variables);
	// nil means os.Environ.
	Environ func() []string
	// UserConfigDir returns the user config directory; nil means
	// os.UserConfigDir.
	UserConfigDir func() (string, error)
}

// FileError reports an unreadable or invalid config file.
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string { return fmt.Sprintf("config file %s: %v", e.Path, e.Err) }
func (e *FileError) Unwrap() error { return e.Err }

// Load builds the configuration from defaults, the config file and the
// environment.
func Load(o Options) (*Config, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	environ := o.Environ
	if environ == nil {
		environ = os.Environ
	}
	k := koanf.New(".")
	_ = k.Load(mapProvider{"data": DefaultDataDir, "log_level": "info"}, nil)

	var sources []string
	path, explicit := o.Path, o.Path != ""
	if path == "" {
		if p := getenv("PYPE_CONFIG"); p != "" {
			path, explicit = p, true
		}
	}
	var candidates []string
	if path != "" {
		candidates = []string{path}
	} else {
		candidates = []string{"pype.json"}
		ucd := o.UserConfigDir
		if ucd == nil {
			ucd = os.UserConfigDir
		}
		if dir, err := ucd(); err == nil && dir != "" {
			candidates = append(candidates, filepath.Join(dir, "pype", "config.json"))
		}
	}
	for _, p := range candidates {
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) && !explicit {
			continue
		}
		if err != nil {
			return nil, &FileError{Path: p, Err: err}
		}
		if err := k.Load(bytesProvider(b), jsonParser{}); err != nil {
			return nil, &FileError{Path: p, Err: err}
		}
		if err := checkKeys(k.Raw()); err != nil {
			return nil, &FileError{Path: p, Err: err}
		}
		sources = append(sources, p)
		break
	}

	env := map[string]any{}
	if v := getenv("PYPE_DATA"); v != "" {
		env["data"] = v
	}
	if v := getenv("PYPE_LOG_LEVEL"); v != "" {
		env["log_level"] = v
	}
	venues := map[string]any{}
	for _, kv := range environ() {
		key, val, ok := strings.Cut(kv, "=")
		if !ok || val == "" || !strings.HasPrefix(key, "PYPE_") {
			continue
		}
		for suffix, field := range map[string]string{"_REST_URL": "rest_url", "_WS_URL": "ws_url", "_API_KEY": "api_key", "_API_SECRET": "api_secret"} {
			if name, ok := strings.CutSuffix(strings.TrimPrefix(key, "PYPE_"), suffix); ok && name != "" {
				// Read through getenv so tests can inject values.
				if v := getenv(key); v != "" {
					val = v
				}
				m, _ := venues[strings.ToLower(name)].(map[string]any)
				if m == nil {
					m = map[string]any{}
				}
				m[field] = val
				venues[strings.ToLower(name)] = m
			}
		}
	}
	if len(venues) > 0 {
		env["venues"] = venues
	}
	if len(env) > 0 {
		_ = k.Load(mapProvider(env), nil)
		sources = append(sources, "env")
	}
	var c Config
	if err := k.UnmarshalWithConf("", &c, koanf.UnmarshalConf{Tag: "koanf"}); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	lower := make(map[string]Venue, len(c.Venues))
	for name, v := range c.Venues {
		lower[strings.ToLower(name)] = v
	}
	c.Venues = lower
	c.Source = sources
	seen := map[string]bool{}
	for i, j := range c.Jobs {
		if j.Name == "" {
			return nil, fmt.Errorf("config: job %d has no name", i+1)
		}
		if seen[j.Name] {
			return nil, fmt.Errorf("config: job %q is defined twice", j.Name)
		}
		seen[j.Name] = true
		if j.Kind != "" && j.Kind != "backfill" && j.Kind != "stream" {
			return nil, fmt.Errorf("config: job %q: kind %q (accepted: backfill, stream)", j.Name, j.Kind)
		}
	}
	return &c, nil
}

var (
	topKeys   = []string{"data", "log_level", "venues", "jobs"}
	venueKeys = []string{"rest_url", "ws_url", "concurrency", "weight_limit", "api_key", "api_secret"}
	jobKeys   = []string{"name", "kind", "venue", "symbols", "type", "span", "from", "to", "depth", "duration"}
)

// checkKeys rejects unknown keys so typos do not pass silently.
func checkKeys(raw map[string]any) error {
	unknown := func(where, k string, accepted []string) error {
		return fmt.Errorf("unknown key %q%s (accepted: %s)", k, where, strings.Join(accepted, ", "))
	}
	for _, k := range sortedKeys(raw) {
		if !slices.Contains(topKeys, k) {
			return unknown("", k, topKeys)
		}
	}
	if vs, ok := raw["venues"].(map[string]any); ok {
		for _, name := range sortedKeys(vs) {
			m, ok := vs[name].(map[string]any)
			if !ok {
				return fmt.Errorf("venues.%s must be an object", name)
			}
			for _, k := range sortedKeys(m) {
				if !slices.Contains(venueKeys, k) {
					return unknown(" in venues."+name, k, venueKeys)
				}
			}
		}
	} else if raw["venues"] != nil {
		return errors.New(`"venues" must be an object keyed by venue name`)
	}
	if js, ok := raw["jobs"].([]any); ok {
		for i, j := range js {
			m, ok := j.(map[string]any)
			if !ok {
				return fmt.Errorf("jobs[%d] must be an object", i)
			}
			for _, k := range sortedKeys(m) {
				if !slices.Contains(jobKeys, k) {
					return unknown(fmt.Sprintf(" in jobs[%d]", i), k, jobKeys)
				}
			}
		}
	} else if raw["jobs"] != nil {
		return errors.New(`"jobs" must be a list`)
	}
	return nil
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// mapProvider provides a nested map.
type mapProvider map[string]any

func (m mapProvider) ReadBytes() ([]byte, error)    { return nil, errors.New("mapProvider: no bytes") }
func (m mapProvider) Read() (map[string]any, error) { return m, nil }

// bytesProvider provides raw bytes for a parser.
type bytesProvider []byte

func (b bytesProvider) ReadBytes() ([]byte, error) { return b, nil }
func (b bytesProvider) Read() (map[string]any, error) {
	return nil, errors.New("bytesProvider: needs a parser")
}

// jsonParser is a koanf parser for JSON.
type jsonParser struct{}

func (jsonParser) Unmarshal(b []byte) (map[string]any, error) {
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if dec.More() {
		return nil, errors.New("invalid JSON: more than one value")
	}
	return m, nil
}

func (jsonParser) Marshal(m map[string]any) ([]byte, error) { return json.MarshalIndent(m, "", "  ") }

// Example is a commented example configuration (JSON has no comments; the
// keys are explained in the package documentation).
const Example = `{
  "data": "./pype-data",
  "log_level": "info",
  "venues": {
    "binance": {
      "rest_url": "https://api.binance.com",
      "ws_url": "wss://stream.binance.com:9443",
      "concurrency": 4
    }
  },
  "jobs": [
    {"name": "btc-hourly", "venue": "binance", "symbols": ["BTC/USDT", "ETH/USDT"],
     "type": "ohlc", "span": "1h", "from": "2024-01-01"},
    {"name": "btc-trades-live", "kind": "stream", "venue": "binance", "symbols": ["BTC/USDT"],
     "type": "trades", "duration": "1h"}
  ]
}
`
