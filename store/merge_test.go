package store

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
	"pgregory.net/rapid"
)

func TestOHLCMergeNewestWins(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	write := func(prov domain.Provenance, bars ...domain.OHLCBar) WriterStats {
		w, err := s.OHLCWriter(ohlc1h, prov)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(ctx, bars); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
		return w.Stats()
	}
	write(testProv, mkBar(0, domain.Span1h, "1"), mkBar(1, domain.Span1h, "1"), mkBar(2, domain.Span1h, "1"))
	// Overlap bars 1 and 2 with new values, add bar 3; within one batch the
	// later of two equal open times wins too.
	st := write(testProv2, mkBar(1, domain.Span1h, "2"), mkBar(2, domain.Span1h, "2"), mkBar(2, domain.Span1h, "3"), mkBar(3, domain.Span1h, "2"))
	if st.Added != 1 || st.Replaced != 2 || st.Commits != 1 {
		t.Errorf("stats = %+v, want Added 1, Replaced 2, Commits 1", st)
	}
	out := collect(t, s.ReadOHLC(ctx, ohlc1h, allTime()))
	var closes []string
	for _, b := range out {
		closes = append(closes, b.Close.String())
	}
	if want := []string{"1", "2", "3", "2"}; !slices.Equal(closes, want) {
		t.Fatalf("closes = %v, want %v", closes, want)
	}

	// Writing the same bars again changes nothing: the file is left as is.
	st = write(testProv2, mkBar(1, domain.Span1h, "2"), mkBar(3, domain.Span1h, "2"))
	if st.Unchanged != 1 || st.Commits != 0 {
		t.Errorf("identical rewrite: stats = %+v, want Unchanged 1", st)
	}
}

func TestTradesDedup(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	a := []domain.Trade{mkTrade(0), mkTrade(1), mkTrade(2), mkTrade(3)}
	writeTrades(t, s, testProv, a)
	// Same ids again (one re-received with a receive time), plus a new one,
	// plus two id-less trades that are identical (one kept) and one that
	// differs only in amount (kept).
	again := mkTrade(2)
	again.RecvTime = again.Time + 99
	noID := domain.Trade{Time: mkTrade(1).Time, Price: dec("5"), Amount: dec("1"), Side: domain.Buy}
	noID2 := noID
	noID2.Amount = dec("2")
	b := []domain.Trade{mkTrade(1), again, mkTrade(4), noID, noID, noID2}
	writeTrades(t, s, testProv2, b)

	out := collect(t, s.ReadTrades(ctx, tradesID, allTime()))
	var ids []string
	for _, tr := range out {
		ids = append(ids, tr.ID)
		if tr.ID == again.ID && tr.RecvTime != again.RecvTime {
			t.Errorf("trade %s: newest version not kept (recv %d)", tr.ID, tr.RecvTime)
		}
	}
	// Id-less trades sort after numbered ones at the same time.
	want := []string{"1000", "1001", "", "", "1002", "1003", "1004"}
	if !slices.Equal(ids, want) {
		t.Fatalf("ids = %q, want %q", ids, want)
	}
}

func TestProvenanceAccumulates(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	writeTrades(t, s, testProv, []domain.Trade{mkTrade(0)})
	writeTrades(t, s, testProv2, []domain.Trade{mkTrade(1)})
	writeTrades(t, s, testProv, []domain.Trade{mkTrade(2), mkTrade(3)}) // same writer identity as the first: folded
	info, err := s.Info(ctx, tradesID)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Partitions) != 1 {
		t.Fatalf("partitions = %d", len(info.Partitions))
	}
	prov := info.Partitions[0].Provenance
	if len(prov) != 2 {
		t.Fatalf("provenance = %+v, want 2 records", prov)
	}
	if prov[0].RunID != "run-1" || prov[0].Rows != 3 || prov[0].Commits != 2 || prov[0].Transport != domain.REST || prov[0].Source != "sim" {
		t.Errorf("record 0 = %+v", prov[0])
	}
	if prov[1].RunID != "run-2" || prov[1].Rows != 1 || prov[1].Transport != domain.WebSocket {
		t.Errorf("record 1 = %+v", prov[1])
	}
	if !prov[0].WrittenAt.Equal(fixedNow) || prov[0].First.IsZero() {
		t.Errorf("record 0 times = %+v", prov[0])
	}
	if info.Rows != 4 {
		t.Errorf("rows = %d", info.Rows)
	}
}

