// Package render writes pype's records and reports as text: aligned
// tables for people, CSV and JSON lines for tools. The CLI and the service
// share it, so the formats are the same everywhere.
//
// Decimals are printed in their shortest exact form (trailing zeros
// removed: 42000.50 → 42000.5, 100.00 → 100); timestamps are int64
// nanoseconds (ts_ns) in CSV and JSON, and UTC RFC 3339 in tables and in
// JSON's "time" field.
//
// CSV headers:
//
//	candles: ts_ns,open,high,low,close,volume,quote_volume,trades
//	trades:  ts_ns,id,price,amount,side
//	books:   ts_ns,seq,side,level,price,amount
package render

import (
	"bufio"
	"fmt"
	"io"
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
)

// Format is an output format.
type Format string

// Formats.
const (
	Table Format = "table"
	CSV   Format = "csv"
	JSONL Format = "jsonl"
	JSON  Format = "json"
)

// FormatError reports an unknown or unsupported format.
type FormatError struct {
	Input    string
	Accepted []Format
}

func (e *FormatError) Error() string {
	acc := make([]string, len(e.Accepted))
	for i, f := range e.Accepted {
		acc[i] = string(f)
	}
	return fmt.Sprintf("invalid format %q (accepted: %s)", e.Input, strings.Join(acc, ", "))
}

// ParseFormat reads a format name among the accepted ones.
func ParseFormat(s string, accepted ...Format) (Format, error) {
	f := Format(strings.ToLower(strings.TrimSpace(s)))
	if f == "ndjson" || f == "json-lines" {
		f = JSONL
	}
	for _, a := range accepted {
		if a == f {
			return f, nil
		}
	}
	return "", &FormatError{Input: s, Accepted: accepted}
}

// Decimal prints d in its shortest exact form.
func Decimal(d decimal.Decimal) string { return d.Trim(0).String() }

func appendDecimal(b []byte, d decimal.Decimal) []byte {
	return append(b, d.Trim(0).String()...)
}

// TimeLayout is the layout of times in tables.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// Time prints ns for tables.
func Time(ns int64) string { return domain.Time(ns).Format(TimeLayout) }

// BarWriter writes candles in one format.
type BarWriter struct {
	w      *bufio.Writer
	f      Format
	n      int64
	header bool
	buf    []byte
}

// NewBarWriter returns a writer of candles to w in format f (table, csv or
// jsonl). Call Flush at the end.
func NewBarWriter(w io.Writer, f Format) *BarWriter {
	return &BarWriter{w: bufio.NewWriterSize(w, 64<<10), f: f}
}

var barCols = []string{"ts_ns", "open", "high", "low", "close", "volume", "quote_volume", "trades"}

// Write writes one bar.
func (bw *BarWriter) Write(b domain.OHLCBar) error {
	buf := bw.buf[:0]
	switch bw.f {
	case CSV:
		if !bw.header {
			buf = append(buf, strings.Join(barCols, ",")...)
			buf = append(buf, '\n')
		}
		buf = strconv.AppendInt(buf, b.OpenTime, 10)
		for _, d := range []decimal.Decimal{b.Open, b.High, b.Low, b.Close, b.Volume, b.QuoteVolume} {
			buf = append(buf, ',')
			buf = appendDecimal(buf, d)
		}
		buf = append(buf, ',')
		buf = strconv.AppendInt(buf, b.Trades, 10)
	case JSONL:
		buf = append(buf, `{"ts_ns":`...)
		buf = strconv.AppendInt(buf, b.OpenTime, 10)
		buf = append(buf, `,"time":"`...)
		buf = append(buf, domain.FormatNs(b.OpenTime)...)
		buf = append(buf, '"')
		for i, d := range []decimal.Decimal{b.Open, b.High, b.Low, b.Close, b.Volume, b.QuoteVolume} {
			buf = append(buf, `,"`...)
			buf = append(buf, barCols[i+1]...)
			buf = append(buf, `":`...)
			buf = appendDecimal(buf, d)
		}
		buf = append(buf, `,"trades":`...)
		buf = strconv.AppendInt(buf, b.Trades, 10)
		buf = append(buf, '}')
	default:
		if !bw.header {
			buf = fmt.Appendf(buf, "%-24s %14s %14s %14s %14s %16s %18s %8s\n", "TIME", "OPEN", "HIGH", "LOW", "CLOSE", "VOLUME", "QUOTE_VOLUME", "TRADES")
		}
		buf = fmt.Appendf(buf, "%-24s %14s %14s %14s %14s %16s %18s %8d", Time(b.OpenTime), Decimal(b.Open), Decimal(b.High),
			Decimal(b.Low), Decimal(b.Close), Decimal(b.Volume), Decimal(b.QuoteVolume), b.Trades)
	}
	buf = append(buf, '\n')
	bw.header = true
	bw.buf = buf
	bw.n++
	_, err := bw.w.Write(buf)
	return err
}

