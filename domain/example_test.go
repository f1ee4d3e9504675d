package domain_test

import (
	"fmt"

	"github.com/pype-go/pype/domain"
)

func ExampleParseSymbol() {
	s, _ := domain.ParseSymbol("xbt-usd")
	fmt.Println(s, s.PathName())
	_, err := domain.ParseSymbol("BTCUSD")
	fmt.Println(err != nil)
	// Output:
	// BTC/USD BTC-USD
	// true
}

func ExampleSpan_Floor() {
	ts, _ := domain.ParseTime("2024-02-14T13:45:00Z")
	for _, s := range []string{"1h", "1d", "1w", "1M"} {
		sp := domain.MustParseSpan(s)
		fmt.Println(s, domain.FormatNs(sp.Floor(ts)))
	}
	// Output:
	// 1h 2024-02-14T13:00:00Z
	// 1d 2024-02-14T00:00:00Z
	// 1w 2024-02-12T00:00:00Z
	// 1M 2024-02-01T00:00:00Z
}
