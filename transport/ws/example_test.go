package ws_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/pype-go/pype/transport/ws"
)

// fakeVenue stands in for a Binance-like venue on loopback: it acknowledges
// the SUBSCRIBE and streams two trades.
func fakeVenue() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := context.Background()
		if _, _, err := c.Read(ctx); err != nil { // the SUBSCRIBE
			return
		}
		for _, m := range []string{
			`{"result":null,"id":1}`,
			`{"e":"trade","s":"BTCUSDT","t":1,"p":"97000.10","q":"0.002"}`,
			`{"e":"trade","s":"BTCUSDT","t":2,"p":"97000.20","q":"0.150"}`,
		} {
			_ = c.Write(ctx, websocket.MessageText, []byte(m))
		}
		for {
			if _, _, err := c.Read(ctx); err != nil {
				return
			}
		}
	}))
}

func ExampleClient_StreamRaw() {
	venue := fakeVenue()
	defer venue.Close()

	c, err := ws.New(ws.Config{
		Name: "binance-spot",
		URL:  "ws" + strings.TrimPrefix(venue.URL, "http") + "/ws",
		// Re-sent on every (re)connection.
		OnConnect: func(ctx context.Context, s *ws.Session) error {
			return s.SendJSON(ctx, map[string]any{"method": "SUBSCRIBE", "params": []string{"btcusdt@trade"}, "id": 1})
		},
		// Subscription acks are housekeeping, not data.
		IsControl:      func(b []byte) bool { return bytes.HasPrefix(b, []byte(`{"result"`)) },
		SilenceTimeout: time.Minute,                   // Binance pings every 20 s
		MaxLifetime:    23*time.Hour + 30*time.Minute, // Binance cuts at 24 h
		OnEvent: func(e ws.Event) {
			if e.Kind == ws.Connected {
				fmt.Println("connected, gen", e.Gen)
			}
		},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	n := 0
	for f, err := range c.StreamRaw(context.Background()) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("gen %d: %s\n", f.Gen, f.Data)
		if n++; n == 2 {
			break // stops the client; all its goroutines have exited
		}
	}
	// Output:
	// connected, gen 1
	// gen 1: {"e":"trade","s":"BTCUSDT","t":1,"p":"97000.10","q":"0.002"}
	// gen 1: {"e":"trade","s":"BTCUSDT","t":2,"p":"97000.20","q":"0.150"}
}

type trade struct {
	ID    int64  `json:"t"`
	Price string `json:"p"`
	Qty   string `json:"q"`
}

func ExampleStream() {
	venue := fakeVenue()
	defer venue.Close()

	c, err := ws.New(ws.Config{
		URL: "ws" + strings.TrimPrefix(venue.URL, "http") + "/ws",
		OnConnect: func(ctx context.Context, s *ws.Session) error {
			return s.Send(ctx, []byte(`{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1}`))
		},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	parse := func(f ws.Frame) ([]trade, error) {
		if bytes.HasPrefix(f.Data, []byte(`{"result"`)) {
			return nil, nil // ack: no records
		}
		var t trade
		err := json.Unmarshal(f.Data, &t)
		return []trade{t}, err
	}
	for t, err := range ws.Stream(ctx, c, parse) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("trade %d: %s @ %s\n", t.ID, t.Qty, t.Price)
		if t.ID == 2 {
			cancel() // stopping by context works as well as break
		}
	}
	// Output:
	// trade 1: 0.002 @ 97000.10
	// trade 2: 0.150 @ 97000.20
}
