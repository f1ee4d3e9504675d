package bitfinex

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/operators/orderbook"
	"github.com/pype-go/pype/sim"
)

func TestAppendJSMatchesOrderbook(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	cases := []string{"0", "1", "-1", "0.1", "0.000001", "0.0000001", "5e-8", "42000", "1.50", "-0.00003", "123456789012345678", "1e21", "1e20"}
	for range 2000 {
		coef := rnd.Int64N(1_000_000_000_000)
		scale := rnd.IntN(19)
		d, err := decimal.New(coef, scale)
		if err != nil {
			continue
		}
		if rnd.IntN(2) == 0 {
			d = d.Neg()
		}
		cases = append(cases, d.String())
	}
	for _, c := range cases {
		d, err := decimal.Parse(c)
		if err != nil {
			continue
		}
		got := string(appendDec(nil, d))
		want := string(orderbook.AppendJSNumber(nil, d))
		if got != want {
			t.Fatalf("%s: %s, orderbook %s", c, got, want)
		}
	}
	if got := string(appendDec(nil, decimal.MustParse("0.00000005"))); got != "5e-8" {
		t.Fatalf("5e-8 printed %s", got)
	}
}

// TestBookChecksumMatchesOrderbook: the simulator's checksum is the one
// the adapters verify (operators/orderbook.BitfinexChecksum).
func TestBookChecksumMatchesOrderbook(t *testing.T) {
	m, err := sim.NewMarket(sim.MarketConfig{Venue: "bitfinex", Seed: 3, Now: time.Date(2024, 3, 15, 12, 0, 0, 0, time.UTC), Frozen: true,
		History: 24 * time.Hour, Symbols: New().Symbols()})
	if err != nil {
		t.Fatal(err)
	}
	for _, sr := range m.AllSeries() {
		for _, n := range []int{1, 25, 100} {
			st := sr.Book(sim.BookStep(m.NowMs()), n)
			sum, _ := bookChecksum(nil, sr, st.Bids, st.Asks)
			b := orderbook.NewBook(sr.Symbol())
			snap := sr.DomainBook(st)
			if err := b.Load(&snap); err != nil {
				t.Fatal(err)
			}
			if want := (orderbook.BitfinexChecksum{Depth: 25}).Checksum(b); sum != want {
				t.Fatalf("%s len %d: %d, orderbook %d", sr.Symbol(), n, int32(sum), int32(want))
			}
		}
	}
}
