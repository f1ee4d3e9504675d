package bybit

import (
	"bytes"
	"context"
	"errors"
	"io"
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
	"github.com/pype-go/pype/venues"
)

func TestSimCandlesUnderFaults(t *testing.T) {
	s := startSim(t, simtest.Faults("bybit", sim.Faults{ServerErrorRate: 0.15, ResetRate: 0.1, TruncateRate: 0.2,
		RateLimitRate: 0.15, Latency: time.Millisecond, Jitter: 3 * time.Millisecond}))
	a := openSim(t, s, venues.Config{Concurrency: 4}, WithRetries(30, 5*time.Millisecond))
	r := domain.Range{Start: domain.Nanos(simNow.Add(-4 * 24 * time.Hour)), End: domain.Nanos(simNow)}
	sameBars(t, collectBars(t, a, venues.CandleRequest{Symbol: btcusdtPerp, Span: domain.Span1m, Range: r}),
		truthBars(t, s, btcusdtPerp, domain.Span1m, r))
	recent, err := a.RecentTrades(t.Context(), btcusdt, 0)
	if err != nil {
		t.Fatal(err)
	}
	tr := domain.Range{Start: recent[0].Time + 1e6, End: domain.Nanos(simNow) + 1}
	got, err := collectTrades(t, a, venues.TradeRequest{Symbol: btcusdt, Range: tr})
	if err != nil {
		t.Fatal(err)
	}
	sameTrades(t, got, truthTrades(t, s, btcusdt, tr))
	st := s.Stats("bybit")
	for _, k := range []string{sim.FaultServerError, sim.FaultReset, sim.FaultTruncate, sim.FaultRateLimit} {
		if st.Faults[k] == 0 {
			t.Logf("fault %s not drawn (faults %v)", k, st.Faults)
		}
	}
	if st.Faults[sim.FaultServerError]+st.Faults[sim.FaultReset]+st.Faults[sim.FaultRateLimit] == 0 {
		t.Fatalf("no fault injected: %v", st.Faults)
	}
	t.Logf("faults %v, requests %d", st.Faults, st.Requests)
}

// countingTransport counts the venue's rate-limit refusals it carries.
type countingTransport struct {
	mu         sync.Mutex
	soft, http int
	base       http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	body, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case rerr != nil:
	case resp.StatusCode == http.StatusTooManyRequests:
		c.http++
	case bytes.Contains(body, []byte(`"retCode":10006`)):
		c.soft++
	}
	return resp, rerr
}

func TestSimSoftRateLimitIsRetried(t *testing.T) {
	// Requests are refused at random: HTTP 200 retCode 10006 with a reset
	// timestamp, or HTTP 429. The adapter must wait and retry, never read
	// the refusal as an empty page.
	s := startSim(t, simtest.Faults("bybit", sim.Faults{RateLimitRate: 0.5}))
	ct := &countingTransport{base: http.DefaultTransport}
	hc := &http.Client{Transport: ct}
	defer hc.CloseIdleConnections()
	a := openSim(t, s, venues.Config{HTTPClient: hc}, WithRetries(20, 5*time.Millisecond), WithoutStartupInfo(), WithCategories(Spot))
	r := domain.Range{Start: domain.Nanos(simNow.Add(-6 * time.Hour)), End: domain.Nanos(simNow)}
	for i := 0; ; i++ {
		sameBars(t, collectBars(t, a, venues.CandleRequest{Symbol: btcusdt, Span: domain.Span5m, Range: r}),
			truthBars(t, s, btcusdt, domain.Span5m, r))
		ct.mu.Lock()
		soft, hard := ct.soft, ct.http
		ct.mu.Unlock()
		if soft > 0 && hard > 0 {
			break
		}
		if i > 20 {
			t.Fatalf("refusals not drawn: 10006 %d, 429 %d", soft, hard)
		}
	}
}

