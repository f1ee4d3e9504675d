package binance

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readLines(t testing.TB, name string) [][]byte {
	t.Helper()
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(readFixture(t, name)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			out = append(out, bytes.Clone(sc.Bytes()))
		}
	}
	return out
}

func dec(t testing.TB, s string) decimal.Decimal {
	t.Helper()
	d, err := decimal.Parse(s)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return d
}

// sameDec compares value and scale: the parser must keep the venue's string
// exactly (no float round trip, trailing zeros preserved).
func sameDec(a, b decimal.Decimal) bool { return a.String() == b.String() }

func TestParseKlinesFixtures(t *testing.T) {
	tests := []struct {
		file  string
		rows  int
		span  domain.Span
		first []any // openTime, open, high, low, close, volume, closeTime, quoteVolume, trades
	}{
		{"rest_klines_BTCUSDT_1d_2019_full_year_gct.json", 365, domain.Span1d,
			[]any{int64(1546300800000), "3701.23000000", "3810.16000000", "3642.00000000", "3797.14000000", "23741.68703300", int64(1546387199999), "88149249.09230461", int64(154227)}},
		{"rest_klines_BTCUSDT_5m_limit24_gct.json", 24, domain.Span5m,
			[]any{int64(1586987400000), "6733.55000000", "6737.79000000", "6726.61000000", "6727.14000000", "121.20139100", int64(1586987699999), "815879.49416818", int64(2208)}},
		{"rest_klines_BTCUSDT_1m_start1588740088000_end1588743688000_gct.json", 60, domain.Span1m, nil},
		{"rest_klines_BTCUSDT_1h_limit5_dccd_2026-06-11.json", 5, domain.Span1h, nil},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			body := readFixture(t, tc.file)
			got, err := parseKlines(body, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.rows {
				t.Fatalf("rows = %d, want %d", len(got), tc.rows)
			}
			// Cross-check every row against encoding/json.
			var ref [][]any
			d := json.NewDecoder(bytes.NewReader(body))
			d.UseNumber()
			if err := d.Decode(&ref); err != nil {
				t.Fatal(err)
			}
			for i, k := range got {
				r := ref[i]
				ot, _ := r[0].(json.Number).Int64()
				ct, _ := r[6].(json.Number).Int64()
				n, _ := r[8].(json.Number).Int64()
				if k.Bar.OpenTime != domain.MillisToNanos(ot) || k.CloseTime != domain.MillisToNanos(ct) || k.Bar.Trades != n {
					t.Fatalf("row %d times/trades: %+v vs %v", i, k, r)
				}
				for j, d := range []decimal.Decimal{k.Bar.Open, k.Bar.High, k.Bar.Low, k.Bar.Close, k.Bar.Volume} {
					if d.String() != r[j+1].(string) {
						t.Fatalf("row %d col %d = %s, want %s", i, j+1, d, r[j+1])
					}
				}
				if k.Bar.QuoteVolume.String() != r[7].(string) {
					t.Fatalf("row %d quote volume %s, want %s", i, k.Bar.QuoteVolume, r[7])
				}
				// closeTime is the next open − 1 ms for fixed spans.
				if k.CloseTime != tc.span.Next(k.Bar.OpenTime)-domain.MillisToNanos(1) {
					t.Fatalf("row %d close time %d not open+span−1ms", i, k.CloseTime)
				}
			}
			if tc.first != nil {
				k := got[0]
				if k.Bar.OpenTime != domain.MillisToNanos(tc.first[0].(int64)) ||
					!sameDec(k.Bar.Open, dec(t, tc.first[1].(string))) ||
					!sameDec(k.Bar.Volume, dec(t, tc.first[5].(string))) ||
					k.Bar.Trades != tc.first[8].(int64) {
					t.Fatalf("first row %+v", k)
				}
			}
		})
	}
}

