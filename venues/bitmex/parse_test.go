package bitmex

import (
	"bufio"
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/govalues/decimal"
	"go.uber.org/goleak"

	"github.com/pype-go/pype/domain"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

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

func ts(s string) int64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UnixNano()
}

// TestParseBucketsCloseStamp parses the recorded page of
// trade/bucketed?binSize=1h&startTime=2024-01-01T00:00:00Z: its first row
// is stamped 00:00 — the CLOSE of the hour that opened at 23:00 on
// 2023-12-31. Reading the stamp as an open time shifts every bar by one
// hour.
func TestParseBucketsCloseStamp(t *testing.T) {
	bars, err := parseBuckets(readFixture(t, "rest_trade_bucketed_XBTUSD_1h_count5_2024-01-01_dccd.json"), domain.Span1h, "XBTUSD", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(bars) != 5 {
		t.Fatalf("%d bars", len(bars))
	}
	b := bars[0]
	if b.OpenTime != ts("2023-12-31T23:00:00Z") {
		t.Fatalf("first bar opens %s, want 2023-12-31T23:00:00Z (stamp 00:00 is the close)", domain.FormatNs(b.OpenTime))
	}
	for i := 1; i < len(bars); i++ {
		if bars[i].OpenTime != bars[i-1].OpenTime+int64(time.Hour) {
			t.Fatalf("bar %d opens %s", i, domain.FormatNs(bars[i].OpenTime))
		}
		if bars[i].Open.Cmp(bars[i-1].Close) != 0 {
			t.Fatalf("bar %d opens at %s, the previous closed at %s", i, bars[i].Open, bars[i-1].Close)
		}
	}
	// Decimals keep the venue's digits ("42282.0"), no float round trip.
	if b.Open.String() != "42282.0" || b.High.String() != "42374.0" || b.Low.String() != "42083.5" || b.Close.String() != "42312.0" {
		t.Fatalf("OHLC %s %s %s %s", b.Open, b.High, b.Low, b.Close)
	}
	if b.Volume.String() != "11776000" || b.Trades != 3182 || b.QuoteVolume.String() != "11776000" || !b.Closed {
		t.Fatalf("bar %+v", b)
	}
	// A page of another instrument is an error, not data.
	if _, err := parseBuckets(readFixture(t, "rest_trade_bucketed_XBTUSD_1h_count5_2024-01-01_dccd.json"), domain.Span1h, "ETHUSD", nil); err == nil {
		t.Fatal("rows of XBTUSD accepted for ETHUSD")
	}
}

func TestParseBucketsEmptyAndNull(t *testing.T) {
	// Shapes of BitMEX's empty buckets (docs and issue reports; no
	// recorded page holds one): a flat OHLC at the previous close with
	// trades 0 and null vwap/lastSize, and null prices before any trade.
	body := []byte(`[{"timestamp":"2017-01-01T00:00:00.000Z","symbol":"XBTUSD","open":968.29,"high":968.29,"low":968.29,"close":968.29,"trades":0,"volume":0,"vwap":null,"lastSize":null,"turnover":0,"homeNotional":0,"foreignNotional":0},
	{"timestamp":"2017-01-01T00:01:00.000Z","symbol":"XBTUSD","open":null,"high":null,"low":null,"close":null,"trades":0,"volume":0,"vwap":null,"lastSize":null,"turnover":0,"homeNotional":0,"foreignNotional":0},
	{"timestamp":"2017-01-01T00:02:00.000Z","symbol":"XBTUSD","open":968.29,"high":968.76,"low":968.49,"close":968.7,"trades":17,"volume":12993,"vwap":968.72,"lastSize":2000,"turnover":1341256747,"homeNotional":13.412567469999997,"foreignNotional":12993}]`)
	bars, err := parseBuckets(body, domain.Span1m, "XBTUSD", nil)
	if err != nil {
		t.Fatal(err)
	}
	if bars[0].Trades != 0 || bars[0].Close.String() != "968.29" || bars[1].Trades != 0 || !bars[1].Close.IsZero() || bars[2].Trades != 17 {
		t.Fatalf("%+v", bars)
	}
	if bars[0].OpenTime != ts("2016-12-31T23:59:00Z") {
		t.Fatalf("open %s", domain.FormatNs(bars[0].OpenTime))
	}
}

func TestRoundSignificant(t *testing.T) {
	for in, want := range map[string]string{
		"236.63312793999998": "236.63312794",
		"13.412567469999997": "13.41256747",
		"11776000":           "11776000",
		"0.00027285":         "0.00027285",
		"377.98584298584296": "377.985842985843",
	} {
		if got := roundSignificant(decimal.MustParse(in), notionalDigits).String(); got != want {
			t.Errorf("%s → %s, want %s", in, got, want)
		}
	}
}

// TestParseTradesSameMillisecond parses the recorded trade page: the last
// two trades share 00:00:05.020 and stay distinct by trdMatchID. (The
// recording's last row had its side edited to Buy by its publisher.)
func TestParseTradesSameMillisecond(t *testing.T) {
	trades, err := parseTrades(readFixture(t, "rest_trade_XBTUSD_count5_2024-01-01_dccd_lastSideEdited.json"), "XBTUSD", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(trades) != 5 {
		t.Fatalf("%d trades", len(trades))
	}
	first := trades[0]
	if first.ID != "00000000-006d-1000-0000-0003ad666d43" || first.Time != ts("2024-01-01T00:00:01.235Z") ||
		first.Price.String() != "42315.0" || first.Amount.String() != "14200" || first.Side != domain.Sell {
		t.Fatalf("first %+v", first)
	}
	a, b := trades[3], trades[4]
	if a.Time != b.Time || a.ID == b.ID || b.Side != domain.Buy || a.Side != domain.Sell {
		t.Fatalf("same-millisecond trades %+v %+v", a, b)
	}
	// nextCursor after a page ending inside 00:00:05.020 continues at that
	// millisecond, skipping the two trades of it already read.
	c := nextCursor(TradeCursor{From: domain.NanosToMillis(ts("2024-01-01T00:00:00Z")), End: 42}, trades)
	if c != (TradeCursor{From: domain.NanosToMillis(a.Time), Offset: 2, End: 42}) {
		t.Fatalf("next cursor %+v", c)
	}
}

func TestNextCursor(t *testing.T) {
	tr := func(ms ...int64) []domain.Trade {
		out := make([]domain.Trade, len(ms))
		for i, m := range ms {
			out[i] = domain.Trade{Time: domain.MillisToNanos(m)}
		}
		return out
	}
	for _, c := range []struct {
		name string
		cur  TradeCursor
		rows []domain.Trade
		want TradeCursor
	}{
		{"empty page keeps the cursor", TradeCursor{From: 5, Offset: 3}, nil, TradeCursor{From: 5, Offset: 3}},
		{"ends on a new millisecond", TradeCursor{From: 5}, tr(5, 6, 7), TradeCursor{From: 7, Offset: 1}},
		{"ends inside a burst", TradeCursor{From: 5}, tr(5, 7, 7, 7), TradeCursor{From: 7, Offset: 3}},
		{"whole page in the cursor's millisecond", TradeCursor{From: 7, Offset: 3}, tr(7, 7), TradeCursor{From: 7, Offset: 5}},
		{"page starting in the cursor's millisecond", TradeCursor{From: 7, Offset: 3}, tr(7, 8, 8), TradeCursor{From: 8, Offset: 2}},
	} {
		if got := nextCursor(c.cur, c.rows); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestParseInstrumentsAndSymbols(t *testing.T) {
	insts, err := parseInstruments(readFixture(t, "rest_instrument_active_5of34_cryptofeed_2021-07-22.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(insts) != 5 {
		t.Fatalf("%d instruments", len(insts))
	}
	xbt := insts[2]
	if xbt.Symbol != "XBTUSD" || !xbt.IsInverse || xbt.TickSize.String() != "0.5" || xbt.LotSize.String() != "100" ||
		xbt.Multiplier.String() != "-100000000" || xbt.Typ != typPerpetual || xbt.Expiry != 0 {
		t.Fatalf("XBTUSD %+v", xbt)
	}
	now := ts("2021-07-22T22:36:00Z")
	tab := newSymbolTable(insts, now)
	for _, c := range []struct{ canon, venue string }{
		{"BTC/USD:perp", "XBTUSD"},
		{"XBT/USD:perp", "XBTUSD"},
		{"ETH/USD:perp", "ETHUSD"},
		{"ADA/USDT:perp", "ADAUSDT"},
		{"SOL/USDT:perp", "SOLUSDT"},
		{"BTC/USD:quarter", "XBTU21"},
	} {
		sym := domain.MustParseSymbol(c.canon)
		v, err := tab.venueSymbol(sym)
		if err != nil || v != c.venue {
			t.Errorf("%s → %q, %v; want %s", c.canon, v, err, c.venue)
		}
		back, err := tab.canonical(c.venue)
		if err != nil || back.Market != sym.Market || back.Base != sym.Base {
			t.Errorf("%s → %v, %v", c.venue, back, err)
		}
	}
	_, m, ok := tab.instrument(domain.MustParseSymbol("SOL/USDT:perp"))
	if !ok || m.PriceTick.String() != "0.001" || m.PriceScale != 3 || m.AmountStep.String() != "1" || !m.Active {
		t.Fatalf("SOLUSDT market %+v", m)
	}
	// Unknown symbols: typed, with suggestions; spot: not served.
	_, err = tab.venueSymbol(domain.MustParseSymbol("BTC/EUR:perp"))
	var se *SymbolError
	if !errors.As(err, &se) || !errors.Is(err, ErrInvalidSymbol) || len(se.Suggestions) == 0 || se.VenueSymbol != "XBTEUR" {
		t.Fatalf("%v", err)
	}
	_, err = tab.venueSymbol(domain.MustParseSymbol("BTC/USD"))
	if !errors.Is(err, domain.ErrNoCapability) {
		t.Fatalf("spot: %v", err)
	}
	t.Log(err)
	// After the quarterly expired, BTC/USD:quarter is gone.
	if _, err := newSymbolTable(insts, ts("2021-09-25T00:00:00Z")).venueSymbol(domain.MustParseSymbol("BTC/USD:quarter")); !errors.Is(err, ErrInvalidSymbol) {
		t.Fatalf("expired future: %v", err)
	}
}

func TestParseErrorBody(t *testing.T) {
	for _, c := range []struct {
		body, name, msg string
		ok              bool
	}{
		{`{"error":{"message":"Rate limit exceeded, retry in 1 seconds.","name":"RateLimitError"}}`, "RateLimitError", "Rate limit exceeded, retry in 1 seconds.", true},
		{`{"error":{"message":"Invalid binSize","name":"HTTPError"}}`, "HTTPError", "Invalid binSize", true},
		{`<html><body>403 Forbidden</body></html>`, "", "", false},
		{`[]`, "", "", false},
	} {
		name, msg, ok := parseErrorBody([]byte(c.body))
		if name != c.name || msg != c.msg || ok != c.ok {
			t.Errorf("%s → %q %q %v", c.body, name, msg, ok)
		}
	}
}

func TestAPIErrorClassification(t *testing.T) {
	for _, c := range []struct {
		status int
		name   string
		msg    string
		is     error
		temp   bool
	}{
		{429, "RateLimitError", "Rate limit exceeded, retry in 1 seconds.", ErrTooManyRequests, true},
		{403, "", "403 Forbidden", ErrIPBanned, true},
		{400, "HTTPError", "Invalid binSize \"2h\"", ErrInvalidInterval, false},
		{400, "ValidationError", "count must be ≤ 1000", ErrInvalidParameter, false},
		{404, "NotFoundError", "Instrument not found", ErrInvalidSymbol, false},
		{503, "HTTPError", "The system is currently overloaded. Please try again later.", ErrVenueUnavailable, true},
		{401, "HTTPError", "Signature not valid.", ErrUnauthorized, false},
	} {
		e := &APIError{Status: c.status, Name: c.name, Msg: c.msg, Endpoint: "GET /trade"}
		if !errors.Is(e, c.is) || e.Temporary() != c.temp {
			t.Errorf("%d %s: %v (temporary %v)", c.status, c.msg, e, e.Temporary())
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	for in, want := range map[string]int64{
		"2024-01-01T00:00:01.235Z":  ts("2024-01-01T00:00:01.235Z"),
		"2021-07-22T22:36:07.865Z":  ts("2021-07-22T22:36:07.865Z"),
		"2024-01-01T00:00:00Z":      ts("2024-01-01T00:00:00Z"),
		"2024-01-01T01:00:00+01:00": ts("2024-01-01T00:00:00Z"),
	} {
		got, ok := parseTimestamp([]byte(in))
		if !ok || got != want {
			t.Errorf("%s → %d %v", in, got, ok)
		}
	}
	if _, ok := parseTimestamp([]byte("2024-13-01T00:00:01.235Z")); ok {
		t.Error("month 13 accepted")
	}
	if got := formatTime(ts("2024-01-01T00:00:01.235Z")); got != "2024-01-01T00:00:01.235Z" {
		t.Errorf("format %s", got)
	}
}

// TestParseWSFrames reads every frame of the recorded realtime sessions:
// welcome, acks, trade partials and inserts (live 2021), and a hand-made
// trade session.
func TestParseWSFrames(t *testing.T) {
	var f wsFrame
	kinds := map[frameKind]int{}
	trades := 0
	for _, name := range []string{"ws_trade_quote_10symbols_cryptofeed_2021-07-22.jsonl", "handmade_ws_trade_XBTUSD_dccd.jsonl"} {
		for i, line := range readLines(t, name) {
			if err := parseFrame(line, &f); err != nil {
				t.Fatalf("%s line %d: %v", name, i+1, err)
			}
			kinds[f.Kind]++
			switch {
			case f.Kind == frameInfo && f.Remaining != 39:
				t.Fatalf("%s: welcome remaining %d", name, f.Remaining)
			case f.Kind == frameAck && (len(f.Topic) == 0 || string(f.Op) != "subscribe"):
				t.Fatalf("%s line %d: ack %+v", name, i+1, f)
			case f.Kind == frameTable && string(f.Table) == "trade":
				rows, err := parseTradeRows(f.Data, nil)
				if err != nil {
					t.Fatalf("%s line %d: %v", name, i+1, err)
				}
				for _, r := range rows {
					if len(r.Symbol) == 0 || r.Trade.ID == "" || !r.Trade.Price.IsPos() || !r.Trade.Amount.IsPos() || r.Trade.Side == domain.SideUnknown {
						t.Fatalf("%s line %d: trade %+v", name, i+1, r)
					}
					trades++
				}
				if string(f.Action) == actPartial && len(f.FilterSymbol) == 0 {
					t.Fatalf("%s line %d: partial without filter", name, i+1)
				}
			}
		}
	}
	if kinds[frameInfo] != 2 || kinds[frameAck] < 11 || kinds[frameTable] < 100 || trades < 20 {
		t.Fatalf("kinds %v, trades %d", kinds, trades)
	}
	// Error replies carry the request.
	if err := parseFrame([]byte(`{"status":400,"error":"Unknown table: orderBookL3","meta":{},"request":{"op":"subscribe","args":["orderBookL3:XBTUSD"]}}`), &f); err != nil ||
		f.Kind != frameError || f.Status != 400 || string(f.Op) != "subscribe" || len(f.Args) != 1 {
		t.Fatalf("%+v %v", f, err)
	}
	if err := parseFrame([]byte(`{"success":true,"unsubscribe":"trade:XBTUSD","request":{"op":"unsubscribe","args":"trade:XBTUSD"}}`), &f); err != nil ||
		f.Kind != frameAck || string(f.Op) != "unsubscribe" || string(f.Topic) != "trade:XBTUSD" || len(f.Args) != 1 {
		t.Fatalf("%+v %v", f, err)
	}
}
