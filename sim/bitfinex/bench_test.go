package bitfinex_test

import (
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/pype-go/pype/sim/simtest"
)

// BenchmarkRESTTradesPage serves full 10000-row trades pages (the
// simulator's hot REST path) over loopback.
func BenchmarkRESTTradesPage(b *testing.B) {
	s := simtest.Start(b, simtest.Venues("bitfinex"), simtest.Seed(3), simtest.Now(fixedNow), simtest.Frozen(), simtest.WeightLimit(1<<30))
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	start := fixedNow.UnixMilli() - 6*3600*1000
	url := fmt.Sprintf("%s/v2/trades/tBTCUSD/hist?start=%d&limit=10000&sort=1", s.REST("bitfinex"), start)
	var n int64
	for b.Loop() {
		resp, err := c.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		m, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatal(resp.Status)
		}
		n += m
	}
	b.SetBytes(n / int64(b.N))
	b.ReportMetric(float64(10000*b.N)/b.Elapsed().Seconds(), "trades/s")
}
