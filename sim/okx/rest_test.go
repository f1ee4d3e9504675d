package okx_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/govalues/decimal"
	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim/simtest"
)

// ccxtHTTP returns the recorded httpResponse of a ccxt static entry
// (testdata/ccxt_okx_response.json, from ccxt's okx.json: field names and
// shapes; ccxt stringifies some numbers, OKX sends these as strings too).
func ccxtHTTP(t *testing.T, method, description string) []byte {
	t.Helper()
	var f struct {
		Methods map[string][]struct {
			Description  string          `json:"description"`
			HTTPResponse json.RawMessage `json:"httpResponse"`
		} `json:"methods"`
	}
	if err := json.Unmarshal(fixture(t, "ccxt_okx_response.json"), &f); err != nil {
		t.Fatal(err)
	}
	for _, e := range f.Methods[method] {
		if e.Description == description {
			return e.HTTPResponse
		}
	}
	t.Fatalf("no ccxt entry %s %q", method, description)
	return nil
}

// TestRESTShapesMatchRecordedPayloads compares the endpoints' JSON with
// recorded OKX answers: the same keys and JSON types (every number a
// string).
func TestRESTShapesMatchRecordedPayloads(t *testing.T) {
	s := frozen(t)
	base := s.REST("okx")
	cases := []struct {
		path     string
		recorded []byte
	}{
		{"/api/v5/public/instruments?instType=SPOT", fixture(t, "rest_public_instruments_SPOT_4of513_cryptofeed_2022-05-13.json")},
		{"/api/v5/market/candles?instId=BTC-USDT&bar=1H&limit=3", ccxtHTTP(t, "fetchOHLCV", "spot ohlcv with limit and since")},
		{"/api/v5/market/history-candles?instId=BTC-USDT&bar=1H&limit=3", ccxtHTTP(t, "fetchOHLCV", "spot ohlcv with limit and since")},
		{"/api/v5/market/trades?instId=BTC-USDT&limit=1", ccxtHTTP(t, "fetchTrades", "public spot trades")},
		{"/api/v5/market/history-trades?instId=BTC-USDT&limit=3", ccxtHTTP(t, "fetchTrades", "public spot trades")},
		{"/api/v5/market/books?instId=BTC-USDT&sz=2", ccxtHTTP(t, "fetchOrderBook", "spot orderbook")},
		{"/api/v5/market/ticker?instId=BTC-USDT", ccxtHTTP(t, "fetchTicker", "public spot ticker")},
	}
	for _, c := range cases {
		r := get(t, base+c.path)
		if r.status != 200 || r.header.Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d %s %s", c.path, r.status, r.header.Get("Content-Type"), r.body)
		}
		got := decode(t, r.body)
		if d := got.(map[string]any)["data"].([]any); len(d) == 0 {
			t.Fatalf("%s: empty data", c.path)
		}
		sameShape(t, c.path, got, decode(t, c.recorded))
	}
}

// candleRow is [ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm].
type candleRow [9]string

func (r candleRow) ts() int64 { n, _ := strconv.ParseInt(r[0], 10, 64); return n }

