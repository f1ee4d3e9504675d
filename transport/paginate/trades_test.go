package paginate_test

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/transport/paginate"
)

// tape is a venue's trade history: ids 1…n, contiguous, time-ordered.
type tape []domain.Trade

// newTape makes n trades one to three milliseconds apart, except that the
// trades with indexes in each [from, to) of shared share one millisecond.
func newTape(n int, shared ...[2]int) tape {
	out := make(tape, n)
	ms := ts("2024-03-01") / int64(time.Millisecond)
	for i := range out {
		same := false
		for _, s := range shared {
			same = same || (i > s[0] && i < s[1])
		}
		if !same && i > 0 {
			ms += 1 + int64(i%3)
		}
		out[i] = domain.Trade{ID: strconv.Itoa(i + 1), Time: ms * int64(time.Millisecond), Side: domain.Buy}
	}
	return out
}

func (tp tape) id(i int) int64 { v, _ := strconv.ParseInt(tp[i].ID, 10, 64); return v }

// firstAt is the index of the first trade at or after ns.
func (tp tape) firstAt(ns int64) int {
	return sort.Search(len(tp), func(i int) bool { return tp[i].Time >= ns })
}

func (tp tape) in(w domain.Range) []domain.Trade { return tp[tp.firstAt(w.Start):tp.firstAt(w.End)] }

func (tp tape) page(from, limit int) tape { return tp[from:min(len(tp), from+limit)] }

// byID pages by id like Binance aggTrades fromId: next = last id + 1.
func (tp tape) byID(limit int) paginate.TradesFetcher[int64] {
	return func(ctx context.Context, fromID int64) (paginate.TradesPage[int64], error) {
		p := tp.page(int(fromID-1), limit)
		if len(p) == 0 {
			return paginate.TradesPage[int64]{Done: true}, nil
		}
		return paginate.TradesPage[int64]{Items: slices.Clone(p), Next: tp.id(int(fromID-1)+len(p)-1) + 1, Done: len(p) < limit}, nil
	}
}

// byMillis pages by time like Bitfinex: the next page restarts AT the last
// page's final millisecond (or, when naive, one millisecond after it).
func (tp tape) byMillis(limit int, naive bool) paginate.TradesFetcher[int64] {
	return func(ctx context.Context, ms int64) (paginate.TradesPage[int64], error) {
		p := tp.page(tp.firstAt(ms*int64(time.Millisecond)), limit)
		if len(p) == 0 {
			return paginate.TradesPage[int64]{Done: true}, nil
		}
		next := p[len(p)-1].Time / int64(time.Millisecond)
		if naive {
			next++
		}
		return paginate.TradesPage[int64]{Items: slices.Clone(p), Next: next, Done: len(p) < limit}, nil
	}
}

// bitmexCursor pages like BitMEX: a start time and a row offset from it.
type bitmexCursor struct {
	start  int64
	offset int
}

func (tp tape) byOffset(limit int) paginate.TradesFetcher[bitmexCursor] {
	return func(ctx context.Context, c bitmexCursor) (paginate.TradesPage[bitmexCursor], error) {
		p := tp.page(tp.firstAt(c.start)+c.offset, limit)
		return paginate.TradesPage[bitmexCursor]{Items: slices.Clone(p), Next: bitmexCursor{c.start, c.offset + len(p)}, Done: len(p) < limit}, nil
	}
}

// newestFirst pages like Coinbase: trades with id < after, newest first.
func (tp tape) newestFirst(limit int) paginate.TradesFetcher[int64] {
	return func(ctx context.Context, after int64) (paginate.TradesPage[int64], error) {
		end := int(after - 1)
		p := slices.Clone(tp[max(0, end-limit):end])
		slices.Reverse(p)
		if len(p) == 0 {
			return paginate.TradesPage[int64]{Done: true}, nil
		}
		last, _ := strconv.ParseInt(p[len(p)-1].ID, 10, 64)
		return paginate.TradesPage[int64]{Items: p, Next: last, Done: last == 1}, nil
	}
}

