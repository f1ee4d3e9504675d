package exchange

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators"
)

// Capability interfaces. A venue adapter implements the ones its venue
// offers; callers discover them with type assertions. The methods are the
// raw venue calls: they do not touch the order tracker. [Base] wires them
// to the tracker (PlaceTracked, CancelTracked, RefreshOrders, ...).
type (
	// MarketLister lists the venue's markets.
	MarketLister interface {
		Markets(ctx context.Context) ([]domain.Market, error)
	}
	// RulesProvider returns a market's trading rules. Base implements it
	// from rules loaded with SetTradingRules.
	RulesProvider interface {
		TradingRules(ctx context.Context, symbol domain.Symbol) (TradingRules, error)
	}
	// BalanceReader reads account balances.
	BalanceReader interface {
		Balances(ctx context.Context) ([]Balance, error)
	}
	// OrderPlacer submits an order and returns the venue's acknowledgement
	// (at least the exchange order id and state). A definitive refusal
	// must be a *RejectedError; any other error means "unknown outcome".
	OrderPlacer interface {
		PlaceOrder(ctx context.Context, req OrderRequest) (OrderUpdate, error)
	}
	// OrderCanceler requests a cancel. The returned update is applied when
	// its State is not PendingCreate (use PendingCreate for "the venue
	// said nothing about the state"). An unknown order is reported by
	// wrapping ErrOrderNotFound.
	OrderCanceler interface {
		CancelOrder(ctx context.Context, ref OrderRef) (OrderUpdate, error)
	}
	// OrderGetter queries one order's state; an unknown order is reported
	// by wrapping ErrOrderNotFound.
	OrderGetter interface {
		GetOrder(ctx context.Context, ref OrderRef) (OrderUpdate, error)
	}
	// OpenOrderLister lists open orders with their details; a zero symbol
	// means all markets.
	OpenOrderLister interface {
		OpenOrders(ctx context.Context, symbol domain.Symbol) ([]Order, error)
	}
	// FillLister lists the account's fills.
	FillLister interface {
		Fills(ctx context.Context, q FillQuery) ([]Fill, error)
	}
)

// FillQuery selects fills: by market, order and/or time (ns, inclusive).
// Zero fields do not restrict.
type FillQuery struct {
	Symbol domain.Symbol
	Order  OrderRef
	Since  int64
}

// ExchangeOperator is a centralized exchange connector: an
// [operators.Operator] with trading rules and an order tracker. Trading
// capabilities (OrderPlacer, OrderCanceler, OrderGetter, OpenOrderLister,
// FillLister, BalanceReader, MarketLister) are separate interfaces.
type ExchangeOperator interface {
	operators.Operator
	RulesProvider
	Tracker() *OrderTracker
}

// Trader is an ExchangeOperator that can place, cancel and query orders.
type Trader interface {
	ExchangeOperator
	OrderPlacer
	OrderCanceler
	OrderGetter
}

// UnknownSymbolError is returned for a market with no trading rules.
type UnknownSymbolError struct {
	Venue  string
	Symbol domain.Symbol
	Known  int // how many markets have rules
}

func (e *UnknownSymbolError) Error() string {
	return fmt.Sprintf("exchange: %s has no trading rules for %s (%d markets known; load them with SetTradingRules)", e.Venue, e.Symbol, e.Known)
}

// Base is the shared part of every ExchangeOperator: it embeds
// [*operators.Base] and adds trading rules, client order ids and the order
// tracker, and wires the raw capability calls to the tracker. Concrete
// operators embed *Base and implement the capability interfaces.
type Base struct {
	*operators.Base

	rulesMu sync.RWMutex
	rules   map[domain.Symbol]TradingRules

	ids     *ClientOrderIDs
	tracker *OrderTracker
}

// Option configures a [Base].
type Option func(*baseConfig)

type baseConfig struct {
	base    []operators.BaseOption
	policy  ClientOrderIDPolicy
	tracker []TrackerOption
}

// WithOperatorOptions passes options to operators.NewBase (clock, logger,
// publisher, nonce creator).
func WithOperatorOptions(opts ...operators.BaseOption) Option {
	return func(c *baseConfig) { c.base = append(c.base, opts...) }
}

// WithClientOrderIDPolicy sets the venue's client order id rules (default:
// alphanumeric, at most 32 characters).
func WithClientOrderIDPolicy(p ClientOrderIDPolicy) Option {
	return func(c *baseConfig) { c.policy = p }
}

// WithTrackerOptions passes options to the order tracker.
func WithTrackerOptions(opts ...TrackerOption) Option {
	return func(c *baseConfig) { c.tracker = append(c.tracker, opts...) }
}

