package exchange

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
)

// OrderType is the kind of order. The zero value is Limit.
type OrderType uint8

const (
	// Limit rests at its price until filled, canceled or expired.
	Limit OrderType = iota
	// Market executes immediately against the book.
	Market
	// LimitMaker is a post-only limit order: rejected (or canceled) if it
	// would take liquidity.
	LimitMaker
)

var orderTypeNames = [...]string{Limit: "limit", Market: "market", LimitMaker: "limit_maker"}

func (t OrderType) String() string {
	if int(t) < len(orderTypeNames) {
		return orderTypeNames[t]
	}
	return fmt.Sprintf("OrderType(%d)", uint8(t))
}

// MarshalText implements encoding.TextMarshaler.
func (t OrderType) MarshalText() ([]byte, error) {
	return marshalEnum(t.String(), int(t), len(orderTypeNames))
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (t *OrderType) UnmarshalText(b []byte) error {
	v, err := ParseOrderType(string(b))
	*t = v
	return err
}

// ParseOrderType reads "limit", "market" or "limit_maker" (also
// "post_only"), any case.
func ParseOrderType(s string) (OrderType, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "limit", "":
		return Limit, nil
	case "market":
		return Market, nil
	case "limit_maker", "post_only", "postonly", "maker":
		return LimitMaker, nil
	}
	return Limit, fmt.Errorf("exchange: invalid order type %q (accepted: limit, market, limit_maker)", s)
}

// TimeInForce says how long an order stays active. The zero value is GTC.
type TimeInForce uint8

const (
	// GTC is good till canceled.
	GTC TimeInForce = iota
	// IOC is immediate or cancel: what does not fill at once expires.
	IOC
	// FOK is fill or kill: fills entirely at once or expires.
	FOK
)

var tifNames = [...]string{GTC: "gtc", IOC: "ioc", FOK: "fok"}

func (t TimeInForce) String() string {
	if int(t) < len(tifNames) {
		return tifNames[t]
	}
	return fmt.Sprintf("TimeInForce(%d)", uint8(t))
}

// MarshalText implements encoding.TextMarshaler.
func (t TimeInForce) MarshalText() ([]byte, error) {
	return marshalEnum(t.String(), int(t), len(tifNames))
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (t *TimeInForce) UnmarshalText(b []byte) error {
	v, err := ParseTimeInForce(string(b))
	*t = v
	return err
}

// ParseTimeInForce reads "gtc", "ioc" or "fok", any case.
func ParseTimeInForce(s string) (TimeInForce, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "gtc", "":
		return GTC, nil
	case "ioc":
		return IOC, nil
	case "fok":
		return FOK, nil
	}
	return GTC, fmt.Errorf("exchange: invalid time in force %q (accepted: gtc, ioc, fok)", s)
}

func marshalEnum(name string, v, n int) ([]byte, error) {
	if v < 0 || v >= n {
		return nil, fmt.Errorf("exchange: cannot marshal %s", name)
	}
	return []byte(name), nil
}

// sideJSON renders a domain.Side as "buy"/"sell" in JSON.
type sideJSON domain.Side

func (s sideJSON) MarshalText() ([]byte, error) { return []byte(domain.Side(s).String()), nil }

func (s *sideJSON) UnmarshalText(b []byte) error {
	v, err := domain.ParseSide(string(b))
	*s = sideJSON(v)
	return err
}

// OrderRequest is an order to submit. Price is ignored for Market orders.
// Amount is in the base asset.
type OrderRequest struct {
	Symbol        domain.Symbol
	Side          domain.Side
	Type          OrderType
	TimeInForce   TimeInForce
	Price         decimal.Decimal
	Amount        decimal.Decimal
	ClientOrderID string // assigned by Base.PrepareOrder when empty
}

// OrderRef identifies an order at a venue: by client id, exchange id or
// both. Venues that need the symbol to look an order up get it too.
type OrderRef struct {
	Symbol          domain.Symbol
	ClientOrderID   string
	ExchangeOrderID string
}

func (r OrderRef) String() string {
	switch {
	case r.ClientOrderID != "" && r.ExchangeOrderID != "":
		return r.ClientOrderID + "/" + r.ExchangeOrderID
	case r.ClientOrderID != "":
		return r.ClientOrderID
	default:
		return "exchange:" + r.ExchangeOrderID
	}
}

// Fill is one trade executing (part of) an order. TradeID is the venue's
// trade id; fills are de-duplicated by it (or, when a venue gives none, by
// timestamp, price and amount).
type Fill struct {
	ClientOrderID   string          `json:"client_order_id,omitempty"`
	ExchangeOrderID string          `json:"exchange_order_id,omitempty"`
	TradeID         string          `json:"trade_id,omitempty"`
	Price           decimal.Decimal `json:"price"`
	Amount          decimal.Decimal `json:"amount"`
	Fee             decimal.Decimal `json:"fee"`
	FeeAsset        string          `json:"fee_asset,omitempty"`
	Timestamp       int64           `json:"timestamp"` // venue time, ns
	Maker           bool            `json:"maker,omitempty"`
}

func (f Fill) dedupKey() string {
	if f.TradeID != "" {
		return f.TradeID
	}
	return fmt.Sprintf("~%d/%s/%s", f.Timestamp, f.Price, f.Amount)
}

