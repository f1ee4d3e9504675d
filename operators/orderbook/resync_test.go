package orderbook

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators"
)

var errConnLost = errors.New("connection lost")

// pendingFetch is one call of a scriptedSource's SnapshotFunc, waiting for
// the test to answer it.
type pendingFetch struct {
	n        int             // 1-based call number
	ctx      context.Context // the context the engine passed
	buffered int             // diffs buffered when the fetch started
	reply    chan domain.BookSnapshot
}

func (f *pendingFetch) answer(s domain.BookSnapshot) { f.reply <- s }

// scriptedSource is a SnapshotFunc whose calls the test answers one by one.
// A source that ignores its context models a slow request that completes
// even though the engine no longer wants it.
type scriptedSource struct {
	honourCtx bool
	eng       *Engine
	calls     chan *pendingFetch
	stop      chan struct{}

	n, inFlight, maxInFlight atomic.Int32
}

// newScriptedEngine returns an engine whose snapshots come from a
// scriptedSource. Blocked calls end when the test ends.
func newScriptedEngine(t *testing.T, cfg Config, honourCtx bool) (*Engine, *scriptedSource) {
	t.Helper()
	src := &scriptedSource{honourCtx: honourCtx, calls: make(chan *pendingFetch), stop: make(chan struct{})}
	cfg.Snapshot = src.fetch
	src.eng = newTestEngine(t, cfg)
	t.Cleanup(func() { close(src.stop) }) // runs before the engine's Close
	return src.eng, src
}

func (s *scriptedSource) fetch(ctx context.Context, sym domain.Symbol) (domain.BookSnapshot, error) {
	cur := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for m := s.maxInFlight.Load(); cur > m && !s.maxInFlight.CompareAndSwap(m, cur); m = s.maxInFlight.Load() {
	}
	st, _ := s.eng.Stats(sym)
	f := &pendingFetch{n: int(s.n.Add(1)), ctx: ctx, buffered: st.Buffered, reply: make(chan domain.BookSnapshot, 1)}
	var cancelled <-chan struct{}
	if s.honourCtx {
		cancelled = ctx.Done()
	}
	select {
	case s.calls <- f:
	case <-cancelled:
		return domain.BookSnapshot{}, ctx.Err()
	case <-s.stop:
		return domain.BookSnapshot{}, errors.New("test over")
	}
	select {
	case snap := <-f.reply:
		return snap, nil
	case <-cancelled:
		return domain.BookSnapshot{}, ctx.Err()
	case <-s.stop:
		return domain.BookSnapshot{}, errors.New("test over")
	}
}

// eventLog records an engine's events.
type eventLog struct {
	ch  <-chan Event
	all []Event
}

func newEventLog(t *testing.T, e *Engine) *eventLog {
	t.Helper()
	ch, sub, err := operators.SubscribeChan(e.Publisher(), StateEvents, 256)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Unsubscribe)
	return &eventLog{ch: ch}
}

// failIfLive fails the test when ev makes a book live.
func (l *eventLog) failIfLive(t *testing.T, ev Event, why string) {
	t.Helper()
	l.all = append(l.all, ev)
	if ev.To == Live {
		t.Fatalf("%s went live at seq %d (%v→%v, %v) %s", ev.Symbol, ev.Seq, ev.From, ev.To, ev.Reason, why)
	}
}

// nextFetch waits for the source's next call; the book must not go live
// meanwhile.
func (l *eventLog) nextFetch(t *testing.T, src *scriptedSource, why string) *pendingFetch {
	t.Helper()
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case f := <-src.calls:
			return f
		case ev := <-l.ch:
			l.failIfLive(t, ev, why)
		case <-timeout.C:
			t.Fatalf("no snapshot fetch within 10 s (%s)", why)
		}
	}
}

