package paginate_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/transport/paginate"
)

func TestOHLCWindowsAlignToTheBar(t *testing.T) {
	cases := []struct {
		name      string
		span      domain.Span
		limit     int
		r         domain.Range
		firstCall string
	}{
		// Snapping to the 1000 h window grid would start weeks earlier.
		{"1h from midnight (41-day trap)", domain.Span1h, 1000, rng("2024-01-20", "2024-03-01"), "2024-01-20T00:00:00Z"},
		{"1h from 10:30", domain.Span1h, 1000, rng("2024-01-20T10:30:00Z", "2024-02-01"), "2024-01-20T10:00:00Z"},
		{"1m from mid-minute", domain.Span1m, 1000, rng("2024-01-20T00:00:30Z", "2024-01-22"), "2024-01-20T00:00:00Z"},
		{"1d", domain.Span1d, 1000, rng("2024-01-20T05:00:00Z", "2024-03-01"), "2024-01-20T00:00:00Z"},
		{"1w opens Monday", domain.Span1w, 500, rng("2024-01-20", "2024-06-01"), "2024-01-15T00:00:00Z"},
		{"4h", domain.Span4h, 300, rng("2024-01-20T05:00:00Z", "2024-09-01"), "2024-01-20T04:00:00Z"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newBarVenue(tc.span)
			got, err := collect(paginate.OHLC(t.Context(), tc.r, v.fetch, paginate.OHLCOptions{Span: tc.span, Limit: tc.limit}))
			if err != nil {
				t.Fatal(err)
			}
			sameTimes(t, openTimes(got), v.want(tc.r))
			calls := v.requests()
			if first := calls[0].Start; first != ts(tc.firstCall) {
				t.Errorf("first request starts %s, want %s", domain.FormatNs(first), tc.firstCall)
			}
			for i, c := range calls {
				if c.Start < tc.span.Floor(tc.r.Start) || c.End > tc.span.Ceil(tc.r.End) {
					t.Errorf("request %d %s reaches outside the bars of %s", i, c, tc.r)
				}
				if tc.span.Floor(c.Start) != c.Start || tc.span.Floor(c.End) != c.End {
					t.Errorf("request %d %s is not aligned to %s bars", i, c, tc.span)
				}
				if n := tc.span.Bars(c.Start, c.End); n > int64(tc.limit) {
					t.Errorf("request %d %s holds %d bars > limit %d", i, c, n, tc.limit)
				}
				if i > 0 && c.Start != calls[i-1].End {
					t.Errorf("request %d starts %s, previous ended %s", i, domain.FormatNs(c.Start), domain.FormatNs(calls[i-1].End))
				}
			}
			if want := (tc.span.Bars(tc.span.Floor(tc.r.Start), tc.r.End) + int64(tc.limit) - 1) / int64(tc.limit); int64(len(calls)) != want {
				t.Errorf("%d requests, want %d", len(calls), want)
			}
		})
	}
	// The scenario really is the trap: a window-aligned start lies weeks back.
	r := rng("2024-01-20", "2024-03-01")
	if naive := domain.FloorNs(r.Start, int64(1000*time.Hour)); r.Start-naive < int64(30*24*time.Hour) {
		t.Fatalf("test scenario does not exercise the trap: window floor %s", domain.FormatNs(naive))
	}
}

func TestOHLCMonthSpans(t *testing.T) {
	for _, months := range []int{1, 3} {
		span := domain.Months(months)
		v := newBarVenue(span)
		r := rng("2019-11-15", "2024-06-15")
		var cov []paginate.Coverage
		got, err := collect(paginate.OHLC(t.Context(), r, v.fetch, paginate.OHLCOptions{
			Span: span, Limit: 12, Coverage: func(c paginate.Coverage) { cov = append(cov, c) },
		}))
		if err != nil {
			t.Fatal(err)
		}
		sameTimes(t, openTimes(got), v.want(r))
		if months == 1 && (len(got) != 55 || got[0].OpenTime != ts("2019-12-01") || got[len(got)-1].OpenTime != ts("2024-06-01")) {
			t.Errorf("1M: %d bars from %s to %s, want 55 from 2019-12-01 to 2024-06-01", len(got), domain.FormatNs(got[0].OpenTime), domain.FormatNs(got[len(got)-1].OpenTime))
		}
		for i, c := range v.requests() {
			s, e := domain.Time(c.Start), domain.Time(c.End)
			if s.Day() != 1 || s.Hour() != 0 || (int(s.Month())-1)%months != 0 {
				t.Errorf("%dM request %d starts %s, not on a %d-month boundary", months, i, s, months)
			}
			if want := s.AddDate(0, 12*months, 0); e.After(want) || (i < len(v.requests())-1 && !e.Equal(want)) {
				t.Errorf("%dM request %d %s: end should be %s (12 calendar bars)", months, i, c, want)
			}
		}
		var n int
		for _, c := range cov {
			n += c.Items
			if c.Items != int(c.Expected) {
				t.Errorf("coverage %s: %d of %d bars", c.Range, c.Items, c.Expected)
			}
		}
		if cov[0].Range.Start != r.Start || cov[len(cov)-1].Range.End != r.End || n != len(got) {
			t.Errorf("coverage %v does not span %s with %d bars", cov, r, len(got))
		}
	}
}