func TestCandleBoundsAreExclusiveAndNewestFirst(t *testing.T) {
	s := frozen(t)
	base := s.REST("okx")
	now := fixedNow.UnixMilli()
	hour := int64(3600_000)
	t0 := now/hour*hour - 10*hour
	var rows []candleRow
	data(t, fmt.Sprintf("%s/api/v5/market/history-candles?instId=BTC-USDT&bar=1H&after=%d&before=%d", base, t0+5*hour, t0), &rows)
	// after and before are exclusive: the bars opening at t0 and t0+5h are out.
	if len(rows) != 4 || rows[0].ts() != t0+4*hour || rows[3].ts() != t0+hour {
		t.Fatalf("rows %v", rows)
	}
	for _, r := range rows {
		if r[8] != "1" || r[6] != r[7] {
			t.Fatalf("row %v: a closed spot bar has confirm 1 and volCcy = volCcyQuote", r)
		}
	}
	// The bar in progress comes first with confirm 0.
	data(t, base+"/api/v5/market/history-candles?instId=BTC-USDT&bar=1m&limit=2", &rows)
	if len(rows) != 2 || rows[0].ts() != now/60_000*60_000 || rows[0][8] != "0" || rows[1][8] != "1" {
		t.Fatalf("latest rows %v", rows)
	}
	// limit is honoured, newest first.
	data(t, base+"/api/v5/market/history-candles?instId=BTC-USDT&bar=1m&limit=100&after="+strconv.FormatInt(t0, 10), &rows)
	if len(rows) != 100 || rows[0].ts() != t0-60_000 || rows[99].ts() > t0-100*60_000 {
		t.Fatalf("%d rows from %d", len(rows), rows[0].ts())
	}
	for i := 1; i < len(rows); i++ {
		if rows[i].ts() >= rows[i-1].ts() {
			t.Fatalf("rows not newest first at %d", i)
		}
	}
	// /market/candles only reaches back 1440 bars.
	old := now - 2000*60_000
	data(t, fmt.Sprintf("%s/api/v5/market/candles?instId=BTC-USDT&bar=1m&after=%d", base, old), &rows)
	if len(rows) != 0 {
		t.Fatalf("candles served a bar %d bars back", 2000)
	}
	data(t, fmt.Sprintf("%s/api/v5/market/history-candles?instId=BTC-USDT&bar=1m&after=%d&limit=1", base, old), &rows)
	if len(rows) != 1 {
		t.Fatal("history-candles did not serve an old bar")
	}
}

func TestCandleAlignment(t *testing.T) {
	s := frozen(t)
	base := s.REST("okx")
	tests := []struct {
		bar   string
		check func(time.Time) bool
	}{
		{"1D", func(t time.Time) bool { return t.Hour() == 16 && t.Minute() == 0 }},   // Hong Kong midnight
		{"1Dutc", func(t time.Time) bool { return t.Hour() == 0 && t.Minute() == 0 }}, // UTC midnight
		{"6H", func(t time.Time) bool { return t.Hour()%6 == 4 }},
		{"6Hutc", func(t time.Time) bool { return t.Hour()%6 == 0 }},
		{"1W", func(t time.Time) bool { return t.Weekday() == time.Sunday && t.Hour() == 16 }},
		{"1Wutc", func(t time.Time) bool { return t.Weekday() == time.Monday && t.Hour() == 0 }},
		{"1M", func(t time.Time) bool { return t.Day() == t.AddDate(0, 1, -t.Day()).Day() && t.Hour() == 16 }}, // last day of the month, 16:00
		{"1Mutc", func(t time.Time) bool { return t.Day() == 1 && t.Hour() == 0 }},
	}
	for _, tc := range tests {
		var rows []candleRow
		data(t, base+"/api/v5/market/history-candles?instId=BTC-USDT&limit=3&bar="+tc.bar, &rows)
		if len(rows) == 0 {
			t.Fatalf("%s: no rows", tc.bar)
		}
		for _, r := range rows {
			if at := time.UnixMilli(r.ts()).UTC(); !tc.check(at) {
				t.Errorf("%s bar opens at %s", tc.bar, at)
			}
		}
	}
	// UTC bars equal the truth's (which aligns as domain.Span.Floor does).
	var rows []candleRow
	data(t, base+"/api/v5/market/history-candles?instId=BTC-USDT&bar=1Dutc&limit=5", &rows)
	want, err := s.Truth("okx").Candles("BTC/USDT", domain.Span1d, domain.Nanos(fixedNow.Add(-5*24*time.Hour)), domain.Nanos(fixedNow))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		w := want[len(want)-1-i]
		if r.ts()*1e6 != w.OpenTime || !same(r[1], w.Open) || !same(r[4], w.Close) || !same(r[5], w.Volume) || !same(r[7], w.QuoteVolume) {
			t.Fatalf("row %v, truth %+v", r, w)
		}
	}
}

type tradeRow struct {
	InstID  string `json:"instId"`
	TradeID string `json:"tradeId"`
	Px      string `json:"px"`
	Sz      string `json:"sz"`
	Side    string `json:"side"`
	TS      string `json:"ts"`
}

func (r tradeRow) id() int64 { n, _ := strconv.ParseInt(r.TradeID, 10, 64); return n }
func (r tradeRow) ms() int64 { n, _ := strconv.ParseInt(r.TS, 10, 64); return n }

