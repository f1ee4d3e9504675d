// Package demo is pype's offline tour: it starts the exchange simulator
// in-process on loopback, backfills a week of one-minute candles and a day
// of trades, records a live order book for a few seconds, verifies
// everything and reports where the files are and how to query them. It
// needs no network and no configuration.
//
// The simulated market has a fixed virtual "now" (by default
// 2024-06-01T00:05:00Z; the data end at the last midnight before it) and seed, so the data are the same on every run: a
// second run finds everything already complete and fetches nothing.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/pype-go/pype/app"
	"github.com/pype-go/pype/app/render"
	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
	"github.com/pype-go/pype/sim/simvenues"
	"github.com/pype-go/pype/store"
	"github.com/pype-go/pype/venues"
	"github.com/pype-go/pype/venues/all"
)

// Defaults.
const (
	DefaultDataDir = "./pype-demo-data"
	DefaultSeed    = 1
	Venue          = "binance"
)

// DefaultNow is the simulated market's virtual now at start.
var DefaultNow = time.Date(2024, 6, 1, 0, 5, 0, 0, time.UTC)

// Options configures the demo. Zero values take the defaults.
type Options struct {
	DataDir    string          // default DefaultDataDir
	Seed       uint64          // default DefaultSeed
	Now        time.Time       // default DefaultNow
	Symbols    []domain.Symbol // candles; default BTC/USDT and ETH/USDT (trades and book: the first)
	CandleSpan domain.Span     // default 1m
	CandleDays int             // default 7
	TradeHours int             // default 24
	BookFor    time.Duration   // default 3s
	Logger     *slog.Logger
	// Log receives one line per step as the demo runs (nil: discarded).
	Log io.Writer
	// Progress receives backfill progress (optional).
	Progress func(app.BackfillProgress)
	// Configure adjusts the App before it runs (run history, tests).
	Configure func(*app.App)
	// Registry overrides the venue adapters (default venues/all).
	Registry func() *venues.Registry
}

