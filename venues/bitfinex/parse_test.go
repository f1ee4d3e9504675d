package bitfinex

import (
	"bufio"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators/orderbook"
	"github.com/pype-go/pype/venues"
)

// Recorded payloads in testdata (copied from shared/fixtures/bitfinex; see
// its README for provenance):
//
//   - rest_candles_…_dccd.json, rest_trades_…_dccd.json: real REST pages
//     (2013 data) of /v2/candles/trade:1h:tBTCUSD/hist and
//     /v2/trades/tBTCUSD/hist with limit=5&sort=1.
//   - rest_conf_pub_list_pair_exchange_cryptofeed_2021-04-17.json: the real
//     pair list (293 pairs).
//   - ws_v2_book_P0_len100_{tDOGUSD,tIOTETH}_seqall_…: real book channels
//     with SEQ_ALL; ws_v2_ticker_trades_7symbols_…: real trades snapshots.
//     No recorded frame carries a "cs" checksum (the OB_CHECKSUM flag was
//     not set): checksum frames are tested against the documented
//     algorithm (orderbook.BitfinexChecksum, its docs vector) and against
//     the simulator.
//   - ws_v2_trades_snapshot_te_tu_fte_ftu_gct_mock.jsonl: gocryptotrader's
//     representative te/tu/fte/ftu frames (shape from the docs).
//   - handmade_*: hand-made by dccd; the SIMPLIFIED_WRONG_SHAPE trades file
//     is used only to prove such frames are not taken for trades.

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fixtureLines(t testing.TB, name string) [][]byte {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, []byte(l))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func d(s string) decimal.Decimal { return decimal.MustParse(s) }

