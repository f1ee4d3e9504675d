package coinbase

import (
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/venues"
)

// fakeREST is a small Coinbase REST server over a synthetic trade history
// of ids first…newest whose times are a monotone function of the id (many
// ids share a millisecond, the trade rate changes over the years), with
// optional lost ids. It serves /time, /products and /products/BTC-USD/
// trades with Coinbase's after cursor and CB-AFTER header.
type fakeREST struct {
	first, newest int64
	timeOf        func(id int64) int64 // ms
	lost          map[int64]bool       // ids never served
	hideFrom      int64                // ids ≥ hideFrom are lost too (0: none)
	hideTo        int64

	mu       sync.Mutex
	requests int
	fail     int // next n trade requests answer 503
}

func newFake(t testing.TB, f *fakeREST) *httptest.Server {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv
}

// yearsOfTrades is a history of n trades over about eight years whose rate
// grows 50-fold, with bursts: ids map to milliseconds through a convex
// curve, and groups of ids share a millisecond.
func yearsOfTrades(n int64) func(int64) int64 {
	const start = int64(1_420_070_400_000) // 2015-01-01
	span := float64(8 * 365 * 24 * 3600 * 1000)
	return func(id int64) int64 {
		x := float64(id/7*7) / float64(n) // 7 ids per millisecond burst
		return start + int64(span*math.Sqrt(x))
	}
}

func (f *fakeREST) isLost(id int64) bool {
	return f.lost[id] || (f.hideFrom > 0 && id >= f.hideFrom && id < f.hideTo)
}

func (f *fakeREST) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/time":
		fmt.Fprintf(w, `{"iso":"%s","epoch":0}`, time.UnixMilli(f.timeOf(f.newest)+1000).UTC().Format(time.RFC3339Nano))
		return
	case "/products":
		fmt.Fprint(w, `[{"id":"BTC-USD","base_currency":"BTC","quote_currency":"USD","quote_increment":"0.01","base_increment":"0.00000001","status":"online"}]`)
		return
	case "/products/BTC-USD/trades":
	default:
		w.WriteHeader(404)
		fmt.Fprint(w, `{"message":"NotFound"}`)
		return
	}
	f.mu.Lock()
	f.requests++
	fail := f.fail > 0
	if fail {
		f.fail--
	}
	f.mu.Unlock()
	if fail {
		w.WriteHeader(503)
		fmt.Fprint(w, `<html>503</html>`)
		return
	}
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	hi := f.newest
	if s := q.Get("after"); s != "" {
		a, _ := strconv.ParseInt(s, 10, 64)
		hi = min(hi, a-1)
	}
	b := []byte{'['}
	var oldest, newest int64
	for id, n := hi, 0; id >= f.first && n < limit; id-- {
		if f.isLost(id) {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		} else {
			newest = id
		}
		b = fmt.Appendf(b, `{"trade_id":%d,"side":"buy","size":"0.001","price":"100.00","time":"%s"}`, id,
			time.UnixMilli(f.timeOf(id)).UTC().Format("2006-01-02T15:04:05.000000Z"))
		oldest = id
		n++
	}
	b = append(b, ']')
	if oldest > 0 {
		w.Header().Set("Cb-After", strconv.FormatInt(oldest, 10))
		w.Header().Set("Cb-Before", strconv.FormatInt(newest, 10))
	}
	_, _ = w.Write(b)
}

func (f *fakeREST) reqs() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