func TestHistoryTradesPagination(t *testing.T) {
	s := frozen(t)
	base := s.REST("okx") + "/api/v5/market/history-trades?instId=BTC-USDT"
	to := fixedNow.Add(-time.Hour)
	from := to.Add(-10 * time.Minute)
	// type=2: trades older than after (exclusive ms), newest first.
	var page []tradeRow
	data(t, fmt.Sprintf("%s&type=2&after=%d", base, to.UnixMilli()), &page)
	if len(page) != 100 || page[0].ms() >= to.UnixMilli() {
		t.Fatalf("type=2 page: %d rows, first %v", len(page), page[0])
	}
	// Walk back by id (type=1) to from: the ids are consecutive and the
	// trades are the truth's.
	var all []tradeRow
	for len(page) > 0 && page[len(page)-1].ms() >= from.UnixMilli() {
		for i, r := range page {
			if len(all) > 0 && r.id() != all[len(all)-1].id()-1 || i > 0 && r.ms() > page[i-1].ms() {
				t.Fatalf("row %v after %v", r, all[len(all)-1])
			}
			all = append(all, r)
		}
		data(t, fmt.Sprintf("%s&type=1&after=%d", base, page[len(page)-1].id()), &page)
	}
	for _, r := range page {
		if r.ms() >= from.UnixMilli() {
			all = append(all, r)
		}
	}
	want, err := s.Truth("okx").Trades("BTC/USDT", domain.Nanos(from), domain.Nanos(to))
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(want) {
		t.Fatalf("%d trades, truth %d", len(all), len(want))
	}
	for i, r := range all {
		w := want[len(want)-1-i]
		if r.TradeID != w.ID || r.ms()*1e6 != w.Time || !same(r.Px, w.Price) || !same(r.Sz, w.Amount) || r.Side != w.Side.String() {
			t.Fatalf("trade %v, truth %+v", r, w)
		}
	}
	// after and before together: the trades between, newest first.
	a, b := all[50].id(), all[10].id()
	data(t, fmt.Sprintf("%s&after=%d&before=%d", base, b, a), &page)
	if len(page) != 39 || page[0].id() != b-1 || page[38].id() != a+1 {
		t.Fatalf("between: %d rows %v…", len(page), page[:1])
	}
	// A lone before returns the latest trades (OKX: "the latest data").
	data(t, fmt.Sprintf("%s&before=%d&limit=5", base, a), &page)
	var latest []tradeRow
	data(t, base+"&limit=5", &latest)
	if len(page) != 5 || page[0] != latest[0] {
		t.Fatalf("lone before %v, latest %v", page, latest)
	}
	// before is refused with timestamp pagination.
	r := get(t, fmt.Sprintf("%s&type=2&before=%d", base, to.UnixMilli()))
	if r.status != 200 || !strings.Contains(string(r.body), `"code":"50039"`) {
		t.Fatalf("type=2 before: %d %s", r.status, r.body)
	}
}

func TestErrors(t *testing.T) {
	s := frozen(t)
	base := s.REST("okx")
	tests := []struct {
		path   string
		status int
		code   string
		msg    string
	}{
		{"/api/v5/market/history-candles?instId=FOO-BAR", 200, "51001", "Instrument ID or Spread ID doesn't exist."},
		{"/api/v5/market/history-candles?instId=BTC-USDT&bar=1h", 400, "51000", "Parameter bar error"},
		{"/api/v5/market/history-candles?instId=BTC-USDT&limit=101", 400, "51000", "Parameter limit error"},
		{"/api/v5/market/history-trades", 400, "50014", "Parameter instId can not be empty."},
		{"/api/v5/market/history-trades?instId=BTC-USDT&type=3", 400, "51000", "Parameter type error"},
		{"/api/v5/market/books?instId=BTC-USDT&sz=401", 400, "51000", "Parameter sz error"},
		{"/api/v5/public/instruments", 400, "50014", "Parameter instType can not be empty."},
		{"/api/v5/market/nothing", 404, "50005", ""},
	}
	for _, tc := range tests {
		r := get(t, base+tc.path)
		var e envelope
		if err := json.Unmarshal(r.body, &e); err != nil || r.status != tc.status || e.Code != tc.code || (tc.msg != "" && e.Msg != tc.msg) {
			t.Errorf("%s: %d %s", tc.path, r.status, r.body)
		}
		if tc.status == 200 && string(e.Data) != "[]" {
			t.Errorf("%s: data %s", tc.path, e.Data)
		}
	}
}

