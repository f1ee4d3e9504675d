package binance

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pype-go/pype/sim"
)

// TestAggRowsMatchPlainFormatting checks the incremental /aggTrades row
// formatter against the plain one (used by the stream), across digit
// carries (999 → 1000), multi-fill trades, jumps and time-prefix changes.
func TestAggRowsMatchPlainFormatting(t *testing.T) {
	env, err := sim.NewEnv(context.Background(), New(), sim.Config{Seed: 1, Now: time.Date(2024, 3, 15, 0, 0, 0, 0, time.UTC), Frozen: true})
	if err != nil {
		t.Fatal(err)
	}
	sr := env.Market.AllSeries()[0]
	r := rand.New(rand.NewPCG(7, 8))
	for _, start := range []int64{0, 1, 8, 95, 997, 99_998, 999_999_990, 9_999_999_999_999_990} {
		var rows aggRows
		id, trade, ms := start, start*2, 99_990+start%7
		for i := 0; i < 3000; i++ {
			fills := int64(1)
			if r.IntN(4) == 0 {
				fills += int64(r.IntN(30))
			}
			a := sim.AggTrade{ID: id, FirstTradeID: trade, LastTradeID: trade + fills - 1, Time: ms,
				Price: int64(r.IntN(1e7)), Qty: int64(r.IntN(1e6)), BuyerMaker: r.IntN(2) == 0}
			want := appendAggFields([]byte("x{"), sr, a)
			if got := rows.appendRow([]byte("x"), sr, a); !bytes.Equal(got, want) {
				t.Fatalf("start %d row %d:\n got %s\nwant %s", start, i, got, want)
			}
			id++
			trade += fills
			switch r.IntN(10) {
			case 0:
				id += int64(r.IntN(1000)) // a jump (new page, other hour)
				trade += int64(r.IntN(5000))
			case 1:
				ms += int64(r.IntN(300_000))
			default:
				ms += int64(r.IntN(3))
			}
		}
	}
}
