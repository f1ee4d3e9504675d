package operators

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// Fetcher is the concrete operator's share of the poll loop: fetch whatever
// changed at the venue (order statuses, balances, transaction receipts) and
// publish it.
type Fetcher interface {
	FetchUpdates(ctx context.Context) error
}

// FetcherFunc adapts a function to [Fetcher].
type FetcherFunc func(ctx context.Context) error

// FetchUpdates calls f.
func (f FetcherFunc) FetchUpdates(ctx context.Context) error { return f(ctx) }

// DefaultRetryDelay is how long [OperatorProcessor] waits after a failed
// fetch before trying again.
const DefaultRetryDelay = 500 * time.Millisecond

// ErrProcessorRunning is returned by [OperatorProcessor.Run] when the
// processor is already running.
var ErrProcessorRunning = errors.New("operators: processor already running")

// PanicError is the error a recovered panic in [Fetcher.FetchUpdates]
// becomes.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("operators: fetch panicked: %v", e.Value) }

// OperatorProcessor is an operator's poll loop. Run waits for a poll
// request, clears it, calls [Fetcher.FetchUpdates], and repeats. Poll
// requests come from a ticker (every Interval, if set) and from
// [OperatorProcessor.Poll]; requests made while a fetch runs coalesce into
// one more fetch after it. When a fetch fails (or panics) the error is
// logged and counted, the loop waits RetryDelay and fetches again; it never
// gives up. Run returns when its context is done.
type OperatorProcessor struct {
	fetcher    Fetcher
	interval   time.Duration
	retryDelay time.Duration
	logger     *slog.Logger
	sleep      func(ctx context.Context, d time.Duration) error
	ticker     func(d time.Duration) (<-chan time.Time, func())
	onError    func(error)

	notify  chan struct{}
	running atomic.Bool

	polls  atomic.Uint64
	errors atomic.Uint64
	panics atomic.Uint64
}

// ProcessorOption configures an [OperatorProcessor].
type ProcessorOption func(*OperatorProcessor)

// WithInterval makes a ticker request a poll every d. Zero (the default)
// means polls happen only on Poll.
func WithInterval(d time.Duration) ProcessorOption {
	return func(p *OperatorProcessor) { p.interval = d }
}

// WithRetryDelay sets the pause after a failed fetch (default 500 ms).
func WithRetryDelay(d time.Duration) ProcessorOption {
	return func(p *OperatorProcessor) { p.retryDelay = d }
}

// WithProcessorLogger sets the logger for fetch errors.
func WithProcessorLogger(l *slog.Logger) ProcessorOption {
	return func(p *OperatorProcessor) { p.logger = l }
}

// WithSleep replaces the retry pause (tests inject one that returns at
// once). sleep must return ctx.Err() promptly when ctx is done.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) ProcessorOption {
	return func(p *OperatorProcessor) { p.sleep = sleep }
}

// WithTicker replaces the interval ticker: newTicker returns a channel of
// ticks and a stop function.
func WithTicker(newTicker func(d time.Duration) (<-chan time.Time, func())) ProcessorOption {
	return func(p *OperatorProcessor) { p.ticker = newTicker }
}

// WithErrorHandler calls fn with every fetch error (after logging it), from
// the loop's goroutine.
func WithErrorHandler(fn func(error)) ProcessorOption {
	return func(p *OperatorProcessor) { p.onError = fn }
}

// NewOperatorProcessor returns a processor that polls f.
func NewOperatorProcessor(f Fetcher, opts ...ProcessorOption) *OperatorProcessor {
	p := &OperatorProcessor{
		fetcher:    f,
		retryDelay: DefaultRetryDelay,
		notify:     make(chan struct{}, 1),
		sleep:      sleepCtx,
		ticker: func(d time.Duration) (<-chan time.Time, func()) {
			t := time.NewTicker(d)
			return t.C, t.Stop
		},
	}
	for _, o := range opts {
		o(p)
	}
	if p.logger == nil {
		p.logger = slog.Default()
	}
	return p
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Poll requests a poll as soon as possible. It never blocks; requests
// coalesce.
func (p *OperatorProcessor) Poll() {
	select {
	case p.notify <- struct{}{}:
	default:
	}
}

// ProcessorStats are the processor's counters.
type ProcessorStats struct {
	Polls  uint64 // fetches started
	Errors uint64 // fetches that failed (panics included)
	Panics uint64 // fetches that panicked
}

// Stats returns the processor's counters.
func (p *OperatorProcessor) Stats() ProcessorStats {
	return ProcessorStats{Polls: p.polls.Load(), Errors: p.errors.Load(), Panics: p.panics.Load()}
}

// Run runs the loop until ctx is done and returns ctx.Err(). It returns
// [ErrProcessorRunning] if another Run of the same processor is active.
func (p *OperatorProcessor) Run(ctx context.Context) error {
	if p.fetcher == nil {
		return errors.New("operators: processor has no fetcher")
	}
	if !p.running.CompareAndSwap(false, true) {
		return ErrProcessorRunning
	}
	defer p.running.Store(false)

	var tick <-chan time.Time
	if p.interval > 0 {
		c, stop := p.ticker(p.interval)
		defer stop()
		tick = c
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.notify:
		case <-tick:
		}
		for {
			// Clear before fetching: a request arriving during the fetch
			// is for data the fetch may have missed.
			select {
			case <-p.notify:
			default:
			}
			err := p.fetch(ctx)
			if err == nil || ctx.Err() != nil {
				break
			}
			p.errors.Add(1)
			p.logger.Warn("operators: fetch failed; retrying", "error", err, "retry_in", p.retryDelay)
			if p.onError != nil {
				p.onError(err)
			}
			if p.sleep(ctx, p.retryDelay) != nil {
				return ctx.Err()
			}
		}
	}
}

func (p *OperatorProcessor) fetch(ctx context.Context) (err error) {
	p.polls.Add(1)
	defer func() {
		if r := recover(); r != nil {
			p.panics.Add(1)
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return p.fetcher.FetchUpdates(ctx)
}