func ids(trades []domain.Trade) []string {
	out := make([]string, len(trades))
	for i, t := range trades {
		out[i] = t.ID
	}
	return out
}

func sameTrades(t *testing.T, got, want []domain.Trade) {
	t.Helper()
	if !slices.Equal(ids(got), ids(want)) {
		t.Fatalf("got %d trades (%v…), want %d (%v…)", len(got), ids(got)[:min(3, len(got))], len(want), ids(want)[:min(3, len(want))])
	}
}

func TestTradesSharedMillisecondAcrossPageBoundaries(t *testing.T) {
	// 350 trades share one millisecond across the page boundaries at 500
	// (and, with 100-trade pages, across four pages).
	tp := newTape(3000, [2]int{300, 650}, [2]int{1990, 2010})
	shared := tp[350].Time
	w := domain.Range{Start: tp[100].Time, End: tp[2500].Time}
	ms := func(ns int64) int64 { return ns / int64(time.Millisecond) }
	cases := []struct {
		name string
		run  func() ([]domain.Trade, error)
	}{
		{"id cursor, 100 per page", func() ([]domain.Trade, error) {
			return collect(paginate.Trades(t.Context(), w, tp.id(tp.firstAt(w.Start)), tp.byID(100), paginate.TradesOptions{}))
		}},
		{"restart at the boundary millisecond, 500 per page", func() ([]domain.Trade, error) {
			return collect(paginate.Trades(t.Context(), w, ms(w.Start), tp.byMillis(500, false), paginate.TradesOptions{}))
		}},
		{"restart at the boundary millisecond, 1000 per page", func() ([]domain.Trade, error) {
			return collect(paginate.Trades(t.Context(), w, ms(w.Start), tp.byMillis(1000, false), paginate.TradesOptions{}))
		}},
		{"offset cursor (struct), 100 per page", func() ([]domain.Trade, error) {
			return collect(paginate.Trades(t.Context(), w, bitmexCursor{start: w.Start}, tp.byOffset(100), paginate.TradesOptions{}))
		}},
		{"newest first by id, 100 per page", func() ([]domain.Trade, error) {
			return collect(paginate.Trades(t.Context(), w, tp.id(tp.firstAt(w.End)), tp.newestFirst(100), paginate.TradesOptions{Direction: domain.Descending}))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.run()
			if err != nil {
				t.Fatal(err)
			}
			sameTrades(t, got, tp.in(w))
			if n := countAt(got, shared); n != 350 {
				t.Errorf("%d trades at the shared millisecond, want 350", n)
			}
			if _, err := collect(paginate.CheckContiguous(seqOf(got), nil)); err != nil {
				t.Error(err)
			}
		})
	}

	// Negative control: "last millisecond + 1" loses trades, and the id
	// check notices.
	got, err := collect(paginate.Trades(t.Context(), w, ms(w.Start), tp.byMillis(500, true), paginate.TradesOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	var holes []*paginate.ContinuityError
	kept, err := collect(paginate.CheckContiguous(seqOf(got), func(e *paginate.ContinuityError) { holes = append(holes, e) }))
	if err != nil || len(got) >= len(tp.in(w)) || len(holes) == 0 || holes[0].Kind != paginate.IDHole || len(kept) != len(got) {
		t.Fatalf("naive cursor: %d of %d trades, holes %v, err %v", len(got), len(tp.in(w)), holes, err)
	}
	var lost int64
	for _, h := range holes {
		lost += h.Missing()
	}
	if int(lost) != len(tp.in(w))-len(got) {
		t.Errorf("holes account for %d lost trades, %d were lost", lost, len(tp.in(w))-len(got))
	}
}

func countAt(trades []domain.Trade, ns int64) (n int) {
	for _, t := range trades {
		if t.Time == ns {
			n++
		}
	}
	return n
}

func TestTradesWindowBounds(t *testing.T) {
	// Windows starting and ending on a shared millisecond: the start's
	// trades are all in, the end's all out.
	tp := newTape(1000, [2]int{199, 260}, [2]int{599, 700})
	w := domain.Range{Start: tp[200].Time, End: tp[600].Time}
	got, err := collect(paginate.Trades(t.Context(), w, tp.id(tp.firstAt(w.Start)-30), tp.byID(50), paginate.TradesOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	sameTrades(t, got, tp[199:599])
	if got[0].Time != w.Start || got[len(got)-1].Time >= w.End {
		t.Errorf("trades from %s to %s", domain.FormatNs(got[0].Time), domain.FormatNs(got[len(got)-1].Time))
	}
}

func TestTradesStuckCursor(t *testing.T) {
	// 1500 trades in one millisecond cannot be paged by time 1000 at a time.
	tp := newTape(3000, [2]int{999, 2500})
	w := domain.Range{Start: tp[0].Time, End: tp[2999].Time}
	got, err := collect(paginate.Trades(t.Context(), w, tp[0].Time/int64(time.Millisecond), tp.byMillis(1000, false), paginate.TradesOptions{}))
	var se *paginate.StuckCursorError
	if !errors.As(err, &se) || se.Page != 2 || se.Cursor != tp[1000].Time/int64(time.Millisecond) {
		t.Fatalf("err = %v, want StuckCursorError after page 2", err)
	}
	if len(got) != 1999 {
		t.Errorf("%d trades before the error, want the 1999 of pages 1 and 2 (page 2 restarts at trade 999)", len(got))
	}

	// A cycle of cursors is caught too.
	cycle := func(ctx context.Context, c int) (paginate.Page[int, int], error) {
		return paginate.Page[int, int]{Items: []int{c}, Next: (c + 1) % 3}, nil
	}
	got2, err := collect(paginate.Backward(t.Context(), 0, cycle, paginate.BackwardOptions{}))
	if !errors.As(err, &se) || se.Cursor != 0 || se.Page != 3 || !slices.Equal(got2, []int{0, 1, 2}) {
		t.Errorf("cycle: %v, err %v", got2, err)
	}
}

func TestTradesMaxPagesIsAnError(t *testing.T) {
	tp := newTape(1000)
	w := domain.Range{Start: tp[0].Time, End: tp[999].Time + 1}
	got, err := collect(paginate.Trades(t.Context(), w, 1, tp.byID(100), paginate.TradesOptions{MaxPages: 3}))
	var me *paginate.MaxPagesError
	if !errors.As(err, &me) || me.Max != 3 || me.Position != tp[299].Time {
		t.Fatalf("err = %v, want MaxPagesError at %s", err, domain.FormatNs(tp[299].Time))
	}
	sameTrades(t, got, tp[:300])

	// Newest first, the pages fetched are still yielded oldest first.
	got, err = collect(paginate.Trades(t.Context(), w, 1001, tp.newestFirst(100), paginate.TradesOptions{MaxPages: 3, Direction: domain.Descending}))
	if !errors.As(err, &me) || me.Position != tp[700].Time {
		t.Fatalf("descending: err = %v, want MaxPagesError at %s", err, domain.FormatNs(tp[700].Time))
	}
	sameTrades(t, got, tp[700:])

	// Exactly enough pages is not an error.
	got, err = collect(paginate.Trades(t.Context(), w, 1, tp.byID(100), paginate.TradesOptions{MaxPages: 11}))
	if err != nil || len(got) != 1000 {
		t.Errorf("%d trades, err %v", len(got), err)
	}
}

func TestTradesSoftErrorStopsTheDrain(t *testing.T) {
	tp := newTape(1000)
	w := domain.Range{Start: tp[0].Time, End: tp[999].Time + 1}
	pages := 0
	fetch := func(ctx context.Context, c int64) (paginate.TradesPage[int64], error) {
		if pages++; pages == 2 {
			return paginate.TradesPage[int64]{}, &venueError{Code: "51000"}
		}
		return tp.byID(100)(ctx, c)
	}
	got, err := collect(paginate.Trades(t.Context(), w, 1, fetch, paginate.TradesOptions{}))
	var ve *venueError
	var fe *paginate.FetchError
	if !errors.As(err, &ve) || !errors.As(err, &fe) || fe.Page != 2 || len(got) != 100 {
		t.Fatalf("%d trades, err %v; want page 1 and the venue error of page 2", len(got), err)
	}
}

func TestTradesEmptyPagesAndDone(t *testing.T) {
	// An adapter may hop over an empty stretch with an empty page that is
	// not Done; the drain goes on.
	tp := newTape(300)
	w := domain.Range{Start: tp[0].Time, End: tp[299].Time + 1}
	var calls []int64
	fetch := func(ctx context.Context, c int64) (paginate.TradesPage[int64], error) {
		calls = append(calls, c)
		if c < 0 {
			return paginate.TradesPage[int64]{Next: -c}, nil // empty hop
		}
		return tp.byID(100)(ctx, c)
	}
	got, err := collect(paginate.Trades(t.Context(), w, -1, fetch, paginate.TradesOptions{}))
	if err != nil || len(got) != 300 || !slices.Equal(calls, []int64{-1, 1, 101, 201, 301}) {
		t.Fatalf("%d trades, calls %v, err %v", len(got), calls, err)
	}

	// The drain stops at the first page reaching past the window, without
	// asking for more.
	calls = nil
	got, err = collect(paginate.Trades(t.Context(), domain.Range{Start: tp[0].Time, End: tp[150].Time}, 1, fetch, paginate.TradesOptions{}))
	if err != nil || len(got) != 150 || !slices.Equal(calls, []int64{1, 101}) {
		t.Fatalf("%d trades, calls %v, err %v", len(got), calls, err)
	}
}

func TestTradesCancelAndBreak(t *testing.T) {
	tp := newTape(1000)
	w := domain.Range{Start: tp[0].Time, End: tp[999].Time + 1}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pages := 0
	fetch := func(c context.Context, cur int64) (paginate.TradesPage[int64], error) {
		if pages++; pages == 3 {
			cancel()
		}
		return tp.byID(100)(c, cur)
	}
	got, err := collect(paginate.Trades(ctx, w, 1, fetch, paginate.TradesOptions{}))
	if !errors.Is(err, context.Canceled) || pages != 3 || len(got) != 300 {
		t.Errorf("cancel: %d pages, %d trades, err %v", pages, len(got), err)
	}

	pages = 0
	for range paginate.Trades(t.Context(), w, 1, fetch, paginate.TradesOptions{}) {
		break
	}
	if pages != 1 {
		t.Errorf("break: %d pages fetched, want 1", pages)
	}
}

func TestTradesProgress(t *testing.T) {
	tp := newTape(1000)
	for _, dir := range []domain.PageDirection{domain.Ascending, domain.Descending} {
		w := domain.Range{Start: tp[0].Time, End: tp[999].Time + 1}
		var ps []paginate.Progress
		opts := paginate.TradesOptions{Direction: dir, Progress: func(p paginate.Progress) { ps = append(ps, p) }}
		fetch, first := tp.byID(100), int64(1)
		if dir == domain.Descending {
			fetch, first = tp.newestFirst(100), 1001
		}
		if _, err := collect(paginate.Trades(t.Context(), w, first, fetch, opts)); err != nil {
			t.Fatal(err)
		}
		prev := -1.0
		for i, p := range ps {
			f, ok := p.Fraction()
			if !ok || f < prev || p.Done != int64(i+1) || p.Items != min(int64(100*(i+1)), 1000) {
				t.Errorf("%s progress %d: %+v fraction %v", dir, i, p, f)
			}
			prev = f
		}
		// Ascending, page 10 is full: an 11th, empty page says Done.
		if len(ps) < 10 || prev != 1 {
			t.Errorf("%s: %d progress reports, final fraction %v", dir, len(ps), prev)
		}
	}
}

func TestTradeWindows(t *testing.T) {
	tp := newTape(5000, [2]int{990, 1300}, [2]int{2990, 3010})
	r := domain.Range{Start: tp[10].Time, End: tp[4900].Time}
	firstID := func(ctx context.Context, w domain.Range) (int64, error) { return tp.id(tp.firstAt(w.Start)), nil }
	firstNewer := func(ctx context.Context, w domain.Range) (int64, error) {
		return int64(tp.firstAt(w.End) + 1), nil
	}
	for _, tc := range []struct {
		name  string
		first func(context.Context, domain.Range) (int64, error)
		fetch paginate.TradesFetcher[int64]
		opts  paginate.TradeWindowsOptions
	}{
		{"7 parts, 3 at once", firstID, tp.byID(100), paginate.TradeWindowsOptions{Parts: 7, Concurrency: 3}},
		{"by window length", firstID, tp.byID(100), paginate.TradeWindowsOptions{Window: 900 * time.Millisecond, Concurrency: 4}},
		{"newest first", firstNewer, tp.newestFirst(100), paginate.TradeWindowsOptions{Parts: 5, Concurrency: 2, Direction: domain.Descending}},
		{"serial", firstID, tp.byID(100), paginate.TradeWindowsOptions{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var inflight, peak atomic.Int64
			fetch := func(ctx context.Context, c int64) (paginate.TradesPage[int64], error) {
				n := inflight.Add(1)
				defer inflight.Add(-1)
				for m := peak.Load(); n > m && !peak.CompareAndSwap(m, n); m = peak.Load() {
				}
				return tc.fetch(ctx, c)
			}
			var cov []paginate.Coverage
			tc.opts.Coverage = func(c paginate.Coverage) { cov = append(cov, c) }
			var gaps []*paginate.ContinuityError
			got, err := collect(paginate.CheckContiguous(paginate.TradeWindows(t.Context(), r, tc.first, fetch, tc.opts),
				func(e *paginate.ContinuityError) { gaps = append(gaps, e) }))
			if err != nil {
				t.Fatal(err)
			}
			sameTrades(t, got, tp.in(r))
			if len(gaps) != 0 {
				t.Errorf("gaps: %v", gaps)
			}
			if p := peak.Load(); p > int64(max(1, tc.opts.Concurrency)) {
				t.Errorf("%d requests in flight, bound %d", p, tc.opts.Concurrency)
			}
			at, n := r.Start, 0
			for _, c := range cov {
				if c.Range.Start != at {
					t.Errorf("coverage %v starts at %s, want %s", c.Range, domain.FormatNs(c.Range.Start), domain.FormatNs(at))
				}
				at, n = c.Range.End, n+c.Items
			}
			if at != r.End || n != len(got) {
				t.Errorf("coverage ends %s with %d trades", domain.FormatNs(at), n)
			}
		})
	}
}

func TestTradeWindowsEarlyBreakAndErrors(t *testing.T) {
	tp := newTape(5000)
	r := domain.Range{Start: tp[0].Time, End: tp[4999].Time + 1}
	firstID := func(ctx context.Context, w domain.Range) (int64, error) { return tp.id(tp.firstAt(w.Start)), nil }
	blocked := make(chan struct{}, 100)
	block := func(ctx context.Context, c int64) (paginate.TradesPage[int64], error) {
		if c > 2500 { // the later windows hang until cancelled
			blocked <- struct{}{}
			<-ctx.Done()
			return paginate.TradesPage[int64]{}, ctx.Err()
		}
		return tp.byID(100)(ctx, c)
	}
	for range paginate.TradeWindows(t.Context(), r, firstID, block, paginate.TradeWindowsOptions{Parts: 10, Concurrency: 4}) {
		recv(t, blocked, "a window to block")
		break
	}
	goleak.VerifyNone(t)

	bad := func(ctx context.Context, w domain.Range) (int64, error) {
		if w.Start > r.Start {
			return 0, errSentinel
		}
		return 1, nil
	}
	got, err := collect(paginate.TradeWindows(t.Context(), r, bad, tp.byID(100), paginate.TradeWindowsOptions{Parts: 4, Concurrency: 2}))
	var fe *paginate.FetchError
	if !errors.Is(err, errSentinel) || !errors.As(err, &fe) || fe.Window.Start <= r.Start || len(got) == 0 {
		t.Errorf("%d trades, err %v", len(got), err)
	}
}
