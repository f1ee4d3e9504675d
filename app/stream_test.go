package app

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/pype-go/pype/app/apptest"
	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/venues"
)

func TestStreamTradesFillsReportedGapOverREST(t *testing.T) {
	v := &apptest.Venue{Every: time.Second}
	a := newTestApp(t, v)
	v.ScriptTrades(rng("2024-01-10T00:00:00Z", "2024-01-10T00:10:00Z"))
	hole := rng("2024-01-10T00:10:00Z", "2024-01-10T00:12:00Z")
	v.ScriptGap(venues.Gap{Symbol: btc, Range: hole, Reason: "reconnect"})
	v.ScriptTrades(rng("2024-01-10T00:12:00Z", "2024-01-10T00:20:00Z"))
	v.ScriptEnd()
	res, err := a.Stream(context.Background(), StreamRequest{Venue: "fake", Symbols: []domain.Symbol{btc}, Type: domain.Trades})
	if err != nil {
		t.Fatal(err)
	}
	d := res.Datasets[0]
	if res.Status != RunSucceeded || d.Records != 1080 || d.Filled != 120 || len(d.Gaps) != 1 || len(d.Unfilled) != 0 {
		t.Fatalf("result %+v %+v", res, d)
	}
	whole := rng("2024-01-10T00:00:00Z", "2024-01-10T00:20:00Z")
	equalTrades(t, readTrades(t, a, btc), v.Trades(whole))
	// Coverage runs from the first trade to the last one (exclusive).
	wantCov := []domain.Range{{Start: whole.Start, End: ts("2024-01-10T00:19:59Z")}}
	inv, err := a.Inventory(context.Background(), Filter{})
	if err != nil || len(inv) != 1 || !slices.Equal(inv[0].Coverage, wantCov) {
		t.Fatalf("inventory %v %+v", err, inv)
	}
	vr, err := a.Verify(context.Background(), VerifyRequest{Filter: Filter{Venue: "fake"}})
	if err != nil || !vr.OK() {
		t.Fatalf("verify %v %+v", err, vr.Verdicts)
	}
}

func TestStreamCandlesDetectsAndFillsMissingBars(t *testing.T) {
	v := &apptest.Venue{Every: 10 * time.Second}
	a := newTestApp(t, v)
	v.ScriptBars(domain.Span1m, rng("2024-01-10T00:00:00Z", "2024-01-10T00:30:00Z"))
	v.ScriptBars(domain.Span1m, rng("2024-01-10T00:35:00Z", "2024-01-10T01:00:00Z"))
	v.ScriptEnd()
	res, err := a.Stream(context.Background(), StreamRequest{Venue: "fake", Symbols: []domain.Symbol{btc}, Type: domain.OHLC, Span: domain.Span1m})
	if err != nil {
		t.Fatal(err)
	}
	d := res.Datasets[0]
	if d.Records != 55 || d.Filled != 5 || len(d.Gaps) != 1 || d.Gaps[0].Range != rng("2024-01-10T00:30:00Z", "2024-01-10T00:35:00Z") {
		t.Fatalf("result %+v", d)
	}
	equalBars(t, readBars(t, a, btc, domain.Span1m), v.Bars(domain.Span1m, rng("2024-01-10T00:00:00Z", "2024-01-10T01:00:00Z")))
	vr, err := a.Verify(context.Background(), VerifyRequest{Filter: Filter{Venue: "fake"}})
	if err != nil || !vr.OK() {
		t.Fatalf("verify %v %+v", err, vr.Verdicts[0])
	}
}

