package binance_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pype-go/pype/sim/simtest"
)

// TestRESTShapesMatchRecordedPayloads compares every endpoint's JSON with a
// recorded real Binance payload: the same field names, the same JSON types,
// decimal strings with the same number of decimals.
func TestRESTShapesMatchRecordedPayloads(t *testing.T) {
	s := frozen(t)
	base := s.REST("binance")
	start := fixedNow.Add(-3 * time.Hour).UnixMilli()
	cases := []struct {
		path, fixture string
		ignore        []string
	}{
		{"/api/v3/klines?symbol=BTCUSDT&interval=1h&limit=5", "rest_klines_BTCUSDT_1h_limit5_dccd_2026-06-11.json", nil},
		{fmt.Sprintf("/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=%d&endTime=%d", start, start+3600_000),
			"rest_klines_BTCUSDT_1m_start1588740088000_end1588743688000_gct.json", nil},
		{fmt.Sprintf("/api/v3/aggTrades?symbol=BTCUSDT&limit=5&startTime=%d", start), "rest_aggTrades_BTCUSDT_limit5_start1704067200000_dccd.json", nil},
		{"/api/v3/trades?symbol=BTCUSDT&limit=6", "rest_trades_BTCUSDT_limit1000_gct_mock_trimmed.json", nil},
		{"/api/v3/historicalTrades?symbol=BTCUSDT&limit=5", "rest_historicalTrades_BTCUSDT_limit5_gct.json", nil},
		{"/api/v3/depth?symbol=BTCUSDT&limit=1000", "rest_depth_NKNUSDT_limit1000_cryptofeed_2021-10-12.json", nil},
		{"/api/v3/exchangeInfo?symbols=%5B%22BTCUSDT%22,%22ETHBTC%22%5D", "rest_exchangeInfo_5symbols_gct_keys_sorted.json", nil},
		{"/api/v3/ticker/24hr?symbol=BTCUSDT", "rest_ticker_24hr_BTCUSDT_gct.json", nil},
		{`/api/v3/ticker/24hr?symbols=["BTCUSDT","ETHUSDT"]`, "rest_ticker_24hr_symbols_BTCUSDT_ETHUSDT_gct.json", nil},
		{"/api/v3/ticker/bookTicker?symbol=BTCUSDT", "rest_ticker_bookTicker_BTCUSDT_gct.json", nil},
		{"/api/v3/ticker/price?symbol=BTCUSDT", "rest_ticker_price_BTCUSDT_gct.json", nil},
	}
	for _, c := range cases {
		r := get(t, base+c.path)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", c.path, r.status, r.body)
		}
		got := decode(t, r.body)
		if a, ok := got.([]any); ok && len(a) == 0 {
			t.Fatalf("%s: empty answer", c.path)
		}
		sameShape(t, c.path, got, decode(t, fixture(t, c.fixture)), c.ignore...)
		if ct := r.header.Get("Content-Type"); ct != "application/json;charset=UTF-8" {
			t.Errorf("%s: Content-Type %q", c.path, ct)
		}
		if r.header.Get("X-MBX-USED-WEIGHT-1M") == "" {
			t.Errorf("%s: no X-MBX-USED-WEIGHT-1M", c.path)
		}
	}
	// The 2021 exchangeInfo has PERCENT_PRICE and MIN_NOTIONAL, which Binance
	// has since replaced; the top level still matches.
	var top map[string]json.RawMessage
	getJSON(t, base+"/api/v3/exchangeInfo", &top)
	var rec map[string]json.RawMessage
	if err := json.Unmarshal(fixture(t, "rest_exchangeInfo_7symbols_cryptofeed_2021-10-12.json"), &rec); err != nil {
		t.Fatal(err)
	}
	for k := range rec {
		if _, ok := top[k]; !ok {
			t.Errorf("exchangeInfo lacks %q", k)
		}
	}
	sameShape(t, "rateLimits", decode(t, top["rateLimits"]), decode(t, rec["rateLimits"]))
	// Simple bodies.
	if r := get(t, base+"/api/v3/ping"); string(r.body) != "{}" {
		t.Errorf("ping: %s", r.body)
	}
	var tm struct{ ServerTime int64 }
	getJSON(t, base+"/api/v3/time", &tm)
	if tm.ServerTime != fixedNow.UnixMilli() {
		t.Errorf("serverTime %d, want %d", tm.ServerTime, fixedNow.UnixMilli())
	}
}

// TestStreamShapesMatchRecordedPayloads compares each stream's frames with
// recorded real frames.
func TestStreamShapesMatchRecordedPayloads(t *testing.T) {
	s := simtest.Start(t, simtest.Venues("binance"), simtest.Speed(60),
		simtest.Configure(func(c *simConfig) { c.TradesPerSecond = 20 }))
	const rec = "ws_combined_depth100ms_bookTicker_kline1m_aggTrade_NKNUSDT_BLZETH_LRCBTC_RUNEEUR_cryptofeed_2021-10-12.jsonl"
	want := map[string]any{
		"aggTrade":    decode(t, fixtureLines(t, rec, "@aggTrade")[0]),
		"kline_1m":    decode(t, fixtureLines(t, rec, "@kline_1m")[0]),
		"depth@100ms": decode(t, fixtureLines(t, rec, "@depth@100ms")[0]),
		"bookTicker":  decode(t, fixtureLines(t, rec, "@bookTicker")[0]),
		// gct's docs-derived trade frame still has the buyer/seller order
		// ids "b" and "a", which Binance no longer sends.
		"trade": decode(t, fixtureLines(t, "ws_combined_stream_mixed_events_gct_mock.jsonl", "@trade")[0]),
	}
	var names []string
	for k := range want {
		names = append(names, "btcusdt@"+k)
	}
	c := wsDial(t, s.WS("binance")+"/stream?streams="+strings.Join(names, "/"))
	seen := map[string]bool{}
	for i := 0; len(seen) < len(want) && i < 5000; i++ {
		got := decode(t, wsRead(t, c))
		stream := got.(map[string]any)["stream"].(string)
		kind := strings.TrimPrefix(stream, "btcusdt@")
		if seen[kind] {
			continue
		}
		seen[kind] = true
		if kind == "trade" {
			// The docs example prints "0.001" and "100"; real frames use 8
			// decimals like every other Binance price, which the aggTrade
			// comparison checks.
			sameShape(t, stream, got, want[kind], "b", "a", "p", "q")
			d := got.(map[string]any)["data"].(map[string]any)
			for _, k := range []string{"p", "q"} {
				if jsonType(d[k]) != "decimal string/8" {
					t.Errorf("trade %s = %v", k, d[k])
				}
			}
			continue
		}
		sameShape(t, stream, got, want[kind])
	}
	if len(seen) != len(want) {
		t.Fatalf("saw only %v", seen)
	}
}
