package bitmex

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators"
	"github.com/pype-go/pype/operators/orderbook"
	"github.com/pype-go/pype/transport/ws"
	"github.com/pype-go/pype/venues"
)

// replay feeds recorded frames through a book stream's handler with a
// recording resubscribe hook (no connection).
type replay struct {
	h      *bookStream
	mu     sync.Mutex
	resubs []domain.Symbol
	events []venues.BookEvent
	// now is the handler's clock; feed advances it by step per frame and,
	// with flushEach, offers the held change to flushIdle after every
	// frame as if the connection then went quiet for longer than maxHold.
	now       time.Time
	step      time.Duration
	flushEach bool
}

func newReplay(t testing.TB, table string, syms map[string]domain.Symbol) *replay {
	t.Helper()
	a := &Adapter{log: discard(), offset: operators.NewClockOffset(nil)}
	r := &replay{}
	limit := 0
	if table == "orderBookL2_25" {
		limit = BookTopicDepth
	}
	r.now, r.step = time.Unix(1_700_000_000, 0), time.Millisecond
	h := &bookStream{a: a, topicTable: table, limit: limit, bySym: map[string]*streamSym{}, byCanon: map[domain.Symbol]*streamSym{}, depth: 1000,
		quiet: DefaultBookQuiet, maxHold: DefaultBookMaxHold, now: func() time.Time { return r.now }}
	for vs, sym := range syms {
		ss := &streamSym{sym: sym, vs: vs, topic: table + ":" + vs}
		h.bySym[vs], h.byCanon[sym] = ss, ss
		h.order = append(h.order, ss)
	}
	var err error
	h.eng, err = orderbook.NewEngine(orderbook.Config{Venue: Name, Continuity: orderbook.NoContinuity{}, Logger: discard(),
		Resubscribe: func(_ context.Context, sym domain.Symbol) error {
			r.mu.Lock()
			r.resubs = append(r.resubs, sym)
			r.mu.Unlock()
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.eng.Close() })
	h.emit = func(e venues.BookEvent) bool { r.events = append(r.events, e); return true }
	for _, ss := range h.order {
		if err := h.eng.Add(ss.sym); err != nil {
			t.Fatal(err)
		}
	}
	r.h = h
	return r
}

func (r *replay) feed(t *testing.T, lines [][]byte) {
	t.Helper()
	var f wsFrame
	for i, line := range lines {
		if err := parseFrame(line, &f); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		r.now = r.now.Add(r.step)
		if f.Kind == frameTable {
			r.h.table(ws.Frame{Data: line, Received: int64(i + 1)}, &f)
		}
		if r.flushEach {
			r.h.flushIdle(r.now.Add(r.h.maxHold), 0)
		}
	}
}

// TestRecordedL2ReplayMapsIDsToPrices replays the recorded 2021 sessions,
// whose update and delete rows carry no price. In that feed an id encoded
// its price (id + price/10⁻⁵ is constant per instrument); the adapter does
// not rely on it, but the test uses it to prove every level the adapter
// mapped by id sits at the right price, and that the book never crossed.
func TestRecordedL2ReplayMapsIDsToPrices(t *testing.T) {
	for _, c := range []struct {
		file, vs string
		sym      domain.Symbol
	}{
		{"ws_orderBookL2_ADAUSDT_partial_updates_cryptofeed_2021-07-22.jsonl", "ADAUSDT", domain.MustParseSymbol("ADA/USDT:perp")},
		{"ws_orderBookL2_SOLUSDT_partial_updates_cryptofeed_2021-07-22.jsonl", "SOLUSDT", domain.MustParseSymbol("SOL/USDT:perp")},
	} {
		t.Run(c.vs, func(t *testing.T) {
			lines := readLines(t, c.file)
			r := newReplay(t, "orderBookL2", map[string]domain.Symbol{c.vs: c.sym})
			r.flushEach = true // the 2021 rows carry no timestamp: every message is looked at
			r.feed(t, lines)
			ss := r.h.bySym[c.vs]
			if len(r.resubs) != 0 || r.h.inconsistent != 0 || ss.book == nil {
				t.Fatalf("resubscriptions %v, inconsistent %d", r.resubs, r.h.inconsistent)
			}
			live := 0
			for _, e := range r.events {
				if !e.Live {
					t.Fatalf("book went stale: %+v", e)
				}
				live++
				if len(e.Book.Bids) > 0 && len(e.Book.Asks) > 0 && e.Book.Bids[0].Price.Cmp(e.Book.Asks[0].Price) >= 0 {
					t.Fatalf("crossed book %s ≥ %s", e.Book.Bids[0].Price, e.Book.Asks[0].Price)
				}
			}
			if live != int(r.h.applied) || live < 100 {
				t.Fatalf("%d live events for %d messages", live, r.h.applied)
			}
			// The engine's book and the id map hold the same levels, and
			// every id still follows the partial's id/price rule.
			var pRows []l2Row
			var f wsFrame
			for _, line := range lines {
				if parseFrame(line, &f) == nil && string(f.Action) == actPartial {
					pRows, _ = parseL2Rows(f.Data, nil)
				}
			}
			scale := idScale(t, pRows)
			k := pRows[0].ID + units(pRows[0].Price, scale)
			for id, l := range ss.book.levels {
				if id+units(l.price, scale) != k {
					t.Fatalf("level %d at %s breaks the id rule (k %d, 10^-%d)", id, l.price, k, scale)
				}
			}
			last := r.events[len(r.events)-1].Book
			if len(last.Bids)+len(last.Asks) != len(ss.book.levels) {
				t.Fatalf("engine %d+%d levels, id map %d", len(last.Bids), len(last.Asks), len(ss.book.levels))
			}
		})
	}
}

// idScale finds the decimal step of the legacy id rule from the partial:
// the s for which id + price·10^s is the same for every level.
func idScale(t *testing.T, rows []l2Row) int {
	t.Helper()
	for s := 0; s <= 8; s++ {
		k, ok := rows[0].ID+units(rows[0].Price, s), true
		for _, r := range rows {
			ok = ok && r.ID+units(r.Price, s) == k
		}
		if ok {
			return s
		}
	}
	t.Fatal("no id rule fits the partial")
	return 0
}

// units is price·10^s as an integer (-1 if it is not one).
func units(p decimal.Decimal, s int) int64 {
	pow := int64(1)
	for range s {
		pow *= 10
	}
	u, err := p.Mul(decimal.MustNew(pow, 0))
	if err != nil || !u.IsInt() {
		return -1
	}
	n, _, _ := u.Int64(0)
	return n
}

// TestLostMessageIsDetected drops one recorded message: the book must not
// silently drift — a later update or delete of the lost level, or an
// insert clashing with it, resubscribes the topic, and the next partial
// makes the book live again.
func TestLostMessageIsDetected(t *testing.T) {
	lines := readLines(t, "ws_orderBookL2_ADAUSDT_partial_updates_cryptofeed_2021-07-22.jsonl")
	sym := domain.MustParseSymbol("ADA/USDT:perp")
	// Drop the first insert whose level id is updated or deleted later.
	var f wsFrame
	drop := -1
	for i, line := range lines {
		if parseFrame(line, &f) != nil || string(f.Action) != actInsert {
			continue
		}
		rows, _ := parseL2Rows(f.Data, nil)
		for _, later := range lines[i+1:] {
			if strings.Contains(string(later), `"id":`+itoa(rows[0].ID)+",") && !strings.Contains(string(later), `"insert"`) {
				drop = i
				break
			}
		}
		if drop >= 0 {
			break
		}
	}
	if drop < 0 {
		t.Fatal("no insert with a later reference")
	}
	r := newReplay(t, "orderBookL2", map[string]domain.Symbol{"ADAUSDT": sym})
	r.feed(t, append(append([][]byte{}, lines[:drop]...), lines[drop+1:]...))
	if r.h.inconsistent == 0 {
		t.Fatal("lost insert not detected")
	}
	if st := r.h.eng.State(sym); st == orderbook.Live {
		t.Fatalf("state %v after an inconsistency without a new partial", st)
	}
	r.mu.Lock()
	n := len(r.resubs)
	r.mu.Unlock()
	_ = n // the engine resubscribes from its own goroutine (asynchronously)
	// A fresh partial heals it.
	var partial []byte
	for _, line := range lines {
		if strings.Contains(string(line), `"action":"partial"`) {
			partial = line
		}
	}
	r.feed(t, [][]byte{partial})
	if st := r.h.eng.State(sym); st != orderbook.Live {
		t.Fatalf("state %v after a new partial", st)
	}
}

func itoa(n int64) string { return decimal.MustNew(n, 0).String() }

func TestIDBook(t *testing.T) {
	p := func(s string) decimal.Decimal { return decimal.MustParse(s) }
	row := func(id int64, side domain.Side, size, price string) l2Row {
		r := l2Row{ID: id, Side: side}
		if size != "" {
			r.Size, r.HasSize = p(size), true
		}
		if price != "" {
			r.Price, r.HasPrice = p(price), true
		}
		return r
	}
	newBook := func(t *testing.T, limit int) *idBook {
		b := newIDBook(limit)
		var d domain.BookDelta
		if err := b.load([]l2Row{row(1, domain.Sell, "10", "101"), row(2, domain.Sell, "5", "100.5"), row(3, domain.Buy, "7", "100"), row(4, domain.Buy, "9", "99.5")}, &d); err != nil {
			t.Fatal(err)
		}
		if !d.Reset || len(d.Bids) != 2 || len(d.Asks) != 2 {
			t.Fatalf("load delta %+v", d)
		}
		return b
	}
	for _, c := range []struct {
		name   string
		limit  int
		action string
		rows   []l2Row
		bids   []domain.BookLevel
		asks   []domain.BookLevel
		err    bool
	}{
		{"update by id without price", 0, actUpdate, []l2Row{row(3, domain.Buy, "8", "")}, []domain.BookLevel{{Price: p("100"), Amount: p("8")}}, nil, false},
		{"delete by id", 0, actDelete, []l2Row{row(2, domain.Sell, "", "")}, nil, []domain.BookLevel{{Price: p("100.5"), Amount: decimal.Zero}}, false},
		{"insert", 0, actInsert, []l2Row{row(5, domain.Buy, "3", "99")}, []domain.BookLevel{{Price: p("99"), Amount: p("3")}}, nil, false},
		{"repeated insert is a no-op", 0, actInsert, []l2Row{row(3, domain.Buy, "7", "100")}, nil, nil, false},
		{"insert clashing with a level", 0, actInsert, []l2Row{row(3, domain.Buy, "1", "100")}, nil, nil, true},
		{"update of unknown id", 0, actUpdate, []l2Row{row(9, domain.Buy, "1", "")}, nil, nil, true},
		{"delete of unknown id", 0, actDelete, []l2Row{row(9, domain.Buy, "", "")}, nil, nil, true},
		{"price changed under an id", 0, actUpdate, []l2Row{row(3, domain.Buy, "1", "100.5")}, nil, nil, true},
		{"side changed under an id", 0, actUpdate, []l2Row{row(3, domain.Sell, "1", "")}, nil, nil, true},
		{"too many levels for orderBookL2_25", 2, actInsert, []l2Row{row(5, domain.Buy, "3", "99")}, nil, nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newBook(t, c.limit)
			var d domain.BookDelta
			err := b.apply(c.action, c.rows, &d)
			if c.err {
				if !errors.Is(err, ErrInconsistentBook) {
					t.Fatalf("err %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !sameLevels(d.Bids, c.bids) || !sameLevels(d.Asks, c.asks) {
				t.Fatalf("delta %+v", d)
			}
		})
	}
}

func sameLevels(a, b []domain.BookLevel) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Price.Cmp(b[i].Price) != 0 || a[i].Amount.Cmp(b[i].Amount) != 0 {
			return false
		}
	}
	return true
}

