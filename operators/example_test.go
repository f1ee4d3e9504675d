package operators_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pype-go/pype/operators"
)

type Fill struct {
	OrderID string
	Amount  string
}

var fills = operators.NewTopic[Fill]("example.fill")

func ExampleMultiPublisher() {
	pub := operators.NewMultiPublisher()
	ch, sub, err := operators.SubscribeChan(pub, fills, 16)
	if err != nil {
		panic(err)
	}
	_ = operators.Publish(pub, fills, Fill{"42", "0.5"})
	_ = operators.Publish(pub, fills, Fill{"42", "0.25"})
	fmt.Println(<-ch)
	fmt.Println(<-ch)
	sub.Unsubscribe()
	_ = pub.Close()
	// Output:
	// {42 0.5}
	// {42 0.25}
}

func ExampleNonceCreator() {
	frozen := operators.ClockFunc(func() time.Time { return time.UnixMilli(1_700_000_000_000) })
	n := operators.ForMilliseconds(operators.WithNonceClock(frozen))
	fmt.Println(n.TrackingNonce())
	fmt.Println(n.TrackingNonce()) // same millisecond: still strictly greater
	// Output:
	// 1700000000000
	// 1700000000001
}

func ExampleOperatorFactory() {
	var f operators.OperatorFactory
	_ = f.Register("ethereum", func(ctx context.Context) (operators.Operator, error) {
		return operators.NewBase(operators.OperatorConfiguration{Platform: operators.ChainPlatform("ethereum", "1")})
	})
	_ = f.Register("erc20", func(ctx context.Context) (operators.Operator, error) {
		chain, err := f.Get(ctx, "ethereum") // pass ctx on: cycles are detected
		if err != nil {
			return nil, err
		}
		return operators.NewBase(operators.OperatorConfiguration{
			Platform:    operators.ChainPlatform("erc20", chain.Platform().ChainID),
			DisplayName: "ERC-20 on " + chain.Name(),
		})
	})
	op, err := f.Get(context.Background(), "erc20")
	fmt.Println(op.DisplayName(), err)
	_, err = f.Get(context.Background(), "solana")
	var unknown *operators.UnknownOperatorError
	fmt.Println(errors.As(err, &unknown), err)
	_ = f.Close()
	// Output:
	// ERC-20 on ethereum <nil>
	// true operators: unknown operator "solana" (registered: erc20, ethereum)
}

func ExampleOperatorProcessor() {
	ctx, cancel := context.WithCancel(context.Background())
	fetched := make(chan struct{})
	p := operators.NewOperatorProcessor(operators.FetcherFunc(func(ctx context.Context) error {
		fetched <- struct{}{} // e.g. query open orders and publish changes
		return nil
	}), operators.WithInterval(time.Minute))
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	p.Poll() // poll now rather than at the next tick
	<-fetched
	cancel()
	fmt.Println(<-done, p.Stats().Polls)
	// Output:
	// context canceled 1
}

func ExampleClockOffset() {
	local := time.Unix(1_700_000_000, 0)
	var c operators.ClockOffset
	// Request sent at local, answered 100 ms later; the server's clock read
	// 1 s ahead of ours at the midpoint.
	c.AddSample(local, local.Add(50*time.Millisecond+time.Second), local.Add(100*time.Millisecond))
	fmt.Println(c.Offset())
	// Output:
	// 1s
}

func ExamplePlatform() {
	sepolia := operators.ChainPlatform("ethereum", "11155111").WithTestnet(true)
	fmt.Println(sepolia, sepolia.Kind, sepolia.Validate())
	fmt.Println(operators.ExchangePlatform("Binance").Validate())
	// Output:
	// ethereum[chain=11155111](testnet) blockchain <nil>
	// operators: platform identifier "Binance" contains 'B' (accepted: lowercase letters, digits, '-', '_', '.')
}

type Ticker struct {
	Symbol string
	Last   float64
}

func ExampleNewLossyTopic() {
	// Market data: a slow subscriber gets the newest values; drops are
	// counted.
	tickers := operators.NewLossyTopic[Ticker]("example.ticker", 2)
	pub := operators.NewMultiPublisher()
	busy, release := make(chan struct{}), make(chan struct{})
	var got []float64
	sub, _ := operators.Subscribe(pub, tickers, func(t Ticker) {
		if t.Last == 100 {
			close(busy)
			<-release // a slow subscriber
		}
		got = append(got, t.Last)
	})
	_ = operators.Publish(pub, tickers, Ticker{"BTC/USDT", 100})
	<-busy
	for i := 101; i <= 105; i++ {
		_ = operators.Publish(pub, tickers, Ticker{"BTC/USDT", float64(i)})
	}
	close(release)
	_ = pub.Close()
	fmt.Println(got, sub.Stats().Dropped)
	// Output:
	// [100 104 105] 3
}

// Exchange is a concrete operator: it embeds *operators.Base.
type Exchange struct {
	*operators.Base
	restURL string
}

func ExampleBase() {
	b, err := operators.NewBase(operators.OperatorConfiguration{
		Platform:    operators.ExchangePlatform("kraken"),
		DisplayName: "Kraken Spot",
	})
	if err != nil {
		panic(err)
	}
	var op operators.Operator = &Exchange{Base: b, restURL: "http://127.0.0.1:8080"}
	fmt.Println(op.Name(), "/", op.DisplayName(), "/", op.Platform().Kind)
	fmt.Println(b.Nonce().Unit())
	_ = b.Close()
	// Output:
	// kraken / Kraken Spot / centralized_exchange
	// 1µs
}
