package bybit_test

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim/simtest"
)

// stringified are the fields ccxt's recorder turned into strings; Bybit
// sends them as JSON numbers. ("time" only in the envelope: a trade's time
// is a string on Bybit too.)
var stringified = map[string]bool{"retCode": true, "envelope.time": true, "ts": true, "u": true, "seq": true}

// shape describes a JSON value's structure: field names and JSON types
// (arrays by their first element).
func shape(v any, key string, fixture bool) string {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			sub := k
			if key == "" && k == "time" {
				sub = "envelope.time"
			}
			parts[i] = k + ":" + shape(x[k], sub, fixture)
		}
		return "{" + strings.Join(parts, ",") + "}"
	case []any:
		if len(x) == 0 {
			return "[]"
		}
		return "[" + shape(x[0], "[]", fixture) + "]"
	case string:
		if fixture && stringified[key] {
			return "number"
		}
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

func ccxtResponse(t *testing.T, method, description string) any {
	t.Helper()
	var f struct {
		Methods map[string][]struct {
			Description  string `json:"description"`
			HTTPResponse any    `json:"httpResponse"`
		} `json:"methods"`
	}
	if err := json.Unmarshal(readFile(t, "ccxt_static_bybit_response.json"), &f); err != nil {
		t.Fatal(err)
	}
	for _, e := range f.Methods[method] {
		if e.Description == description {
			return e.HTTPResponse
		}
	}
	t.Fatalf("no %s %q", method, description)
	return nil
}

// TestRESTShapesMatchRecordedPayloads compares the simulator's answers with
// real v5 responses recorded by ccxt (numbers that ccxt stringified are
// compared as numbers): the same field names and JSON types.
func TestRESTShapesMatchRecordedPayloads(t *testing.T) {
	s := frozen(t)
	base := s.REST("bybit")
	start := fixedNow.Add(-3 * time.Hour).UnixMilli()
	for _, tc := range []struct {
		path, method, desc string
		extra              []string // fields the simulator adds (newer API versions)
	}{
		{fmt.Sprintf("/v5/market/kline?category=linear&symbol=BTCUSDT&interval=60&start=%d&limit=3", start), "fetchOHLCV", "swap ohlcv with since and limit", nil},
		{"/v5/market/orderbook?category=linear&symbol=BTCUSDT&limit=2", "fetchOrderBook", "swap orderbook", []string{"cts"}},
		{"/v5/market/orderbook?category=spot&symbol=BTCUSDT&limit=2", "fetchOrderBook", "Spot orderbook", []string{"cts", "seq"}},
		{"/v5/market/recent-trade?category=linear&symbol=BTCUSDT&limit=1", "fetchTrades", "swap public trade", nil},
	} {
		t.Run(tc.method+" "+tc.desc, func(t *testing.T) {
			var got any
			r := get(t, base+tc.path)
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatal(err)
			}
			if res, ok := got.(map[string]any)["result"].(map[string]any); ok {
				for _, k := range tc.extra {
					delete(res, k)
				}
			}
			want := ccxtResponse(t, tc.method, tc.desc)
			if g, w := shape(got, "", false), shape(want, "", true); g != w {
				t.Fatalf("shape\n got %s\nwant %s", g, w)
			}
		})
	}
}

