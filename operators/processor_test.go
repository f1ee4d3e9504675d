package operators

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// noSleep records retry pauses without waiting.
type noSleep struct{ calls atomic.Int64 }

func (n *noSleep) sleep(ctx context.Context, d time.Duration) error {
	n.calls.Add(1)
	return ctx.Err()
}

func TestProcessorSurvivesErrorsAndPanics(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls atomic.Int64
	done := make(chan struct{})
	var errs []error
	sl := &noSleep{}
	p := NewOperatorProcessor(FetcherFunc(func(context.Context) error {
		switch calls.Add(1) {
		case 1:
			return errors.New("venue down")
		case 2:
			panic("nil map")
		case 3:
			close(done)
			return nil
		}
		return nil
	}), WithSleep(sl.sleep), WithProcessorLogger(quietLogger()), WithErrorHandler(func(err error) { errs = append(errs, err) }))
	runErr := make(chan error, 1)
	go func() { runErr <- p.Run(ctx) }()
	p.Poll()
	<-done
	cancel()
	if err := <-runErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if st := p.Stats(); st.Polls != 3 || st.Errors != 2 || st.Panics != 1 {
		t.Fatalf("stats %+v, want 3 polls, 2 errors, 1 panic", st)
	}
	if sl.calls.Load() != 2 {
		t.Fatalf("retry pauses = %d, want 2", sl.calls.Load())
	}
	var pe *PanicError
	if len(errs) != 2 || !errors.As(errs[1], &pe) || pe.Value != "nil map" {
		t.Fatalf("errors %v: want the second to be a *PanicError", errs)
	}
}

func TestProcessorPollTriggersAndCoalesces(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	polled := make(chan struct{})
	p := NewOperatorProcessor(FetcherFunc(func(context.Context) error {
		polled <- struct{}{}
		return nil
	}), WithProcessorLogger(quietLogger()))
	runErr := make(chan error, 1)
	go func() { runErr <- p.Run(ctx) }()
	for range 3 {
		p.Poll()
		<-polled
	}
	// While nobody polls, nothing happens; many Polls during no fetch
	// coalesce into one fetch.
	p.Poll()
	p.Poll()
	p.Poll()
	<-polled
	cancel()
	<-runErr
	if got := p.Stats().Polls; got != 4 {
		t.Fatalf("polls = %d, want 4", got)
	}
}

func TestProcessorTicker(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ticks := make(chan time.Time)
	stopped := make(chan struct{})
	var interval time.Duration
	polled := make(chan struct{})
	p := NewOperatorProcessor(FetcherFunc(func(context.Context) error {
		polled <- struct{}{}
		return nil
	}), WithInterval(time.Second), WithTicker(func(d time.Duration) (<-chan time.Time, func()) {
		interval = d
		return ticks, func() { close(stopped) }
	}))
	runErr := make(chan error, 1)
	go func() { runErr <- p.Run(ctx) }()
	ticks <- time.Time{}
	<-polled
	ticks <- time.Time{}
	<-polled
	cancel()
	<-runErr
	<-stopped // the ticker was stopped
	if interval != time.Second {
		t.Fatalf("ticker interval %v", interval)
	}
}

func TestProcessorStopsPromptlyDuringRetryPause(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	failed := make(chan struct{}, 1)
	p := NewOperatorProcessor(FetcherFunc(func(context.Context) error {
		select {
		case failed <- struct{}{}:
		default:
		}
		return errors.New("down")
	}), WithRetryDelay(time.Hour), WithProcessorLogger(quietLogger()))
	runErr := make(chan error, 1)
	go func() { runErr <- p.Run(ctx) }()
	p.Poll()
	<-failed
	cancel() // the loop sits in a one-hour pause: Run must return anyway
	if err := <-runErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
}

func TestProcessorStopsDuringFetch(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	in := make(chan struct{})
	p := NewOperatorProcessor(FetcherFunc(func(ctx context.Context) error {
		close(in)
		<-ctx.Done()
		return ctx.Err()
	}), WithProcessorLogger(quietLogger()))
	runErr := make(chan error, 1)
	go func() { runErr <- p.Run(ctx) }()
	p.Poll()
	<-in
	cancel()
	if err := <-runErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
	if p.Stats().Errors != 0 {
		t.Fatal("cancellation counted as a fetch error")
	}
}

func TestProcessorRejectsSecondRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	in := make(chan struct{})
	p := NewOperatorProcessor(FetcherFunc(func(ctx context.Context) error {
		close(in)
		<-ctx.Done()
		return nil
	}))
	runErr := make(chan error, 1)
	go func() { runErr <- p.Run(ctx) }()
	p.Poll()
	<-in
	if err := p.Run(ctx); !errors.Is(err, ErrProcessorRunning) {
		t.Fatalf("second Run = %v", err)
	}
	cancel()
	<-runErr
	if err := NewOperatorProcessor(nil).Run(ctx); err == nil {
		t.Fatal("nil fetcher accepted")
	}
}