// until waits for an event matching ok; the book must not go live before.
func (l *eventLog) until(t *testing.T, ok func(Event) bool, why string) Event {
	t.Helper()
	for {
		ev := nextEvent(t, l.ch)
		if ok(ev) {
			l.all = append(l.all, ev)
			return ev
		}
		l.failIfLive(t, ev, why)
	}
}

func (l *eventLog) count(r Reason) int {
	n := 0
	for _, ev := range l.all {
		if ev.Reason == r {
			n++
		}
	}
	return n
}

func handleAll(t *testing.T, e *Engine, ds ...domain.BookDelta) {
	t.Helper()
	for i := range ds {
		if err := e.Handle(&ds[i]); err != nil {
			t.Fatalf("Handle seq %d: %v", ds[i].Seq, err)
		}
	}
}

// requireBook checks that sym's live book is exactly the venue's.
func requireBook(t *testing.T, e *Engine, sim *simVenue) {
	t.Helper()
	if err := e.WaitLive(testCtx(t), sim.sym); err != nil {
		t.Fatal(err)
	}
	v, _ := e.Book(sim.sym)
	got, err := v.Clone()
	if err != nil {
		t.Fatal(err)
	}
	sim.mu.Lock()
	defer sim.mu.Unlock()
	if !got.Equal(sim.book) || got.Seq() != sim.id {
		t.Fatalf("book at seq %d differs from the venue's at %d\n got %v\nwant %v", got.Seq(), sim.id, got.Snapshot(), sim.book.Snapshot())
	}
}

// TestResyncDiscardsSnapshotInFlight is the reconnect race: a snapshot
// requested before the connection broke comes back after Resync was
// called. Bridged to the old connection's diffs it would make the book
// live with no stream behind it; the engine must discard it (and the old
// diffs), cancel that request and fetch again for the new connection.
func TestResyncDiscardsSnapshotInFlight(t *testing.T) {
	for _, honour := range []bool{false, true} {
		t.Run(fmt.Sprintf("fetch_honours_ctx=%v", honour), func(t *testing.T) {
			sim := newSimVenue(btcusdt, 21)
			e, src := newScriptedEngine(t, Config{Venue: "binance", Continuity: BinanceContinuity{}}, honour)
			log := newEventLog(t, e)
			if err := e.Add(sim.sym); err != nil {
				t.Fatal(err)
			}
			f1 := log.nextFetch(t, src, "before any snapshot")
			handleAll(t, e, sim.step(nil))
			stale, _ := sim.snapshot(context.Background(), sim.sym) // the venue answered f1 here
			handleAll(t, e, sim.step(nil), sim.step(nil))
			// The connection breaks: these diffs never arrive.
			sim.step(nil)
			sim.step(nil)
			if err := e.Resync(sim.sym, errConnLost); err != nil {
				t.Fatal(err)
			}
			if st, _ := e.Stats(sim.sym); st.Buffered != 0 || st.State != Syncing {
				t.Fatalf("after Resync: %d diffs of the lost connection still buffered, state %v", st.Buffered, st.State)
			}
			f1.answer(stale)
			f2 := log.nextFetch(t, src, "from the snapshot requested before Resync")
			if f1.ctx.Err() == nil {
				t.Error("the superseded fetch's context was not cancelled")
			}
			if f2.ctx.Err() != nil {
				t.Fatal("the new fetch starts cancelled")
			}
			if st := e.State(sim.sym); st != Syncing {
				t.Fatalf("state %v while the new snapshot is on its way", st)
			}
			// The new connection delivers; the new snapshot lands between
			// its diffs.
			handleAll(t, e, sim.step(nil))
			fresh, _ := sim.snapshot(context.Background(), sim.sym)
			handleAll(t, e, sim.step(nil), sim.step(nil))
			f2.answer(fresh)
			log.until(t, func(ev Event) bool { return ev.To == Live }, "")
			requireBook(t, e, sim)
			st, _ := e.Stats(sim.sym)
			if st.Superseded != 1 || st.SnapshotErrors != 0 || st.Snapshots != 1 || src.n.Load() != 2 {
				t.Fatalf("stats %+v after %d fetches", st, src.n.Load())
			}
			if log.count(ReasonSuperseded) != 1 || log.count(ReasonSnapshotFailed) != 0 {
				t.Fatalf("events %+v", log.all)
			}
		})
	}
}