func TestKlineSemantics(t *testing.T) {
	s := frozen(t)
	base := s.REST("bybit") + "/v5/market/kline?category=spot&symbol=BTCUSDT&interval=1"
	now := fixedNow.UnixMilli()
	var r struct {
		Symbol   string     `json:"symbol"`
		Category string     `json:"category"`
		List     [][]string `json:"list"`
	}
	// Newest first; default limit 200; the forming bar included.
	ok(t, base, &r)
	if r.Symbol != "BTCUSDT" || r.Category != "spot" || len(r.List) != 200 {
		t.Fatalf("%s %s %d rows", r.Symbol, r.Category, len(r.List))
	}
	first, _ := strconv.ParseInt(r.List[0][0], 10, 64)
	second, _ := strconv.ParseInt(r.List[1][0], 10, 64)
	latest, err := s.Truth("bybit").Candles("BTC/USDT", domain.Span1m, (now-600_000)*1e6, (now+1)*1e6)
	if err != nil || len(latest) == 0 {
		t.Fatal(err)
	}
	if first != latest[len(latest)-1].OpenTime/1e6 || second >= first || len(r.List[0]) != 7 {
		t.Fatalf("rows %v %v", r.List[0], r.List[1])
	}
	// start and end are inclusive; more bars than limit: the newest.
	startMs, endMs := now/60000*60000-10*60000, now/60000*60000-5*60000
	ok(t, fmt.Sprintf("%s&start=%d&end=%d", base, startMs, endMs), &r)
	if len(r.List) != 6 || r.List[0][0] != strconv.FormatInt(endMs, 10) || r.List[5][0] != strconv.FormatInt(startMs, 10) {
		t.Fatalf("inclusive bounds: %v", r.List)
	}
	ok(t, fmt.Sprintf("%s&start=%d&end=%d&limit=2", base, startMs, endMs), &r)
	if len(r.List) != 2 || r.List[0][0] != strconv.FormatInt(endMs, 10) {
		t.Fatalf("truncated page: %v", r.List)
	}
	// The rows are the truth's bars.
	want, err := s.Truth("bybit").Candles("BTC/USDT", domain.Span1m, startMs*1e6, (endMs+1)*1e6)
	if err != nil {
		t.Fatal(err)
	}
	ok(t, fmt.Sprintf("%s&start=%d&end=%d", base, startMs, endMs), &r)
	for i, w := range want {
		row := r.List[len(r.List)-1-i]
		if row[0] != strconv.FormatInt(w.OpenTime/1e6, 10) || row[4] != w.Close.String() && row[4] != w.Close.Pad(2).String() {
			t.Fatalf("row %v, truth %+v", row, w)
		}
	}
	// Weeks open on Monday, months on the 1st.
	for _, iv := range []string{"W", "M"} {
		ok(t, s.REST("bybit")+"/v5/market/kline?category=spot&symbol=BTCUSDT&interval="+iv+"&limit=3", &r)
		for _, row := range r.List {
			ms, _ := strconv.ParseInt(row[0], 10, 64)
			tm := time.UnixMilli(ms).UTC()
			if (iv == "W" && tm.Weekday() != time.Monday) || (iv == "M" && tm.Day() != 1) || tm.Hour() != 0 {
				t.Fatalf("%s bar opens %s", iv, tm)
			}
		}
	}
}

func TestRecentTradeAndBookLimits(t *testing.T) {
	s := frozen(t)
	base := s.REST("bybit") + "/v5/market/"
	var tr struct {
		Category string `json:"category"`
		List     []struct {
			ExecID string `json:"execId"`
			Time   string `json:"time"`
		} `json:"list"`
	}
	for _, tc := range []struct {
		query string
		n     int
	}{
		{"recent-trade?category=spot&symbol=BTCUSDT", 60},
		{"recent-trade?category=spot&symbol=BTCUSDT&limit=5", 5},
		{"recent-trade?symbol=BTCUSDT", 500}, // no category: linear
		{"recent-trade?category=linear&symbol=BTCUSDT&limit=1000", 1000},
	} {
		ok(t, base+tc.query, &tr)
		if len(tr.List) != tc.n {
			t.Fatalf("%s: %d trades", tc.query, len(tr.List))
		}
		for i := 1; i < len(tr.List); i++ {
			a, _ := strconv.ParseInt(tr.List[i-1].Time, 10, 64)
			b, _ := strconv.ParseInt(tr.List[i].Time, 10, 64)
			if b > a {
				t.Fatalf("%s: not newest first", tc.query)
			}
		}
	}
	if _, err := strconv.ParseInt(tr.List[0].ExecID, 10, 64); err == nil || len(tr.List[0].ExecID) != 36 {
		t.Fatalf("linear trade id %q is not UUID-shaped", tr.List[0].ExecID)
	}
	var ob struct {
		B [][]string `json:"b"`
		A [][]string `json:"a"`
	}
	for _, tc := range []struct {
		query string
		n     int
	}{{"orderbook?category=spot&symbol=BTCUSDT", 1}, {"orderbook?category=spot&symbol=BTCUSDT&limit=200", 200},
		{"orderbook?category=linear&symbol=BTCUSDT", 25}, {"orderbook?category=linear&symbol=ETHUSDT&limit=500", 500}} {
		ok(t, base+tc.query, &ob)
		if len(ob.B) != tc.n || len(ob.A) != tc.n {
			t.Fatalf("%s: %d/%d levels", tc.query, len(ob.B), len(ob.A))
		}
	}
}