func TestOHLCTruncatedPagesAreCompleted(t *testing.T) {
	sparse := func(t int64) bool { return (t/int64(time.Minute))%7 == 3 }
	cases := []struct {
		name        string
		venue       func(v *barVenue)
		limit       int
		maxRequests int // for 10 000 bars; catches runaway refetching
		learnsLimit int // the limit the fetcher is asked for at the end (0: unchanged)
	}{
		{"full page cut by a bar before the window", func(v *barVenue) { v.startEarly = true }, 1000, 20, 0},
		{"full page cut, sparse bars", func(v *barVenue) { v.startEarly = true; v.missing = sparse }, 1000, 20, 0},
		{"inclusive end, newest first: oldest bar cut", func(v *barVenue) { v.inclusiveEnd = true; v.newestFirst = true }, 1000, 20, 0},
		{"serves 300 of a declared 1000, oldest first", func(v *barVenue) { v.serveMax = 300 }, 1000, 45, 300},
		{"serves 300 of a declared 1000, newest first", func(v *barVenue) { v.serveMax = 300; v.newestFirst = true }, 1000, 45, 300},
		{"rejects more than 300 (too large)", func(v *barVenue) { v.tooLarge = 300 }, 1000, 50, 250},
		{"rejects more than 300, says so", func(v *barVenue) { v.tooLarge = 300; v.tooLargeMax = true }, 1000, 45, 300},
		{"everything at once", func(v *barVenue) {
			v.serveMax, v.newestFirst, v.inclusiveEnd, v.startEarly, v.dupes = 300, true, true, true, true
		}, 1000, 110, 300}, // 300 rows hold 150 bars twice
	}
	for _, tc := range cases {
		for _, conc := range []int{1, 4} {
			t.Run(tc.name+"/"+map[int]string{1: "serial", 4: "concurrent"}[conc], func(t *testing.T) {
				v := newBarVenue(domain.Span1m)
				tc.venue(v)
				r := domain.Range{Start: ts("2024-01-20"), End: ts("2024-01-20") + int64(10000*time.Minute)}
				var limits []int
				fetch := func(ctx context.Context, w domain.Range, limit int) ([]domain.OHLCBar, error) {
					if conc == 1 {
						limits = append(limits, limit)
					}
					return v.fetch(ctx, w, limit)
				}
				got, err := collect(paginate.OHLC(t.Context(), r, fetch, paginate.OHLCOptions{Span: domain.Span1m, Limit: tc.limit, Concurrency: conc}))
				if err != nil {
					t.Fatal(err)
				}
				sameTimes(t, openTimes(got), v.want(r))
				if n := len(v.requests()); n > tc.maxRequests {
					t.Errorf("%d requests, want at most %d", n, tc.maxRequests)
				}
				if conc == 1 && tc.learnsLimit > 0 && limits[len(limits)-1] != tc.learnsLimit {
					t.Errorf("limit asked at the end %d, want the learned %d", limits[len(limits)-1], tc.learnsLimit)
				}
			})
		}
	}
}

