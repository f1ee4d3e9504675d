package app

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pype-go/pype/app/apptest"
	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/store"
	"github.com/pype-go/pype/venues"
)

func readBars(t *testing.T, a *App, sym domain.Symbol, span domain.Span) []domain.OHLCBar {
	t.Helper()
	var out []domain.OHLCBar
	for b, err := range a.ReadOHLC(context.Background(), Selector{Venue: "fake", Symbol: sym, Span: span}) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func readTrades(t *testing.T, a *App, sym domain.Symbol) []domain.Trade {
	t.Helper()
	var out []domain.Trade
	for tr, err := range a.ReadTrades(context.Background(), Selector{Venue: "fake", Symbol: sym}) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tr)
	}
	return out
}

func equalBars(t *testing.T, got, want []domain.OHLCBar) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d bars, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.OpenTime != w.OpenTime || g.Open.Cmp(w.Open) != 0 || g.High.Cmp(w.High) != 0 || g.Low.Cmp(w.Low) != 0 ||
			g.Close.Cmp(w.Close) != 0 || g.Volume.Cmp(w.Volume) != 0 || g.QuoteVolume.Cmp(w.QuoteVolume) != 0 || g.Trades != w.Trades {
			t.Fatalf("bar %d: got %+v, want %+v", i, g, w)
		}
	}
}

func equalTrades(t *testing.T, got, want []domain.Trade) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d trades, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.Time != w.Time || g.Price.Cmp(w.Price) != 0 || g.Amount.Cmp(w.Amount) != 0 || g.Side != w.Side {
			t.Fatalf("trade %d: got %+v, want %+v", i, g, w)
		}
	}
}

// snapshotDir returns the content of every file under dir.
func snapshotDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return err
		}
		b, err := os.ReadFile(p)
		out[p] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBackfillOHLCMatchesTruthAndIsIdempotent(t *testing.T) {
	v := &apptest.Venue{Quiet: []domain.Range{rng("2024-01-02T03:00:00Z", "2024-01-02T05:30:00Z")}}
	a := newTestApp(t, v)
	req := BackfillRequest{Venue: "fake", Symbols: []domain.Symbol{btc, eth}, Type: domain.OHLC, Span: domain.Span1h,
		Range: rng("2024-01-01", "2024-01-04T12:00:00Z")}
	res := mustBackfill(t, a, req)
	if res.Status != RunSucceeded || len(res.Datasets) != 2 {
		t.Fatalf("result %+v", res)
	}
	want := v.Bars(domain.Span1h, req.Range)
	if len(want) != 84-2 {
		t.Fatalf("truth has %d bars", len(want))
	}
	equalBars(t, readBars(t, a, btc, domain.Span1h), want)
	if res.Records() != int64(2*len(want)) || res.Added() != int64(2*len(want)) {
		t.Fatalf("records %d added %d", res.Records(), res.Added())
	}

	vr, err := a.Verify(context.Background(), VerifyRequest{Filter: Filter{Venue: "fake"}})
	if err != nil {
		t.Fatal(err)
	}
	if !vr.OK() || len(vr.Verdicts) != 2 {
		t.Fatalf("verify: %+v", vr.Verdicts)
	}
	if rep := vr.Verdicts[0].Report; rep.VenueGapBars != 2 || rep.Rows != int64(len(want)) {
		t.Fatalf("report %+v", rep)
	}

	// Second run: nothing fetched, nothing changed.
	before := snapshotDir(t, a.DataDir)
	v.ResetRequests()
	res = mustBackfill(t, a, req)
	if got := v.Requests(); len(got) != 0 {
		t.Fatalf("second run fetched %v", got)
	}
	if res.Added() != 0 || res.Datasets[0].Missing != nil {
		t.Fatalf("second run %+v", res.Datasets[0])
	}
	after := snapshotDir(t, a.DataDir)
	if len(before) != len(after) {
		t.Fatalf("files changed: %d -> %d", len(before), len(after))
	}
	for p, b := range before {
		if !bytes.Equal(b, after[p]) {
			t.Fatalf("%s changed", p)
		}
	}
}

