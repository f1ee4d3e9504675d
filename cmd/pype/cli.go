package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pype-go/pype/app"
	"github.com/pype-go/pype/app/config"
	"github.com/pype-go/pype/app/render"
	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/venues"
	"github.com/pype-go/pype/venues/all"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitVerify      = 3
	exitInterrupted = 130
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

const exitCodesHelp = `Exit codes:
  0    success
  1    runtime failure (network, disk, corrupt file, venue error)
  2    usage error (unknown command, flag, venue, symbol, span; bad time or range)
  3    verification found gaps, duplicates or rows out of order
  130  interrupted (Ctrl-C); data received so far is kept, rerun to resume`

// environment is what the CLI takes from the process; tests replace it.
type environment struct {
	getenv        func(string) string
	environ       func() []string
	userConfigDir func() (string, error)
	now           func() time.Time
	registry      func() *venues.Registry
	terminal      func(w io.Writer) bool
	// configure adjusts the App before each operation (tests).
	configure func(*app.App)
}

func defaultEnvironment() environment {
	return environment{
		getenv:        os.Getenv,
		environ:       os.Environ,
		userConfigDir: os.UserConfigDir,
		now:           time.Now,
		registry:      all.Registry,
		terminal: func(w io.Writer) bool {
			f, ok := w.(*os.File)
			return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
		},
	}
}

// run is the CLI: it parses args, runs the command and returns the exit
// code. Tests call it directly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runEnv(ctx, defaultEnvironment(), args, stdout, stderr)
}

func runEnv(ctx context.Context, env environment, args []string, stdout, stderr io.Writer) int {
	c := &cli{env: env, stdout: stdout, stderr: stderr}
	root := c.rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	for _, f := range c.closers {
		if cerr := f(); cerr != nil {
			fmt.Fprintf(stderr, "pype: %v\n", cerr)
		}
	}
	if err == nil {
		return exitOK
	}
	var ve *verifyFailed
	switch {
	case errors.As(err, &ve):
		return exitVerify
	case isUsage(err):
		fmt.Fprintf(stderr, "pype: %v\n", err)
		cmd := c.current
		if cmd == nil {
			cmd = root
		}
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return exitUsage
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		fmt.Fprintf(stderr, "pype: interrupted: %v\n", trimCtx(err))
		fmt.Fprintln(stderr, "pype: what was received is saved; run the same command again to resume")
		return exitInterrupted
	default:
		fmt.Fprintf(stderr, "pype: %v\n", err)
		return exitFailure
	}
}

// trimCtx drops the trailing "context canceled" noise from joined errors.
func trimCtx(err error) string {
	var keep []string
	for _, line := range strings.Split(err.Error(), "\n") {
		if line != "" && line != context.Canceled.Error() {
			keep = append(keep, line)
		}
	}
	if len(keep) == 0 {
		return context.Canceled.Error()
	}
	return strings.Join(keep, "; ")
}

// summarized replaces a long error already reported line by line (per
// dataset) with a short message; errors.Is/As still see the original.
type summarized struct {
	err error
	msg string
}

func (e *summarized) Error() string { return e.msg }
func (e *summarized) Unwrap() error { return e.err }

// usageError marks a bad command line.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return &usageError{fmt.Errorf(format, args...)} }

// verifyFailed is returned by verify when a dataset failed; the report has
// been printed.
type verifyFailed struct{ failed, total int }

func (e *verifyFailed) Error() string {
	return fmt.Sprintf("%d of %d dataset(s) failed verification", e.failed, e.total)
}

