package simtest_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/pype-go/pype/sim/simtest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStartServesBinance(t *testing.T) {
	s := simtest.Start(t, simtest.Venues("binance"))
	resp, err := http.Get(s.REST("binance") + "/api/v3/ping")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != "{}" {
		t.Fatalf("ping: %d %s", resp.StatusCode, b)
	}
	if !strings.HasPrefix(s.WS("binance"), "ws://127.0.0.1:") {
		t.Fatalf("ws url %s", s.WS("binance"))
	}
	if s.Stats("binance").Endpoints["/api/v3/ping"] != 1 {
		t.Fatalf("stats: %+v", s.Stats("binance"))
	}
}

func ExampleStart() {
	// In a test: s := simtest.Start(t, simtest.Venues("binance"))
	// then point a Binance client at s.REST("binance") and s.WS("binance"),
	// and compare what it collected with s.Truth("binance").
}