func TestBackfillRefillsInteriorHoles(t *testing.T) {
	v := &apptest.Venue{}
	a := newTestApp(t, v)
	one := func(from, to string) *BackfillResult {
		return mustBackfill(t, a, BackfillRequest{Venue: "fake", Symbols: []domain.Symbol{btc}, Type: domain.OHLC, Span: domain.Span1h, Range: rng(from, to)})
	}
	one("2024-01-01", "2024-01-03")
	one("2024-01-05", "2024-01-07")
	v.ResetRequests()
	res := one("2024-01-01", "2024-01-08")
	want := []domain.Range{rng("2024-01-03", "2024-01-05"), rng("2024-01-07", "2024-01-08")}
	if got := res.Datasets[0].Missing; !slices.Equal(got, want) {
		t.Fatalf("missing %v, want %v", got, want)
	}
	reqs := v.Requests()
	if !slices.Equal(reqs, want) {
		t.Fatalf("requests %v, want %v", reqs, want)
	}
	equalBars(t, readBars(t, a, btc, domain.Span1h), v.Bars(domain.Span1h, rng("2024-01-01", "2024-01-08")))
}

func TestBackfillAlignsAndClipsToClosedBars(t *testing.T) {
	v := &apptest.Venue{}
	a := newTestApp(t, v)
	// testNow is 2024-03-01T00:00Z; ask for bars up to a future time.
	p, err := a.PlanBackfill(BackfillRequest{Venue: "fake", Symbols: []domain.Symbol{btc}, Type: domain.OHLC, Span: domain.Span1h,
		Range: rng("2024-02-29T22:30:00Z", "2024-03-02")})
	if err != nil {
		t.Fatal(err)
	}
	if want := rng("2024-02-29T23:00:00Z", "2024-03-01T00:00:00Z"); p != want {
		t.Fatalf("plan %v, want %v", p, want)
	}
	p, err = a.PlanBackfill(BackfillRequest{Venue: "fake", Symbols: []domain.Symbol{btc}, Type: domain.Trades, Range: rng("2024-02-29", "2024-03-02")})
	if err != nil {
		t.Fatal(err)
	}
	if p.End != testNow.Add(-2*time.Second).UnixNano() {
		t.Fatalf("trade plan end %s", domain.FormatNs(p.End))
	}
}

func TestBackfillResumesAfterFailure(t *testing.T) {
	v := &apptest.Venue{PageSize: 50}
	a := newTestApp(t, v)
	a.StoreOptions.MaxPendingPartitions = 1
	req := BackfillRequest{Venue: "fake", Symbols: []domain.Symbol{btc}, Type: domain.Trades, Range: rng("2024-01-01", "2024-01-04")}
	v.FailAfter(2000)
	res, err := a.Backfill(context.Background(), req)
	if !errors.Is(err, apptest.ErrInjected) || res.Status != RunFailed {
		t.Fatalf("err %v status %v", err, res.Status)
	}
	got := readTrades(t, a, btc)
	if len(got) != 2000 {
		t.Fatalf("kept %d trades of the failed run, want the 2000 received", len(got))
	}
	v.ResetRequests()
	res = mustBackfill(t, a, req)
	reqs := v.Requests()
	// Coverage was declared page by page: the rerun starts at the last
	// complete page, not at the beginning.
	if len(reqs) != 1 || reqs[0].Start <= req.Range.Start || reqs[0].End != req.Range.End {
		t.Fatalf("rerun requests %v", reqs)
	}
	equalTrades(t, readTrades(t, a, btc), v.Trades(req.Range))
	vr, err := a.Verify(context.Background(), VerifyRequest{Filter: Filter{Venue: "fake", Type: domain.Trades}})
	if err != nil || !vr.OK() {
		t.Fatalf("verify %v %+v", err, vr)
	}
	_ = res
}

func TestBackfillInterruptedThenResumed(t *testing.T) {
	v := &apptest.Venue{}
	a := newTestApp(t, v)
	rec := &memRuns{}
	a.Runs = rec
	req := BackfillRequest{Venue: "fake", Symbols: []domain.Symbol{btc}, Type: domain.OHLC, Span: domain.Span1m, Range: rng("2024-01-01", "2024-01-03")}
	ctx, cancel := context.WithCancel(context.Background())
	paused := v.PauseAfter(1500)
	go func() { <-paused; cancel() }()
	res, err := a.Backfill(ctx, req)
	if !errors.Is(err, context.Canceled) || res.Status != RunInterrupted {
		t.Fatalf("err %v status %v", err, res.Status)
	}
	if last := rec.last(); last.Status != RunInterrupted || last.Ended.IsZero() || last.ID != res.RunID || !strings.HasPrefix(res.RunID, "mem-") {
		t.Fatalf("run record %+v", last)
	}
	if n := len(readBars(t, a, btc, domain.Span1m)); n != 1500 {
		t.Fatalf("interrupted run kept %d bars, want 1500", n)
	}
	mustBackfill(t, a, req)
	equalBars(t, readBars(t, a, btc, domain.Span1m), v.Bars(domain.Span1m, req.Range))
	if last := rec.last(); last.Status != RunSucceeded {
		t.Fatalf("run record %+v", last)
	}
}

