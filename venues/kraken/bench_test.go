package kraken

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators/orderbook"
	"github.com/pype-go/pype/transport/ws"
	"github.com/pype-go/pype/venues"
)

func tradesBody(n int) []byte {
	var sb strings.Builder
	sb.WriteString(`{"error":[],"result":{"XXBTZUSD":[`)
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		side := "b"
		if i%3 == 0 {
			side = "s"
		}
		fmt.Fprintf(&sb, `["%d.%05d","0.%08d",1709251200.%04d,"%s","m","",%d]`, 42000+i%50, i%100000, 1000+i*37, i%10000, side, 61044952+i)
	}
	sb.WriteString(`],"last":"1709251200999900000"}}`)
	return []byte(sb.String())
}

func ohlcBody(n int) []byte {
	var sb strings.Builder
	sb.WriteString(`{"error":[],"result":{"XXBTZUSD":[`)
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `[%d,"43437.5","43593.7","43355.5","43361.1","43511.3","18.75430110",%d]`, 1706626800+i*60, 100+i)
	}
	sb.WriteString(`],"last":1706796000}}`)
	return []byte(sb.String())
}

// BenchmarkParseTrades: one full Trades page (1000 rows).
func BenchmarkParseTrades(b *testing.B) {
	body := tradesBody(MaxTrades)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	var rows []tradeRow
	for b.Loop() {
		var err error
		if rows, _, err = parseTrades(body, rows); err != nil || len(rows) != MaxTrades {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*MaxTrades/b.Elapsed().Seconds(), "trades/s")
}

// BenchmarkParseOHLC: one full OHLC answer (720 rows).
func BenchmarkParseOHLC(b *testing.B) {
	body := ohlcBody(MaxOHLC)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	var rows []ohlcRow
	for b.Loop() {
		var err error
		if rows, _, err = parseOHLC(body, rows); err != nil || len(rows) != MaxOHLC {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*MaxOHLC/b.Elapsed().Seconds(), "bars/s")
}

// BenchmarkParseBookMessage: a v2 book update with a few levels.
func BenchmarkParseBookMessage(b *testing.B) {
	msg := []byte(`{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":45283.5,"qty":0.25000000},{"price":45284.0,"qty":0.00500000}],"asks":[{"price":45285.2,"qty":0.00000000},{"price":45290.1,"qty":1.20000000}],"checksum":2070611440,"timestamp":"2023-10-06T17:35:55.440295Z"}]}`)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	var m wsMsg
	for b.Loop() {
		if err := parseMessage(msg, &m); err != nil || len(m.Books) != 1 {
			b.Fatal(err)
		}
	}
}

// BenchmarkBookMessages replays the recorded OMG/USD book-1000 session (as
// v2 messages) through the parser, the sync engine (apply, truncate to
// 1000 levels, verify the checksum of every message) and the event
// reporting: book messages per second.
func BenchmarkBookMessages(b *testing.B) {
	pairs := fixturePairs(b)
	sym := domain.NewSymbol("OMG", "USD")
	var msgs [][]byte
	for _, l := range readLines(b, "ws_v1_book1000_OMG-USD_snapshot_updates_checksum_cryptofeed_2021-04-17.jsonl") {
		m, ok, err := v1ToV2(l, "OMG/USD")
		if err != nil {
			b.Fatal(err)
		}
		if ok {
			msgs = append(msgs, m)
		}
	}
	eng := newTestEngine(b, NewChecksumRule(pairs...), 1000, sym)
	events := 0
	hs := &bookStream{eng: eng, bySym: map[string]*streamSym{"OMG/USD": {sym: sym}}, report: 10,
		emit: func(venues.BookEvent) bool { return true }}
	var m wsMsg
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		l := msgs[i%len(msgs)]
		i++
		if err := parseMessage(l, &m); err != nil {
			b.Fatal(err)
		}
		hs.message(&m, ws.Frame{Data: l})
		events++
	}
	if st, _ := eng.Stats(sym); st.ChecksumFailures != 0 || st.State != orderbook.Live {
		b.Fatalf("stats %+v", st)
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "msgs/s")
}
