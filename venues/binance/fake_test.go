package binance

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/venues"
)

// fakeREST is a small in-memory Binance REST server for unit tests: it
// serves aggTrades (with Binance's parameter rules), exchangeInfo (from the
// recorded fixture), time and klines, and can inject faults.
type fakeREST struct {
	t      testing.TB
	trades []aggTrade // ordered by id; ids may have holes (lost trades)
	now    int64      // server time, ms
	info   []byte

	mu        sync.Mutex
	requests  map[string]int
	fail429   int // next n requests answer 429
	fail500   int
	maxWindow int64 // ms; startTime..endTime must be < this (0 = 1 h rule off)
	hideAfter int64 // trades with id ≥ hideAfter are not served (simulated loss)
	hideFrom  int64
	weight    atomic.Int64
}

func newFakeREST(t testing.TB, trades []aggTrade, nowMs int64) (*fakeREST, *httptest.Server) {
	f := &fakeREST{t: t, trades: trades, now: nowMs, requests: map[string]int{}, maxWindow: time.Hour.Milliseconds()}
	f.info = readFixture(t, "rest_exchangeInfo_7symbols_cryptofeed_2021-10-12.json")
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeREST) count(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[path]
}

func writeErr(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"code":%d,"msg":%q}`, code, msg)
}

func (f *fakeREST) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests[r.URL.Path]++
	if f.fail429 > 0 {
		f.fail429--
		f.mu.Unlock()
		w.Header().Set("Retry-After", "0")
		writeErr(w, 429, -1003, "Too many requests.")
		return
	}
	if f.fail500 > 0 {
		f.fail500--
		f.mu.Unlock()
		writeErr(w, 502, 0, "bad gateway")
		return
	}
	f.mu.Unlock()
	w.Header().Set("X-MBX-USED-WEIGHT-1M", strconv.FormatInt(f.weight.Add(1), 10))
	q := r.URL.Query()
	switch r.URL.Path {
	case "/api/v3/time":
		fmt.Fprintf(w, `{"serverTime":%d}`, f.now)
	case "/api/v3/exchangeInfo":
		w.Write(f.info)
	case "/api/v3/aggTrades":
		f.aggTrades(w, q)
	default:
		writeErr(w, 404, 0, "not found")
	}
}

func (f *fakeREST) aggTrades(w http.ResponseWriter, q map[string][]string) {
	get := func(k string) (int64, bool) {
		v, ok := q[k]
		if !ok {
			return 0, false
		}
		n, err := strconv.ParseInt(v[0], 10, 64)
		if err != nil {
			return 0, false
		}
		return n, true
	}
	if s := q["symbol"]; len(s) == 0 || s[0] != "BTCUSDT" {
		writeErr(w, 400, -1121, "Invalid symbol.")
		return
	}
	limit, ok := get("limit")
	if !ok {
		limit = 500
	}
	if limit < 1 || limit > 1000 {
		writeErr(w, 400, -1100, "Illegal characters found in parameter 'limit'.")
		return
	}
	from, hasFrom := get("fromId")
	start, hasStart := get("startTime")
	end, hasEnd := get("endTime")
	if hasFrom && (hasStart || hasEnd) {
		writeErr(w, 400, -1128, "Combination of optional parameters invalid.")
		return
	}
	if hasStart && hasEnd && f.maxWindow > 0 && end-start >= f.maxWindow {
		writeErr(w, 400, -1127, "More than 1 hour between startTime and endTime.")
		return
	}
	visible := func(t aggTrade) bool {
		return domain.NanosToMillis(t.Trade.Time) <= f.now && !(t.ID >= f.hideFrom && t.ID < f.hideAfter)
	}
	var out []aggTrade
	switch {
	case hasFrom:
		i, _ := slices.BinarySearchFunc(f.trades, from, func(t aggTrade, id int64) int { return int(t.ID - id) })
		for ; i < len(f.trades) && int64(len(out)) < limit; i++ {
			if visible(f.trades[i]) {
				out = append(out, f.trades[i])
			}
		}
	case hasStart:
		if !hasEnd {
			end = start + time.Hour.Milliseconds() - 1 // the old implicit window
			if f.maxWindow == 0 {
				end = 1 << 62
			}
		}
		i, _ := slices.BinarySearchFunc(f.trades, start, func(t aggTrade, ms int64) int {
			return int(domain.NanosToMillis(t.Trade.Time) - ms)
		})
		for ; i < len(f.trades) && int64(len(out)) < limit; i++ {
			t := f.trades[i]
			if ms := domain.NanosToMillis(t.Trade.Time); ms > end {
				break
			}
			if visible(t) {
				out = append(out, t)
			}
		}
	default:
		var vis []aggTrade
		for _, t := range f.trades {
			if visible(t) {
				vis = append(vis, t)
			}
		}
		out = vis[max(0, len(vis)-int(limit)):]
	}
	var b strings.Builder
	b.WriteByte('[')
	for i, t := range out {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"a":%d,"p":"%s","q":"%s","f":%d,"l":%d,"T":%d,"m":%v,"M":true}`,
			t.ID, t.Trade.Price, t.Trade.Amount, t.ID*2, t.ID*2+1, domain.NanosToMillis(t.Trade.Time), t.Trade.Side == domain.Sell)
	}
	b.WriteByte(']')
	w.Write([]byte(b.String()))
}

// genTrades makes n trades from id first starting at ms, with bursts of
// same-millisecond trades (7 per millisecond, so they straddle every
// 1000-trade page seam) and a quiet stretch of two hours in the middle.
func genTrades(first int64, startMs int64, n int) []aggTrade {
	out := make([]aggTrade, 0, n)
	ms := startMs
	for i := 0; i < n; i++ {
		id := first + int64(i)
		if i%7 == 0 { // bursts of 7 trades in one millisecond straddle page seams
			ms += 1 + int64(i/7%13)*400
		}
		if i == n/2 {
			ms += 2 * time.Hour.Milliseconds()
		}
		side := domain.Buy
		if i%3 == 0 {
			side = domain.Sell
		}
		out = append(out, aggTrade{ID: id, Trade: domain.Trade{
			ID: strconv.FormatInt(id, 10), Time: domain.MillisToNanos(ms),
			Price:  decimal.MustParse(fmt.Sprintf("%d.%02d", 40000+i%100, i%100)),
			Amount: decimal.MustParse(fmt.Sprintf("0.%05d", 1+i%997)), Side: side,
		}})
	}
	return out
}

func openFake(t testing.TB, srv *httptest.Server, conc int, opts ...Option) *Adapter {
	t.Helper()
	opts = append([]Option{WithRetries(4, time.Millisecond)}, opts...)
	a, err := Open(t.Context(), venues.Config{RESTURL: srv.URL, WSURL: "ws" + strings.TrimPrefix(srv.URL, "http"), Concurrency: conc, Logger: slog.New(slog.DiscardHandler)}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}