// OrderUpdate is what a venue reports about an order: its state and,
// optionally, cumulative execution. An update may carry only the exchange
// id; it is matched to the tracked order by either id.
type OrderUpdate struct {
	ClientOrderID   string     `json:"client_order_id,omitempty"`
	ExchangeOrderID string     `json:"exchange_order_id,omitempty"`
	State           OrderState `json:"state"`
	// Timestamp is the venue's time of this state (ns), 0 if unknown.
	Timestamp int64 `json:"timestamp,omitempty"`
	// Sequence is a venue update counter for this order (e.g. an update
	// id), 0 if unknown. A lower sequence than already applied is stale.
	Sequence int64 `json:"sequence,omitempty"`
	// Executed is the cumulative executed amount the venue reports, zero
	// if unknown.
	Executed decimal.Decimal `json:"executed"`
	// AveragePrice is the venue's average execution price, zero if unknown.
	AveragePrice decimal.Decimal `json:"average_price"`
	// Reason explains a failure, cancellation or expiry.
	Reason string `json:"reason,omitempty"`
}

// Balance is one asset's balance. Total = Free + Locked.
type Balance struct {
	Asset  string          `json:"asset"`
	Free   decimal.Decimal `json:"free"`
	Locked decimal.Decimal `json:"locked"`
}

// Total returns Free + Locked.
func (b Balance) Total() decimal.Decimal {
	t, err := b.Free.Add(b.Locked)
	if err != nil {
		return b.Free
	}
	return t
}

// Order is a tracked order: the request, the venue's ids, its state and
// everything executed so far. The tracker hands out copies.
type Order struct {
	ClientOrderID   string          `json:"client_order_id"`
	ExchangeOrderID string          `json:"exchange_order_id,omitempty"`
	Symbol          domain.Symbol   `json:"symbol"`
	Side            domain.Side     `json:"-"`
	Type            OrderType       `json:"type"`
	TimeInForce     TimeInForce     `json:"time_in_force"`
	Price           decimal.Decimal `json:"price"`
	Amount          decimal.Decimal `json:"amount"`
	State           OrderState      `json:"state"`
	// Executed is the sum of the de-duplicated fills' amounts.
	Executed decimal.Decimal `json:"executed"`
	// QuoteExecuted is the sum of price × amount over the fills.
	QuoteExecuted decimal.Decimal `json:"quote_executed"`
	// VenueExecuted is the highest cumulative amount the venue reported in
	// status updates (it can run ahead of the fills received).
	VenueExecuted decimal.Decimal `json:"venue_executed"`
	// Fees sums fill fees by asset.
	Fees map[string]decimal.Decimal `json:"fees,omitempty"`
	// TradeIDs are the keys of the fills applied, for de-duplication.
	TradeIDs []string `json:"trade_ids,omitempty"`
	// Overfilled is set when the fills exceed Amount (a venue error or a
	// duplicated fill under two trade ids); the fills are kept.
	Overfilled bool `json:"overfilled,omitempty"`
	// Reason is the last failure, cancellation or expiry reason.
	Reason string `json:"reason,omitempty"`

	CreatedAt       int64      `json:"created_at"`                 // local time tracking started (ns)
	UpdatedAt       int64      `json:"updated_at"`                 // local time of the last change (ns)
	LastVenueTime   int64      `json:"last_venue_time,omitempty"`  // newest update timestamp applied
	LastSequence    int64      `json:"last_sequence,omitempty"`    // highest update sequence applied
	NotFoundCount   int        `json:"not_found_count,omitempty"`  // consecutive "not found" answers
	CreatedEmitted  bool       `json:"created_emitted,omitempty"`  // the created event was published
	TerminalEmitted bool       `json:"terminal_emitted,omitempty"` // the terminal event was published
	TerminalAt      int64      `json:"terminal_at,omitempty"`      // local time the state became terminal
	CancelFrom      OrderState `json:"cancel_from,omitempty"`      // state before PendingCancel
}

// AveragePrice returns QuoteExecuted / Executed, or zero before any fill.
func (o Order) AveragePrice() decimal.Decimal {
	if o.Executed.IsZero() {
		return decimal.Decimal{}
	}
	avg, err := o.QuoteExecuted.Quo(o.Executed)
	if err != nil {
		return decimal.Decimal{}
	}
	return avg
}

// Remaining returns Amount − Executed, never negative.
func (o Order) Remaining() decimal.Decimal {
	r, err := o.Amount.Sub(o.Executed)
	if err != nil || r.IsNeg() {
		return decimal.Decimal{}
	}
	return r
}

// Ref returns the order's reference.
func (o Order) Ref() OrderRef {
	return OrderRef{Symbol: o.Symbol, ClientOrderID: o.ClientOrderID, ExchangeOrderID: o.ExchangeOrderID}
}

// Request returns the order's request fields.
func (o Order) Request() OrderRequest {
	return OrderRequest{Symbol: o.Symbol, Side: o.Side, Type: o.Type, TimeInForce: o.TimeInForce,
		Price: o.Price, Amount: o.Amount, ClientOrderID: o.ClientOrderID}
}

type orderAlias Order

// MarshalJSON renders the order with its side as "buy"/"sell".
func (o Order) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		orderAlias
		Side sideJSON `json:"side"`
	}{orderAlias(o), sideJSON(o.Side)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (o *Order) UnmarshalJSON(b []byte) error {
	var v struct {
		orderAlias
		Side sideJSON `json:"side"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*o = Order(v.orderAlias)
	o.Side = domain.Side(v.Side)
	return nil
}

func (o Order) clone() Order {
	c := o
	if o.Fees != nil {
		c.Fees = make(map[string]decimal.Decimal, len(o.Fees))
		for k, v := range o.Fees {
			c.Fees[k] = v
		}
	}
	c.TradeIDs = append([]string(nil), o.TradeIDs...)
	return c
}
