package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/pype-go/pype/app"
	"github.com/pype-go/pype/app/render"
	"github.com/pype-go/pype/domain"
)

func (c *cli) streamCommand() *cobra.Command {
	var (
		sel        selectorFlags
		vf         venueFlags
		depth      int
		duration   time.Duration
		flushEvery time.Duration
		bookEvery  time.Duration
		job        string
	)
	cmd := &cobra.Command{
		Use:   "stream",
		Short: "Record live trades, candles or books into the data directory",
		Long: `Record live data from a venue's WebSocket feed into the same Parquet datasets
backfill writes. Rows are committed every --flush-every and at the end, so
the files stay consistent if the process dies. After a reconnection, holes are
filled over REST; holes that cannot be filled stay uncovered and show up in
pype inventory and pype verify (a later backfill fetches them).

--type trades records every trade; --type ohlc records closed candles of
--span; --type book keeps a synchronised local order book and stores its top
--depth levels at most every --book-every.

Runs until --duration passes (then exit 0) or Ctrl-C (exit 130; data kept).

` + exitCodesHelp,
		Example: `  pype stream --venue binance --symbol BTC/USDT,ETH/USDT --type trades --duration 10m
  pype stream --venue binance --symbol BTC/USDT --type ohlc --span 1m
  pype stream --venue binance --symbol BTC/USDT --type book --depth 20 --book-every 1s --duration 1h
  pype stream --job btc-trades-live`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyJob(cmd, c.cfg, job, "stream", nil); err != nil {
				return err
			}
			if sel.venue == "" {
				return usagef("--venue is required (see pype venues)")
			}
			syms, err := parseSymbolsFlag(sel.symbol)
			if err != nil {
				return err
			}
			typ, err := parseTypeFlag(sel.typ, domain.Trades, domain.OHLC, domain.Book)
			if err != nil {
				return err
			}
			span, err := parseSpanFlag(typ, sel.span)
			if err != nil {
				return err
			}
			if duration < 0 {
				return usagef("invalid --duration %s: must not be negative", duration)
			}
			if vf.concurrency < 0 {
				return usagef("--concurrency must not be negative (0 = default)")
			}
			a := c.newApp(nil)
			title := fmt.Sprintf("%s %s", sel.venue, typ)
			prog := newStreamProgress(cmd.Context(), c, title)
			req := app.StreamRequest{
				Venue: sel.venue, Config: c.venueConfig(cmd, sel.venue, vf.restURL, vf.wsURL, vf.concurrency),
				Symbols: syms, Type: typ, Span: span, Depth: depth, Duration: duration, FlushEvery: flushEvery, BookEvery: bookEvery,
				Progress: prog.update, Params: commandParams(cmd),
			}
			start := c.env.now()
			res, err := a.Stream(cmd.Context(), req)
			prog.finish()
			if res != nil {
				c.printStream(a, res, c.env.now().Sub(start))
			}
			return err
		},
	}
	sel.register(cmd.Flags(), "data type: trades, ohlc (closed candles), book")
	vf.register(cmd)
	cmd.Flags().IntVar(&depth, "depth", 0, "book levels stored per side (default 20)")
	cmd.Flags().DurationVar(&duration, "duration", 0, "stop after this long, e.g. 10m, 2h (default: until Ctrl-C)")
	cmd.Flags().DurationVar(&flushEvery, "flush-every", app.DefaultFlushEvery, "commit received rows this often")
	cmd.Flags().DurationVar(&bookEvery, "book-every", app.DefaultBookEvery, "store at most one book snapshot per symbol per interval (0 = default, negative = every update)")
	cmd.Flags().StringVar(&job, "job", "", "run a stream job from the config file")
	return cmd
}

func (c *cli) printStream(a *app.App, res *app.StreamResult, took time.Duration) {
	w := c.stdout
	for _, d := range res.Datasets {
		dir := filepath.Join(a.DataDir, filepath.FromSlash(d.ID.String()))
		fmt.Fprintf(w, "%s  %s records live", d.ID, render.Count(d.Records))
		if d.Filled > 0 {
			fmt.Fprintf(w, ", %s filled over REST", render.Count(d.Filled))
		}
		fmt.Fprintf(w, ", %s new rows  → %s\n", render.Count(d.Added), dir)
		for _, u := range d.Unfilled {
			fmt.Fprintf(w, "  unfilled hole: %s (run pype backfill over it)\n", render.Range(u))
		}
	}
	fmt.Fprintf(w, "run %s %s in %s\n", res.RunID, res.Status, render.Duration(took))
}

