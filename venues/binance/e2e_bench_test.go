package binance

import (
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
	"github.com/pype-go/pype/sim/simtest"
	"github.com/pype-go/pype/venues"
)

// End-to-end benchmarks against the in-process simulator. They run for
// minutes (rate limits are per minute), so they are meant to be started one
// at a time with -benchtime 1x; see the package documentation for the
// commands. Results are ratios: achieved ÷ bound.

// reqLog is an http.RoundTripper that records every REST request.
type reqLog struct {
	base http.RoundTripper
	mu   sync.Mutex
	at   []time.Time
	wt   []int // weight of each request
	code map[int]int
}

func newReqLog() *reqLog {
	return &reqLog{base: http.DefaultTransport.(*http.Transport).Clone(), code: map[int]int{}}
}

func (l *reqLog) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.base.RoundTrip(r)
	if !strings.HasPrefix(r.URL.Path, "/api/") {
		return resp, err
	}
	w := map[string]int{epKlines.Path: WeightKlines, epAggTrades.Path: WeightAggTrades, epTime.Path: WeightTime,
		epExchangeInfo.Path: WeightExchangeInfo}[r.URL.Path]
	if r.URL.Path == epDepth.Path {
		n, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		w = DepthWeight(n)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.at = append(l.at, time.Now())
	l.wt = append(l.wt, w)
	if resp != nil {
		l.code[resp.StatusCode]++
	}
	return resp, err
}

// ratio compares the weight sent from the mark-th request on with the most
// a rolling-window limit allows: over the k = ⌊elapsed/window⌋ (≥ 1) whole
// windows that start at the first request, at most k × limit can be sent.
func (l *reqLog) ratio(mark int, limit int, window time.Duration) (ratio float64, requests int, elapsed time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	at, wt := l.at[mark:], l.wt[mark:]
	if len(at) == 0 {
		return 0, 0, 0
	}
	elapsed = at[len(at)-1].Sub(at[0])
	k := max(int(elapsed/window), 1)
	end := at[0].Add(time.Duration(k) * window)
	used := 0
	for i, w := range wt {
		if at[i].Before(end) {
			used += w
		}
	}
	return float64(used) / float64(k*limit), len(at), elapsed
}