func openFake(t testing.TB, srv *httptest.Server, cfg venues.Config, opts ...Option) *Adapter {
	t.Helper()
	cfg.RESTURL, cfg.WSURL = srv.URL, "ws"+srv.URL[4:]
	cfg.Logger = slog.New(slog.DiscardHandler)
	if cfg.WeightLimit == 0 {
		cfg.WeightLimit = 100000
	}
	a, err := Open(t.Context(), cfg, append([]Option{WithRetries(5, time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// firstAtOrAfterBrute is the expected answer of the id search.
func (f *fakeREST) firstAtOrAfterBrute(tms int64) int64 {
	lo, hi := f.first, f.newest+1 // smallest id in [lo, hi) with time ≥ t
	for lo < hi {
		m := lo + (hi-lo)/2
		if f.timeOf(m) >= tms {
			hi = m
		} else {
			lo = m + 1
		}
	}
	for lo <= f.newest && f.isLost(lo) {
		lo++
	}
	return lo
}

func TestIDSearchFewProbesOverYears(t *testing.T) {
	const n = 1_000_000_000
	f := &fakeREST{first: 1, newest: n, timeOf: yearsOfTrades(n)}
	a := openFake(t, newFake(t, f), venues.Config{})
	maxProbes := 0
	for _, frac := range []float64{0, 0.0000001, 0.001, 0.1, 0.37, 0.5, 0.9, 0.999999, 1} {
		s := &idSearch{a: a, product: "BTC-USD"}
		t0 := f.timeOf(1) + int64(frac*float64(f.timeOf(n)-f.timeOf(1)))
		got, open, err := s.firstAtOrAfter(t.Context(), t0*int64(time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		if want := f.firstAtOrAfterBrute(t0); got != want || open {
			t.Fatalf("frac %v: id %d (open %v), want %d", frac, got, open, want)
		}
		maxProbes = max(maxProbes, s.probes)
		t.Logf("frac %v: %d probes", frac, s.probes)
	}
	// Binary search over 10^9 ids takes 30 probes; interpolation needs far
	// fewer on this curve.
	if maxProbes > 30 {
		t.Fatalf("%d probes", maxProbes)
	}
	t.Logf("at most %d requests per search over 10^9 trade ids", maxProbes)
	// After the newest trade: open ended.
	s := &idSearch{a: a, product: "BTC-USD"}
	if id, open, err := s.firstAtOrAfter(t.Context(), (f.timeOf(n)+1)*int64(time.Millisecond)); err != nil || !open || id != n+1 {
		t.Fatalf("after the newest: %d %v %v", id, open, err)
	}
}

func TestIDSearchWithLostIDsAndLateFirstTrade(t *testing.T) {
	const n = 5_000_000
	lost := map[int64]bool{}
	for id := int64(3_000_000); id < 3_000_500; id++ {
		lost[id] = true
	}
	f := &fakeREST{first: 1_000_000, newest: n, timeOf: yearsOfTrades(n), lost: lost}
	a := openFake(t, newFake(t, f), venues.Config{})
	for _, tms := range []int64{0, f.timeOf(1_000_000), f.timeOf(2_999_999) + 1, f.timeOf(3_000_200), f.timeOf(4_444_444)} {
		s := &idSearch{a: a, product: "BTC-USD"}
		got, _, err := s.firstAtOrAfter(t.Context(), tms*int64(time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		if want := f.firstAtOrAfterBrute(max(tms, f.timeOf(f.first))); got != want {
			t.Fatalf("t %d: id %d, want %d", tms, got, want)
		}
	}
}

func TestBackfillTradesReportsLostIDs(t *testing.T) {
	const n = 200_000
	f := &fakeREST{first: 1, newest: n, timeOf: func(id int64) int64 { return 1_700_000_000_000 + id/3 }, hideFrom: 120_000, hideTo: 120_010}
	a := openFake(t, newFake(t, f), venues.Config{Concurrency: 3}, WithTradeChunk(7))
	r := domain.Range{Start: domain.MillisToNanos(f.timeOf(50_000)), End: domain.MillisToNanos(f.timeOf(150_000))}
	var got []int64
	var gaps []venues.Gap
	var covered []domain.Range
	f.fail = 3 // 503s are retried
	for tr, err := range a.BackfillTrades(t.Context(), venues.TradeRequest{Symbol: btcusd, Range: r,
		Gap: func(g venues.Gap) { gaps = append(gaps, g) }, Covered: func(c domain.Range) { covered = append(covered, c) }}) {
		if err != nil {
			t.Fatal(err)
		}
		id, _ := strconv.ParseInt(tr.ID, 10, 64)
		got = append(got, id)
	}
	if got[0] != 50_000-50_000%3 || got[len(got)-1] != 149_999-149_999%3+2 && got[len(got)-1] != 150_000-150_000%3-1 {
		t.Logf("first %d last %d", got[0], got[len(got)-1])
	}
	for i := 1; i < len(got); i++ {
		if got[i] != got[i-1]+1 && !(got[i-1] == 119_999 && got[i] == 120_010) {
			t.Fatalf("ids %d then %d", got[i-1], got[i])
		}
	}
	// 100,000 ids: 100 pages, 2 searches, 1 hole refetch, 3 retried 503s.
	if n := f.reqs(); n > 100+2*25+2+3+5 {
		t.Fatalf("%d requests", n)
	}
	if len(gaps) != 1 || gaps[0].FirstID != "120000" || gaps[0].LastID != "120009" {
		t.Fatalf("gaps %+v", gaps)
	}
	// Coverage is contiguous except across the hole.
	holeFrom, holeTo := domain.MillisToNanos(f.timeOf(119_999)), domain.MillisToNanos(f.timeOf(120_010))
	for i, c := range covered {
		if c.Start < holeTo && c.End > holeFrom {
			t.Fatalf("coverage %v spans the hole", c)
		}
		if i > 0 && c.Start < covered[i-1].End {
			t.Fatalf("coverage overlaps: %v then %v", covered[i-1], c)
		}
	}
	if covered[0].Start != r.Start || covered[len(covered)-1].End != r.End {
		t.Fatalf("coverage %v … %v", covered[0], covered[len(covered)-1])
	}
}
