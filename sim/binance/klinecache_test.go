package binance_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/pype-go/pype/sim"
	"github.com/pype-go/pype/sim/binance"
)

// klineHandler returns a Binance handler over a running market on clk
// with the given row cache size (MiB, "0" = off).
func klineHandler(t *testing.T, clk sim.Clock, cacheMB string) http.Handler {
	t.Helper()
	env, err := sim.NewEnv(context.Background(), binance.New(), sim.Config{Seed: 3, Clock: clk, History: 4 * 24 * time.Hour,
		Limits: sim.LimiterConfig{Disabled: true}, Options: map[string]string{"binance.klineCacheMB": cacheMB}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := binance.New().Handler(env)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func serve(h http.Handler, url string) (int, []byte) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", url, nil))
	return rec.Code, rec.Body.Bytes()
}

// TestKlinesRowCacheMatchesDirect checks that pages served from the row
// cache (large, and so small that it keeps evicting) are byte-identical to
// pages built directly, for every interval, forward and latest queries,
// chunk edges, bars before the history start and bars still open, while
// the virtual clock moves (chunks become closed and cacheable).
func TestKlinesRowCacheMatchesDirect(t *testing.T) {
	t0 := time.Date(2024, 3, 15, 12, 30, 27, 345_000_000, time.UTC)
	clk := &fakeClock{t: t0}
	direct := klineHandler(t, clk, "0")
	cached := klineHandler(t, clk, "64")
	tiny := klineHandler(t, clk, "1")
	start := t0.Add(-4 * 24 * time.Hour).Truncate(time.Hour).UnixMilli()
	ivs := []string{"1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M"}
	for round := 0; round < 3; round++ {
		now := clk.Now().UnixMilli()
		var urls []string
		for _, iv := range ivs {
			for _, q := range []string{"", "&limit=1000", "&startTime=0&limit=1000", fmt.Sprintf("&endTime=%d&limit=700", now-7_777_777),
				fmt.Sprintf("&startTime=%d&limit=1000", start-12345), fmt.Sprintf("&startTime=%d&endTime=%d&limit=77", start+3*3600_000+17, now-86400_000),
				fmt.Sprintf("&startTime=%d&limit=1000", now-3_600_000), fmt.Sprintf("&endTime=%d&limit=1000", start),
				fmt.Sprintf("&startTime=%d", now+1), "&startTime=9223372036854775807", "&endTime=9223372036854775807&limit=5"} {
				urls = append(urls, "/api/v3/klines?symbol=ETHBTC&interval="+iv+q)
			}
		}
		for i := int64(0); i < 30; i++ {
			urls = append(urls, fmt.Sprintf("/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1000&startTime=%d", start+i*3*3600_000+i*60_013))
		}
		for _, u := range urls {
			wc, want := serve(direct, u)
			for name, h := range map[string]http.Handler{"cached": cached, "tiny": tiny} {
				// Twice: a miss that fills the cache, then a hit.
				for k := 0; k < 2; k++ {
					if c, got := serve(h, u); c != wc || !bytes.Equal(got, want) {
						t.Fatalf("round %d %s %s: %d %d bytes, direct %d %d bytes", round, name, u, c, len(got), wc, len(want))
					}
				}
			}
		}
		clk.Advance(97 * time.Minute)
	}
}

// TestKlines1sLatestHoldsWholeLastBar pins the fix that made the last 1s
// bar of an endTime query whole (up to now), as for every other interval.
func TestKlines1sLatestHoldsWholeLastBar(t *testing.T) {
	s := frozen(t)
	base := s.REST("binance") + "/api/v3/klines?symbol=BTCUSDT&interval=1s&limit=1000"
	end := fixedNow.UnixMilli() - 7_777_777
	last := klines(t, fmt.Sprintf("%s&endTime=%d", base, end))
	sec := end / 1000 * 1000
	whole := klines(t, fmt.Sprintf("%s&startTime=%d&endTime=%d", base, sec, sec))
	if len(last) == 0 || len(whole) == 0 {
		t.Fatal("no bars")
	}
	a, b := last[len(last)-1], whole[len(whole)-1]
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("last bar by endTime %v, by range %v", a, b)
	}
}

// TestKlinesRowCacheConcurrent pages through klines from several
// goroutines at once with a cache small enough to evict chunks while
// others build and read them (run with -race).
func TestKlinesRowCacheConcurrent(t *testing.T) {
	clk := &fakeClock{t: time.Date(2024, 3, 15, 12, 30, 27, 0, time.UTC)}
	direct := klineHandler(t, clk, "0")
	tiny := klineHandler(t, clk, "1")
	start := clk.Now().Add(-4 * 24 * time.Hour).Truncate(time.Hour).UnixMilli()
	var urls []string
	want := map[string][]byte{}
	for i := int64(0); i < 24; i++ {
		for _, iv := range []string{"1m", "5m", "1h"} {
			u := fmt.Sprintf("/api/v3/klines?symbol=BTCUSDT&interval=%s&limit=1000&startTime=%d", iv, start+i*4*3600_000)
			urls = append(urls, u)
			_, want[u] = serve(direct, u)
		}
	}
	var wg sync.WaitGroup
	for g := 0; g < 6; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range urls {
				u := urls[(k*(g+1)+g)%len(urls)]
				if c, got := serve(tiny, u); c != 200 || !bytes.Equal(got, want[u]) {
					t.Errorf("goroutine %d %s: %d, %d bytes, want %d", g, u, c, len(got), len(want[u]))
					return
				}
			}
		}()
	}
	wg.Wait()
}
