package orderbook

import (
	"testing"

	"github.com/pype-go/pype/domain"
)

func TestContinuityRules(t *testing.T) {
	fresh := func(seq int64) Position { return Position{Seq: seq} }
	bridged := func(seq int64) Position { return Position{Seq: seq, Bridged: true} }
	type tc struct {
		name string
		pos  Position
		d    domain.BookDelta
		want Verdict
	}
	rules := []struct {
		rule  ContinuityRule
		cases []tc
	}{
		{BinanceContinuity{}, []tc{
			{"stale after snapshot", fresh(100), domain.BookDelta{FirstSeq: 95, Seq: 100}, Skip},
			{"first straddles", fresh(100), domain.BookDelta{FirstSeq: 95, Seq: 105}, Apply},
			{"first starts right after", fresh(100), domain.BookDelta{FirstSeq: 101, Seq: 105}, Apply},
			{"first too new", fresh(100), domain.BookDelta{FirstSeq: 102, Seq: 105}, Gap},
			{"next contiguous", bridged(105), domain.BookDelta{FirstSeq: 106, Seq: 110}, Apply},
			{"next gap", bridged(105), domain.BookDelta{FirstSeq: 107, Seq: 110}, Gap},
			{"next overlaps", bridged(105), domain.BookDelta{FirstSeq: 104, Seq: 110}, Gap},
			{"duplicate", bridged(105), domain.BookDelta{FirstSeq: 101, Seq: 105}, Skip},
			{"old", bridged(105), domain.BookDelta{FirstSeq: 90, Seq: 95}, Skip},
		}},
		{BinanceFuturesContinuity{}, []tc{
			{"older than snapshot", fresh(100), domain.BookDelta{FirstSeq: 90, Seq: 99}, Skip},
			{"first covers id", fresh(100), domain.BookDelta{FirstSeq: 95, Seq: 100}, Apply},
			{"first too new", fresh(100), domain.BookDelta{FirstSeq: 101, Seq: 105}, Gap},
			{"chained by pu", bridged(105), domain.BookDelta{FirstSeq: 107, Seq: 110, PrevSeq: 105}, Apply},
			{"pu mismatch", bridged(105), domain.BookDelta{FirstSeq: 107, Seq: 110, PrevSeq: 104}, Gap},
			{"duplicate", bridged(105), domain.BookDelta{FirstSeq: 101, Seq: 105, PrevSeq: 100}, Skip},
		}},
		{BybitContinuity{}, []tc{
			{"next", bridged(7), domain.BookDelta{Seq: 8}, Apply},
			{"after snapshot", fresh(7), domain.BookDelta{Seq: 8}, Apply},
			{"duplicate", bridged(7), domain.BookDelta{Seq: 7}, Skip},
			{"gap", bridged(7), domain.BookDelta{Seq: 9}, Gap},
			{"service restart u=1", bridged(7), domain.BookDelta{Seq: 1}, Reset},
			{"snapshot message", bridged(7), domain.BookDelta{Seq: 50, Reset: true}, Reset},
		}},
		{OKXContinuity{}, []tc{
			{"chained", bridged(10), domain.BookDelta{PrevSeq: 10, Seq: 15}, Apply},
			{"no change heartbeat", bridged(15), domain.BookDelta{PrevSeq: 15, Seq: 15}, Apply},
			{"sequence reset lower", bridged(15), domain.BookDelta{PrevSeq: 15, Seq: 3}, Apply},
			{"after reset", bridged(3), domain.BookDelta{PrevSeq: 3, Seq: 4}, Apply},
			{"duplicate", bridged(15), domain.BookDelta{PrevSeq: 10, Seq: 15}, Skip},
			{"gap", bridged(15), domain.BookDelta{PrevSeq: 16, Seq: 20}, Gap},
			{"snapshot", bridged(15), domain.BookDelta{PrevSeq: -1, Seq: 30, Reset: true}, Reset},
		}},
		{CoinbaseContinuity{}, []tc{
			{"next", bridged(41), domain.BookDelta{Seq: 42}, Apply},
			{"old", bridged(41), domain.BookDelta{Seq: 40}, Skip},
			{"duplicate", bridged(41), domain.BookDelta{Seq: 41}, Skip},
			{"gap", bridged(41), domain.BookDelta{Seq: 43}, Gap},
		}},
		{NoContinuity{}, []tc{
			{"anything", bridged(41), domain.BookDelta{Seq: 3}, Apply},
			{"reset", bridged(41), domain.BookDelta{Reset: true}, Reset},
		}},
	}
	for _, r := range rules {
		for _, c := range r.cases {
			t.Run(r.rule.Name()+"/"+c.name, func(t *testing.T) {
				if got := r.rule.Check(c.pos, &c.d); got != c.want {
					t.Fatalf("Check(%+v, first=%d seq=%d prev=%d) = %v, want %v", c.pos, c.d.FirstSeq, c.d.Seq, c.d.PrevSeq, got, c.want)
				}
			})
		}
	}
}