func (c *cli) readCommand() *cobra.Command {
	var (
		sel      selectorFlags
		from, to string
		format   string
		limit    int64
	)
	cmd := &cobra.Command{
		Use:   "read",
		Short: "Print stored candles, trades or books as a table, CSV or JSON lines",
		Long: `Print the stored rows of one dataset in time order, across partition files.
Without --from/--to the whole dataset is printed.

CSV columns:
  ohlc:   ts_ns,open,high,low,close,volume,quote_volume,trades
  trades: ts_ns,id,price,amount,side
  book:   ts_ns,seq,side,level,price,amount
ts_ns is nanoseconds since the Unix epoch (UTC); decimals are printed in
their shortest exact form. JSON lines carry the same fields plus "time"
(RFC 3339).`,
		Example: `  pype read --venue binance --symbol BTC/USDT --type ohlc --span 1h --from 2024-01-01 --to 2024-01-02
  pype read --venue binance --symbol BTC/USDT --type trades --from 2024-03-01T12:00:00Z --to 2024-03-01T12:05:00Z --format csv > trades.csv
  pype read --venue binance --symbol BTC/USDT --type book --format jsonl --limit 1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if sel.venue == "" {
				return usagef("--venue is required")
			}
			sym, err := domain.ParseSymbol(sel.symbol)
			if sel.symbol == "" {
				return usagef("--symbol is required (one symbol, e.g. BTC/USDT)")
			}
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
			rng, err := parseRangeFlags(from, to, c.env.now(), false)
			if err != nil {
				return err
			}
			f, err := render.ParseFormat(format, render.Table, render.CSV, render.JSONL)
			if err != nil {
				return err
			}
			if limit < 0 {
				return usagef("invalid --limit %d", limit)
			}
			a := c.newApp(nil)
			s := app.Selector{Venue: sel.venue, Symbol: sym, Type: typ, Span: span, Range: rng}
			ctx := cmd.Context()
			switch typ {
			case domain.OHLC:
				w := render.NewBarWriter(c.stdout, f)
				return render.Copy(limitSeq(a.ReadOHLC(ctx, s), limit), w.Write, w.Flush)
			case domain.Trades:
				w := render.NewTradeWriter(c.stdout, f)
				return render.Copy(limitSeq(a.ReadTrades(ctx, s), limit), w.Write, w.Flush)
			default:
				w := render.NewBookWriter(c.stdout, f)
				return render.Copy(limitSeq(a.ReadBooks(ctx, s), limit), w.Write, w.Flush)
			}
		},
	}
	sel.register(cmd.Flags(), "data type: ohlc, trades, book")
	cmd.Flags().StringVar(&from, "from", "", "start (inclusive; default: the beginning)")
	cmd.Flags().StringVar(&to, "to", "", "end (exclusive; default now)")
	cmd.Flags().StringVar(&format, "format", "table", "output format: table, csv or jsonl")
	cmd.Flags().Int64Var(&limit, "limit", 0, "print at most this many records (0 = all)")
	return cmd
}

func (c *cli) inventoryCommand() *cobra.Command {
	var (
		sel    selectorFlags
		format string
	)
	cmd := &cobra.Command{
		Use:   "inventory",
		Short: "List stored datasets with rows, size, time extent, coverage and gaps",
		Long: `List the datasets in the data directory: files, rows, size, first and last
row, the covered extent (ranges fetched completely) and the gaps between
covered ranges, plus unreadable files. Reads file footers only, so it is
fast on large stores. Filter with --venue, --symbol, --type, --span.`,
		Example: `  pype inventory
  pype inventory --venue binance --type trades
  pype inventory --format json | jq '.[] | select(.gaps | length > 0)'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := render.ParseFormat(format, render.Table, render.JSON)
			if err != nil {
				return err
			}
			filter, err := sel.filter()
			if err != nil {
				return err
			}
			infos, err := c.newApp(nil).Inventory(cmd.Context(), filter)
			if err != nil {
				return err
			}
			return render.Inventory(c.stdout, f, infos)
		},
	}
	sel.register(cmd.Flags(), "only this data type: ohlc, trades, book")
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}

func (c *cli) verifyCommand() *cobra.Command {
	var (
		sel      selectorFlags
		from, to string
		format   string
	)
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Prove stored data complete: gaps, duplicates, order, trade-id continuity",
		Long: `Check stored datasets row by row and exit 3 if any is incomplete or unsound:

  - every partition file readable;
  - no duplicate keys, no rows out of order or in the wrong partition file;
  - ohlc: a bar at every span step, except bars the venue does not have
    (no trades, outages) inside ranges that were fetched completely;
  - trades: no trade-id jumps on venues whose ids are contiguous (Binance
    aggregate trades, Coinbase);
  - the checked range is covered by completed fetches (no range that was
    never fetched).

Without --from/--to each dataset is checked over its covered extent.

` + exitCodesHelp,
		Example: `  pype verify
  pype verify --venue binance --symbol BTC/USDT --type trades --from 2024-03-01 --to 2024-03-02
  pype verify --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := render.ParseFormat(format, render.Table, render.JSON)
			if err != nil {
				return err
			}
			filter, err := sel.filter()
			if err != nil {
				return err
			}
			rng, err := parseRangeFlags(from, to, c.env.now(), false)
			if err != nil {
				return err
			}
			res, err := c.newApp(nil).Verify(cmd.Context(), app.VerifyRequest{Filter: filter, Range: rng})
			if err != nil {
				return err
			}
			if err := render.Verify(c.stdout, f, res); err != nil {
				return err
			}
			if !res.OK() {
				failed := 0
				for i := range res.Verdicts {
					if !res.Verdicts[i].OK() {
						failed++
					}
				}
				return &verifyFailed{failed: failed, total: len(res.Verdicts)}
			}
			return nil
		},
	}
	sel.register(cmd.Flags(), "only this data type: ohlc, trades, book")
	cmd.Flags().StringVar(&from, "from", "", "start of the range to check (default: covered extent)")
	cmd.Flags().StringVar(&to, "to", "", "end of the range to check (default now when --from is given)")
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}

// limitSeq stops a sequence after n elements (0 = no limit).
func limitSeq[T any](seq func(func(T, error) bool), n int64) func(func(T, error) bool) {
	if n <= 0 {
		return seq
	}
	return func(yield func(T, error) bool) {
		var i int64
		for v, err := range seq {
			if err == nil {
				if i >= n {
					return
				}
				i++
			}
			if !yield(v, err) {
				return
			}
		}
	}
}