// NewBase returns a Base for a centralized exchange platform.
func NewBase(cfg operators.OperatorConfiguration, opts ...Option) (*Base, error) {
	if cfg.Platform.Kind != operators.CentralizedExchange {
		return nil, fmt.Errorf("exchange: platform %s has kind %v (want %v)", cfg.Platform, cfg.Platform.Kind, operators.CentralizedExchange)
	}
	var c baseConfig
	for _, o := range opts {
		o(&c)
	}
	ob, err := operators.NewBase(cfg, c.base...)
	if err != nil {
		return nil, err
	}
	ids, err := NewClientOrderIDs(c.policy, ob.Nonce())
	if err != nil {
		return nil, err
	}
	topts := append([]TrackerOption{
		WithTrackerClock(operators.ClockFunc(ob.LocalTime)),
		WithTrackerLogger(ob.Logger()),
	}, c.tracker...)
	return &Base{
		Base:    ob,
		rules:   map[domain.Symbol]TradingRules{},
		ids:     ids,
		tracker: NewOrderTracker(ob.Publishing(), topts...),
	}, nil
}

// Tracker returns the order tracker.
func (b *Base) Tracker() *OrderTracker { return b.tracker }

// ClientOrderIDs returns the id generator.
func (b *Base) ClientOrderIDs() *ClientOrderIDs { return b.ids }

// NewClientOrderID returns a fresh client order id.
func (b *Base) NewClientOrderID() string { return b.ids.Next() }

// SetTradingRules stores (or replaces) the rules of the given markets.
func (b *Base) SetTradingRules(rules ...TradingRules) error {
	for _, r := range rules {
		if r.Symbol.IsZero() {
			return fmt.Errorf("exchange: trading rules without a symbol")
		}
		if err := r.Check(); err != nil {
			return err
		}
	}
	b.rulesMu.Lock()
	defer b.rulesMu.Unlock()
	for _, r := range rules {
		b.rules[r.Symbol] = r
	}
	return nil
}

// TradingRules returns the stored rules of symbol, or *UnknownSymbolError.
func (b *Base) TradingRules(_ context.Context, symbol domain.Symbol) (TradingRules, error) {
	b.rulesMu.RLock()
	defer b.rulesMu.RUnlock()
	r, ok := b.rules[symbol]
	if !ok {
		return TradingRules{}, &UnknownSymbolError{Venue: b.Name(), Symbol: symbol, Known: len(b.rules)}
	}
	return r, nil
}

// AllTradingRules returns every stored market's rules, sorted by symbol.
func (b *Base) AllTradingRules() []TradingRules {
	b.rulesMu.RLock()
	defer b.rulesMu.RUnlock()
	out := make([]TradingRules, 0, len(b.rules))
	for _, r := range b.rules {
		out = append(out, r)
	}
	slices.SortFunc(out, func(x, y TradingRules) int { return strings.Compare(x.Symbol.String(), y.Symbol.String()) })
	return out
}

// PrepareOrder makes req ready to submit: it assigns a client order id
// (or checks the one given against the venue's policy), quantizes price
// and amount to the market's rules and validates the result.
func (b *Base) PrepareOrder(ctx context.Context, req OrderRequest) (OrderRequest, error) {
	if req.ClientOrderID == "" {
		req.ClientOrderID = b.ids.Next()
	} else if err := b.ids.Policy().ValidateID(req.ClientOrderID); err != nil {
		return req, err
	}
	rules, err := b.TradingRules(ctx, req.Symbol)
	if err != nil {
		return req, err
	}
	q, err := rules.Quantize(req)
	if err != nil {
		return req, err
	}
	if err := rules.Validate(q); err != nil {
		return req, err
	}
	return q, nil
}

// PlaceTracked prepares req, tracks it (PENDING_CREATE), submits it with
// p and applies the acknowledgement. On a *RejectedError the order becomes
// FAILED. On any other error the outcome is unknown: the order stays
// tracked in PENDING_CREATE, the error is returned, and RefreshOrders later
// finds it (or declares it lost). The returned Order is the tracked state;
// its ClientOrderID is set whenever the order was tracked.
func (b *Base) PlaceTracked(ctx context.Context, p OrderPlacer, req OrderRequest) (Order, error) {
	req, err := b.PrepareOrder(ctx, req)
	if err != nil {
		return Order{}, err
	}
	o, err := b.tracker.Track(req)
	if err != nil {
		return Order{}, err
	}
	ack, err := p.PlaceOrder(ctx, req)
	if err != nil {
		if IsRejection(err) {
			if ferr := b.tracker.Fail(o.Ref(), err.Error()); ferr != nil {
				b.Logger().Warn("exchange: could not mark rejected order failed", "client_order_id", o.ClientOrderID, "error", ferr)
			}
		}
		o, _ = b.tracker.Get(o.Ref())
		return o, fmt.Errorf("exchange: place %s %s %s %s@%s: %w", o.ClientOrderID, req.Side, req.Amount, req.Symbol, req.Price, err)
	}
	ack.ClientOrderID = req.ClientOrderID
	if _, err := b.tracker.ProcessUpdate(ack); err != nil {
		b.Logger().Warn("exchange: placement acknowledgement not applied", "client_order_id", req.ClientOrderID, "error", err)
	}
	o, _ = b.tracker.Get(o.Ref())
	return o, nil
}

