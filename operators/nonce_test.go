package operators

import (
	"sync"
	"testing"
	"time"
)

func TestNonceUnits(t *testing.T) {
	at := time.Unix(1_700_000_000, 123_456_789)
	fixed := ClockFunc(func() time.Time { return at })
	tests := []struct {
		name string
		n    *NonceCreator
		want int64
	}{
		{"seconds", ForSeconds(WithNonceClock(fixed)), 1_700_000_000},
		{"milliseconds", ForMilliseconds(WithNonceClock(fixed)), 1_700_000_000_123},
		{"microseconds", ForMicroseconds(WithNonceClock(fixed)), 1_700_000_000_123_456},
		{"zero value is microseconds", &NonceCreator{clock: fixed}, 1_700_000_000_123_456},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.n.TrackingNonce(); got != tt.want {
				t.Fatalf("first nonce = %d, want %d", got, tt.want)
			}
			// The clock stands still: the next nonces still increase.
			if got := tt.n.TrackingNonce(); got != tt.want+1 {
				t.Fatalf("second nonce = %d, want %d", got, tt.want+1)
			}
			// An earlier timestamp still increases.
			if got := tt.n.TrackingNonceAt(at.Add(-time.Hour)); got != tt.want+2 {
				t.Fatalf("nonce for earlier time = %d, want %d", got, tt.want+2)
			}
			// A later timestamp jumps forward.
			later := at.Add(10 * time.Second)
			want := later.UnixNano() / int64(tt.n.Unit())
			if got := tt.n.TrackingNonceAt(later); got != want {
				t.Fatalf("nonce for later time = %d, want %d", got, want)
			}
			if tt.n.Last() != want {
				t.Fatalf("Last = %d, want %d", tt.n.Last(), want)
			}
		})
	}
}

func TestNonceStart(t *testing.T) {
	n := ForSeconds(WithNonceStart(5_000_000_000), WithNonceClock(ClockFunc(func() time.Time { return time.Unix(100, 0) })))
	if got := n.TrackingNonce(); got != 5_000_000_001 {
		t.Fatalf("got %d, want 5000000001", got)
	}
}

func TestNonceConcurrentStrictlyIncreasingAndUnique(t *testing.T) {
	at := time.Unix(1_700_000_000, 0)
	n := ForMilliseconds(WithNonceClock(ClockFunc(func() time.Time { return at })))
	const goroutines, per = 8, 2000
	results := make([][]int64, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			prev := int64(0)
			for range per {
				v := n.TrackingNonce()
				if v <= prev {
					t.Errorf("goroutine %d: nonce %d after %d", g, v, prev)
				}
				prev = v
				results[g] = append(results[g], v)
			}
		})
	}
	wg.Wait()
	seen := make(map[int64]bool, goroutines*per)
	for _, rs := range results {
		for _, v := range rs {
			if seen[v] {
				t.Fatalf("nonce %d returned twice", v)
			}
			seen[v] = true
		}
	}
	first := at.UnixMilli()
	if n.Last() != first+goroutines*per-1 {
		t.Fatalf("Last = %d, want %d (a frozen clock yields consecutive values)", n.Last(), first+goroutines*per-1)
	}
}

func BenchmarkTrackingNonceParallel(b *testing.B) {
	n := ForMicroseconds()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n.TrackingNonce()
		}
	})
}
