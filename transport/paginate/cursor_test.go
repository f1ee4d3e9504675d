package paginate_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/transport/paginate"
)

// newest serves the numbers n-1 … 0 newest first, limit per page, with a
// string cursor ("" = the newest page).
func newest(n, limit int) paginate.PageFetcher[int, string] {
	return func(ctx context.Context, c string) (paginate.Page[int, string], error) {
		before := n
		if c != "" {
			before, _ = strconv.Atoi(c)
		}
		var p paginate.Page[int, string]
		for i := before - 1; i >= max(0, before-limit); i-- {
			p.Items = append(p.Items, i)
		}
		p.Done = before-limit <= 0
		p.Next = strconv.Itoa(before - limit)
		return p, nil
	}
}

func TestBackward(t *testing.T) {
	var ps []paginate.Progress
	got, err := collect(paginate.Backward(t.Context(), "", newest(250, 100), paginate.BackwardOptions{Progress: func(p paginate.Progress) { ps = append(ps, p) }}))
	if err != nil || len(got) != 250 || got[0] != 249 || got[249] != 0 || !slices.IsSortedFunc(got, func(a, b int) int { return b - a }) {
		t.Fatalf("%d items (%v…), err %v", len(got), got[:min(3, len(got))], err)
	}
	if len(ps) != 3 || ps[2].Done != 3 || ps[2].Items != 250 || ps[2].Requests != 3 {
		t.Errorf("progress %+v", ps)
	}
	if _, ok := ps[0].Fraction(); ok {
		t.Error("a backward walk cannot know its fraction")
	}

	// MaxPages: the pages fetched are yielded, then a typed error.
	got, err = collect(paginate.Backward(t.Context(), "", newest(250, 100), paginate.BackwardOptions{MaxPages: 2}))
	var me *paginate.MaxPagesError
	if !errors.As(err, &me) || me.Max != 2 || len(got) != 200 {
		t.Errorf("max pages: %d items, err %v", len(got), err)
	}

	// A cursor that repeats.
	stuck := func(ctx context.Context, c string) (paginate.Page[int, string], error) {
		return paginate.Page[int, string]{Items: []int{1}, Next: "x"}, nil
	}
	_, err = collect(paginate.Backward(t.Context(), "", stuck, paginate.BackwardOptions{}))
	var se *paginate.StuckCursorError
	if !errors.As(err, &se) || se.Cursor != "x" || se.Page != 2 {
		t.Errorf("stuck: err %v", err)
	}

	// Breaking early stops fetching.
	pages := 0
	counting := func(ctx context.Context, c string) (paginate.Page[int, string], error) {
		pages++
		return newest(1000, 10)(ctx, c)
	}
	for v := range paginate.Backward(t.Context(), "", counting, paginate.BackwardOptions{}) {
		if v < 985 {
			break
		}
	}
	if pages != 2 {
		t.Errorf("break: %d pages fetched, want 2", pages)
	}

	// Errors: the fetcher's, wrapped with the page; cancellation; options.
	failing := func(ctx context.Context, c string) (paginate.Page[int, string], error) {
		if c != "" {
			return paginate.Page[int, string]{}, &venueError{Code: "429"}
		}
		return newest(1000, 10)(ctx, c)
	}
	got, err = collect(paginate.Backward(t.Context(), "", failing, paginate.BackwardOptions{}))
	var fe *paginate.FetchError
	var ve *venueError
	if !errors.As(err, &fe) || fe.Page != 2 || !errors.As(err, &ve) || len(got) != 10 {
		t.Errorf("fetch error: %d items, err %v", len(got), err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := collect(paginate.Backward(ctx, "", newest(10, 1), paginate.BackwardOptions{})); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err %v", err)
	}
	var oe *paginate.OptionError
	if _, err := collect(paginate.Backward(t.Context(), "", newest(10, 1), paginate.BackwardOptions{MaxPages: -1})); !errors.As(err, &oe) {
		t.Errorf("bad option: err %v", err)
	}
}

func TestForward(t *testing.T) {
	r := rng("2024-01-20T10:30:00Z", "2024-01-23T01:00:00Z")
	var calls []domain.Range
	fetch := func(ctx context.Context, w domain.Range) ([]int64, error) {
		calls = append(calls, w)
		return []int64{w.Start, w.End}, nil
	}
	var ps []paginate.Progress
	var cov []paginate.Coverage
	got, err := collect(paginate.Forward(t.Context(), r, fetch, paginate.ForwardOptions{
		Window: domain.Span1d, Align: domain.Span1h,
		Progress: func(p paginate.Progress) { ps = append(ps, p) },
		Coverage: func(c paginate.Coverage) { cov = append(cov, c) },
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := []domain.Range{
		rng("2024-01-20T10:00:00Z", "2024-01-21T10:00:00Z"),
		rng("2024-01-21T10:00:00Z", "2024-01-22T10:00:00Z"),
		rng("2024-01-22T10:00:00Z", "2024-01-23T01:00:00Z"),
	}
	if !slices.Equal(calls, want) || !slices.Equal(slices.Collect(paginate.Windows(r, domain.Span1d, domain.Span1h)), want) || len(got) != 6 {
		t.Fatalf("windows %v, items %d", calls, len(got))
	}
	for i, p := range ps {
		if p.Done != int64(i+1) || p.Total != 3 || p.Items != int64(2*(i+1)) {
			t.Errorf("progress %d: %+v", i, p)
		}
	}
	if cov[0].Range.Start != r.Start || cov[2].Range.End != r.End {
		t.Errorf("coverage %v", cov)
	}

	// Unaligned, month windows, concurrently: order is kept.
	r = rng("2023-11-15", "2024-04-10")
	got, err = collect(paginate.Forward(t.Context(), r, func(ctx context.Context, w domain.Range) ([]int64, error) {
		return []int64{w.Start}, nil
	}, paginate.ForwardOptions{Window: domain.Span1M, Concurrency: 3}))
	wantStarts := []int64{ts("2023-11-15"), ts("2023-12-15"), ts("2024-01-15"), ts("2024-02-15"), ts("2024-03-15")}
	if err != nil || !slices.Equal(got, wantStarts) {
		t.Errorf("month windows %v, err %v", got, err)
	}

	var oe *paginate.OptionError
	if _, err := collect(paginate.Forward(t.Context(), r, func(ctx context.Context, w domain.Range) ([]int, error) { return nil, nil }, paginate.ForwardOptions{})); !errors.As(err, &oe) {
		t.Errorf("no window: err %v", err)
	}
	_, err = collect(paginate.Forward(t.Context(), r, func(ctx context.Context, w domain.Range) ([]int, error) { return nil, errSentinel }, paginate.ForwardOptions{Window: domain.Span1d, Concurrency: 2}))
	var fe *paginate.FetchError
	if !errors.Is(err, errSentinel) || !errors.As(err, &fe) || fe.Window.Start != r.Start {
		t.Errorf("fetch error: %v", err)
	}
}

func TestCheckContiguous(t *testing.T) {
	mk := func(idList ...string) []domain.Trade {
		out := make([]domain.Trade, len(idList))
		for i, id := range idList {
			out[i] = domain.Trade{ID: id, Time: ts("2024-01-01") + int64(i)*int64(time.Millisecond)}
		}
		return out
	}
	cases := []struct {
		name   string
		trades []domain.Trade
		kinds  []paginate.ContinuityKind // reported breaks
		kept   []string                  // passed through with a report func
	}{
		{"contiguous", mk("7", "8", "9"), nil, []string{"7", "8", "9"}},
		{"hole", mk("1", "2", "5", "6"), []paginate.ContinuityKind{paginate.IDHole}, []string{"1", "2", "5", "6"}},
		{"duplicate", mk("1", "2", "2", "3"), []paginate.ContinuityKind{paginate.IDDuplicate}, []string{"1", "2", "3"}},
		{"backwards", mk("1", "2", "3", "2", "4"), []paginate.ContinuityKind{paginate.IDBackwards}, []string{"1", "2", "3", "4"}},
		{"hole then late", mk("1", "3", "2", "4"), []paginate.ContinuityKind{paginate.IDHole, paginate.IDBackwards}, []string{"1", "3", "4"}},
	}
	for _, tc := range cases {
		var kinds []paginate.ContinuityKind
		kept, err := collect(paginate.CheckContiguous(seqOf(tc.trades), func(e *paginate.ContinuityError) { kinds = append(kinds, e.Kind) }))
		if err != nil || !slices.Equal(kinds, tc.kinds) || !slices.Equal(ids(kept), tc.kept) {
			t.Errorf("%s: kinds %v kept %v err %v", tc.name, kinds, ids(kept), err)
		}
		// Without a report func the first break ends the iteration.
		_, err = collect(paginate.CheckContiguous(seqOf(tc.trades), nil))
		var ce *paginate.ContinuityError
		if (len(tc.kinds) == 0) != (err == nil) || (err != nil && (!errors.As(err, &ce) || ce.Kind != tc.kinds[0])) {
			t.Errorf("%s: err %v", tc.name, err)
		}
	}
	_, err := collect(paginate.CheckContiguous(seqOf(mk("1", "abc")), nil))
	if err == nil {
		t.Error("non-numeric id accepted")
	}
	_, err = collect(paginate.CheckContiguous(seqOf(mk("1", "2", "5")), nil))
	var ce *paginate.ContinuityError
	if !errors.As(err, &ce) || ce.Missing() != 2 || ce.Prev != 2 || ce.ID != 5 {
		t.Errorf("hole record %+v", ce)
	}
	var c paginate.IDChecker
	c.Resume(41, 0)
	if err := c.Check(domain.Trade{ID: "43"}); !errors.As(err, &ce) || ce.Missing() != 1 {
		t.Errorf("resume: %v", err)
	}
}
