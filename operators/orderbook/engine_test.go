package orderbook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/govalues/decimal"
	"pgregory.net/rapid"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators"
)

func noBackoff(int) time.Duration { return 0 }

var quiet = slog.New(slog.DiscardHandler)

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newTestEngine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	cfg.Backoff = noBackoff
	cfg.Logger = quiet
	if cfg.SnapshotWait == 0 {
		cfg.SnapshotWait = -1
	}
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// gatedSnapshot returns a SnapshotFunc that serves snap once release is
// closed.
func gatedSnapshot(snap domain.BookSnapshot, release <-chan struct{}) SnapshotFunc {
	return func(ctx context.Context, _ domain.Symbol) (domain.BookSnapshot, error) {
		select {
		case <-release:
			return snap, nil
		case <-ctx.Done():
			return domain.BookSnapshot{}, ctx.Err()
		}
	}
}

func nextEvent(t testing.TB, events <-chan Event) Event {
	t.Helper()
	select {
	case ev := <-events:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10 s")
	}
	return Event{}
}

func nknFixture(t testing.TB) (domain.BookSnapshot, []domain.BookDelta) {
	sym := domain.NewSymbol("NKN", "USDT")
	raw := readLines(t, "testdata/rest_depth_NKNUSDT_limit1000_cryptofeed_2021-10-12.json")
	snap := binanceDepth(t, raw[0], sym)
	var diffs []domain.BookDelta
	for _, line := range readLines(t, "testdata/ws_depth100ms_NKNUSDT_diffs_cryptofeed_2021-10-12.jsonl") {
		diffs = append(diffs, binanceDiff(t, line, sym))
	}
	return snap, diffs
}

// naiveReplay applies the Binance procedure by hand to a fresh book.
func naiveReplay(t testing.TB, snap domain.BookSnapshot, diffs []domain.BookDelta) *Book {
	ref := newRef()
	for _, x := range snap.Bids {
		ref.set(Bid, x.Price, x.Amount)
	}
	for _, x := range snap.Asks {
		ref.set(Ask, x.Price, x.Amount)
	}
	for _, df := range diffs {
		if df.Seq <= snap.Seq {
			continue
		}
		for _, x := range df.Bids {
			ref.set(Bid, x.Price, x.Amount)
		}
		for _, x := range df.Asks {
			ref.set(Ask, x.Price, x.Amount)
		}
	}
	b := NewBook(snap.Symbol)
	for _, s := range []Side{Bid, Ask} {
		for _, x := range ref.sorted(s) {
			_ = b.Set(s, x.Price, x.Amount)
		}
	}
	return b
}

func TestBinanceNKNUSDTRecordedReplay(t *testing.T) {
	snap, diffs := nknFixture(t)
	if snap.Seq != 499869752 || diffs[0].FirstSeq != 499869750 || diffs[0].Seq != 499869752 || len(diffs) != 150 {
		t.Fatalf("fixture: snapshot %d, first diff %d-%d, %d diffs", snap.Seq, diffs[0].FirstSeq, diffs[0].Seq, len(diffs))
	}
	want := naiveReplay(t, snap, diffs)
	for _, split := range []int{len(diffs), 1, 75} {
		t.Run(fmt.Sprintf("snapshot_after_%d_diffs", split), func(t *testing.T) {
			release := make(chan struct{})
			e := newTestEngine(t, Config{Venue: "binance", Continuity: BinanceContinuity{}, Snapshot: gatedSnapshot(snap, release)})
			if err := e.Add(snap.Symbol); err != nil {
				t.Fatal(err)
			}
			for i := range diffs[:split] {
				if err := e.Handle(&diffs[i]); err != nil {
					t.Fatal(err)
				}
			}
			if st := e.State(snap.Symbol); st != Syncing {
				t.Fatalf("state before the snapshot = %v", st)
			}
			v, _ := e.Book(snap.Symbol)
			if _, _, err := v.Top(); !errors.Is(err, ErrNotLive) {
				t.Fatalf("Top while syncing: %v", err)
			}
			close(release)
			if err := e.WaitLive(testCtx(t), snap.Symbol); err != nil {
				t.Fatal(err)
			}
			for i := range diffs[split:] {
				if err := e.Handle(&diffs[split+i]); err != nil {
					t.Fatal(err)
				}
			}
			st, _ := e.Stats(snap.Symbol)
			if st.State != Live || st.Skipped != 1 || st.Applied != 149 || st.Gaps != 0 || st.Resyncs != 0 || st.Seq != diffs[149].Seq {
				t.Fatalf("stats %+v", st)
			}
			var got *Book
			if err := v.Read(func(b *Book) { got = b.Clone() }); err != nil {
				t.Fatal(err)
			}
			if !got.Equal(want) {
				t.Fatal("engine book differs from the naive replay")
			}
			bid, ask, _ := v.Top()
			if bid.Price.Cmp(ask.Price) >= 0 {
				t.Fatalf("crossed: %v / %v", bid, ask)
			}
		})
	}
}

