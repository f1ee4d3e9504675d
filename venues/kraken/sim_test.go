package kraken

import (
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim/simtest"
	"github.com/pype-go/pype/transport/httpc"
	"github.com/pype-go/pype/venues"
)

// simNow is the simulator's fixed virtual now in the end-to-end tests.
var simNow = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

var (
	btcusd  = domain.NewSymbol("BTC", "USD")
	ethbtc  = domain.NewSymbol("ETH", "BTC")
	dogeusd = domain.NewSymbol("DOGE", "USD")
)

// startSim starts the Kraken simulator with a frozen clock and a call
// counter large enough not to slow tests down (rate limits have their own
// tests).
func startSim(t testing.TB, opts ...simtest.Option) *simtest.Sim {
	t.Helper()
	base := []simtest.Option{simtest.Venues("kraken"), simtest.Seed(7), simtest.Now(simNow), simtest.Frozen(),
		simtest.History(3 * 24 * time.Hour), simtest.WeightLimit(1_000_000)}
	return simtest.Start(t, append(base, opts...)...)
}

func openSim(t testing.TB, s *simtest.Sim, cfg venues.Config, opts ...Option) *Adapter {
	t.Helper()
	cfg.RESTURL, cfg.WSURL = s.REST("kraken"), s.WS("kraken")+"/v2"
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.WeightLimit == 0 {
		cfg.WeightLimit = 1_000_000
	}
	a, err := Open(t.Context(), cfg, append([]Option{WithRetries(10, time.Millisecond), WithRateLimitPause(5 * time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func ns(t time.Time) int64 { return domain.Nanos(t) }

func sameBars(t *testing.T, got, want []domain.OHLCBar, quote bool) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d bars, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.OpenTime != w.OpenTime || g.Open.Cmp(w.Open) != 0 || g.High.Cmp(w.High) != 0 || g.Low.Cmp(w.Low) != 0 ||
			g.Close.Cmp(w.Close) != 0 || g.Volume.Cmp(w.Volume) != 0 || g.Trades != w.Trades || !g.Closed ||
			(quote && g.QuoteVolume.Cmp(w.QuoteVolume) != 0) {
			t.Fatalf("bar %d (%s) = %+v, want %+v", i, domain.FormatNs(w.OpenTime), g, w)
		}
	}
}

func closedOnly(bars []domain.OHLCBar) []domain.OHLCBar {
	for len(bars) > 0 && !bars[len(bars)-1].Closed {
		bars = bars[:len(bars)-1]
	}
	return bars
}

func collectBars(t *testing.T, seq func(func(domain.OHLCBar, error) bool)) ([]domain.OHLCBar, error) {
	t.Helper()
	var out []domain.OHLCBar
	for b, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, b)
	}
	return out, nil
}

func TestSimRecentCandles(t *testing.T) {
	s := startSim(t)
	a := openSim(t, s, venues.Config{})
	for _, tc := range []struct {
		span domain.Span
		back time.Duration
	}{
		{domain.Span1m, 11 * time.Hour},
		{domain.Span5m, 2 * 24 * time.Hour},
		{domain.Span1h, 3 * 24 * time.Hour},
	} {
		t.Run(tc.span.String(), func(t *testing.T) {
			r := domain.Range{Start: ns(simNow.Add(-tc.back)), End: ns(simNow)}
			var covered time.Duration
			got, err := collectBars(t, a.BackfillCandles(t.Context(), venues.CandleRequest{Symbol: btcusd, Span: tc.span, Range: r,
				Covered: func(c domain.Range) { covered += c.Duration() }}))
			if err != nil {
				t.Fatal(err)
			}
			want, err := s.Truth("kraken").Candles("BTC/USD", tc.span, r.Start, r.End)
			if err != nil {
				t.Fatal(err)
			}
			sameBars(t, got, closedOnly(want), false)
			if covered != r.Duration() {
				t.Fatalf("covered %v of %v", covered, r.Duration())
			}
		})
	}
}

func TestSimCandlesTooOld(t *testing.T) {
	s := startSim(t)
	a := openSim(t, s, venues.Config{})
	r := domain.Range{Start: ns(simNow.Add(-13 * time.Hour)), End: ns(simNow)}
	before := s.Stats("kraken").Endpoints["/0/public/OHLC"]
	_, err := collectBars(t, a.BackfillCandles(t.Context(), venues.CandleRequest{Symbol: btcusd, Span: domain.Span1m, Range: r}))
	var he *HistoryError
	if !errors.As(err, &he) || !errors.Is(err, ErrHistoryTooOld) || !errors.Is(err, domain.ErrNoCapability) {
		t.Fatalf("err = %v, want a *HistoryError", err)
	}
	if s.Stats("kraken").Endpoints["/0/public/OHLC"] != before {
		t.Fatal("OHLC was requested for a range it cannot serve")
	}
	t.Log(err)
}

func TestSimDerivedCandles(t *testing.T) {
	s := startSim(t)
	a := openSim(t, s, venues.Config{}, WithDerivedCandles())
	// 1m bars: the OHLC window holds 12 hours; ask for 13.5 hours, so the
	// first 1.5 come from trades and the rest from OHLC.
	r := domain.Range{Start: ns(simNow.Add(-13*time.Hour - 30*time.Minute)), End: ns(simNow)}
	var covered []domain.Range
	got, err := collectBars(t, a.BackfillCandles(t.Context(), venues.CandleRequest{Symbol: btcusd, Span: domain.Span1m, Range: r,
		Covered: func(c domain.Range) { covered = append(covered, c) }}))
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.Truth("kraken").Candles("BTC/USD", domain.Span1m, r.Start, r.End)
	if err != nil {
		t.Fatal(err)
	}
	sameBars(t, got, closedOnly(want), false)
	// Coverage is contiguous and complete.
	at := r.Start
	for _, c := range covered {
		if c.Start != at {
			t.Fatalf("coverage hole or overlap at %s: %v", domain.FormatNs(at), covered)
		}
		at = c.End
	}
	if at != r.End {
		t.Fatalf("covered up to %s, want %s", domain.FormatNs(at), domain.FormatNs(r.End))
	}
	// DeriveCandles alone matches the truth exactly, quote volume included,
	// also for spans Kraken's OHLC does not serve.
	for _, span := range []domain.Span{domain.Span1h, 2 * domain.Span1h, domain.Span1s} {
		rr := domain.Range{Start: ns(simNow.Add(-40 * time.Hour)), End: ns(simNow.Add(-34 * time.Hour))}
		if span == domain.Span1s {
			rr.End = rr.Start + int64(3*time.Minute)
		}
		got, err := collectBars(t, a.DeriveCandles(t.Context(), venues.CandleRequest{Symbol: btcusd, Span: span, Range: rr}))
		if err != nil {
			t.Fatal(err)
		}
		want, err := s.Truth("kraken").Candles("BTC/USD", span, rr.Start, rr.End)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(span.String(), func(t *testing.T) { sameBars(t, got, want, true) })
	}
}

func tradeTruth(t testing.TB, s *simtest.Sim, sym string, r domain.Range) []domain.Trade {
	t.Helper()
	want, err := s.Truth("kraken").Trades(sym, r.Start, r.End)
	if err != nil {
		t.Fatal(err)
	}
	return want
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

func TestSimTrades(t *testing.T) {
	s := startSim(t)
	a := openSim(t, s, venues.Config{})
	r := domain.Range{Start: ns(simNow.Add(-50 * time.Hour)), End: ns(simNow.Add(-49*time.Hour - 30*time.Minute))}
	var got []domain.Trade
	var covered time.Duration
	pages := 0
	for tr, err := range a.BackfillTrades(t.Context(), venues.TradeRequest{Symbol: btcusd, Range: r,
		Covered: func(c domain.Range) { covered += c.Duration() }, Progress: func(venues.Progress) { pages++ }}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, tr)
	}
	want := tradeTruth(t, s, "BTC/USD", r)
	sameTrades(t, got, want)
	if covered != r.Duration() {
		t.Fatalf("covered %v of %v", covered, r.Duration())
	}
	if pages < 3 {
		t.Fatalf("only %d pages for %d trades", pages, len(got))
	}
	// Same-millisecond trades exist and were kept distinct.
	same := 0
	for i := 1; i < len(got); i++ {
		if got[i].Time == got[i-1].Time {
			same++
		}
	}
	if same == 0 {
		t.Fatal("no same-millisecond trades in the sample; the test proves nothing")
	}
}

func TestSimErrors(t *testing.T) {
	s := startSim(t)
	a := openSim(t, s, venues.Config{})
	r := domain.Range{Start: ns(simNow.Add(-time.Hour)), End: ns(simNow)}
	_, err := collectBars(t, a.BackfillCandles(t.Context(), venues.CandleRequest{Symbol: btcusd, Span: 2 * domain.Span1h, Range: r}))
	var ie *IntervalError
	if !errors.As(err, &ie) || !errors.Is(err, ErrInvalidInterval) || !errors.Is(err, domain.ErrNoCapability) {
		t.Fatalf("2h: %v", err)
	}
	_, err = collectBars(t, a.BackfillCandles(t.Context(), venues.CandleRequest{Symbol: domain.NewSymbol("BTC", "XYZ"), Span: domain.Span1m, Range: r}))
	var se *SymbolError
	if !errors.As(err, &se) || !errors.Is(err, ErrInvalidSymbol) || len(se.Suggestions) == 0 {
		t.Fatalf("BTC/XYZ: %v", err)
	}
	t.Log(err)
	// The venue's own answer to an unknown pair, bypassing the local check.
	_, _, err = a.trades(t.Context(), "NOPEUSD", 0, 10)
	var ae *APIError
	var soft *httpc.SoftError
	if !errors.As(err, &ae) || !errors.Is(err, ErrInvalidSymbol) || ae.Code() != "EQuery:Unknown asset pair" || !errors.As(err, &soft) || soft.Retryable {
		t.Fatalf("NOPEUSD: %v", err)
	}
	_, _, err = a.ohlc(t.Context(), "XBTUSD", 2, 0)
	if !errors.Is(err, ErrInvalidParameter) {
		t.Fatalf("interval 2: %v", err)
	}
}

func TestSimSymbolsAndBook(t *testing.T) {
	s := startSim(t)
	a := openSim(t, s, venues.Config{})
	for sym, alt := range map[domain.Symbol]string{btcusd: "XBTUSD", ethbtc: "ETHXBT", dogeusd: "XDGUSD"} {
		got, err := a.VenueSymbol(t.Context(), sym)
		if err != nil || got != alt {
			t.Fatalf("VenueSymbol(%s) = %q, %v; want %s", sym, got, err, alt)
		}
		for _, n := range []string{alt, sym.String()} {
			back, err := a.Symbol(t.Context(), n)
			if err != nil || back != sym {
				t.Fatalf("Symbol(%s) = %s, %v", n, back, err)
			}
		}
	}
	ms, err := a.Markets(t.Context())
	if err != nil || len(ms) != 4 {
		t.Fatalf("markets %v %v", ms, err)
	}
	b, err := a.BookSnapshot(t.Context(), btcusd, 25)
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.Truth("kraken").Book("BTC/USD", ns(simNow), 25)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Bids) != 25 || len(b.Asks) != 25 {
		t.Fatalf("book %d×%d", len(b.Bids), len(b.Asks))
	}
	for i := range want.Bids {
		if b.Bids[i].Price.Cmp(want.Bids[i].Price) != 0 || b.Bids[i].Amount.Cmp(want.Bids[i].Amount) != 0 ||
			b.Asks[i].Price.Cmp(want.Asks[i].Price) != 0 || b.Asks[i].Amount.Cmp(want.Asks[i].Amount) != 0 {
			t.Fatalf("level %d: %v/%v want %v/%v", i, b.Bids[i], b.Asks[i], want.Bids[i], want.Asks[i])
		}
	}
	if _, err := a.BookSnapshot(t.Context(), btcusd, 501); !errors.Is(err, domain.ErrNoCapability) {
		t.Fatalf("depth 501: %v", err)
	}
}

