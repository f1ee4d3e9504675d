// Package all registers every built-in venue adapter. Import it where a
// ready-made registry is wanted (the CLI, the server):
//
//	reg := all.Registry()
//	v, err := reg.Open(ctx, "binance", venues.Config{})
//
// Adding a venue means adding one line to Registry.
package all

import (
	"context"

	"github.com/pype-go/pype/venues"
	"github.com/pype-go/pype/venues/binance"
	"github.com/pype-go/pype/venues/bitfinex"
	"github.com/pype-go/pype/venues/bitmex"
	"github.com/pype-go/pype/venues/bybit"
	"github.com/pype-go/pype/venues/coinbase"
	"github.com/pype-go/pype/venues/kraken"
	"github.com/pype-go/pype/venues/okx"
)

// Registry returns a new registry with every built-in adapter registered.
func Registry() *venues.Registry {
	r := venues.NewRegistry()
	must(r.Register(binance.Info(), func(ctx context.Context, cfg venues.Config) (venues.Venue, error) {
		return binance.Open(ctx, cfg)
	}))
	must(r.Register(coinbase.Info(), func(ctx context.Context, cfg venues.Config) (venues.Venue, error) { return coinbase.Open(ctx, cfg) }))
	must(r.Register(bybit.Info(), func(ctx context.Context, cfg venues.Config) (venues.Venue, error) { return bybit.Open(ctx, cfg) }))
	must(r.Register(bitfinex.Info(), func(ctx context.Context, cfg venues.Config) (venues.Venue, error) { return bitfinex.Open(ctx, cfg) }))
	must(r.Register(kraken.Info(), func(ctx context.Context, cfg venues.Config) (venues.Venue, error) { return kraken.Open(ctx, cfg) }))
	must(r.Register(okx.Info(), func(ctx context.Context, cfg venues.Config) (venues.Venue, error) { return okx.Open(ctx, cfg) }))
	must(r.Register(bitmex.Info(), func(ctx context.Context, cfg venues.Config) (venues.Venue, error) { return bitmex.Open(ctx, cfg) }))
	return r
}

func must(err error) {
	if err != nil {
		panic("venues/all: " + err.Error())
	}
}
