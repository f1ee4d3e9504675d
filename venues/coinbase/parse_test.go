package coinbase

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators/orderbook"
	"github.com/pype-go/pype/transport/httpc"
	"github.com/pype-go/pype/transport/paginate"
)

// The fixtures in testdata are real payloads recorded from Coinbase (see
// /work/shared/fixtures/README.md): REST candles and trades from
// api.exchange.coinbase.com (dccd, 2026), products and the level2 /
// ticker / matches feed from the former Pro endpoints (cryptofeed, 2021;
// same shapes as the Exchange API), and ccxt's static Exchange responses.
// Heartbeat and error feed messages have no recorded payload: their tests
// take the shape from the official Exchange WebSocket docs.

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
	sc.Buffer(nil, 1<<22)
	for sc.Scan() {
		if l := bytes.TrimSpace(sc.Bytes()); len(l) > 0 {
			out = append(out, append([]byte(nil), l...))
		}
	}
	return out
}

func d(s string) decimal.Decimal { return decimal.MustParse(s) }

func ts(t testing.TB, s string) int64 {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm.UnixNano()
}

func TestParseCandlesFixture(t *testing.T) {
	bars, err := parseCandles(readFixture(t, "rest_exchange_candles_BTC-USD_3600_2024-01-01_dccd.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	// start 00:00, end 06:00, 1h: six bars 05:00 … 00:00, newest first —
	// the venue served [start, end), not end's bar.
	if len(bars) != 6 {
		t.Fatalf("%d bars", len(bars))
	}
	for i, b := range bars {
		if want := ts(t, "2024-01-01T05:00:00Z") - int64(i)*int64(time.Hour); b.OpenTime != want {
			t.Fatalf("bar %d opens %s", i, domain.FormatNs(b.OpenTime))
		}
	}
	// [1704085200,42175.65,42396.09,42389.78,42231.47,188.12803304]:
	// time, LOW, HIGH, open, close, volume.
	b := bars[0]
	if b.Low.String() != "42175.65" || b.High.String() != "42396.09" || b.Open.String() != "42389.78" ||
		b.Close.String() != "42231.47" || b.Volume.String() != "188.12803304" || !b.QuoteVolume.IsZero() || b.Trades != 0 {
		t.Fatalf("bar 0 = %+v", b)
	}
	// A whole number (42200) is read exactly.
	if bars[1].Low.Cmp(d("42200")) != 0 {
		t.Fatalf("bar 1 low %s", bars[1].Low)
	}
}

func TestParseTradesFixture(t *testing.T) {
	rows, err := parseTrades(readFixture(t, "rest_exchange_trades_BTC-USD_limit5_dccd_2026-06-11.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 {
		t.Fatalf("%d trades", len(rows))
	}
	r := rows[0]
	// side "buy" is the maker's: the taker sold.
	if r.ID != 1036397971 || r.Trade.ID != "1036397971" || r.Trade.Side != domain.Sell ||
		r.Trade.Price.String() != "62929.43000000" || r.Trade.Amount.String() != "0.00002682" ||
		r.Trade.Time != ts(t, "2026-06-11T12:53:38.945255Z") {
		t.Fatalf("trade 0 = %+v", r)
	}
	// Newest first with contiguous ids; three trades share a microsecond
	// and stay distinct by id.
	for i := 1; i < len(rows); i++ {
		if rows[i].ID != rows[i-1].ID-1 {
			t.Fatalf("ids %d then %d", rows[i-1].ID, rows[i].ID)
		}
	}
	if rows[0].Trade.Time != rows[2].Trade.Time || rows[0].Trade.ID == rows[2].Trade.ID {
		t.Fatal("same-time trades merged")
	}
}

func TestParseCCXTStatic(t *testing.T) {
	var doc struct {
		Methods map[string][]struct {
			HTTPResponse json.RawMessage `json:"httpResponse"`
		} `json:"methods"`
	}
	if err := json.Unmarshal(readFixture(t, "ccxt_coinbaseexchange_response.json"), &doc); err != nil {
		t.Fatal(err)
	}
	// trade_id as a string, side "sell" (maker) → taker buy, as ccxt parses.
	rows, err := parseTrades(doc.Methods["fetchTrades"][0].HTTPResponse, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].ID != 18502034 || rows[0].Trade.Side != domain.Buy || rows[0].Trade.Price.String() != "73271.63000000" {
		t.Fatalf("%+v", rows)
	}
	bars, err := parseCandles(doc.Methods["fetchOHLCV"][0].HTTPResponse, nil)
	if err != nil {
		t.Fatal(err)
	}
	// ccxt reads [1710327600,73241.5,73402.47,73243.33,73370.65,1.56794406]
	// as o=73243.33 h=73402.47 l=73241.5 c=73370.65.
	b := bars[0]
	if b.OpenTime != 1710327600*int64(time.Second) || b.Open.String() != "73243.33" || b.High.String() != "73402.47" ||
		b.Low.String() != "73241.5" || b.Close.String() != "73370.65" || b.Volume.String() != "1.56794406" {
		t.Fatalf("%+v", b)
	}
}

func TestParseProductsFixture(t *testing.T) {
	ms, err := parseProducts(readFixture(t, "rest_pro_products_5of162_cryptofeed_2021-04-17.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 5 {
		t.Fatalf("%d markets", len(ms))
	}
	tab := newSymbolTable(ms)
	id, err := tab.venueSymbol(btcusd)
	if err != nil || id != "BTC-USD" {
		t.Fatalf("%q %v", id, err)
	}
	m := ms[tab.byCanon[btcusd]]
	if m.PriceTick.String() != "0.01" || m.AmountStep.String() != "0.00000001" || m.MinAmount.String() != "0.0001" ||
		m.MaxAmount.String() != "280" || m.MinNotional.String() != "5" || !m.Active || m.PriceScale != 2 || m.AmountScale != 8 {
		t.Fatalf("%+v", m)
	}
	if s, err := tab.canonical("skl-gbp"); err != nil || s.String() != "SKL/GBP" {
		t.Fatalf("%v %v", s, err)
	}
	_, err = tab.venueSymbol(domain.NewSymbol("BTC", "EUR"))
	var se *SymbolError
	if !errors.As(err, &se) || !errors.Is(err, ErrInvalidSymbol) || len(se.Suggestions) == 0 || se.VenueSymbol != "BTC-EUR" {
		t.Fatalf("%v", err)
	}
}

func TestParseServerTimeAndBook(t *testing.T) {
	// Shapes from the Exchange REST docs.
	ns, err := parseServerTime([]byte(`{"iso":"2015-01-07T23:47:25.201Z","epoch":1420674445.201}`))
	if err != nil || ns != ts(t, "2015-01-07T23:47:25.201Z") {
		t.Fatalf("%d %v", ns, err)
	}
	ns, err = parseServerTime([]byte(`{"epoch":1420674445.201}`))
	if err != nil || ns != ts(t, "2015-01-07T23:47:25.201Z") {
		t.Fatalf("epoch only: %d %v", ns, err)
	}
	b, err := parseBook([]byte(`{"bids":[["295.96","4.39088265",2]],"asks":[["295.97","25.23542881",12]],"sequence":3,"auction_mode":false,"auction":null,"time":"2024-01-01T00:00:00.123456Z"}`))
	if err != nil || b.Seq != 3 || b.Bids[0].Price.String() != "295.96" || b.Asks[0].Amount.String() != "25.23542881" || b.Time != ts(t, "2024-01-01T00:00:00.123456Z") {
		t.Fatalf("%+v %v", b, err)
	}
}

func TestParseFeedFixtures(t *testing.T) {
	kinds := map[msgKind]int{}
	for _, name := range []string{"ws_exchange_level2_ticker_matches_BAND-GBP_cryptofeed_2021-04-17.jsonl", "ws_exchange_level2_ticker_matches_SKL-GBP_cryptofeed_2021-04-17.jsonl"} {
		var m wsMsg
		for i, line := range readLines(t, name) {
			if err := parseWS(line, &m); err != nil {
				t.Fatalf("%s line %d: %v", name, i+1, err)
			}
			kinds[m.Kind]++
		}
	}
	want := map[msgKind]int{msgSubscriptions: 6, msgSnapshot: 2, msgL2Update: 760, msgMatch: 5, msgLastMatch: 2, msgOther: 7}
	for k, n := range want {
		if kinds[k] != n {
			t.Fatalf("%s: %d messages, want %d (all: %v)", kindName(k), kinds[k], n, kinds)
		}
	}
	var m wsMsg
	err := parseWS([]byte(`{"type":"match","trade_id":881614,"maker_order_id":"5ed36a94-cde3-48a7-83cb-505c85d5ba65","taker_order_id":"59668264-09c3-49fd-8833-58f24c69a145","side":"buy","size":"5","price":"14.7646","product_id":"BAND-GBP","sequence":333939588,"time":"2021-04-17T16:44:05.617399Z"}`), &m)
	if err != nil || m.Kind != msgMatch || string(m.Product) != "BAND-GBP" || m.Seq != 333939588 || m.Trade.ID != 881614 ||
		m.Trade.Trade.Side != domain.Sell || m.Trade.Trade.Amount.String() != "5" || m.Trade.Trade.Price.String() != "14.7646" ||
		m.Trade.Trade.Time != ts(t, "2021-04-17T16:44:05.617399Z") || m.Trade.Trade.ID != "881614" {
		t.Fatalf("%+v %v", m, err)
	}
	// Docs shapes (no recorded payload).
	if err := parseWS([]byte(`{"type":"heartbeat","sequence":90,"last_trade_id":20,"product_id":"BTC-USD","time":"2014-11-07T08:19:28.464459Z"}`), &m); err != nil ||
		m.Kind != msgHeartbeat || m.Seq != 90 || m.LastTradeID != 20 || m.Time != ts(t, "2014-11-07T08:19:28.464459Z") {
		t.Fatalf("heartbeat %+v %v", m, err)
	}
	if err := parseWS([]byte(`{"type":"error","message":"Failed to subscribe","reason":"BTC-XYZ is not a valid product"}`), &m); err != nil ||
		m.Kind != msgError || m.Message != "Failed to subscribe" || m.Reason != "BTC-XYZ is not a valid product" {
		t.Fatalf("error %+v %v", m, err)
	}
	// A match without its price is refused, not half-read.
	var de *DecodeError
	if err := parseWS([]byte(`{"type":"match","trade_id":1,"side":"buy","size":"1","product_id":"X-Y","time":"2021-04-17T16:44:05Z"}`), &m); !errors.As(err, &de) {
		t.Fatalf("missing price: %v", err)
	}
}

// TestFeedFixtureBookReplay replays the recorded level2 feed through the
// orderbook engine as StreamBooks feeds it, and checks each interleaved
// ticker's best bid and ask against the book: the recorded level2 and
// ticker messages agree (except the ticker sent on subscribing, which
// describes the last trade's moment, before the snapshot).
func TestFeedFixtureBookReplay(t *testing.T) {
	for _, name := range []string{"ws_exchange_level2_ticker_matches_BAND-GBP_cryptofeed_2021-04-17.jsonl", "ws_exchange_level2_ticker_matches_SKL-GBP_cryptofeed_2021-04-17.jsonl"} {
		t.Run(name[:40], func(t *testing.T) {
			eng, err := orderbook.NewEngine(orderbook.Config{Venue: Name, Continuity: orderbook.CoinbaseContinuity{}})
			if err != nil {
				t.Fatal(err)
			}
			defer eng.Close()
			var m wsMsg
			var seq int64
			var sym domain.Symbol
			checked, tickers := 0, 0
			for _, line := range readLines(t, name) {
				if err := parseWS(line, &m); err != nil {
					t.Fatal(err)
				}
				switch m.Kind {
				case msgSnapshot:
					sym, _ = domain.ParseSymbol(string(m.Product))
					if err := eng.Add(sym); err != nil {
						t.Fatal(err)
					}
					seq++
					if err := eng.HandleSnapshot(&domain.BookSnapshot{Symbol: sym, Seq: seq, Bids: m.Bids, Asks: m.Asks}); err != nil {
						t.Fatal(err)
					}
				case msgL2Update:
					seq++
					if err := eng.Handle(&domain.BookDelta{Symbol: sym, Seq: seq, Time: m.Time, Bids: m.Bids, Asks: m.Asks}); err != nil {
						t.Fatal(err)
					}
				case msgOther:
					var tk struct{ Type, BestBid, BestAsk string }
					tk.BestBid, tk.BestAsk = jsonField(line, "best_bid"), jsonField(line, "best_ask")
					v, ok := eng.Book(sym)
					if !ok || !v.Live() {
						t.Fatal("book not live")
					}
					bid, ask, err := v.Top()
					if err != nil {
						t.Fatal(err)
					}
					if tickers++; tickers == 1 {
						continue // the subscription's ticker
					}
					if bid.Price.Cmp(d(tk.BestBid)) != 0 || ask.Price.Cmp(d(tk.BestAsk)) != 0 {
						t.Fatalf("ticker %s/%s, book %s/%s", tk.BestBid, tk.BestAsk, bid.Price, ask.Price)
					}
					checked++
				}
			}
			st, _ := eng.Stats(sym)
			if st.Gaps != 0 || st.Crossed != 0 || st.Applied == 0 || st.State != orderbook.Live || checked == 0 {
				t.Fatalf("stats %+v", st)
			}
			t.Logf("%d tickers agree with the book", checked)
		})
	}
}

func jsonField(line []byte, key string) string {
	var mp map[string]any
	_ = json.Unmarshal(line, &mp)
	s, _ := mp[key].(string)
	return s
}

func TestParseTime(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"2026-06-11T12:53:38.945255Z", "2026-06-11T12:53:38.945255Z", true},
		{"2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", true},
		{"2024-02-29T23:59:59.999999999Z", "2024-02-29T23:59:59.999999999Z", true},
		{"1969-12-31T23:59:59.5Z", "1969-12-31T23:59:59.5Z", true},
		{"2024-01-01T01:00:00+01:00", "2024-01-01T00:00:00Z", true},
		{"2024-01-01T00:00:00.Z", "", false},
		{"2024-13-01T00:00:00Z", "", false},
		{"yesterday", "", false},
	} {
		got, ok := parseTime([]byte(tc.in))
		if ok != tc.ok || (ok && got != ts(t, tc.want)) {
			t.Errorf("parseTime(%q) = %d %v", tc.in, got, ok)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	for name, body := range map[string]string{
		"candles short row": `[[1704085200,1,2,3,4]]`,
		"candles string":    `{"message":"x"}`,
		"trades bad side":   `[{"trade_id":1,"side":"up","size":"1","price":"1","time":"2024-01-01T00:00:00Z"}]`,
		"trades bad time":   `[{"trade_id":1,"side":"buy","size":"1","price":"1","time":"soon"}]`,
		"trades truncated":  `[{"trade_id":1,"side":"buy","size":"1","price":"1","time":"2024-01-01T00:00:00Z"`,
		"trades bad price":  `[{"trade_id":1,"side":"buy","size":"1","price":"1.2.3","time":"2024-01-01T00:00:00Z"}]`,
	} {
		var err error
		switch name[:6] {
		case "candle":
			_, err = parseCandles([]byte(body), nil)
		default:
			_, err = parseTrades([]byte(body), nil)
		}
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestErrorClassification(t *testing.T) {
	for _, tc := range []struct {
		status  int
		msg     string
		product string
		want    error
	}{
		{404, "NotFound", "BTC-XYZ", ErrInvalidSymbol},
		{400, "Unsupported granularity", "BTC-USD", ErrInvalidGranularity},
		{400, "granularity too small for the requested time range. Count of aggregations requested exceeds 300", "BTC-USD", ErrTooManyCandles},
		{429, "Public rate limit exceeded", "BTC-USD", ErrTooManyRequests},
		{503, "", "", ErrVenueUnavailable},
		{400, "Invalid limit", "BTC-USD", ErrInvalidParameter},
		{401, "invalid signature", "", ErrUnauthorized},
	} {
		e := &APIError{Status: tc.status, Msg: tc.msg, Product: tc.product, Endpoint: epCandles.String()}
		if !errors.Is(e, tc.want) {
			t.Errorf("%d %q: %v does not match %v", tc.status, tc.msg, e, tc.want)
		}
	}
	e := &APIError{Status: 400, Msg: "granularity too small for the requested time range. Count of aggregations requested exceeds 300"}
	if !errors.Is(e, paginate.ErrTooLarge) {
		t.Fatal("the 300-bar rule must split windows")
	}
	if msg, ok := parseErrorBody([]byte(`{"message":"NotFound"}`)); !ok || msg != "NotFound" {
		t.Fatal(msg)
	}
	// A bare error object in a 200 body is an error, never an empty page.
	var se *httpc.SoftError
	if err := classifySoft(200, http.Header{}, []byte(`{"message":"Public rate limit exceeded"}`)); !errors.As(err, &se) || !se.Retryable {
		t.Fatalf("%v", err)
	}
	if err := classifySoft(200, http.Header{}, []byte(`{"message":"Internal error"}`)); !errors.As(err, &se) || se.Retryable {
		t.Fatalf("%v", err)
	}
	for _, ok := range []string{`[]`, `[{"trade_id":1}]`, `{"bids":[],"asks":[],"sequence":1}`, `{"iso":"x","message":"y"}`} {
		if err := classifySoft(200, http.Header{}, []byte(ok)); err != nil {
			t.Fatalf("%s: %v", ok, err)
		}
	}
}

func FuzzParseWS(f *testing.F) {
	f.Add([]byte(`{"type":"l2update","product_id":"BTC-USD","changes":[["buy","1.0","0.00"]],"time":"2021-04-17T16:43:37.083117Z"}`))
	f.Add([]byte(`{"type":"match","trade_id":1,"side":"buy","size":"1","price":"1","product_id":"X","time":"2021-04-17T16:43:37Z"}`))
	f.Add([]byte(`{"type":"snapshot","product_id":"X","bids":[["1","2"]],"asks":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m wsMsg
		_ = parseWS(b, &m)
	})
}
