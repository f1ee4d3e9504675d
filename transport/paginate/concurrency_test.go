package paginate_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/transport/paginate"
)

// gatedVenue holds every request until the test opens its gate, and counts
// the requests in flight.
type gatedVenue struct {
	*barVenue
	started  chan int64 // window start of each request, when it arrives
	finished chan int64 // ... when it returns

	mu        sync.Mutex
	gates     map[int64]chan struct{}
	completed []int64

	inflight, maxInflight atomic.Int64
}

func newGatedVenue(span domain.Span) *gatedVenue {
	return &gatedVenue{barVenue: newBarVenue(span), started: make(chan int64, 1000), finished: make(chan int64, 1000), gates: map[int64]chan struct{}{}}
}

func (g *gatedVenue) gate(start int64) chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	ch, ok := g.gates[start]
	if !ok {
		ch = make(chan struct{})
		g.gates[start] = ch
	}
	return ch
}

func (g *gatedVenue) fetch(ctx context.Context, w domain.Range, limit int) ([]domain.OHLCBar, error) {
	n := g.inflight.Add(1)
	defer g.inflight.Add(-1)
	for m := g.maxInflight.Load(); n > m && !g.maxInflight.CompareAndSwap(m, n); m = g.maxInflight.Load() {
	}
	g.started <- w.Start
	select {
	case <-g.gate(w.Start):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	g.mu.Lock()
	g.completed = append(g.completed, w.Start)
	g.mu.Unlock()
	bars, err := g.barVenue.fetch(ctx, w, limit)
	g.finished <- w.Start
	return bars, err
}

// recv receives from ch or fails the test after a generous deadline (a
// deadlock guard, not a timing assertion).
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func TestOHLCConcurrentWindowsYieldInOrder(t *testing.T) {
	const conc, windows, limit = 4, 14, 10
	for seed := range uint64(5) {
		g := newGatedVenue(domain.Span1m)
		r := domain.Range{Start: ts("2024-01-01"), End: ts("2024-01-01") + windows*limit*int64(time.Minute)}
		ctx, cancel := context.WithCancel(t.Context())
		type result struct {
			bars []domain.OHLCBar
			err  error
		}
		done := make(chan result, 1)
		go func() {
			bars, err := collect(paginate.OHLC(ctx, r, g.fetch, paginate.OHLCOptions{Span: domain.Span1m, Limit: limit, Concurrency: conc}))
			done <- result{bars, err}
		}()
		// Release the requests in flight round by round, in a shuffled order
		// (reversed in the first round), so windows finish out of order.
		rnd := rand.New(rand.NewPCG(seed, 7))
		for released := 0; released < windows; {
			m := min(conc, windows-released)
			batch := make([]int64, m)
			for i := range batch {
				batch[i] = recv(t, g.started, "a request to start")
			}
			order := rnd.Perm(m)
			if released == 0 {
				slices.Sort(batch)
				slices.Reverse(batch)
				order = []int{0, 1, 2, 3}
			}
			for _, k := range order {
				close(g.gate(batch[k]))
				recv(t, g.finished, "a request to finish")
				released++
			}
		}
		res := recv(t, done, "the iteration to end")
		cancel()
		if res.err != nil {
			t.Fatal(res.err)
		}
		sameTimes(t, openTimes(res.bars), g.want(r))
		if slices.IsSorted(g.completed) {
			t.Errorf("seed %d: windows completed in order; the test did not force reordering", seed)
		}
		if m := g.maxInflight.Load(); m != conc {
			t.Errorf("seed %d: at most %d requests in flight, want exactly the bound %d", seed, m, conc)
		}
	}
}

func TestOHLCEarlyBreakCancelsWindowsWithoutLeaks(t *testing.T) {
	g := newGatedVenue(domain.Span1m)
	r := rng("2024-01-01", "2024-01-02")
	first := r.Start
	close(g.gate(first))
	n := 0
	for b, err := range paginate.OHLC(t.Context(), r, g.fetch, paginate.OHLCOptions{Span: domain.Span1m, Limit: 60, Concurrency: 4}) {
		if err != nil {
			t.Fatal(err)
		}
		if b.OpenTime != first {
			t.Fatalf("first bar %s", domain.FormatNs(b.OpenTime))
		}
		// Windows 2–4 are now blocked inside the fetcher.
		for range 4 {
			recv(t, g.started, "a request to start")
		}
		n++
		break
	}
	if n != 1 || g.inflight.Load() != 0 {
		t.Fatalf("after break: %d bars, %d requests still in flight", n, g.inflight.Load())
	}
	goleak.VerifyNone(t)
}

func TestOHLCCancelMidDrain(t *testing.T) {
	for _, conc := range []int{1, 3} {
		g := newGatedVenue(domain.Span1m)
		r := rng("2024-01-01", "2024-01-02")
		close(g.gate(r.Start))
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var n int
		var err error
		for _, err = range paginate.OHLC(ctx, r, g.fetch, paginate.OHLCOptions{Span: domain.Span1m, Limit: 60, Concurrency: conc}) {
			if err != nil {
				break
			}
			if n++; n == 30 {
				cancel() // the second window is blocked in the fetcher
			}
		}
		if !errors.Is(err, context.Canceled) || n != 60 {
			t.Errorf("conc %d: %d bars, err %v; want the first window's 60 bars and context.Canceled", conc, n, err)
		}
		if in := g.inflight.Load(); in != 0 {
			t.Errorf("conc %d: %d requests in flight after the loop", conc, in)
		}
		goleak.VerifyNone(t)
	}
}

func TestOHLCFetcherPanicReachesTheConsumer(t *testing.T) {
	v := newBarVenue(domain.Span1m)
	boom := func(ctx context.Context, w domain.Range, limit int) ([]domain.OHLCBar, error) {
		if w.Start > ts("2024-01-01T02:00:00Z") {
			panic("adapter bug")
		}
		return v.fetch(ctx, w, limit)
	}
	defer func() {
		if p := recover(); p == nil {
			t.Error("no panic")
		}
		goleak.VerifyNone(t)
	}()
	for _, err := range paginate.OHLC(t.Context(), rng("2024-01-01", "2024-01-02"), boom, paginate.OHLCOptions{Span: domain.Span1m, Limit: 60, Concurrency: 3}) {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestCancelWhileConsumerHoldsAWindow(t *testing.T) {
	// The venue answers at once; the consumer cancels while it holds the
	// first window, after the later windows were fetched and buffered. The
	// iteration must end with the context's error, not hang or go on.
	v := newBarVenue(domain.Span1m)
	fetched := make(chan struct{}, 100)
	fetch := func(ctx context.Context, w domain.Range, limit int) ([]domain.OHLCBar, error) {
		defer func() { fetched <- struct{}{} }()
		return v.fetch(ctx, w, limit)
	}
	for _, conc := range []int{1, 2} {
		ctx, cancel := context.WithCancel(t.Context())
		var n int
		var err error
		for _, err = range paginate.OHLC(ctx, rng("2024-01-01", "2024-01-02"), fetch, paginate.OHLCOptions{Span: domain.Span1m, Limit: 60, Concurrency: conc}) {
			if err != nil {
				break
			}
			if n++; n == 1 {
				ahead := 1 // the lookahead fills while we hold the first bar
				if conc > 1 {
					ahead = 2 * conc
				}
				for range ahead {
					recv(t, fetched, "a fetch")
				}
				cancel()
			}
		}
		cancel()
		if !errors.Is(err, context.Canceled) || n != 60 {
			t.Errorf("conc %d: %d bars, err %v; want window 1 and context.Canceled", conc, n, err)
		}
		goleak.VerifyNone(t)
		for len(fetched) > 0 {
			<-fetched
		}
	}
}
