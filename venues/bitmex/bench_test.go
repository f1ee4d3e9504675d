package bitmex

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/transport/ws"
	"github.com/pype-go/pype/venues"
)

// page repeats the rows of a recorded page to n rows.
func page(t testing.TB, name string, n int) []byte {
	b := readFixture(t, name)
	rows := bytes.Split(bytes.Trim(bytes.TrimSpace(b), "[]"), []byte("},{"))
	var out bytes.Buffer
	out.WriteByte('[')
	for i := 0; i < n; i++ {
		if i > 0 {
			out.WriteByte(',')
		}
		r := rows[i%len(rows)]
		out.WriteByte('{')
		out.Write(bytes.TrimSuffix(bytes.TrimPrefix(r, []byte("{")), []byte("}")))
		out.WriteByte('}')
	}
	out.WriteByte(']')
	return out.Bytes()
}

func BenchmarkParseTrades(b *testing.B) {
	body := page(b, "rest_trade_XBTUSD_count5_2024-01-01_dccd_lastSideEdited.json", MaxCount)
	dst := make([]domain.Trade, 0, MaxCount)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = parseTrades(body, "XBTUSD", dst[:0]); err != nil || len(dst) != MaxCount {
			b.Fatal(err, len(dst))
		}
	}
	b.ReportMetric(float64(b.N*MaxCount)/b.Elapsed().Seconds(), "trades/s")
}

func BenchmarkParseBuckets(b *testing.B) {
	body := page(b, "rest_trade_bucketed_XBTUSD_1h_count5_2024-01-01_dccd.json", MaxCount)
	dst := make([]domain.OHLCBar, 0, MaxCount)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = parseBuckets(body, domain.Span1h, "XBTUSD", dst[:0]); err != nil || len(dst) != MaxCount {
			b.Fatal(err, len(dst))
		}
	}
	b.ReportMetric(float64(b.N*MaxCount)/b.Elapsed().Seconds(), "bars/s")
}

// BenchmarkBookMessages replays the recorded ADAUSDT orderBookL2 session
// (partial + 120 insert/update/delete messages) through the full path:
// frame split, row decoding, id map, the orderbook engine and the top-20
// report.
func BenchmarkBookMessages(b *testing.B) {
	lines := readLines(b, "ws_orderBookL2_ADAUSDT_partial_updates_cryptofeed_2021-07-22.jsonl")
	var tables [][]byte
	for _, l := range lines {
		if bytes.Contains(l, []byte(`"table":"orderBookL2"`)) {
			tables = append(tables, l)
		}
	}
	r := newReplay(b, "orderBookL2", map[string]domain.Symbol{"ADAUSDT": domain.MustParseSymbol("ADA/USDT:perp")})
	r.h.depth = 20
	r.h.emit = func(venues.BookEvent) bool { return true }
	var f wsFrame
	msgs := 0
	start := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		for i, l := range tables {
			if err := parseFrame(l, &f); err != nil {
				b.Fatal(err)
			}
			r.h.table(ws.Frame{Data: l, Received: int64(i)}, &f)
			msgs++
		}
	}
	if r.h.inconsistent != 0 {
		b.Fatal("inconsistent replay")
	}
	b.ReportMetric(float64(msgs)/time.Since(start).Seconds(), "msgs/s")
}

func BenchmarkParseFrame(b *testing.B) {
	line := []byte(fmt.Sprintf(`{"table":"orderBookL2_25","action":"update","data":[{"symbol":"XBTUSD","id":8799160000,"side":"Sell","size":%d,"price":41999.5,"timestamp":"2024-01-01T00:00:01.235Z"}]}`, 1200))
	var f wsFrame
	var rows []l2Row
	b.ReportAllocs()
	for b.Loop() {
		if err := parseFrame(line, &f); err != nil {
			b.Fatal(err)
		}
		var err error
		if rows, err = parseL2Rows(f.Data, rows[:0]); err != nil || len(rows) != 1 {
			b.Fatal(err)
		}
	}
}
