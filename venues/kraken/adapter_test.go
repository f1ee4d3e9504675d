package kraken

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/venues"
)

func TestInfoCapabilities(t *testing.T) {
	i := Info()
	if i.Name != "kraken" || i.RESTURL != DefaultRESTURL || i.WSURL != DefaultWSURL {
		t.Fatalf("%+v", i)
	}
	ohlc, ok := i.Capability(domain.OHLC, domain.REST, domain.Backfill)
	if !ok || ohlc.History != domain.HistoryRecent || ohlc.RecentCount != 720 || ohlc.MaxPerRequest != 720 ||
		!ohlc.SupportsSpan(15*domain.Span1d) || ohlc.SupportsSpan(domain.Span2h) || !strings.Contains(ohlc.Notes, "trade") {
		t.Fatalf("ohlc %+v", ohlc)
	}
	tr, ok := i.Capability(domain.Trades, domain.REST, domain.Backfill)
	if !ok || tr.History != domain.HistoryFull || tr.MaxPerRequest != 1000 {
		t.Fatalf("trades %+v", tr)
	}
	bk, ok := i.Capability(domain.Book, domain.WebSocket, domain.Stream)
	if !ok || bk.MaxDepth != 1000 || len(bk.Depths) != 5 {
		t.Fatalf("book %+v", bk)
	}
	if snap, ok := i.Capability(domain.Book, domain.REST, domain.Snapshot); !ok || snap.MaxDepth != 500 {
		t.Fatalf("snapshot %+v", snap)
	}
	for span, iv := range map[domain.Span]int{domain.Span1m: 1, domain.Span4h: 240, domain.Span1w: 10080, 15 * domain.Span1d: 21600} {
		if got, err := Interval(span); err != nil || got != iv {
			t.Fatalf("Interval(%s) = %d %v", span, got, err)
		}
	}
	if _, err := Interval(domain.Span1M); !errors.Is(err, ErrInvalidInterval) || !strings.Contains(err.Error(), "1m 5m 15m 30m 1h 4h 1d 1w 15d") {
		t.Fatalf("1M: %v", err)
	}
}

func TestOpenConfiguration(t *testing.T) {
	ctx := t.Context()
	for _, tc := range []struct {
		cfg  venues.Config
		opts []Option
		want string
	}{
		{venues.Config{RESTURL: "ftp://x"}, nil, "invalid base URL"},
		{venues.Config{WSURL: "nope"}, nil, "invalid base URL"},
		{venues.Config{WeightLimit: -1}, nil, "weight limit"},
		{venues.Config{}, []Option{WithBookSubscriptionDepth(50)}, "accepted: 10 25 100 500 1000"},
		{venues.Config{}, []Option{WithRetries(0, time.Second)}, "retries"},
	} {
		_, err := Open(ctx, tc.cfg, append(tc.opts, WithoutStartupInfo())...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v", tc.cfg, err)
		}
	}
	a, err := Open(ctx, venues.Config{RESTURL: "http://127.0.0.1:1/", WSURL: "ws://127.0.0.1:1/v2", Logger: discardLogger()}, WithoutStartupInfo())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.Info().RESTURL != "http://127.0.0.1:1" || a.Info().WSURL != "ws://127.0.0.1:1/v2" {
		t.Fatalf("%+v", a.Info())
	}
	for n, want := range map[int]int{0: 10, 1: 10, 10: 10, 11: 25, 100: 100, 101: 500, 1000: 1000} {
		if got, err := a.subscriptionDepth(n); err != nil || got != want {
			t.Fatalf("depth %d → %d %v", n, got, err)
		}
	}
	if _, err := a.subscriptionDepth(1001); !errors.Is(err, domain.ErrNoCapability) {
		t.Fatal(err)
	}
	for _, err := range a.StreamBooks(ctx, venues.StreamRequest{Symbols: []domain.Symbol{btcusd}, Depth: 2000}) {
		if !errors.Is(err, domain.ErrNoCapability) {
			t.Fatalf("depth 2000: %v", err)
		}
	}
	for _, err := range a.StreamTrades(ctx, venues.StreamRequest{}) {
		if err == nil || !strings.Contains(err.Error(), "no symbol") {
			t.Fatalf("no symbols: %v", err)
		}
	}
	for _, err := range a.StreamCandles(ctx, venues.StreamRequest{Symbols: []domain.Symbol{btcusd}, Span: domain.Span2h}) {
		if !errors.Is(err, ErrInvalidInterval) {
			t.Fatalf("2h: %v", err)
		}
	}
}

func TestHistoryErrorMessage(t *testing.T) {
	e := &HistoryError{Symbol: "BTC/USD", Span: "1m", From: domain.SecondsToNanos(1709164800), Earliest: domain.SecondsToNanos(1709208000)}
	msg := e.Error()
	for _, want := range []string{"720 most recent 1m bars of BTC/USD", "2024-02-29T12:00:00Z", "2024-02-29T00:00:00Z", "WithDerivedCandles", "DeriveCandles"} {
		if !strings.Contains(msg, want) {
			t.Fatalf("%q lacks %q", msg, want)
		}
	}
	if !errors.Is(e, domain.ErrNoCapability) || !errors.Is(e, ErrHistoryTooOld) {
		t.Fatal("unwrap")
	}
}
