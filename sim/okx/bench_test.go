package okx_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pype-go/pype/sim"
	"github.com/pype-go/pype/sim/okx"
)

func benchEnv(b *testing.B) (*sim.Env, http.Handler) {
	b.Helper()
	env, err := sim.NewEnv(context.Background(), okx.New(), sim.Config{Now: fixedNow, Frozen: true, History: 2 * 24 * time.Hour,
		Limits: sim.LimiterConfig{Disabled: true}})
	if err != nil {
		b.Fatal(err)
	}
	h, err := okx.New().Handler(env)
	if err != nil {
		b.Fatal(err)
	}
	return env, h
}

func benchGet(b *testing.B, path string) {
	_, h := benchEnv(b)
	req := httptest.NewRequest(http.MethodGet, path, nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
		b.SetBytes(int64(w.Body.Len()))
	}
}

func BenchmarkHistoryCandles(b *testing.B) {
	benchGet(b, "/api/v5/market/history-candles?instId=BTC-USDT&bar=1m&limit=100&after=1710500000000")
}

func BenchmarkHistoryTrades(b *testing.B) {
	benchGet(b, "/api/v5/market/history-trades?instId=BTC-USDT&type=2&after=1710500000000")
}

func BenchmarkBooks400(b *testing.B) {
	benchGet(b, "/api/v5/market/books?instId=BTC-USDT&sz=400")
}

// BenchmarkChecksum is the cost of one books update's checksum.
func BenchmarkChecksum(b *testing.B) {
	env, _ := benchEnv(b)
	sr := env.Market.AllSeries()[0]
	st := sr.Book(sim.BookStep(env.Market.NowMs()), 25)
	b.ReportAllocs()
	for b.Loop() {
		okx.Checksum(sr, st)
	}
}
