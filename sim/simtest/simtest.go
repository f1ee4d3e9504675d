// Package simtest starts the pype simulator in-process on random loopback
// ports for tests in other packages:
//
//	s := simtest.Start(t)                 // every venue, live clock
//	base := s.REST("binance")            // http://127.0.0.1:PORT
//	truth := s.Truth("binance")          // what really happened
//
// The simulator is closed by t.Cleanup.
package simtest

import (
	"context"
	"testing"
	"time"

	"github.com/pype-go/pype/sim"
	"github.com/pype-go/pype/sim/simvenues"
)

// Option changes the simulator configuration.
type Option func(*sim.Config)

// Venues limits the simulator to the named venues.
func Venues(names ...string) Option { return func(c *sim.Config) { c.Venues = names } }

// Seed sets the market seed.
func Seed(seed uint64) Option { return func(c *sim.Config) { c.Seed = seed } }

// Now sets the virtual now (the clock keeps running unless Frozen).
func Now(t time.Time) Option { return func(c *sim.Config) { c.Now = t } }

// Frozen stops the virtual clock at Now: responses are reproducible, live
// streams carry no new events.
func Frozen() Option { return func(c *sim.Config) { c.Frozen = true } }

// Speed sets the virtual-time multiplier of the live clock.
func Speed(x float64) Option { return func(c *sim.Config) { c.Speed = x } }

// History sets how much trade history precedes Now (default here: 2 days).
func History(d time.Duration) Option { return func(c *sim.Config) { c.History = d } }

// Faults injects faults into venue ("*" for all).
func Faults(venue string, f sim.Faults) Option {
	return func(c *sim.Config) {
		if c.Faults == nil {
			c.Faults = map[string]sim.Faults{}
		}
		c.Faults[venue] = f
	}
}

// WeightLimit overrides each venue's request-weight limit.
func WeightLimit(n int) Option { return func(c *sim.Config) { c.WeightLimit = n } }

// Clock sets the wall clock (for rate-limit tests).
func Clock(clk sim.Clock) Option { return func(c *sim.Config) { c.Clock = clk } }

// Configure applies an arbitrary change to the configuration.
func Configure(f func(*sim.Config)) Option { return Option(f) }

// Sim is a running simulator.
type Sim struct {
	*sim.Server
	t testing.TB
}

// Start starts the simulator on 127.0.0.1 with random ports and closes it
// when the test ends. Defaults: every venue, seed 1, wall-clock now, 2 days
// of history.
func Start(t testing.TB, opts ...Option) *Sim {
	t.Helper()
	cfg := sim.Config{Seed: 1, History: 48 * time.Hour}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := simvenues.Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("simtest: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return &Sim{Server: srv, t: t}
}

func (s *Sim) venue(name string) *sim.Venue {
	s.t.Helper()
	v := s.Venue(name)
	if v == nil {
		s.t.Fatalf("simtest: venue %q is not running", name)
	}
	return v
}

// REST returns the venue's REST base URL (http://127.0.0.1:PORT).
func (s *Sim) REST(venue string) string { return s.venue(venue).RESTURL }

// WS returns the venue's WebSocket base URL (ws://127.0.0.1:PORT).
func (s *Sim) WS(venue string) string { return s.venue(venue).WSURL }

// Truth returns the venue's ground truth.
func (s *Sim) Truth(venue string) *sim.Truth { return s.venue(venue).Truth() }

// Market returns the venue's market model.
func (s *Sim) Market(venue string) *sim.Market { return s.venue(venue).Env.Market }

// SetFaults replaces the venue's faults.
func (s *Sim) SetFaults(venue string, f sim.Faults) { s.venue(venue).SetFaults(f) }

// Stats returns the venue's counters.
func (s *Sim) Stats(venue string) sim.StatsSnapshot { return s.venue(venue).Stats() }