func TestStreamBooksSampled(t *testing.T) {
	v := &apptest.Venue{}
	a := newTestApp(t, v)
	t0 := ts("2024-01-10T00:00:00Z")
	v.ScriptBooks(btc, 30, t0, 100*time.Millisecond, 10)
	v.ScriptEnd()
	res, err := a.Stream(context.Background(), StreamRequest{Venue: "fake", Symbols: []domain.Symbol{btc}, Type: domain.Book, Depth: 5, BookEvery: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Datasets[0].Records != 4 {
		t.Fatalf("stored %d snapshots, want 4 (0, 300, 600, 900 ms)", res.Datasets[0].Records)
	}
	var times []int64
	for b, err := range a.ReadBooks(context.Background(), Selector{Venue: "fake", Symbol: btc}) {
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Bids) != 5 || len(b.Asks) != 5 {
			t.Fatalf("depth %d/%d", len(b.Bids), len(b.Asks))
		}
		times = append(times, b.Time-t0)
	}
	ms := int64(time.Millisecond)
	if !slices.Equal(times, []int64{0, 300 * ms, 600 * ms, 900 * ms}) {
		t.Fatalf("times %v", times)
	}
}

func TestStreamErrorKeepsReceivedRows(t *testing.T) {
	v := &apptest.Venue{Every: time.Second}
	a := newTestApp(t, v)
	v.ScriptTrades(rng("2024-01-10T00:00:00Z", "2024-01-10T00:01:00Z"))
	boom := errors.New("connection refused")
	v.ScriptError(boom)
	res, err := a.Stream(context.Background(), StreamRequest{Venue: "fake", Symbols: []domain.Symbol{btc}, Type: domain.Trades})
	if !errors.Is(err, boom) || res.Status != RunFailed {
		t.Fatalf("err %v status %v", err, res.Status)
	}
	if n := len(readTrades(t, a, btc)); n != 60 {
		t.Fatalf("kept %d trades", n)
	}
}

func TestStreamFlushesPeriodicallyAndStopsOnCancel(t *testing.T) {
	v := &apptest.Venue{Every: time.Second}
	a := newTestApp(t, v)
	rec := &memRuns{}
	a.Runs = rec
	v.ScriptTrades(rng("2024-01-10T00:00:00Z", "2024-01-10T00:01:00Z"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res, err := a.Stream(ctx, StreamRequest{Venue: "fake", Symbols: []domain.Symbol{btc}, Type: domain.Trades, FlushEvery: 5 * time.Millisecond,
		Progress: func(p StreamProgress) {
			if p.Added == 60 {
				cancel() // the rows were committed while the stream ran
			}
		}})
	if !errors.Is(err, context.Canceled) || res.Status != RunInterrupted || rec.last().Status != RunInterrupted {
		t.Fatalf("err %v status %v", err, res.Status)
	}
	if n := len(readTrades(t, a, btc)); n != 60 {
		t.Fatalf("kept %d trades", n)
	}
}

func TestStreamDuration(t *testing.T) {
	v := &apptest.Venue{}
	a := newTestApp(t, v)
	res, err := a.Stream(context.Background(), StreamRequest{Venue: "fake", Symbols: []domain.Symbol{btc}, Type: domain.Trades, Duration: time.Millisecond})
	if err != nil || res.Status != RunSucceeded {
		t.Fatalf("err %v status %v", err, res.Status)
	}
}

func TestStreamBadInput(t *testing.T) {
	v := &apptest.Venue{}
	a := newTestApp(t, v)
	for _, req := range []StreamRequest{
		{Venue: "nope", Symbols: []domain.Symbol{btc}, Type: domain.Trades},
		{Venue: "fake", Type: domain.Trades},
		{Venue: "fake", Symbols: []domain.Symbol{btc}, Type: domain.OHLC},
		{Venue: "fake", Symbols: []domain.Symbol{btc}, Type: domain.OHLC, Span: domain.Span4h},
		{Venue: "fake", Symbols: []domain.Symbol{btc}, Type: domain.Book, Depth: 1000},
		{Venue: "fake", Symbols: []domain.Symbol{btc}, Type: domain.Funding},
		{Venue: "fake", Symbols: []domain.Symbol{domain.NewSymbol("XRP", "USDT")}, Type: domain.Trades},
	} {
		if _, err := a.Stream(context.Background(), req); err == nil || !IsUsageError(err) {
			t.Errorf("%+v: err = %v", req, err)
		}
	}
}

// TestStreamBooksVenueClockBehind is the coinbase-on-`pype sim --now
// <past>` case: the first book (a snapshot) has no venue time, the later
// ones carry the venue's, years behind the local clock. Every 300 ms of
// the stream must still be stored, not just the first book.
func TestStreamBooksVenueClockBehind(t *testing.T) {
	v := &apptest.Venue{}
	a := newTestApp(t, v)
	venue0 := ts("2024-01-10T00:00:00Z")
	local0 := ts("2026-05-01T12:00:00Z")
	for i := range 10 {
		b := v.Book(btc, 5, venue0+int64(i)*int64(100*time.Millisecond))
		b.RecvTime = local0 + int64(i)*int64(100*time.Millisecond)
		if i == 0 {
			b.Time = 0 // the snapshot: no venue time
		}
		v.ScriptBook(b)
	}
	v.ScriptEnd()
	res, err := a.Stream(context.Background(), StreamRequest{Venue: "fake", Symbols: []domain.Symbol{btc}, Type: domain.Book, Depth: 5, BookEvery: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Datasets[0].Records; got != 4 {
		t.Fatalf("stored %d snapshots, want 4 (received at 0, 300, 600, 900 ms)", got)
	}
}

func TestSampleBookOneClockPerSymbol(t *testing.T) {
	const ms = int64(time.Millisecond)
	venue0, local0 := ts("2024-01-10T00:00:00Z"), ts("2026-05-01T12:00:00Z")
	type bk struct{ venue, recv int64 } // offsets in ms; venue -1: no venue time
	tests := []struct {
		name  string
		every time.Duration
		books []bk
		want  []int // indices stored
	}{
		{"venue time throughout", 300 * time.Millisecond,
			[]bk{{0, 0}, {100, 900}, {200, 950}, {300, 960}, {450, 970}, {600, 980}},
			[]int{0, 3, 5}},
		{"first without venue time: receive clock", 300 * time.Millisecond,
			[]bk{{-1, 0}, {100, 100}, {200, 200}, {300, 300}, {400, 400}, {500, 500}, {600, 600}},
			[]int{0, 3, 6}},
		{"a later one without venue time: receive clock from there on", 300 * time.Millisecond,
			[]bk{{0, 0}, {100, 100}, {300, 300}, {400, 400}, {-1, 500}, {600, 600}, {700, 700}, {900, 900}},
			[]int{0, 2, 5, 7}},
		{"venue clock far ahead of the receive clock", 300 * time.Millisecond,
			[]bk{{-1, 0}, {1e9, 100}, {1e9 + 100, 200}, {1e9 + 200, 300}},
			[]int{0, 3}},
		{"venue clock jumps back: restart, no stall", 300 * time.Millisecond,
			[]bk{{10_000, 0}, {10_100, 100}, {0, 200}, {100, 300}, {300, 400}},
			[]int{0, 2, 4}},
		{"store every update", -1,
			[]bk{{0, 0}, {0, 0}, {-1, 0}},
			[]int{0, 1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ds streamDS
			var got []int
			for i, x := range tt.books {
				b := domain.BookSnapshot{Time: venue0 + x.venue*ms, RecvTime: local0 + x.recv*ms}
				if x.venue < 0 {
					b.Time = 0
				}
				if ds.sampleBook(&b, tt.every) {
					got = append(got, i)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("stored %v, want %v", got, tt.want)
			}
		})
	}
}
