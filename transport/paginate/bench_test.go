package paginate_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/govalues/decimal"
	"golang.org/x/time/rate"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/transport/paginate"
)

// BenchmarkOHLCPerBar measures the paginator's overhead per bar with an
// in-memory venue (one op = one bar).
func BenchmarkOHLCPerBar(b *testing.B) {
	for _, conc := range []int{1, 4} {
		b.Run("concurrency="+strconv.Itoa(conc), func(b *testing.B) {
			const limit = 1000
			page := make([]domain.OHLCBar, limit)
			fetch := func(ctx context.Context, w domain.Range, n int) ([]domain.OHLCBar, error) {
				bars := slices.Clone(page[:domain.Span1m.Bars(w.Start, w.End)])
				for i := range bars {
					bars[i].OpenTime = w.Start + int64(i)*int64(time.Minute)
				}
				return bars, nil
			}
			start := ts("2020-01-01")
			r := domain.Range{Start: start, End: start + int64(b.N)*int64(time.Minute)}
			b.ReportAllocs()
			b.ResetTimer()
			n := 0
			for _, err := range paginate.OHLC(b.Context(), r, fetch, paginate.OHLCOptions{Span: domain.Span1m, Limit: limit, Concurrency: conc}) {
				if err != nil {
					b.Fatal(err)
				}
				n++
			}
			if n != b.N {
				b.Fatalf("%d bars, want %d", n, b.N)
			}
		})
	}
}

// BenchmarkTradesPerTrade measures the overhead per trade of a cursor drain
// with de-duplication (one op = one trade).
func BenchmarkTradesPerTrade(b *testing.B) {
	const limit = 1000
	base := ts("2024-03-01")
	idStr := make([]string, b.N+1)
	for i := range idStr {
		idStr[i] = strconv.Itoa(i)
	}
	fetch := func(ctx context.Context, from int64) (paginate.TradesPage[int64], error) {
		n := min(int64(limit), int64(b.N)-from+1)
		page := paginate.TradesPage[int64]{Items: make([]domain.Trade, n), Next: from + n, Done: n < limit}
		for i := range page.Items {
			id := from + int64(i)
			page.Items[i] = domain.Trade{ID: idStr[id], Time: base + id*int64(time.Microsecond)}
		}
		return page, nil
	}
	w := domain.Range{Start: base, End: base + int64(b.N+1)*int64(time.Microsecond)}
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for _, err := range paginate.Trades(b.Context(), w, 1, fetch, paginate.TradesOptions{}) {
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	if n != b.N {
		b.Fatalf("%d trades, want %d", n, b.N)
	}
}

// BenchmarkOHLCLoopbackRateLimited runs OHLC against a loopback venue with
// 50 ms latency per request behind a client-side limit of 100 requests/s
// (one op = one window = one request) and reports the request rate achieved
// as a share of the limit. One request at a time cannot exceed 20/s; with
// enough concurrency the limit should be the only bound (≥ 0.9).
func BenchmarkOHLCLoopbackRateLimited(b *testing.B) {
	const (
		latency   = 50 * time.Millisecond
		perSecond = 100
		limit     = 200
	)
	for _, conc := range []int{1, 8} {
		b.Run("concurrency="+strconv.Itoa(conc), func(b *testing.B) {
			var mu sync.Mutex
			var arrivals []time.Time
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				mu.Lock()
				arrivals = append(arrivals, time.Now())
				mu.Unlock()
				q := req.URL.Query()
				start, _ := strconv.ParseInt(q.Get("startTime"), 10, 64)
				end, _ := strconv.ParseInt(q.Get("endTime"), 10, 64)
				select {
				case <-time.After(latency):
				case <-req.Context().Done():
					return
				}
				rows := [][]any{}
				for t := start; t <= end; t += time.Minute.Milliseconds() {
					rows = append(rows, []any{t, "42000.10", "42010.00", "41990.5", "42005.25", "12.5"})
				}
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(rows)
			}))
			defer srv.Close()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc}}
			defer client.CloseIdleConnections()
			lim := rate.NewLimiter(perSecond, 1)
			fetch := func(ctx context.Context, w domain.Range, n int) ([]domain.OHLCBar, error) {
				if err := lim.Wait(ctx); err != nil {
					return nil, err
				}
				u := srv.URL + "/api/v3/klines?startTime=" + strconv.FormatInt(domain.NanosToMillis(w.Start), 10) +
					"&endTime=" + strconv.FormatInt(domain.NanosToMillis(w.End)-1, 10) + "&limit=" + strconv.Itoa(n)
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
				if err != nil {
					return nil, err
				}
				resp, err := client.Do(req)
				if err != nil {
					return nil, err
				}
				defer resp.Body.Close()
				var rows [][]json.RawMessage
				if err := json.NewDecoder(resp.Body).Decode(&rows); err != nil {
					return nil, err
				}
				bars := make([]domain.OHLCBar, len(rows))
				for i, row := range rows {
					var ms int64
					var o, c string
					if err := json.Unmarshal(row[0], &ms); err != nil {
						return nil, err
					}
					_ = json.Unmarshal(row[1], &o)
					_ = json.Unmarshal(row[4], &c)
					bars[i].OpenTime = domain.MillisToNanos(ms)
					if bars[i].Open, err = decimal.Parse(o); err != nil {
						return nil, err
					}
					if bars[i].Close, err = decimal.Parse(c); err != nil {
						return nil, err
					}
				}
				return bars, nil
			}
			start := ts("2024-01-01")
			r := domain.Range{Start: start, End: start + int64(b.N)*limit*int64(time.Minute)}
			b.ResetTimer()
			n := 0
			for _, err := range paginate.OHLC(b.Context(), r, fetch, paginate.OHLCOptions{Span: domain.Span1m, Limit: limit, Concurrency: conc}) {
				if err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.StopTimer()
			if n != b.N*limit || len(arrivals) != b.N {
				b.Fatalf("%d bars in %d requests, want %d in %d", n, len(arrivals), b.N*limit, b.N)
			}
			if b.N >= 10 {
				achieved := float64(len(arrivals)-1) / arrivals[len(arrivals)-1].Sub(arrivals[0]).Seconds()
				b.ReportMetric(achieved, "req/s")
				b.ReportMetric(achieved/perSecond, "achieved/limit")
			}
		})
	}
}
