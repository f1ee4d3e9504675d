package ratelimit_test

import (
	"context"
	"fmt"
	"time"

	"github.com/pype-go/pype/transport/ratelimit"
	"github.com/pype-go/pype/transport/ratelimit/ratelimittest"
)

// Binance spot limits, with a cost per endpoint.
func Example() {
	lim, err := ratelimit.New([]ratelimit.Rule{
		{Name: "REQUEST_WEIGHT", Limit: 6000, Interval: time.Minute},
		{Name: "ORDERS_10S", Limit: 50, Interval: 10 * time.Second},
		{Name: "ORDERS_1D", Limit: 160000, Interval: 24 * time.Hour},
		{Name: "RAW_REQUESTS", Limit: 61000, Interval: 5 * time.Minute},
	})
	if err != nil {
		panic(err)
	}
	klines := ratelimit.Cost{{Rule: "REQUEST_WEIGHT", N: 2}, {Rule: "RAW_REQUESTS", N: 1}}
	newOrder := ratelimit.Cost{{Rule: "REQUEST_WEIGHT", N: 1}, {Rule: "ORDERS_10S", N: 1},
		{Rule: "ORDERS_1D", N: 1}, {Rule: "RAW_REQUESTS", N: 1}}

	ctx := context.Background()
	for _, c := range []ratelimit.Cost{klines, klines, newOrder} {
		if err := lim.Wait(ctx, c); err != nil {
			panic(err)
		}
	}
	// A cost above a limit can never be served and fails at once.
	err = lim.Wait(ctx, ratelimit.Cost{{Rule: "REQUEST_WEIGHT", N: 6001}})
	fmt.Println(err)
	for _, r := range lim.Stats().Rules {
		fmt.Printf("%s: %d of %d\n", r.Name, r.Used, r.Limit)
	}
	// Output:
	// ratelimit: cost 6001 for rule "REQUEST_WEIGHT": exceeds the limit 6000 per 1m0s, so it can never be granted
	// REQUEST_WEIGHT: 5 of 6000
	// ORDERS_10S: 1 of 50
	// ORDERS_1D: 1 of 160000
	// RAW_REQUESTS: 3 of 61000
}

// The venue's usage header corrects the local count, and a 429 pauses
// every request until Retry-After. A manual clock stands in for time.
func ExampleLimiter_Observe() {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := ratelimittest.NewClock(start)
	lim, _ := ratelimit.New([]ratelimit.Rule{{Name: "REQUEST_WEIGHT", Limit: 6000, Interval: time.Minute}},
		ratelimit.WithClock(clk))

	lim.Observe("REQUEST_WEIGHT", 5990, clk.Now()) // X-MBX-USED-WEIGHT-1M: 5990
	ok, _ := lim.TryAcquire(ratelimit.Cost{{Rule: "REQUEST_WEIGHT", N: 20}})
	fmt.Println("20 more now:", ok)

	lim.PauseUntil(start.Add(2 * time.Minute)) // HTTP 429, Retry-After: 120
	clk.Advance(time.Minute)
	ok, _ = lim.TryAcquire(ratelimit.Cost{{Rule: "REQUEST_WEIGHT", N: 20}})
	fmt.Println("after a minute, still paused:", !ok)
	clk.Advance(time.Minute)
	ok, _ = lim.TryAcquire(ratelimit.Cost{{Rule: "REQUEST_WEIGHT", N: 20}})
	fmt.Println("after the pause:", ok)
	// Output:
	// 20 more now: false
	// after a minute, still paused: true
	// after the pause: true
}
