package domain

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Transport is how a venue serves data.
type Transport string

// Transports.
const (
	REST      Transport = "rest"
	WebSocket Transport = "ws"
)

// Mode is what a capability is used for.
type Mode string

// Modes.
const (
	Backfill Mode = "backfill" // historical pages over REST
	Stream   Mode = "stream"   // live updates
	Snapshot Mode = "snapshot" // point-in-time state (books)
)

// History says how far back a venue serves a data type.
type History string

// History depths.
const (
	HistoryFull   History = "full"   // back to the instrument's listing
	HistoryRecent History = "recent" // only a recent window or count
	HistoryNone   History = "none"   // live only
)

// PageDirection is the order of rows in a venue's pages.
type PageDirection string

// Page directions.
const (
	Ascending  PageDirection = "ascending"  // oldest first
	Descending PageDirection = "descending" // newest first
)

// Capability declares what a venue offers for one data type over one
// transport in one mode. Venue adapters declare them honestly; planners and
// the CLI read them instead of guessing.
type Capability struct {
	DataType      DataType
	Transport     Transport
	Mode          Mode
	History       History
	MaxPerRequest int           // rows per page (0 = not paginated)
	Direction     PageDirection // row order in a page
	Spans         []Span        // candle spans served (OHLC)
	MaxDepth      int           // deepest book served (Book)
	Depths        []int         // allowed depth values, empty = any up to MaxDepth
	Markets       []MarketKind  // market kinds served
	RecentWindow  time.Duration // for HistoryRecent: how far back, if by time
	RecentCount   int           // for HistoryRecent: how many rows back, if by count
	AuthRequired  bool
	Notes         string // e.g. where deeper history lives
}

// SupportsSpan reports whether the capability serves span s.
func (c Capability) SupportsSpan(s Span) bool { return slices.Contains(c.Spans, s) }

// ErrNoCapability is wrapped by errors reporting that a venue does not offer
// something (a data type, span, depth, market or history range).
var ErrNoCapability = errors.New("capability not offered by venue")

// CapabilityError explains which capability is missing.
type CapabilityError struct {
	Venue  string
	What   string // e.g. "span 2h for ohlc"
	Accept string // what is accepted instead
}

func (e *CapabilityError) Error() string {
	msg := fmt.Sprintf("%s does not offer %s", e.Venue, e.What)
	if e.Accept != "" {
		msg += " (accepted: " + e.Accept + ")"
	}
	return msg
}

// Unwrap makes errors.Is(err, ErrNoCapability) true.
func (e *CapabilityError) Unwrap() error { return ErrNoCapability }

// FormatSpans prints spans as "1m, 5m, 1h".
func FormatSpans(spans []Span) string {
	out := ""
	for i, s := range spans {
		if i > 0 {
			out += ", "
		}
		out += s.String()
	}
	return out
}