// CancelTracked moves the order to PENDING_CANCEL and asks the venue to
// cancel it. If the request fails the order returns to its previous state
// and OrderCancelFailed is published; a not-found answer also counts
// toward the lost threshold.
func (b *Base) CancelTracked(ctx context.Context, c OrderCanceler, ref OrderRef) (Order, error) {
	o, err := b.tracker.CancelRequested(ref)
	if err != nil {
		return o, err
	}
	upd, err := c.CancelOrder(ctx, o.Ref())
	if err != nil {
		if errors.Is(err, ErrOrderNotFound) {
			_, _ = b.tracker.NotFound(o.Ref())
		}
		_ = b.tracker.CancelFailed(o.Ref(), err.Error())
		o, _ = b.tracker.Get(o.Ref())
		return o, fmt.Errorf("exchange: cancel %s: %w", o.Ref(), err)
	}
	if upd.State != PendingCreate {
		upd.ClientOrderID = o.ClientOrderID
		if upd.ExchangeOrderID == "" {
			upd.ExchangeOrderID = o.ExchangeOrderID
		}
		if _, err := b.tracker.ProcessUpdate(upd); err != nil {
			b.Logger().Warn("exchange: cancel answer not applied", "client_order_id", o.ClientOrderID, "error", err)
		}
	}
	o, _ = b.tracker.Get(o.Ref())
	return o, nil
}

// RefreshOrders queries every active order with g and applies the answers
// (not-found answers count toward the lost threshold), then runs the
// tracker's Sweep. Errors for single orders are joined; the other orders
// are still refreshed. Call it from the operator's FetchUpdates.
func (b *Base) RefreshOrders(ctx context.Context, g OrderGetter) error {
	var errs []error
	for _, o := range b.tracker.ActiveOrders() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		upd, err := g.GetOrder(ctx, o.Ref())
		switch {
		case errors.Is(err, ErrOrderNotFound):
			_, _ = b.tracker.NotFound(o.Ref())
		case err != nil:
			errs = append(errs, fmt.Errorf("refresh %s: %w", o.Ref(), err))
		default:
			if upd.ClientOrderID == "" { // the answer is about the order asked for
				upd.ClientOrderID = o.ClientOrderID
			}
			if _, err := b.tracker.ProcessUpdate(upd); err != nil {
				errs = append(errs, err)
			}
		}
	}
	b.tracker.Sweep()
	return errors.Join(errs...)
}

// RefreshLost queries every lost order with g, so that an order the venue
// reports again is reconciled.
func (b *Base) RefreshLost(ctx context.Context, g OrderGetter) error {
	var errs []error
	for _, o := range b.tracker.LostOrders() {
		upd, err := g.GetOrder(ctx, o.Ref())
		switch {
		case errors.Is(err, ErrOrderNotFound):
			_, _ = b.tracker.NotFound(o.Ref())
		case err != nil:
			errs = append(errs, fmt.Errorf("refresh lost %s: %w", o.Ref(), err))
		default:
			if upd.ClientOrderID == "" { // the answer is about the order asked for
				upd.ClientOrderID = o.ClientOrderID
			}
			if _, err := b.tracker.ProcessUpdate(upd); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// RefreshFills fetches fills with l and applies them. Fills of orders the
// tracker does not know (placed by something else) are skipped. It returns
// the number of new fills applied.
func (b *Base) RefreshFills(ctx context.Context, l FillLister, q FillQuery) (int, error) {
	fills, err := l.Fills(ctx, q)
	if err != nil {
		return 0, fmt.Errorf("exchange: refresh fills: %w", err)
	}
	n := 0
	for _, f := range fills {
		out, err := b.tracker.ProcessFill(f)
		var unknown *UnknownOrderError
		if err != nil && !errors.As(err, &unknown) {
			return n, err
		}
		if out == OutcomeApplied {
			n++
		}
	}
	b.tracker.Sweep()
	return n, nil
}

// AdoptOpenOrders lists the venue's open orders and tracks those the
// tracker does not know (orders from a previous run without a snapshot).
// It returns how many were adopted.
func (b *Base) AdoptOpenOrders(ctx context.Context, l OpenOrderLister, symbol domain.Symbol) (int, error) {
	open, err := l.OpenOrders(ctx, symbol)
	if err != nil {
		return 0, fmt.Errorf("exchange: adopt open orders: %w", err)
	}
	n := 0
	for _, o := range open {
		if _, known := b.tracker.Get(o.Ref()); known {
			continue
		}
		if o.ClientOrderID == "" {
			o.ClientOrderID = "x-" + o.ExchangeOrderID
		}
		o.CreatedEmitted = true
		if _, err := b.tracker.Adopt(o); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
