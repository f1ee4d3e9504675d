package okx_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/pype-go/pype/sim"
	"github.com/pype-go/pype/sim/simtest"
)

var fixedNow = time.Date(2024, 3, 15, 12, 30, 27, 345_000_000, time.UTC)

// frozen starts a reproducible OKX simulator.
func frozen(t testing.TB, opts ...simtest.Option) *simtest.Sim {
	t.Helper()
	return simtest.Start(t, append([]simtest.Option{simtest.Venues("okx"), simtest.Now(fixedNow), simtest.Frozen()}, opts...)...)
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func get(t testing.TB, url string) response {
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

// envelope is OKX's answer envelope.
type envelope struct {
	Code string          `json:"code"`
	Msg  string          `json:"msg"`
	Data json.RawMessage `json:"data"`
}

// data GETs url, checks code "0" and decodes data into v.
func data(t testing.TB, url string, v any) {
	t.Helper()
	r := get(t, url)
	var e envelope
	if r.status != 200 || json.Unmarshal(r.body, &e) != nil || e.Code != "0" {
		t.Fatalf("GET %s: %d %s", url, r.status, r.body)
	}
	if err := json.Unmarshal(e.Data, v); err != nil {
		t.Fatalf("GET %s: %v in %s", url, err, e.Data)
	}
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decode(t testing.TB, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	return v
}

func jsonType(v any) string {
	switch v.(type) {
	case string:
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

// sameShape checks that got has the keys and JSON types of want, to the
// first element of every array (extra keys in got are allowed when listed).
func sameShape(t testing.TB, where string, got, want any, extra ...string) {
	t.Helper()
	if jsonType(got) != jsonType(want) {
		t.Errorf("%s: %s, recorded %s", where, jsonType(got), jsonType(want))
		return
	}
	switch w := want.(type) {
	case map[string]any:
		g := got.(map[string]any)
		var keys []string
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			gv, ok := g[k]
			if !ok {
				t.Errorf("%s: key %q missing", where, k)
				continue
			}
			sameShape(t, where+"."+k, gv, w[k], extra...)
		}
		for k := range g {
			if _, ok := w[k]; !ok && !contains(extra, k) {
				t.Errorf("%s: extra key %q", where, k)
			}
		}
	case []any:
		g := got.([]any)
		if len(w) > 0 && len(g) > 0 {
			sameShape(t, where+"[0]", g[0], w[0], extra...)
		}
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func simFaultsSkew(d time.Duration) sim.Faults { return sim.Faults{ClockSkew: d} }
