package store

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/govalues/decimal"
	"github.com/parquet-go/parquet-go"
	"github.com/pype-go/pype/domain"
)

// OHLCRow is the Parquet row of an OHLC dataset. Rows are sorted by
// open_time, which is unique. quote_volume and trades are 0 when the venue
// does not report them.
type OHLCRow struct {
	OpenTime    int64   `parquet:"open_time,timestamp(nanosecond:utc),delta"`
	Open        float64 `parquet:"open"`
	High        float64 `parquet:"high"`
	Low         float64 `parquet:"low"`
	Close       float64 `parquet:"close"`
	Volume      float64 `parquet:"volume"`
	QuoteVolume float64 `parquet:"quote_volume"`
	Trades      int64   `parquet:"trades"`
}

// TradeRow is the Parquet row of a trades dataset. Rows are sorted by
// (ts, id); id is NULL when the venue gives none, side is "buy" or "sell"
// (the taker side) or NULL when unknown, recv_ts is NULL for REST history.
type TradeRow struct {
	Ts     int64   `parquet:"ts,timestamp(nanosecond:utc),delta"`
	ID     string  `parquet:"id,optional,delta"`
	Price  float64 `parquet:"price"`
	Amount float64 `parquet:"amount"`
	Side   string  `parquet:"side,optional,dict"`
	RecvTs int64   `parquet:"recv_ts,optional,timestamp(nanosecond:utc),delta"`
}

// BookRow is one price level of an order-book snapshot. A snapshot is the
// set of rows sharing (ts, seq); side is "bid" or "ask"; level is the
// 0-based rank from the best price; seq is the venue's sequence (NULL if
// none). Rows are sorted by ts, seq, then asks (price ascending), then bids
// (price descending). Two states written with the same (ts, seq) are the
// same snapshot: the one written last replaces the earlier one entirely
// (never a union of their levels).
type BookRow struct {
	Ts     int64   `parquet:"ts,timestamp(nanosecond:utc),delta"`
	Side   string  `parquet:"side,dict"`
	Price  float64 `parquet:"price"`
	Amount float64 `parquet:"amount"`
	Level  int32   `parquet:"level"`
	Seq    int64   `parquet:"seq,optional"`
	RecvTs int64   `parquet:"recv_ts,optional,timestamp(nanosecond:utc),delta"`
}

// rowKind describes the rows of one data type.
type rowKind[R comparable] struct {
	typ    domain.DataType
	schema *parquet.Schema
	tsCol  string
	ts     func(*R) int64
	// cmp orders rows; 0 means the same key (the rows de-duplicate).
	cmp func(a, b *R) int
	// group, if set, compares the record a row belongs to (books: the
	// snapshot, (ts, seq)); it orders like a prefix of cmp. Records
	// de-duplicate as a whole: the newest source's rows of a record replace
	// every row of that record in older sources.
	group func(a, b *R) int
	// dedup, if set, replaces sortDedup for buffered rows (see dedupBooks).
	dedup func(rows []R) []R
}

// sortDedup sorts rows by key and de-duplicates them, the last written
// winning (in place).
func (k *rowKind[R]) sortDedup(rows []R) []R {
	if k.dedup != nil {
		return k.dedup(rows)
	}
	return sortDedup(rows, k.cmp)
}

var (
	ohlcKind = &rowKind[OHLCRow]{
		typ: domain.OHLC, schema: parquet.SchemaOf(OHLCRow{}), tsCol: "open_time",
		ts:  func(r *OHLCRow) int64 { return r.OpenTime },
		cmp: func(a, b *OHLCRow) int { return cmp.Compare(a.OpenTime, b.OpenTime) },
	}
	tradeKind = &rowKind[TradeRow]{
		typ: domain.Trades, schema: parquet.SchemaOf(TradeRow{}), tsCol: "ts",
		ts: func(r *TradeRow) int64 { return r.Ts }, cmp: cmpTrade,
	}
	bookKind = &rowKind[BookRow]{
		typ: domain.Book, schema: parquet.SchemaOf(BookRow{}), tsCol: "ts",
		ts: func(r *BookRow) int64 { return r.Ts }, cmp: cmpBook, group: cmpBookState, dedup: dedupBooks,
	}
)