// TestRateLimitsPerEndpoint: each endpoint has its own limit; over it OKX
// answers 429 {"msg":"Too Many Requests","code":"50011"} without
// Retry-After (never 418), while other endpoints keep answering.
func TestRateLimitsPerEndpoint(t *testing.T) {
	s := frozen(t)
	base := s.REST("okx")
	status := func(path string) response {
		r := get(t, base+path)
		if r.status == 429 && (string(r.body) != `{"msg":"Too Many Requests","code":"50011"}` || r.header.Get("Retry-After") != "") {
			t.Fatalf("429: %s %v", r.body, r.header)
		}
		return r
	}
	for i := range 21 {
		r := status("/api/v5/market/history-candles?instId=BTC-USDT&limit=1")
		if (r.status == 429) != (i == 20) {
			t.Fatalf("request %d: %d (limit 20 per 2 s)", i+1, r.status)
		}
	}
	if r := status("/api/v5/market/books?instId=BTC-USDT"); r.status != 200 {
		t.Fatalf("another endpoint is limited too: %d %s", r.status, r.body)
	}
	// A client that keeps going is still answered 429, not 418.
	for range 10 {
		if r := status("/api/v5/market/history-candles?instId=BTC-USDT&limit=1"); r.status != 429 {
			t.Fatalf("%d %s", r.status, r.body)
		}
	}
	if st := s.Stats("okx"); st.Status429+st.Status418 != 11 {
		t.Fatalf("stats %+v", st)
	}
}

func TestBooksEqualTruth(t *testing.T) {
	s := frozen(t)
	var books []struct {
		Asks [][4]string `json:"asks"`
		Bids [][4]string `json:"bids"`
		TS   string      `json:"ts"`
	}
	data(t, s.REST("okx")+"/api/v5/market/books?instId=ETH-USDT&sz=400", &books)
	want, err := s.Truth("okx").Book("ETH/USDT", domain.Nanos(fixedNow), 400)
	if err != nil {
		t.Fatal(err)
	}
	b := books[0]
	if len(b.Bids) != len(want.Bids) || len(b.Asks) != len(want.Asks) || len(b.Bids) < 350 {
		t.Fatalf("%d/%d levels, truth %d/%d", len(b.Bids), len(b.Asks), len(want.Bids), len(want.Asks))
	}
	for i, l := range b.Bids {
		if !same(l[0], want.Bids[i].Price) || !same(l[1], want.Bids[i].Amount) || l[2] != "0" {
			t.Fatalf("bid %d %v, truth %v", i, l, want.Bids[i])
		}
	}
}

// same reports whether an OKX decimal string has the value of d.
func same(s string, d decimal.Decimal) bool {
	v, err := decimal.Parse(s)
	return err == nil && v.Cmp(d) == 0
}

func TestInstrumentsAndTime(t *testing.T) {
	s := frozen(t, simtest.Faults("okx", simFaultsSkew(-3*time.Second)))
	var ins []map[string]string
	data(t, s.REST("okx")+"/api/v5/public/instruments?instType=SPOT&instId=ETH-BTC", &ins)
	if len(ins) != 1 || ins[0]["instId"] != "ETH-BTC" || ins[0]["tickSz"] != "0.00001" || ins[0]["state"] != "live" {
		t.Fatalf("%v", ins)
	}
	data(t, s.REST("okx")+"/api/v5/public/instruments?instType=SWAP", &ins)
	if len(ins) != 0 {
		t.Fatalf("swaps %v", ins)
	}
	var ts []struct{ TS string }
	data(t, s.REST("okx")+"/api/v5/public/time", &ts)
	if ts[0].TS != strconv.FormatInt(fixedNow.Add(-3*time.Second).UnixMilli(), 10) {
		t.Fatalf("time %v", ts)
	}
}
