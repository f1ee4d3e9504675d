package exchange_test

import (
	"fmt"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators"
	"github.com/pype-go/pype/operators/exchange"
)

func ExampleOrderTracker() {
	pub := operators.NewMultiPublisher()
	events, _, _ := operators.SubscribeChan(pub, exchange.OrderEvents, 16)
	tr := exchange.NewOrderTracker(pub)

	_, _ = tr.Track(exchange.OrderRequest{
		ClientOrderID: "c1", Symbol: domain.NewSymbol("BTC", "USDT"), Side: domain.Buy,
		Price: decimal.MustParse("100"), Amount: decimal.MustParse("1"),
	})
	// The placement answer binds the venue's id.
	_, _ = tr.ProcessUpdate(exchange.OrderUpdate{ClientOrderID: "c1", ExchangeOrderID: "9001", State: exchange.Open})
	// Fills arrive by exchange id only, one of them twice, before any
	// FILLED status.
	fill := exchange.Fill{ExchangeOrderID: "9001", TradeID: "t1", Price: decimal.MustParse("100"), Amount: decimal.MustParse("0.4")}
	_, _ = tr.ProcessFill(fill)
	out, _ := tr.ProcessFill(fill)
	fmt.Println("replayed fill:", out)
	_, _ = tr.ProcessFill(exchange.Fill{ExchangeOrderID: "9001", TradeID: "t2", Price: decimal.MustParse("101"), Amount: decimal.MustParse("0.6")})
	// The FILLED status comes last: no second completion.
	_, _ = tr.ProcessUpdate(exchange.OrderUpdate{ExchangeOrderID: "9001", State: exchange.Filled})

	_ = pub.Close()
	for e := range events {
		fmt.Println(e.Type, e.Order.State, e.Order.Executed)
	}
	o, _ := tr.Get(exchange.OrderRef{ExchangeOrderID: "9001"})
	fmt.Println("average price:", o.AveragePrice())
	// Output:
	// replayed fill: duplicate
	// created OPEN 0
	// filled PARTIALLY_FILLED 0.4
	// filled FILLED 1.0
	// completed FILLED 1.0
	// average price: 100.6
}

func ExampleTradingRules_Quantize() {
	rules := exchange.TradingRules{
		Symbol:    domain.NewSymbol("BTC", "USDT"),
		PriceTick: decimal.MustParse("0.01"), AmountStep: decimal.MustParse("0.001"),
		MinNotional: decimal.MustParse("5"),
	}
	req := exchange.OrderRequest{Symbol: rules.Symbol, Side: domain.Sell,
		Price: decimal.MustParse("64000.123"), Amount: decimal.MustParse("0.01234")}
	q, _ := rules.Quantize(req)
	fmt.Println(q.Price, q.Amount) // a passive sell rounds its price up
	aggressive, _ := rules.QuantizePrice(domain.Sell, req.Price, true)
	fmt.Println(aggressive)
	req.Amount = decimal.MustParse("0.00005")
	_, err := rules.Quantize(req)
	fmt.Println(err)
	// Output:
	// 64000.13 0.012
	// 64000.12
	// exchange: BTC/USDT amount 0.00005 rounds to 0 at lot size 0.001
}

func ExampleClientOrderIDPolicy_ValidateID() {
	bybit := exchange.ClientOrderIDPolicy{MaxLength: 36, Extra: "-_"}
	fmt.Println(bybit.ValidateID("grid-7_buy"))
	fmt.Println(bybit.ValidateID("grid/7"))
	// Output:
	// <nil>
	// exchange: client order id "grid/7" contains '/' (accepted: alphanumeric characters plus "-_")
}
