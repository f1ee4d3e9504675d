package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pype-go/pype/app/render"
	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
	simbitmex "github.com/pype-go/pype/sim/bitmex"
	simbybit "github.com/pype-go/pype/sim/bybit"
	"github.com/pype-go/pype/sim/simtest"
	"github.com/pype-go/pype/sim/simvenues"
	"github.com/pype-go/pype/venues/all"
)

// venueCase is what the end-to-end test does with one venue: the same
// commands for every venue, with the venue's own symbol, the candle fields
// it serves and the trade history it keeps.
type venueCase struct {
	venue, symbol string
	// span and [ohlcFrom, ohlcTo) of the candle backfill.
	span             string
	ohlcFrom, ohlcTo time.Time
	// Candle fields the venue serves beyond OHLCV (others read back as 0
	// or, for BitMEX's quote volume, as the venue's own notional).
	quoteVolume, tradeCount bool
	// tradeSpan is how much trade history (ending venueTradesTo) is
	// backfilled; 0 means the venue keeps no trade history and the
	// backfill is refused with a message containing refusal.
	tradeSpan time.Duration
	refusal   string
}

// venueTradesTo ends the trade backfills: an hour before the frozen now,
// inside every venue's history.
var venueTradesTo = time.Date(2024, 5, 31, 22, 0, 0, 0, time.UTC)

var venueCases = []venueCase{
	{venue: "binance", symbol: "BTC/USDT", span: "1h", quoteVolume: true, tradeCount: true, tradeSpan: 2 * time.Hour},
	{venue: "coinbase", symbol: "BTC/USD", span: "1h", tradeSpan: time.Hour},
	// Kraken serves the last 720 bars: 5m bars reach 60 hours back.
	{venue: "kraken", symbol: "BTC/USD", span: "5m", ohlcFrom: time.Date(2024, 5, 31, 12, 0, 0, 0, time.UTC), tradeCount: true, tradeSpan: time.Hour},
	{venue: "bybit", symbol: "BTC/USDT", span: "1h", quoteVolume: true, refusal: "https://public.bybit.com/"},
	// OKX pages hold 100 trades, at 20 requests per 2 s: 20 minutes.
	{venue: "okx", symbol: "BTC/USDT", span: "1h", quoteVolume: true, tradeSpan: 20 * time.Minute},
	{venue: "bitfinex", symbol: "BTC/USD", span: "1h", tradeSpan: 2 * time.Hour},
	// BitMEX pages hold 1000 trades: an hour is 8.
	{venue: "bitmex", symbol: "BTC/USD:perp", span: "1h", tradeCount: true, tradeSpan: time.Hour},
}

// venueTradeTruth returns the simulator's trades of a venue in [from, to)
// as pype stores them: Binance's aggregate trades, BitMEX's trdMatchIDs,
// Bybit's ids per category; the others as the truth has them.
func venueTradeTruth(t *testing.T, s *simtest.Sim, venue, symbol string, from, to time.Time) []domain.Trade {
	t.Helper()
	if venue == "binance" {
		return aggTruth(t, s, symbol, from, to)
	}
	want, err := s.Truth(venue).Trades(symbol, from.UnixNano(), to.UnixNano())
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		id, err := strconv.ParseInt(want[i].ID, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		switch venue {
		case "bitmex":
			want[i].ID = simbitmex.TrdMatchID(id)
		case "bybit":
			cat, _ := simbybit.VenueSymbol(domain.MustParseSymbol(symbol))
			want[i].ID = simbybit.TradeID(cat, id)
		}
	}
	return want
}

// sameNumber compares a number read back with the truth's. Parquet stores
// prices and amounts as DOUBLE: a value with more than 15 significant
// digits (OKX's quote volumes) reads back as the nearest float64.
func sameNumber(got, want string) bool {
	if got == want {
		return true
	}
	g, err1 := strconv.ParseFloat(got, 64)
	w, err2 := strconv.ParseFloat(want, 64)
	digits := len(strings.TrimLeft(strings.NewReplacer(".", "", "-", "").Replace(want), "0"))
	return err1 == nil && err2 == nil && g == w && digits > 15
}

