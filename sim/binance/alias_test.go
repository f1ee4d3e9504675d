package binance_test

import "github.com/pype-go/pype/sim"

type simConfig = sim.Config