func TestFoldProvenanceBounded(t *testing.T) {
	var list []ProvenanceRecord
	for i := range maxProvenance + 10 {
		list = foldProvenance(list, ProvenanceRecord{Venue: "v", RunID: strconv.Itoa(i), Rows: 1, Commits: 1})
	}
	if len(list) != maxProvenance {
		t.Fatalf("len = %d, want %d", len(list), maxProvenance)
	}
	var rows int64
	for _, p := range list {
		rows += p.Rows
	}
	if rows != maxProvenance+10 || list[0].Source != "merged" {
		t.Fatalf("rows = %d, first = %+v", rows, list[0])
	}
}

func TestCoverage(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	d := int64(24 * time.Hour)
	// Day 1 has trades; days 2–3 were fetched and had none; day 5 has
	// trades but only its first half was covered.
	w, err := s.TradeWriter(tradesID, testProv)
	if err != nil {
		t.Fatal(err)
	}
	tr := mkTrade(0)
	tr5 := mkTrade(1)
	tr5.Time = day0 + 4*d + 1000
	if err := w.Write(ctx, []domain.Trade{tr}); err != nil {
		t.Fatal(err)
	}
	if err := w.Cover(ctx, domain.Range{Start: day0, End: day0 + 3*d}); err != nil {
		t.Fatal(err)
	}
	// Day 1 is committed by Cover already.
	if st := w.Stats(); st.Commits != 1 {
		t.Errorf("after Cover: commits = %d, want 1", st.Commits)
	}
	if err := w.Write(ctx, []domain.Trade{tr5}); err != nil {
		t.Fatal(err)
	}
	if err := w.Cover(ctx, domain.Range{Start: day0 + 4*d, End: day0 + 4*d + d/2}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx, tradesID)
	if err != nil {
		t.Fatal(err)
	}
	wantCov := []domain.Range{{Start: day0, End: day0 + 3*d}, {Start: day0 + 4*d, End: day0 + 4*d + d/2}}
	if !slices.Equal(info.Coverage, wantCov) {
		t.Errorf("coverage = %v, want %v", info.Coverage, wantCov)
	}
	if want := []domain.Range{{Start: day0 + 3*d, End: day0 + 4*d}}; !slices.Equal(info.Gaps, want) {
		t.Errorf("gaps = %v, want %v", info.Gaps, want)
	}
	// Empty covered days get an empty file so coverage survives.
	if info.Files != 4 || info.Rows != 2 {
		t.Errorf("files = %d rows = %d, want 4 files, 2 rows", info.Files, info.Rows)
	}
	if info.First != tr.Time || info.Last != tr5.Time {
		t.Errorf("bounds = %d..%d", info.First, info.Last)
	}
	cov, err := s.Coverage(ctx, tradesID)
	if err != nil || !slices.Equal(cov, wantCov) {
		t.Errorf("Coverage = %v, %v", cov, err)
	}
	miss, err := s.Missing(ctx, tradesID, domain.Range{Start: day0, End: day0 + 5*d})
	if err != nil {
		t.Fatal(err)
	}
	if want := []domain.Range{{Start: day0 + 3*d, End: day0 + 4*d}, {Start: day0 + 4*d + d/2, End: day0 + 5*d}}; !slices.Equal(miss, want) {
		t.Errorf("missing = %v, want %v", miss, want)
	}

	// A later writer extends coverage of day 5 without rows: the file is
	// rewritten with merged coverage, rows kept.
	w2, _ := s.TradeWriter(tradesID, testProv2)
	if err := w2.Cover(ctx, domain.Range{Start: day0 + 4*d + d/2, End: day0 + 5*d}); err != nil {
		t.Fatal(err)
	}
	if err := w2.Close(ctx); err != nil {
		t.Fatal(err)
	}
	cov, _ = s.Coverage(ctx, tradesID)
	if want := []domain.Range{{Start: day0, End: day0 + 3*d}, {Start: day0 + 4*d, End: day0 + 5*d}}; !slices.Equal(cov, want) {
		t.Errorf("coverage after extension = %v, want %v", cov, want)
	}
	if got := collect(t, s.ReadTrades(ctx, tradesID, allTime())); len(got) != 2 {
		t.Errorf("rows after coverage-only commit = %d", len(got))
	}

	// Coverage in the future is clipped to now.
	w3, _ := s.TradeWriter(tradesID, testProv2)
	if err := w3.Cover(ctx, domain.Range{Start: fixedNow.UnixNano() - d, End: fixedNow.UnixNano() + 10*d}); err != nil {
		t.Fatal(err)
	}
	if err := w3.Close(ctx); err != nil {
		t.Fatal(err)
	}
	cov, _ = s.Coverage(ctx, tradesID)
	if last := cov[len(cov)-1]; last.End != fixedNow.UnixNano() {
		t.Errorf("future coverage not clipped: %v", last)
	}
}

