package coinbase

import (
	"context"
	"errors"
	"sync"
)

// errStopped tells runOrdered's caller that emit asked to stop.
var errStopped = errors.New("coinbase: consumer stopped")

// runOrdered runs work(0) … work(n-1) with at most conc in flight and at
// most 2×conc finished results held ahead of the consumer, and passes the
// results to emit in index order on the calling goroutine. It returns the
// first error (in index order), errStopped when emit returned false, or
// the context's error. Every goroutine it started has ended when it
// returns.
func runOrdered[R any](ctx context.Context, n, conc int, work func(ctx context.Context, i int) (R, error), emit func(i int, r R) bool) error {
	if n <= 0 {
		return nil
	}
	conc = max(conc, 1)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	type result struct {
		r   R
		err error
	}
	slots := make([]chan result, n)
	sem := make(chan struct{}, conc)
	launched := 0
	launch := func() {
		i := launched
		launched++
		ch := make(chan result, 1)
		slots[i] = ch
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				ch <- result{err: ctx.Err()}
				return
			}
			r, err := work(ctx, i)
			<-sem
			ch <- result{r, err}
		}()
	}
	ahead := 2 * conc
	for i := 0; i < n; i++ {
		for launched < n && launched < i+ahead {
			launch()
		}
		var res result
		select {
		case res = <-slots[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
		slots[i] = nil
		if res.err != nil {
			return res.err
		}
		if !emit(i, res.r) {
			return errStopped
		}
	}
	return nil
}
