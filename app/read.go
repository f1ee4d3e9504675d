package app

import (
	"context"
	"iter"
	"math"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/store"
)

// Selector names one dataset and a time range of it. A zero Range means the
// whole dataset.
type Selector struct {
	Venue  string
	Symbol domain.Symbol
	Type   domain.DataType
	Span   domain.Span
	Range  domain.Range
}

// ID returns the dataset id the selector names.
func (s Selector) ID() (domain.DatasetID, error) {
	if s.Venue == "" {
		return domain.DatasetID{}, &InputError{Field: "venue", Msg: "a venue is required (e.g. binance)"}
	}
	if s.Symbol.IsZero() {
		return domain.DatasetID{}, &InputError{Field: "symbol", Msg: "a symbol is required (e.g. BTC/USDT)"}
	}
	switch s.Type {
	case domain.OHLC, domain.Trades, domain.Book:
	case "":
		return domain.DatasetID{}, &InputError{Field: "type", Msg: "a data type is required (accepted: ohlc, trades, book)"}
	default:
		return domain.DatasetID{}, &InputError{Field: "type", Msg: string(s.Type) + " is not stored by pype yet (accepted: ohlc, trades, book)"}
	}
	if !s.Type.HasSpan() && s.Span.Valid() {
		return domain.DatasetID{}, &InputError{Field: "span", Msg: string(s.Type) + " takes no span"}
	}
	return datasetID(s.Venue, s.Symbol, s.Type, s.Span)
}

// allTime is the range used for "the whole dataset".
var allTime = domain.Range{Start: math.MinInt64, End: math.MaxInt64}

func (s Selector) rangeOrAll() (domain.Range, error) {
	if s.Range == (domain.Range{}) {
		return allTime, nil
	}
	return s.Range, s.Range.Validate()
}

// NoDataError reports a dataset with no files.
type NoDataError struct {
	ID  domain.DatasetID
	Dir string
}

func (e *NoDataError) Error() string {
	return "no data for " + e.ID.String() + " in " + e.Dir + " (run pype backfill first, or pype inventory to see what exists)"
}

// readSetup resolves a selector for a read.
func (a *App) readSetup(ctx context.Context, sel Selector) (*store.Store, domain.DatasetID, domain.Range, error) {
	id, err := sel.ID()
	if err != nil {
		return nil, id, domain.Range{}, err
	}
	r, err := sel.rangeOrAll()
	if err != nil {
		return nil, id, r, err
	}
	st, err := a.openStoreRead()
	if err != nil {
		return nil, id, r, err
	}
	if st == nil {
		return nil, id, r, &NoDataError{ID: id, Dir: a.DataDir}
	}
	info, err := st.Info(ctx, id)
	if err != nil {
		return nil, id, r, err
	}
	if info.Files == 0 {
		return nil, id, r, &NoDataError{ID: id, Dir: st.DatasetDir(id)}
	}
	return st, id, r, nil
}

func failSeq[T any](err error) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		yield(zero, err)
	}
}

// ReadOHLC yields the stored bars of sel in time order across partitions.
// A dataset without files yields a *NoDataError.
func (a *App) ReadOHLC(ctx context.Context, sel Selector) iter.Seq2[domain.OHLCBar, error] {
	sel.Type = domain.OHLC
	st, id, r, err := a.readSetup(ctx, sel)
	if err != nil {
		return failSeq[domain.OHLCBar](err)
	}
	return st.ReadOHLC(ctx, id, r)
}

// ReadTrades yields the stored trades of sel ordered by time and id.
func (a *App) ReadTrades(ctx context.Context, sel Selector) iter.Seq2[domain.Trade, error] {
	sel.Type, sel.Span = domain.Trades, 0
	st, id, r, err := a.readSetup(ctx, sel)
	if err != nil {
		return failSeq[domain.Trade](err)
	}
	return st.ReadTrades(ctx, id, r)
}

// ReadBooks yields the stored book snapshots of sel in time order.
func (a *App) ReadBooks(ctx context.Context, sel Selector) iter.Seq2[domain.BookSnapshot, error] {
	sel.Type, sel.Span = domain.Book, 0
	st, id, r, err := a.readSetup(ctx, sel)
	if err != nil {
		return failSeq[domain.BookSnapshot](err)
	}
	return st.ReadBooks(ctx, id, r)
}