func (o *Options) defaults() {
	if o.DataDir == "" {
		o.DataDir = DefaultDataDir
	}
	if o.Seed == 0 {
		o.Seed = DefaultSeed
	}
	if o.Now.IsZero() {
		o.Now = DefaultNow
	}
	if len(o.Symbols) == 0 {
		o.Symbols = []domain.Symbol{domain.NewSymbol("BTC", "USDT"), domain.NewSymbol("ETH", "USDT")}
	}
	if !o.CandleSpan.Valid() {
		o.CandleSpan = domain.Span1m
	}
	if o.CandleDays <= 0 {
		o.CandleDays = 7
	}
	if o.TradeHours <= 0 {
		o.TradeHours = 24
	}
	if o.BookFor <= 0 {
		o.BookFor = 3 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Registry == nil {
		o.Registry = all.Registry
	}
}

// ErrVerify is returned (with the report) when verification fails.
var ErrVerify = errors.New("demo: verification failed")

// Step is one stage of the demo.
type Step struct {
	Name    string
	Took    time.Duration
	Records int64
	Added   int64
	Detail  string
}

// Report is what the demo did.
type Report struct {
	DataDir  string
	SimREST  string
	Steps    []Step
	Verify   *app.VerifyResult
	Datasets []store.DatasetInfo
	Took     time.Duration
	// Example paths for the query one-liners.
	CandleGlob, TradeGlob string
}

// Run runs the demo. The simulator is stopped before Run returns.
func Run(ctx context.Context, o Options) (*Report, error) {
	o.defaults()
	wallStart := time.Now()
	srv, err := simvenues.Start(ctx, sim.Config{Venues: []string{Venue}, Seed: o.Seed, Now: o.Now,
		History: time.Duration(o.CandleDays+1) * 24 * time.Hour, Logger: o.Logger})
	if err != nil {
		return nil, fmt.Errorf("demo: starting the simulator: %w", err)
	}
	defer srv.Close()
	sv := srv.Venue(Venue)
	market := sv.Env.Market
	vnow := func() time.Time { return time.UnixMilli(market.NowMs()).UTC() }
	fmt.Fprintf(o.Log, "simulator: %s on %s (seed %d, virtual now %s)\n", Venue, sv.RESTURL, o.Seed, vnow().Format(time.RFC3339))

	a := &app.App{Venues: o.Registry(), DataDir: o.DataDir, Logger: o.Logger, Now: vnow, ToolVersion: "pype demo"}
	if o.Configure != nil {
		o.Configure(a)
	}
	vcfg := venues.Config{RESTURL: sv.RESTURL, WSURL: sv.WSURL, Logger: o.Logger}
	rep := &Report{DataDir: o.DataDir, SimREST: sv.RESTURL}
	// The data end at the last midnight: whole UTC days.
	end := vnow().Truncate(24 * time.Hour)

	// 1. A week of candles.
	t0 := time.Now()
	span := o.CandleSpan
	crng := domain.Range{Start: end.Add(-time.Duration(o.CandleDays) * 24 * time.Hour).UnixNano(), End: end.UnixNano()}
	res, err := a.Backfill(ctx, app.BackfillRequest{Venue: Venue, Config: vcfg, Symbols: o.Symbols, Type: domain.OHLC, Span: span, Range: crng, Progress: o.Progress,
		Params: map[string]string{"command": "pype demo"}})
	if err != nil {
		return rep, fmt.Errorf("demo: candle backfill: %w", err)
	}
	rep.add(o.Log, Step{Name: fmt.Sprintf("backfill %d days of %s candles for %d symbols", o.CandleDays, span, len(o.Symbols)), Took: time.Since(t0), Records: res.Records(), Added: res.Added()})

	// 2. A day of trades.
	t0 = time.Now()
	sym := o.Symbols[0]
	trng := domain.Range{Start: end.Add(-time.Duration(o.TradeHours) * time.Hour).UnixNano(), End: end.UnixNano()}
	res, err = a.Backfill(ctx, app.BackfillRequest{Venue: Venue, Config: vcfg, Symbols: []domain.Symbol{sym}, Type: domain.Trades, Range: trng, Progress: o.Progress,
		Params: map[string]string{"command": "pype demo"}})
	if err != nil {
		return rep, fmt.Errorf("demo: trade backfill: %w", err)
	}
	rep.add(o.Log, Step{Name: fmt.Sprintf("backfill %d hours of %s trades", o.TradeHours, sym), Took: time.Since(t0), Records: res.Records(), Added: res.Added()})

	// 3. A live order book for a few seconds.
	t0 = time.Now()
	sres, err := a.Stream(ctx, app.StreamRequest{Venue: Venue, Config: vcfg, Symbols: []domain.Symbol{sym}, Type: domain.Book, Depth: 20,
		Duration: o.BookFor, BookEvery: 500 * time.Millisecond, Params: map[string]string{"command": "pype demo"}})
	if err != nil {
		return rep, fmt.Errorf("demo: book stream: %w", err)
	}
	var snaps, added int64
	for _, d := range sres.Datasets {
		snaps += d.Records
		added += d.Added
	}
	rep.add(o.Log, Step{Name: fmt.Sprintf("stream the %s order book for %s (top 20 levels, every 500ms)", sym, o.BookFor), Took: time.Since(t0), Records: snaps, Added: added})

	// 4. Verify.
	t0 = time.Now()
	vr, err := a.Verify(ctx, app.VerifyRequest{Filter: app.Filter{Venue: Venue}})
	if err != nil {
		return rep, fmt.Errorf("demo: verify: %w", err)
	}
	rep.Verify = vr
	var rows int64
	for _, v := range vr.Verdicts {
		rows += v.Report.Rows
	}
	detail := "complete"
	if !vr.OK() {
		detail = "FAILED"
	}
	rep.add(o.Log, Step{Name: fmt.Sprintf("verify %d datasets (%s rows): %s", len(vr.Verdicts), render.Count(rows), detail), Took: time.Since(t0)})

	if rep.Datasets, err = a.Inventory(ctx, app.Filter{Venue: Venue}); err != nil {
		return rep, err
	}
	rep.CandleGlob = filepath.ToSlash(filepath.Join(o.DataDir, Venue, sym.PathName(), "ohlc", span.String(), "*.parquet"))
	rep.TradeGlob = filepath.ToSlash(filepath.Join(o.DataDir, Venue, sym.PathName(), "trades", "*.parquet"))
	rep.Took = time.Since(wallStart)
	if !vr.OK() {
		return rep, ErrVerify
	}
	return rep, nil
}

func (r *Report) add(w io.Writer, s Step) {
	r.Steps = append(r.Steps, s)
	line := fmt.Sprintf("✓ %s", s.Name)
	if s.Records > 0 || s.Added > 0 {
		line += fmt.Sprintf(": %s received, %s new", render.Count(s.Records), render.Count(s.Added))
	}
	fmt.Fprintf(w, "%s (%s)\n", line, render.Duration(s.Took))
}

// Write prints the final report: datasets, where the files are and how to
// query them.
func (r *Report) Write(w io.Writer) error {
	fmt.Fprintln(w)
	if err := render.Inventory(w, render.Table, r.Datasets); err != nil {
		return err
	}
	abs, err := filepath.Abs(r.DataDir)
	if err != nil {
		abs = r.DataDir
	}
	fmt.Fprintf(w, "\nFiles are in %s (Parquet, one file per day/month; timestamps are UTC).\n", abs)
	fmt.Fprintf(w, "\nQuery them with DuckDB:\n  duckdb -c \"SELECT open_time, open, high, low, close, volume FROM read_parquet('%s') ORDER BY open_time DESC LIMIT 5\"\n", r.CandleGlob)
	fmt.Fprintf(w, "  duckdb -c \"SELECT side, count(*), sum(amount) FROM read_parquet('%s') GROUP BY side\"\n", r.TradeGlob)
	fmt.Fprintf(w, "polars:  pl.scan_parquet(%q).collect()\n", r.CandleGlob)
	fmt.Fprintf(w, "pandas:  pd.read_parquet(%q)\n", filepath.ToSlash(filepath.Dir(r.TradeGlob)))
	fmt.Fprintf(w, "\nNext: pype inventory --data %s · pype verify --data %s · pype read --data %s --venue %s --symbol BTC/USDT --type ohlc --span 1m --limit 5\n",
		r.DataDir, r.DataDir, r.DataDir, Venue)
	_, err = fmt.Fprintf(w, "Demo finished in %s.\n", render.Duration(r.Took))
	return err
}
