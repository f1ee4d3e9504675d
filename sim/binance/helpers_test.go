package binance_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pype-go/pype/sim/simtest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var fixedNow = time.Date(2024, 3, 15, 12, 30, 27, 345_000_000, time.UTC)

// frozen starts a reproducible Binance simulator.
func frozen(t *testing.T, opts ...simtest.Option) *simtest.Sim {
	return simtest.Start(t, append([]simtest.Option{simtest.Venues("binance"), simtest.Now(fixedNow), simtest.Frozen()}, opts...)...)
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

func getJSON(t *testing.T, url string, v any) response {
	t.Helper()
	r := get(t, url)
	if r.status != 200 {
		t.Fatalf("GET %s: %d %s", url, r.status, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("GET %s: %v in %s", url, err, r.body)
	}
	return r
}

func decode(t *testing.T, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	return v
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixtureLines returns the JSONL lines of a fixture that contain substr.
func fixtureLines(t *testing.T, name, substr string) [][]byte {
	t.Helper()
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(fixture(t, name)))
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		if strings.Contains(sc.Text(), substr) {
			out = append(out, append([]byte(nil), sc.Bytes()...))
		}
	}
	return out
}

var decimalRE = regexp.MustCompile(`^-?[0-9]+\.([0-9]+)$`)

func jsonType(v any) string {
	switch x := v.(type) {
	case string:
		if m := decimalRE.FindStringSubmatch(x); m != nil {
			return "decimal string/" + string(rune('0'+len(m[1])))
		}
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "bool"
	case nil:
		return "null"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "?"
}

// sameShape checks that got has want's shape: the same keys, the same JSON
// types, decimal strings with the same number of decimals. Keys listed in
// ignore (by name, anywhere) are not compared.
func sameShape(t *testing.T, path string, got, want any, ignore ...string) {
	t.Helper()
	skip := map[string]bool{}
	for _, k := range ignore {
		skip[k] = true
	}
	var walk func(path string, got, want any)
	walk = func(path string, got, want any) {
		gt, wt := jsonType(got), jsonType(want)
		if gt != wt {
			// Integers printed as "0" (e.g. kline "ignore") are fine both ways.
			t.Errorf("%s: type %s (%v), want %s (%v)", path, gt, got, wt, want)
			return
		}
		switch w := want.(type) {
		case map[string]any:
			g := got.(map[string]any)
			var gk, wk []string
			for k := range g {
				if !skip[k] {
					gk = append(gk, k)
				}
			}
			for k := range w {
				if !skip[k] {
					wk = append(wk, k)
				}
			}
			sort.Strings(gk)
			sort.Strings(wk)
			if strings.Join(gk, ",") != strings.Join(wk, ",") {
				t.Errorf("%s: keys %v, want %v", path, gk, wk)
				return
			}
			for _, k := range wk {
				walk(path+"."+k, g[k], w[k])
			}
		case []any:
			g := got.([]any)
			if len(w) == 0 || len(g) == 0 {
				return
			}
			// Arrays of filters: match elements by filterType.
			if m, ok := w[0].(map[string]any); ok && m["filterType"] != nil {
				byType := map[any]any{}
				for _, e := range w {
					byType[e.(map[string]any)["filterType"]] = e
				}
				for _, e := range g {
					ft := e.(map[string]any)["filterType"]
					if byType[ft] == nil {
						t.Errorf("%s: filter %v not in the recorded payload", path, ft)
						continue
					}
					walk(path+"["+ft.(string)+"]", e, byType[ft])
				}
				return
			}
			// Positional arrays (klines rows, book levels) compare per index
			// when lengths match, else every element against want[0].
			if len(g) == len(w) && jsonType(w[0]) != "array" && jsonType(w[0]) != "object" {
				for i := range w {
					walk(path+"["+itoa(i)+"]", g[i], w[i])
				}
				return
			}
			for i := range g {
				walk(path+"["+itoa(i)+"]", g[i], w[0])
			}
		}
	}
	walk(path, got, want)
}

func itoa(i int) string { return strconv.Itoa(i) }

// fakeClock is a settable wall clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// wsDial connects to a stream URL.
func wsDial(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	c.SetReadLimit(1 << 24)
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

func wsRead(t *testing.T, c *websocket.Conn) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("ws read: %v", err)
	}
	return b
}

func wsSend(t *testing.T, c *websocket.Conn, s string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		t.Fatal(err)
	}
}