func TestParseAggTradesFixtures(t *testing.T) {
	got, err := parseAggTrades(readFixture(t, "rest_aggTrades_BTCUSDT_limit5_start1704067200000_dccd.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		id   int64
		p, q string
		ms   int64
		side domain.Side
	}{
		{2807759891, "42283.58000000", "0.00069000", 1704067200000, domain.Sell},
		{2807759892, "42283.59000000", "0.00144000", 1704067200001, domain.Buy},
		{2807759893, "42283.58000000", "0.00102000", 1704067200003, domain.Sell},
		{2807759894, "42283.59000000", "0.00219000", 1704067200003, domain.Buy},
		{2807759895, "42283.59000000", "0.00163000", 1704067200004, domain.Buy},
	}
	if len(got) != len(want) {
		t.Fatalf("%d trades", len(got))
	}
	for i, w := range want {
		g := got[i]
		if g.ID != w.id || g.Trade.ID != strconv.FormatInt(w.id, 10) || g.Trade.Price.String() != w.p ||
			g.Trade.Amount.String() != w.q || g.Trade.Time != domain.MillisToNanos(w.ms) || g.Trade.Side != w.side {
			t.Fatalf("trade %d = %+v, want %+v", i, g, w)
		}
	}
	// Two trades share the millisecond 1704067200003 and stay distinct.
	if got[2].Trade.Time != got[3].Trade.Time || got[2].Trade.ID == got[3].Trade.ID {
		t.Fatal("same-millisecond trades merged")
	}

	full, err := parseAggTrades(readFixture(t, "rest_aggTrades_BTCUSDT_fromId202790190_limit1000_full_page_gct.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(full) != 1000 || full[0].ID != 202790190 || full[999].ID != 202791189 {
		t.Fatalf("full page: %d rows, ids %d..%d", len(full), full[0].ID, full[len(full)-1].ID)
	}
	for i := 1; i < len(full); i++ {
		if full[i].ID != full[i-1].ID+1 || full[i].Trade.Time < full[i-1].Trade.Time {
			t.Fatalf("row %d not contiguous/ordered", i)
		}
		if full[i].First > full[i].Last {
			t.Fatalf("row %d first trade id > last", i)
		}
	}
}

func TestParseAggTradesPaginationChain(t *testing.T) {
	// gct's recorded chain: first call by time, then by fromId. gct trimmed
	// each page to its first and last rows, so only the order can be
	// checked: every page parses and ids increase from page to page.
	var chain []struct {
		QueryString string          `json:"queryString"`
		Response    json.RawMessage `json:"response"`
	}
	if err := json.Unmarshal(readFixture(t, "rest_aggTrades_BTCUSDT_pagination_chain_2020-01-02_gct_mock_trimmed_pages.json"), &chain); err != nil {
		t.Fatal(err)
	}
	if len(chain) < 2 || !bytes.Contains([]byte(chain[0].QueryString), []byte("startTime=")) {
		t.Fatal("chain does not start by time")
	}
	var last int64
	for i, c := range chain {
		page, err := parseAggTrades(c.Response, nil)
		if err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
		for _, tr := range page {
			if tr.ID < last {
				t.Fatalf("page %d: id %d after %d", i, tr.ID, last)
			}
			last = tr.ID
		}
	}
}

func TestParseHistoricalTrades(t *testing.T) {
	got, err := parseTrades(readFixture(t, "rest_historicalTrades_BTCUSDT_limit5_gct.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 || got[0].ID != 870281750 || got[0].Trade.Price.String() != "38172.11000000" ||
		got[0].Trade.Amount.String() != "0.15000000" || got[0].Trade.Side != domain.Sell ||
		got[0].Trade.Time != domain.MillisToNanos(1621933655947) {
		t.Fatalf("%+v", got)
	}
}

type refDepth struct {
	LastUpdateID int64      `json:"lastUpdateId"`
	Bids         [][]string `json:"bids"`
	Asks         [][]string `json:"asks"`
	U            int64      `json:"U"`
	Final        int64      `json:"u"`
	B            [][]string `json:"b"`
	A            [][]string `json:"a"`
}

func checkLevels(t *testing.T, what string, got []domain.BookLevel, want [][]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d levels, want %d", what, len(got), len(want))
	}
	for i, w := range want {
		if got[i].Price.String() != w[0] || got[i].Amount.String() != w[1] {
			t.Fatalf("%s[%d] = %s/%s, want %v", what, i, got[i].Price, got[i].Amount, w)
		}
	}
}

func TestParseDepthFixtures(t *testing.T) {
	for _, f := range []string{"rest_depth_NKNUSDT_limit1000_cryptofeed_2021-10-12.json", "rest_depth_BTCUSDT_limit1000_gct_mock_trimmed.json"} {
		t.Run(f, func(t *testing.T) {
			body := readFixture(t, f)
			got, err := parseDepth(body)
			if err != nil {
				t.Fatal(err)
			}
			var ref refDepth
			if err := json.Unmarshal(body, &ref); err != nil {
				t.Fatal(err)
			}
			if got.Seq != ref.LastUpdateID || len(got.Bids) == 0 {
				t.Fatalf("seq %d want %d", got.Seq, ref.LastUpdateID)
			}
			checkLevels(t, "bids", got.Bids, ref.Bids)
			checkLevels(t, "asks", got.Asks, ref.Asks)
		})
	}
	if got, _ := parseDepth(readFixture(t, "rest_depth_NKNUSDT_limit1000_cryptofeed_2021-10-12.json")); got.Seq != 499869752 {
		t.Fatalf("NKNUSDT lastUpdateId %d", got.Seq)
	}
}

func TestParseExchangeInfoFixtures(t *testing.T) {
	tests := []struct {
		file        string
		weight      int
		markets     int
		btcTick     string
		btcStep     string
		btcNotional string
	}{
		{"rest_exchangeInfo_7symbols_cryptofeed_2021-10-12.json", 1200, 7, "0.01", "0.00001", "10"},
		{"rest_exchangeInfo_5symbols_gct_keys_sorted.json", 6000, 5, "0.01", "0.00001", "5"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			info, err := parseExchangeInfo(readFixture(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(info.Markets) != tc.markets {
				t.Fatalf("%d markets", len(info.Markets))
			}
			var w int
			names := map[string]bool{}
			for _, r := range info.RateLimits {
				names[r.Name] = true
				if r.Name == "REQUEST_WEIGHT_1M" {
					w = r.Limit
				}
			}
			if w != tc.weight || !names["ORDERS_10S"] || !names["ORDERS_1D"] || !names["RAW_REQUESTS_5M"] {
				t.Fatalf("rate limits %+v", info.RateLimits)
			}
			var btc *domain.Market
			for i := range info.Markets {
				if info.Markets[i].VenueSymbol == "BTCUSDT" {
					btc = &info.Markets[i]
				}
			}
			if btc == nil {
				t.Fatal("no BTCUSDT")
			}
			if btc.Symbol != domain.NewSymbol("BTC", "USDT") || !btc.Active || btc.Venue != Name ||
				btc.PriceTick.String() != tc.btcTick || btc.AmountStep.String() != tc.btcStep ||
				btc.MinNotional.String() != tc.btcNotional || btc.PriceScale != 2 || btc.AmountScale != 5 {
				t.Fatalf("BTCUSDT market %+v", *btc)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	bad := []struct{ what, body string }{
		{"klines", `[[1,"1","2"]]`},
		{"klines", `[[1,"x","2","3","4","5",6,"7",8]]`},
		{"klines", `[[1,"1","2","3","4","5",6,"7",8]`},
		{"klines", `{"code":-1121,"msg":"Invalid symbol."}`},
		{"aggTrades", `[{"a":1,"p":"1"}]`},
		{"aggTrades", `[{"a":"x","p":"1","q":"1","T":1,"m":true}]`},
		{"aggTrades", `[{"a":1,"p":"1","q":"1","T":1,"m":true}] x`},
		{"depth", `{"lastUpdateId":1,"bids":[["1"]],"asks":[]}`},
		{"depth", `{"bids":[],"asks":[]}`},
	}
	for _, tc := range bad {
		var err error
		switch tc.what {
		case "klines":
			_, err = parseKlines([]byte(tc.body), nil)
		case "aggTrades":
			_, err = parseAggTrades([]byte(tc.body), nil)
		case "depth":
			_, err = parseDepth([]byte(tc.body))
		}
		var de *DecodeError
		if !errors.As(err, &de) || de.What != tc.what {
			t.Errorf("%s %s: err = %v, want *DecodeError", tc.what, tc.body, err)
		}
	}
	if code, msg, ok := parseErrorBody([]byte(`{"code":-1121,"msg":"Invalid symbol."}`)); !ok || code != -1121 || msg != "Invalid symbol." {
		t.Fatalf("error body: %d %q %v", code, msg, ok)
	}
	if _, _, ok := parseErrorBody([]byte(`<html>502</html>`)); ok {
		t.Fatal("html read as error body")
	}
	if got, err := parseServerTime([]byte(`{"serverTime":1499827319559}`)); err != nil || got != domain.MillisToNanos(1499827319559) {
		t.Fatalf("server time %d %v", got, err)
	}
}

func TestSplitFrameAndEventsFixtures(t *testing.T) {
	lines := readLines(t, "ws_combined_depth100ms_bookTicker_kline1m_aggTrade_NKNUSDT_BLZETH_LRCBTC_RUNEEUR_cryptofeed_2021-10-12.jsonl")
	counts := map[eventKind]int{}
	var ev depthEvent
	for i, line := range lines {
		f, err := splitFrame(line)
		if err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		if len(f.Stream) == 0 {
			t.Fatalf("line %d: no stream", i)
		}
		counts[f.Kind]++
		var env struct {
			Data refDepth `json:"data"`
		}
		switch f.Kind {
		case evDepthUpdate:
			if err := parseDepthUpdate(f.Data, &ev); err != nil {
				t.Fatalf("line %d: %v", i, err)
			}
			if err := json.Unmarshal(line, &env); err != nil {
				t.Fatal(err)
			}
			if ev.First != env.Data.U || ev.Final != env.Data.Final || len(ev.Symbol) == 0 || ev.EventTime == 0 {
				t.Fatalf("line %d: U/u %d/%d want %d/%d", i, ev.First, ev.Final, env.Data.U, env.Data.Final)
			}
			checkLevels(t, "b", ev.Bids, env.Data.B)
			checkLevels(t, "a", ev.Asks, env.Data.A)
		case evAggTrade:
			var te tradeEvent
			if err := parseAggTradeEvent(f.Data, &te); err != nil {
				t.Fatal(err)
			}
			if te.ID == 0 || te.Trade.Price.IsZero() || len(te.Symbol) == 0 {
				t.Fatalf("aggTrade %+v", te)
			}
		case evKline:
			var ke klineEvent
			if err := parseKlineEvent(f.Data, &ke); err != nil {
				t.Fatal(err)
			}
			if string(ke.Interval) != "1m" || ke.Bar.OpenTime == 0 || ke.CloseTime != ke.Bar.OpenTime+int64(domain.Span1m)-domain.MillisToNanos(1) {
				t.Fatalf("kline %+v", ke)
			}
		}
	}
	if counts[evDepthUpdate] != 177 || counts[evAggTrade] != 2 || counts[evKline] != 2 || counts[evUnknown] == 0 {
		t.Fatalf("counts %v", counts)
	}
}

func TestParseWSMixedAndRawEvents(t *testing.T) {
	kinds := []eventKind{}
	for _, line := range readLines(t, "ws_combined_stream_mixed_events_gct_mock.jsonl") {
		f, err := splitFrame(line)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		kinds = append(kinds, f.Kind)
		switch f.Kind {
		case evKline:
			var ke klineEvent
			if err := parseKlineEvent(f.Data, &ke); err != nil {
				t.Fatal(err)
			}
			if string(ke.Symbol) != "BNBBTC" || ke.Bar.Open.String() != "0.0010" || ke.Bar.Closed || ke.Bar.Trades != 100 {
				t.Fatalf("kline %+v", ke)
			}
		case evTrade:
			var te tradeEvent
			if err := parseTradeEvent(f.Data, &te); err != nil {
				t.Fatal(err)
			}
			if te.ID != 12345 || te.Trade.Price.String() != "0.001" || te.Trade.Amount.String() != "100" || te.Trade.Side != domain.Sell || te.Trade.Time != domain.MillisToNanos(123456785) {
				t.Fatalf("trade %+v", te)
			}
		case evDepthUpdate:
			var de depthEvent
			if err := parseDepthUpdate(f.Data, &de); err != nil {
				t.Fatal(err)
			}
			if de.First != 157 || de.Final != 160 || de.Bids[0].Price.String() != "6621.45" || de.Asks[0].Amount.String() != "1.5" {
				t.Fatalf("depth %+v", de)
			}
		}
	}
	want := []eventKind{evUnknown, evKline, evTrade, evDepthUpdate}
	for i, w := range want {
		if kinds[i] != w {
			t.Fatalf("kinds %v", kinds)
		}
	}

	agg := readLines(t, "handmade_ws_aggTrade_BTCUSDT_dccd.jsonl")
	f, err := splitFrame(agg[0])
	if err != nil || f.Kind != evAggTrade || f.Stream != nil {
		t.Fatalf("raw aggTrade frame %+v %v", f, err)
	}
	var te tradeEvent
	if err := parseAggTradeEvent(f.Data, &te); err != nil || te.ID != 2807759891 || string(te.Symbol) != "BTCUSDT" || te.EventTime != domain.MillisToNanos(1704067200005) {
		t.Fatalf("%+v %v", te, err)
	}
	if f, _ := splitFrame(agg[2]); f.Kind != evUnknown {
		t.Fatal("OTHER_EVENT not ignored")
	}
	kl := readLines(t, "handmade_ws_kline_1h_BTCUSDT_dccd.jsonl")
	f, _ = splitFrame(kl[0])
	var ke klineEvent
	if err := parseKlineEvent(f.Data, &ke); err != nil || !ke.Bar.Closed || ke.Bar.Close.String() != "62957.99000000" || ke.Bar.Trades != 82404 {
		t.Fatalf("%+v %v", ke, err)
	}
}

func TestSplitFrameReplies(t *testing.T) {
	tests := []struct {
		in      string
		id      int64
		hasErr  bool
		code    int
		errPart string
	}{
		{`{"result":null,"id":1}`, 1, false, 0, ""},
		{`{"result":["btcusdt@aggTrade"],"id":7}`, 7, false, 0, ""},
		{`{"error":{"code":2,"msg":"Invalid request: unknown variable"},"id":3}`, 3, true, 2, "unknown variable"},
		{`{"code":-1121,"msg":"Invalid symbol.","id":null}`, 0, true, -1121, "Invalid symbol."},
	}
	for _, tc := range tests {
		f, err := splitFrame([]byte(tc.in))
		if err != nil || f.Kind != evReply || f.ID != tc.id || f.HasError != tc.hasErr || f.ErrCode != tc.code || !bytes.Contains([]byte(f.ErrMsg), []byte(tc.errPart)) {
			t.Errorf("%s: %+v %v", tc.in, f, err)
		}
	}
	if _, err := splitFrame([]byte(`{"stream":"x","data":{"e":"depthUpdate"`)); err == nil {
		t.Fatal("truncated frame accepted")
	}
}

func TestParseDepthUpdateReusesBuffers(t *testing.T) {
	line := readLines(t, "ws_depth100ms_NKNUSDT_diffs_cryptofeed_2021-10-12.jsonl")[0]
	f, err := splitFrame(line)
	if err != nil {
		t.Fatal(err)
	}
	var ev depthEvent
	if err := parseDepthUpdate(f.Data, &ev); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		f, _ := splitFrame(line)
		_ = parseDepthUpdate(f.Data, &ev)
	})
	if allocs != 0 {
		t.Fatalf("depth update parse allocates %.1f times per message", allocs)
	}
}

func FuzzSplitFrame(f *testing.F) {
	for _, line := range readLines(f, "ws_combined_depth100ms_bookTicker_kline1m_aggTrade_NKNUSDT_BLZETH_LRCBTC_RUNEEUR_cryptofeed_2021-10-12.jsonl")[:20] {
		f.Add(line)
	}
	f.Add([]byte(`{"result":null,"id":1}`))
	f.Add([]byte(`[[[[[[`))
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := splitFrame(b)
		if err != nil {
			return
		}
		var de depthEvent
		var te tradeEvent
		var ke klineEvent
		switch fr.Kind {
		case evDepthUpdate:
			// A frame the fast path cut and the decoder accepted must be
			// the same event the full path finds.
			if parseDepthUpdate(fr.Data, &de) == nil && fr.Fast {
				s, err := slowSplit(b)
				var de2 depthEvent
				if err != nil || parseDepthUpdate(s.Data, &de2) != nil || de2.Final != de.Final || len(de2.Bids) != len(de.Bids) {
					t.Fatalf("fast and full split disagree on %q: %v", b, err)
				}
			}
		case evAggTrade:
			_ = parseAggTradeEvent(fr.Data, &te)
		case evTrade:
			_ = parseTradeEvent(fr.Data, &te)
		case evKline:
			_ = parseKlineEvent(fr.Data, &ke)
		}
		_, _ = parseKlines(b, nil)
		_, _ = parseAggTrades(b, nil)
		_, _ = parseDepth(b)
	})
}

func decimalOf(t testing.TB, s string) decimal.Decimal { return dec(t, s) }

func TestSplitFrameFastAndSlowAgree(t *testing.T) {
	lines := readLines(t, "ws_combined_depth100ms_bookTicker_kline1m_aggTrade_NKNUSDT_BLZETH_LRCBTC_RUNEEUR_cryptofeed_2021-10-12.jsonl")
	lines = append(lines, readLines(t, "ws_combined_stream_mixed_events_gct_mock.jsonl")...)
	fast := 0
	for _, line := range lines {
		f, err := splitFrame(line)
		s, serr := slowSplit(line)
		if err != nil || serr != nil {
			t.Fatalf("%s: %v / %v", line, err, serr)
		}
		if f.Fast {
			fast++
		}
		if f.Kind != s.Kind || string(f.Stream) != string(s.Stream) || string(bytes.TrimSpace(f.Data)) != string(bytes.TrimSpace(s.Data)) {
			t.Fatalf("fast %q/%q, slow %q/%q", f.Stream, f.Data, s.Stream, s.Data)
		}
	}
	if fast < len(lines)/2 {
		t.Fatalf("fast path taken for %d of %d frames", fast, len(lines))
	}
	// data not last: the fast cut keeps a tail, the decoder refuses it, and
	// refine recovers the event.
	odd := []byte(`{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":5,"u":6,"b":[],"a":[]},"extra":{"x":1}}`)
	f, err := splitFrame(odd)
	if err != nil {
		t.Fatal(err)
	}
	var ev depthEvent
	if err := parseDepthUpdate(f.Data, &ev); err == nil {
		t.Fatal("a cut with a tail decoded")
	}
	if !refine(odd, &f) || parseDepthUpdate(f.Data, &ev) != nil || ev.Final != 6 {
		t.Fatalf("refine: %+v", ev)
	}
}

func TestAPIErrorMapping(t *testing.T) {
	tests := []struct {
		status, code int
		want         error
		temporary    bool
	}{
		{400, -1121, ErrInvalidSymbol, false},
		{400, -1120, ErrInvalidInterval, false},
		{400, -1127, ErrInvalidParameter, false},
		{400, -1100, ErrInvalidParameter, false},
		{429, -1003, ErrTooManyRequests, true},
		{418, -1003, ErrIPBanned, false},
		{418, 0, ErrIPBanned, false},
		{401, -2015, ErrUnauthorized, false},
		{400, -1021, ErrUnauthorized, false},
		{503, 0, ErrVenueUnavailable, true},
		{400, -1001, ErrVenueUnavailable, true},
	}
	for _, tc := range tests {
		e := &APIError{Status: tc.status, Code: tc.code, Msg: "m", Endpoint: "GET /api/v3/klines"}
		if !errors.Is(e, tc.want) || e.Temporary() != tc.temporary {
			t.Errorf("%d/%d: is %v = %v, temporary %v", tc.status, tc.code, tc.want, errors.Is(e, tc.want), e.Temporary())
		}
	}
	e := &APIError{Status: 400, Code: -1121, Msg: "Invalid symbol.", Endpoint: "GET /api/v3/klines", Params: "symbol=BTCUSDX"}
	for _, part := range []string{"GET /api/v3/klines?symbol=BTCUSDX", "HTTP 400", "code -1121", "Invalid symbol.", "BTC/USDT"} {
		if !strings.Contains(e.Error(), part) {
			t.Errorf("message %q lacks %q", e.Error(), part)
		}
	}
	ie := &IntervalError{Span: "2d"}
	if !errors.Is(ie, ErrInvalidInterval) || !errors.Is(ie, domain.ErrNoCapability) {
		t.Fatal("IntervalError does not unwrap")
	}
}
