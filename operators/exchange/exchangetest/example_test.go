package exchangetest_test

import (
	"context"
	"fmt"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators"
	"github.com/pype-go/pype/operators/exchange"
	"github.com/pype-go/pype/operators/exchange/exchangetest"
)

func ExamplePaperVenue() {
	ctx := context.Background()
	btc := domain.NewSymbol("BTC", "USDT")
	venue := exchangetest.NewPaperVenue(nil, exchange.TradingRules{
		Symbol: btc, PriceTick: decimal.MustParse("0.01"), AmountStep: decimal.MustParse("0.0001"),
	})
	venue.SetPrice(btc, decimal.MustParse("100"))
	op, _ := exchangetest.NewPaperOperator(venue, operators.OperatorConfiguration{})
	events, _, _ := operators.SubscribeChan(op.Publishing(), exchange.OrderEvents, 16)

	o, _ := op.PlaceTracked(ctx, op, exchange.OrderRequest{Symbol: btc, Side: domain.Buy,
		Price: decimal.MustParse("95"), Amount: decimal.MustParse("0.5")})
	fmt.Println(o.State)
	venue.SetPrice(btc, decimal.MustParse("94.5")) // the market comes to the order
	_ = op.FetchUpdates(ctx)                       // what the poll loop does

	_ = op.Close()
	for e := range events {
		fmt.Println(e.Type, e.Order.Executed, e.Order.Fees["USDT"])
	}
	// Output:
	// OPEN
	// created 0 0
	// filled 0.5000 0.047500000
	// completed 0.5000 0.047500000
}
