package main

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/pype-go/pype/app"
	"github.com/pype-go/pype/app/demo"
	"github.com/pype-go/pype/app/render"
)

func (c *cli) demoCommand() *cobra.Command {
	var (
		seed    uint64
		bookFor time.Duration
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Offline tour: simulator → backfill → live book → verify → query",
		Long: `Start the exchange simulator in-process (no network needed), backfill a week
of one-minute BTC/USDT and ETH/USDT candles and a day of BTC/USDT trades,
record the live BTC/USDT order book for a few seconds, verify everything, and
print where the files are with DuckDB, polars and pandas one-liners.

Data goes to ./pype-demo-data unless --data is given. The simulated market
is fixed (seed and virtual date), so a second run finds everything complete
and only adds book snapshots.`,
		Example: `  pype demo
  pype demo --data /tmp/pype-demo`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := demo.DefaultDataDir
			if f := cmd.Flag("data"); f != nil && f.Changed {
				dir = c.dataDir
			}
			prog := newBackfillProgress(cmd.Context(), c)
			opts := demo.Options{DataDir: dir, Seed: seed, BookFor: bookFor, Logger: c.log, Log: prog.writer(c.stdout), Progress: prog.update,
				Configure: func(a *app.App) {
					a.Runs = c.runHistory(dir)
					if c.env.configure != nil {
						c.env.configure(a)
					}
				}}
			fmt.Fprintf(c.stdout, "pype demo: writing to %s\n", dir)
			if f := cmd.Flag("log-level"); f == nil || !f.Changed {
				// The adapters' connection chatter is not part of the tour.
				opts.Logger = slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
			}
			rep, err := demo.Run(cmd.Context(), opts)
			prog.finish()
			if errors.Is(err, demo.ErrVerify) && rep.Verify != nil {
				_ = render.Verify(c.stdout, render.Table, rep.Verify)
				return &verifyFailed{}
			}
			if err != nil {
				return err
			}
			return rep.Write(c.stdout)
		},
	}
	cmd.Flags().Uint64Var(&seed, "seed", demo.DefaultSeed, "simulated market seed")
	cmd.Flags().DurationVar(&bookFor, "book-for", 3*time.Second, "how long to record the live order book")
	return cmd
}
