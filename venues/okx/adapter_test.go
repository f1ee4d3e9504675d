package okx

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/transport/ratelimit"
	"github.com/pype-go/pype/venues"
)

func TestOpenRejectsBadConfiguration(t *testing.T) {
	tests := []struct {
		name string
		cfg  venues.Config
		opts []Option
		want string
	}{
		{"negative concurrency", venues.Config{Concurrency: -1}, nil, "concurrency -1"},
		{"negative weight limit", venues.Config{WeightLimit: -5}, nil, "weight limit -5"},
		{"bad REST URL", venues.Config{RESTURL: "ftp://x"}, nil, "invalid base URL"},
		{"bad WS URL", venues.Config{WSURL: "nope"}, nil, "invalid base URL"},
		{"ping too slow", venues.Config{}, []Option{WithPingInterval(30 * time.Second)}, "ping interval"},
		{"too many books per connection", venues.Config{}, []Option{WithBooksPerConnection(30)}, "books per connection"},
		{"tiny trade window", venues.Config{}, []Option{WithTradeWindow(time.Millisecond)}, "trade window"},
	}
	for _, tc := range tests {
		_, err := Open(context.Background(), tc.cfg, append(tc.opts, WithoutStartupInfo())...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestRateLimitRulesPerEndpoint(t *testing.T) {
	a, err := Open(context.Background(), venues.Config{WSURL: "wss://ws.okx.com:8443/ws/v5/public"}, WithoutStartupInfo())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.wsURL != DefaultWSURL {
		t.Fatalf("ws base %q", a.wsURL)
	}
	rules := map[string]ratelimit.Rule{}
	for _, r := range a.Limiter().Rules() {
		rules[r.Name] = r
	}
	for _, ep := range []endpoint{epHistoryCandles, epHistoryTrades} {
		if r := rules[ep.Path]; r.Limit != 20 || r.Interval != 2*time.Second+limitMargin {
			t.Fatalf("%s: %+v", ep.Path, r)
		}
	}
	if r := rules[epBooksFull.Path]; r.Limit != 10 {
		t.Fatalf("books-full %+v", r)
	}
	// WeightLimit overrides the two history endpoints only.
	b, err := Open(context.Background(), venues.Config{WeightLimit: 7}, WithoutStartupInfo())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, r := range b.Limiter().Rules() {
		want := map[string]int{epHistoryCandles.Path: 7, epHistoryTrades.Path: 7, epBooks.Path: 40}[r.Name]
		if want != 0 && r.Limit != want {
			t.Fatalf("%s: %d, want %d", r.Name, r.Limit, want)
		}
	}
	// A request of one endpoint costs only its own rule.
	if c := a.cost(epHistoryTrades); len(c) != 1 || c[0].Rule != epHistoryTrades.Path || c[0].N != 1 {
		t.Fatalf("cost %v", c)
	}
}

func TestStreamRequestErrors(t *testing.T) {
	a, err := Open(context.Background(), venues.Config{}, WithoutStartupInfo())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx := t.Context()
	for _, err := range a.StreamTrades(ctx, venues.StreamRequest{}) {
		if err == nil || !strings.Contains(err.Error(), "no symbol") {
			t.Fatalf("no symbols: %v", err)
		}
	}
	for _, err := range a.StreamCandles(ctx, venues.StreamRequest{Symbols: []domain.Symbol{btcusdt}, Span: domain.Span8h}) {
		var be *BarError
		if !errors.As(err, &be) {
			t.Fatalf("8h candles: %v", err)
		}
	}
}
