package okx

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/venues"
)

// fakeTrade is one trade of the fake venue: id, ms.
type fakeTrade struct{ id, ms int64 }

// fakeOKX serves /api/v5/market/history-trades over a fixed trade list
// with OKX's documented semantics (newest first; type=1 after = exclusive
// id, type=2 after = exclusive ms; limit ≤ 100), plus /public/time and
// /public/instruments. soft makes the first n answers a rate-limit error
// inside an HTTP 200 body.
type fakeOKX struct {
	trades   []fakeTrade // ascending
	nowMs    int64
	soft     atomic.Int64 // answers left to spoil with softCode
	softCode string
	calls    atomic.Int64
}

func (f *fakeOKX) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	q := r.URL.Query()
	switch r.URL.Path {
	case "/api/v5/public/time":
		fmt.Fprintf(w, `{"code":"0","msg":"","data":[{"ts":"%d"}]}`, f.nowMs)
		return
	case "/api/v5/public/instruments":
		_, _ = w.Write([]byte(`{"code":"0","msg":"","data":[{"instId":"BTC-USDT","instType":"SPOT","baseCcy":"BTC","quoteCcy":"USDT","tickSz":"0.1","lotSz":"0.00000001","minSz":"0.00001","state":"live"}]}`))
		return
	}
	f.calls.Add(1)
	if f.soft.Add(-1) >= 0 {
		fmt.Fprintf(w, `{"code":%q,"msg":"Rate limit reached. Please refer to API documentation and throttle requests accordingly.","data":[]}`, f.softCode)
		return
	}
	if r.URL.Path != "/api/v5/market/history-trades" || q.Get("instId") != "BTC-USDT" {
		_, _ = w.Write([]byte(`{"code":"51001","msg":"Instrument ID or Spread ID doesn't exist.","data":[]}`))
		return
	}
	after, _ := strconv.ParseInt(q.Get("after"), 10, 64)
	limit, _ := strconv.Atoi(q.Get("limit"))
	var b strings.Builder
	b.WriteString(`{"code":"0","msg":"","data":[`)
	n := 0
	for i := len(f.trades) - 1; i >= 0 && n < limit; i-- {
		t := f.trades[i]
		if after > 0 && ((q.Get("type") == "2" && t.ms >= after) || (q.Get("type") != "2" && t.id >= after)) {
			continue
		}
		if n > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"instId":"BTC-USDT","side":"buy","sz":"0.001","px":"100.%d","tradeId":"%d","ts":"%d"}`, t.id%10, t.id, t.ms)
		n++
	}
	b.WriteString(`]}`)
	_, _ = w.Write([]byte(b.String()))
}

func openFake(t *testing.T, f *fakeOKX) *Adapter {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	a, err := Open(t.Context(), venues.Config{RESTURL: srv.URL, Logger: slog.New(slog.DiscardHandler)}, WithRetries(6, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// burst builds trades: 3 before, 250 sharing one millisecond, 3 after.
func burst(base int64) []fakeTrade {
	var ts []fakeTrade
	id := int64(1000)
	add := func(ms int64, n int) {
		for range n {
			ts = append(ts, fakeTrade{id, ms})
			id++
		}
	}
	add(base-2, 3)
	add(base, 250)
	add(base+5, 3)
	return ts
}

// TestSameMillisecondBurstAcrossPages: 250 trades in one millisecond span
// three pages; walking by trade id yields all of them exactly once, where
// a timestamp cursor would have lost two pages.
func TestSameMillisecondBurstAcrossPages(t *testing.T) {
	base := domain.NanosToMillis(domain.Nanos(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)))
	f := &fakeOKX{trades: burst(base), nowMs: base + 60_000}
	a := openFake(t, f)
	r := domain.Range{Start: domain.MillisToNanos(base - 10), End: domain.MillisToNanos(base + 10)}
	var got []domain.Trade
	for tr, err := range a.BackfillTrades(t.Context(), venues.TradeRequest{Symbol: btcusdt, Range: r}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, tr)
	}
	if len(got) != len(f.trades) {
		t.Fatalf("%d trades, want %d", len(got), len(f.trades))
	}
	for i, tr := range got {
		if tr.ID != strconv.FormatInt(f.trades[i].id, 10) || tr.Time != domain.MillisToNanos(f.trades[i].ms) {
			t.Fatalf("trade %d = %+v, want %+v", i, tr, f.trades[i])
		}
	}
	// The trap, for contrast: paging by time (after = the oldest ms seen)
	// jumps over the rest of the burst.
	seen := map[int64]bool{}
	after := base + 10
	for range 10 {
		page, err := a.HistoryTrades(t.Context(), btcusdt, TradesQuery{ByTime: true, After: after})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, tr := range page {
			id, _ := strconv.ParseInt(tr.ID, 10, 64)
			seen[id] = true
			after = min(after, domain.NanosToMillis(tr.Time))
		}
	}
	if len(seen) >= len(f.trades) {
		t.Fatalf("the timestamp cursor lost nothing (%d trades): the burst does not cross pages", len(seen))
	}
}

// TestSoftErrorsAreRetriedNotEmptyPages: errors inside HTTP 200 bodies are
// retried when transient and surfaced otherwise, never taken as an empty
// page (which would look like a quiet market).
func TestSoftErrorsAreRetriedNotEmptyPages(t *testing.T) {
	base := domain.NanosToMillis(domain.Nanos(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)))
	r := domain.Range{Start: domain.MillisToNanos(base - 10), End: domain.MillisToNanos(base + 10)}
	collect := func(a *Adapter) ([]domain.Trade, error) {
		var out []domain.Trade
		for tr, err := range a.BackfillTrades(t.Context(), venues.TradeRequest{Symbol: btcusdt, Range: r}) {
			if err != nil {
				return out, err
			}
			out = append(out, tr)
		}
		return out, nil
	}
	t.Run("transient rate limit", func(t *testing.T) {
		f := &fakeOKX{trades: burst(base), nowMs: base + 60_000, softCode: "50011"}
		f.soft.Store(3)
		got, err := collect(openFake(t, f))
		if err != nil || len(got) != len(f.trades) {
			t.Fatalf("%d trades, %v", len(got), err)
		}
	})
	t.Run("rate limit that does not end", func(t *testing.T) {
		f := &fakeOKX{trades: burst(base), nowMs: base + 60_000, softCode: "50011"}
		f.soft.Store(1 << 40)
		got, err := collect(openFake(t, f))
		if !errors.Is(err, ErrTooManyRequests) || len(got) != 0 || f.calls.Load() != 6 {
			t.Fatalf("%d trades, %d calls, err %v", len(got), f.calls.Load(), err)
		}
	})
	t.Run("fatal code", func(t *testing.T) {
		f := &fakeOKX{trades: burst(base), nowMs: base + 60_000, softCode: "51000"}
		f.soft.Store(1 << 40)
		got, err := collect(openFake(t, f))
		var ae *APIError
		if !errors.As(err, &ae) || ae.Code != "51000" || !errors.Is(err, ErrInvalidParameter) || len(got) != 0 || f.calls.Load() != 1 {
			t.Fatalf("%d trades, %d calls, err %v", len(got), f.calls.Load(), err)
		}
	})
}

// TestTradeIDJumpIsReported: a trade id missing from the venue's pages is
// reported as a gap (OKX ids are consecutive), and the backfill goes on.
func TestTradeIDJumpIsReported(t *testing.T) {
	base := domain.NanosToMillis(domain.Nanos(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)))
	trades := burst(base)
	trades = append(trades[:100], trades[103:]...) // ids 1100–1102 lost
	f := &fakeOKX{trades: trades, nowMs: base + 60_000}
	a := openFake(t, f)
	var gaps []venues.Gap
	n := 0
	for _, err := range a.BackfillTrades(t.Context(), venues.TradeRequest{Symbol: btcusdt,
		Range: domain.Range{Start: domain.MillisToNanos(base - 10), End: domain.MillisToNanos(base + 10)},
		Gap:   func(g venues.Gap) { gaps = append(gaps, g) }}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != len(trades) || len(gaps) != 1 || gaps[0].FirstID != "1100" || gaps[0].LastID != "1102" || gaps[0].Symbol != btcusdt {
		t.Fatalf("%d trades, gaps %+v", n, gaps)
	}
}
