package domain

import (
	"fmt"
	"strings"
)

// DatasetID names one dataset: a venue, symbol, data type and (for OHLC) span.
type DatasetID struct {
	Venue  string
	Symbol Symbol
	Type   DataType
	Span   Span // zero unless Type.HasSpan()
}

// Validate checks that the id is complete.
func (d DatasetID) Validate() error {
	switch {
	case d.Venue == "":
		return fmt.Errorf("dataset: venue is empty")
	case d.Symbol.IsZero():
		return fmt.Errorf("dataset: symbol is empty")
	case d.Type == "":
		return fmt.Errorf("dataset: data type is empty")
	case d.Type.HasSpan() && !d.Span.Valid():
		return fmt.Errorf("dataset: %s needs a span", d.Type)
	case !d.Type.HasSpan() && d.Span != 0:
		return fmt.Errorf("dataset: %s takes no span (got %s)", d.Type, d.Span)
	}
	return nil
}

// String prints venue/SYMBOL/type[/span], e.g. binance/BTC-USDT/ohlc/1h.
func (d DatasetID) String() string {
	s := strings.ToLower(d.Venue) + "/" + d.Symbol.PathName() + "/" + string(d.Type)
	if d.Type.HasSpan() {
		s += "/" + d.Span.String()
	}
	return s
}

// Provenance records where rows came from. It is kept per file or row group
// so a later writer does not erase an earlier one's record.
type Provenance struct {
	Venue       string
	Transport   Transport
	RunID       string
	ToolVersion string
	FetchedAt   int64  // ns
	Source      string // base URL host or "sim"
}