func TestBackfillTradesAndVerifyDetectsLostTrades(t *testing.T) {
	v := &apptest.Venue{Dropped: []int64{100, 101, 102}}
	a := newTestApp(t, v)
	a.ContiguousIDs = func(string) bool { return true }
	req := BackfillRequest{Venue: "fake", Symbols: []domain.Symbol{btc}, Type: domain.Trades, Range: rng("2024-01-01", "2024-01-02")}
	mustBackfill(t, a, req)
	equalTrades(t, readTrades(t, a, btc), v.Trades(req.Range))
	vr, err := a.Verify(context.Background(), VerifyRequest{Filter: Filter{Venue: "fake"}})
	if err != nil {
		t.Fatal(err)
	}
	if vr.OK() || vr.Verdicts[0].Report.MissingIDs != 3 {
		t.Fatalf("verify passed despite lost trades: %+v", vr.Verdicts[0])
	}
	// On a venue without contiguous ids the jump is only a note.
	a.ContiguousIDs = func(string) bool { return false }
	vr, err = a.Verify(context.Background(), VerifyRequest{Filter: Filter{Venue: "fake"}})
	if err != nil || !vr.OK() || len(vr.Verdicts[0].Notes) == 0 {
		t.Fatalf("verify %v %+v", err, vr.Verdicts)
	}
}

func TestBackfillBook(t *testing.T) {
	v := &apptest.Venue{}
	a := newTestApp(t, v)
	res := mustBackfill(t, a, BackfillRequest{Venue: "fake", Symbols: []domain.Symbol{btc}, Type: domain.Book, Depth: 5})
	if res.Datasets[0].Records != 1 {
		t.Fatalf("%+v", res.Datasets[0])
	}
	var n int
	for b, err := range a.ReadBooks(context.Background(), Selector{Venue: "fake", Symbol: btc}) {
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Bids) != 5 || len(b.Asks) != 5 || b.Bids[0].Price.String() != "100" {
			t.Fatalf("book %+v", b)
		}
		n++
	}
	if n != 1 {
		t.Fatalf("%d snapshots", n)
	}
}

func TestBackfillBadInput(t *testing.T) {
	v := &apptest.Venue{}
	recent := &apptest.Venue{Name: "recent", History: domain.HistoryRecent, RecentCount: 720, RecentTrades: 60}
	a := newTestApp(t, v)
	if err := recent.Register(a.Venues); err != nil {
		t.Fatal(err)
	}
	base := BackfillRequest{Venue: "fake", Symbols: []domain.Symbol{btc}, Type: domain.OHLC, Span: domain.Span1h, Range: rng("2024-01-01", "2024-01-02")}
	tests := []struct {
		name   string
		mod    func(*BackfillRequest)
		target any
		msg    string
	}{
		{"unknown venue", func(r *BackfillRequest) { r.Venue = "nope" }, new(*venues.UnknownVenueError), `unknown venue "nope" (accepted: fake, recent)`},
		{"from after to", func(r *BackfillRequest) { r.Range = rng("2024-02-01", "2024-01-01") }, new(*domain.RangeError), "from 2024-02-01T00:00:00Z is not before to"},
		{"span not served", func(r *BackfillRequest) { r.Span = domain.Span4h }, new(*domain.CapabilityError), "fake does not offer span 4h for ohlc (accepted: 1m, 5m, 1h, 1d)"},
		{"no span", func(r *BackfillRequest) { r.Span = 0 }, new(*InputError), "ohlc needs a span"},
		{"future", func(r *BackfillRequest) { r.Range = rng("2024-03-05", "2024-03-06") }, new(*InputError), "not in the past"},
		{"recent only", func(r *BackfillRequest) { r.Venue = "recent" }, new(*HistoryError), "recent serves ohlc 1h only from 2024-01-31T00:00:00Z on"},
		{"recent trades only", func(r *BackfillRequest) { r.Venue, r.Type, r.Span = "recent", domain.Trades, 0 }, new(*HistoryError), "recent serves only its most recent 60 trades over REST"},
		{"unknown symbol", func(r *BackfillRequest) { r.Symbols = []domain.Symbol{domain.NewSymbol("BTC", "EUR")} }, new(*UnknownSymbolError), "unknown symbol BTC/EUR on fake (similar listed symbols: BTC/USDT)"},
		{"perp on spot venue", func(r *BackfillRequest) { r.Symbols = []domain.Symbol{domain.MustParseSymbol("BTC/USD:perp")} }, new(*domain.CapabilityError), "perp markets"},
		{"duplicate symbol", func(r *BackfillRequest) { r.Symbols = []domain.Symbol{btc, btc} }, new(*InputError), "listed twice"},
		{"book too deep", func(r *BackfillRequest) { r.Type, r.Span, r.Depth = domain.Book, 0, 500 }, new(*domain.CapabilityError), "book depth 500 (accepted: 1 to 50)"},
		{"funding", func(r *BackfillRequest) { r.Type = domain.Funding }, new(*domain.CapabilityError), "accepted: ohlc, trades, book"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := base
			tc.mod(&req)
			_, err := a.Backfill(context.Background(), req)
			if err == nil || !errors.As(err, tc.target) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v; want %T containing %q", err, tc.target, tc.msg)
			}
			if !IsUsageError(err) {
				t.Fatalf("%v not classified as a usage error", err)
			}
		})
	}
	if entries, _ := os.ReadDir(a.DataDir); len(entries) != 0 {
		t.Fatalf("bad input wrote to the data dir: %v", entries)
	}
}

