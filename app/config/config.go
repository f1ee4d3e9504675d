// Package config loads pype's configuration: defaults, a config file in
// YAML, TOML or JSON, and environment variables, merged with koanf in that
// order (later wins). Command-line flags override all of them; the CLI
// applies them on top.
//
// The file sets the data directory, the log level, per-venue URLs, request
// limits and credentials, and named jobs that `pype backfill --job NAME` and
// `pype stream --job NAME` run. [ExampleYAML], [ExampleTOML] and [Example]
// (JSON) show every key; docs/pype.example.yaml in the repository is the
// commented YAML example.
//
// # Formats
//
// The format follows the file extension: .yaml or .yml (YAML), .toml (TOML),
// .json (JSON); any other extension is an error. Unquoted YAML timestamps
// and TOML dates/date-times (from = 2024-01-01) are read as the same strings
// the flags take. Unknown keys are rejected with an [*UnknownKeyError]
// naming the key, where it is, the accepted keys and the likely intended
// one; a syntax error is a [*ParseError] with the line (and column, where
// the parser gives one). Both, and every other problem with the file, come
// wrapped in a [*FileError] naming the file.
//
// # Where the file is found
//
// Exactly one file is loaded, the first of:
//
//  1. --config (Options.Path); it must exist;
//  2. $PYPE_CONFIG; it must exist;
//  3. ./pype.yaml, ./pype.yml, ./pype.toml, ./pype.json (working directory);
//  4. $XDG_CONFIG_HOME/pype/config.yaml, config.yml, config.toml,
//     config.json ($XDG_CONFIG_HOME defaults to ~/.config on Linux; see
//     [os.UserConfigDir] elsewhere).
//
// A missing default file is not an error; none at all means defaults and
// environment only. Two candidates in the same directory (say ./pype.yaml
// and ./pype.json) are an error rather than a silent choice. [SearchPaths]
// lists steps 3 and 4; [Config.Source] says what was used.
//
// # Environment variables
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
// for display, and neither they nor secrets in the file are quoted in
// errors (a parse error gives the position, never the source line).
package config

import (
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
	// Path is an explicit config file; it must exist. Empty means
	// $PYPE_CONFIG, then the default search (see the package doc).
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

// FileError reports an unreadable or invalid config file: a missing
// explicit file, an unsupported extension, a [*ParseError], an
// [*UnknownKeyError], a value of the wrong type, or an invalid job.
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string { return fmt.Sprintf("config file %s: %v", e.Path, e.Err) }
func (e *FileError) Unwrap() error { return e.Err }

// UnknownKeyError reports a key the configuration does not have (usually a
// typo). It is wrapped in a [FileError] that names the file.
type UnknownKeyError struct {
	Key      string
	Section  string // "" (top level), "venues.binance", "jobs[0]", ...
	Accepted []string
}

func (e *UnknownKeyError) Error() string {
	where := ""
	if e.Section != "" {
		where = " in " + e.Section
	}
	msg := fmt.Sprintf("unknown key %q%s (accepted: %s)", e.Key, where, strings.Join(e.Accepted, ", "))
	if s := closest(e.Key, e.Accepted); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return msg
}

// SearchPaths returns the files the default search tries, in order, when
// neither Options.Path nor $PYPE_CONFIG is set: pype.yaml, pype.yml,
// pype.toml and pype.json in the working directory, then config.yaml,
// config.yml, config.toml and config.json in userConfigDir/pype
// (userConfigDir empty: none there).
func SearchPaths(userConfigDir string) []string {
	var out []string
	for _, ext := range extensions {
		out = append(out, "pype"+ext)
	}
	if userConfigDir != "" {
		for _, ext := range extensions {
			out = append(out, filepath.Join(userConfigDir, "pype", "config"+ext))
		}
	}
	return out
}

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
	path, err := findFile(o, getenv)
	if err != nil {
		return nil, err
	}
	if path != "" {
		fk, err := loadFile(path)
		if err != nil {
			return nil, &FileError{Path: path, Err: err}
		}
		_ = k.Merge(fk)
		sources = append(sources, path)
	}

	if env := envMap(getenv, environ); len(env) > 0 {
		_ = k.Load(mapProvider(env), nil)
		sources = append(sources, "env")
	}
	c, err := unmarshal(k)
	if err != nil {
		// Only string values come from the environment, and strings always
		// decode into the string fields they set: the file was checked on
		// its own above, so this is not expected. Say no more than the
		// decoder did about which key.
		return nil, fmt.Errorf("config: %w", err)
	}
	c.Source = sources
	return c, nil
}

// findFile returns the config file to load: the explicit one, or the first
// of the default search that exists ("" if none does).
func findFile(o Options, getenv func(string) string) (string, error) {
	if o.Path != "" {
		return o.Path, nil
	}
	if p := getenv("PYPE_CONFIG"); p != "" {
		return p, nil
	}
	dir := ""
	ucd := o.UserConfigDir
	if ucd == nil {
		ucd = os.UserConfigDir
	}
	if d, err := ucd(); err == nil {
		dir = d
	}
	paths := SearchPaths(dir)
	n := len(extensions)
	for i := 0; i < len(paths); i += n {
		// Within one directory, two candidates are ambiguous.
		var found []string
		for _, p := range paths[i : i+n] {
			if _, err := os.Stat(p); err == nil {
				found = append(found, p)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return "", &FileError{Path: p, Err: err}
			}
		}
		switch len(found) {
		case 0:
			continue
		case 1:
			return found[0], nil
		default:
			return "", &FileError{Path: found[0], Err: fmt.Errorf(
				"ambiguous: %s also exists; keep one of them, or choose with --config or $PYPE_CONFIG", strings.Join(found[1:], " and "))}
		}
	}
	return "", nil
}