func (l *reqLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.at)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkCandleBackfillRateLimit backfills 1 s candles from a simulator
// with 100 ms of latency whose request-weight limit binds
// (PYPE_BENCH_WEIGHT per minute, default 600 = 300 klines pages a minute),
// for PYPE_BENCH_WINDOWS minutes' worth of pages (default 3). It reports
// achieved weight ÷ the limit's bound (target ≥ 0.9) and the 429s (target
// 0).
func BenchmarkCandleBackfillRateLimit(b *testing.B) {
	limit := envInt("PYPE_BENCH_WEIGHT", 600)
	windows := envInt("PYPE_BENCH_WINDOWS", 3)
	pages := limit / WeightKlines * windows
	span := time.Duration(pages) * MaxKlines * time.Second
	now := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	s := simtest.Start(b, simtest.Venues("binance"), simtest.Seed(3), simtest.Now(now), simtest.Frozen(),
		simtest.History(span+24*time.Hour), simtest.WeightLimit(limit),
		simtest.Configure(func(c *sim.Config) { c.TradesPerSecond = 0.5 }),
		simtest.Faults("binance", sim.Faults{Latency: 100 * time.Millisecond}))
	for i := 0; i < b.N; i++ {
		log := newReqLog()
		a, err := Open(b.Context(), venues.Config{RESTURL: s.REST("binance"), WSURL: s.WS("binance"), Concurrency: 8,
			HTTPClient: &http.Client{Transport: log}, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		r := domain.Range{Start: domain.Nanos(now.Add(-span)), End: domain.Nanos(now)}
		bars := 0
		mark := log.count()
		start := time.Now()
		for _, err := range a.BackfillCandles(b.Context(), venues.CandleRequest{Symbol: btcusdt, Span: domain.Span1s, Range: r}) {
			if err != nil {
				b.Fatal(err)
			}
			bars++
		}
		took := time.Since(start)
		a.Close()
		ratio, n, elapsed := log.ratio(mark, limit, time.Minute)
		b.ReportMetric(ratio, "achieved/bound")
		b.ReportMetric(float64(log.code[http.StatusTooManyRequests]), "429s")
		b.ReportMetric(float64(n)/elapsed.Seconds(), "req/s")
		b.ReportMetric(float64(bars)/took.Seconds(), "bars/s")
		b.Logf("%d bars in %v, %d requests over %v, weight limit %d/min: achieved/bound %.3f, 429s %d",
			bars, took.Round(time.Millisecond), n, elapsed.Round(time.Millisecond), limit, ratio, log.code[http.StatusTooManyRequests])
	}
}

// BenchmarkTradesBackfill backfills PYPE_BENCH_TRADES aggregate trades
// (default 5,000,000) from a simulator with 100 ms of latency and Binance's
// 6000 weight a minute, with the concurrent split, and checks the result is
// complete and contiguous. It reports achieved weight ÷ the limit's bound
// (target ≥ 0.9), the 429s, trades/s, and how much faster it is than a
// single cursor (measured on the first PYPE_BENCH_SINGLE trades, default
// 300,000).
func BenchmarkTradesBackfill(b *testing.B) {
	want := envInt("PYPE_BENCH_TRADES", 5_000_000)
	single := envInt("PYPE_BENCH_SINGLE", 300_000)
	const tps = 20 // aggregate trades per second in the simulator
	span := time.Duration(want/tps) * time.Second
	now := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	s := simtest.Start(b, simtest.Venues("binance"), simtest.Seed(5), simtest.Now(now), simtest.Frozen(),
		simtest.History(span+24*time.Hour), simtest.Configure(func(c *sim.Config) { c.TradesPerSecond = tps }),
		simtest.Faults("binance", sim.Faults{Latency: 100 * time.Millisecond}))
	r := domain.Range{Start: domain.Nanos(now.Add(-span)), End: domain.Nanos(now)}
	run := func(conc int, r domain.Range, log *reqLog) (n int, took time.Duration, mark int) {
		a, err := Open(b.Context(), venues.Config{RESTURL: s.REST("binance"), WSURL: s.WS("binance"), Concurrency: conc,
			HTTPClient: &http.Client{Transport: log}, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		defer a.Close()
		mark = log.count()
		start := time.Now()
		var prev int64
		var gaps []venues.Gap
		for t, err := range a.BackfillTrades(b.Context(), venues.TradeRequest{Symbol: btcusdt, Range: r,
			Gap: func(g venues.Gap) { gaps = append(gaps, g) }}) {
			if err != nil {
				b.Fatal(err)
			}
			id, _ := strconv.ParseInt(t.ID, 10, 64)
			if prev != 0 && id != prev+1 {
				b.Fatalf("trade id %d after %d", id, prev)
			}
			prev = id
			n++
		}
		if len(gaps) != 0 {
			b.Fatalf("gaps: %v", gaps)
		}
		return n, time.Since(start), mark
	}
	for i := 0; i < b.N; i++ {
		log := newReqLog()
		n, took, mark := run(16, r, log)
		ratio, reqs, elapsed := log.ratio(mark, 6000, time.Minute)
		// The single cursor on a prefix of the range holding about
		// `single` trades.
		sr := domain.Range{Start: r.Start, End: r.Start + int64(time.Duration(single/tps)*time.Second)}
		slog1 := newReqLog()
		n1, took1, _ := run(1, sr, slog1)
		rate, rate1 := float64(n)/took.Seconds(), float64(n1)/took1.Seconds()
		b.ReportMetric(ratio, "achieved/bound")
		b.ReportMetric(float64(log.code[http.StatusTooManyRequests]+slog1.code[http.StatusTooManyRequests]), "429s")
		b.ReportMetric(rate, "trades/s")
		b.ReportMetric(rate/rate1, "x_single_cursor")
		b.Logf("concurrent: %d trades in %v (%.0f/s), %d requests over %v: achieved/bound %.3f; single cursor: %d trades in %v (%.0f/s); speed-up %.2fx",
			n, took.Round(time.Millisecond), rate, reqs, elapsed.Round(time.Millisecond), ratio, n1, took1.Round(time.Millisecond), rate1, rate/rate1)
	}
}

// BenchmarkBookStreamLatency streams the books of four symbols from the
// live simulator (10× speed: 400 diffs/s) and reports the latency from a
// frame's arrival (its receive time) to the consumer holding the updated
// book: p50, p99 and max.
func BenchmarkBookStreamLatency(b *testing.B) {
	events := envInt("PYPE_BENCH_EVENTS", 5000)
	s := simtest.Start(b, simtest.Venues("binance"), simtest.Seed(9), simtest.Now(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)),
		simtest.Speed(10), simtest.History(48*time.Hour))
	a, err := Open(b.Context(), venues.Config{RESTURL: s.REST("binance"), WSURL: s.WS("binance"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	syms := []domain.Symbol{btcusdt, domain.NewSymbol("ETH", "USDT"), domain.NewSymbol("ETH", "BTC"), domain.NewSymbol("SOL", "USDT")}
	for i := 0; i < b.N; i++ {
		var lat []time.Duration
		start := time.Now()
		for ev, err := range a.StreamBooks(b.Context(), venues.StreamRequest{Symbols: syms, Depth: 20}) {
			if err != nil {
				b.Fatal(err)
			}
			if !ev.Live {
				continue
			}
			lat = append(lat, time.Since(time.Unix(0, ev.Book.RecvTime)))
			if len(lat) >= events {
				break
			}
		}
		took := time.Since(start)
		slices.Sort(lat)
		p := func(q float64) time.Duration { return lat[min(len(lat)-1, int(q*float64(len(lat))))] }
		b.ReportMetric(float64(p(0.5).Microseconds()), "p50_µs")
		b.ReportMetric(float64(p(0.99).Microseconds()), "p99_µs")
		b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "max_µs")
		b.ReportMetric(float64(len(lat))/took.Seconds(), "events/s")
		b.Logf("%d live book events: frame→book latency p50 %v, p99 %v, max %v", len(lat), p(0.5), p(0.99), lat[len(lat)-1])
	}
}
