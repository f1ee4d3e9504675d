package paginate

import (
	"time"

	"github.com/pype-go/pype/domain"
)

// Progress describes how far a paginator has come. It is passed to the
// Progress callback of every paginator's options.
type Progress struct {
	Items    int64        // items yielded so far
	Done     int64        // windows (Forward, OHLC, TradeWindows) or pages (Backward, Trades) completed
	Total    int64        // windows in total; 0 when unknown (cursor walks)
	Requests int64        // fetcher calls so far, including refetches, splits and probes
	Range    domain.Range // the range paginated; zero when unknown (Backward)
	// Position is the time reached (ns): everything between Range.Start and
	// Position was yielded — or, when Descending, everything between Position
	// and Range.End. Meaningful only when Range is set.
	Position   int64
	Descending bool
}

// Fraction estimates the share of the work done, in [0, 1]: by windows when
// the total is known, else by the position within the range. ok is false
// when there is nothing to estimate from (Backward).
func (p Progress) Fraction() (f float64, ok bool) {
	switch {
	case p.Total > 0:
		f = float64(p.Done) / float64(p.Total)
	case p.Range.End > p.Range.Start && p.Position != 0:
		span := float64(p.Range.End - p.Range.Start)
		if p.Descending {
			f = float64(p.Range.End-p.Position) / span
		} else {
			f = float64(p.Position-p.Range.Start) / span
		}
	default:
		return 0, false
	}
	return min(max(f, 0), 1), true
}

// ETA estimates the time still needed, given the time spent so far. ok is
// false until some progress has been made.
func (p Progress) ETA(elapsed time.Duration) (eta time.Duration, ok bool) {
	f, ok := p.Fraction()
	if !ok || f <= 0 {
		return 0, false
	}
	return time.Duration(float64(elapsed) * (1 - f) / f), true
}

// Coverage reports one window answered completely by the venue: every row
// the venue has in Range was yielded. Completeness is tracked by these
// ranges, not inferred from rows — a venue has no bar where nothing traded
// or it was down, so Items < Expected is a venue gap, not a lost page.
type Coverage struct {
	Range    domain.Range // the window, clipped to the requested range
	Items    int          // items yielded for it
	Expected int64        // bar slots in Range (OHLC); 0 when not known
	Requests int          // fetcher calls the window took (1 + refetches)
}
