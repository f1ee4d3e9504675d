package store

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/govalues/decimal"
	"github.com/pype-go/pype/domain"
)

var (
	btc       = domain.MustParseSymbol("BTC/USDT")
	tradesID  = domain.DatasetID{Venue: "binance", Symbol: btc, Type: domain.Trades}
	ohlc1h    = domain.DatasetID{Venue: "binance", Symbol: btc, Type: domain.OHLC, Span: domain.Span1h}
	ohlc1m    = domain.DatasetID{Venue: "binance", Symbol: btc, Type: domain.OHLC, Span: domain.Span1m}
	bookID    = domain.DatasetID{Venue: "binance", Symbol: btc, Type: domain.Book}
	day0      = mustTime("2024-03-01")
	fixedNow  = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	quietLog  = slog.New(slog.NewTextHandler(io.Discard, nil))
	testProv  = domain.Provenance{Venue: "binance", Transport: domain.REST, RunID: "run-1", ToolVersion: "test", Source: "sim"}
	testProv2 = domain.Provenance{Venue: "binance", Transport: domain.WebSocket, RunID: "run-2", ToolVersion: "test", Source: "sim"}
)

func mustTime(s string) int64 {
	ts, err := domain.ParseTime(s)
	if err != nil {
		panic(err)
	}
	return ts
}

func dec(s string) decimal.Decimal { return decimal.MustParse(s) }

func openTest(t testing.TB, opts Options) *Store {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quietLog
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return fixedNow }
	}
	s, err := Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// mkTrade makes trade number i: one every 10 ms from day0, id 1000+i.
func mkTrade(i int) domain.Trade {
	return domain.Trade{
		ID:     strconv.Itoa(1000 + i),
		Time:   day0 + int64(i)*int64(10*time.Millisecond),
		Price:  decimal.MustNew(int64(6_000_000+i%1000), 2),
		Amount: decimal.MustNew(int64(1+i%97), 4),
		Side:   domain.Side(1 + i%2),
	}
}

func mkBar(i int, span domain.Span, close string) domain.OHLCBar {
	return domain.OHLCBar{
		OpenTime: span.Add(day0, int64(i)), Open: dec("100.5"), High: dec("101.25"), Low: dec("99.75"),
		Close: dec(close), Volume: dec("12.3456"), QuoteVolume: dec("1234.5678"), Trades: int64(10 + i), Closed: true,
	}
}

// tb is the part of testing.TB that rapid.T also implements.
type tb interface {
	Helper()
	Fatalf(format string, args ...any)
	Errorf(format string, args ...any)
}

func collect[T any](t tb, seq func(func(T, error) bool)) []T {
	t.Helper()
	var out []T
	for v, err := range seq {
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		out = append(out, v)
	}
	return out
}

func writeTrades(t testing.TB, s *Store, prov domain.Provenance, trades []domain.Trade, cover ...domain.Range) {
	t.Helper()
	ctx := context.Background()
	w, err := s.TradeWriter(tradesID, prov)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, trades); err != nil {
		t.Fatal(err)
	}
	for _, r := range cover {
		if err := w.Cover(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func allTime() domain.Range { return domain.Range{Start: 0, End: mustTime("2100-01-01")} }

func sameTrade(a, b domain.Trade) bool {
	return a.ID == b.ID && a.Time == b.Time && a.Price.Cmp(b.Price) == 0 && a.Amount.Cmp(b.Amount) == 0 &&
		a.Side == b.Side && a.RecvTime == b.RecvTime
}