// loadFile reads, parses and checks one config file on its own, so that
// every problem in it is reported against it.
func loadFile(path string) (*koanf.Koanf, error) {
	f, err := formatFor(path)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := f.parse(b)
	if err != nil {
		return nil, err
	}
	fk := koanf.New(".")
	if err := fk.Load(mapProvider(m), nil); err != nil {
		return nil, err
	}
	if err := checkKeys(fk.Raw()); err != nil {
		return nil, err
	}
	c, err := unmarshal(fk)
	if err != nil {
		// mapstructure's message spans lines; keep the list of problems.
		msg := strings.TrimPrefix(err.Error(), "decoding failed due to the following error(s):")
		return nil, fmt.Errorf("invalid value: %s", strings.Join(strings.Fields(msg), " "))
	}
	return fk, validate(c, fk)
}

// envMap collects the configuration from PYPE_* variables.
func envMap(getenv func(string) string, environ func() []string) map[string]any {
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
	return env
}

// unmarshal decodes k into a Config with venue names in lower case.
func unmarshal(k *koanf.Koanf) (*Config, error) {
	var c Config
	if err := k.UnmarshalWithConf("", &c, koanf.UnmarshalConf{Tag: "koanf"}); err != nil {
		return nil, err
	}
	lower := make(map[string]Venue, len(c.Venues))
	for name, v := range c.Venues {
		lower[strings.ToLower(name)] = v
	}
	c.Venues = lower
	return &c, nil
}

// validate checks what key names alone do not: jobs and venue names.
func validate(c *Config, k *koanf.Koanf) error {
	seenVenue := map[string]string{}
	for _, name := range k.MapKeys("venues") {
		if prev, ok := seenVenue[strings.ToLower(name)]; ok {
			return fmt.Errorf("venues %q and %q are the same venue (names are case-insensitive)", prev, name)
		}
		seenVenue[strings.ToLower(name)] = name
	}
	seen := map[string]bool{}
	for i, j := range c.Jobs {
		if j.Name == "" {
			return fmt.Errorf("job %d has no name", i+1)
		}
		if seen[j.Name] {
			return fmt.Errorf("job %q is defined twice", j.Name)
		}
		seen[j.Name] = true
		if j.Kind != "" && j.Kind != "backfill" && j.Kind != "stream" {
			return fmt.Errorf("job %q: kind %q (accepted: backfill, stream)", j.Name, j.Kind)
		}
	}
	return nil
}

var (
	topKeys    = []string{"data", "log_level", "venues", "jobs"}
	venueKeys  = []string{"rest_url", "ws_url", "concurrency", "weight_limit", "api_key", "api_secret"}
	secretKeys = []string{"api_key", "api_secret"}
	jobKeys    = []string{"name", "kind", "venue", "symbols", "type", "span", "from", "to", "depth", "duration"}
)

// checkKeys rejects unknown keys so typos do not pass silently, and values
// of the wrong shape before the decoder can quote them (secrets must be
// strings: a decoder error would print the value).
func checkKeys(raw map[string]any) error {
	for _, k := range sortedKeys(raw) {
		if !slices.Contains(topKeys, k) {
			return &UnknownKeyError{Key: k, Accepted: topKeys}
		}
	}
	if vs, ok := raw["venues"].(map[string]any); ok {
		for _, name := range sortedKeys(vs) {
			m, ok := vs[name].(map[string]any)
			if !ok {
				return fmt.Errorf("venues.%s must be a table/object of settings (%s)", name, strings.Join(venueKeys, ", "))
			}
			for _, k := range sortedKeys(m) {
				if !slices.Contains(venueKeys, k) {
					return &UnknownKeyError{Key: k, Section: "venues." + name, Accepted: venueKeys}
				}
				if _, isString := m[k].(string); slices.Contains(secretKeys, k) && m[k] != nil && !isString {
					return fmt.Errorf("venues.%s.%s must be a string (quote it); better, set it in the environment as PYPE_%s_%s", name, k, strings.ToUpper(name), strings.ToUpper(k))
				}
			}
		}
	} else if raw["venues"] != nil {
		return errors.New(`"venues" must be a table/object keyed by venue name`)
	}
	if js, ok := raw["jobs"].([]any); ok {
		for i, j := range js {
			m, ok := j.(map[string]any)
			if !ok {
				return fmt.Errorf("jobs[%d] must be a table/object", i)
			}
			for _, k := range sortedKeys(m) {
				if !slices.Contains(jobKeys, k) {
					return &UnknownKeyError{Key: k, Section: fmt.Sprintf("jobs[%d]", i), Accepted: jobKeys}
				}
			}
		}
	} else if raw["jobs"] != nil {
		return errors.New(`"jobs" must be a list (in TOML: [[jobs]] tables)`)
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

// closest returns the accepted key within edit distance 2 of key, if one
// is clearly the nearest.
func closest(key string, accepted []string) string {
	best, bestD, tie := "", 3, false
	for _, a := range accepted {
		switch d := distance(strings.ToLower(key), a); {
		case d < bestD:
			best, bestD, tie = a, d, false
		case d == bestD:
			tie = true
		}
	}
	if tie {
		return ""
	}
	return best
}

// distance is the Levenshtein distance between a and b (bytes).
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// mapProvider provides a nested map.
type mapProvider map[string]any

func (m mapProvider) ReadBytes() ([]byte, error)    { return nil, errors.New("mapProvider: no bytes") }
func (m mapProvider) Read() (map[string]any, error) { return m, nil }