func isUsage(err error) bool {
	var ue *usageError
	var fe *render.FormatError
	var ce *config.FileError
	if errors.As(err, &ue) || errors.As(err, &fe) || errors.As(err, &ce) || app.IsUsageError(err) {
		return true
	}
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "required flag", "invalid argument", "accepts ", "flag needs an argument"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// cli holds the global flags and what the root command loaded.
type cli struct {
	env            environment
	stdout, stderr io.Writer
	current        *cobra.Command

	configPath string
	dataDir    string
	logLevel   string
	progress   string
	quiet      bool

	cfg     *config.Config
	log     *slog.Logger
	closers []func() error
}

func (c *cli) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "pype",
		Short: "Collect complete, verified crypto market data into Parquet files",
		Long: `pype fetches candles, trades and order books from crypto venues into
Parquet files (one dataset per venue, symbol, data type and span) that DuckDB,
polars and pandas read directly. Backfills resume where they stopped and
refill holes; streams keep data current; inventory and verify show what you
have and prove it is complete.

Start with "pype demo": it runs offline on the built-in exchange simulator.

` + exitCodesHelp,
		Example: `  pype demo
  pype venues
  pype backfill --venue binance --symbol BTC/USDT,ETH/USDT --type ohlc --span 1h --from 2024-01-01
  pype stream --venue binance --symbol BTC/USDT --type trades --duration 10m
  pype read --venue binance --symbol BTC/USDT --type ohlc --span 1h --from 2024-01-01 --format csv
  pype inventory
  pype verify`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			c.current = cmd
			return c.setup(cmd)
		},
	}
	root.SetVersionTemplate("pype {{.Version}}\n")
	pf := root.PersistentFlags()
	pf.StringVar(&c.configPath, "config", "", "config file: .yaml/.yml, .toml or .json (default $PYPE_CONFIG, then ./pype.{yaml,yml,toml,json}, then ~/.config/pype/config.{yaml,yml,toml,json})")
	pf.StringVar(&c.dataDir, "data", "", "data directory (default from config, $PYPE_DATA, or "+config.DefaultDataDir+")")
	pf.StringVar(&c.logLevel, "log-level", "", "log level: debug, info, warn, error (default info)")
	pf.StringVar(&c.progress, "progress", "auto", "progress display: auto (bar on a terminal, log lines otherwise), bar, plain, none")
	pf.BoolVarP(&c.quiet, "quiet", "q", false, "no progress output, only results and errors")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		c.current = cmd
		return &usageError{err}
	})
	root.AddCommand(c.venuesCommand(), c.backfillCommand(), c.streamCommand(), c.readCommand(),
		c.inventoryCommand(), c.verifyCommand(), c.runsCommand(), c.simCommand(), c.demoCommand(), c.configCommand(), c.versionCommand())
	return root
}

// setup loads the configuration and the logger.
func (c *cli) setup(cmd *cobra.Command) error {
	cfg, err := config.Load(config.Options{Path: c.configPath, Getenv: c.env.getenv, Environ: c.env.environ, UserConfigDir: c.env.userConfigDir})
	if err != nil {
		return err
	}
	c.cfg = cfg
	if c.dataDir == "" {
		c.dataDir = cfg.Data
	}
	level := c.logLevel
	if level == "" {
		level = cfg.LogLevel
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return usagef("invalid log level %q (accepted: debug, info, warn, error)", level)
	}
	if c.quiet && lv < slog.LevelWarn {
		lv = slog.LevelWarn
	}
	c.log = slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: lv}))
	switch c.progress {
	case "auto", "bar", "plain", "none":
	default:
		return usagef("invalid --progress %q (accepted: auto, bar, plain, none)", c.progress)
	}
	return nil
}

// newApp builds the App for an operation.
func (c *cli) newApp(reg *venues.Registry) *app.App {
	if reg == nil {
		reg = c.env.registry()
	}
	if reg.Getenv == nil {
		reg.Getenv = c.env.getenv
	}
	a := &app.App{Venues: reg, DataDir: c.dataDir, Logger: c.log, Now: c.env.now, ToolVersion: "pype " + version}
	a.Runs = c.runHistory(c.dataDir)
	if c.env.configure != nil {
		c.env.configure(a)
	}
	return a
}

// runHistory returns the run history of a data directory (opened on first
// use, closed when the command ends).
func (c *cli) runHistory(dataDir string) *app.RunHistory {
	h := &app.RunHistory{Path: app.RunsPath(dataDir), Logger: c.log}
	c.closers = append(c.closers, h.Close)
	return h
}