func TestParseCandlesFixtureColumnOrder(t *testing.T) {
	rows, err := parseCandles(readFixture(t, "rest_candles_trade_1h_tBTCUSD_hist_limit5_sort1_dccd.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 {
		t.Fatalf("%d rows, want 5", len(rows))
	}
	// [1364770800000,93.2,93.033,93.29,92.9,116.00180000000002]: OPEN,
	// CLOSE, HIGH, LOW — reading it as OHLC would give high 93.033 < low
	// 93.29.
	b := rows[0].Bar
	if b.OpenTime != domain.MillisToNanos(1364770800000) || b.Open.Cmp(d("93.2")) != 0 || b.Close.Cmp(d("93.033")) != 0 ||
		b.High.Cmp(d("93.29")) != 0 || b.Low.Cmp(d("92.9")) != 0 || b.Volume.Cmp(d("116.00180000000002")) != 0 {
		t.Fatalf("row 0 = %+v", b)
	}
	for i, r := range rows {
		b := r.Bar
		hi, lo := b.High, b.Low
		if hi.Cmp(b.Open) < 0 || hi.Cmp(b.Close) < 0 || lo.Cmp(b.Open) > 0 || lo.Cmp(b.Close) > 0 {
			t.Errorf("row %d: inconsistent OHLC %+v (column order?)", i, b)
		}
		if i > 0 && r.Ms-rows[i-1].Ms != 3600_000 {
			t.Errorf("row %d: not hourly after the previous one", i)
		}
		if domain.Span1h.Floor(b.OpenTime) != b.OpenTime {
			t.Errorf("row %d: open time not on the hour", i)
		}
	}
}

func TestParseTradesFixture(t *testing.T) {
	rows, err := parseTrades(readFixture(t, "rest_trades_tBTCUSD_hist_limit5_sort1_dccd.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		id     int64
		ms     int64
		amount string
		price  string
	}{
		{4145, 1358182043000, "0.2721858", "14.5373664"},
		{4146, 1358182044000, "103", "14.5373664"},
		{4149, 1358185856000, "20", "14.5329498"},
		{4160, 1358201814000, "0.5", "14.5860102"},
		{4161, 1358217143000, "44", "14.5247898"},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows", len(rows))
	}
	for i, w := range want {
		r := rows[i]
		if r.ID != w.id || r.Ms != w.ms || r.Trade.Amount.Cmp(d(w.amount)) != 0 || r.Trade.Price.Cmp(d(w.price)) != 0 ||
			r.Trade.Side != domain.Buy || r.Trade.ID != strconv.FormatInt(w.id, 10) || r.Trade.Time != domain.MillisToNanos(w.ms) {
			t.Errorf("row %d = %+v, want %+v", i, r, w)
		}
	}
	// A negative amount is a taker sell; the amount is made positive.
	sells, err := parseTrades([]byte(`[[5,1700000000000,-0.5,100.5],[6,1700000000000,5e-8,100]]`), nil)
	if err != nil || sells[0].Trade.Side != domain.Sell || sells[0].Trade.Amount.Cmp(d("0.5")) != 0 || sells[1].Trade.Amount.Cmp(d("0.00000005")) != 0 {
		t.Fatalf("sells = %+v, %v", sells, err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, body := range []string{`{"a":1}`, `[[1,2,3]]`, `[[1,"x",3,4,5,6]]`, `[[1,2,3,4,5,6]`, `[[1,2,3,4,5,6]] x`} {
		if _, err := parseCandles([]byte(body), nil); err == nil {
			t.Errorf("parseCandles(%s): no error", body)
		} else if de := (*DecodeError)(nil); !errors.As(err, &de) {
			t.Errorf("parseCandles(%s): %T", body, err)
		}
	}
	tests := []struct {
		body string
		code int
		msg  string
		want error
	}{
		{`["error",10020,"limit: invalid"]`, 10020, "limit: invalid", ErrInvalidParameter},
		{`["error", 11010, "ratelimit: error"]`, 11010, "ratelimit: error", ErrTooManyRequests},
		{`{"error":"ERR_RATE_LIMIT"}`, 11010, "ERR_RATE_LIMIT", ErrTooManyRequests},
		{`["error",10020,"symbol: invalid"]`, 10020, "symbol: invalid", ErrInvalidSymbol},
		{`["error",20060,"maintenance"]`, 20060, "maintenance", ErrMaintenance},
		{`["error",10001,"generic"]`, 10001, "generic", ErrVenueUnavailable},
	}
	for _, tc := range tests {
		code, msg, ok := parseErrorBody([]byte(tc.body))
		if !ok || code != tc.code || msg != tc.msg {
			t.Errorf("%s: %d %q %v", tc.body, code, msg, ok)
		}
		if got := classify(500, code, msg); got != tc.want {
			t.Errorf("%s: classified %v, want %v", tc.body, got, tc.want)
		}
	}
	if _, _, ok := parseErrorBody([]byte(`[[1,2,3,4]]`)); ok {
		t.Error("a data page read as an error")
	}
}

func TestConfFixtureSymbols(t *testing.T) {
	pairs, cur, err := parseConf(readFixture(t, "rest_conf_pub_list_pair_exchange_cryptofeed_2021-04-17.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != 293 || cur != nil {
		t.Fatalf("%d pairs, currency map %v", len(pairs), cur)
	}
	tbl := newSymbolTable(pairs, nil)
	for venue, canon := range map[string]string{
		"tBTCUST": "BTC/USDT", "tBTCUSD": "BTC/USD", "tAAVE:UST": "AAVE/USDT", "tAVAX:USD": "AVAX/USD",
		"tALGUSD": "ALGO/USD", "tBTC:CNHT": "BTC/CNHT", "tBCHABC:USD": "BCHABC/USD", "tDOGUSD": "DOG/USD",
	} {
		sym, err := tbl.canonical(venue)
		if err != nil || sym.String() != canon {
			t.Errorf("canonical(%s) = %v, %v; want %s", venue, sym, err, canon)
			continue
		}
		back, err := tbl.venueSymbol(sym)
		if err != nil || back != venue {
			t.Errorf("venueSymbol(%s) = %q, %v; want %s", sym, back, err, venue)
		}
	}
	_, err = tbl.venueSymbol(domain.MustParseSymbol("BTC/XYZ"))
	var se *SymbolError
	if !errors.As(err, &se) || !errors.Is(err, ErrInvalidSymbol) || len(se.Suggestions) == 0 || se.VenueSymbol != "tBTCXYZ" {
		t.Fatalf("unknown symbol: %v", err)
	}
	if !strings.Contains(err.Error(), "BTC/USD") {
		t.Errorf("no suggestion in %q", err)
	}
	_, err = tbl.venueSymbol(domain.MustParseSymbol("BTC/USD:perp"))
	if !errors.Is(err, domain.ErrNoCapability) {
		t.Errorf("perp: %v", err)
	}
	// The venue's currency map wins over the built-in one.
	tbl = newSymbolTable([]string{"FOOUSD", "TESTBTC:TESTUSD"}, map[string]string{"FOO": "FOOBAR"})
	if s, err := tbl.canonical("FOOUSD"); err != nil || s.String() != "FOOBAR/USD" {
		t.Errorf("mapped code: %v %v", s, err)
	}
	if v, err := tbl.venueSymbol(domain.MustParseSymbol("TESTBTC/TESTUSD")); err != nil || v != "tTESTBTC:TESTUSD" {
		t.Errorf("long codes: %q %v", v, err)
	}
	// Without a pair list, symbols cannot be checked: refuse rather than
	// risk Bitfinex's silent empty pages.
	var none *symbolTable
	if _, err := none.venueSymbol(btcusd); !errors.Is(err, ErrInvalidSymbol) {
		t.Errorf("no table: %v", err)
	}
}

func TestSplitJoinPair(t *testing.T) {
	for _, tc := range []struct{ in, b, q string }{{"tBTCUSD", "BTC", "USD"}, {"BTCUST", "BTC", "UST"}, {"tDOGE:USD", "DOGE", "USD"}, {"tTESTBTC:TESTUSD", "TESTBTC", "TESTUSD"}} {
		b, q, ok := SplitPair(tc.in)
		if !ok || b != tc.b || q != tc.q {
			t.Errorf("SplitPair(%s) = %s %s %v", tc.in, b, q, ok)
		}
		want := tc.in
		if !strings.HasPrefix(want, "t") {
			want = "t" + want
		}
		if got := JoinPair(b, q); got != want {
			t.Errorf("JoinPair(%s,%s) = %s", b, q, got)
		}
	}
	if _, _, ok := SplitPair("tBTCUSDT"); ok {
		t.Error("7 letters without a colon accepted")
	}
}

// TestBookFixtureReplay replays the recorded len-100 book channels through
// the frame parser and the sync engine.
func TestBookFixtureReplay(t *testing.T) {
	all := map[int64]string{}
	for _, name := range []string{"ws_v2_book_P0_len100_tDOGUSD_seqall_cryptofeed_2021-04-17.jsonl", "ws_v2_book_P0_len100_tIOTETH_seqall_cryptofeed_2021-04-17.jsonl"} {
		t.Run(name[:30], func(t *testing.T) {
			sym := domain.MustParseSymbol("X/Y")
			eng, err := orderbook.NewEngine(orderbook.Config{Venue: Name, Checksum: orderbook.BitfinexChecksum{Depth: 25}})
			if err != nil {
				t.Fatal(err)
			}
			defer eng.Close()
			if err := eng.Add(sym); err != nil {
				t.Fatal(err)
			}
			var f wsFrame
			var delta domain.BookDelta
			lastSeq, updates, removals, hbs, events := int64(0), 0, 0, 0, 0
			for i, line := range fixtureLines(t, name) {
				if err := parseFrame(line, &f); err != nil {
					t.Fatalf("line %d: %v", i+1, err)
				}
				if f.Kind == fkEvent {
					events++
					continue
				}
				if !f.HasSeq || f.Seq <= lastSeq {
					t.Fatalf("line %d: seq %d after %d (SEQ_ALL numbers increase)", i+1, f.Seq, lastSeq)
				}
				lastSeq = f.Seq
				if prev, dup := all[f.Seq]; dup {
					t.Fatalf("seq %d used by %s and %s: not one counter per connection", f.Seq, prev, name)
				}
				all[f.Seq] = name
				delta = domain.BookDelta{Symbol: sym, Seq: f.Seq}
				switch f.Kind {
				case fkSnapshot:
					rows, err := parseBookRows(f.Payload, nil)
					if err != nil {
						t.Fatal(err)
					}
					delta.Bids, delta.Asks = splitBook(rows, nil, nil)
					if len(delta.Bids) != 100 || len(delta.Asks) != 100 {
						t.Fatalf("snapshot with %d bids, %d asks", len(delta.Bids), len(delta.Asks))
					}
					delta.Reset = true
				case fkUpdate:
					r, err := parseBookPayload(f.Payload)
					if err == nil {
						err = bookDelta(r, &delta)
					}
					if err != nil {
						t.Fatalf("line %d: %v", i+1, err)
					}
					updates++
					if r.Count == 0 {
						removals++
					}
				case fkHeartbeat:
					hbs++
					continue
				default:
					t.Fatalf("line %d: unexpected %v", i+1, f.Kind)
				}
				if err := eng.Handle(&delta); err != nil {
					t.Fatalf("line %d: %v", i+1, err)
				}
				if eng.State(sym) != orderbook.Live {
					t.Fatalf("line %d: book %v", i+1, eng.State(sym))
				}
			}
			st, _ := eng.Stats(sym)
			if st.Applied != uint64(updates) || removals == 0 || hbs == 0 || events != 3 || st.Crossed != 0 {
				t.Fatalf("applied %d of %d updates, %d removals, %d heartbeats, %d events, stats %+v", st.Applied, updates, removals, hbs, events, st)
			}
			v, _ := eng.Book(sym)
			_ = v.Read(func(b *orderbook.Book) {
				bids, asks := b.TopN(1000)
				// len 100: the venue removes what leaves the top 100.
				if len(bids) > 100 || len(asks) > 100 || len(bids) < 90 || len(asks) < 90 {
					t.Errorf("final book has %d bids, %d asks", len(bids), len(asks))
				}
			})
		})
	}
}

// TestBookChecksumFrames checks "cs" frames against the documented
// algorithm: Bitfinex's example book (ask amounts negative, numbers as
// JavaScript prints them — 1e-8 arrives in exponent form).
func TestBookChecksumFrames(t *testing.T) {
	sym := btcusd
	var resubscribed atomic.Int64
	eng, err := orderbook.NewEngine(orderbook.Config{Venue: Name, Checksum: orderbook.BitfinexChecksum{Depth: 25},
		Resubscribe:        func(context.Context, domain.Symbol) error { resubscribed.Add(1); return nil },
		ResubscribeTimeout: time.Hour, Backoff: func(int) time.Duration { return 0 }})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	_ = eng.Add(sym)
	h := &bookStream{a: &Adapter{log: discard()}, eng: eng, syms: []*streamSym{{sym: sym}}}
	c := &channelSpec{idx: 0}
	feed := func(frame string) {
		t.Helper()
		var f wsFrame
		if err := parseFrame([]byte(frame), &f); err != nil {
			t.Fatal(err)
		}
		h.frame(nil, c, &f, 1)
	}
	feed(`[7,[[6000.1,1,1.5],[6000,2,0.25],[6000.2,1,-2],[6000.5,1,-1e-8]],1]`)
	feed(`[7,"cs",538459499,2]`)
	if eng.State(sym) != orderbook.Live {
		t.Fatalf("state %v after a matching checksum", eng.State(sym))
	}
	feed(`[7,[6000.5,0,-1],3]`) // remove the 1e-8 ask
	feed(`[7,"cs",-319540334,4]`)
	if st, _ := eng.Stats(sym); st.ChecksumChecks != 2 || st.ChecksumFailures != 0 || eng.State(sym) != orderbook.Live {
		t.Fatalf("stats %+v, state %v", st, eng.State(sym))
	}
	feed(`[7,[6000.2,1,-2.5],5]`)
	feed(`[7,"cs",-319540334,6]`) // stale: the book changed
	if st, _ := eng.Stats(sym); st.ChecksumFailures != 1 || eng.State(sym) == orderbook.Live {
		t.Fatalf("mismatch not detected: %+v %v", st, eng.State(sym))
	}
	// The engine asks for a fresh snapshot; frames until then are dropped.
	waitFor(t, func() bool { return resubscribed.Load() > 0 })
	feed(`[7,[6000.3,1,-1],7]`)
	if eng.State(sym) == orderbook.Live {
		t.Fatal("live without a new snapshot")
	}
	feed(`[8,[[6000.1,1,1.5],[6000.2,1,-2]],8]`)
	if eng.State(sym) != orderbook.Live {
		t.Fatal("a new snapshot did not make the book live")
	}
}

func TestTradeFrames(t *testing.T) {
	var f wsFrame
	kinds := map[frameKind]int{}
	var rows []tradeRow
	for _, line := range fixtureLines(t, "ws_v2_trades_snapshot_te_tu_fte_ftu_gct_mock.jsonl") {
		if err := parseFrame(line, &f); err != nil {
			t.Fatal(err)
		}
		kinds[f.Kind]++
		switch f.Kind {
		case fkSnapshot:
			var err error
			if rows, err = parseTradeRows(f.Payload, rows); err != nil {
				t.Fatal(err)
			}
		case fkTradeExec, fkTradeUpd:
			r, err := parseTradePayload(f.Payload)
			if err != nil {
				t.Fatal(err)
			}
			rows = append(rows, r)
		}
		if !f.HasSeq || f.Chan != 18788 {
			t.Fatalf("frame %s: chan %d seq %v", line, f.Chan, f.HasSeq)
		}
	}
	if kinds[fkSnapshot] != 1 || kinds[fkTradeExec] != 1 || kinds[fkTradeUpd] != 1 || kinds[fkOther] != 2 {
		t.Fatalf("kinds %v", kinds)
	}
	if len(rows) != 5 || rows[3].ID != 5690221201 || rows[3].Trade.Side != domain.Buy || rows[4].Trade.Side != domain.Sell ||
		rows[4].Trade.Amount.Cmp(d("0.01925285")) != 0 || rows[4].Trade.Price.Cmp(d("102560")) != 0 {
		t.Fatalf("rows %+v", rows)
	}

	// The real snapshots of seven trades channels: newest first, several
	// trades in one millisecond, ids decreasing.
	n := 0
	for _, line := range fixtureLines(t, "ws_v2_ticker_trades_7symbols_seqall_cryptofeed_2021-04-17.jsonl") {
		if err := parseFrame(line, &f); err != nil {
			t.Fatal(err)
		}
		if f.Kind != fkSnapshot {
			continue
		}
		if bytesHasRows := f.Payload[1] == '['; !bytesHasRows {
			continue
		}
		var err error
		rows, err = parseTradeRows(f.Payload, rows[:0])
		if err != nil || len(rows) == 0 {
			// ticker snapshots are flat lists of numbers
			continue
		}
		n++
		for i := 1; i < len(rows); i++ {
			if rows[i].ID >= rows[i-1].ID || rows[i].Ms > rows[i-1].Ms {
				t.Fatalf("snapshot not newest first at %d: %+v %+v", i, rows[i-1], rows[i])
			}
		}
	}
	if n != 7 {
		t.Fatalf("%d trades snapshots, want 7", n)
	}
}

// TestWrongShapeTradesNotTrades: dccd's hand-made file writes trade
// updates as [chanId,[…]], which is not Bitfinex's shape (real updates
// are [chanId,"te",[…]]). Such frames must not be taken for trades.
func TestWrongShapeTradesNotTrades(t *testing.T) {
	var got []venues.TradeEvent
	h := &tradeStream{a: &Adapter{log: discard()}, syms: []*streamSym{{sym: btcusd, init: true}}, yield: func(e venues.TradeEvent, _ error) bool {
		got = append(got, e)
		return true
	}}
	var f wsFrame
	kinds := []frameKind{}
	for _, line := range fixtureLines(t, "handmade_SIMPLIFIED_WRONG_SHAPE_ws_trades_dccd.jsonl") {
		if err := parseFrame(line, &f); err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, f.Kind)
		if f.Kind != fkEvent {
			h.frame(nil, &channelSpec{}, &f, 1)
		}
	}
	if !slices.Equal(kinds, []frameKind{fkEvent, fkHeartbeat, fkUpdate, fkUpdate}) || len(got) != 0 {
		t.Fatalf("kinds %v, trades %v", kinds, got)
	}
}

func TestCandleFrames(t *testing.T) {
	var got []venues.CandleEvent
	h := &candleStream{a: &Adapter{log: discard()}, req: venues.StreamRequest{Span: domain.Span1h, Partial: true},
		syms: []*streamSym{{sym: btcusd}}, yield: func(e venues.CandleEvent, _ error) bool { got = append(got, e); return true }}
	var f wsFrame
	for _, line := range fixtureLines(t, "handmade_ws_candles_trade_1h_tBTCUSD_dccd.jsonl") {
		if err := parseFrame(line, &f); err != nil {
			t.Fatal(err)
		}
		if f.Kind == fkEvent {
			if f.Event.Key != "trade:1h:tBTCUSD" || f.Event.ChanID != 42 {
				t.Fatalf("event %+v", f.Event)
			}
			continue
		}
		h.frame(nil, &channelSpec{}, &f, 1)
	}
	// Snapshot (newest first): the forming bar 1364785200000 is reported;
	// the update of a later bar closes it.
	if len(got) != 3 || got[0].Bar.Closed || got[0].Bar.OpenTime != domain.MillisToNanos(1364785200000) ||
		!got[1].Bar.Closed || got[1].Bar.OpenTime != domain.MillisToNanos(1364785200000) || got[1].Bar.Close.Cmp(d("92.70002")) != 0 ||
		got[1].Bar.High.Cmp(d("93.8")) != 0 || got[2].Bar.Closed || got[2].Bar.OpenTime != domain.MillisToNanos(1364788800000) {
		t.Fatalf("events %+v", got)
	}
}

func TestParseFrameShapes(t *testing.T) {
	tests := []struct {
		in   string
		kind frameKind
		seq  int64
	}{
		{`[1,"hb"]`, fkHeartbeat, 0},
		{`[1,"hb",5]`, fkHeartbeat, 5},
		{`[1,[]]`, fkSnapshot, 0},
		{`[1, [ [1,2,3] ] , 9]`, fkSnapshot, 9},
		{`[1,[1,2,3],10]`, fkUpdate, 10},
		{`[1,"cs",-12345,11]`, fkChecksum, 11},
		{`[1,"te",[1,2,3,4],12,13]`, fkTradeExec, 12},
		{`{"event":"info","version":2}`, fkEvent, 0},
	}
	for _, tc := range tests {
		var f wsFrame
		if err := parseFrame([]byte(tc.in), &f); err != nil || f.Kind != tc.kind || f.Seq != tc.seq || f.HasSeq != (tc.seq != 0) {
			t.Errorf("%s: %+v %v", tc.in, f, err)
		}
	}
	for _, bad := range []string{``, `[]`, `[1]`, `["x",1]`, `[1,"cs"]`, `[1,"cs",99999999999]`, `[1,[1,2`, `nope`} {
		var f wsFrame
		if err := parseFrame([]byte(bad), &f); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
