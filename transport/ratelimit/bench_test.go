package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/pype-go/pype/transport/ratelimit"
)

func benchLimiter(b *testing.B) *ratelimit.Limiter {
	const big = 1 << 50 // never the bottleneck: measures the overhead only
	l, err := ratelimit.New([]ratelimit.Rule{
		{Name: "REQUEST_WEIGHT", Limit: big, Interval: time.Minute},
		{Name: "ORDERS_10S", Limit: big, Interval: 10 * time.Second},
		{Name: "ORDERS_1D", Limit: big, Interval: 24 * time.Hour},
		{Name: "RAW_REQUESTS", Limit: big, Interval: 5 * time.Minute},
	})
	if err != nil {
		b.Fatal(err)
	}
	return l
}

// BenchmarkWait measures Wait when the cost fits at once (system clock).
func BenchmarkWait(b *testing.B) {
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		cost ratelimit.Cost
	}{
		{"1rule", ratelimit.Cost{{Rule: "REQUEST_WEIGHT", N: 2}}},
		{"2rules", ratelimit.Cost{{Rule: "REQUEST_WEIGHT", N: 2}, {Rule: "RAW_REQUESTS", N: 1}}},
		{"4rules", ratelimit.Cost{{Rule: "REQUEST_WEIGHT", N: 1}, {Rule: "ORDERS_10S", N: 1}, {Rule: "ORDERS_1D", N: 1}, {Rule: "RAW_REQUESTS", N: 1}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			l := benchLimiter(b)
			b.ReportAllocs()
			for b.Loop() {
				if err := l.Wait(ctx, bc.cost); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWaitLiteral passes a cost literal built at the call site.
func BenchmarkWaitLiteral(b *testing.B) {
	ctx := context.Background()
	l := benchLimiter(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := l.Wait(ctx, ratelimit.Cost{{Rule: "REQUEST_WEIGHT", N: 2}, {Rule: "RAW_REQUESTS", N: 1}}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWaitParallel measures contention on one venue's limiter.
func BenchmarkWaitParallel(b *testing.B) {
	ctx := context.Background()
	l := benchLimiter(b)
	cost := ratelimit.Cost{{Rule: "REQUEST_WEIGHT", N: 2}, {Rule: "RAW_REQUESTS", N: 1}}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := l.Wait(ctx, cost); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