// TestBinanceStaleSnapshotRefetched: a snapshot older than the buffered
// diffs cannot be bridged; the engine keeps the diffs and fetches again.
func TestBinanceStaleSnapshotRefetched(t *testing.T) {
	snap, diffs := nknFixture(t)
	old := snap
	old.Seq = snap.Seq - 10 // pretend it predates the stream
	var calls atomic.Int32
	e := newTestEngine(t, Config{Continuity: BinanceContinuity{}, Snapshot: func(ctx context.Context, _ domain.Symbol) (domain.BookSnapshot, error) {
		if calls.Add(1) == 1 {
			return old, nil
		}
		return snap, nil
	}, SnapshotWait: time.Hour})
	events, sub, _ := operators.SubscribeChan(e.Publisher(), StateEvents, 64)
	defer sub.Unsubscribe()
	_ = e.Add(snap.Symbol)
	for i := range diffs[1:5] { // diffs[1] starts at 499869753: after old.Seq+1
		_ = e.Handle(&diffs[1+i])
	}
	if err := e.WaitLive(testCtx(t), snap.Symbol); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 {
		t.Fatalf("%d snapshot fetches, want 2", calls.Load())
	}
	var reasons []Reason
	for len(reasons) < 3 {
		reasons = append(reasons, nextEvent(t, events).Reason)
	}
	if reasons[0] != ReasonAdded || reasons[1] != ReasonStaleSnapshot || reasons[2] != ReasonSnapshot {
		t.Fatalf("reasons %v", reasons)
	}
	st, _ := e.Stats(snap.Symbol)
	if st.Applied != 4 {
		t.Fatalf("applied %d", st.Applied)
	}
}

// simVenue is a venue with a true book and a diff stream with Binance-style
// update ids, or Kraken-style checksummed updates.
type simVenue struct {
	mu   sync.Mutex
	sym  domain.Symbol
	rng  *rand.Rand
	book *Book
	id   int64
}

func newSimVenue(sym domain.Symbol, seed uint64) *simVenue {
	v := &simVenue{sym: sym, rng: rand.New(rand.NewPCG(seed, 7)), book: NewBook(sym), id: 1000}
	for i := range 30 {
		_ = v.book.Set(Bid, decimal.MustNew(int64(10000-i*5), 2), decimal.MustNew(int64(1+i), 1))
		_ = v.book.Set(Ask, decimal.MustNew(int64(10005+i*5), 2), decimal.MustNew(int64(1+i), 1))
	}
	return v
}

