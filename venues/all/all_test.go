package all

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.uber.org/goleak"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/venues"
	"github.com/pype-go/pype/venues/binance"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRegistryHasBinance(t *testing.T) {
	r := Registry()
	info, err := r.Info("binance")
	if err != nil {
		t.Fatal(err)
	}
	if info.RESTURL != binance.DefaultRESTURL || info.WSURL != binance.DefaultWSURL {
		t.Fatalf("urls %q %q", info.RESTURL, info.WSURL)
	}
	if c, ok := info.Capability(domain.OHLC, domain.REST, domain.Backfill); !ok || c.MaxPerRequest != 1000 || !c.SupportsSpan(domain.Span1M) {
		t.Fatalf("ohlc capability %+v", c)
	}
	// Two calls give independent registries.
	if Registry() == r {
		t.Fatal("shared registry")
	}
}

func TestRegistryEnvOverride(t *testing.T) {
	var hits int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		switch r.URL.Path {
		case "/api/v3/time":
			fmt.Fprint(w, `{"serverTime":1700000000000}`)
		default:
			w.WriteHeader(400)
			fmt.Fprint(w, `{"code":-1100,"msg":"test"}`)
		}
	}))
	defer srv.Close()
	r := Registry()
	r.Getenv = func(k string) string {
		if k == "PYPE_BINANCE_REST_URL" {
			return srv.URL
		}
		return ""
	}
	v, err := r.Open(context.Background(), "binance", venues.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if v.Info().RESTURL != srv.URL || hits == 0 {
		t.Fatalf("env override not used: %q, %d requests", v.Info().RESTURL, hits)
	}
	if _, ok := v.(venues.CandleBackfiller); !ok {
		t.Fatal("binance adapter is not a CandleBackfiller")
	}
	for _, ok := range []bool{
		is[venues.TradeBackfiller](v), is[venues.BookSnapshotter](v), is[venues.MarketLister](v),
		is[venues.TradeStreamer](v), is[venues.CandleStreamer](v), is[venues.BookStreamer](v),
	} {
		if !ok {
			t.Fatal("binance adapter misses an interface")
		}
	}
}

func is[T any](v any) bool { _, ok := v.(T); return ok }