// Flush writes buffered output; a table with no row gets its header.
func (bw *BarWriter) Flush() error {
	if bw.n == 0 && bw.f != JSONL {
		// An empty result still has its header.
		bw.header = false
		bw.buf = bw.buf[:0]
		if bw.f == CSV {
			bw.buf = append(bw.buf, strings.Join(barCols, ",")+"\n"...)
		} else {
			bw.buf = fmt.Appendf(bw.buf, "%-24s %14s %14s %14s %14s %16s %18s %8s\n", "TIME", "OPEN", "HIGH", "LOW", "CLOSE", "VOLUME", "QUOTE_VOLUME", "TRADES")
		}
		if _, err := bw.w.Write(bw.buf); err != nil {
			return err
		}
		bw.header = true
	}
	return bw.w.Flush()
}

// Count returns the rows written.
func (bw *BarWriter) Count() int64 { return bw.n }

// TradeWriter writes trades in one format.
type TradeWriter struct {
	w      *bufio.Writer
	f      Format
	n      int64
	header bool
	buf    []byte
}

// NewTradeWriter returns a writer of trades to w in format f.
func NewTradeWriter(w io.Writer, f Format) *TradeWriter {
	return &TradeWriter{w: bufio.NewWriterSize(w, 64<<10), f: f}
}

const tradeCSVHeader = "ts_ns,id,price,amount,side\n"

func tradeTableHeader(b []byte) []byte {
	return fmt.Appendf(b, "%-24s %14s %16s %16s %s\n", "TIME", "ID", "PRICE", "AMOUNT", "SIDE")
}

// Write writes one trade.
func (tw *TradeWriter) Write(t domain.Trade) error {
	buf := tw.buf[:0]
	switch tw.f {
	case CSV:
		if !tw.header {
			buf = append(buf, tradeCSVHeader...)
		}
		buf = strconv.AppendInt(buf, t.Time, 10)
		buf = append(buf, ',')
		buf = appendCSVField(buf, t.ID)
		buf = append(buf, ',')
		buf = appendDecimal(buf, t.Price)
		buf = append(buf, ',')
		buf = appendDecimal(buf, t.Amount)
		buf = append(buf, ',')
		buf = append(buf, t.Side.String()...)
	case JSONL:
		buf = append(buf, `{"ts_ns":`...)
		buf = strconv.AppendInt(buf, t.Time, 10)
		buf = append(buf, `,"time":"`...)
		buf = append(buf, domain.FormatNs(t.Time)...)
		buf = append(buf, `","id":`...)
		buf = strconv.AppendQuote(buf, t.ID)
		buf = append(buf, `,"price":`...)
		buf = appendDecimal(buf, t.Price)
		buf = append(buf, `,"amount":`...)
		buf = appendDecimal(buf, t.Amount)
		buf = append(buf, `,"side":"`...)
		buf = append(buf, t.Side.String()...)
		buf = append(buf, `"}`...)
	default:
		if !tw.header {
			buf = tradeTableHeader(buf)
		}
		buf = fmt.Appendf(buf, "%-24s %14s %16s %16s %s", Time(t.Time), t.ID, Decimal(t.Price), Decimal(t.Amount), t.Side)
	}
	buf = append(buf, '\n')
	tw.header = true
	tw.buf = buf
	tw.n++
	_, err := tw.w.Write(buf)
	return err
}

// Flush writes buffered output.
func (tw *TradeWriter) Flush() error {
	if tw.n == 0 && !tw.header {
		switch tw.f {
		case CSV:
			if _, err := tw.w.WriteString(tradeCSVHeader); err != nil {
				return err
			}
		case Table:
			if _, err := tw.w.Write(tradeTableHeader(nil)); err != nil {
				return err
			}
		}
		tw.header = true
	}
	return tw.w.Flush()
}

// Count returns the rows written.
func (tw *TradeWriter) Count() int64 { return tw.n }

func appendCSVField(b []byte, s string) []byte {
	if !strings.ContainsAny(s, ",\"\n\r") {
		return append(b, s...)
	}
	return append(append(append(b, '"'), strings.ReplaceAll(s, `"`, `""`)...), '"')
}

// BookWriter writes order-book snapshots, one row per level.
type BookWriter struct {
	w      *bufio.Writer
	f      Format
	n      int64
	header bool
	buf    []byte
}