// cmpTrade orders by time, then trade id (numeric ids numerically); two
// trades with the same time and id are the same trade. Trades without an id
// are keyed by the whole tuple (time, price, amount, side).
func cmpTrade(a, b *TradeRow) int {
	if a.Ts != b.Ts {
		return cmp.Compare(a.Ts, b.Ts)
	}
	if c := cmpID(a.ID, b.ID); c != 0 || a.ID != "" {
		return c
	}
	if c := cmp.Compare(a.Price, b.Price); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Amount, b.Amount); c != 0 {
		return c
	}
	return cmp.Compare(a.Side, b.Side)
}

// cmpID compares trade ids: all-digit ids by numeric value (shorter is
// smaller), others as strings; numeric ids sort before the others.
func cmpID(a, b string) int {
	if a == b {
		return 0
	}
	da, db := isDigits(a), isDigits(b)
	switch {
	case da && db:
		if len(a) != len(b) {
			return cmp.Compare(len(a), len(b))
		}
	case da:
		return -1
	case db:
		return 1
	}
	return cmp.Compare(a, b)
}

func isDigits(s string) bool {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// cmpBookState orders snapshots: by time, then sequence.
func cmpBookState(a, b *BookRow) int {
	if a.Ts != b.Ts {
		return cmp.Compare(a.Ts, b.Ts)
	}
	return cmp.Compare(a.Seq, b.Seq)
}

// cmpBook orders by snapshot (time, sequence), asks before bids, then from
// the best price out.
func cmpBook(a, b *BookRow) int {
	if c := cmpBookState(a, b); c != 0 {
		return c
	}
	if a.Side != b.Side {
		return cmp.Compare(a.Side, b.Side) // "ask" < "bid"
	}
	if a.Side == sideBid {
		return cmp.Compare(b.Price, a.Price)
	}
	return cmp.Compare(a.Price, b.Price)
}

const (
	sideBuy  = "buy"
	sideSell = "sell"
	sideBid  = "bid"
	sideAsk  = "ask"
)

// convStats counts values that do not survive the float64 round trip.
type convStats struct {
	inexact   int64
	firstBad  string // first inexact value, for the warning
	firstWhat string
}

func (c *convStats) float(what string, d decimal.Decimal, f float64, exact bool) float64 {
	if !exact {
		c.inexact++
		if c.firstBad == "" {
			c.firstBad, c.firstWhat = d.String(), what
		}
	}
	return f
}

func ohlcToRows(dst []OHLCRow, b *domain.OHLCBar, st *convStats) []OHLCRow {
	var r OHLCRow
	r.OpenTime = b.OpenTime
	f, ok := toFloat(b.Open)
	r.Open = st.float("open", b.Open, f, ok)
	f, ok = toFloat(b.High)
	r.High = st.float("high", b.High, f, ok)
	f, ok = toFloat(b.Low)
	r.Low = st.float("low", b.Low, f, ok)
	f, ok = toFloat(b.Close)
	r.Close = st.float("close", b.Close, f, ok)
	f, ok = toFloat(b.Volume)
	r.Volume = st.float("volume", b.Volume, f, ok)
	f, ok = toFloat(b.QuoteVolume)
	r.QuoteVolume = st.float("quote_volume", b.QuoteVolume, f, ok)
	r.Trades = b.Trades
	return append(dst, r)
}

func tradeToRows(dst []TradeRow, t *domain.Trade, st *convStats) []TradeRow {
	r := TradeRow{Ts: t.Time, ID: t.ID, RecvTs: t.RecvTime}
	f, ok := toFloat(t.Price)
	r.Price = st.float("price", t.Price, f, ok)
	f, ok = toFloat(t.Amount)
	r.Amount = st.float("amount", t.Amount, f, ok)
	switch t.Side {
	case domain.Buy:
		r.Side = sideBuy
	case domain.Sell:
		r.Side = sideSell
	}
	return append(dst, r)
}

// dedupBooks sorts buffered book rows by key and keeps, of each snapshot
// key (ts, seq), only the state written last. Rows arrive as whole states
// in bookToRows order (asks, then bids, each from level 0 up) or, from an
// existing file, in key order, which is the same order for a consistent
// snapshot; so within a run of rows sharing (ts, seq), a row whose (side,
// level) does not follow its predecessor's starts the next state.
func dedupBooks(rows []BookRow) []BookRow {
	if len(rows) < 2 {
		return rows
	}
	for i := 1; i < len(rows); i++ {
		if cmpBookState(&rows[i-1], &rows[i]) > 0 {
			// Stable: the states of one key stay in the order written.
			slices.SortStableFunc(rows, func(a, b BookRow) int { return cmpBookState(&a, &b) })
			break
		}
	}
	out := rows[:0]
	for i := 0; i < len(rows); {
		j, last := i+1, i
		for ; j < len(rows) && cmpBookState(&rows[i], &rows[j]) == 0; j++ {
			if !followsInState(&rows[j-1], &rows[j]) {
				last = j
			}
		}
		// out never passes last, and append copies like memmove.
		out = append(out, sortDedup(rows[last:j], cmpBook)...)
		i = j
	}
	return out
}

// followsInState reports whether r can be the row after prev in one
// snapshot written by bookToRows: a deeper level of the same side, or the
// bids after the asks.
func followsInState(prev, r *BookRow) bool {
	if prev.Side != r.Side {
		return prev.Side == sideAsk && r.Side == sideBid
	}
	return r.Level > prev.Level
}

// bookTime is the time a snapshot is stored under: the venue time, or the
// receive time when the venue gives none.
func bookTime(b *domain.BookSnapshot) int64 {
	if b.Time != 0 {
		return b.Time
	}
	return b.RecvTime
}

func bookToRows(dst []BookRow, b *domain.BookSnapshot, st *convStats) []BookRow {
	ts := bookTime(b)
	add := func(side string, lv []domain.BookLevel) {
		for i, l := range lv {
			r := BookRow{Ts: ts, Side: side, Level: int32(i), Seq: b.Seq, RecvTs: b.RecvTime}
			f, ok := toFloat(l.Price)
			r.Price = st.float("price", l.Price, f, ok)
			f, ok = toFloat(l.Amount)
			r.Amount = st.float("amount", l.Amount, f, ok)
			dst = append(dst, r)
		}
	}
	add(sideAsk, b.Asks)
	add(sideBid, b.Bids)
	return dst
}

// rowError reports a row whose stored values cannot become domain values.
func rowError(path string, ts int64, what string, v float64) error {
	return &CorruptFileError{Path: path, Err: fmt.Errorf("row at %s: %s %v is not a finite decimal", domain.FormatNs(ts), what, v)}
}

func ohlcFromRow(path string, r *OHLCRow) (domain.OHLCBar, error) {
	b := domain.OHLCBar{OpenTime: r.OpenTime, Trades: r.Trades, Closed: true}
	var ok bool
	for _, f := range []struct {
		dst  *decimal.Decimal
		v    float64
		what string
	}{{&b.Open, r.Open, "open"}, {&b.High, r.High, "high"}, {&b.Low, r.Low, "low"}, {&b.Close, r.Close, "close"}, {&b.Volume, r.Volume, "volume"}, {&b.QuoteVolume, r.QuoteVolume, "quote_volume"}} {
		if *f.dst, ok = mustFromFloat(f.v); !ok {
			return b, rowError(path, r.OpenTime, f.what, f.v)
		}
	}
	return b, nil
}

func tradeFromRow(path string, r *TradeRow) (domain.Trade, error) {
	t := domain.Trade{ID: r.ID, Time: r.Ts, RecvTime: r.RecvTs}
	var ok bool
	if t.Price, ok = mustFromFloat(r.Price); !ok {
		return t, rowError(path, r.Ts, "price", r.Price)
	}
	if t.Amount, ok = mustFromFloat(r.Amount); !ok {
		return t, rowError(path, r.Ts, "amount", r.Amount)
	}
	switch r.Side {
	case sideBuy:
		t.Side = domain.Buy
	case sideSell:
		t.Side = domain.Sell
	}
	return t, nil
}