// TestResyncFetchWaitsForTheNewStream: with SnapshotWait, the fetch that
// replaces a superseded one waits for a diff of the new stream; a diff
// buffered before Resync does not count.
func TestResyncFetchWaitsForTheNewStream(t *testing.T) {
	sim := newSimVenue(btcusdt, 22)
	e, src := newScriptedEngine(t, Config{Continuity: BinanceContinuity{}, SnapshotWait: time.Hour}, false)
	log := newEventLog(t, e)
	_ = e.Add(sim.sym)
	handleAll(t, e, sim.step(nil))
	f1 := log.nextFetch(t, src, "")
	stale, _ := sim.snapshot(context.Background(), sim.sym)
	handleAll(t, e, sim.step(nil)) // signals "the stream delivers" while f1 is out
	sim.step(nil)                  // lost
	_ = e.Resync(sim.sym, errConnLost)
	f1.answer(stale)
	log.until(t, func(ev Event) bool { return ev.Reason == ReasonSuperseded }, "from a superseded snapshot")
	handleAll(t, e, sim.step(nil)) // the new connection's first diff
	f2 := log.nextFetch(t, src, "")
	if f2.buffered == 0 {
		t.Fatal("the new snapshot was requested before the new stream delivered a diff")
	}
	fresh, _ := sim.snapshot(context.Background(), sim.sym)
	handleAll(t, e, sim.step(nil))
	f2.answer(fresh)
	requireBook(t, e, sim)
}

// TestConcurrentResyncsCoalesce: many Resync calls while a snapshot is on
// its way cost one more fetch, never two at once, and the book goes live
// only from a fetch that started after the last of them.
func TestConcurrentResyncsCoalesce(t *testing.T) {
	for _, honour := range []bool{false, true} {
		t.Run(fmt.Sprintf("fetch_honours_ctx=%v", honour), func(t *testing.T) {
			sim := newSimVenue(btcusdt, 23)
			e, src := newScriptedEngine(t, Config{Continuity: BinanceContinuity{}}, honour)
			log := newEventLog(t, e)
			_ = e.Add(sim.sym)
			f := log.nextFetch(t, src, "")
			handleAll(t, e, sim.step(nil))
			stale, _ := sim.snapshot(context.Background(), sim.sym)
			sim.step(nil) // lost
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() { _ = e.Resync(sim.sym, errConnLost) })
			}
			wg.Wait()
			if st, _ := e.Stats(sim.sym); st.Resyncs != 8 || st.State != Syncing {
				t.Fatalf("stats %+v", st)
			}
			if f.ctx.Err() == nil {
				t.Fatal("the fetch in flight during the resyncs was not cancelled")
			}
			// Every fetch started so far is superseded: answer the ones the
			// test gets to see with the stale book.
			for f.ctx.Err() != nil {
				f.answer(stale)
				f = log.nextFetch(t, src, "from a superseded snapshot")
			}
			handleAll(t, e, sim.step(nil))
			fresh, _ := sim.snapshot(context.Background(), sim.sym)
			handleAll(t, e, sim.step(nil))
			f.answer(fresh)
			requireBook(t, e, sim)
			if m := src.maxInFlight.Load(); m != 1 {
				t.Fatalf("%d snapshot fetches in flight at once", m)
			}
			if n := src.n.Load(); !honour && n != 2 {
				t.Fatalf("%d fetches, want 2 (the superseded one and one for all the resyncs)", n)
			}
		})
	}
}

