package bybit_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pype-go/pype/sim/simtest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var fixedNow = time.Date(2024, 3, 15, 12, 30, 27, 345_000_000, time.UTC)

// frozen starts a reproducible Bybit simulator.
func frozen(t *testing.T, opts ...simtest.Option) *simtest.Sim {
	return simtest.Start(t, append([]simtest.Option{simtest.Venues("bybit"), simtest.Now(fixedNow), simtest.Frozen()}, opts...)...)
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func get(t *testing.T, url string) response {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: body: %v", url, err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

// envelope is Bybit's response wrapper.
type envelope struct {
	RetCode    int             `json:"retCode"`
	RetMsg     string          `json:"retMsg"`
	Result     json.RawMessage `json:"result"`
	RetExtInfo json.RawMessage `json:"retExtInfo"`
	Time       int64           `json:"time"`
}

// call GETs a market endpoint and decodes the envelope (HTTP 200 always).
func call(t *testing.T, url string) envelope {
	t.Helper()
	r := get(t, url)
	if r.status != 200 {
		t.Fatalf("GET %s: HTTP %d %s", url, r.status, r.body)
	}
	var e envelope
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("GET %s: %v in %s", url, err, r.body)
	}
	return e
}

// ok calls url, requires retCode 0 and decodes the result into v.
func ok(t *testing.T, url string, v any) envelope {
	t.Helper()
	e := call(t, url)
	if e.RetCode != 0 || e.RetMsg != "OK" {
		t.Fatalf("GET %s: retCode %d %q", url, e.RetCode, e.RetMsg)
	}
	if v != nil {
		if err := json.Unmarshal(e.Result, v); err != nil {
			t.Fatalf("GET %s: result: %v", url, err)
		}
	}
	return e
}

// wsClient is a raw WebSocket test client.
type wsClient struct {
	t *testing.T
	c *websocket.Conn
}

func dial(t *testing.T, url string) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	c.SetReadLimit(16 << 20)
	t.Cleanup(func() { _ = c.CloseNow() })
	return &wsClient{t: t, c: c}
}

func (w *wsClient) send(msg string) {
	w.t.Helper()
	if err := w.c.Write(w.t.Context(), websocket.MessageText, []byte(msg)); err != nil {
		w.t.Fatal(err)
	}
}

// read returns the next message as a generic object.
func (w *wsClient) read() map[string]any {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(w.t.Context(), 10*time.Second)
	defer cancel()
	_, b, err := w.c.Read(ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		w.t.Fatalf("%v in %s", err, b)
	}
	return m
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
