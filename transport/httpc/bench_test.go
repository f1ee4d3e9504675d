package httpc_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/pype-go/pype/transport/httpc"
	"github.com/pype-go/pype/transport/ratelimit"
)

// BenchmarkGet is one GET over loopback with a limiter and a usage header,
// through the pooled default transport (mostly net/http's own cost).
func BenchmarkGet(b *testing.B) {
	body := []byte(`[[1704067200000,"42283.58","42554.57","42261.02","42475.23","1271.68"]]`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-MBX-USED-WEIGHT-1M", "2")
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	lim, _ := ratelimit.New([]ratelimit.Rule{{Name: "REQUEST_WEIGHT", Limit: 1 << 50, Interval: time.Minute}})
	c, _ := httpc.New(srv.URL, httpc.WithLimiter(lim), httpc.WithUsageHeader("X-MBX-USED-WEIGHT-1M", "REQUEST_WEIGHT"))
	defer c.Close()
	q := url.Values{"symbol": {"BTCUSDT"}, "interval": {"1m"}}
	cost := ratelimit.Cost{{Rule: "REQUEST_WEIGHT", N: 2}}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Get(ctx, "/api/v3/klines", q, cost); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
