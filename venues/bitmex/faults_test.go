package bitmex

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
	"github.com/pype-go/pype/sim/simtest"
	"github.com/pype-go/pype/transport/httpc"
	"github.com/pype-go/pype/transport/ratelimit/ratelimittest"
	"github.com/pype-go/pype/venues"
)

func TestSimBackfillsUnderFaults(t *testing.T) {
	s := startSim(t, simtest.Faults(Name, sim.Faults{ServerErrorRate: 0.15, ResetRate: 0.1, TruncateRate: 0.1,
		Latency: time.Millisecond, Jitter: 3 * time.Millisecond}))
	a := openSim(t, s, venues.Config{Concurrency: 3}, WithRetries(30, 2*time.Millisecond))
	r := domain.Range{Start: domain.Nanos(simNow.Add(-4 * 24 * time.Hour)), End: domain.Nanos(simNow)}
	sameBars(t, collectBars(t, a, venues.CandleRequest{Symbol: xbtusd, Span: domain.Span1m, Range: r}),
		truthBars(t, s, xbtusd, domain.Span1m, r))
	tr := domain.Range{Start: domain.Nanos(simNow.Add(-2 * time.Hour)), End: domain.Nanos(simNow)}
	got, err := collectTrades(t, a, venues.TradeRequest{Symbol: xbtusd, Range: tr})
	if err != nil {
		t.Fatal(err)
	}
	sameTrades(t, got, truthTrades(t, s, xbtusd, tr))
	st := s.Stats(Name)
	if st.Faults[sim.FaultServerError] == 0 || st.Faults[sim.FaultReset]+st.Faults[sim.FaultTruncate] == 0 {
		t.Fatalf("faults not exercised: %v", st.Faults)
	}
	t.Logf("faults %v, requests %d", st.Faults, st.Requests)
}

// TestSim429IsRetried: refusals (HTTP 429, RateLimitError, Retry-After)
// are waited out and retried, never read as empty pages.
func TestSim429IsRetried(t *testing.T) {
	s := startSim(t, simtest.Faults(Name, sim.Faults{RateLimitRate: 0.35}))
	a := openSim(t, s, venues.Config{Concurrency: 1}, WithRetries(10, time.Millisecond))
	r := domain.Range{Start: domain.Nanos(simNow.Add(-3 * 24 * time.Hour)), End: domain.Nanos(simNow)}
	sameBars(t, collectBars(t, a, venues.CandleRequest{Symbol: solusdt, Span: domain.Span1m, Range: r}),
		truthBars(t, s, solusdt, domain.Span1m, r))
	if st := s.Stats(Name); st.Status429 == 0 {
		t.Fatalf("no 429 drawn: %+v", st)
	}
	if st := a.Limiter().Stats(); st.Pauses == 0 {
		t.Fatalf("the 429 did not pause the limiter: %+v", st)
	}
}

