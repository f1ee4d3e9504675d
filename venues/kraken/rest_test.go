package kraken

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
	"github.com/pype-go/pype/sim/simtest"
	"github.com/pype-go/pype/transport/httpc"
	"github.com/pype-go/pype/transport/ratelimit/ratelimittest"
	"github.com/pype-go/pype/venues"
)

// TestSimFaults backfills trades and candles while the venue injects 5xx,
// connection resets, truncated bodies, rate-limit refusals and latency: the
// results still equal the truth.
func TestSimFaults(t *testing.T) {
	s := startSim(t, simtest.Faults("kraken", sim.Faults{ServerErrorRate: 0.1, ResetRate: 0.05, TruncateRate: 0.05,
		RateLimitRate: 0.1, Latency: time.Millisecond, Jitter: time.Millisecond}))
	a := openSim(t, s, venues.Config{}, WithDerivedCandles(), withTradesPage(100))
	r := domain.Range{Start: ns(simNow.Add(-20 * time.Hour)), End: ns(simNow.Add(-19 * time.Hour))}
	var got []domain.Trade
	for tr, err := range a.BackfillTrades(t.Context(), venues.TradeRequest{Symbol: ethbtc, Range: r}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, tr)
	}
	sameTrades(t, got, tradeTruth(t, s, "ETH/BTC", r))
	cr := domain.Range{Start: ns(simNow.Add(-12*time.Hour - 20*time.Minute)), End: ns(simNow.Add(-11 * time.Hour))}
	bars, err := collectBars(t, a.BackfillCandles(t.Context(), venues.CandleRequest{Symbol: ethbtc, Span: domain.Span1m, Range: cr}))
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.Truth("kraken").Candles("ETH/BTC", domain.Span1m, cr.Start, cr.End)
	if err != nil {
		t.Fatal(err)
	}
	sameBars(t, bars, want, false)
	st := s.Stats("kraken")
	hs := a.HTTPStats()
	if len(st.Faults) < 4 || hs.Retries == 0 || hs.SoftErrors == 0 {
		t.Fatalf("faults were not exercised: sim %+v, client %+v", st.Faults, hs)
	}
	t.Logf("faults %v, client %+v", st.Faults, hs)
}

// TestSimRateLimitEnforced: without a local limit, the venue's call
// counter refuses the 16th quick call with "EGeneral:Too many requests"
// (HTTP 200), which surfaces as a typed, retryable error after the retries;
// Trades and OHLC have their own counter per pair; the counter decays.
func TestSimRateLimitEnforced(t *testing.T) {
	clk := ratelimittest.NewClock(simNow)
	s := simtest.Start(t, simtest.Venues("kraken"), simtest.Seed(7), simtest.Now(simNow), simtest.Frozen(),
		simtest.History(24*time.Hour), simtest.Clock(clk))
	a := openSim(t, s, venues.Config{WeightLimit: 1000}, WithRetries(2, time.Millisecond))
	// Open used 2 calls (Time, AssetPairs).
	for i := 0; i < 13; i++ {
		if _, err := a.BookSnapshot(t.Context(), btcusd, 10); err != nil {
			t.Fatalf("call %d: %v", i+3, err)
		}
	}
	_, err := a.BookSnapshot(t.Context(), btcusd, 10)
	var ae *APIError
	var se *httpc.SoftError
	if !errors.As(err, &ae) || !errors.Is(err, ErrTooManyRequests) || !ae.Temporary() || ae.Code() != "EGeneral:Too many requests" ||
		!errors.As(err, &se) || !se.Retryable || ae.Attempts != 2 {
		t.Fatalf("16th call: %v", err)
	}
	// Trades of a pair are counted separately.
	if _, err := a.Trades(t.Context(), btcusd, ns(simNow.Add(-time.Hour)), 10); err != nil {
		t.Fatalf("Trades on its own counter: %v", err)
	}
	clk.Advance(time.Minute)
	if _, err := a.BookSnapshot(t.Context(), btcusd, 10); err != nil {
		t.Fatalf("after the counter decayed: %v", err)
	}
}

