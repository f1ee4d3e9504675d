package domain

import (
	"fmt"
	"strings"
)

// DataType names a kind of market data.
type DataType string

// Data types. Funding and open interest are reserved for derivatives venues.
const (
	OHLC         DataType = "ohlc"
	Trades       DataType = "trades"
	Book         DataType = "book"
	Funding      DataType = "funding"
	OpenInterest DataType = "open_interest"
)

// DataTypes lists every known data type.
func DataTypes() []DataType { return []DataType{OHLC, Trades, Book, Funding, OpenInterest} }

// ParseDataType reads a data type name; "candles"/"klines" mean ohlc,
// "trade" means trades, "orderbook"/"depth" mean book.
func ParseDataType(s string) (DataType, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "ohlc", "ohlcv", "candles", "candle", "klines", "kline":
		return OHLC, nil
	case "trades", "trade":
		return Trades, nil
	case "book", "books", "orderbook", "depth":
		return Book, nil
	case "funding":
		return Funding, nil
	case "open_interest", "oi":
		return OpenInterest, nil
	}
	return "", fmt.Errorf("invalid data type %q (accepted: ohlc, trades, book, funding, open_interest)", s)
}

// HasSpan reports whether datasets of this type are keyed by a span.
func (t DataType) HasSpan() bool { return t == OHLC }
