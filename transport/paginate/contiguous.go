package paginate

import (
	"fmt"
	"iter"
	"strconv"

	"github.com/pype-go/pype/domain"
)

// ContinuityKind classifies a break in a run of trade ids.
type ContinuityKind int8

// Kinds of continuity breaks.
const (
	IDHole      ContinuityKind = iota + 1 // ids were skipped: trades are missing
	IDDuplicate                           // the same id again
	IDBackwards                           // an id lower than one already seen
)

func (k ContinuityKind) String() string {
	switch k {
	case IDHole:
		return "hole"
	case IDDuplicate:
		return "duplicate"
	case IDBackwards:
		return "backwards"
	}
	return "unknown"
}

// ContinuityError is a break in a run of contiguous numeric trade ids. It
// doubles as the gap record: a hole's missing ids are Prev+1 … ID-1, between
// the times PrevTime and Time, and can be refetched by id.
type ContinuityError struct {
	Kind     ContinuityKind
	Prev, ID int64 // the last id accepted and the offending one
	PrevTime int64 // ns
	Time     int64 // ns
}

// Missing returns the number of trades a hole lost (0 for other kinds).
func (e *ContinuityError) Missing() int64 {
	if e.Kind != IDHole {
		return 0
	}
	return e.ID - e.Prev - 1
}

func (e *ContinuityError) Error() string {
	switch e.Kind {
	case IDHole:
		return fmt.Sprintf("paginate: trade ids jump from %d to %d: %d trades missing (ids %d…%d, between %s and %s)",
			e.Prev, e.ID, e.Missing(), e.Prev+1, e.ID-1, domain.FormatNs(e.PrevTime), domain.FormatNs(e.Time))
	case IDDuplicate:
		return fmt.Sprintf("paginate: trade id %d repeated (at %s)", e.ID, domain.FormatNs(e.Time))
	default:
		return fmt.Sprintf("paginate: trade id %d (at %s) after id %d: ids must increase", e.ID, domain.FormatNs(e.Time), e.Prev)
	}
}

// IDChecker checks that numeric trade ids increase by exactly one. The zero
// value accepts any first id; [IDChecker.Resume] continues from a known one.
type IDChecker struct {
	last, lastTime int64
	started        bool
}

// Resume makes the checker expect id last+1 next (e.g. after the last trade
// already stored).
func (c *IDChecker) Resume(last, lastTime int64) {
	c.last, c.lastTime, c.started = last, lastTime, true
}

// Check accepts the next trade. It returns nil, a [*ContinuityError], or an
// error for an id that is not a base-10 integer. A hole still advances the
// checker to the trade; a duplicate or backwards id does not.
func (c *IDChecker) Check(t domain.Trade) error {
	id, err := strconv.ParseInt(t.ID, 10, 64)
	if err != nil {
		return fmt.Errorf("paginate: trade id %q is not a base-10 integer; id continuity needs numeric ids: %w", t.ID, err)
	}
	if !c.started {
		c.Resume(id, t.Time)
		return nil
	}
	e := &ContinuityError{Prev: c.last, ID: id, PrevTime: c.lastTime, Time: t.Time}
	switch {
	case id == c.last+1:
		c.last, c.lastTime = id, t.Time
		return nil
	case id == c.last:
		e.Kind = IDDuplicate
		return e
	case id < c.last:
		e.Kind = IDBackwards
		return e
	}
	e.Kind = IDHole
	c.last, c.lastTime = id, t.Time
	return e
}

// CheckContiguous passes the trades of seq through an [IDChecker]. With a
// nil report, the first break is yielded as a [*ContinuityError] and ends
// the iteration. Otherwise every break is passed to report and the
// iteration goes on; duplicate and backwards trades are then dropped, so the
// output has strictly increasing ids and report holds the gap records.
func CheckContiguous(seq iter.Seq2[domain.Trade, error], report func(*ContinuityError)) iter.Seq2[domain.Trade, error] {
	return func(yield func(domain.Trade, error) bool) {
		var c IDChecker
		for t, err := range seq {
			if err != nil {
				yield(t, err)
				return
			}
			if err := c.Check(t); err != nil {
				ce, ok := err.(*ContinuityError)
				if !ok || report == nil {
					yield(domain.Trade{}, err)
					return
				}
				report(ce)
				if ce.Kind != IDHole {
					continue
				}
			}
			if !yield(t, nil) {
				return
			}
		}
	}
}