// venueConfig merges the config file's venue settings with flags.
func (c *cli) venueConfig(cmd *cobra.Command, venue, restURL, wsURL string, concurrency int) venues.Config {
	vc := c.cfg.Venue(venue)
	out := venues.Config{RESTURL: vc.RESTURL, WSURL: vc.WSURL, Concurrency: vc.Concurrency, WeightLimit: vc.WeightLimit, Logger: c.log, UserAgent: "pype/" + version}
	if cmd.Flags().Changed("rest-url") {
		out.RESTURL = restURL
	}
	if cmd.Flags().Changed("ws-url") {
		out.WSURL = wsURL
	}
	if cmd.Flags().Changed("concurrency") {
		out.Concurrency = concurrency
	}
	return out
}

// progressMode decides how progress is shown.
func (c *cli) progressMode() string {
	if c.quiet {
		return "none"
	}
	if c.progress != "auto" {
		return c.progress
	}
	if c.env.terminal(c.stdout) {
		return "bar"
	}
	return "plain"
}

// Flag value parsing with usage errors.

func parseSymbolsFlag(s string) ([]domain.Symbol, error) {
	if strings.TrimSpace(s) == "" {
		return nil, usagef("--symbol is required (e.g. --symbol BTC/USDT or --symbol BTC/USDT,ETH/USDT)")
	}
	return domain.ParseSymbols(s)
}

func parseTypeFlag(s string, accepted ...domain.DataType) (domain.DataType, error) {
	t, err := domain.ParseDataType(s)
	var acc []string
	for _, a := range accepted {
		acc = append(acc, string(a))
	}
	if err != nil || !containsType(accepted, t) {
		return "", usagef("invalid --type %q (accepted: %s)", s, strings.Join(acc, ", "))
	}
	return t, nil
}

func containsType(ts []domain.DataType, t domain.DataType) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

func parseSpanFlag(t domain.DataType, s string) (domain.Span, error) {
	if !t.HasSpan() {
		if s != "" {
			return 0, usagef("--span applies to ohlc only, not %s", t)
		}
		return 0, nil
	}
	if s == "" {
		return 0, usagef("--span is required with --type ohlc (e.g. --span 1m, 1h, 1d)")
	}
	return domain.ParseSpan(s)
}

// parseRangeFlags reads --from/--to; to defaults to now.
func parseRangeFlags(from, to string, now time.Time, required bool) (domain.Range, error) {
	if from == "" {
		if required {
			return domain.Range{}, usagef("--from is required (e.g. --from 2024-01-01 or --from 2024-01-01T12:00:00Z)")
		}
		if to != "" {
			return domain.Range{}, usagef("--to needs --from")
		}
		return domain.Range{}, nil
	}
	f, err := domain.ParseTime(from)
	if err != nil {
		return domain.Range{}, fmt.Errorf("--from: %w", err)
	}
	t := now.UnixNano()
	if to != "" {
		if t, err = domain.ParseTime(to); err != nil {
			return domain.Range{}, fmt.Errorf("--to: %w", err)
		}
	}
	r := domain.Range{Start: f, End: t}
	return r, r.Validate()
}

// addSelectorFlags registers --venue --symbol --type --span.
type selectorFlags struct {
	venue, symbol, typ, span string
}

func (s *selectorFlags) register(fs *pflag.FlagSet, typeHelp string) {
	fs.StringVar(&s.venue, "venue", "", "venue name (see pype venues)")
	fs.StringVar(&s.symbol, "symbol", "", "symbol(s), comma-separated: BTC/USDT,ETH/USDT (also BTC-USDT, btc_usdt)")
	fs.StringVar(&s.typ, "type", "", typeHelp)
	fs.StringVar(&s.span, "span", "", "candle span for ohlc: 1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M (M = month)")
}

// filter turns optional selector flags into an inventory filter.
func (s *selectorFlags) filter() (app.Filter, error) {
	var f app.Filter
	f.Venue = strings.ToLower(strings.TrimSpace(s.venue))
	if s.symbol != "" {
		syms, err := domain.ParseSymbols(s.symbol)
		if err != nil {
			return f, err
		}
		f.Symbols = syms
	}
	if s.typ != "" {
		t, err := parseTypeFlag(s.typ, domain.OHLC, domain.Trades, domain.Book)
		if err != nil {
			return f, err
		}
		f.Type = t
	}
	if s.span != "" {
		sp, err := domain.ParseSpan(s.span)
		if err != nil {
			return f, err
		}
		f.Span = sp
	}
	return f, nil
}