// step changes the true book and returns the diff describing it.
func (v *simVenue) step(checksum ChecksumRule) domain.BookDelta {
	v.mu.Lock()
	defer v.mu.Unlock()
	d := domain.BookDelta{Symbol: v.sym, FirstSeq: v.id + 1}
	v.id += int64(1 + v.rng.IntN(3))
	d.Seq = v.id
	for range 1 + v.rng.IntN(4) {
		bid, _ := v.book.BestBid()
		ask, _ := v.book.BestAsk()
		side := Side(1 + v.rng.IntN(2))
		var p decimal.Decimal
		if side == Bid {
			p = decimal.MustNew(int64(bid.Price.Coef())-int64(v.rng.IntN(20)*5), 2)
		} else {
			p = decimal.MustNew(int64(ask.Price.Coef())+int64(v.rng.IntN(20)*5), 2)
		}
		var a decimal.Decimal
		if v.rng.IntN(3) > 0 || v.book.Depth(side) < 5 {
			a = decimal.MustNew(int64(1+v.rng.IntN(500)), 1)
		}
		if a.IsZero() {
			if _, ok := v.book.Get(side, p); !ok {
				continue
			}
		}
		_ = v.book.Set(side, p, a)
		lv := domain.BookLevel{Price: p, Amount: a}
		if side == Bid {
			d.Bids = append(d.Bids, lv)
		} else {
			d.Asks = append(d.Asks, lv)
		}
	}
	if checksum != nil {
		d.Checksum, d.HasChecksum = checksum.Checksum(v.book), true
	}
	return d
}

func (v *simVenue) snapshot(context.Context, domain.Symbol) (domain.BookSnapshot, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	s := v.book.Snapshot()
	s.Seq = v.id
	return s, nil
}

func (v *simVenue) resetDelta() domain.BookDelta {
	s, _ := v.snapshot(context.Background(), v.sym)
	return domain.BookDelta{Symbol: v.sym, Seq: s.Seq, Bids: s.Bids, Asks: s.Asks, Reset: true}
}

type fault int

const (
	faultNone fault = iota
	faultDrop
	faultDuplicate
	faultSwap
	faultStale
	faultCorrupt
	faultResync
	faultSettle // wait until the book is live again before going on
)

// runFaultyStream feeds n diffs from sim through faults and checks that the
// engine ends live with exactly the venue's book.
func runFaultyStream(t interface {
	Fatalf(string, ...any)
	Helper()
}, e *Engine, sim *simVenue, checksum ChecksumRule, faults []fault, resub <-chan struct{}) {
	var history []domain.BookDelta
	var held *domain.BookDelta
	feed := func(d domain.BookDelta) {
		if err := e.Handle(&d); err != nil {
			t.Fatalf("Handle: %v", err)
		}
	}
	serveResubscribe := func() {
		select {
		case <-resub:
			feed(sim.resetDelta())
		default:
		}
	}
	settle := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		for e.State(sim.sym) != Live {
			if checksum == nil {
				if err := e.WaitLive(ctx, sim.sym); err != nil {
					t.Fatalf("WaitLive: %v", err)
				}
				continue
			}
			select {
			case <-resub:
				feed(sim.resetDelta())
			case <-ctx.Done():
				t.Fatalf("book not live: %v", e.State(sim.sym))
			}
		}
	}
	for _, f := range faults {
		serveResubscribe()
		if f == faultSettle {
			settle()
			continue
		}
		d := sim.step(checksum)
		switch f {
		case faultDrop:
			// lost on the wire
		case faultDuplicate:
			feed(d)
			feed(d)
		case faultSwap:
			if held == nil {
				c := d
				held = &c
				continue
			}
			feed(d)
			feed(*held)
			held = nil
		case faultStale:
			feed(d)
			if len(history) > 0 {
				feed(history[len(history)/2])
			}
		case faultCorrupt:
			if len(d.Bids) > 0 {
				d.Bids = append([]domain.BookLevel(nil), d.Bids...)
				d.Bids[0].Amount = decimal.MustNew(999999, 1)
			} else if len(d.Asks) > 0 {
				d.Asks = append([]domain.BookLevel(nil), d.Asks...)
				d.Asks[0].Amount = decimal.MustNew(999999, 1)
			}
			feed(d)
		case faultResync:
			_ = e.Resync(sim.sym, errors.New("connection re-established"))
			feed(d)
		default:
			feed(d)
		}
		history = append(history, d)
		if held != nil && f != faultSwap {
			feed(*held)
			held = nil
		}
	}
	if held != nil {
		feed(*held)
	}
	// One clean diff: a loss at the very end of a stream can only be seen
	// when the next message arrives.
	feed(sim.step(checksum))
	settle()
	v, _ := e.Book(sim.sym)
	var got *Book
	if err := v.Read(func(b *Book) { got = b.Clone() }); err != nil {
		t.Fatalf("Read: %v", err)
	}
	sim.mu.Lock()
	defer sim.mu.Unlock()
	if !got.Equal(sim.book) {
		t.Fatalf("engine book differs from the venue's\n got %v\nwant %v", got.Snapshot(), sim.book.Snapshot())
	}
}

