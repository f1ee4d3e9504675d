package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/spf13/cobra"

	"github.com/pype-go/pype/app"
	"github.com/pype-go/pype/app/config"
	"github.com/pype-go/pype/app/render"
	"github.com/pype-go/pype/domain"
)

// venueFlags are the connection flags of backfill and stream.
type venueFlags struct {
	restURL, wsURL string
	concurrency    int
}

func (v *venueFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&v.restURL, "rest-url", "", "override the venue's REST base URL (testnets, proxies, pype sim)")
	cmd.Flags().StringVar(&v.wsURL, "ws-url", "", "override the venue's WebSocket base URL")
	cmd.Flags().IntVar(&v.concurrency, "concurrency", 0, "max concurrent requests to the venue (0 = venue default)")
}

// applyJob fills flags the user did not set from a configured job.
func applyJob(cmd *cobra.Command, cfg *config.Config, name, kind string, set map[string]func(string)) error {
	if name == "" {
		return nil
	}
	j, err := cfg.Job(name)
	if err != nil {
		return &usageError{err}
	}
	jk := j.Kind
	if jk == "" {
		jk = "backfill"
	}
	if jk != kind {
		return usagef("job %q is a %s job; run it with pype %s --job %s", name, jk, jk, name)
	}
	vals := map[string]string{"venue": j.Venue, "symbol": strings.Join(j.Symbols, ","), "type": j.Type, "span": j.Span,
		"from": j.From, "to": j.To, "duration": j.Duration}
	if j.Depth != 0 {
		vals["depth"] = fmt.Sprint(j.Depth)
	}
	for flag, v := range vals {
		if v == "" || cmd.Flags().Changed(flag) {
			continue
		}
		if f := set[flag]; f != nil {
			f(v)
		} else if err := cmd.Flags().Set(flag, v); err != nil {
			return &usageError{fmt.Errorf("job %q: %s: %w", name, flag, err)}
		}
	}
	return nil
}

func (c *cli) backfillCommand() *cobra.Command {
	var (
		sel         selectorFlags
		vf          venueFlags
		from, to    string
		depth       int
		parallelism int
		job         string
	)
	cmd := &cobra.Command{
		Use:   "backfill",
		Short: "Fetch history into the data directory (resumes, refills holes, idempotent)",
		Long: `Fetch historical candles (ohlc), trades, or a book snapshot from a venue into
Parquet files under the data directory.

Only what is missing is fetched: ranges already covered by earlier runs are
skipped, holes inside the range are refilled, and running the same command
twice changes nothing. An interrupted run (Ctrl-C, crash, kill -9) leaves
consistent files; run the command again to resume.

--from/--to take RFC 3339 times (2024-02-01T12:00:00Z), dates (2024-02-01,
midnight UTC) or Unix seconds/milliseconds; the range is [from, to) and --to
defaults to now. Candles are selected by open time and only closed bars are
fetched. --type book stores one REST snapshot of --depth levels per symbol.

` + exitCodesHelp,
		Example: `  pype backfill --venue binance --symbol BTC/USDT --type ohlc --span 1h --from 2024-01-01
  pype backfill --venue binance --symbol BTC/USDT,ETH/USDT --type ohlc --span 1m --from 2024-01-01 --to 2024-02-01T12:00:00Z --data ./data
  pype backfill --venue binance --symbol BTC/USDT --type trades --from 2024-03-01 --to 2024-03-02
  pype backfill --venue binance --symbol BTC/USDT --type book --depth 100
  pype backfill --venue binance --symbol BTC/USDT --type ohlc --span 1m --from 2024-01-01 --rest-url http://127.0.0.1:8080   # against pype sim
  pype backfill --job btc-hourly      # a job from the config file`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyJob(cmd, c.cfg, job, "backfill", nil); err != nil {
				return err
			}
			if sel.venue == "" {
				return usagef("--venue is required (see pype venues)")
			}
			syms, err := parseSymbolsFlag(sel.symbol)
			if err != nil {
				return err
			}
			typ, err := parseTypeFlag(sel.typ, domain.OHLC, domain.Trades, domain.Book)
			if err != nil {
				return err
			}
			span, err := parseSpanFlag(typ, sel.span)
			if err != nil {
				return err
			}
			var rng domain.Range
			if typ == domain.Book {
				if from != "" || to != "" {
					return usagef("--from/--to do not apply to --type book (a backfill stores one snapshot now; use pype stream --type book to record books over time)")
				}
			} else if rng, err = parseRangeFlags(from, to, c.env.now(), true); err != nil {
				return err
			}
			if vf.concurrency < 0 || parallelism < 0 {
				return usagef("--concurrency and --parallel must not be negative (0 = default)")
			}
			a := c.newApp(nil)
			prog := newBackfillProgress(cmd.Context(), c)
			req := app.BackfillRequest{
				Venue: sel.venue, Config: c.venueConfig(cmd, sel.venue, vf.restURL, vf.wsURL, vf.concurrency),
				Symbols: syms, Type: typ, Span: span, Range: rng, Depth: depth, Parallelism: parallelism,
				Progress: prog.update, Params: commandParams(cmd),
			}
			start := c.env.now()
			res, err := a.Backfill(cmd.Context(), req)
			prog.finish()
			if res != nil {
				c.printBackfill(a, res, c.env.now().Sub(start))
				if err != nil {
					failed := 0
					for _, d := range res.Datasets {
						if d.Err != nil {
							failed++
						}
					}
					if res.Status == app.RunInterrupted {
						return &summarized{err, fmt.Sprintf("backfill stopped; %d dataset(s) incomplete", failed)}
					}
					return &summarized{err, fmt.Sprintf("backfill failed for %d of %d dataset(s) (see above)", failed, len(res.Datasets))}
				}
			}
			return err
		},
	}
	sel.register(cmd.Flags(), "data type: ohlc (candles), trades, book (a snapshot)")
	vf.register(cmd)
	cmd.Flags().StringVar(&from, "from", "", "start of the range (inclusive)")
	cmd.Flags().StringVar(&to, "to", "", "end of the range (exclusive; default now)")
	cmd.Flags().IntVar(&depth, "depth", 0, "book snapshot levels per side (default 100)")
	cmd.Flags().IntVar(&parallelism, "parallel", 0, "symbols fetched at once (default 4)")
	cmd.Flags().StringVar(&job, "job", "", "run a job from the config file (flags given here override it)")
	return cmd
}

