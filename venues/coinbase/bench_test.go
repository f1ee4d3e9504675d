package coinbase

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators/orderbook"
)

func candlesBody(n int) []byte {
	b := []byte{'['}
	t0 := int64(1704067200)
	for i := n - 1; i >= 0; i-- {
		if i != n-1 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, "[%d,%d.%02d,%d.%02d,%d.%02d,%d.%02d,%d.%08d]", t0+int64(i)*60, 42000+i%97, i%100, 42100+i%89, (i*7)%100, 42050+i%91, (i*3)%100, 42060+i%83, (i*5)%100, i%300, i*7919%100000000)
	}
	return append(b, ']')
}

func tradesBody(n int) []byte {
	b := []byte{'['}
	t0 := time.Date(2026, 6, 11, 12, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		side := "buy"
		if i%3 == 0 {
			side = "sell"
		}
		b = fmt.Appendf(b, `{"trade_id":%d,"side":"%s","size":"0.%08d","price":"%d.%02d000000","time":"%s"}`, 1036397971-i, side, i*7919%100000000, 62929-i%50, i%100,
			t0.Add(-time.Duration(i)*137*time.Microsecond).Format("2006-01-02T15:04:05.000000Z"))
	}
	return append(b, ']')
}

func BenchmarkParseCandles300(b *testing.B) {
	body := candlesBody(300)
	dst := make([]domain.OHLCBar, 0, 300)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = parseCandles(body, dst[:0]); err != nil || len(dst) != 300 {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(300*b.N)/b.Elapsed().Seconds(), "bars/s")
}

func BenchmarkParseTrades1000(b *testing.B) {
	body := tradesBody(1000)
	dst := make([]trade, 0, 1000)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = parseTrades(body, dst[:0]); err != nil || len(dst) != 1000 {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "trades/s")
}

// BenchmarkFeedMessages decodes the recorded feed (level2 updates, matches,
// tickers) message by message.
func BenchmarkFeedMessages(b *testing.B) {
	lines := readLines(b, "ws_exchange_level2_ticker_matches_BAND-GBP_cryptofeed_2021-04-17.jsonl")
	lines = lines[3:] // without the subscription acks and the 300-level snapshot
	var size int64
	for _, l := range lines {
		size += int64(len(l))
	}
	var m wsMsg
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range lines {
			if err := parseWS(l, &m); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(lines)*b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkBookMessages is the live book path per message: decode an
// l2update and apply it through the orderbook engine with the Coinbase
// rule, as StreamBooks does. Each round replays the recorded snapshot and
// its 380 updates (the snapshot is counted as one message).
func BenchmarkBookMessages(b *testing.B) {
	lines := readLines(b, "ws_exchange_level2_ticker_matches_BAND-GBP_cryptofeed_2021-04-17.jsonl")
	eng, err := orderbook.NewEngine(orderbook.Config{Venue: Name, Continuity: orderbook.CoinbaseContinuity{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	sym := domain.NewSymbol("BAND", "GBP")
	if err := eng.Add(sym); err != nil {
		b.Fatal(err)
	}
	var m wsMsg
	var snapshot []byte
	var updates [][]byte
	var seq int64
	for _, l := range lines {
		if err := parseWS(l, &m); err != nil {
			b.Fatal(err)
		}
		switch m.Kind {
		case msgSnapshot:
			snapshot = l
		case msgL2Update:
			updates = append(updates, l)
		}
	}
	var d domain.BookDelta
	var snap domain.BookSnapshot
	b.ReportAllocs()
	for b.Loop() {
		if err := parseWS(snapshot, &m); err != nil {
			b.Fatal(err)
		}
		seq++
		snap = domain.BookSnapshot{Symbol: sym, Seq: seq, Bids: m.Bids, Asks: m.Asks}
		if err := eng.HandleSnapshot(&snap); err != nil {
			b.Fatal(err)
		}
		for _, l := range updates {
			if err := parseWS(l, &m); err != nil {
				b.Fatal(err)
			}
			seq++
			d = domain.BookDelta{Symbol: sym, Seq: seq, Time: m.Time, Bids: m.Bids, Asks: m.Asks}
			if err := eng.Handle(&d); err != nil {
				b.Fatal(err)
			}
		}
	}
	if st, _ := eng.Stats(sym); st.State != orderbook.Live || st.Crossed != 0 {
		b.Fatalf("book %+v", st)
	}
	b.ReportMetric(float64((len(updates)+1)*b.N)/b.Elapsed().Seconds(), "msgs/s")
}
