package okx

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/govalues/decimal"
	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators/orderbook"
	"github.com/pype-go/pype/transport/httpc"
)

// Recorded payloads used here (see testdata and
// /work/shared/fixtures/README.md):
//   - rest_public_instruments_{SPOT,SWAP}_*_cryptofeed_2022-05-13.json: live
//     GET /api/v5/public/instruments answers, trimmed to 4 rows.
//   - ws_books_{BTC-USDT,UNI-USD-SWAP}_*_cryptofeed_2022-05-13.jsonl: live
//     books frames (400-level snapshot + updates with checksums, no
//     seqId/prevSeqId: they predate those fields).
//   - ws_trades_BTC-USDT_gct.jsonl and ws_trades_tickers_*_cryptofeed: live
//     trades pushes (2025 with count, 2022 without).
//   - ccxt_okx_response.json: ccxt's static answers for market/candles,
//     market/trades and market/books (ccxt may stringify numbers; OKX
//     sends these as strings anyway).
// There is no recorded history-candles / history-trades page with
// after/before, no books frame with seqId and no error body: their shapes
// are taken from OKX's documentation (and served by sim/okx).

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fixtureLines(t testing.TB, name string) [][]byte {
	t.Helper()
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(fixture(t, name)))
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		out = append(out, append([]byte(nil), sc.Bytes()...))
	}
	return out
}