// cell is an expected CSV cell: compared exactly, as a number, or not at
// all.
type cell struct {
	v        string
	num, any bool
}

func exact(v string) cell { return cell{v: v} }

// num is a price, amount or volume: stored as DOUBLE (see sameNumber).
func num(v string) cell { return cell{v: v, num: true} }

var anyCell = cell{v: "*", any: true}

func (c cell) match(got string) bool {
	switch {
	case c.any:
		return true
	case c.num:
		return sameNumber(got, c.v)
	}
	return got == c.v
}

// sameRow compares a CSV row with the expected cells.
func sameRow(got []string, want []cell) bool {
	if len(got) != len(want) {
		return false
	}
	for i, w := range want {
		if !w.match(got[i]) {
			return false
		}
	}
	return true
}

func showRow(want []cell) string {
	var out []string
	for _, w := range want {
		out = append(out, w.v)
	}
	return strings.Join(out, ",")
}

// tradeRow is a trade as `pype read --type trades --format csv` prints it.
func tradeRow(tr domain.Trade) []cell {
	return []cell{exact(strconv.FormatInt(tr.Time, 10)), exact(tr.ID), num(render.Decimal(tr.Price)), num(render.Decimal(tr.Amount)), exact(tr.Side.String())}
}

// compareTradeRows checks that rows are exactly the truth's trades.
func compareTradeRows(t *testing.T, rows [][]string, truth []domain.Trade) {
	t.Helper()
	if len(rows) != len(truth) {
		t.Fatalf("%d trades read, the simulator has %d", len(rows), len(truth))
	}
	for i, tr := range truth {
		if want := tradeRow(tr); !sameRow(rows[i], want) {
			t.Fatalf("trade %d: got %s, want %s", i, strings.Join(rows[i], ","), showRow(want))
		}
	}
}

// venuesEnv is a test environment with every built-in venue, those named
// (default: all) pointed at s; a zero now is the wall clock.
func venuesEnv(t *testing.T, s *simtest.Sim, now time.Time, names ...string) environment {
	t.Helper()
	if len(names) == 0 {
		for _, vc := range venueCases {
			names = append(names, vc.venue)
		}
	}
	vars := map[string]string{}
	for _, name := range names {
		up := strings.ToUpper(name)
		vars["PYPE_"+up+"_REST_URL"] = s.REST(name)
		vars["PYPE_"+up+"_WS_URL"] = s.WS(name)
	}
	env := testEnv(t, now, vars)
	env.registry = all.Registry
	if now.IsZero() {
		env.now = time.Now
	}
	return env
}

// TestVenuesEndToEnd runs the same commands against every venue's
// simulator: candles, trades and a book snapshot backfilled on a frozen
// market and read back equal to the truth, verified, and idempotent; then
// trades and books streamed from a live market.
func TestVenuesEndToEnd(t *testing.T) {
	// The simulator's request limits are raised (BitMEX's 30 a minute would
	// make the test wait a minute); the adapters keep their own pacing.
	frozen := simtest.Start(t, simtest.Seed(1), simtest.Now(simNow), simtest.Frozen(), simtest.History(72*time.Hour), simtest.WeightLimit(1_000_000))
	frozenEnv := venuesEnv(t, frozen, simNow)
	for _, vc := range venueCases {
		t.Run(vc.venue, func(t *testing.T) {
			t.Parallel()
			t.Run("backfill", func(t *testing.T) { testVenueBackfill(t, frozen, frozenEnv, vc) })
			t.Run("stream", func(t *testing.T) { testVenueStream(t, vc) })
		})
	}
}