// TestSimRateLimiterKeepsUnder: with the default local limit, 45 quick
// calls are paced so the venue's counter (15, decaying one per second)
// never refuses one. Both sides read the same manual clock; the test
// advances it to each limiter deadline.
func TestSimRateLimiterKeepsUnder(t *testing.T) {
	clk := ratelimittest.NewClock(simNow)
	s := simtest.Start(t, simtest.Venues("kraken"), simtest.Seed(7), simtest.Now(simNow), simtest.Frozen(),
		simtest.History(24*time.Hour), simtest.Clock(clk))
	cfg := venues.Config{RESTURL: s.REST("kraken"), Logger: discardLogger()}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var a *Adapter
	var failed atomic.Int64
	go func() {
		defer cancel()
		var err error
		if a, err = Open(ctx, cfg, WithLimiterClock(clk), WithRetries(1, time.Millisecond)); err != nil {
			failed.Add(1)
			return
		}
		for i := 0; i < 45; i++ {
			sym := btcusd
			if i%3 == 0 {
				sym = ethbtc
			}
			if _, err := a.BookSnapshot(ctx, sym, 5); err != nil {
				failed.Add(1)
			}
			if i%5 == 0 {
				if _, err := a.Trades(ctx, sym, ns(simNow.Add(-time.Hour)), 5); err != nil {
					failed.Add(1)
				}
			}
		}
	}()
	for ctx.Err() == nil {
		if err := clk.WaitForTimers(ctx, 1); err != nil {
			break
		}
		if d, ok := clk.NextDeadline(); ok {
			clk.Set(d)
		}
	}
	if failed.Load() != 0 {
		t.Fatalf("%d calls refused", failed.Load())
	}
	defer a.Close()
	if hs := a.HTTPStats(); hs.SoftErrors != 0 || hs.Requests != 47+9 {
		t.Fatalf("client %+v", hs)
	}
	if el := clk.Now().Sub(simNow); el < 30*time.Second {
		t.Fatalf("47 public calls took %v of virtual time: not paced", el)
	}
	if got := a.Limiter().Pairs(); len(got) != 2 {
		t.Fatalf("pair counters %v", got)
	}
}