func TestSimRateLimitIsRespected(t *testing.T) {
	// The venue allows 12 requests per 5 s; so does the adapter. A backfill
	// of 16 pages waits instead of earning a 403.
	s := startSim(t, simtest.WeightLimit(12))
	a := openSim(t, s, venues.Config{WeightLimit: 12, Concurrency: 4}, WithoutStartupInfo(), WithCategories(Spot))
	r := domain.Range{Start: domain.Nanos(simNow.Add(-14 * 1000 * time.Minute)), End: domain.Nanos(simNow)}
	got := collectBars(t, a, venues.CandleRequest{Symbol: btcusdt, Span: domain.Span1m, Range: r})
	sameBars(t, got, truthBars(t, s, btcusdt, domain.Span1m, r))
	if st := s.Stats("bybit"); st.Status429+st.Status418 != 0 {
		t.Fatalf("refusals: %+v", st)
	}
}

func TestSimIPBan(t *testing.T) {
	// A misconfigured limit (100 per 5 s against the venue's 3) earns HTTP
	// 403 "access too frequent": the error is typed and every request of
	// the adapter is paused instead of hammering the venue.
	s := startSim(t, simtest.WeightLimit(3))
	a := openSim(t, s, venues.Config{WeightLimit: 100}, WithoutStartupInfo(), WithRetries(1, time.Millisecond))
	var err error
	for i := 0; i < 10 && err == nil; i++ {
		_, err = a.ServerTime(t.Context())
	}
	if !errors.Is(err, ErrIPBanned) {
		t.Fatalf("err %v", err)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 403 || !ae.Temporary() {
		t.Fatalf("%#v", err)
	}
	before := s.Stats("bybit").Requests
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := a.ServerTime(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("paused request: %v", err)
	}
	if after := s.Stats("bybit").Requests; after != before {
		t.Fatalf("requests sent while paused: %d → %d", before, after)
	}
}

func TestSimVenueSideErrors(t *testing.T) {
	// Without the instrument list the venue itself rejects an unknown
	// symbol (retCode 10001 in an HTTP 200 body): typed, never empty.
	s := startSim(t)
	a := openSim(t, s, venues.Config{}, WithoutStartupInfo())
	r := domain.Range{Start: domain.Nanos(simNow.Add(-time.Hour)), End: domain.Nanos(simNow)}
	_, err := a.klines(t.Context(), Spot, "BTCUSDX", "1", domain.Span1m, r, 10)
	var ae *APIError
	if !errors.Is(err, ErrInvalidSymbol) || !errors.As(err, &ae) || ae.Code != 10001 || ae.Status != 200 {
		t.Fatalf("%v", err)
	}
	_, err = a.klines(t.Context(), Spot, "BTCUSDT", "7", domain.Span1m, r, 10)
	if !errors.Is(err, ErrInvalidInterval) {
		t.Fatalf("%v", err)
	}
	_, err = a.recentTrades(t.Context(), Linear, "SOLUSDT", 10)
	if !errors.Is(err, ErrInvalidSymbol) {
		t.Fatalf("%v", err)
	}
	t.Log(err)
}

func TestSimTruncatedPagesAreRefetched(t *testing.T) {
	// A venue that serves at most 170 bars per request (the newest of the
	// window, as Bybit keeps them) while 1000 are declared: no bar may be
	// lost at the seams.
	s := startSim(t)
	target, err := url.Parse(s.REST("bybit"))
	if err != nil {
		t.Fatal(err)
	}
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		if r.Out.URL.Path == "/v5/market/kline" {
			q := r.Out.URL.Query()
			if n, _ := strconv.Atoi(q.Get("limit")); n > 170 {
				q.Set("limit", "170")
			}
			r.Out.URL.RawQuery = q.Encode()
		}
	}}
	srv := httptest.NewServer(proxy)
	defer srv.Close()
	a, err := Open(t.Context(), venues.Config{RESTURL: srv.URL, WSURL: s.WS("bybit"), Logger: discard(), Concurrency: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	r := domain.Range{Start: domain.Nanos(simNow.Add(-3*24*time.Hour - 7*time.Minute)), End: domain.Nanos(simNow.Add(-11 * time.Minute))}
	sameBars(t, collectBars(t, a, venues.CandleRequest{Symbol: btcusdt, Span: domain.Span1m, Range: r}), truthBars(t, s, btcusdt, domain.Span1m, r))
}