// NewBookWriter returns a writer of book snapshots to w in format f. CSV
// and tables have one row per level; JSON lines one object per snapshot.
func NewBookWriter(w io.Writer, f Format) *BookWriter {
	return &BookWriter{w: bufio.NewWriterSize(w, 64<<10), f: f}
}

const bookCSVHeader = "ts_ns,seq,side,level,price,amount\n"

func bookTableHeader(b []byte) []byte {
	return fmt.Appendf(b, "%-24s %12s %-4s %5s %16s %16s\n", "TIME", "SEQ", "SIDE", "LEVEL", "PRICE", "AMOUNT")
}

func bookTime(b domain.BookSnapshot) int64 {
	if b.Time != 0 {
		return b.Time
	}
	return b.RecvTime
}

// Write writes one snapshot.
func (bw *BookWriter) Write(b domain.BookSnapshot) error {
	buf := bw.buf[:0]
	ts := bookTime(b)
	switch bw.f {
	case JSONL:
		buf = append(buf, `{"ts_ns":`...)
		buf = strconv.AppendInt(buf, ts, 10)
		buf = append(buf, `,"time":"`...)
		buf = append(buf, domain.FormatNs(ts)...)
		buf = append(buf, `","seq":`...)
		buf = strconv.AppendInt(buf, b.Seq, 10)
		for _, side := range []struct {
			name string
			lv   []domain.BookLevel
		}{{"bids", b.Bids}, {"asks", b.Asks}} {
			buf = append(buf, `,"`...)
			buf = append(buf, side.name...)
			buf = append(buf, `":[`...)
			for i, l := range side.lv {
				if i > 0 {
					buf = append(buf, ',')
				}
				buf = append(buf, '[')
				buf = appendDecimal(buf, l.Price)
				buf = append(buf, ',')
				buf = appendDecimal(buf, l.Amount)
				buf = append(buf, ']')
			}
			buf = append(buf, ']')
		}
		buf = append(buf, "}\n"...)
	default:
		for _, side := range []struct {
			name string
			lv   []domain.BookLevel
		}{{"bid", b.Bids}, {"ask", b.Asks}} {
			for i, l := range side.lv {
				if bw.f == CSV {
					if !bw.header {
						buf = append(buf, bookCSVHeader...)
						bw.header = true
					}
					buf = strconv.AppendInt(buf, ts, 10)
					buf = append(buf, ',')
					buf = strconv.AppendInt(buf, b.Seq, 10)
					buf = append(buf, ',')
					buf = append(buf, side.name...)
					buf = append(buf, ',')
					buf = strconv.AppendInt(buf, int64(i+1), 10)
					buf = append(buf, ',')
					buf = appendDecimal(buf, l.Price)
					buf = append(buf, ',')
					buf = appendDecimal(buf, l.Amount)
					buf = append(buf, '\n')
					continue
				}
				if !bw.header {
					buf = bookTableHeader(buf)
					bw.header = true
				}
				buf = fmt.Appendf(buf, "%-24s %12d %-4s %5d %16s %16s\n", Time(ts), b.Seq, side.name, i+1, Decimal(l.Price), Decimal(l.Amount))
			}
		}
	}
	bw.buf = buf
	bw.n++
	_, err := bw.w.Write(buf)
	return err
}

// Flush writes buffered output.
func (bw *BookWriter) Flush() error {
	if !bw.header {
		switch bw.f {
		case CSV:
			if _, err := bw.w.WriteString(bookCSVHeader); err != nil {
				return err
			}
		case Table:
			if _, err := bw.w.Write(bookTableHeader(nil)); err != nil {
				return err
			}
		}
		bw.header = true
	}
	return bw.w.Flush()
}

// Count returns the snapshots written.
func (bw *BookWriter) Count() int64 { return bw.n }

// Copy writes every element of seq with write and flushes; it stops at the
// first error of seq or of the writer.
func Copy[T any](seq iter.Seq2[T, error], write func(T) error, flush func() error) error {
	for v, err := range seq {
		if err != nil {
			_ = flush()
			return err
		}
		if err := write(v); err != nil {
			return err
		}
	}
	return flush()
}

// Bytes prints a size in B, KiB, MiB, GiB.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// Count prints an integer with thousands separators: 1,234,567.
func Count(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Duration prints d rounded for people: 1.2s, 3m4s, 250ms.
func Duration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return d.String()
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	default:
		return d.Round(time.Second).String()
	}
}

// Range prints a range for people: 2024-01-01T00:00:00Z → 2024-02-01T00:00:00Z.
func Range(r domain.Range) string {
	return domain.FormatNs(r.Start) + " → " + domain.FormatNs(r.End)
}
