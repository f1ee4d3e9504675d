package binance

import (
	"strings"
	"testing"
	"time"

	"github.com/pype-go/pype/venues"
)

func TestOpenValidatesConfig(t *testing.T) {
	bad := []struct {
		name string
		cfg  venues.Config
		opts []Option
		want string
	}{
		{"rest scheme", venues.Config{RESTURL: "ftp://x"}, nil, "invalid base URL"},
		{"ws scheme", venues.Config{WSURL: "tcp://x:1"}, nil, "invalid base URL"},
		{"concurrency", venues.Config{Concurrency: -1}, nil, "concurrency"},
		{"weight", venues.Config{WeightLimit: -5}, nil, "weight limit"},
		{"streams", venues.Config{}, []Option{WithStreamsPerConnection(2000)}, "streams per connection"},
		{"depth", venues.Config{}, []Option{WithBookSnapshotDepth(6000)}, "book snapshot depth"},
	}
	for _, tc := range bad {
		_, err := Open(t.Context(), tc.cfg, append(tc.opts, WithoutStartupInfo())...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
	a, err := Open(t.Context(), venues.Config{RESTURL: "http://127.0.0.1:1/", WSURL: "ws://127.0.0.1:1/ws", WeightLimit: 100}, WithoutStartupInfo())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.restURL != "http://127.0.0.1:1" || a.wsURL != "ws://127.0.0.1:1" {
		t.Fatalf("urls %q %q", a.restURL, a.wsURL)
	}
	if got := a.streamURL([]string{"btcusdt@aggTrade", "ethusdt@aggTrade"}); got != "ws://127.0.0.1:1/stream?streams=btcusdt@aggTrade/ethusdt@aggTrade" {
		t.Fatalf("stream url %q", got)
	}
	// The weight override applies to the built-in limits (and would to
	// announced ones).
	for _, r := range a.RateLimits() {
		if r.Name == "REQUEST_WEIGHT_1M" && (r.Limit != 100 || r.Interval != time.Minute) {
			t.Fatalf("rule %+v", r)
		}
	}
	info := a.Info()
	if info.Name != Name || info.RESTURL != "http://127.0.0.1:1" {
		t.Fatalf("info %+v", info)
	}
}
