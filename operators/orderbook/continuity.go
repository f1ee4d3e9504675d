package orderbook

import (
	"fmt"

	"github.com/pype-go/pype/domain"
)

// Verdict is a [ContinuityRule]'s decision about one delta.
type Verdict uint8

// Verdicts.
const (
	// Apply: the delta continues the sequence.
	Apply Verdict = iota + 1
	// Skip: the delta is stale or a duplicate (already covered by the
	// snapshot or an earlier delta); ignore it.
	Skip
	// Gap: at least one delta is missing; the book must be resynced.
	Gap
	// Reset: the delta is a full snapshot that replaces the book.
	Reset
)

// String returns the verdict's name.
func (v Verdict) String() string {
	switch v {
	case Apply:
		return "apply"
	case Skip:
		return "skip"
	case Gap:
		return "gap"
	case Reset:
		return "reset"
	}
	return fmt.Sprintf("Verdict(%d)", uint8(v))
}

// Position is where a book stands in its venue's update sequence.
type Position struct {
	// Seq is the sequence of the last snapshot or applied delta (the
	// snapshot's lastUpdateId, then each applied delta's Seq).
	Seq int64
	// Bridged is false right after a snapshot and true once a delta has
	// been applied on top of it (rules that treat the first delta after a
	// snapshot specially, like Binance, read it).
	Bridged bool
}

// ContinuityRule decides whether a delta continues a book's sequence. It
// reads the delta's FirstSeq, Seq and PrevSeq as the venue defines them
// (see [domain.BookDelta]). Rules are stateless values, safe for concurrent
// use; the engine keeps the [Position].
type ContinuityRule interface {
	// Name identifies the rule in errors and logs.
	Name() string
	// Check returns the verdict for d given the book's position.
	Check(pos Position, d *domain.BookDelta) Verdict
}

// GapError describes a sequence gap found by a [ContinuityRule].
type GapError struct {
	Rule     string
	Have     Position // where the book stood
	FirstSeq int64    // the delta's FirstSeq, Seq and PrevSeq
	Seq      int64
	PrevSeq  int64
}

func (e *GapError) Error() string {
	return fmt.Sprintf("orderbook: %s sequence gap: book at %d (bridged %v), delta first=%d seq=%d prev=%d",
		e.Rule, e.Have.Seq, e.Have.Bridged, e.FirstSeq, e.Seq, e.PrevSeq)
}

// BinanceContinuity is Binance spot's diff-depth rule (U = FirstSeq, u =
// Seq): drop deltas with u ≤ the book's id; the first delta applied after a
// snapshot must satisfy U ≤ lastUpdateId+1 ≤ u; every later delta must have
// U == previous u + 1.
type BinanceContinuity struct{}

// Name returns "binance".
func (BinanceContinuity) Name() string { return "binance" }

// Check implements [ContinuityRule].
func (BinanceContinuity) Check(pos Position, d *domain.BookDelta) Verdict {
	switch {
	case d.Seq <= pos.Seq:
		return Skip
	case !pos.Bridged && d.FirstSeq <= pos.Seq+1:
		return Apply
	case pos.Bridged && d.FirstSeq == pos.Seq+1:
		return Apply
	}
	return Gap
}

// BinanceFuturesContinuity is Binance USDⓈ-M/COIN-M futures' rule (U =
// FirstSeq, u = Seq, pu = PrevSeq): drop deltas with u < the snapshot's
// lastUpdateId; the first delta applied must satisfy U ≤ lastUpdateId ≤ u;
// every later delta must have pu == previous u.
type BinanceFuturesContinuity struct{}

// Name returns "binance-futures".
func (BinanceFuturesContinuity) Name() string { return "binance-futures" }

// Check implements [ContinuityRule].
func (BinanceFuturesContinuity) Check(pos Position, d *domain.BookDelta) Verdict {
	if !pos.Bridged {
		switch {
		case d.Seq < pos.Seq:
			return Skip
		case d.FirstSeq <= pos.Seq:
			return Apply
		}
		return Gap
	}
	switch {
	case d.PrevSeq == pos.Seq:
		return Apply
	case d.Seq <= pos.Seq:
		return Skip
	}
	return Gap
}

// BybitContinuity is Bybit v5's rule (u = Seq): an update id of 1 is a
// fresh snapshot after a service restart (Reset); ids at or below the
// book's are stale; otherwise the id must be the book's + 1.
type BybitContinuity struct{}

// Name returns "bybit".
func (BybitContinuity) Name() string { return "bybit" }

// Check implements [ContinuityRule].
func (BybitContinuity) Check(pos Position, d *domain.BookDelta) Verdict {
	switch {
	case d.Seq == 1 || d.Reset:
		return Reset
	case d.Seq <= pos.Seq:
		return Skip
	case d.Seq == pos.Seq+1:
		return Apply
	}
	return Gap
}

// OKXContinuity is OKX's books rule (seqId = Seq, prevSeqId = PrevSeq): a
// delta applies when its prevSeqId equals the book's seqId. This covers
// no-change messages (seqId == prevSeqId, empty levels) and sequence
// resets after maintenance (seqId < prevSeqId), since the next message
// chains from whatever seqId was last seen. A delta entirely at or behind
// the book is a duplicate; anything else is a gap.
type OKXContinuity struct{}

// Name returns "okx".
func (OKXContinuity) Name() string { return "okx" }

// Check implements [ContinuityRule].
func (OKXContinuity) Check(pos Position, d *domain.BookDelta) Verdict {
	switch {
	case d.Reset:
		return Reset
	case d.PrevSeq == pos.Seq:
		return Apply
	case d.Seq <= pos.Seq && d.PrevSeq < pos.Seq:
		return Skip
	}
	return Gap
}

// CoinbaseContinuity is Coinbase's rule (sequence = Seq): sequences at or
// below the book's are stale; the next must be exactly the book's + 1.
type CoinbaseContinuity struct{}

// Name returns "coinbase".
func (CoinbaseContinuity) Name() string { return "coinbase" }

// Check implements [ContinuityRule].
func (CoinbaseContinuity) Check(pos Position, d *domain.BookDelta) Verdict {
	switch {
	case d.Seq <= pos.Seq:
		return Skip
	case d.Seq == pos.Seq+1:
		return Apply
	}
	return Gap
}

// NoContinuity applies every delta (venues without sequence numbers, such
// as Kraken or BitMEX, where a checksum or the connection is the only
// guard).
type NoContinuity struct{}

// Name returns "none".
func (NoContinuity) Name() string { return "none" }

// Check implements [ContinuityRule].
func (NoContinuity) Check(_ Position, d *domain.BookDelta) Verdict {
	if d.Reset {
		return Reset
	}
	return Apply
}
