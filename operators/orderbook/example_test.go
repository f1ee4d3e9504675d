package orderbook_test

import (
	"fmt"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators/orderbook"
)

func ExampleBook() {
	b := orderbook.NewBook(domain.NewSymbol("BTC", "USDT"))
	p := decimal.MustParse
	_ = b.Load(&domain.BookSnapshot{
		Seq:  42,
		Bids: []domain.BookLevel{{Price: p("99.50"), Amount: p("2")}, {Price: p("99.00"), Amount: p("5")}},
		Asks: []domain.BookLevel{{Price: p("100.00"), Amount: p("1")}, {Price: p("100.50"), Amount: p("3")}},
	})
	_ = b.Set(orderbook.Ask, p("100.00"), p("0")) // an amount of zero removes the level

	ask, _ := b.BestAsk()
	mid, _ := b.Mid()
	vwap, _ := b.VWAP(domain.Sell, p("3")) // a taker selling 3 consumes bids
	worst, _ := b.PriceForAmount(domain.Sell, p("3"))
	up, _ := b.AmountUpToPrice(domain.Buy, p("101"))
	fmt.Println("best ask", ask.Price, "mid", mid)
	fmt.Println("sell 3: vwap", vwap, "worst", worst)
	fmt.Println("buyable up to 101:", up)
	// Output:
	// best ask 100.50 mid 100.00
	// sell 3: vwap 99.33333333333333333 worst 99.00
	// buyable up to 101: 3
}

func ExampleKrakenChecksum() {
	b := orderbook.NewBook(domain.NewSymbol("BTC", "USD"))
	p := decimal.MustParse
	// Kraken v1 sends strings; the book keeps them as written.
	_ = b.Set(orderbook.Ask, p("0.05120"), p("0.00000500"))
	_ = b.Set(orderbook.Bid, p("0.04940"), p("0.00000500"))
	rule := orderbook.KrakenChecksum{}
	fmt.Printf("%s %d\n", rule.AppendPayload(nil, b), rule.Checksum(b))
	// Output: 51205004940500 3516091911
}
