package paginate

import (
	"context"
	"fmt"
	"sync"

	"github.com/pype-go/pype/domain"
)

// grid is a sequence of consecutive windows: window i starts at
// window.Add(origin, i); the last one is clipped to end.
type grid struct {
	origin, end int64
	window      domain.Span
	n           int64
}

// newGrid lays windows of length window over [origin, end).
func newGrid(origin, end int64, window domain.Span) grid {
	g := grid{origin: origin, end: end, window: window}
	switch {
	case end <= origin:
	case window > 0:
		g.n = (end - origin + int64(window) - 1) / int64(window)
	default:
		for t := origin; t < end; t = window.Add(origin, g.n) {
			g.n++
		}
	}
	return g
}

func (g grid) at(i int64) domain.Range {
	return domain.Range{Start: g.window.Add(g.origin, i), End: min(g.window.Add(g.origin, i+1), g.end)}
}

// times returns a span n times as long as s (n ≥ 1); monthly spans stay
// monthly.
func times(s domain.Span, n int64) domain.Span { return domain.Span(int64(s) * n) }

// outcome is what a worker hands back to the consumer.
type outcome[R any] struct {
	val   R
	err   error
	panic any
}

// runOrdered runs work(i) for i in [0, n) with at most conc calls at once,
// started in index order and at most 2·conc windows ahead of the consumer,
// and calls emit with each result in index order on the calling goroutine.
// Workers keep fetching while emit runs. It returns the first error in
// index order, errBreak when emit returned false, or nil. Before returning
// it cancels the remaining work and waits for it, so no goroutine outlives
// the call. A panic in work is re-raised here.
func runOrdered[R any](ctx context.Context, n int64, conc int, work func(ctx context.Context, i int64) (R, error), emit func(i int64, r R) bool) error {
	if conc <= 1 {
		for i := int64(0); i < n; i++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			r, err := work(ctx, i)
			if err != nil {
				return err
			}
			if !emit(i, r) {
				return errBreak
			}
		}
		return nil
	}
	ahead := int64(2 * conc)
	d := &dispatcher[R]{n: n, ahead: ahead, results: make(chan finished[R], ahead)}
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		d.wg.Wait()
	}()
	ready := make([]*outcome[R], ahead) // finished windows waiting for their turn, by index mod ahead
	for head := int64(0); head < n; {
		d.spawn(ctx, conc, head, work)
		select {
		case f := <-d.results:
			ready[f.i%ahead] = &f.o
		case <-ctx.Done():
			return ctx.Err()
		}
		for ; ready[head%ahead] != nil; head++ {
			o := ready[head%ahead]
			ready[head%ahead] = nil
			if o.panic != nil {
				panic(fmt.Sprintf("paginate: fetcher panicked: %v", o.panic))
			}
			if o.err == nil {
				o.err = ctx.Err() // cancelled: stop, though later windows may be ready
			}
			if o.err != nil {
				return o.err
			}
			if !emit(head, o.val) {
				return errBreak
			}
		}
	}
	return nil
}

type finished[R any] struct {
	i int64
	o outcome[R]
}

// dispatcher hands out window indexes to workers in order. At most ahead
// windows past the consumer's head are claimed, so results (buffered ahead)
// never block a worker.
type dispatcher[R any] struct {
	n, ahead int64
	results  chan finished[R]
	wg       sync.WaitGroup

	mu             sync.Mutex
	head, launched int64
	running        int
}

// spawn records the consumer's head and starts workers up to conc.
func (d *dispatcher[R]) spawn(ctx context.Context, conc int, head int64, work func(context.Context, int64) (R, error)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.head = head
	for ; d.running < conc && d.claimableLocked(ctx); d.running++ {
		d.wg.Add(1)
		go d.worker(ctx, work)
	}
}

func (d *dispatcher[R]) claimableLocked(ctx context.Context) bool {
	return d.launched < d.n && d.launched-d.head < d.ahead && ctx.Err() == nil
}

// worker runs windows until none may be claimed.
func (d *dispatcher[R]) worker(ctx context.Context, work func(context.Context, int64) (R, error)) {
	defer d.wg.Done()
	for {
		d.mu.Lock()
		if !d.claimableLocked(ctx) {
			d.running--
			d.mu.Unlock()
			return
		}
		i := d.launched
		d.launched++
		d.mu.Unlock()
		d.results <- finished[R]{i, runOne(ctx, i, work)}
	}
}

func runOne[R any](ctx context.Context, i int64, work func(context.Context, int64) (R, error)) (o outcome[R]) {
	defer func() {
		if p := recover(); p != nil {
			o.panic = p
		}
	}()
	if err := ctx.Err(); err != nil {
		o.err = err
		return o
	}
	o.val, o.err = work(ctx, i)
	return o
}
