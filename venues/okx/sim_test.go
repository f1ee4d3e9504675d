package okx

import (
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
	"github.com/pype-go/pype/sim/simtest"
	"github.com/pype-go/pype/venues"
)

// simNow is the simulator's fixed virtual now in the end-to-end tests.
var simNow = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

var btcusdt = domain.NewSymbol("BTC", "USDT")

func startSim(t testing.TB, opts ...simtest.Option) *simtest.Sim {
	t.Helper()
	base := []simtest.Option{simtest.Venues(Name), simtest.Seed(7), simtest.Now(simNow), simtest.Frozen(), simtest.History(31 * 24 * time.Hour)}
	return simtest.Start(t, append(base, opts...)...)
}

func openSim(t testing.TB, s *simtest.Sim, cfg venues.Config, opts ...Option) *Adapter {
	t.Helper()
	cfg.RESTURL, cfg.WSURL = s.REST(Name), s.WS(Name)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a, err := Open(t.Context(), cfg, append([]Option{WithRetries(10, 5*time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func sameBars(t *testing.T, got, want []domain.OHLCBar) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d bars, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.OpenTime != w.OpenTime || g.Open.Cmp(w.Open) != 0 || g.High.Cmp(w.High) != 0 || g.Low.Cmp(w.Low) != 0 ||
			g.Close.Cmp(w.Close) != 0 || g.Volume.Cmp(w.Volume) != 0 || g.QuoteVolume.Cmp(w.QuoteVolume) != 0 || !g.Closed {
			t.Fatalf("bar %d (%s) = %+v, want %+v", i, domain.FormatNs(w.OpenTime), g, w)
		}
	}
}

func sameTrades(t *testing.T, got, want []domain.Trade) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d trades, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.Time != w.Time || g.Price.Cmp(w.Price) != 0 || g.Amount.Cmp(w.Amount) != 0 || g.Side != w.Side {
			t.Fatalf("trade %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestSimCandles(t *testing.T) {
	s := startSim(t)
	a := openSim(t, s, venues.Config{})
	r := domain.Range{Start: domain.Nanos(simNow.Add(-3 * 24 * time.Hour)), End: domain.Nanos(simNow)}
	var got []domain.OHLCBar
	var covered time.Duration
	var last venues.Progress
	for b, err := range a.BackfillCandles(t.Context(), venues.CandleRequest{Symbol: btcusdt, Span: domain.Span1m, Range: r,
		Covered: func(c domain.Range) { covered += c.Duration() }, Progress: func(p venues.Progress) { last = p }}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b)
	}
	want, err := s.Truth(Name).Candles("BTC/USDT", domain.Span1m, r.Start, r.End)
	if err != nil {
		t.Fatal(err)
	}
	sameBars(t, got, want)
	if covered != r.Duration() {
		t.Fatalf("covered %v of %v", covered, r.Duration())
	}
	if last.Total == 0 || last.Done != last.Total || last.Items != int64(len(got)) {
		t.Fatalf("last progress %+v for %d bars", last, len(got))
	}
	// The limiter keeps to OKX's 20 requests per 2 s (with a margin for
	// network jitter; a slow -race run may still see a stray 429, which is
	// retried).
	if st := s.Stats(Name); st.Status429 > 2 {
		t.Fatalf("429s: %+v", st)
	}
}

func TestSimCandleSpansUTCAligned(t *testing.T) {
	s := startSim(t, simtest.Configure(func(c *sim.Config) { c.TradesPerSecond = 0.2 }))
	a := openSim(t, s, venues.Config{})
	tests := []struct {
		span domain.Span
		from time.Duration
	}{
		{domain.Span1s, 20 * time.Minute},
		{domain.Span4h, 10 * 24 * time.Hour},
		{domain.Span6h, 10 * 24 * time.Hour},
		{domain.Span12h, 20 * 24 * time.Hour},
		{domain.Span1d, 30 * 24 * time.Hour},
		{domain.Span1w, 30 * 24 * time.Hour},
		{domain.Span1M, 30 * 24 * time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.span.String(), func(t *testing.T) {
			r := domain.Range{Start: domain.Nanos(simNow.Add(-tc.from)), End: domain.Nanos(simNow)}
			var got []domain.OHLCBar
			for b, err := range a.BackfillCandles(t.Context(), venues.CandleRequest{Symbol: btcusdt, Span: tc.span, Range: r}) {
				if err != nil {
					t.Fatal(err)
				}
				if b.OpenTime != tc.span.Floor(b.OpenTime) {
					t.Fatalf("bar at %s is not aligned to %s in UTC", domain.FormatNs(b.OpenTime), tc.span)
				}
				got = append(got, b)
			}
			want, err := s.Truth(Name).Candles("BTC/USDT", tc.span, r.Start, r.End)
			if err != nil {
				t.Fatal(err)
			}
			for len(want) > 0 && !want[len(want)-1].Closed {
				want = want[:len(want)-1] // history has no bar in progress
			}
			if len(want) == 0 {
				t.Fatal("no bars in the truth")
			}
			sameBars(t, got, want)
		})
	}
}

// TestSimHongKongBarsAreNotUTC shows the trap the adapter avoids: OKX's
// plain 1D bars open at 16:00 UTC (Hong Kong midnight).
func TestSimHongKongBarsAreNotUTC(t *testing.T) {
	s := startSim(t)
	a := openSim(t, s, venues.Config{})
	for _, tc := range []struct {
		bar  string
		hour int
	}{{"1D", 16}, {"1Dutc", 0}} {
		q := url.Values{"instId": {"BTC-USDT"}, "bar": {tc.bar}, "limit": {"5"}}
		body, err := a.get(t.Context(), epHistoryCandles, q)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := parseCandles(body, nil)
		if err != nil || len(rows) != 5 {
			t.Fatalf("%s: %d rows, %v", tc.bar, len(rows), err)
		}
		for _, r := range rows {
			if h := domain.Time(r.Bar.OpenTime).Hour(); h != tc.hour || domain.Time(r.Bar.OpenTime).Minute() != 0 {
				t.Fatalf("%s bar opens at %s, want %02d:00 UTC", tc.bar, domain.FormatNs(r.Bar.OpenTime), tc.hour)
			}
		}
	}
}

func TestSimErrors(t *testing.T) {
	s := startSim(t)
	a := openSim(t, s, venues.Config{})
	ctx := t.Context()
	r := domain.Range{Start: domain.Nanos(simNow.Add(-time.Hour)), End: domain.Nanos(simNow)}
	first := func(seq func(func(domain.OHLCBar, error) bool)) error {
		for _, err := range seq {
			return err
		}
		return nil
	}
	firstTrade := func(seq func(func(domain.Trade, error) bool)) error {
		for _, err := range seq {
			return err
		}
		return nil
	}
	tests := []struct {
		name string
		err  error
		is   error
		text string
	}{
		{"unknown symbol", first(a.BackfillCandles(ctx, venues.CandleRequest{Symbol: domain.NewSymbol("BTC", "EUR"), Span: domain.Span1m, Range: r})), ErrInvalidSymbol, "BTC-EUR"},
		{"span OKX does not serve", first(a.BackfillCandles(ctx, venues.CandleRequest{Symbol: btcusdt, Span: domain.Span8h, Range: r})), domain.ErrNoCapability, "UTC-aligned"},
		{"perp", first(a.BackfillCandles(ctx, venues.CandleRequest{Symbol: domain.MustParseSymbol("BTC/USDT:perp"), Span: domain.Span1m, Range: r})), domain.ErrNoCapability, "spot"},
		{"1s older than 3 months", first(a.BackfillCandles(ctx, venues.CandleRequest{Symbol: btcusdt, Span: domain.Span1s,
			Range: domain.Range{Start: domain.Nanos(simNow.Add(-100 * 24 * time.Hour)), End: r.End}})), domain.ErrNoCapability, "3 months"},
		{"trades older than 3 months", firstTrade(a.BackfillTrades(ctx, venues.TradeRequest{Symbol: btcusdt,
			Range: domain.Range{Start: domain.Nanos(simNow.Add(-100 * 24 * time.Hour)), End: r.End}})), domain.ErrNoCapability, "data-download"},
		{"inverted range", firstTrade(a.BackfillTrades(ctx, venues.TradeRequest{Symbol: btcusdt, Range: domain.Range{Start: r.End, End: r.Start}})), nil, "invalid range"},
	}
	for _, tc := range tests {
		if tc.err == nil || (tc.is != nil && !errors.Is(tc.err, tc.is)) || !strings.Contains(tc.err.Error(), tc.text) {
			t.Errorf("%s: %v", tc.name, tc.err)
		}
	}
	// The venue's own answers: an instrument the local list would not
	// catch (51001 in an HTTP 200 body) and a bad bar (51000, HTTP 400).
	_, err := a.historyCandles(ctx, "FOO-BAR", "1m", domain.Span1m, r, 100)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != "51001" || ae.Status != 200 || !errors.Is(err, ErrInvalidSymbol) {
		t.Fatalf("venue 51001: %v", err)
	}
	_, err = a.historyCandles(ctx, "BTC-USDT", "1h", domain.Span1h, r, 100)
	if !errors.As(err, &ae) || ae.Code != "51000" || ae.Status != 400 || !errors.Is(err, ErrInvalidInterval) {
		t.Fatalf("venue 51000: %v", err)
	}
	_, err = a.historyTrades(ctx, "BTC-USDT", TradesQuery{ByTime: true, Before: 5})
	if err == nil || !strings.Contains(err.Error(), "50039") {
		t.Fatalf("before by time: %v", err)
	}
	for _, d := range []int{0, 5001} {
		if _, err := a.BookSnapshot(ctx, btcusdt, d); !errors.Is(err, domain.ErrNoCapability) {
			t.Fatalf("depth %d: %v", d, err)
		}
	}
}

func TestSimTradesAcrossWindowsAndPages(t *testing.T) {
	// Busy market, no limits: the test is about completeness at seams.
	s := startSim(t, simtest.Configure(func(c *sim.Config) { c.TradesPerSecond = 6; c.Limits.Disabled = true }))
	a := openSim(t, s, venues.Config{WeightLimit: 100000, Concurrency: 3}, WithTradeWindow(7*time.Minute))
	r := domain.Range{Start: domain.Nanos(simNow.Add(-50 * time.Minute)), End: domain.Nanos(simNow.Add(-9*time.Minute - 123*time.Microsecond))}
	var got []domain.Trade
	var covered time.Duration
	var gaps []venues.Gap
	for tr, err := range a.BackfillTrades(t.Context(), venues.TradeRequest{Symbol: btcusdt, Range: r,
		Covered: func(c domain.Range) { covered += c.Duration() }, Gap: func(g venues.Gap) { gaps = append(gaps, g) }}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, tr)
	}
	want, err := s.Truth(Name).Trades("BTC/USDT", r.Start, r.End)
	if err != nil {
		t.Fatal(err)
	}
	sameTrades(t, got, want)
	if covered != r.Duration() || len(gaps) != 0 {
		t.Fatalf("covered %v of %v, gaps %v", covered, r.Duration(), gaps)
	}
	// The walk pages 100 trades back from each window's end: count the
	// page boundaries that fell inside a millisecond (trades a cursor of
	// "last ts - 1 ms" would have lost).
	split := 0
	window := int64(7 * time.Minute)
	for ws := r.Start; ws < r.End; ws += window {
		var in []domain.Trade
		for _, tr := range want {
			if tr.Time >= ws && tr.Time < min(ws+window, r.End) {
				in = append(in, tr)
			}
		}
		for k := len(in) - MaxHistoryTrades; k > 0; k -= MaxHistoryTrades {
			if in[k].Time == in[k-1].Time {
				split++
			}
		}
	}
	t.Logf("%d trades, %d page boundaries inside a millisecond", len(got), split)
	if split == 0 {
		t.Fatal("no page boundary fell inside a millisecond: the seam case is not exercised")
	}
}

func TestSimFaults(t *testing.T) {
	s := startSim(t, simtest.Faults(Name, sim.Faults{ServerErrorRate: 0.1, ResetRate: 0.05, TruncateRate: 0.08, RateLimitRate: 0.05,
		Latency: time.Millisecond, Jitter: 2 * time.Millisecond}))
	// One request at a time: the seeded faults then hit the same requests
	// on every run.
	a := openSim(t, s, venues.Config{Concurrency: 1})
	r := domain.Range{Start: domain.Nanos(simNow.Add(-12 * time.Hour)), End: domain.Nanos(simNow)}
	var bars []domain.OHLCBar
	for b, err := range a.BackfillCandles(t.Context(), venues.CandleRequest{Symbol: btcusdt, Span: domain.Span1m, Range: r}) {
		if err != nil {
			t.Fatal(err)
		}
		bars = append(bars, b)
	}
	wantBars, _ := s.Truth(Name).Candles("BTC/USDT", domain.Span1m, r.Start, r.End)
	sameBars(t, bars, wantBars)
	r = domain.Range{Start: domain.Nanos(simNow.Add(-25 * time.Minute)), End: domain.Nanos(simNow.Add(-time.Minute))}
	var trades []domain.Trade
	for tr, err := range a.BackfillTrades(t.Context(), venues.TradeRequest{Symbol: btcusdt, Range: r}) {
		if err != nil {
			t.Fatal(err)
		}
		trades = append(trades, tr)
	}
	wantTrades, _ := s.Truth(Name).Trades("BTC/USDT", r.Start, r.End)
	sameTrades(t, trades, wantTrades)
	book, err := a.BookSnapshot(t.Context(), btcusdt, 20)
	if err != nil || len(book.Bids) != 20 {
		t.Fatalf("book: %d levels, %v", len(book.Bids), err)
	}
	st := s.Stats(Name)
	for _, k := range []string{"5xx", "reset", "truncate", "429"} {
		if st.Faults[k] == 0 {
			t.Errorf("fault %s never injected: %v", k, st.Faults)
		}
	}
	t.Logf("faults %v, requests %d", st.Faults, st.Requests)
}

func TestSimBookSnapshotAndMarkets(t *testing.T) {
	s := startSim(t)
	a := openSim(t, s, venues.Config{})
	for _, depth := range []int{1, 50, 400, 1000} {
		got, err := a.BookSnapshot(t.Context(), btcusdt, depth)
		if err != nil {
			t.Fatal(err)
		}
		want, err := s.Truth(Name).Book("BTC/USDT", domain.Nanos(simNow), depth)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Bids) != len(want.Bids) || len(got.Asks) != len(want.Asks) || got.Symbol != btcusdt {
			t.Fatalf("depth %d: %d/%d levels, want %d/%d", depth, len(got.Bids), len(got.Asks), len(want.Bids), len(want.Asks))
		}
		for i := range want.Bids {
			if got.Bids[i] != want.Bids[i] && (got.Bids[i].Price.Cmp(want.Bids[i].Price) != 0 || got.Bids[i].Amount.Cmp(want.Bids[i].Amount) != 0) {
				t.Fatalf("depth %d bid %d: %v, want %v", depth, i, got.Bids[i], want.Bids[i])
			}
		}
	}
	st := s.Stats(Name)
	if st.Endpoints["/api/v5/market/books-full"] != 1 || st.Endpoints["/api/v5/market/books"] != 3 {
		t.Fatalf("endpoints %v", st.Endpoints)
	}
	ms, err := a.Markets(t.Context())
	if err != nil || len(ms) != 4 || ms[0].Symbol != btcusdt || ms[0].PriceTick.String() != "0.1" || ms[0].VenueSymbol != "BTC-USDT" {
		t.Fatalf("markets %+v, %v", ms, err)
	}
	if sym, err := a.Symbol(t.Context(), "sol-usdt"); err != nil || sym != domain.NewSymbol("SOL", "USDT") {
		t.Fatalf("Symbol = %v, %v", sym, err)
	}
}