// TestChangeIsReportedOnlyWhenComplete feeds BitMEX's three messages of
// one change (delete, insert, update, same timestamp): no state between
// them may be yielded. The change is reported when the next message
// carries a later timestamp, or after a quiet period with nothing waiting.
func TestChangeIsReportedOnlyWhenComplete(t *testing.T) {
	sym := domain.MustParseSymbol("BTC/USD:perp")
	r := newReplay(t, "orderBookL2_25", map[string]domain.Symbol{"XBTUSD": sym})
	r.h.depth = 2
	lvl := func(id int, side string, size int, price string, ts string) string {
		return `{"symbol":"XBTUSD","id":` + itoa(int64(id)) + `,"side":"` + side + `","size":` + itoa(int64(size)) + `,"price":` + price + `,"timestamp":"2024-01-01T00:00:` + ts + `Z"}`
	}
	msg := func(action string, rows ...string) []byte {
		return []byte(`{"table":"orderBookL2_25","action":"` + action + `","data":[` + strings.Join(rows, ",") + `]}`)
	}
	r.feed(t, [][]byte{msg("partial",
		lvl(1, "Sell", 10, "101", "00.000"), lvl(2, "Sell", 20, "100.5", "00.000"),
		lvl(3, "Buy", 30, "100", "00.000"), lvl(4, "Buy", 40, "99.5", "00.000"))})
	if len(r.events) != 1 || !r.events[0].Live {
		t.Fatalf("after the partial: %+v", r.events)
	}
	// Step at 00.100: the best bid leaves, a new one comes in, an ask
	// size changes.
	r.feed(t, [][]byte{
		msg("delete", `{"symbol":"XBTUSD","id":3,"side":"Buy","price":100,"timestamp":"2024-01-01T00:00:00.100Z"}`),
		msg("insert", lvl(5, "Buy", 35, "100.25", "00.100")),
		msg("update", `{"symbol":"XBTUSD","id":2,"side":"Sell","size":25,"price":100.5,"timestamp":"2024-01-01T00:00:00.100Z"}`),
	})
	if len(r.events) != 1 {
		t.Fatalf("a state inside the change was yielded: %+v", r.events[1:])
	}
	// The quiet period has not passed, or frames wait: still held.
	r.h.flushIdle(r.now.Add(r.h.quiet/2), 0)
	r.h.flushIdle(r.now.Add(2*r.h.quiet), 3)
	if len(r.events) != 1 {
		t.Fatalf("held change yielded early: %+v", r.events[1:])
	}
	// The next step (00.200) begins with a delete: it proves the first
	// complete, which is reported before the delete is applied.
	r.feed(t, [][]byte{msg("delete", `{"symbol":"XBTUSD","id":1,"side":"Sell","price":101,"timestamp":"2024-01-01T00:00:00.200Z"}`)})
	p := func(s string) decimal.Decimal { return decimal.MustParse(s) }
	wantBids := []domain.BookLevel{{Price: p("100.25"), Amount: p("35")}, {Price: p("99.5"), Amount: p("40")}}
	wantAsks := []domain.BookLevel{{Price: p("100.5"), Amount: p("25")}, {Price: p("101"), Amount: p("10")}}
	if len(r.events) != 2 || !sameLevels(r.events[1].Book.Bids, wantBids) || !sameLevels(r.events[1].Book.Asks, wantAsks) {
		t.Fatalf("events %+v", r.events)
	}
	if got := r.events[1].Book.Time; got != time.Date(2024, 1, 1, 0, 0, 0, 100e6, time.UTC).UnixNano() {
		t.Fatalf("book time %s", domain.FormatNs(got))
	}
	// The 00.200 step's delete leaves an ask side of one level where two
	// were shown: quiet is not enough, the rest of the change may be in
	// flight.
	r.h.flushIdle(r.now.Add(2*r.h.quiet), 0)
	if len(r.events) != 2 {
		t.Fatalf("a short side was yielded on a quiet period: %+v", r.events[2:])
	}
	r.feed(t, [][]byte{msg("insert", lvl(6, "Sell", 60, "101.5", "00.200"))})
	if len(r.events) != 2 {
		t.Fatalf("events %+v", r.events[2:])
	}
	// Complete now, and quiet with nothing waiting: reported.
	r.h.flushIdle(r.now.Add(r.h.quiet), 0)
	wantAsks = []domain.BookLevel{{Price: p("100.5"), Amount: p("25")}, {Price: p("101.5"), Amount: p("60")}}
	if len(r.events) != 3 || !sameLevels(r.events[2].Book.Asks, wantAsks) || r.h.holding() {
		t.Fatalf("events %+v", r.events)
	}
	// A side that legitimately thinned is reported after maxHold.
	r.feed(t, [][]byte{msg("delete", `{"symbol":"XBTUSD","id":6,"side":"Sell","price":101.5,"timestamp":"2024-01-01T00:00:00.300Z"}`)})
	r.h.flushIdle(r.now.Add(r.h.quiet), 0)
	if len(r.events) != 3 {
		t.Fatalf("events %+v", r.events[3:])
	}
	r.h.flushIdle(r.now.Add(r.h.maxHold), 0)
	if len(r.events) != 4 || len(r.events[3].Book.Asks) != 1 || r.h.holding() {
		t.Fatalf("events %+v", r.events)
	}
}
