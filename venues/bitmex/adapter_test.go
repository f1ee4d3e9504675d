package bitmex

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/transport/ratelimit/ratelimittest"
	"github.com/pype-go/pype/venues"
)

func TestOpenConfig(t *testing.T) {
	ctx := t.Context()
	for _, c := range []struct {
		cfg  venues.Config
		opts []Option
		want string
	}{
		{venues.Config{RESTURL: "ftp://x"}, nil, "invalid base URL"},
		{venues.Config{WSURL: "://"}, nil, "invalid base URL"},
		{venues.Config{Concurrency: -1}, nil, "concurrency"},
		{venues.Config{WeightLimit: -1}, nil, "request limit"},
		{venues.Config{}, []Option{WithPingInterval(0)}, "ping interval"},
	} {
		_, err := Open(ctx, c.cfg, append(c.opts, WithoutStartupInfo())...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v", c.cfg, err)
		}
	}
	a, err := Open(ctx, venues.Config{RESTURL: "http://127.0.0.1:1", WSURL: "ws://127.0.0.1:1/"}, WithoutStartupInfo())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if i := a.Info(); i.RESTURL != "http://127.0.0.1:1/api/v1" || i.WSURL != "ws://127.0.0.1:1/realtime" {
		t.Fatalf("urls %q %q", i.RESTURL, i.WSURL)
	}
	a2, err := Open(ctx, venues.Config{}, WithoutStartupInfo())
	if err != nil {
		t.Fatal(err)
	}
	defer a2.Close()
	if i := a2.Info(); i.RESTURL != DefaultRESTURL || i.WSURL != DefaultWSURL+"/realtime" {
		t.Fatalf("default urls %q %q", i.RESTURL, i.WSURL)
	}
}

func TestInfoCapabilities(t *testing.T) {
	i := Info()
	c, ok := i.Capability(domain.OHLC, domain.REST, domain.Backfill)
	if !ok || c.MaxPerRequest != 1000 || len(c.Spans) != 4 || !c.SupportsSpan(domain.Span5m) || c.SupportsSpan(domain.Span15m) {
		t.Fatalf("ohlc %+v", c)
	}
	for _, k := range []struct {
		dt domain.DataType
		tr domain.Transport
		m  domain.Mode
	}{
		{domain.Trades, domain.REST, domain.Backfill}, {domain.Book, domain.REST, domain.Snapshot},
		{domain.Trades, domain.WebSocket, domain.Stream}, {domain.OHLC, domain.WebSocket, domain.Stream}, {domain.Book, domain.WebSocket, domain.Stream},
	} {
		c, ok := i.Capability(k.dt, k.tr, k.m)
		if !ok || len(c.Markets) == 0 || c.Notes == "" {
			t.Errorf("%v %v %v: %+v", k.dt, k.tr, k.m, c)
		}
		for _, m := range c.Markets {
			if m == domain.Spot {
				t.Errorf("%v claims spot", k.dt)
			}
		}
	}
}

