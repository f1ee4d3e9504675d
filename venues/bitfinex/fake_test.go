package bitfinex

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/venues"
)

// fakeVenue is an httptest server answering the conf request and routing
// everything else to handle.
func fakeVenue(t *testing.T, handle func(w http.ResponseWriter, r *http.Request)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v2/conf/") {
			_, _ = w.Write([]byte(`[["BTCUSD","ETHUSD"],[["UST","USDT"]]]`))
			return
		}
		handle(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func openFake(t *testing.T, srv *httptest.Server, opts ...Option) *Adapter {
	t.Helper()
	base := []Option{WithRetries(3, time.Millisecond), WithBlockPause(20 * time.Millisecond), WithClock(func() time.Time { return simNow })}
	a, err := Open(t.Context(), venues.Config{RESTURL: srv.URL + "/v2", Logger: discard()}, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// burstTrades serves trades: one per millisecond from ms 1000 to 1099
// except ms 1050, which holds `burst` trades; ids increase with time.
func burstTrades(burst int) func(w http.ResponseWriter, r *http.Request) {
	type tr struct{ id, ms int64 }
	var all []tr
	id := int64(100)
	for ms := int64(1000); ms < 1100; ms++ {
		n := 1
		if ms == 1050 {
			n = burst
		}
		for range n {
			all = append(all, tr{id, ms})
			id++
		}
	}
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		start, _ := strconv.ParseInt(q.Get("start"), 10, 64)
		end, _ := strconv.ParseInt(q.Get("end"), 10, 64)
		limit, _ := strconv.Atoi(q.Get("limit"))
		var out []string
		row := func(x tr) string { return fmt.Sprintf("[%d,%d,0.5,100]", x.id, x.ms) }
		if q.Get("sort") == "1" {
			for _, x := range all {
				if x.ms >= start && x.ms <= end && len(out) < limit {
					out = append(out, row(x))
				}
			}
		} else {
			for i := len(all) - 1; i >= 0; i-- {
				if x := all[i]; x.ms >= start && x.ms <= end && len(out) < limit {
					out = append(out, row(x))
				}
			}
		}
		_, _ = w.Write([]byte("[" + strings.Join(out, ",") + "]"))
	}
}

// TestSameMillisecondOverflow: a millisecond holding more trades than a
// page is completed by a descending page; holding more than two pages it
// cannot be read and the backfill fails loudly instead of skipping.
func TestSameMillisecondOverflow(t *testing.T) {
	r := domain.Range{Start: domain.MillisToNanos(1000), End: domain.MillisToNanos(1100)}
	t.Run("two pages suffice", func(t *testing.T) {
		a := openFake(t, fakeVenue(t, burstTrades(25)), WithPageLimits(MaxCandles, 13))
		got := collectTrades(t, a, venues.TradeRequest{Symbol: btcusd, Range: r})
		if len(got) != 99+25 {
			t.Fatalf("%d trades", len(got))
		}
		for i := 1; i < len(got); i++ {
			a, _ := strconv.Atoi(got[i-1].ID)
			b, _ := strconv.Atoi(got[i].ID)
			if b != a+1 {
				t.Fatalf("ids %d then %d", a, b)
			}
		}
	})
	t.Run("overflow", func(t *testing.T) {
		a := openFake(t, fakeVenue(t, burstTrades(25)), WithPageLimits(MaxCandles, 10))
		var err error
		n := 0
		var covered domain.Range
		for _, e := range a.BackfillTrades(t.Context(), venues.TradeRequest{Symbol: btcusd, Range: r, Covered: func(c domain.Range) { covered.End = c.End }}) {
			if e != nil {
				err = e
			} else {
				n++
			}
		}
		var se *SameMillisecondError
		if !errors.As(err, &se) || se.Ms != 1050 || !strings.Contains(err.Error(), "20 trades") {
			t.Fatalf("after %d trades: %v", n, err)
		}
		// Everything before the millisecond was yielded and covered; the
		// millisecond itself is not reported as covered.
		if n < 50 || covered.End != domain.MillisToNanos(1050) {
			t.Fatalf("%d trades before the error, covered up to %s", n, domain.FormatNs(covered.End))
		}
	})
}

// TestErrorAnswers: errors inside HTTP 200 bodies are errors, never empty
// pages; maintenance is retried then reported; a 429 pauses only its
// endpoint.
func TestErrorAnswers(t *testing.T) {
	var mu sync.Mutex
	answers := map[string]func(w http.ResponseWriter){}
	var calls atomic.Int64
	srv := fakeVenue(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		mu.Lock()
		f := answers[strings.Split(r.URL.Path, "/")[2]]
		mu.Unlock()
		f(w)
	})
	set := func(kind string, status int, body string) {
		mu.Lock()
		answers[kind] = func(w http.ResponseWriter) { w.WriteHeader(status); _, _ = w.Write([]byte(body)) }
		mu.Unlock()
	}
	a := openFake(t, srv)
	r := domain.Range{Start: domain.Nanos(simNow.Add(-time.Hour)), End: domain.Nanos(simNow)}

	set("trades", 200, `["error",10020,"symbol: invalid"]`)
	_, err := a.Trades(t.Context(), btcusd, r, 10)
	var ae *APIError
	if !errors.As(err, &ae) || !errors.Is(err, ErrInvalidSymbol) || ae.Code != 10020 {
		t.Fatalf("error in a 200 body: %v", err)
	}

	set("trades", 500, `["error",20060,"maintenance"]`)
	calls.Store(0)
	_, err = a.Trades(t.Context(), btcusd, r, 10)
	if !errors.Is(err, ErrMaintenance) || !errors.As(err, &ae) || !ae.Temporary() || calls.Load() != 3 {
		t.Fatalf("maintenance after %d calls: %v", calls.Load(), err)
	}

	set("trades", 429, `{"error":"ERR_RATE_LIMIT"}`)
	set("candles", 200, `[[1709247600000,1,2,3,0.5,10]]`)
	_, err = a.Trades(t.Context(), btcusd, r, 10)
	if !errors.Is(err, ErrTooManyRequests) {
		t.Fatalf("rate limit: %v", err)
	}
	st := a.LimiterStats()
	if st[RuleTrades].Pauses == 0 || st[RuleCandles].Pauses != 0 {
		t.Fatalf("pauses %+v", st)
	}
	bars, err := a.Candles(t.Context(), btcusd, domain.Span1h, domain.Range{Start: domain.MillisToNanos(1709247600000), End: domain.MillisToNanos(1709251200000)}, 0)
	if err != nil || len(bars) != 1 || bars[0].Close.Cmp(d("2")) != 0 || bars[0].High.Cmp(d("3")) != 0 || !bars[0].Closed {
		t.Fatalf("candles during the trades block: %v %v", bars, err)
	}

	// A weekly bar that does not open on Monday is refused.
	set("candles", 200, `[[1709164800000,1,2,3,0.5,10]]`) // Thursday 2024-02-29
	_, err = a.Candles(t.Context(), btcusd, domain.Span1w, domain.Range{Start: domain.MillisToNanos(1708905600000), End: domain.MillisToNanos(1709510400000)}, 0)
	var al *AlignmentError
	if !errors.As(err, &al) || !strings.Contains(err.Error(), "Thursday") {
		t.Fatalf("misaligned week: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  venues.Config
		opts []Option
	}{
		{venues.Config{RESTURL: "ftp://x"}, nil},
		{venues.Config{WSURL: "nope"}, nil},
		{venues.Config{Concurrency: -1}, nil},
		{venues.Config{}, []Option{WithChannelsPerConnection(26)}},
		{venues.Config{}, []Option{WithPageLimits(0, 10)}},
		{venues.Config{}, []Option{WithRateLimits(ratelimitRule("NOPE"))}},
	} {
		if _, err := Open(t.Context(), tc.cfg, append(tc.opts, WithoutStartupConf())...); err == nil {
			t.Errorf("%+v: no error", tc.cfg)
		}
	}
	// An unreachable venue: Open succeeds, symbols fail clearly later.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) }))
	defer srv.Close()
	a, err := Open(t.Context(), venues.Config{RESTURL: srv.URL, Logger: discard()}, WithRetries(1, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.VenueSymbol(t.Context(), btcusd); !errors.Is(err, ErrInvalidSymbol) || !strings.Contains(err.Error(), "could not be loaded") {
		t.Fatalf("symbol without a pair list: %v", err)
	}
}