// commandParams records the flags a user set, for run history.
func commandParams(cmd *cobra.Command) map[string]string {
	out := map[string]string{"command": cmd.CommandPath()}
	cmd.Flags().Visit(func(f *pflag.Flag) {
		out[f.Name] = f.Value.String()
	})
	return out
}

func (c *cli) printBackfill(a *app.App, res *app.BackfillResult, took time.Duration) {
	w := c.stdout
	for _, d := range res.Datasets {
		dir := filepath.Join(a.DataDir, filepath.FromSlash(d.ID.String()))
		switch {
		case d.Err != nil:
			// Failures go to stderr with the detail, so a piped stdout
			// does not hide them.
			fmt.Fprintf(c.stderr, "%s  failed after %s rows (%s new): %v\n", d.ID, render.Count(d.Records), render.Count(d.Added), unwrapID(d.Err, d.ID))
		case d.ID.Type == domain.Book:
			fmt.Fprintf(w, "%s  1 snapshot  → %s\n", d.ID, dir)
		case len(d.Missing) == 0:
			fmt.Fprintf(w, "%s  %s  already complete, nothing fetched  → %s\n", d.ID, render.Range(d.Range), dir)
		default:
			fmt.Fprintf(w, "%s  %s  fetched %d range(s): %s rows received, %s new  → %s\n", d.ID, render.Range(d.Range),
				len(d.Missing), render.Count(d.Records), render.Count(d.Added), dir)
		}
		for i, g := range d.Gaps {
			if i == 5 {
				fmt.Fprintf(w, "  … %d more gaps reported by the venue\n", len(d.Gaps)-5)
				break
			}
			fmt.Fprintf(w, "  venue reported a gap: %s %s\n", render.Range(g.Range), g.Reason)
		}
	}
	fmt.Fprintf(w, "run %s %s: %s rows received, %s new, in %s\n", res.RunID, res.Status, render.Count(res.Records()), render.Count(res.Added()), render.Duration(took))
}

// unwrapID drops the "dataset: " prefix the app adds, the line says it.
func unwrapID(err error, id domain.DatasetID) string {
	return strings.TrimPrefix(err.Error(), id.String()+": ")
}
