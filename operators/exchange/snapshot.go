package exchange

import (
	"fmt"
)

// TrackerStateVersion is the version of [TrackerState] this package writes.
const TrackerStateVersion = 1

// TrackerState is a JSON-serialisable snapshot of an [OrderTracker]: the
// active orders (including those whose terminal event waits for fills),
// the lost set and the finished cache, each with its fills' trade ids so
// that fills replayed after a restart are recognised as duplicates.
// Orphans are the buffered updates and fills that carry an exchange id no
// order was bound to yet.
type TrackerState struct {
	Version  int      `json:"version"`
	Active   []Order  `json:"active"`
	Lost     []Order  `json:"lost"`
	Finished []Order  `json:"finished"`
	Orphans  []Orphan `json:"orphans,omitempty"`
}

// Orphan is one buffered update or fill (exactly one of the two is set).
type Orphan struct {
	Update *OrderUpdate `json:"update,omitempty"`
	Fill   *Fill        `json:"fill,omitempty"`
}

// Snapshot returns the tracker's state. Orders are sorted oldest first;
// the finished cache keeps its eviction order.
func (t *OrderTracker) Snapshot() TrackerState {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := TrackerState{
		Version: TrackerStateVersion,
		Active:  sortedCopies(t.active, nil),
		Lost:    sortedCopies(t.lost, nil),
	}
	st.Finished = make([]Order, 0, len(t.finished))
	for _, id := range t.finOrder {
		if o := t.finished[id]; o != nil {
			st.Finished = append(st.Finished, o.clone())
		}
	}
	for _, id := range t.orphOrder {
		for _, it := range t.orphans[id] {
			st.Orphans = append(st.Orphans, Orphan{Update: it.update, Fill: it.fill})
		}
	}
	return st
}

// Restore loads a snapshot into an empty tracker, orphans included (they
// replay when an order gets their exchange id). It validates the whole
// snapshot first and changes nothing if it is invalid. No events are
// published: the events of restored orders were published before.
func (t *OrderTracker) Restore(st TrackerState) error {
	if st.Version != TrackerStateVersion {
		return fmt.Errorf("exchange: tracker state version %d (accepted: %d)", st.Version, TrackerStateVersion)
	}
	seen := map[string]bool{}
	exch := map[string]string{}
	check := func(set string, o Order) error {
		switch {
		case o.ClientOrderID == "":
			return fmt.Errorf("exchange: restore: %s order without client order id", set)
		case seen[o.ClientOrderID]:
			return fmt.Errorf("exchange: restore: client order id %q appears twice", o.ClientOrderID)
		case o.State >= numStates:
			return fmt.Errorf("exchange: restore: order %s has invalid state %d", o.ClientOrderID, o.State)
		case set == "finished" && !o.State.IsTerminal():
			return fmt.Errorf("exchange: restore: finished order %s is %v", o.ClientOrderID, o.State)
		case set == "lost" && !o.State.IsActive():
			return fmt.Errorf("exchange: restore: lost order %s is %v", o.ClientOrderID, o.State)
		}
		if o.ExchangeOrderID != "" {
			if other, dup := exch[o.ExchangeOrderID]; dup {
				return fmt.Errorf("exchange: restore: exchange order id %q belongs to %s and %s", o.ExchangeOrderID, other, o.ClientOrderID)
			}
			exch[o.ExchangeOrderID] = o.ClientOrderID
		}
		seen[o.ClientOrderID] = true
		return nil
	}
	for _, o := range st.Active {
		if err := check("active", o); err != nil {
			return err
		}
	}
	for _, o := range st.Lost {
		if err := check("lost", o); err != nil {
			return err
		}
	}
	for _, o := range st.Finished {
		if err := check("finished", o); err != nil {
			return err
		}
	}
	for i, it := range st.Orphans {
		switch {
		case (it.Update == nil) == (it.Fill == nil):
			return fmt.Errorf("exchange: restore: orphan %d must hold exactly one of update and fill", i)
		case it.Update != nil && it.Update.ExchangeOrderID == "",
			it.Fill != nil && it.Fill.ExchangeOrderID == "":
			return fmt.Errorf("exchange: restore: orphan %d has no exchange order id", i)
		}
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.active)+len(t.lost)+len(t.finished) > 0 {
		return fmt.Errorf("exchange: restore: tracker is not empty (%d active, %d lost, %d finished)", len(t.active), len(t.lost), len(t.finished))
	}
	load := func(o Order) *tracked {
		tr := &tracked{Order: o.clone(), trades: make(map[string]struct{}, len(o.TradeIDs))}
		for _, id := range o.TradeIDs {
			tr.trades[id] = struct{}{}
		}
		if o.ExchangeOrderID != "" {
			t.byExchange[o.ExchangeOrderID] = o.ClientOrderID
		}
		return tr
	}
	for _, o := range st.Active {
		tr := load(o)
		if tr.State.IsTerminal() && tr.TerminalEmitted {
			t.addFinished(tr)
			continue
		}
		t.active[o.ClientOrderID] = tr
	}
	for _, o := range st.Lost {
		t.lost[o.ClientOrderID] = load(o)
	}
	for _, o := range st.Finished {
		tr := load(o)
		tr.TerminalEmitted = true
		t.addFinished(tr)
	}
	for _, it := range st.Orphans {
		if it.Update != nil {
			u := *it.Update
			t.buffer(u.ExchangeOrderID, orphan{update: &u})
		} else {
			f := *it.Fill
			t.buffer(f.ExchangeOrderID, orphan{fill: &f})
		}
	}
	t.seq++
	return nil
}