func TestDatasetsAndList(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	writeTrades(t, s, testProv, []domain.Trade{mkTrade(0)})
	perp := domain.DatasetID{Venue: "bybit", Symbol: domain.MustParseSymbol("BTC/USDT:perp"), Type: domain.OHLC, Span: domain.Span1M}
	w, err := s.OHLCWriter(perp, testProv)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, []domain.OHLCBar{mkBar(0, domain.Span1M, "1")}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	ids, err := s.Datasets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []domain.DatasetID{tradesID, perp}
	if !slices.Equal(ids, want) {
		t.Fatalf("datasets = %v, want %v", ids, want)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 2 || list[1].Rows != 1 {
		t.Fatalf("list = %+v, %v", list, err)
	}
}

// TestWriterModel checks random writes — several writers, random batch
// order, duplicates, tiny buffers so runs spill — against a map model.
func TestWriterModel(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		dir := t.TempDir()
		s, err := Open(dir, Options{Logger: quietLog, MaxBufferRows: rapid.IntRange(1, 50).Draw(rt, "buf"),
			MaxPendingPartitions: rapid.IntRange(1, 3).Draw(rt, "pending"), RowGroupRows: rapid.IntRange(8, 100).Draw(rt, "rg")})
		if err != nil {
			rt.Fatal(err)
		}
		ctx := context.Background()
		model := map[string]domain.Trade{}
		nw := rapid.IntRange(1, 3).Draw(rt, "writers")
		for wi := range nw {
			w, err := s.TradeWriter(tradesID, testProv)
			if err != nil {
				rt.Fatal(err)
			}
			nb := rapid.IntRange(1, 5).Draw(rt, "batches")
			for range nb {
				ids := rapid.SliceOfN(rapid.IntRange(0, 300), 0, 60).Draw(rt, "ids")
				var batch []domain.Trade
				for _, i := range ids {
					tr := mkTrade(i)
					tr.Time = day0 + int64(i)*int64(10*time.Minute) // ~2 days
					tr.RecvTime = int64(wi + 1)                     // marks the newest writer
					batch = append(batch, tr)
					model[tr.ID] = tr
				}
				if err := w.Write(ctx, batch); err != nil {
					rt.Fatal(err)
				}
			}
			if err := w.Close(ctx); err != nil {
				rt.Fatal(err)
			}
		}
		got := collect(rt, s.ReadTrades(ctx, tradesID, allTime()))
		want := slices.Collect(maps.Values(model))
		slices.SortFunc(want, func(a, b domain.Trade) int { return cmpID(a.ID, b.ID) })
		if len(got) != len(want) {
			rt.Fatalf("got %d trades, want %d", len(got), len(want))
		}
		for i := range want {
			if !sameTrade(got[i], want[i]) {
				rt.Fatalf("trade %d: got %+v, want %+v", i, got[i], want[i])
			}
		}
		rep, err := s.Verify(ctx, tradesID, allTime())
		if err != nil || rep.Duplicates != 0 || rep.OutOfOrder != 0 || rep.Misplaced != 0 || len(rep.Problems) != 0 {
			rt.Fatalf("verify: %+v %v", rep, err)
		}
		assertNoTemp(rt, s)
	})
}