func testVenueBackfill(t *testing.T, s *simtest.Sim, env environment, vc venueCase) {
	data := t.TempDir()
	cli := func(args ...string) result {
		return runCLI(t, env, append([]string{"--data", data, "--progress", "none"}, args...)...)
	}
	sel := []string{"--venue", vc.venue, "--symbol", vc.symbol}

	// 1. Candles: fetched, equal to the truth, then already complete.
	from, to := vc.ohlcFrom, vc.ohlcTo
	if from.IsZero() {
		from = time.Date(2024, 5, 30, 0, 0, 0, 0, time.UTC)
	}
	if to.IsZero() {
		to = time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	}
	ohlc := append(append([]string{"backfill"}, sel...), "--type", "ohlc", "--span", vc.span, "--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339))
	r := cli(ohlc...).must(t, 0)
	if !strings.Contains(r.stdout, "fetched 1 range(s)") {
		t.Fatalf("ohlc backfill:\n%s", r.stdout)
	}
	span, err := domain.ParseSpan(vc.span)
	if err != nil {
		t.Fatal(err)
	}
	bars, err := s.Truth(vc.venue).Candles(vc.symbol, span, from.UnixNano(), to.UnixNano())
	if err != nil {
		t.Fatal(err)
	}
	if len(bars) < 40 {
		t.Fatalf("the truth has %d bars: the test proves little", len(bars))
	}
	r = cli(append(append([]string{"read"}, sel...), "--type", "ohlc", "--span", vc.span, "--format", "csv")...).must(t, 0)
	rows := parseCSV(t, r.stdout)
	if strings.Join(rows[0], ",") != "ts_ns,open,high,low,close,volume,quote_volume,trades" {
		t.Fatalf("ohlc header %v", rows[0])
	}
	rows = rows[1:]
	if len(rows) != len(bars) {
		t.Fatalf("%d bars read, the simulator has %d", len(rows), len(bars))
	}
	for i, b := range bars {
		want := []cell{exact(strconv.FormatInt(b.OpenTime, 10)), num(render.Decimal(b.Open)), num(render.Decimal(b.High)),
			num(render.Decimal(b.Low)), num(render.Decimal(b.Close)), num(render.Decimal(b.Volume)), anyCell, anyCell}
		if vc.quoteVolume {
			want[6] = num(render.Decimal(b.QuoteVolume))
		}
		if vc.tradeCount {
			want[7] = exact(strconv.FormatInt(b.Trades, 10))
		}
		if !sameRow(rows[i], want) {
			t.Fatalf("bar %d: got %s, want %s", i, strings.Join(rows[i], ","), showRow(want))
		}
	}
	r = cli(ohlc...).must(t, 0)
	if !strings.Contains(r.stdout, "already complete, nothing fetched") || !strings.Contains(r.stdout, "0 rows received, 0 new") {
		t.Fatalf("the second ohlc backfill fetched again:\n%s", r.stdout)
	}

	// 2. Trades: every trade of the range, or a refusal naming where the
	// history is.
	tfrom := venueTradesTo.Add(-vc.tradeSpan)
	trades := append(append([]string{"backfill"}, sel...), "--type", "trades", "--from", tfrom.Format(time.RFC3339), "--to", venueTradesTo.Format(time.RFC3339))
	if vc.tradeSpan == 0 {
		tfrom = venueTradesTo.Add(-time.Hour)
		trades = append(append([]string{"backfill"}, sel...), "--type", "trades", "--from", tfrom.Format(time.RFC3339), "--to", venueTradesTo.Format(time.RFC3339))
		r = cli(trades...).must(t, exitUsage)
		if !strings.Contains(r.stderr, vc.refusal) {
			t.Fatalf("the refusal does not name %s:\n%s", vc.refusal, r.stderr)
		}
	} else {
		r = cli(trades...).must(t, 0)
		if !strings.Contains(r.stdout, "fetched 1 range(s)") {
			t.Fatalf("trades backfill:\n%s", r.stdout)
		}
		truth := venueTradeTruth(t, s, vc.venue, vc.symbol, tfrom, venueTradesTo)
		if len(truth) < 1000 {
			t.Fatalf("the truth has %d trades: the test proves little", len(truth))
		}
		r = cli(append(append([]string{"read"}, sel...), "--type", "trades", "--format", "csv")...).must(t, 0)
		rows := parseCSV(t, r.stdout)
		if strings.Join(rows[0], ",") != "ts_ns,id,price,amount,side" {
			t.Fatalf("trades header %v", rows[0])
		}
		compareTradeRows(t, rows[1:], truth)
		r = cli(trades...).must(t, 0)
		if !strings.Contains(r.stdout, "already complete, nothing fetched") || !strings.Contains(r.stdout, "0 rows received, 0 new") {
			t.Fatalf("the second trades backfill fetched again:\n%s", r.stdout)
		}
	}

	// 3. A book snapshot, equal to the venue's book at the frozen now.
	const depth = 10
	cli(append(append([]string{"backfill"}, sel...), "--type", "book", "--depth", strconv.Itoa(depth))...).must(t, 0)
	r = cli(append(append([]string{"read"}, sel...), "--type", "book", "--format", "csv")...).must(t, 0)
	rows = parseCSV(t, r.stdout)
	if strings.Join(rows[0], ",") != "ts_ns,seq,side,level,price,amount" {
		t.Fatalf("book header %v", rows[0])
	}
	book, err := s.Truth(vc.venue).Book(vc.symbol, simNow.UnixNano(), depth)
	if err != nil {
		t.Fatal(err)
	}
	var want [][]cell
	for _, side := range []struct {
		name   string
		levels []domain.BookLevel
	}{{"bid", book.Bids}, {"ask", book.Asks}} {
		for i, l := range side.levels {
			want = append(want, []cell{anyCell, anyCell, exact(side.name), exact(strconv.Itoa(i + 1)), num(render.Decimal(l.Price)), num(render.Decimal(l.Amount))})
		}
	}
	rows = rows[1:]
	if len(want) != 2*depth || len(rows) != len(want) {
		t.Fatalf("%d book rows read, the simulator's book has %d:\n%s", len(rows), len(want), r.stdout)
	}
	for i := range want {
		if !sameRow(rows[i], want[i]) {
			t.Fatalf("book row %d: got %s, want %s", i, strings.Join(rows[i], ","), showRow(want[i]))
		}
	}

	// Everything collected verifies and is listed.
	r = cli("verify", "--format", "json").must(t, 0)
	var ver []render.VerifyEntry
	if err := json.Unmarshal([]byte(r.stdout), &ver); err != nil {
		t.Fatalf("verify json: %v\n%s", err, r.stdout)
	}
	wantSets := 3
	if vc.tradeSpan == 0 {
		wantSets = 2
	}
	checkVerified(t, ver, wantSets)
	r = cli("inventory", "--format", "json").must(t, 0)
	if vc.tradeSpan == 0 {
		checkInventory(t, r.stdout, vc, "ohlc", "book")
	} else {
		checkInventory(t, r.stdout, vc, "ohlc", "trades", "book")
	}
}

// checkVerified checks that n datasets were verified and all passed.
func checkVerified(t *testing.T, ver []render.VerifyEntry, n int) {
	t.Helper()
	var names []string
	for _, v := range ver {
		names = append(names, v.Dataset)
		if !v.OK || v.Duplicates != 0 || v.OutOfOrder != 0 || v.MissingIDs != 0 {
			t.Fatalf("verify %s: %+v", v.Dataset, v)
		}
	}
	if len(ver) != n {
		t.Fatalf("verify checked %d datasets %v, want %d", len(ver), names, n)
	}
}

// checkInventory checks that the inventory lists a non-empty dataset of
// each type for the venue's symbol.
func checkInventory(t *testing.T, out string, vc venueCase, types ...string) []render.InventoryEntry {
	t.Helper()
	var inv []render.InventoryEntry
	if err := json.Unmarshal([]byte(out), &inv); err != nil {
		t.Fatalf("inventory json: %v\n%s", err, out)
	}
	sym := domain.MustParseSymbol(vc.symbol)
	for _, typ := range types {
		found := false
		for _, e := range inv {
			if e.Venue == vc.venue && e.Symbol == sym.String() && e.Type == typ {
				found = true
				if e.Rows == 0 || e.Files == 0 {
					t.Fatalf("inventory: %s is empty: %+v", e.Dataset, e)
				}
			}
		}
		if !found {
			t.Fatalf("inventory lacks %s %s %s:\n%s", vc.venue, vc.symbol, typ, out)
		}
	}
	return inv
}

// Live markets for the stream tests: 20 taker orders a second, no quiet
// hours, seed liveSeed.
const (
	liveSeed = 5
	liveRate = 20
	// Streams start within liveWindow of the live simulator's start, and
	// the market is chosen to trade at least every liveMaxGap then, so a
	// stream of a second or more always has trades to record.
	liveWindow = 10 * time.Second
	liveMaxGap = time.Second
)

func liveSymbols(venue string) simtest.Option {
	return simtest.Configure(func(c *sim.Config) {
		p, ok := simvenues.Registry().Get(venue)
		if !ok {
			panic("no simulated venue " + venue)
		}
		specs := p.Symbols()
		for i := range specs {
			specs[i].QuietHourProbability = -1
			specs[i].TradesPerSecond = liveRate
		}
		c.Symbols = map[string][]sim.SymbolSpec{venue: specs}
	})
}

// busyStart returns a virtual instant, in the hours before the current one,
// from which the venue's market trades symbol at least every liveMaxGap for
// liveWindow. The simulated market (trades, prices) is a function of the
// seed and the time, not of the simulator's now: the live simulator
// started at that instant plays the same trades. Markets trade in bursts
// with quiet spells of seconds: a stream over an arbitrary second may
// rightly record nothing.
func busyStart(t *testing.T, venue, symbol string) time.Time {
	t.Helper()
	end := time.Now().UTC().Truncate(time.Hour)
	probe := simtest.Start(t, simtest.Venues(venue), simtest.Seed(liveSeed), simtest.Now(end), simtest.Frozen(), simtest.History(3*time.Hour), liveSymbols(venue))
	trades, err := probe.Truth(venue).Trades(symbol, end.Add(-3*time.Hour).UnixNano(), end.UnixNano())
	if err != nil {
		t.Fatal(err)
	}
	gap, win := liveMaxGap.Nanoseconds(), liveWindow.Nanoseconds()
	// first is the first trade of the current run of trades no more than
	// gap apart.
	first := 0
	for i := 1; i < len(trades); i++ {
		if trades[i].Time-trades[i-1].Time > gap {
			first = i
			continue
		}
		if trades[i].Time-trades[first].Time >= win {
			return time.Unix(0, trades[first].Time).UTC()
		}
	}
	t.Fatalf("%s %s: no %v in the 3 hours before %s with trades at least every %v", venue, symbol, liveWindow, end.Format(time.RFC3339), liveMaxGap)
	return time.Time{}
}

func testVenueStream(t *testing.T, vc venueCase) {
	// Trades from a market started at a busy instant (it then lags the
	// wall clock by up to three hours), books from one at the wall clock.
	start := busyStart(t, vc.venue, vc.symbol)
	tradeSim := simtest.Start(t, simtest.Venues(vc.venue), simtest.Seed(liveSeed), simtest.Now(start), simtest.History(time.Hour), liveSymbols(vc.venue))
	bookSim := simtest.Start(t, simtest.Venues(vc.venue), simtest.Seed(liveSeed), simtest.History(time.Hour), liveSymbols(vc.venue))
	env := venuesEnv(t, tradeSim, time.Time{}, vc.venue)
	data := t.TempDir()
	cli := func(args ...string) result {
		return runCLI(t, env, append([]string{"--data", data, "--progress", "none"}, args...)...)
	}
	sel := []string{"--venue", vc.venue, "--symbol", vc.symbol}
	// Trades and books at once, into one data directory, as two terminals
	// would.
	bookEnv := venuesEnv(t, bookSim, time.Time{}, vc.venue)
	bookDone := make(chan result, 1)
	go func() {
		var out, errb strings.Builder
		code := runEnv(t.Context(), bookEnv, append(append([]string{"--data", data, "--progress", "none", "stream"}, sel...),
			"--type", "book", "--depth", "10", "--book-every", "100ms", "--duration", "1500ms"), &out, &errb)
		bookDone <- result{code: code, stdout: out.String(), stderr: errb.String()}
	}()
	stream := cli(append(append([]string{"stream"}, sel...), "--type", "trades", "--duration", "2s", "--flush-every", "500ms")...).must(t, 0)
	(<-bookDone).must(t, 0)
	if strings.Contains(stream.stdout, " 0 records live") {
		t.Fatalf("the trade stream received nothing (the market trades every %v from %s):\n%s\n%s", liveMaxGap, start.Format(time.RFC3339Nano), stream.stdout, stream.stderr)
	}

	r := cli("inventory", "--format", "json").must(t, 0)
	inv := checkInventory(t, r.stdout, vc, "trades", "book")

	// The covered range holds exactly the venue's trades.
	var cov []render.JSONRange
	for _, e := range inv {
		if e.Type == "trades" {
			cov = e.Coverage
		}
	}
	if len(cov) == 0 {
		t.Fatalf("the trade stream covered nothing\nstream stdout:\n%s\nstream stderr:\n%s", stream.stdout, stream.stderr)
	}
	from, to := time.Unix(0, cov[0].FromNs), time.Unix(0, cov[len(cov)-1].ToNs)
	truth := venueTradeTruth(t, tradeSim, vc.venue, vc.symbol, from, to)
	if len(truth) == 0 {
		t.Fatalf("no trade in the covered range %v\nstream stdout:\n%s\nstream stderr:\n%s", cov, stream.stdout, stream.stderr)
	}
	r = cli(append(append([]string{"read"}, sel...), "--type", "trades", "--format", "csv")...).must(t, 0)
	var rows [][]string
	for _, row := range parseCSV(t, r.stdout)[1:] {
		ns, _ := strconv.ParseInt(row[0], 10, 64)
		if ns >= from.UnixNano() && ns < to.UnixNano() {
			rows = append(rows, row)
		}
	}
	compareTradeRows(t, rows, truth)

	// Streamed books: several, 10 levels a side, each the venue's book at
	// its time or, when stamped with the receive time, shortly before.
	books := readBooks(t, env, data, vc.venue, vc.symbol)
	if len(books) < 2 {
		t.Fatalf("%d book snapshots in 1.5 s", len(books))
	}
	for _, b := range books {
		if !recentVenueBook(t, bookSim, vc, b, 10) {
			t.Fatalf("the book stored at %s is not the venue's then: %+v", domain.FormatNs(b.TsNs), b)
		}
	}
	cli("verify").must(t, 0)
	t.Logf("%d trades streamed over %s, %d book snapshots", len(rows), to.Sub(from), len(books))
}

// recentVenueBook reports whether b is the venue's book (depth levels a
// side) at b's time or at a book step up to a second before it: books
// stamped with the receive time lag the venue's.
func recentVenueBook(t *testing.T, s *simtest.Sim, vc venueCase, b bookLine, depth int) bool {
	t.Helper()
	for back := int64(0); back <= int64(time.Second); back += sim.BookStepMs * int64(time.Millisecond) {
		want, err := s.Truth(vc.venue).Book(vc.symbol, b.TsNs-back, depth)
		if err != nil {
			t.Fatal(err)
		}
		if sameLevels(b.Bids, want.Bids) && sameLevels(b.Asks, want.Asks) {
			return true
		}
	}
	return false
}

// sameLevels compares levels read back (DOUBLE) with the truth's.
func sameLevels(got [][2]json.Number, want []domain.BookLevel) bool {
	if len(got) != len(want) {
		return false
	}
	for i, l := range want {
		gp, err1 := got[i][0].Float64()
		ga, err2 := got[i][1].Float64()
		wp, _ := l.Price.Float64()
		wa, _ := l.Amount.Float64()
		if err1 != nil || err2 != nil || gp != wp || ga != wa {
			return false
		}
	}
	return true
}

// readBooks reads a book dataset back as JSON lines.
func readBooks(t *testing.T, env environment, data, venue, symbol string) []bookLine {
	t.Helper()
	r := runCLI(t, env, "--data", data, "read", "--venue", venue, "--symbol", symbol, "--type", "book", "--format", "jsonl").must(t, 0)
	var out []bookLine
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var b bookLine
		if err := json.Unmarshal([]byte(line), &b); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		out = append(out, b)
	}
	return out
}