// TestSimRateLimitIsRespected runs a backfill of 45 pages against BitMEX's
// real unauthenticated limit (30 requests per minute) on a manual clock
// shared by the venue and the adapter's limiter: the adapter waits instead
// of earning a single 429.
func TestSimRateLimitIsRespected(t *testing.T) {
	clk := ratelimittest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := simtest.Start(t, simtest.Venues(Name), simtest.Seed(7), simtest.Now(simNow), simtest.Frozen(),
		simtest.History(40*24*time.Hour), simtest.Clock(clk), simtest.Configure(func(c *sim.Config) { c.TradesPerSecond = 0.02 }))
	a := openSim(t, s, venues.Config{Concurrency: 4}, WithLimiterClock(clk))
	if r := a.RateLimits(); r[0].Limit != RequestsPerMinute {
		t.Fatalf("rules %+v", r)
	}
	// Advance the shared clock whenever the adapter waits on its limiter.
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			if a.Limiter().Stats().Queued > 0 {
				clk.Advance(time.Second)
			}
			time.Sleep(time.Millisecond)
		}
	}()
	defer func() { cancel(); wg.Wait() }()
	r := domain.Range{Start: domain.Nanos(simNow.Add(-45 * 1000 * time.Minute)), End: domain.Nanos(simNow)}
	got := collectBars(t, a, venues.CandleRequest{Symbol: xbtusd, Span: domain.Span1m, Range: r})
	sameBars(t, got, truthBars(t, s, xbtusd, domain.Span1m, r))
	st := s.Stats(Name)
	if st.Status429+st.Status418 != 0 {
		t.Fatalf("refusals: %+v", st)
	}
	if ls := a.Limiter().Stats(); ls.Waits == 0 {
		t.Fatalf("the limiter never waited: %+v", ls)
	}
	t.Logf("%d requests, virtual time %v", st.Requests, clk.Now().Sub(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
}

// TestSimIPBan: a misconfigured limit earns 429s and then HTTP 403 (the
// ban): the error is typed and every request of the adapter is paused
// instead of hammering the venue.
func TestSimIPBan(t *testing.T) {
	clk := ratelimittest.NewClock(time.Now())
	s := startSim(t, simtest.WeightLimit(3))
	a := openSim(t, s, venues.Config{WeightLimit: 1000}, WithoutStartupInfo(), WithRetries(1, time.Millisecond), WithLimiterClock(clk))
	var err error
	for i := 0; i < 12; i++ {
		if _, err = a.ServerTime(t.Context()); errors.Is(err, ErrIPBanned) {
			break
		}
		clk.Advance(2 * time.Minute) // past the 429 pause, on the adapter's side only
	}
	if !errors.Is(err, ErrIPBanned) {
		t.Fatalf("err %v", err)
	}
	var ae *APIError
	var he *httpc.HTTPError
	if !errors.As(err, &ae) || ae.Status != 403 || !ae.Temporary() || !errors.As(err, &he) {
		t.Fatalf("%#v", err)
	}
	t.Log(err)
	before := s.Stats(Name).Requests
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := a.ServerTime(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("paused request: %v", err)
	}
	if after := s.Stats(Name).Requests; after != before {
		t.Fatalf("requests sent while paused: %v → %v", before, after)
	}
}

// TestSimVenueCappingPages puts a proxy in front of the simulator that
// serves at most 300 rows per request whatever count asks: no trade and no
// bar may be lost. Candles: the paginator refetches what a full page left
// out. Trades: a short page is confirmed by one more request, the cap is
// learned, and the walk goes on.
func TestSimVenueCappingPages(t *testing.T) {
	s := startSim(t)
	target, _ := url.Parse(s.REST(Name))
	proxy := httputil.NewSingleHostReverseProxy(target)
	capped := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if n, err := strconv.Atoi(q.Get("count")); err == nil && n > 300 {
			q.Set("count", "300")
			r.URL.RawQuery = q.Encode()
		}
		proxy.ServeHTTP(w, r)
	}))
	defer capped.Close()
	a, err := Open(t.Context(), venues.Config{RESTURL: capped.URL, Logger: discard(), Concurrency: 2}, WithRetries(3, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	r := domain.Range{Start: domain.Nanos(simNow.Add(-2 * 24 * time.Hour)), End: domain.Nanos(simNow)}
	sameBars(t, collectBars(t, a, venues.CandleRequest{Symbol: xbtusd, Span: domain.Span1m, Range: r}), truthBars(t, s, xbtusd, domain.Span1m, r))
	tr := domain.Range{Start: domain.Nanos(simNow.Add(-30 * time.Minute)), End: domain.Nanos(simNow)}
	got, err := collectTrades(t, a, venues.TradeRequest{Symbol: xbtusd, Range: tr})
	if err != nil {
		t.Fatal(err)
	}
	sameTrades(t, got, truthTrades(t, s, xbtusd, tr))
	if c := a.tradeCap.Load(); c != 300 {
		t.Fatalf("learned cap %d", c)
	}
}