// TestStaleFetchCannotOverwriteNewerBook: a slow fetch that outlives a
// newer book (here made live by an in-band snapshot, then invalidated)
// must not bring back its older state.
func TestStaleFetchCannotOverwriteNewerBook(t *testing.T) {
	e, src := newScriptedEngine(t, Config{Continuity: CoinbaseContinuity{}}, false)
	log := newEventLog(t, e)
	_ = e.Add(btcusdt)
	f1 := log.nextFetch(t, src, "")
	old := domain.BookSnapshot{Symbol: btcusdt, Seq: 5, Bids: []domain.BookLevel{lv("99", "1")}, Asks: []domain.BookLevel{lv("101", "1")}}
	newer := domain.BookSnapshot{Symbol: btcusdt, Seq: 10, Bids: []domain.BookLevel{lv("100", "2")}, Asks: []domain.BookLevel{lv("102", "2")}}
	if err := e.HandleSnapshot(&newer); err != nil || e.State(btcusdt) != Live {
		t.Fatalf("in-band snapshot: %v, state %v", err, e.State(btcusdt))
	}
	log.until(t, func(ev Event) bool { return ev.To == Live }, "")
	_ = e.Resync(btcusdt, errConnLost)
	f1.answer(old)
	f2 := log.nextFetch(t, src, "from a snapshot older than the book it replaced")
	f2.answer(domain.BookSnapshot{Symbol: btcusdt, Seq: 12, Bids: []domain.BookLevel{lv("100", "3")}, Asks: []domain.BookLevel{lv("102", "3")}})
	if err := e.WaitLive(testCtx(t), btcusdt); err != nil {
		t.Fatal(err)
	}
	v, _ := e.Book(btcusdt)
	if seq, _ := v.Seq(); seq != 12 {
		t.Fatalf("live at seq %d, want 12", seq)
	}
}

// TestInBandResyncWaitsForNewSnapshot: in in-band mode a book invalidated
// by Resync stays unreadable, its deltas dropped, until a snapshot handled
// after the Resync; Resync calls during a resubscribe share it.
func TestInBandResyncWaitsForNewSnapshot(t *testing.T) {
	type call struct {
		ctx   context.Context
		reply chan error
	}
	calls := make(chan call)
	stop := make(chan struct{})
	var inFlight, maxInFlight, n atomic.Int32
	e := newTestEngine(t, Config{Continuity: CoinbaseContinuity{}, ResubscribeTimeout: time.Hour,
		Resubscribe: func(ctx context.Context, _ domain.Symbol) error {
			n.Add(1)
			if inFlight.Add(1) > 1 {
				maxInFlight.Store(2)
			}
			defer inFlight.Add(-1)
			c := call{ctx, make(chan error, 1)}
			select {
			case calls <- c:
			case <-stop:
				return errors.New("test over")
			}
			select {
			case err := <-c.reply:
				return err
			case <-stop:
				return errors.New("test over")
			}
		}})
	t.Cleanup(func() { close(stop) })
	snap := func(seq int64, amt string) *domain.BookSnapshot {
		return &domain.BookSnapshot{Symbol: btcusdt, Seq: seq, Bids: []domain.BookLevel{lv("100", amt)}, Asks: []domain.BookLevel{lv("101", amt)}}
	}
	_ = e.Add(btcusdt)
	_ = e.HandleSnapshot(snap(1, "1"))
	handleAll(t, e, domain.BookDelta{Symbol: btcusdt, Seq: 2, Bids: []domain.BookLevel{lv("99", "1")}})
	if e.State(btcusdt) != Live {
		t.Fatalf("state %v", e.State(btcusdt))
	}
	_ = e.Resync(btcusdt, errConnLost)
	var c call
	select {
	case c = <-calls:
	case <-testCtx(t).Done():
		t.Fatal("no resubscribe")
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { _ = e.Resync(btcusdt, errConnLost) })
	}
	wg.Wait()
	// The old connection's stream is gone; deltas of whatever stream are
	// dropped until a snapshot.
	handleAll(t, e, domain.BookDelta{Symbol: btcusdt, Seq: 3, Bids: []domain.BookLevel{lv("98", "1")}})
	v, _ := e.Book(btcusdt)
	if _, _, err := v.Top(); !errors.Is(err, ErrNotLive) {
		t.Fatalf("Top after Resync: %v", err)
	}
	c.reply <- nil
	_ = e.HandleSnapshot(snap(7, "2"))
	handleAll(t, e, domain.BookDelta{Symbol: btcusdt, Seq: 8, Asks: []domain.BookLevel{lv("102", "1")}})
	bids, asks, err := v.TopN(-1)
	if err != nil {
		t.Fatal(err)
	}
	if len(bids) != 1 || bids[0] != lv("100", "2") || len(asks) != 2 || asks[0] != lv("101", "2") {
		t.Fatalf("book %v / %v", bids, asks)
	}
	st, _ := e.Stats(btcusdt)
	if st.Dropped != 1 || st.State != Live || st.Seq != 8 || n.Load() != 1 || maxInFlight.Load() > 1 {
		t.Fatalf("stats %+v after %d resubscribes", st, n.Load())
	}
}

