package sim_test

import (
	"fmt"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
)

// A market is a pure function of its seed: any range of its history can be
// asked for directly.
func ExampleNewMarket() {
	m, _ := sim.NewMarket(sim.MarketConfig{Seed: 1, Now: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), Frozen: true})
	sr := m.Series(domain.NewSymbol("BTC", "USDT"))
	bars := sr.Candles(domain.Span1d, m.StartMs(), m.NowMs(), m.NowMs(), 3, false)
	for _, b := range bars {
		fmt.Println(domain.FormatNs(b.OpenTime*1e6), b.Trades > 0, b.Low <= b.Open && b.Open <= b.High)
	}
	// Output:
	// 2024-01-31T00:00:00Z true true
	// 2024-02-01T00:00:00Z true true
	// 2024-02-02T00:00:00Z true true
}