// ccxtResponse returns the raw httpResponse of a ccxt static entry.
func ccxtResponse(t testing.TB, method, description string) []byte {
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

func dec(s string) decimal.Decimal { return decimal.MustParse(s) }

func TestParseInstrumentsSpot(t *testing.T) {
	ms, err := parseInstruments(fixture(t, "rest_public_instruments_SPOT_4of513_cryptofeed_2022-05-13.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 4 {
		t.Fatalf("%d markets", len(ms))
	}
	m := ms[0]
	if m.Symbol != btcusdt || m.VenueSymbol != "BTC-USDT" || !m.Active || m.PriceTick.Cmp(dec("0.1")) != 0 ||
		m.AmountStep.Cmp(dec("0.00000001")) != 0 || m.MinAmount.Cmp(dec("0.00001")) != 0 || m.PriceScale != 1 || m.AmountScale != 8 {
		t.Fatalf("BTC-USDT = %+v", m)
	}
	if ms[2].Symbol != domain.NewSymbol("ETH", "BTC") || ms[2].PriceTick.String() != "0.00001" {
		t.Fatalf("ETH-BTC = %+v", ms[2])
	}
	tbl := newSymbolTable(ms)
	for _, tc := range []struct {
		in   string
		want string
	}{{"BTC/USDT", "BTC-USDT"}, {"btc-usdc", "BTC-USDC"}, {"XBT/USDT", "BTC-USDT"}} {
		id, err := tbl.instID(domain.MustParseSymbol(tc.in))
		if err != nil || id != tc.want {
			t.Errorf("instID(%s) = %q, %v; want %s", tc.in, id, err, tc.want)
		}
	}
	_, err = tbl.instID(domain.NewSymbol("BTC", "EUR"))
	var se *SymbolError
	if !errors.As(err, &se) || !errors.Is(err, ErrInvalidSymbol) || len(se.Suggestions) == 0 || !strings.Contains(err.Error(), "BTC-EUR") {
		t.Fatalf("unknown symbol: %v", err)
	}
	if _, err := tbl.instID(domain.MustParseSymbol("BTC/USDT:perp")); !errors.Is(err, domain.ErrNoCapability) {
		t.Fatalf("perp: %v", err)
	}
	if s, err := tbl.canonical("eth-usdt"); err != nil || s != domain.NewSymbol("ETH", "USDT") {
		t.Fatalf("canonical = %v, %v", s, err)
	}
	if s, err := (*symbolTable)(nil).instID(domain.NewSymbol("SOL", "USDT")); err != nil || s != "SOL-USDT" {
		t.Fatalf("naive mapping = %q, %v", s, err)
	}
}

func TestParseInstrumentsSwap(t *testing.T) {
	ms, err := parseInstruments(fixture(t, "rest_public_instruments_SWAP_4of166_cryptofeed_2022-05-13.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 4 || ms[0].Symbol != domain.MustParseSymbol("BTC/USD:perp") || ms[0].VenueSymbol != "BTC-USD-SWAP" || ms[0].Kind != domain.Perp {
		t.Fatalf("swaps = %+v", ms)
	}
}

func TestParseCandlesCCXT(t *testing.T) {
	rows, err := parseCandles(ccxtResponse(t, "fetchOHLCV", "spot ohlcv with limit and since"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows", len(rows))
	}
	// Newest first, as OKX sends them.
	b := rows[0].Bar
	if b.OpenTime != domain.MillisToNanos(1706637600000) || b.Open.String() != "43398.6" || b.High.String() != "43493.9" ||
		b.Low.String() != "43279.9" || b.Close.String() != "43373.9" || b.Volume.String() != "5070.79611732" ||
		b.QuoteVolume.String() != "220057933.233687634" || !b.Closed || rows[0].Confirm != 1 {
		t.Fatalf("row 0 = %+v", rows[0])
	}
	if rows[2].Bar.OpenTime >= rows[1].Bar.OpenTime {
		t.Fatal("rows are not newest first")
	}
}

func TestParseCandlesVariants(t *testing.T) {
	tests := []struct {
		name, body string
		confirm    int8
		quote      string
		err        string
	}{
		{"9 columns, in progress", `{"code":"0","msg":"","data":[["1","1","2","0.5","1.5","10","15","15","0"]]}`, 0, "15", ""},
		{"8 columns", `{"code":"0","msg":"","data":[["1","1","2","0.5","1.5","10","15","16"]]}`, -1, "16", ""},
		{"7 columns (volCcy is the quote volume)", `{"code":"0","msg":"","data":[["1","1","2","0.5","1.5","10","15"]]}`, -1, "15", ""},
		{"too few columns", `{"code":"0","msg":"","data":[["1","1","2","0.5","1.5","10"]]}`, 0, "", "columns"},
		{"bad confirm", `{"code":"0","msg":"","data":[["1","1","2","0.5","1.5","10","15","15","x"]]}`, 0, "", "confirm"},
		{"bad decimal", `{"code":"0","msg":"","data":[["1","1.2.3","2","0.5","1.5","10","15"]]}`, 0, "", "decimal"},
		{"venue error", `{"code":"51001","msg":"Instrument ID or Spread ID doesn't exist.","data":[]}`, 0, "", "51001"},
		{"no data", `{"code":"0","msg":""}`, 0, "", "no data"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := parseCandles([]byte(tc.body), nil)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 1 || rows[0].Confirm != tc.confirm || rows[0].Bar.QuoteVolume.String() != tc.quote {
				t.Fatalf("rows = %+v", rows)
			}
		})
	}
	// A venue error in the envelope unwraps to the typed sentinel.
	_, err := parseCandles([]byte(`{"code":"51001","msg":"x","data":[]}`), nil)
	if !errors.Is(err, ErrInvalidSymbol) {
		t.Fatalf("51001: %v", err)
	}
}

func TestParseTradesCCXTAndPushes(t *testing.T) {
	rows, err := parseTrades(ccxtResponse(t, "fetchTrades", "public spot trades"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].ID != 497859870 || rows[0].Trade.ID != "497859870" || rows[0].Trade.Side != domain.Sell ||
		rows[0].Trade.Price.String() != "73239.3" || rows[0].Trade.Amount.String() != "0.0009478" ||
		rows[0].Trade.Time != domain.MillisToNanos(1710327658374) {
		t.Fatalf("rows = %+v", rows)
	}
	// Live pushes: 2025 (with count) and 2022 (without).
	var fr frame
	n := 0
	for _, name := range []string{"ws_trades_BTC-USDT_gct.jsonl", "ws_trades_tickers_3instruments_cryptofeed_2022-05-13.jsonl"} {
		for _, line := range fixtureLines(t, name) {
			if err := parseFrame(line, &fr); err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			if string(fr.Channel) != "trades" || fr.Data == nil {
				continue
			}
			got, err := wsTrades(fr.Data, nil)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			for _, tr := range got {
				if tr.ID <= 0 || tr.Trade.Time <= 0 || !tr.Trade.Price.IsPos() || !tr.Trade.Amount.IsPos() || tr.Trade.Side == domain.SideUnknown {
					t.Fatalf("%s: %+v", line, tr)
				}
				n++
			}
		}
	}
	if n < 20 {
		t.Fatalf("only %d trades parsed", n)
	}
	if err := parseFrame(fixtureLines(t, "ws_trades_BTC-USDT_gct.jsonl")[0], &fr); err != nil {
		t.Fatal(err)
	}
	got, _ := wsTrades(fr.Data, nil)
	if got[0].Count != 1 || got[0].ID != 674510826 || string(fr.InstID) != "BTC-USDT" {
		t.Fatalf("gct push = %+v", got)
	}
	for _, bad := range []string{
		`[{"instId":"BTC-USDT","tradeId":"x1","px":"1","sz":"1","side":"buy","ts":"1"}]`,
		`[{"instId":"BTC-USDT","tradeId":"1","px":"1","sz":"1","side":"up","ts":"1"}]`,
		`[{"instId":"BTC-USDT","tradeId":"1","px":"1","sz":"1","ts":"1"}]`,
	} {
		if _, err := wsTrades([]byte(bad), nil); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestParseBookCCXT(t *testing.T) {
	b, err := parseBook(ccxtResponse(t, "fetchOrderBook", "spot orderbook"))
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Bids) != 2 || len(b.Asks) != 2 || b.Bids[0].Price.String() != "67973.3" || b.Asks[1].Amount.String() != "0.08292002" ||
		b.Time != domain.MillisToNanos(1712265035051) || b.Seq != 0 {
		t.Fatalf("book = %+v", b)
	}
	// books-full rows have no deprecated "0" column.
	b, err = parseBook([]byte(`{"code":"0","msg":"","data":[{"asks":[["41006.8","0.60038921","1"]],"bids":[["41006.3","0.30178218","2"]],"ts":"1629966436396"}]}`))
	if err != nil || b.Asks[0].Amount.String() != "0.60038921" || b.Bids[0].Price.String() != "41006.3" {
		t.Fatalf("books-full = %+v, %v", b, err)
	}
	if _, err := parseBook([]byte(`{"code":"0","msg":"","data":[]}`)); err == nil {
		t.Fatal("empty data accepted")
	}
}

// replayBooks feeds a recorded books capture through the parser and the
// sync engine and returns the engine's stats.
func replayBooks(t *testing.T, name string, corrupt int) (orderbook.Stats, domain.Symbol) {
	t.Helper()
	eng, err := orderbook.NewEngine(orderbook.Config{Venue: Name, Continuity: orderbook.OKXContinuity{}, Checksum: orderbook.OKXChecksum{Depth: 25},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	var sym domain.Symbol
	var fr frame
	var msg bookMsg
	var d domain.BookDelta
	n := 0
	for _, line := range fixtureLines(t, name) {
		if err := parseFrame(line, &fr); err != nil {
			t.Fatal(err)
		}
		if fr.Event != nil {
			continue
		}
		if sym.IsZero() {
			if sym, err = symbolOf(string(fr.InstID)); err != nil {
				t.Fatal(err)
			}
			if err := eng.Add(sym); err != nil {
				t.Fatal(err)
			}
		}
		if err := wsBook(fr.Data, &msg); err != nil {
			t.Fatal(err)
		}
		if msg.HasSeq {
			t.Fatal("the 2022 capture has seqId")
		}
		if n++; n == corrupt {
			msg.Checksum++
		}
		msg.delta(sym, string(fr.Action) == "snapshot", 1, &d)
		if err := eng.Handle(&d); err != nil {
			t.Fatal(err)
		}
	}
	st, _ := eng.Stats(sym)
	return st, sym
}

func TestBooksCaptureChecksumsWithoutSeqID(t *testing.T) {
	for _, name := range []string{
		"ws_books_BTC-USDT_snapshot_updates_checksum_cryptofeed_2022-05-13.jsonl",
		"ws_books_UNI-USD-SWAP_snapshot_updates_checksum_cryptofeed_2022-05-13.jsonl",
	} {
		st, sym := replayBooks(t, name, 0)
		if st.State != orderbook.Live || st.ChecksumFailures != 0 || st.Gaps != 0 || st.ChecksumChecks < 90 || st.Applied < 90 {
			t.Fatalf("%s: %+v", sym, st)
		}
		// A corrupted checksum is caught and the book leaves the live state.
		st, sym = replayBooks(t, name, 20)
		if st.ChecksumFailures != 1 || st.State == orderbook.Live {
			t.Fatalf("%s corrupted: %+v", sym, st)
		}
	}
}

func TestWSFrames(t *testing.T) {
	var fr frame
	tests := []struct {
		in                         string
		event, channel, inst, code string
		data                       bool
	}{
		{`{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"},"connId":"a4d3ae55"}`, "subscribe", "books", "BTC-USDT", "", false},
		{`{"id":"1512","event":"error","code":"60012","msg":"Invalid request","connId":"a4d3ae55"}`, "error", "", "", "60012", false},
		{`{"event":"notice","code":"64008","msg":"The connection will soon be closed for a service upgrade. Please reconnect.","connId":"a4d3ae55"}`, "notice", "", "", "64008", false},
		{`{"arg":{"channel":"candle1m","instId":"BTC-USDT"},"data":[["1597026383085","8533.02","8553.74","8527.17","8548.26","45247","529.5858061","5529.5858061","0"]]}`, "", "candle1m", "BTC-USDT", "", true},
		{`{"data":[1],"arg":{"channel":"x","instId":"Y"}}`, "", "x", "Y", "", true},
	}
	for _, tc := range tests {
		if err := parseFrame([]byte(tc.in), &fr); err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if string(fr.Event) != tc.event || string(fr.Channel) != tc.channel || string(fr.InstID) != tc.inst || string(fr.Code) != tc.code || (fr.Data != nil) != tc.data {
			t.Fatalf("%s: %+v", tc.in, fr)
		}
	}
	// The documented candle push (no recorded one exists).
	if err := parseFrame([]byte(tests[3].in), &fr); err != nil {
		t.Fatal(err)
	}
	cs, err := wsCandles(fr.Data, nil)
	if err != nil || len(cs) != 1 || cs[0].Confirm != 0 || cs[0].Bar.Closed || cs[0].Bar.QuoteVolume.String() != "5529.5858061" {
		t.Fatalf("candle push = %+v, %v", cs, err)
	}
	if !isPong([]byte("pong")) || isPong([]byte(`{"event":"pong"}`)) {
		t.Fatal("pong filter")
	}
	if err := parseFrame([]byte(`{"arg":`), &fr); err == nil {
		t.Fatal("truncated frame accepted")
	}
}

func TestDocumentedBooksMessageWithSeqID(t *testing.T) {
	// OKX's documented books snapshot and update (prevSeqId -1 on the
	// snapshot); no live capture with seqId exists in the fixtures.
	snap := `[{"asks":[["8476.98","415","0","13"]],"bids":[["8476.97","256","0","12"]],"ts":"1597026383085","checksum":-855196043,"prevSeqId":-1,"seqId":123456}]`
	var m bookMsg
	if err := wsBook([]byte(snap), &m); err != nil {
		t.Fatal(err)
	}
	var d domain.BookDelta
	m.delta(btcusdt, true, 5, &d)
	if !d.Reset || d.Seq != 123456 || d.PrevSeq != -1 || !d.HasChecksum || int32(d.Checksum) != -855196043 || d.RecvTime != 5 ||
		d.Time != domain.MillisToNanos(1597026383085) || len(d.Bids) != 1 || d.Asks[0].Amount.String() != "415" {
		t.Fatalf("delta = %+v", d)
	}
	if int32(d.Checksum) != -855196043 {
		t.Fatal("checksum sign")
	}
}

func TestClassifyBody(t *testing.T) {
	tests := []struct {
		status    int
		body      string
		code      string
		retryable bool
	}{
		{200, `{"code":"0","msg":"","data":[]}`, "", false},
		{200, `{"msg":"","code":"0","data":[]}`, "", false},
		{200, `{"code":"50011","msg":"Rate limit reached. Please refer to API documentation and throttle requests accordingly.","data":[]}`, "50011", true},
		{200, `{"code":"50013","msg":"Systems are busy. Please try again later.","data":[]}`, "50013", true},
		{200, `{"code":"51001","msg":"Instrument ID or Spread ID doesn't exist.","data":[]}`, "51001", false},
		{200, `{"code":"50039","msg":"Parameter \"before\" isn't supported for timestamp pagination","data":[]}`, "50039", false},
		{200, `not json`, "", false},
	}
	for _, tc := range tests {
		err := classifyBody(tc.status, http.Header{}, []byte(tc.body))
		if tc.code == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.body, err)
			}
			continue
		}
		var se *httpc.SoftError
		if !errors.As(err, &se) || se.Code != tc.code || se.Retryable != tc.retryable {
			t.Errorf("%s: %#v", tc.body, err)
		}
	}
	if c, m := decodeError(429, []byte(`{"msg":"Too Many Requests","code":"50011"}`)); c != "50011" || m != "Too Many Requests" {
		t.Fatalf("decodeError = %q %q", c, m)
	}
}

func TestAPIErrorSentinels(t *testing.T) {
	tests := []struct {
		status int
		code   string
		msg    string
		want   error
		temp   bool
	}{
		{200, "51001", "Instrument ID or Spread ID doesn't exist.", ErrInvalidSymbol, false},
		{400, "51000", "Parameter bar error", ErrInvalidInterval, false},
		{400, "51000", "Parameter limit error", ErrInvalidParameter, false},
		{400, "50014", "Parameter instId can not be empty.", ErrInvalidParameter, false},
		{429, "50011", "Too Many Requests", ErrTooManyRequests, true},
		{200, "50011", "Rate limit reached.", ErrTooManyRequests, true},
		{503, "50001", "Service temporarily unavailable.", ErrVenueUnavailable, true},
		{401, "50113", "Invalid signature.", ErrUnauthorized, false},
		{502, "", "", ErrVenueUnavailable, true},
	}
	for _, tc := range tests {
		e := &APIError{Status: tc.status, Code: tc.code, Msg: tc.msg, Endpoint: epHistoryCandles.String()}
		if !errors.Is(e, tc.want) || e.Temporary() != tc.temp {
			t.Errorf("%d %s: Is(%v) = false or temporary %v", tc.status, tc.code, tc.want, e.Temporary())
		}
	}
	msg := (&APIError{Status: 400, Code: "51000", Msg: "Parameter bar error", Endpoint: "GET /x"}).Error()
	if !strings.Contains(msg, "HTTP 400") || !strings.Contains(msg, "51000") || !strings.Contains(msg, "1Dutc") && !strings.Contains(msg, "1d") {
		t.Fatalf("message %q", msg)
	}
}

func TestBar(t *testing.T) {
	tests := map[domain.Span]string{
		domain.Span1s: "1s", domain.Span1m: "1m", domain.Span15m: "15m", domain.Span1h: "1H", domain.Span4h: "4H",
		domain.Span6h: "6Hutc", domain.Span12h: "12Hutc", domain.Span1d: "1Dutc", domain.Span1w: "1Wutc",
		domain.Span1M: "1Mutc", domain.Months(3): "3Mutc",
	}
	for sp, want := range tests {
		if got, err := Bar(sp); err != nil || got != want {
			t.Errorf("Bar(%s) = %q, %v; want %s", sp, got, err, want)
		}
	}
	for _, sp := range []domain.Span{domain.Span8h, domain.Span3d, 2 * domain.Span1d, domain.Span2h * 3 / 2} {
		_, err := Bar(sp)
		var be *BarError
		if !errors.As(err, &be) || !errors.Is(err, ErrInvalidInterval) || !errors.Is(err, domain.ErrNoCapability) {
			t.Errorf("Bar(%s): %v", sp, err)
		}
	}
	if len(Spans()) != len(barNames) {
		t.Fatal("Spans and bar names disagree")
	}
	for _, c := range Info().Capabilities {
		if c.DataType == domain.OHLC && len(c.Spans) != len(barNames) {
			t.Fatalf("capability spans %v", c.Spans)
		}
	}
}