// TestResyncJustAfterFetchReturned: the narrowest window of the reconnect
// race. The snapshot request has completed (an adapter's own "did the
// connection drop meanwhile?" check passed) when the connection drops and
// Resync runs, before the engine has taken the snapshot in.
func TestResyncJustAfterFetchReturned(t *testing.T) {
	sim := newSimVenue(btcusdt, 24)
	var e *Engine
	var calls atomic.Int32
	resynced := make(chan struct{})
	e = newTestEngine(t, Config{Continuity: BinanceContinuity{}, Snapshot: func(ctx context.Context, s domain.Symbol) (domain.BookSnapshot, error) {
		snap, err := sim.snapshot(ctx, s)
		if calls.Add(1) == 1 {
			sim.step(nil) // lost with the connection
			if err := e.Resync(s, errConnLost); err != nil {
				t.Error(err)
			}
			close(resynced)
		}
		return snap, err
	}})
	log := newEventLog(t, e)
	_ = e.Add(sim.sym)
	<-resynced
	log.until(t, func(ev Event) bool { return ev.Reason == ReasonSuperseded }, "from a snapshot fetched before the Resync")
	handleAll(t, e, sim.step(nil), sim.step(nil))
	requireBook(t, e, sim)
	if n := calls.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
}

// TestSnapshotOfAnotherSymbolRefused: a snapshot naming another symbol
// never makes a book live.
func TestSnapshotOfAnotherSymbolRefused(t *testing.T) {
	eth := domain.NewSymbol("ETH", "USDT")
	var calls atomic.Int32
	e := newTestEngine(t, Config{Continuity: CoinbaseContinuity{}, Snapshot: func(ctx context.Context, s domain.Symbol) (domain.BookSnapshot, error) {
		snap := domain.BookSnapshot{Symbol: s, Seq: 3, Bids: []domain.BookLevel{lv("100", "1")}}
		if calls.Add(1) == 1 {
			snap.Symbol = eth
		}
		return snap, nil
	}})
	log := newEventLog(t, e)
	_ = e.Add(btcusdt)
	ev := log.until(t, func(ev Event) bool { return ev.Reason == ReasonInvalid }, "from another symbol's snapshot")
	if ev.Err == nil || ev.To != Syncing {
		t.Fatalf("event %+v", ev)
	}
	if err := e.WaitLive(testCtx(t), btcusdt); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.Stats(btcusdt); st.SnapshotErrors != 1 || st.Snapshots != 1 || calls.Load() != 2 {
		t.Fatalf("stats %+v after %d fetches", st, calls.Load())
	}
}
