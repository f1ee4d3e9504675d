package binance

import (
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/venues"
)

var btcusdt = domain.NewSymbol("BTC", "USDT")

func smallWindows(n int64) Option { return func(o *options) { o.windowTrades = n } }

// want returns the generated trades with a time in r.
func want(trades []aggTrade, r domain.Range) []domain.Trade {
	var out []domain.Trade
	for _, t := range trades {
		if r.Contains(t.Trade.Time) {
			out = append(out, t.Trade)
		}
	}
	return out
}

func collectTrades(t *testing.T, a *Adapter, req venues.TradeRequest) ([]domain.Trade, error) {
	t.Helper()
	var got []domain.Trade
	for tr, err := range a.BackfillTrades(t.Context(), req) {
		if err != nil {
			return got, err
		}
		got = append(got, tr)
	}
	return got, nil
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

func TestBackfillTradesMatchesVenue(t *testing.T) {
	trades := genTrades(1_000_000, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(), 12000)
	lastMs := domain.NanosToMillis(trades[len(trades)-1].Trade.Time)
	first, last := trades[0].Trade.Time, trades[len(trades)-1].Trade.Time
	mid := trades[6000].Trade.Time // a burst millisecond
	ranges := map[string]domain.Range{
		"all":                 {Start: first - int64(time.Hour), End: last + 1},
		"from a burst":        {Start: mid, End: last + 1},
		"to a burst":          {Start: first, End: mid},
		"sub-millisecond cut": {Start: mid + 1, End: mid + int64(3*time.Hour) + 7},
		"into the future":     {Start: mid, End: last + int64(48*time.Hour)},
		"quiet only":          {Start: trades[5999].Trade.Time + int64(time.Millisecond), End: trades[6000].Trade.Time - 10*int64(time.Minute)},
	}
	for _, oldRule := range []bool{true, false} {
		for _, conc := range []int{1, 4} {
			for name, r := range ranges {
				t.Run(name+"/conc="+strconv.Itoa(conc)+"/1h-rule="+strconv.FormatBool(oldRule), func(t *testing.T) {
					f, srv := newFakeREST(t, trades, lastMs+60_000)
					if !oldRule {
						f.maxWindow = 0
					}
					a := openFake(t, srv, conc, smallWindows(1200))
					var covered []domain.Range
					var gaps []venues.Gap
					got, err := collectTrades(t, a, venues.TradeRequest{Symbol: btcusdt, Range: r,
						Covered: func(c domain.Range) { covered = append(covered, c) },
						Gap:     func(g venues.Gap) { gaps = append(gaps, g) }})
					if err != nil {
						t.Fatal(err)
					}
					sameTrades(t, got, want(trades, r))
					if len(gaps) != 0 {
						t.Fatalf("gaps %v", gaps)
					}
					// Coverage is contiguous and spans the range (up to the
					// venue's clock when the range reaches the future).
					if len(covered) == 0 || covered[0].Start != r.Start {
						t.Fatalf("coverage %v", covered)
					}
					for i := 1; i < len(covered); i++ {
						if covered[i].Start != covered[i-1].End {
							t.Fatalf("coverage not contiguous: %v", covered)
						}
					}
					if end, w := covered[len(covered)-1].End, min(r.End, a.serverNow()); end > w || end < w-int64(time.Second) {
						t.Fatalf("coverage ends at %s, range at %s", domain.FormatNs(end), domain.FormatNs(r.End))
					}
					if n := f.count("/api/v3/aggTrades"); conc == 1 && n > len(got)/1000+12 {
						t.Fatalf("single cursor made %d requests for %d trades", n, len(got))
					}
				})
			}
		}
	}
}

func TestBackfillTradesReportsHoles(t *testing.T) {
	trades := genTrades(5_000, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(), 12000)
	lastMs := domain.NanosToMillis(trades[len(trades)-1].Trade.Time)
	for _, conc := range []int{1, 3} {
		f, srv := newFakeREST(t, trades, lastMs+60_000)
		f.hideFrom, f.hideAfter = 7_990, 8_013 // 23 trades the venue lost, across a page seam
		a := openFake(t, srv, conc, smallWindows(2000))
		var gaps []venues.Gap
		r := domain.Range{Start: trades[0].Trade.Time, End: trades[len(trades)-1].Trade.Time + 1}
		got, err := collectTrades(t, a, venues.TradeRequest{Symbol: btcusdt, Range: r, Gap: func(g venues.Gap) { gaps = append(gaps, g) }})
		if err != nil {
			t.Fatal(err)
		}
		var w []domain.Trade
		for _, tr := range want(trades, r) {
			if id, _ := strconv.ParseInt(tr.ID, 10, 64); id < 7_990 || id >= 8_013 {
				w = append(w, tr)
			}
		}
		sameTrades(t, got, w)
		if len(gaps) != 1 || gaps[0].FirstID != "7990" || gaps[0].LastID != "8012" || gaps[0].Symbol != btcusdt {
			t.Fatalf("conc %d: gaps %+v", conc, gaps)
		}
	}
}

func TestBackfillTradesSurvivesFaults(t *testing.T) {
	trades := genTrades(1, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(), 8000)
	lastMs := domain.NanosToMillis(trades[len(trades)-1].Trade.Time)
	f, srv := newFakeREST(t, trades, lastMs+60_000)
	a := openFake(t, srv, 4, smallWindows(1500), WithRetries(6, time.Millisecond))
	f.mu.Lock()
	f.fail429, f.fail500 = 2, 3
	f.mu.Unlock()
	r := domain.Range{Start: trades[0].Trade.Time, End: trades[len(trades)-1].Trade.Time + 1}
	got, err := collectTrades(t, a, venues.TradeRequest{Symbol: btcusdt, Range: r})
	if err != nil {
		t.Fatal(err)
	}
	sameTrades(t, got, want(trades, r))
	if st := a.Limiter().Stats(); st.Pauses == 0 {
		t.Fatal("429 did not pause the limiter")
	}
}

func TestBackfillTradesErrors(t *testing.T) {
	trades := genTrades(1, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(), 10)
	_, srv := newFakeREST(t, trades, time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC).UnixMilli())
	a := openFake(t, srv, 2)
	r := domain.Range{Start: trades[0].Trade.Time, End: trades[9].Trade.Time + 1}
	// Not listed in exchangeInfo: rejected locally, with suggestions.
	_, err := collectTrades(t, a, venues.TradeRequest{Symbol: domain.NewSymbol("BTC", "EURX"), Range: r})
	var se *SymbolError
	if !errors.Is(err, ErrInvalidSymbol) || !errors.As(err, &se) || !slices.Contains(se.Suggestions, "BTC/USDT") {
		t.Fatalf("err = %v", err)
	}
	// Listed locally but refused by the venue (the fake serves BTCUSDT only).
	_, err = collectTrades(t, a, venues.TradeRequest{Symbol: domain.NewSymbol("ETH", "BTC"), Range: r})
	var ae *APIError
	if !errors.Is(err, ErrInvalidSymbol) || !errors.As(err, &ae) || ae.Code != -1121 || ae.Status != 400 {
		t.Fatalf("err = %v", err)
	}
	_, err = collectTrades(t, a, venues.TradeRequest{Symbol: btcusdt, Range: domain.Range{Start: 5, End: 5}})
	var re *domain.RangeError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v", err)
	}
	_, err = collectTrades(t, a, venues.TradeRequest{Symbol: domain.MustParseSymbol("BTC/USDT:perp"), Range: r})
	if !errors.Is(err, domain.ErrNoCapability) {
		t.Fatalf("err = %v", err)
	}
}
