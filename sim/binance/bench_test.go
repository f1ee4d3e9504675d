package binance_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pype-go/pype/sim"
	"github.com/pype-go/pype/sim/binance"
	"github.com/pype-go/pype/sim/simtest"
)

// Speed targets (one core): /klines limit 1000 ≥ 5,000 req/s, /aggTrades
// limit 1000 ≥ 5,000 req/s, diff-depth stream ≥ 200,000 msg/s.
//
//	go test -run '^$' -bench . -cpu 1 -count 3 ./sim/binance/
//
// Measured on the shared 2-core dev box (AMD EPYC, GOMAXPROCS=1, median of
// 3): Klines1000 140k req/s (row cache; 4.2k without it), AggTrades1000
// 7.2k req/s, Klines1000HTTP 10k req/s and AggTrades1000HTTP 4.9k req/s
// (client included), DepthDiffStream 360k msg/s (client included),
// DepthDiffStream4Conns 360k msg/s, Klines1000FirstPass 150 req/s (bound by
// generating the trades of 17 hours per page; see sim.Config.Prewarm).

// benchHandler returns the bare Binance handler (no network) over a frozen
// 30-day market, to measure the simulator's own cost per request.
func benchHandler(b *testing.B) (http.Handler, *sim.Market) {
	benchOnce.Do(func() { benchH, benchM = newBenchHandler(b, nil) })
	return benchH, benchM
}

var (
	benchOnce sync.Once
	benchH    http.Handler
	benchM    *sim.Market
)

func newBenchHandler(b *testing.B, opts map[string]string) (http.Handler, *sim.Market) {
	env, err := sim.NewEnv(context.Background(), binance.New(), sim.Config{Seed: 1, Now: fixedNow, Frozen: true,
		Limits: sim.LimiterConfig{Disabled: true}, Options: opts})
	if err != nil {
		b.Fatal(err)
	}
	h, err := binance.New().Handler(env)
	if err != nil {
		b.Fatal(err)
	}
	return h, env.Market
}

// discardWriter is a ResponseWriter that keeps the status and counts the
// body bytes (a recorder would add a copy of every body to the cost).
type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(c int)   { w.status = c }
func (w *discardWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	w.n += len(p)
	return len(p), nil
}