// TestSimTradesSmallPages drains with pages of 150 trades (the sim's
// largest same-millisecond burst is under 100), so many page seams fall
// inside bursts of trades sharing a millisecond: none may be lost or
// repeated.
func TestSimTradesSmallPages(t *testing.T) {
	const page = 150
	s := startSim(t)
	a := openSim(t, s, venues.Config{}, withTradesPage(page))
	r := domain.Range{Start: ns(simNow.Add(-30 * time.Hour)), End: ns(simNow.Add(-30*time.Hour + 40*time.Minute))}
	var got []domain.Trade
	for tr, err := range a.BackfillTrades(t.Context(), venues.TradeRequest{Symbol: btcusd, Range: r,
		Gap: func(g venues.Gap) { t.Errorf("gap reported: %+v", g) }}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, tr)
	}
	want := tradeTruth(t, s, "BTC/USD", r)
	sameTrades(t, got, want)
	// Replay the paging on the truth: each page ends after page trades and
	// the next one restarts at the first trade of the boundary instant.
	split := 0
	for pos := 0; pos+page < len(want); {
		end := pos + page
		if want[end].Time == want[end-1].Time {
			split++
		}
		j := end - 1
		for j > pos && want[j-1].Time == want[end-1].Time {
			j--
		}
		pos = j
	}
	if split == 0 {
		t.Fatal("no page seam fell inside a burst; the test proves nothing")
	}
	t.Logf("%d trades, %d seams inside a millisecond", len(got), split)
}
