package binance

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestBatchWriterFramesInteroperate writes text frames of every length
// class (7-, 16- and 64-bit lengths) through the batch writer, gathered
// and direct, interleaved with the library's own messages and pings, and
// reads them back with the websocket client.
func TestBatchWriterFramesInteroperate(t *testing.T) {
	sizes := []int{0, 1, 125, 126, 127, 65535, 65536, 200_000, 3}
	msg := func(i, n int) []byte { return bytes.Repeat([]byte{byte('a' + i)}, n) }
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		bw := &batchWriter{}
		c, err := websocket.Accept(&hijackWriter{ResponseWriter: w, bw: bw}, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.CloseNow()
		ctx := context.Background()
		go func() { _, _, _ = c.Read(ctx) }() // answer the client's pings
		if err := c.Write(ctx, websocket.MessageText, []byte("hello")); err != nil {
			t.Error(err)
		}
		bw.begin()
		pinged := make(chan error, 1)
		for i, n := range sizes {
			if err := bw.writeText(msg(i, n)); err != nil {
				t.Error(err)
			}
			if i == 4 {
				// A control frame from another goroutine amid gathered
				// frames (as the ping loop does).
				go func() { pinged <- c.Ping(ctx) }()
				time.Sleep(10 * time.Millisecond) // let it reach the writer (no signal to wait for)
			}
		}
		if err := bw.end(); err != nil {
			t.Error(err)
		}
		if err := <-pinged; err != nil {
			t.Error(err)
		}
		if err := bw.writeText([]byte("direct")); err != nil {
			t.Error(err)
		}
		if err := c.Write(ctx, websocket.MessageText, []byte(strings.Repeat("z", 10_000))); err != nil {
			t.Error(err)
		}
		_ = c.Close(websocket.StatusNormalClosure, "")
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	want := [][]byte{[]byte("hello")}
	for i, n := range sizes {
		want = append(want, msg(i, n))
	}
	want = append(want, []byte("direct"), []byte(strings.Repeat("z", 10_000)))
	for i, w := range want {
		typ, got, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if typ != websocket.MessageText || !bytes.Equal(got, w) {
			t.Fatalf("message %d: %v %d bytes, want %d", i, typ, len(got), len(w))
		}
	}
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("after the messages: %v", err)
	}
	<-done
}
