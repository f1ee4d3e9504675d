package ws_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/coder/websocket"

	"github.com/pype-go/pype/transport/ws"
)

// BenchmarkStreamRaw measures frames/s through StreamRaw on loopback with
// Binance-trade-sized text frames.
func BenchmarkStreamRaw(b *testing.B) {
	msg := []byte(`{"e":"trade","E":1672515782136,"s":"BTCUSDT","t":12345,"p":"97000.10000000","q":"0.00200000","T":1672515782136,"m":true,"M":true}`)
	n := b.N
	srv := newServer(b, func(_ int, w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for i := 0; i < n; i++ {
			if c.Write(context.Background(), websocket.MessageText, msg) != nil {
				return
			}
		}
		drain(c)
	})
	c, err := ws.New(baseConfig(srv.wsURL()))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	b.ResetTimer()
	got := 0
	for f, err := range c.StreamRaw(context.Background()) {
		if err != nil {
			b.Fatal(err)
		}
		if len(f.Data) != len(msg) {
			b.Fatalf("frame of %d bytes", len(f.Data))
		}
		if got++; got == n {
			break
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "frames/s")
}

// BenchmarkBaselineCoderRead is the bound for BenchmarkStreamRaw: the same
// server read with a bare coder/websocket Conn.Read loop.
func BenchmarkBaselineCoderRead(b *testing.B) {
	msg := []byte(`{"e":"trade","E":1672515782136,"s":"BTCUSDT","t":12345,"p":"97000.10000000","q":"0.00200000","T":1672515782136,"m":true,"M":true}`)
	n := b.N
	srv := newServer(b, func(_ int, w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for i := 0; i < n; i++ {
			if c.Write(context.Background(), websocket.MessageText, msg) != nil {
				return
			}
		}
		drain(c)
	})
	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, srv.wsURL(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.CloseNow()
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < n; i++ {
		if _, d, err := c.Read(ctx); err != nil || len(d) != len(msg) {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "frames/s")
}