func TestOHLCSoftErrorIsNotAnEmptyPage(t *testing.T) {
	r := rng("2024-01-01", "2024-01-02") // 1440 1m bars, windows of 100
	for _, conc := range []int{1, 3} {
		v := newBarVenue(domain.Span1m)
		bad := r.Start + int64(200*time.Minute) // the third window
		v.errAt = map[int64]error{bad: &venueError{Code: "EGeneral:Internal error"}}
		var cov []paginate.Coverage
		got, err := collect(paginate.OHLC(t.Context(), r, v.fetch, paginate.OHLCOptions{
			Span: domain.Span1m, Limit: 100, Concurrency: conc,
			Coverage: func(c paginate.Coverage) { cov = append(cov, c) },
		}))
		var ve *venueError
		var fe *paginate.FetchError
		if !errors.As(err, &ve) || !errors.As(err, &fe) || fe.Window.Start != bad {
			t.Fatalf("conc %d: err = %v, want the venue error wrapped in a FetchError for the window at %s", conc, err, domain.FormatNs(bad))
		}
		if len(got) != 200 || len(cov) != 2 || cov[1].Range.End != bad {
			t.Errorf("conc %d: %d bars and coverage %v before the error, want 200 bars and 2 windows ending at the bad one", conc, len(got), cov)
		}
	}

	// An empty page is an answer: the window is covered, with no bars.
	v := newBarVenue(domain.Span1m)
	v.missing = func(t int64) bool { return t >= ts("2024-01-01T02:00:00Z") && t < ts("2024-01-01T04:00:00Z") }
	var cov []paginate.Coverage
	got, err := collect(paginate.OHLC(t.Context(), r, v.fetch, paginate.OHLCOptions{
		Span: domain.Span1m, Limit: 60, Coverage: func(c paginate.Coverage) { cov = append(cov, c) },
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1440-120 || len(cov) != 24 || cov[2].Items != 0 || cov[2].Expected != 60 || len(v.requests()) != 24 {
		t.Errorf("%d bars, %d windows (window 3: %+v), %d requests; want 1320 bars, 24 windows with an empty third, 24 requests", len(got), len(cov), cov[2], len(v.requests()))
	}
}

func TestOHLCSeamDuplicatesAndRangeFilter(t *testing.T) {
	v := newBarVenue(domain.Span1h)
	v.inclusiveEnd, v.startEarly, v.dupes = true, true, true
	r := rng("2024-01-20T10:30:00Z", "2024-03-01T05:00:01Z")
	got, err := collect(paginate.OHLC(t.Context(), r, v.fetch, paginate.OHLCOptions{Span: domain.Span1h, Limit: 5000, Concurrency: 2}))
	if err != nil {
		t.Fatal(err)
	}
	// Window limit 5000 pages never fill: only seams and the range filter act.
	sameTimes(t, openTimes(got), v.want(r))
	if got[0].OpenTime != ts("2024-01-20T11:00:00Z") || got[len(got)-1].OpenTime != ts("2024-03-01T05:00:00Z") {
		t.Errorf("bars from %s to %s", domain.FormatNs(got[0].OpenTime), domain.FormatNs(got[len(got)-1].OpenTime))
	}

	v = newBarVenue(domain.Span1h)
	v.inclusiveEnd, v.dupes = true, true
	got, err = collect(paginate.OHLC(t.Context(), r, v.fetch, paginate.OHLCOptions{Span: domain.Span1h, Limit: 100}))
	if err != nil {
		t.Fatal(err)
	}
	sameTimes(t, openTimes(got), v.want(r))
}

func TestOHLCGapsAreCoveredNotRefetched(t *testing.T) {
	v := newBarVenue(domain.Span1m)
	v.missing = func(t int64) bool { return (t/int64(time.Minute))%5 != 0 } // an illiquid pair
	r := rng("2024-01-01", "2024-01-08")
	var cov []paginate.Coverage
	got, err := collect(paginate.OHLC(t.Context(), r, v.fetch, paginate.OHLCOptions{
		Span: domain.Span1m, Limit: 1000, Coverage: func(c paginate.Coverage) { cov = append(cov, c) },
	}))
	if err != nil {
		t.Fatal(err)
	}
	sameTimes(t, openTimes(got), v.want(r))
	if len(v.requests()) != len(cov) {
		t.Errorf("%d requests for %d windows: sparse pages must not be refetched", len(v.requests()), len(cov))
	}
	at := r.Start
	for _, c := range cov {
		if c.Range.Start != at || c.Requests != 1 || c.Items*5 != int(c.Expected) {
			t.Errorf("coverage %+v after %s", c, domain.FormatNs(at))
		}
		at = c.Range.End
	}
	if at != r.End {
		t.Errorf("coverage ends at %s, want %s", domain.FormatNs(at), domain.FormatNs(r.End))
	}
}

func TestOHLCListingAndDelistingEdges(t *testing.T) {
	// Dense history that starts and ends inside windows: one probe per edge
	// finds nothing and the limit is not lowered.
	v := newBarVenue(domain.Span1m)
	v.from, v.to = ts("2024-01-01T05:00:00Z"), ts("2024-01-03T07:00:00Z")
	r := rng("2024-01-01", "2024-01-05")
	var limits []int
	fetch := func(ctx context.Context, w domain.Range, limit int) ([]domain.OHLCBar, error) {
		limits = append(limits, limit)
		return v.fetch(ctx, w, limit)
	}
	got, err := collect(paginate.OHLC(t.Context(), r, fetch, paginate.OHLCOptions{Span: domain.Span1m, Limit: 1000}))
	if err != nil {
		t.Fatal(err)
	}
	sameTimes(t, openTimes(got), v.want(r))
	if len(limits) != 6+2 {
		t.Errorf("%d requests, want 6 windows + 2 probes", len(limits))
	}
	for _, l := range limits {
		if l != 1000 {
			t.Fatalf("limit lowered to %d by a listing edge", l)
		}
	}
}

func TestOHLCOutOfWindowPageIsAnError(t *testing.T) {
	// Kraken answers any OHLC request with its 720 most recent bars.
	recent := func(ctx context.Context, w domain.Range, limit int) ([]domain.OHLCBar, error) {
		out := make([]domain.OHLCBar, 720)
		for i := range out {
			out[i].OpenTime = ts("2025-01-01") + int64(i)*int64(time.Minute)
		}
		return out, nil
	}
	_, err := collect(paginate.OHLC(t.Context(), rng("2020-01-01", "2020-01-02"), recent, paginate.OHLCOptions{Span: domain.Span1m, Limit: 720}))
	var oe *paginate.OutOfWindowError
	if !errors.As(err, &oe) || oe.Rows != 720 {
		t.Fatalf("err = %v, want OutOfWindowError with 720 rows", err)
	}
}

func TestOHLCOptionErrors(t *testing.T) {
	fetch := newBarVenue(domain.Span1m).fetch
	r := rng("2024-01-01", "2024-01-02")
	cases := []struct {
		name string
		r    domain.Range
		opts paginate.OHLCOptions
		as   any
	}{
		{"no span", r, paginate.OHLCOptions{Limit: 10}, new(*paginate.OptionError)},
		{"no limit", r, paginate.OHLCOptions{Span: domain.Span1m}, new(*paginate.OptionError)},
		{"negative concurrency", r, paginate.OHLCOptions{Span: domain.Span1m, Limit: 1, Concurrency: -1}, new(*paginate.OptionError)},
		{"inverted range", domain.Range{Start: r.End, End: r.Start}, paginate.OHLCOptions{Span: domain.Span1m, Limit: 1}, new(*domain.RangeError)},
	}
	for _, tc := range cases {
		got, err := collect(paginate.OHLC(t.Context(), tc.r, fetch, tc.opts))
		if len(got) != 0 || err == nil || !errors.As(err, tc.as) {
			t.Errorf("%s: %d bars, err %v", tc.name, len(got), err)
		}
	}
}

func TestOHLCProgress(t *testing.T) {
	v := newBarVenue(domain.Span1m)
	r := rng("2024-01-01", "2024-01-01T10:00:00Z") // 600 bars, windows of 100
	var ps []paginate.Progress
	got, err := collect(paginate.OHLC(t.Context(), r, v.fetch, paginate.OHLCOptions{
		Span: domain.Span1m, Limit: 100, Concurrency: 2, Progress: func(p paginate.Progress) { ps = append(ps, p) },
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 6 {
		t.Fatalf("%d progress reports, want 6", len(ps))
	}
	for i, p := range ps {
		f, ok := p.Fraction()
		if p.Done != int64(i+1) || p.Total != 6 || p.Items != int64(100*(i+1)) || p.Position != r.Start+int64(i+1)*int64(100*time.Minute) || !ok || f != float64(i+1)/6 {
			t.Errorf("progress %d: %+v (fraction %v)", i, p, f)
		}
	}
	if last := ps[5]; last.Items != int64(len(got)) || last.Requests != 6 {
		t.Errorf("last progress %+v", last)
	}
	if eta, ok := ps[1].ETA(2 * time.Second); !ok || eta != 4*time.Second {
		t.Errorf("ETA after 2 of 6 windows in 2 s = %v, want 4s", eta)
	}
}