func TestBackfillUnwritableDataDir(t *testing.T) {
	v := &apptest.Venue{}
	a := newTestApp(t, v)
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	a.DataDir = file
	_, err := a.Backfill(context.Background(), BackfillRequest{Venue: "fake", Symbols: []domain.Symbol{btc}, Type: domain.OHLC, Span: domain.Span1h, Range: rng("2024-01-01", "2024-01-02")})
	var de *store.DataDirError
	if !errors.As(err, &de) || IsUsageError(err) {
		t.Fatalf("err = %v", err)
	}
}

func TestBackfillCorruptFileIsReportedNotOverwritten(t *testing.T) {
	v := &apptest.Venue{}
	a := newTestApp(t, v)
	req := BackfillRequest{Venue: "fake", Symbols: []domain.Symbol{btc}, Type: domain.Trades, Range: rng("2024-01-01", "2024-01-03")}
	mustBackfill(t, a, req)
	st, err := a.OpenStore()
	if err != nil {
		t.Fatal(err)
	}
	id := domain.DatasetID{Venue: "fake", Symbol: btc, Type: domain.Trades}
	path := st.PartitionPath(id, ts("2024-01-02T10:00:00Z"))
	garbage := []byte("this is not parquet")
	if err := os.WriteFile(path, garbage, 0o644); err != nil {
		t.Fatal(err)
	}
	req.Range = rng("2024-01-01", "2024-01-04")
	res, err := a.Backfill(context.Background(), req)
	var ce *store.CorruptFileError
	if !errors.As(err, &ce) || ce.Path != path || res.Status != RunFailed {
		t.Fatalf("err = %v", err)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, garbage) {
		t.Fatal("corrupt file was overwritten")
	}
	vr, err := a.Verify(context.Background(), VerifyRequest{Filter: Filter{Venue: "fake"}})
	if err != nil || vr.OK() {
		t.Fatalf("verify %v %+v", err, vr)
	}
}

func TestBackfillWithoutMarketListerSkipsSymbolCheck(t *testing.T) {
	v := &apptest.Venue{NoMarkets: true}
	a := newTestApp(t, v)
	_, err := a.Backfill(context.Background(), BackfillRequest{Venue: "fake", Symbols: []domain.Symbol{domain.NewSymbol("DOGE", "USDT")}, Type: domain.OHLC, Span: domain.Span1h, Range: rng("2024-01-01", "2024-01-02")})
	if err == nil || !strings.Contains(err.Error(), "invalid symbol DOGE/USDT") {
		t.Fatalf("err = %v", err)
	}
}

func TestBackfillRemovesStaleTempFiles(t *testing.T) {
	v := &apptest.Venue{}
	a := newTestApp(t, v)
	req := BackfillRequest{Venue: "fake", Symbols: []domain.Symbol{btc}, Type: domain.Trades, Range: rng("2024-01-01", "2024-01-02")}
	mustBackfill(t, a, req)
	dir := filepath.Join(a.DataDir, "fake", "BTC-USDT", "trades")
	stale := filepath.Join(dir, ".2024-01-01.parquet.tmp-123")
	fresh := filepath.Join(dir, ".2024-01-01.parquet.tmp-456")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * StaleTempAge)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	mustBackfill(t, a, req)
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatal("stale temporary file kept")
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Fatal("fresh temporary file (maybe another writer's) removed")
	}
}