func TestEngineFaultsSnapshotMode(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		sim := newSimVenue(btcusdt, rapid.Uint64().Draw(rt, "seed"))
		faults := rapid.SliceOfN(rapid.SampledFrom([]fault{faultNone, faultNone, faultNone, faultNone, faultDrop, faultDuplicate, faultSwap, faultStale, faultResync, faultSettle}), 20, 300).Draw(rt, "faults")
		e, err := NewEngine(Config{Continuity: BinanceContinuity{}, Snapshot: sim.snapshot, SnapshotWait: -1, Backoff: noBackoff, Logger: quiet})
		if err != nil {
			rt.Fatalf("%v", err)
		}
		defer e.Close()
		_ = e.Add(sim.sym)
		if err := e.WaitLive(context.Background(), sim.sym); err != nil {
			rt.Fatalf("%v", err)
		}
		runFaultyStream(rt, e, sim, nil, faults, nil)
	})
}

func TestEngineFaultsChecksumInBand(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		sim := newSimVenue(btcusdt, rapid.Uint64().Draw(rt, "seed"))
		faults := rapid.SliceOfN(rapid.SampledFrom([]fault{faultNone, faultNone, faultNone, faultNone, faultDrop, faultDuplicate, faultSwap, faultCorrupt, faultResync, faultSettle}), 20, 300).Draw(rt, "faults")
		resub := make(chan struct{}, 1)
		e, err := NewEngine(Config{
			Venue:    "kraken",
			Checksum: KrakenChecksum{Depth: 100},
			Resubscribe: func(context.Context, domain.Symbol) error {
				select {
				case resub <- struct{}{}:
				default:
				}
				return nil
			},
			Backoff: noBackoff,
			Logger:  quiet,
		})
		if err != nil {
			rt.Fatalf("%v", err)
		}
		defer e.Close()
		_ = e.Add(sim.sym)
		d := sim.resetDelta()
		_ = e.Handle(&d)
		runFaultyStream(rt, e, sim, KrakenChecksum{Depth: 100}, faults, resub)
		d = sim.step(KrakenChecksum{Depth: 100})
		_ = e.Handle(&d)
		if st, _ := e.Stats(sim.sym); st.ChecksumChecks == 0 || st.State != Live {
			rt.Fatalf("after a clean diff: %+v", st)
		}
	})
}

