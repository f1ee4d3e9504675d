package paginate

import (
	"context"
	"fmt"

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
// It returns the first error in index order, errBreak when emit returned
// false, or nil. Before returning it cancels the remaining work and waits
// for it, so no goroutine outlives the call. A panic in work is re-raised
// here.
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
	type finished struct {
		i int64
		o outcome[R]
	}
	ctx, cancel := context.WithCancel(ctx)
	results := make(chan finished, conc) // never blocks a worker: at most conc run
	running := 0
	defer func() {
		cancel()
		for ; running > 0; running-- {
			<-results
		}
	}()
	ahead := int64(2 * conc)
	ready := make([]*outcome[R], ahead) // finished windows waiting for their turn, by index mod ahead
	var head, launched int64
	for head < n {
		for ; running < conc && launched < n && launched-head < ahead; launched++ {
			running++
			go func(i int64) { results <- finished{i, runOne(ctx, i, work)} }(launched)
		}
		f := <-results
		running--
		ready[f.i%ahead] = &f.o
		for ; head < launched && ready[head%ahead] != nil; head++ {
			o := ready[head%ahead]
			ready[head%ahead] = nil
			if o.panic != nil {
				panic(fmt.Sprintf("paginate: fetcher panicked: %v", o.panic))
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