type bookLine struct {
	TsNs       int64 `json:"ts_ns"`
	Bids, Asks [][2]json.Number
}

// TestCoinbaseBookStreamBehindTheLocalClock is a regression test: Coinbase's
// level2 snapshot carries no time; the adapter once yielded it with Time 0
// and app.Stream throttled later books (venue time) against the local
// receive time, so with the venue's clock behind the local one (`pype sim
// --now` in the past) every book after the first was dropped. Now the
// snapshot is stamped with the venue's clock estimate and app.Stream samples
// each symbol on one clock.
func TestCoinbaseBookStreamBehindTheLocalClock(t *testing.T) {
	s := simtest.Start(t, simtest.Venues("coinbase"), simtest.Seed(liveSeed), simtest.Now(time.Now().Add(-time.Hour)), simtest.History(time.Hour))
	env := venuesEnv(t, s, time.Time{}, "coinbase")
	data := t.TempDir()
	runCLI(t, env, "--data", data, "--progress", "none", "stream", "--venue", "coinbase", "--symbol", "BTC/USD", "--type", "book", "--depth", "10",
		"--book-every", "100ms", "--duration", "1500ms").must(t, 0)
	if books := readBooks(t, env, data, "coinbase", "BTC/USD"); len(books) < 5 {
		t.Fatalf("%d book snapshots stored in 1.5 s at one per 100 ms (first at %s)", len(books), domain.FormatNs(books[0].TsNs))
	}
}

