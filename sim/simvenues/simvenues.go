// Package simvenues wires every simulated venue personality into the
// simulator: it is what `pype sim` and the test helper use.
package simvenues

import (
	"context"
	"io"

	"github.com/pype-go/pype/sim"
	"github.com/pype-go/pype/sim/binance"
	"github.com/pype-go/pype/sim/bitfinex"
	"github.com/pype-go/pype/sim/bitmex"
	"github.com/pype-go/pype/sim/bybit"
	"github.com/pype-go/pype/sim/coinbase"
	"github.com/pype-go/pype/sim/kraken"
	"github.com/pype-go/pype/sim/okx"
)

// Registry returns a new registry holding every simulated venue.
func Registry() *sim.Registry {
	return sim.NewRegistry(binance.New(), bybit.New(), okx.New(), kraken.New(), coinbase.New(), bitfinex.New(), bitmex.New())
}

func withRegistry(cfg sim.Config) sim.Config {
	if cfg.Registry == nil {
		cfg.Registry = Registry()
	}
	return cfg
}

// Start starts the simulator (see [sim.Start]) with every venue available.
func Start(ctx context.Context, cfg sim.Config) (*sim.Server, error) {
	return sim.Start(ctx, withRegistry(cfg))
}

// Run is [sim.Run] with every venue available: it prints one line per venue
// ("binance rest=http://127.0.0.1:PORT ws=ws://127.0.0.1:PORT") and blocks
// until ctx ends. It is the entry point of `pype sim`.
func Run(ctx context.Context, cfg sim.Config, out io.Writer) error {
	return sim.Run(ctx, withRegistry(cfg), out)
}

// QueryTruth is [sim.QueryTruth] with every venue available: the entry
// point of `pype sim truth`.
func QueryTruth(ctx context.Context, cfg sim.Config, q sim.TruthQuery, w io.Writer) error {
	return sim.QueryTruth(ctx, withRegistry(cfg), q, w)
}
