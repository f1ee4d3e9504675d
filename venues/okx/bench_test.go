package okx

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators/orderbook"
)

// candlesPage builds a history-candles answer of n rows in OKX's format.
func candlesPage(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"code":"0","msg":"","data":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `["%d","43398.6","43493.9","43279.9","43373.9","5070.79611732","220057933.233687634","220057933.233687634","1"]`, 1706637600000-int64(i)*60000)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// tradesPage builds a history-trades answer of n rows in OKX's format.
func tradesPage(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"code":"0","msg":"","data":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"instId":"BTC-USDT","side":"sell","sz":"0.0009478","px":"73239.3","tradeId":"%d","ts":"1710327658374"}`, 497859870-i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

func BenchmarkParseHistoryCandles(b *testing.B) {
	body := candlesPage(MaxHistoryCandles)
	rows := make([]candle, 0, MaxHistoryCandles)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if rows, err = parseCandles(body, rows[:0]); err != nil || len(rows) != MaxHistoryCandles {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*MaxHistoryCandles)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkParseHistoryTrades(b *testing.B) {
	body := tradesPage(MaxHistoryTrades)
	rows := make([]trade, 0, MaxHistoryTrades)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if rows, err = parseTrades(body, rows[:0]); err != nil || len(rows) != MaxHistoryTrades {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*MaxHistoryTrades)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkBooksSnapshotFrame parses the recorded 400-level books snapshot.
func BenchmarkBooksSnapshotFrame(b *testing.B) {
	var line []byte
	for _, l := range fixtureLines(b, "ws_books_BTC-USDT_snapshot_updates_checksum_cryptofeed_2022-05-13.jsonl") {
		if strings.Contains(string(l), `"snapshot"`) {
			line = l
			break
		}
	}
	var fr frame
	var m bookMsg
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		if err := parseFrame(line, &fr); err != nil {
			b.Fatal(err)
		}
		if err := wsBook(fr.Data, &m); err != nil || len(m.Bids) != 400 {
			b.Fatal(err)
		}
	}
}

// BenchmarkBookMessages replays the recorded BTC-USDT books frames (a
// snapshot and 97 updates) through the frame parser and the sync engine
// with OKX's continuity and checksum rules: the cost of one live book
// message end to end.
func BenchmarkBookMessages(b *testing.B) {
	lines := fixtureLines(b, "ws_books_BTC-USDT_snapshot_updates_checksum_cryptofeed_2022-05-13.jsonl")
	var updates [][]byte
	var snapshot []byte
	for _, l := range lines {
		switch {
		case strings.Contains(string(l), `"snapshot"`):
			snapshot = l
		case strings.Contains(string(l), `"update"`):
			updates = append(updates, l)
		}
	}
	eng, err := orderbook.NewEngine(orderbook.Config{Venue: Name, Continuity: orderbook.OKXContinuity{}, Checksum: orderbook.OKXChecksum{Depth: 25},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	sym := btcusdt
	if err := eng.Add(sym); err != nil {
		b.Fatal(err)
	}
	var fr frame
	var m bookMsg
	var d domain.BookDelta
	handle := func(line []byte) {
		if err := parseFrame(line, &fr); err != nil {
			b.Fatal(err)
		}
		if err := wsBook(fr.Data, &m); err != nil {
			b.Fatal(err)
		}
		m.delta(sym, string(fr.Action) == "snapshot", 1, &d)
		if err := eng.Handle(&d); err != nil {
			b.Fatal(err)
		}
	}
	handle(snapshot)
	msgs := 0
	b.ReportAllocs()
	for b.Loop() {
		// Each round restarts from the snapshot (the updates chain from it).
		handle(snapshot)
		for _, u := range updates {
			handle(u)
		}
		msgs += 1 + len(updates)
	}
	st, _ := eng.Stats(sym)
	if st.ChecksumFailures != 0 || st.State != orderbook.Live {
		b.Fatalf("engine %+v", st)
	}
	b.ReportMetric(float64(msgs)/b.Elapsed().Seconds(), "msgs/s")
}
