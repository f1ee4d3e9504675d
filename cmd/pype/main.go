// Command pype collects complete, verified crypto market data into Parquet
// files that DuckDB, polars and pandas read directly.
//
//	pype demo                      # offline tour on the built-in simulator
//	pype venues                    # what each venue offers
//	pype backfill --venue binance --symbol BTC/USDT --type ohlc --span 1h --from 2024-01-01
//	pype stream   --venue binance --symbol BTC/USDT --type trades --duration 10m
//	pype read     --venue binance --symbol BTC/USDT --type ohlc --span 1h --format csv
//	pype inventory
//	pype verify
//	pype sim --venues binance      # a local exchange for tests and bots
//
// Exit codes: 0 success, 1 runtime failure, 2 usage error (bad flag or
// value), 3 verification found gaps, duplicates or disorder, 130
// interrupted (Ctrl-C).
//
// The first Ctrl-C (or SIGTERM) stops the command gracefully: received data
// is flushed, files stay consistent and the run is recorded as interrupted,
// so rerunning the same command resumes. A second Ctrl-C exits at once.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := interruptContext()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// interruptContext returns a context cancelled by the first SIGINT or
// SIGTERM; a second signal exits the process with code 130.
func interruptContext() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
		case <-done:
			return
		}
		fmt.Fprintln(os.Stderr, "\npype: interrupting — flushing what was received (press Ctrl-C again to quit at once)")
		cancel()
		select {
		case <-sigs:
			fmt.Fprintln(os.Stderr, "pype: quitting without waiting")
			os.Exit(exitInterrupted)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}