// fakeKraken answers Time and AssetPairs (XBTUSD only) itself and hands
// every other request to h, counting them.
func fakeKraken(t *testing.T, h func(w http.ResponseWriter, r *http.Request, n int)) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case pathTime:
			fmt.Fprintf(w, `{"error":[],"result":{"unixtime":%d,"rfc1123":""}}`, time.Now().Unix())
		case pathAssetPairs:
			fmt.Fprint(w, `{"error":[],"result":{"XXBTZUSD":{"altname":"XBTUSD","wsname":"XBT/USD","base":"XXBT","quote":"ZUSD","pair_decimals":1,"lot_decimals":8,"ordermin":"0.0001"}}}`)
		default:
			h(w, r, int(calls.Add(1)))
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func openFake(t *testing.T, url string, opts ...Option) *Adapter {
	t.Helper()
	a, err := Open(t.Context(), venues.Config{RESTURL: url, Logger: discardLogger(), WeightLimit: 1000},
		append([]Option{WithoutStartupInfo(), WithRetries(4, time.Millisecond), WithRateLimitPause(time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// TestTradesInstantOverflow: a full page whose trades all share one instant
// cannot be paged by time; the walk moves past the instant, reports a gap
// and goes on instead of looping.
func TestTradesInstantOverflow(t *testing.T) {
	const T = int64(1709251200_000_000_000) // 2024-03-01T00:00:00Z
	row := func(id int, at int64) string {
		return fmt.Sprintf(`["42000.0","0.1",%d.%09d,"b","m","",%d]`, at/1e9, at%1e9, id)
	}
	srv, _ := fakeKraken(t, func(w http.ResponseWriter, r *http.Request, n int) {
		since := r.URL.Query().Get("since")
		switch {
		case since == fmt.Sprint(T-1) || since == fmt.Sprint(T-2):
			fmt.Fprintf(w, `{"error":[],"result":{"XXBTZUSD":[%s,%s,%s],"last":"%d"}}`, row(1, T), row(2, T), row(3, T), T)
		case since == fmt.Sprint(T):
			fmt.Fprintf(w, `{"error":[],"result":{"XXBTZUSD":[%s,%s],"last":"%d"}}`, row(5, T+1e6), row(6, T+2e6), T+2e6)
		default:
			t.Errorf("unexpected since %s", since)
			fmt.Fprint(w, `{"error":["EGeneral:Invalid arguments"]}`)
		}
	})
	a := openFake(t, srv.URL, withTradesPage(3))
	var ids []string
	gaps := 0
	for tr, err := range a.BackfillTrades(t.Context(), venues.TradeRequest{Symbol: btcusd, Range: domain.Range{Start: T - 1, End: T + 1e9},
		Gap: func(venues.Gap) { gaps++ }}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tr.ID)
	}
	if strings.Join(ids, ",") != "1,2,3,5,6" || gaps != 1 {
		t.Fatalf("ids %v, %d gaps", ids, gaps)
	}
}

// TestSoftErrorsNeverEmptyPages: errors inside HTTP 200 bodies are retried
// (service errors) or surfaced (unknown pair), never read as an empty page.
func TestSoftErrorsNeverEmptyPages(t *testing.T) {
	srv, calls := fakeKraken(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch {
		case r.URL.Query().Get("pair") == "NOPEUSD":
			fmt.Fprint(w, `{"error":["EQuery:Unknown asset pair"]}`)
		case n <= 2:
			fmt.Fprint(w, `{"error":["EService:Unavailable"]}`)
		case n == 3:
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, `<html>502</html>`)
		default:
			fmt.Fprint(w, `{"error":[],"result":{"XXBTZUSD":[["42000.0","0.1",1709251200.5,"s","l","",9]],"last":"1709251200500000000"}}`)
		}
	})
	a := openFake(t, srv.URL)
	p, err := a.Trades(t.Context(), btcusd, 1, 0)
	if err != nil || len(p.Trades) != 1 || calls.Load() != 4 || p.Last != 1709251200500000000 {
		t.Fatalf("%+v %v after %d calls", p, err, calls.Load())
	}
	_, _, err = a.trades(t.Context(), "NOPEUSD", 1, 0)
	if !errors.Is(err, ErrInvalidSymbol) {
		t.Fatalf("unknown pair: %v", err)
	}
	if !strings.Contains(err.Error(), "EQuery:Unknown asset pair") || !strings.Contains(err.Error(), "XBTUSD") {
		t.Fatalf("message does not help: %v", err)
	}
	// Persistent service errors exhaust the retries and surface.
	srv2, _ := fakeKraken(t, func(w http.ResponseWriter, r *http.Request, n int) {
		fmt.Fprint(w, `{"error":["EService:Busy"]}`)
	})
	b := openFake(t, srv2.URL)
	var seen int
	for _, err := range b.BackfillTrades(t.Context(), venues.TradeRequest{Symbol: btcusd, Range: domain.Range{Start: 1, End: 2}}) {
		seen++
		if !errors.Is(err, ErrVenueUnavailable) {
			t.Fatalf("busy: %v", err)
		}
	}
	if seen != 1 {
		t.Fatalf("%d items for a failed backfill", seen)
	}
}

// TestTradesFromTheBeginning: a range starting at the epoch asks for the
// oldest trades (since=0), not the newest (no since).
func TestTradesFromTheBeginning(t *testing.T) {
	var sinces []string
	srv, _ := fakeKraken(t, func(w http.ResponseWriter, r *http.Request, n int) {
		sinces = append(sinces, r.URL.Query()["since"]...)
		fmt.Fprint(w, `{"error":[],"result":{"XXBTZUSD":[["5.0","1.0",1381095255.8,"b","l","",1]],"last":"1381095255800000000"}}`)
	})
	a := openFake(t, srv.URL)
	n := 0
	for _, err := range a.BackfillTrades(t.Context(), venues.TradeRequest{Symbol: btcusd, Range: domain.Range{Start: 0, End: domain.SecondsToNanos(1381095256)}}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1 || strings.Join(sinces, ",") != "0" {
		t.Fatalf("%d trades, since %v", n, sinces)
	}
}