// TestBookStreamsStoreOnlyCompleteChanges is a regression test: BitMEX sends
// each book change as up to three messages (delete, insert, update) and
// Bitfinex as one frame per level then a checksum frame; the adapters once
// reported a live book after every message, so the store received states
// the venue never had. They now report a change once it is complete
// (BitMEX: a later timestamp or a quiet symbol; Bitfinex: the checksum
// frame), and every stored book must be the venue's book at its time.
func TestBookStreamsStoreOnlyCompleteChanges(t *testing.T) {
	for _, tc := range []struct {
		venue, symbol string
		// BitMEX books carry the venue's time: a faster market (started in
		// the past so that it stays there) shows more changes.
		speed float64
		every string
	}{
		{"bitmex", "BTC/USD:perp", 10, "50ms"},
		{"bitfinex", "BTC/USD", 1, "-1ns"}, // stamped with the receive time: the market must keep to the wall clock; every update is stored
	} {
		t.Run(tc.venue, func(t *testing.T) {
			s := simtest.Start(t, simtest.Venues(tc.venue), simtest.Seed(liveSeed), simtest.Now(time.Now().Add(-time.Duration(tc.speed-1)*time.Hour)),
				simtest.Speed(tc.speed), simtest.History(time.Hour), liveSymbols(tc.venue))
			env := venuesEnv(t, s, time.Time{}, tc.venue)
			data := t.TempDir()
			runCLI(t, env, "--data", data, "--progress", "none", "stream", "--venue", tc.venue, "--symbol", tc.symbol, "--type", "book", "--depth", "10",
				"--book-every="+tc.every, "--duration", "2s").must(t, 0)
			books := readBooks(t, env, data, tc.venue, tc.symbol)
			if len(books) < 10 {
				t.Fatalf("only %d books stored", len(books))
			}
			var bad []string
			for _, b := range books {
				if !recentVenueBook(t, s, venueCase{venue: tc.venue, symbol: tc.symbol}, b, 10) {
					bad = append(bad, fmt.Sprintf("%s: bids %v asks %v", domain.FormatNs(b.TsNs), b.Bids, b.Asks))
				}
			}
			if len(bad) > 0 {
				t.Fatalf("%d of %d stored books are not the venue's book at their time, e.g.\n%s", len(bad), len(books), strings.Join(bad[:min(3, len(bad))], "\n"))
			}
		})
	}
}
