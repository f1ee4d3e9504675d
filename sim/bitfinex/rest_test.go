package bitfinex_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
	"github.com/pype-go/pype/sim/bitfinex"
	"github.com/pype-go/pype/sim/simtest"
)

var fixedNow = time.Date(2024, 3, 15, 12, 30, 27, 345_000_000, time.UTC)

func frozen(t *testing.T, opts ...simtest.Option) *simtest.Sim {
	t.Helper()
	return simtest.Start(t, append([]simtest.Option{simtest.Venues("bitfinex"), simtest.Seed(3), simtest.Now(fixedNow), simtest.Frozen()}, opts...)...)
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// client is an HTTP client whose idle connections are closed after the
// test (goleak).
func client(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func get(t *testing.T, c *http.Client, url string) response {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

// rows decodes an array of arrays of numbers, keeping the number text.
func rows(t *testing.T, b []byte) [][]json.Number {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var out [][]json.Number
	if err := d.Decode(&out); err != nil {
		t.Fatalf("decode %.200s: %v", b, err)
	}
	return out
}

// TestRESTShapesMatchRecorded compares the simulator's answers with the
// recorded Bitfinex pages: same row lengths, numbers (not strings),
// integer ids and times, ascending with sort=1.
func TestRESTShapesMatchRecorded(t *testing.T) {
	s := frozen(t)
	c := client(t)
	base := s.REST("bitfinex") + "/v2"
	for _, tc := range []struct{ fixture, path string }{
		{"rest_candles_trade_1h_tBTCUSD_hist_limit5_sort1_dccd.json", "/candles/trade:1h:tBTCUSD/hist?limit=5&sort=1"},
		{"rest_trades_tBTCUSD_hist_limit5_sort1_dccd.json", "/trades/tBTCUSD/hist?limit=5&sort=1"},
	} {
		rec, err := os.ReadFile("testdata/" + tc.fixture)
		if err != nil {
			t.Fatal(err)
		}
		want := rows(t, rec)
		r := get(t, c, base+tc.path)
		if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
			t.Fatalf("%s: %d %s", tc.path, r.status, r.header)
		}
		got := rows(t, r.body)
		if len(got) != len(want) {
			t.Fatalf("%s: %d rows, recorded %d", tc.path, len(got), len(want))
		}
		for i := range got {
			if len(got[i]) != len(want[i]) {
				t.Fatalf("%s row %d: %d columns, recorded %d", tc.path, i, len(got[i]), len(want[i]))
			}
			for _, col := range []int{0, 1} { // MTS (candles), ID and MTS (trades): integers
				if strings.ContainsAny(got[i][col].String(), ".e") && (col == 0 || len(got[i]) == 4) {
					t.Fatalf("%s row %d col %d: %s is not an integer", tc.path, i, col, got[i][col])
				}
			}
			if i > 0 {
				a, _ := got[i-1][0].Int64()
				b, _ := got[i][0].Int64()
				if b <= a {
					t.Fatalf("%s: not ascending at row %d", tc.path, i)
				}
			}
		}
	}
	// The pair list has the recorded shape: [[names]].
	r := get(t, c, base+"/conf/pub:list:pair:exchange")
	var pairs [][]string
	if err := json.Unmarshal(r.body, &pairs); err != nil || len(pairs) != 1 || len(pairs[0]) != 5 {
		t.Fatalf("conf %s: %v", r.body, err)
	}
	if got := strings.Join(pairs[0], ","); got != "BTCUSD,ETHUSD,BTCUST,ETHBTC,DOGE:USD" {
		t.Fatalf("pairs %s", got)
	}
	r = get(t, c, base+"/conf/pub:list:pair:exchange,pub:map:currency:sym,pub:nope")
	if !strings.Contains(string(r.body), `["UST","USDT"]`) || !strings.HasSuffix(string(r.body), ",null]") {
		t.Fatalf("conf keys %s", r.body)
	}
	if r := get(t, c, base+"/platform/status"); string(r.body) != "[1]" {
		t.Fatalf("status %s", r.body)
	}
}

// TestRESTEqualsTruth: candles (note the column order), trades and the
// book as served are the market's truth.
func TestRESTEqualsTruth(t *testing.T) {
	s := frozen(t)
	c := client(t)
	base := s.REST("bitfinex") + "/v2"
	truth := s.Truth("bitfinex")
	now := domain.Nanos(fixedNow)
	from := now - int64(6*time.Hour)

	bars, _ := truth.Candles("BTC/USD", domain.Span1h, from, now)
	got := rows(t, get(t, c, fmt.Sprintf("%s/candles/trade:1h:tBTCUSD/hist?start=%d&end=%d&sort=1&limit=100", base, from/1e6, now/1e6)).body)
	if len(got) != len(bars) {
		t.Fatalf("%d candles, truth %d", len(got), len(bars))
	}
	for i, b := range bars {
		r := got[i]
		ms, _ := r[0].Int64()
		if ms*1e6 != b.OpenTime || !num(r[1], b.Open) || !num(r[2], b.Close) || !num(r[3], b.High) || !num(r[4], b.Low) || !num(r[5], b.Volume) {
			t.Fatalf("candle %d: %v, truth %+v", i, r, b)
		}
	}
	// Default sort -1: newest first; start and end inclusive.
	desc := rows(t, get(t, c, fmt.Sprintf("%s/candles/trade:1h:tBTCUSD/hist?start=%d&end=%d", base, bars[0].OpenTime/1e6, bars[2].OpenTime/1e6)).body)
	if len(desc) != 3 || desc[0][0].String() != fmt.Sprint(bars[2].OpenTime/1e6) {
		t.Fatalf("descending page %v", desc)
	}

	trades, _ := truth.Trades("BTC/USD", now-int64(time.Minute), now)
	tr := rows(t, get(t, c, fmt.Sprintf("%s/trades/tBTCUSD/hist?start=%d&end=%d&sort=1&limit=10000", base, (now-int64(time.Minute))/1e6, now/1e6-1)).body)
	if len(tr) != len(trades) || len(tr) == 0 {
		t.Fatalf("%d trades, truth %d", len(tr), len(trades))
	}
	for i, w := range trades {
		r := tr[i]
		amt := w.Amount
		if w.Side == domain.Sell {
			amt = amt.Neg()
		}
		if r[0].String() != w.ID || !num(r[2], amt) || !num(r[3], w.Price) {
			t.Fatalf("trade %d: %v, truth %+v", i, r, w)
		}
	}
	// sort=-1: newest first, same-millisecond trades by descending id.
	td := rows(t, get(t, c, fmt.Sprintf("%s/trades/tBTCUSD/hist?start=%d&end=%d&limit=10000", base, (now-int64(time.Minute))/1e6, now/1e6-1)).body)
	for i := range td {
		if td[i][0] != tr[len(tr)-1-i][0] {
			t.Fatalf("descending trades differ at %d", i)
		}
	}

	book, _ := truth.Book("DOGE/USD", now, 25)
	br := rows(t, get(t, c, base+"/book/tDOGE:USD/P0?len=25").body)
	if len(br) != 50 {
		t.Fatalf("%d book rows", len(br))
	}
	for i := range 25 {
		if !num(br[i][0], book.Bids[i].Price) || !num(br[i][2], book.Bids[i].Amount) ||
			!num(br[25+i][0], book.Asks[i].Price) || !num(br[25+i][2], book.Asks[i].Amount.Neg()) {
			t.Fatalf("book level %d: %v %v", i, br[i], br[25+i])
		}
		if n, _ := br[i][1].Int64(); n < 1 {
			t.Fatalf("count %v", br[i])
		}
	}
}

func num(n json.Number, want decimal.Decimal) bool {
	d, err := decimal.Parse(n.String())
	return err == nil && d.Cmp(want) == 0
}

func TestRESTErrors(t *testing.T) {
	s := frozen(t)
	c := client(t)
	base := s.REST("bitfinex") + "/v2"
	for _, tc := range []struct {
		path   string
		status int
		body   string
	}{
		{"/candles/trade:2h:tBTCUSD/hist", 500, `["error",10020,"time_interval: invalid"]`},
		{"/candles/trade:1m:tBTCUSD/hist?limit=10001", 500, `["error",10020,"limit: invalid"]`},
		{"/trades/tBTCUSD/hist?start=abc", 500, `["error",10020,"start: invalid"]`},
		{"/book/tXRPUSD/P0", 500, `["error",10020,"symbol: invalid"]`},
		{"/book/tBTCUSD/P0?len=50", 500, `["error",10020,"len: invalid"]`},
		{"/book/tBTCUSD/P2", 500, `["error",10020,"prec: invalid"]`},
		{"/trades/tXRPUSD/hist", 200, `[]`}, // Bitfinex: unknown symbols give empty pages
		{"/candles/trade:1m:tXRPUSD/hist", 200, `[]`},
		{"/nope", 404, ""},
	} {
		r := get(t, c, base+tc.path)
		if r.status != tc.status || (tc.body != "" && string(r.body) != tc.body) {
			t.Errorf("%s: %d %s, want %d %s", tc.path, r.status, r.body, tc.status, tc.body)
		}
	}
}

// TestRateLimitPerEndpoint: the 16th trades request in a minute is refused
// with 429 and blocks the trades endpoint; candles are not affected.
func TestRateLimitPerEndpoint(t *testing.T) {
	s := frozen(t)
	c := client(t)
	base := s.REST("bitfinex") + "/v2"
	for i := range 15 {
		if r := get(t, c, base+"/trades/tBTCUSD/hist?limit=1"); r.status != 200 {
			t.Fatalf("request %d: %d", i+1, r.status)
		}
	}
	r := get(t, c, base+"/trades/tETHUSD/hist?limit=1")
	if r.status != 429 || string(r.body) != `["error",11010,"ratelimit: error"]` || r.header.Get("Retry-After") != "" {
		t.Fatalf("16th: %d %s %v", r.status, r.body, r.header)
	}
	if r := get(t, c, base+"/candles/trade:1m:tBTCUSD/hist?limit=1"); r.status != 200 {
		t.Fatalf("candles blocked: %d", r.status)
	}
	if r := get(t, c, base+"/trades/tBTCUSD/hist?limit=1"); r.status != 429 {
		t.Fatalf("blocked endpoint answered %d", r.status)
	}
	if st := s.Stats("bitfinex"); st.Status429 != 1 || st.Faults["429_blocked"] != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestOptions(t *testing.T) {
	for _, bad := range []map[string]string{{"bitfinex.streamTick": "x"}, {"bitfinex.csCorruptEvery": "-1"}, {"bitfinex.blockDuration": "soon"}} {
		env, err := sim.NewEnv(t.Context(), bitfinex.New(), sim.Config{Options: bad})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bitfinex.New().Handler(env); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