// TestUsageHeadersFeedTheLimiter: limit − remaining is the venue's count;
// when it exceeds the local one, the limiter takes it.
func TestUsageHeadersFeedTheLimiter(t *testing.T) {
	clk := ratelimittest.NewClock(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	a, err := Open(t.Context(), venues.Config{Logger: discard()}, WithoutStartupInfo(), WithLimiterClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	h := http.Header{}
	h.Set("x-ratelimit-limit", "30")
	h.Set("x-ratelimit-remaining", "4")
	h.Set("x-ratelimit-reset", "1704067260")
	a.usage(h, func(rule string, used int) { a.limiter.Observe(rule, used, clk.Now()) })
	st := a.Limiter().Stats()
	if len(st.Rules) != 1 || st.Rules[0].Used != 26 || st.Rules[0].Limit != 30 {
		t.Fatalf("%+v", st.Rules)
	}
	// An announced limit of 120 (an authenticated client) is adopted.
	h.Set("x-ratelimit-limit", "120")
	a.usage(h, func(string, int) {})
	if r := a.RateLimits(); r[0].Limit != 120 {
		t.Fatalf("%+v", r)
	}
	// Garbage headers are ignored.
	h.Set("x-ratelimit-remaining", "many")
	a.usage(h, func(string, int) { t.Fatal("observed garbage") })
}

// fakeVenue serves the recorded instrument list and a realtime endpoint
// whose behaviour the test chooses.
func fakeVenue(t *testing.T, rest http.HandlerFunc, realtime func(c *websocket.Conn)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/realtime" && realtime != nil:
			c, err := websocket.Accept(w, r, nil)
			if err != nil {
				return
			}
			defer c.CloseNow()
			realtime(c)
		case rest != nil:
			rest(w, r)
		case r.URL.Path == "/api/v1/":
			fmt.Fprintf(w, `{"name":"BitMEX API","version":"1.2.0","timestamp":%d}`, time.Date(2021, 7, 22, 22, 36, 0, 0, time.UTC).UnixMilli())
		case r.URL.Path == "/api/v1/instrument/active":
			w.Write(readFixture(t, "rest_instrument_active_5of34_cryptofeed_2021-07-22.json"))
		default:
			w.WriteHeader(404)
			fmt.Fprint(w, `{"error":{"message":"Not Found","name":"HTTPError"}}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestInstrumentListIsRequired(t *testing.T) {
	srv := fakeVenue(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(503)
		fmt.Fprint(w, `{"error":{"message":"The system is currently overloaded. Please try again later.","name":"HTTPError"}}`)
	}, nil)
	a, err := Open(t.Context(), venues.Config{RESTURL: srv.URL, Logger: discard()}, WithRetries(2, time.Millisecond))
	if err != nil {
		t.Fatal(err) // an unreachable venue is a warning at start-up
	}
	defer a.Close()
	var got int
	var last error
	for _, err := range a.BackfillTrades(t.Context(), venues.TradeRequest{Symbol: xbtusd, Range: domain.Range{Start: 0, End: 1e18}}) {
		if err == nil {
			got++
		}
		last = err
	}
	if got != 0 || !errors.Is(last, ErrVenueUnavailable) || !strings.Contains(last.Error(), "instrument list") {
		t.Fatalf("%d trades, %v", got, last)
	}
}

// TestStreamSubscriptionRefused: a subscription BitMEX refuses ends the
// stream with a typed error instead of waiting for data forever.
func TestStreamSubscriptionRefused(t *testing.T) {
	srv := fakeVenue(t, nil, func(c *websocket.Conn) {
		ctx := context.Background()
		c.Write(ctx, websocket.MessageText, []byte(`{"info":"Welcome to the BitMEX Realtime API.","version":"x","timestamp":"2021-07-22T22:36:07.865Z","docs":"https://www.bitmex.com/app/wsAPI","limit":{"remaining":39}}`))
		_, req, err := c.Read(ctx)
		if err != nil {
			return
		}
		c.Write(ctx, websocket.MessageText, []byte(`{"status":400,"error":"Unknown or expired symbol: ETHUSD.","meta":{},"request":`+string(req)+`}`))
		c.Read(ctx) // until the client goes
	})
	a, err := Open(t.Context(), venues.Config{RESTURL: srv.URL, WSURL: srv.URL, Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	var last error
	for _, err := range a.StreamTrades(ctx, venues.StreamRequest{Symbols: []domain.Symbol{domain.MustParseSymbol("ETH/USD:perp")}}) {
		last = err
	}
	var se *SubscribeError
	if !errors.As(last, &se) || !errors.Is(last, ErrInvalidSymbol) || se.Status != 400 || len(se.Topics) != 1 || se.Topics[0] != "trade:ETHUSD" {
		t.Fatalf("%v", last)
	}
	// Streams refuse bad requests before connecting.
	for _, err := range a.StreamCandles(ctx, venues.StreamRequest{Symbols: []domain.Symbol{xbtusd}, Span: domain.Span15m}) {
		last = err
	}
	if !errors.Is(last, ErrInvalidInterval) {
		t.Fatalf("%v", last)
	}
	for _, err := range a.StreamBooks(ctx, venues.StreamRequest{}) {
		last = err
	}
	if last == nil || !strings.Contains(last.Error(), "no symbol") {
		t.Fatalf("%v", last)
	}
}