func serveBench(b *testing.B, h http.Handler, urls []string) {
	// Warm the caches (per-minute aggregates) once, as a backfill would
	// after its first pass.
	for _, u := range urls {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", u, nil))
	}
	reqs := make([]*http.Request, len(urls))
	for i, u := range urls {
		reqs[i] = httptest.NewRequest("GET", u, nil)
	}
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	var bytes int
	for i := 0; i < b.N; i++ {
		clear(w.h)
		w.status, w.n = 0, 0
		h.ServeHTTP(w, reqs[i%len(reqs)])
		if w.status != 200 {
			b.Fatalf("%d for %s", w.status, urls[i%len(urls)])
		}
		bytes += w.n
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	b.ReportMetric(float64(bytes)/float64(b.N), "B/resp")
}

// BenchmarkKlines1000 serves /klines?interval=1m&limit=1000 pages across 30
// days (target ≥ 5,000 req/s on one core: run with -cpu 1).
func BenchmarkKlines1000(b *testing.B) {
	h, m := benchHandler(b)
	var urls []string
	for t := m.StartMs(); t < m.NowMs()-60_000_000; t += 60_000_000 {
		urls = append(urls, fmt.Sprintf("/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1000&startTime=%d", t))
	}
	serveBench(b, h, urls)
}

// BenchmarkKlines1000NoRowCache is BenchmarkKlines1000 with the row cache
// off (binance.klineCacheMB=0): every page builds and formats its bars, as
// a first pass over the history does (per-minute aggregates warm).
func BenchmarkKlines1000NoRowCache(b *testing.B) {
	h, m := newBenchHandler(b, map[string]string{"binance.klineCacheMB": "0"})
	var urls []string
	for t := m.StartMs(); t < m.NowMs()-60_000_000; t += 60_000_000 {
		urls = append(urls, fmt.Sprintf("/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1000&startTime=%d", t))
	}
	serveBench(b, h, urls)
}

// BenchmarkKlines1000FirstPass serves each 1m page of 30 days once from a
// fresh simulator, as the first backfill against it does: every page
// generates the ~17 hours of trades its bars are aggregated from.
func BenchmarkKlines1000FirstPass(b *testing.B) {
	var h http.Handler
	var urls []string
	fresh := func() {
		var m *sim.Market
		h, m = newBenchHandler(b, nil)
		urls = urls[:0]
		for t := m.StartMs(); t < m.NowMs()-60_000_000; t += 60_000_000 {
			urls = append(urls, fmt.Sprintf("/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1000&startTime=%d", t))
		}
	}
	fresh()
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	next := 0
	for i := 0; i < b.N; i++ {
		if next == len(urls) {
			b.StopTimer()
			fresh()
			next = 0
			b.StartTimer()
		}
		clear(w.h)
		w.status = 0
		h.ServeHTTP(w, httptest.NewRequest("GET", urls[next], nil))
		if w.status != 200 {
			b.Fatalf("%d", w.status)
		}
		next++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkAggTrades1000 serves /aggTrades?fromId=…&limit=1000 pages.
func BenchmarkAggTrades1000(b *testing.B) {
	h, m := benchHandler(b)
	sr := m.AllSeries()[0]
	var urls []string
	first := sr.FirstAggID()
	for i := int64(0); i < 2000; i++ {
		urls = append(urls, fmt.Sprintf("/api/v3/aggTrades?symbol=BTCUSDT&limit=1000&fromId=%d", first+i*1000))
	}
	serveBench(b, h, urls)
}

// BenchmarkKlines1000HTTP is BenchmarkKlines1000 over loopback HTTP with a
// keep-alive client (client cost included).
func BenchmarkKlines1000HTTP(b *testing.B) {
	httpBench(b, func(m *sim.Market) []string {
		var urls []string
		for t := m.StartMs(); t < m.NowMs()-60_000_000; t += 60_000_000 {
			urls = append(urls, fmt.Sprintf("/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1000&startTime=%d", t))
		}
		return urls
	})
}

// BenchmarkAggTrades1000HTTP is BenchmarkAggTrades1000 over loopback HTTP.
func BenchmarkAggTrades1000HTTP(b *testing.B) {
	httpBench(b, func(m *sim.Market) []string {
		first := m.AllSeries()[0].FirstAggID()
		var urls []string
		for i := int64(0); i < 2000; i++ {
			urls = append(urls, fmt.Sprintf("/api/v3/aggTrades?symbol=BTCUSDT&limit=1000&fromId=%d", first+i*1000))
		}
		return urls
	})
}

func httpBench(b *testing.B, paths func(*sim.Market) []string) {
	s := simtest.Start(b, simtest.Venues("binance"), simtest.Now(fixedNow), simtest.Frozen(), simtest.History(30*24*time.Hour),
		simtest.Configure(func(c *sim.Config) { c.Limits.Disabled = true }))
	var urls []string
	for _, p := range paths(s.Market("binance")) {
		urls = append(urls, s.REST("binance")+p)
	}
	client := &http.Client{}
	buf := make([]byte, 32<<10)
	fetch := func(u string) {
		resp, err := client.Get(u)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.CopyBuffer(io.Discard, resp.Body, buf)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("%s: %d", u, resp.StatusCode)
		}
	}
	for _, u := range urls {
		fetch(u)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fetch(urls[i%len(urls)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// readMsg reads one message into buf (reused), as transport/ws does.
func readMsg(ctx context.Context, c *websocket.Conn, buf []byte) ([]byte, error) {
	_, r, err := c.Reader(ctx)
	if err != nil {
		return nil, err
	}
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// depthStreamSim starts a simulator whose virtual clock runs 100,000× with
// a 1 ms stream tick: each flush has about 1,000 new diffs per stream.
func depthStreamSim(b *testing.B) *simtest.Sim {
	return simtest.Start(b, simtest.Venues("binance"), simtest.Speed(100000), simtest.History(time.Hour),
		simtest.Configure(func(c *sim.Config) { c.Options = map[string]string{"binance.streamTick": "1ms"} }))
}

// BenchmarkDepthDiffStream reads the diff-depth stream of one connection
// (target ≥ 200,000 msg/s on one core: run with -cpu 1; the client's own
// cost is included).
func BenchmarkDepthDiffStream(b *testing.B) {
	s := depthStreamSim(b)
	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, s.WS("binance")+"/ws/btcusdt@depth@100ms", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 24)
	buf := make([]byte, 0, 4096)
	b.ResetTimer()
	var bytes int64
	for i := 0; i < b.N; i++ {
		buf, err = readMsg(ctx, c, buf)
		if err != nil {
			b.Fatal(err)
		}
		bytes += int64(len(buf))
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
	b.ReportMetric(float64(bytes)/float64(b.N), "B/msg")
}

// BenchmarkDepthDiffStream4Conns reads the same diff-depth stream on four
// connections at once (the server formats each diff once); msg/s counts
// the messages of all four.
func BenchmarkDepthDiffStream4Conns(b *testing.B) {
	s := depthStreamSim(b)
	ctx := context.Background()
	const n = 4
	var wg sync.WaitGroup
	errs := make(chan error, n)
	conns := make([]*websocket.Conn, n)
	for i := range conns {
		c, _, err := websocket.Dial(ctx, s.WS("binance")+"/ws/btcusdt@depth@100ms", nil)
		if err != nil {
			b.Fatal(err)
		}
		defer c.CloseNow()
		c.SetReadLimit(1 << 24)
		conns[i] = c
	}
	b.ResetTimer()
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, 4096)
			var err error
			for j := i; j < b.N; j += n {
				if buf, err = readMsg(ctx, c, buf); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
}
