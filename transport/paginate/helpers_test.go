package paginate_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/transport/paginate"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ts(s string) int64 {
	v, err := domain.ParseTime(s)
	if err != nil {
		panic(err)
	}
	return v
}

func rng(from, to string) domain.Range { return domain.Range{Start: ts(from), End: ts(to)} }

func collect[T any](seq iter.Seq2[T, error]) ([]T, error) {
	var out []T
	for v, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
	return out, nil
}

// barVenue is a fake candle venue with configurable misbehaviour.
type barVenue struct {
	span     domain.Span
	from, to int64                 // history: bars open in [from, to)
	missing  func(open int64) bool // bars the venue does not have (gaps)

	serveMax     int  // rows the venue really serves per request (0: the limit asked)
	newestFirst  bool // pages newest first; truncation keeps the newest rows
	inclusiveEnd bool // also returns the bar opening at w.End
	startEarly   bool // also returns the bar before w.Start
	dupes        bool // every bar twice
	tooLarge     int  // rejects windows of more bars than this
	tooLargeMax  bool // ... saying how many it serves
	errAt        map[int64]error

	mu    sync.Mutex
	calls []domain.Range
}

func newBarVenue(span domain.Span) *barVenue {
	return &barVenue{span: span, from: ts("2000-01-01"), to: ts("2030-01-01")}
}

func (v *barVenue) has(t int64) bool {
	return t >= v.from && t < v.to && (v.missing == nil || !v.missing(t))
}

func (v *barVenue) fetch(ctx context.Context, w domain.Range, limit int) ([]domain.OHLCBar, error) {
	v.mu.Lock()
	v.calls = append(v.calls, w)
	v.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := v.errAt[w.Start]; err != nil {
		return nil, err
	}
	if v.tooLarge > 0 && v.span.Bars(w.Start, w.End) > int64(v.tooLarge) {
		if v.tooLargeMax {
			return nil, &paginate.TooLargeError{Max: v.tooLarge}
		}
		return nil, fmt.Errorf("granularity too small for the requested time range: %w", paginate.ErrTooLarge)
	}
	start := v.span.Ceil(w.Start)
	if v.startEarly {
		start = v.span.Add(start, -1)
	}
	var out []domain.OHLCBar
	for t := start; t < w.End || (v.inclusiveEnd && t == w.End); t = v.span.Next(t) {
		if v.has(t) {
			out = append(out, domain.OHLCBar{OpenTime: t, Trades: 1})
			if v.dupes {
				out = append(out, domain.OHLCBar{OpenTime: t, Trades: 2})
			}
		}
	}
	n := limit
	if v.serveMax > 0 {
		n = min(n, v.serveMax)
	}
	if len(out) > n {
		if v.newestFirst {
			out = out[len(out)-n:]
		} else {
			out = out[:n]
		}
	}
	if v.newestFirst {
		slices.Reverse(out)
	}
	return out, nil
}

// want lists the open times the venue has in r.
func (v *barVenue) want(r domain.Range) []int64 {
	var out []int64
	for t := v.span.Ceil(r.Start); t < r.End; t = v.span.Next(t) {
		if v.has(t) {
			out = append(out, t)
		}
	}
	return out
}

func (v *barVenue) requests() []domain.Range {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.calls)
}

func openTimes(bars []domain.OHLCBar) []int64 {
	out := make([]int64, len(bars))
	for i, b := range bars {
		out[i] = b.OpenTime
	}
	return out
}

// sameTimes reports the first difference between two lists of times.
func sameTimes(t *testing.T, got, want []int64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d items, want %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Fatalf("item %d: got %s, want %s", i, domain.FormatNs(got[i]), domain.FormatNs(want[i]))
		}
	}
}

// venueError stands for a venue's own error type (an HTTP 200 soft error).
type venueError struct{ Code string }

func (e *venueError) Error() string { return "venue error " + e.Code }

var errSentinel = errors.New("sentinel")

// seqOf streams a slice as a paginator would.
func seqOf[T any](items []T) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for _, it := range items {
			if !yield(it, nil) {
				return
			}
		}
	}
}