func TestEngineEventsAndIsolation(t *testing.T) {
	a, b := newSimVenue(btcusdt, 1), newSimVenue(domain.NewSymbol("ETH", "USDT"), 2)
	snaps := map[domain.Symbol]*simVenue{a.sym: a, b.sym: b}
	e := newTestEngine(t, Config{Venue: "binance", Continuity: BinanceContinuity{}, Snapshot: func(ctx context.Context, s domain.Symbol) (domain.BookSnapshot, error) {
		return snaps[s].snapshot(ctx, s)
	}})
	events, sub, _ := operators.SubscribeChan(e.Publisher(), StateEvents, 64)
	defer sub.Unsubscribe()
	_ = e.Add(a.sym)
	_ = e.Add(b.sym)
	ctx := testCtx(t)
	for _, s := range []domain.Symbol{a.sym, b.sym} {
		if err := e.WaitLive(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	for range 10 {
		da, db := a.step(nil), b.step(nil)
		_ = e.Handle(&da)
		_ = e.Handle(&db)
	}
	_ = a.step(nil) // lost
	da := a.step(nil)
	_ = e.Handle(&da)
	if err := e.WaitLive(ctx, a.sym); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		sym      domain.Symbol
		from, to State
		reason   Reason
	}{
		{a.sym, Stopped, Syncing, ReasonAdded},
		{b.sym, Stopped, Syncing, ReasonAdded},
		{a.sym, Syncing, Live, ReasonSnapshot},
		{b.sym, Syncing, Live, ReasonSnapshot},
		{a.sym, Live, Resyncing, ReasonGap},
		{a.sym, Resyncing, Live, ReasonSnapshot},
	}
	got := map[domain.Symbol][]Event{}
	for range want {
		ev := nextEvent(t, events)
		got[ev.Symbol] = append(got[ev.Symbol], ev)
	}
	idx := map[domain.Symbol]int{}
	for _, w := range want {
		evs := got[w.sym]
		i := idx[w.sym]
		if i >= len(evs) {
			t.Fatalf("missing event %+v; got %+v", w, got)
		}
		ev := evs[i]
		idx[w.sym]++
		if ev.From != w.from || ev.To != w.to || ev.Reason != w.reason || ev.Venue != "binance" {
			t.Fatalf("event %d of %v = %v→%v %v, want %v→%v %v", i, w.sym, ev.From, ev.To, ev.Reason, w.from, w.to, w.reason)
		}
	}
	var gap *GapError
	if !errors.As(got[a.sym][2].Err, &gap) || gap.Rule != "binance" {
		t.Fatalf("gap event error: %v", got[a.sym][2].Err)
	}
	if st, _ := e.Stats(b.sym); st.Resyncs != 0 || st.State != Live {
		t.Fatalf("the other symbol was disturbed: %+v", st)
	}
}

func TestEngineRejectsInvalidAndCrossed(t *testing.T) {
	sym := btcusdt
	e := newTestEngine(t, Config{Continuity: CoinbaseContinuity{}})
	_ = e.Add(sym)
	load := func(seq int64) {
		snap := domain.BookSnapshot{Symbol: sym, Seq: seq, Bids: []domain.BookLevel{lv("100", "1")}, Asks: []domain.BookLevel{lv("101", "1")}}
		if err := e.HandleSnapshot(&snap); err != nil {
			t.Fatal(err)
		}
		if e.State(sym) != Live {
			t.Fatalf("state %v after the snapshot", e.State(sym))
		}
	}
	load(1)
	// A malformed delta is refused and invalidates the book.
	err := e.Handle(&domain.BookDelta{Symbol: sym, Seq: 2, Asks: []domain.BookLevel{lv("101", "-1")}})
	var le *LevelError
	if !errors.As(err, &le) || e.State(sym) != Resyncing {
		t.Fatalf("invalid delta: err %v, state %v", err, e.State(sym))
	}
	load(2)
	_ = e.Handle(&domain.BookDelta{Symbol: sym, Seq: 3, Bids: []domain.BookLevel{lv("102", "1")}})
	if e.State(sym) != Resyncing {
		t.Fatalf("crossed book stayed %v", e.State(sym))
	}
	v, _ := e.Book(sym)
	if _, ok := v.BestBid(); ok {
		t.Fatal("a crossed book was readable")
	}
	if st, _ := e.Stats(sym); st.Crossed != 1 {
		t.Fatalf("stats %+v", st)
	}
	// Deltas are dropped while waiting for an in-band snapshot.
	_ = e.Handle(&domain.BookDelta{Symbol: sym, Seq: 4})
	if st, _ := e.Stats(sym); st.Dropped != 1 {
		t.Fatalf("stats %+v", st)
	}
	// AllowCrossed keeps such a book live.
	e2 := newTestEngine(t, Config{Continuity: CoinbaseContinuity{}, AllowCrossed: true})
	_ = e2.Add(sym)
	snap := domain.BookSnapshot{Symbol: sym, Seq: 1, Bids: []domain.BookLevel{lv("101", "1")}, Asks: []domain.BookLevel{lv("101", "1")}}
	_ = e2.HandleSnapshot(&snap)
	if e2.State(sym) != Live {
		t.Fatalf("AllowCrossed: %v", e2.State(sym))
	}
	if err := e.Handle(&domain.BookDelta{Symbol: domain.NewSymbol("X", "Y")}); !errors.Is(err, ErrNotTracked) {
		t.Fatalf("unknown symbol: %v", err)
	}
}

func TestEngineBufferOverflowHeals(t *testing.T) {
	sim := newSimVenue(btcusdt, 3)
	release := make(chan struct{})
	var calls atomic.Int32
	var early domain.BookSnapshot
	early, _ = sim.snapshot(context.Background(), sim.sym)
	e := newTestEngine(t, Config{Continuity: BinanceContinuity{}, MaxBuffer: 5, Snapshot: func(ctx context.Context, s domain.Symbol) (domain.BookSnapshot, error) {
		if calls.Add(1) == 1 {
			// The first snapshot was taken before the diffs but arrives
			// late: the buffer has dropped the diffs it needed.
			select {
			case <-release:
			case <-ctx.Done():
				return domain.BookSnapshot{}, ctx.Err()
			}
			return early, nil
		}
		return sim.snapshot(ctx, s)
	}})
	_ = e.Add(sim.sym)
	for range 12 {
		d := sim.step(nil)
		_ = e.Handle(&d)
	}
	st, _ := e.Stats(sim.sym)
	if st.Buffered != 5 || st.BufferOverflows != 7 {
		t.Fatalf("stats %+v", st)
	}
	close(release)
	if err := e.WaitLive(testCtx(t), sim.sym); err != nil {
		t.Fatal(err)
	}
	v, _ := e.Book(sim.sym)
	got, _ := v.Clone()
	if !got.Equal(sim.book) || calls.Load() != 2 {
		t.Fatalf("calls %d, equal %v", calls.Load(), got.Equal(sim.book))
	}
}

func TestEngineSnapshotErrorsRetried(t *testing.T) {
	sim := newSimVenue(btcusdt, 4)
	var calls atomic.Int32
	e := newTestEngine(t, Config{Snapshot: func(ctx context.Context, s domain.Symbol) (domain.BookSnapshot, error) {
		if calls.Add(1) <= 2 {
			return domain.BookSnapshot{}, errors.New("HTTP 503")
		}
		return sim.snapshot(ctx, s)
	}})
	_ = e.Add(sim.sym)
	if err := e.WaitLive(testCtx(t), sim.sym); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.Stats(sim.sym); st.SnapshotErrors != 2 || st.Snapshots != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestEngineRemoveAndCloseStopPromptly(t *testing.T) {
	block := func(ctx context.Context, _ domain.Symbol) (domain.BookSnapshot, error) {
		<-ctx.Done()
		return domain.BookSnapshot{}, ctx.Err()
	}
	e, err := NewEngine(Config{Snapshot: block, SnapshotWait: -1, Backoff: noBackoff, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	_ = e.Add(btcusdt)
	_ = e.Add(domain.NewSymbol("ETH", "USDT"))
	v, _ := e.Book(btcusdt)
	waitErr := make(chan error, 1)
	go func() { waitErr <- v.WaitLive(context.Background()) }()
	e.Remove(btcusdt)
	var werr error
	select {
	case werr = <-waitErr:
	case <-testCtx(t).Done():
		t.Fatal("WaitLive did not return after Remove")
	}
	if err := werr; !errors.Is(err, ErrNotTracked) {
		t.Fatalf("WaitLive after Remove: %v", err)
	}
	if v.State() != Stopped || e.State(btcusdt) != Stopped {
		t.Fatal("removed symbol not stopped")
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Add(btcusdt); !errors.Is(err, ErrClosed) {
		t.Fatalf("Add after Close: %v", err)
	}
	if _, err := NewEngine(Config{Depth: -1}); err == nil {
		t.Fatal("negative depth accepted")
	}
}

func TestEngineResubscribeRetries(t *testing.T) {
	var calls atomic.Int32
	ok := make(chan struct{}, 1)
	e := newTestEngine(t, Config{Continuity: CoinbaseContinuity{}, ResubscribeTimeout: time.Hour, Resubscribe: func(ctx context.Context, _ domain.Symbol) error {
		if calls.Add(1) == 1 {
			return errors.New("not connected")
		}
		ok <- struct{}{}
		return nil
	}})
	_ = e.Add(btcusdt)
	snap := domain.BookSnapshot{Symbol: btcusdt, Seq: 1, Bids: []domain.BookLevel{lv("100", "1")}}
	_ = e.HandleSnapshot(&snap)
	_ = e.Handle(&domain.BookDelta{Symbol: btcusdt, Seq: 5}) // gap
	select {
	case <-ok:
	case <-testCtx(t).Done():
		t.Fatal("no resubscribe")
	}
	snap.Seq = 9
	_ = e.HandleSnapshot(&snap)
	if e.State(btcusdt) != Live || calls.Load() != 2 {
		t.Fatalf("state %v after %d resubscribes", e.State(btcusdt), calls.Load())
	}
}

// TestViewsNeverSeeCrossedOrPartialBooks reads concurrently with the
// engine applying a stream with faults (run with -race).
func TestViewsNeverSeeCrossedOrPartialBooks(t *testing.T) {
	sim := newSimVenue(btcusdt, 5)
	e := newTestEngine(t, Config{Continuity: BinanceContinuity{}, Snapshot: sim.snapshot})
	_ = e.Add(sim.sym)
	if err := e.WaitLive(testCtx(t), sim.sym); err != nil {
		t.Fatal(err)
	}
	v, _ := e.Book(sim.sym)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var reads, notLive atomic.Int64
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				bid, ask, err := v.Top()
				if err != nil {
					notLive.Add(1)
					continue
				}
				reads.Add(1)
				if bid.Price.Cmp(ask.Price) >= 0 {
					t.Errorf("crossed read: %v / %v", bid, ask)
					return
				}
				if _, err := v.VWAP(domain.Buy, decimal.One); err != nil && !errors.Is(err, ErrNotLive) {
					var de *InsufficientDepthError
					if !errors.As(err, &de) {
						t.Errorf("VWAP: %v", err)
						return
					}
				}
			}
		})
	}
	for i := range 3000 {
		d := sim.step(nil)
		if i%500 == 499 {
			continue // drop: forces a resync
		}
		_ = e.Handle(&d)
	}
	close(stop)
	wg.Wait()
	if reads.Load() == 0 {
		t.Fatal("no successful read")
	}
}

func ExampleEngine() {
	sym := domain.NewSymbol("BTC", "USDT")
	// A venue adapter supplies the snapshot source (REST for Binance) and
	// the venue's rules, then feeds parsed diffs from its stream.
	snapshot := func(ctx context.Context, s domain.Symbol) (domain.BookSnapshot, error) {
		return domain.BookSnapshot{Symbol: s, Seq: 100,
			Bids: []domain.BookLevel{{Price: decimal.MustParse("100.0"), Amount: decimal.MustParse("2")}},
			Asks: []domain.BookLevel{{Price: decimal.MustParse("100.5"), Amount: decimal.MustParse("1")}},
		}, nil
	}
	e, _ := NewEngine(Config{Venue: "binance", Continuity: BinanceContinuity{}, Snapshot: snapshot, SnapshotWait: -1})
	defer e.Close()
	_ = e.Add(sym)
	// Diffs that arrive before the snapshot are buffered, then bridged.
	_ = e.Handle(&domain.BookDelta{Symbol: sym, FirstSeq: 99, Seq: 101,
		Asks: []domain.BookLevel{{Price: decimal.MustParse("100.4"), Amount: decimal.MustParse("0.5")}}})
	_ = e.WaitLive(context.Background(), sym)

	v, _ := e.Book(sym)
	bid, ask, _ := v.Top()
	vwap, _ := v.VWAP(domain.Buy, decimal.MustParse("1"))
	fmt.Println("bid", bid.Price, "ask", ask.Price, "vwap(buy 1)", vwap)
	// Output: bid 100.0 ask 100.4 vwap(buy 1) 100.45
}

// TestBybitUpdateIDOneResets: Bybit sends u = 1 (a full snapshot) after a
// service restart; it must replace the book, not be merged into it.
func TestBybitUpdateIDOneResets(t *testing.T) {
	e := newTestEngine(t, Config{Venue: "bybit", Continuity: BybitContinuity{}})
	_ = e.Add(btcusdt)
	snap := domain.BookDelta{Symbol: btcusdt, Seq: 100, Reset: true,
		Bids: []domain.BookLevel{lv("100", "1"), lv("99", "1")}, Asks: []domain.BookLevel{lv("101", "1")}}
	_ = e.Handle(&snap)
	_ = e.Handle(&domain.BookDelta{Symbol: btcusdt, Seq: 101, Bids: []domain.BookLevel{lv("98", "4")}})
	_ = e.Handle(&domain.BookDelta{Symbol: btcusdt, Seq: 101, Bids: []domain.BookLevel{lv("97", "4")}}) // duplicate id: skipped
	restart := domain.BookDelta{Symbol: btcusdt, Seq: 1, Bids: []domain.BookLevel{lv("90", "2")}, Asks: []domain.BookLevel{lv("91", "2")}}
	_ = e.Handle(&restart)
	_ = e.Handle(&domain.BookDelta{Symbol: btcusdt, Seq: 2, Asks: []domain.BookLevel{lv("92", "1")}})
	v, _ := e.Book(btcusdt)
	bids, asks, err := v.TopN(-1)
	if err != nil {
		t.Fatal(err)
	}
	sameLevels(t, "bids", bids, []domain.BookLevel{lv("90", "2")})
	sameLevels(t, "asks", asks, []domain.BookLevel{lv("91", "2"), lv("92", "1")})
	if st, _ := e.Stats(btcusdt); st.Skipped != 1 || st.Snapshots != 2 || st.Resyncs != 0 {
		t.Fatalf("stats %+v", st)
	}
	_ = e.Handle(&domain.BookDelta{Symbol: btcusdt, Seq: 4}) // gap
	if e.State(btcusdt) != Resyncing {
		t.Fatalf("gap: %v", e.State(btcusdt))
	}
}

// TestOKXSeqIDChain exercises the OKX rule through the engine: no-change
// messages (seqId == prevSeqId), a sequence reset to a lower id, and a gap.
func TestOKXSeqIDChain(t *testing.T) {
	e := newTestEngine(t, Config{Venue: "okx", Continuity: OKXContinuity{}, Checksum: OKXChecksum{}})
	_ = e.Add(btcusdt)
	b := NewBook(btcusdt)
	mk := func(seq, prev int64, reset bool, bids, asks []domain.BookLevel) *domain.BookDelta {
		d := &domain.BookDelta{Symbol: btcusdt, Seq: seq, PrevSeq: prev, Reset: reset, Bids: bids, Asks: asks}
		_ = b.ApplyDelta(d)
		d.Checksum, d.HasChecksum = OKXChecksum{}.Checksum(b), true
		return d
	}
	steps := []*domain.BookDelta{
		mk(10, -1, true, []domain.BookLevel{lv("100", "1")}, []domain.BookLevel{lv("101", "1")}),
		mk(15, 10, false, []domain.BookLevel{lv("99", "2")}, nil),
		mk(15, 15, false, nil, nil),                               // no change
		mk(3, 15, false, nil, []domain.BookLevel{lv("102", "5")}), // sequence reset
		mk(4, 3, false, []domain.BookLevel{lv("100", "0")}, nil),
	}
	for i, d := range steps {
		if err := e.Handle(d); err != nil {
			t.Fatal(err)
		}
		if e.State(btcusdt) != Live {
			t.Fatalf("step %d: %v", i, e.State(btcusdt))
		}
	}
	v, _ := e.Book(btcusdt)
	got, _ := v.Clone()
	if !got.Equal(b) {
		t.Fatal("book differs")
	}
	_ = e.Handle(&domain.BookDelta{Symbol: btcusdt, Seq: 9, PrevSeq: 7})
	if e.State(btcusdt) != Resyncing {
		t.Fatalf("gap: %v", e.State(btcusdt))
	}
}
