package bybit_test

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pype-go/pype/sim"
	"github.com/pype-go/pype/sim/bybit"
)

func benchHandler(b *testing.B) *sim.Env {
	env, err := sim.NewEnv(b.Context(), bybit.New(), sim.Config{Now: fixedNow, Frozen: true, History: 48 * time.Hour,
		Limits: sim.LimiterConfig{Disabled: true}})
	if err != nil {
		b.Fatal(err)
	}
	return env
}

// BenchmarkREST measures full-page answers of the market endpoints.
func BenchmarkREST(b *testing.B) {
	env := benchHandler(b)
	h, err := bybit.New().Handler(env)
	if err != nil {
		b.Fatal(err)
	}
	start := fixedNow.Add(-24 * time.Hour).UnixMilli()
	for _, tc := range []struct{ name, url string }{
		{"kline1000", fmt.Sprintf("/v5/market/kline?category=spot&symbol=BTCUSDT&interval=1&start=%d&end=%d&limit=1000", start, start+999*60000)},
		{"recentTrade1000", "/v5/market/recent-trade?category=linear&symbol=BTCUSDT&limit=1000"},
		{"orderbook200", "/v5/market/orderbook?category=spot&symbol=BTCUSDT&limit=200"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", tc.url, nil))
			b.SetBytes(int64(rec.Body.Len()))
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", tc.url, nil))
				if rec.Code != 200 {
					b.Fatal(rec.Code)
				}
			}
		})
	}
}