func TestErrorsAreSoft(t *testing.T) {
	s := frozen(t)
	base := s.REST("bybit") + "/v5/market/"
	for _, tc := range []struct {
		query string
		code  int
		msg   string
	}{
		{"kline?category=spot&symbol=BTCUSDX&interval=1", 10001, "Not supported symbols"},
		{"kline?category=inverse&symbol=BTCUSD&interval=1", 10001, "Not supported symbols"},
		{"kline?category=spot&symbol=BTCUSDT&interval=2", 10001, "Invalid period!"},
		{"kline?category=futures&symbol=BTCUSDT&interval=1", 10001, "Illegal category"},
		{"kline?category=spot&interval=1", 10001, "params error: symbol is required"},
		{"kline?category=spot&symbol=BTCUSDT&interval=1&limit=1001", 10001, "params error: limit must be in [1, 1000]"},
		{"kline?category=spot&symbol=BTCUSDT&interval=1&start=x", 10001, "params error: start invalid"},
		{"recent-trade?category=spot&symbol=BTCUSDT&limit=61", 10001, "params error: limit must be in [1, 60]"},
		{"orderbook?category=spot&symbol=BTCUSDT&limit=201", 10001, "params error: limit must be in [1, 200]"},
	} {
		e := call(t, base+tc.query)
		if e.RetCode != tc.code || e.RetMsg != tc.msg || string(e.Result) != "{}" || e.Time != fixedNow.UnixMilli() {
			t.Fatalf("%s: %+v", tc.query, e)
		}
	}
	if r := get(t, base+"nothing"); r.status != 404 {
		t.Fatalf("unknown path: %d", r.status)
	}
}

func TestServerTimeAndInstruments(t *testing.T) {
	s := frozen(t)
	var tm struct {
		TimeSecond string `json:"timeSecond"`
		TimeNano   string `json:"timeNano"`
	}
	e := ok(t, s.REST("bybit")+"/v5/market/time", &tm)
	if tm.TimeSecond != strconv.FormatInt(fixedNow.Unix(), 10) || tm.TimeNano != strconv.FormatInt(fixedNow.UnixMilli()*1e6, 10) || e.Time != fixedNow.UnixMilli() {
		t.Fatalf("%+v %d", tm, e.Time)
	}
	var in struct {
		Category string `json:"category"`
		List     []struct {
			Symbol, BaseCoin, QuoteCoin, Status, ContractType string
			PriceFilter                                       struct{ TickSize string } `json:"priceFilter"`
		} `json:"list"`
		NextPageCursor *string `json:"nextPageCursor"`
	}
	ok(t, s.REST("bybit")+"/v5/market/instruments-info?category=spot", &in)
	if len(in.List) != 4 || in.List[0].Symbol != "BTCUSDT" || in.List[0].PriceFilter.TickSize != "0.01" || in.NextPageCursor != nil {
		t.Fatalf("%+v", in)
	}
	ok(t, s.REST("bybit")+"/v5/market/instruments-info?category=linear", &in)
	if len(in.List) != 2 || in.List[0].ContractType != "LinearPerpetual" || in.NextPageCursor == nil {
		t.Fatalf("%+v", in)
	}
}

func TestIPLimit(t *testing.T) {
	s := frozen(t, simtest.WeightLimit(5))
	url := s.REST("bybit") + "/v5/market/time"
	for i := 0; i < 5; i++ {
		r := get(t, url)
		if r.status != 200 || r.header.Get("X-Bapi-Limit") != "5" || r.header.Get("X-Bapi-Limit-Status") != strconv.Itoa(4-i) {
			t.Fatalf("request %d: %d %v", i, r.status, r.header)
		}
	}
	r := get(t, url)
	if r.status != 403 || !strings.Contains(string(r.body), "access too frequent") {
		t.Fatalf("over the limit: %d %s", r.status, r.body)
	}
	if st := s.Stats("bybit"); st.Status429 == 0 {
		t.Fatalf("refusal not counted: %+v", st)
	}
}
