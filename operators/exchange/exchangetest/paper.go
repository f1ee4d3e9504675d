package exchangetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators"
	"github.com/pype-go/pype/operators/exchange"
)

// PaperVenue is an in-memory exchange for tests and paper trading. It is
// deliberately simple and honest about it:
//
//   - Each market has one settable reference price (SetPrice); there is no
//     order book and no other participants.
//   - A limit order whose price crosses the reference price when placed
//     executes in full at the reference price (taker); otherwise it rests.
//     LimitMaker orders that would cross are rejected. IOC/FOK orders that
//     do not cross expire. Market orders execute in full at the reference
//     price (rejected if the market has no price).
//   - SetPrice fills every resting order the new price reaches in full, at
//     the order's limit price (maker). [PaperVenue.Fill] executes part of an
//     order at its limit price, for partial-fill scenarios.
//   - Fees are FeeRate × quote amount, charged in the quote asset.
//   - Balances are whatever SetBalance says; they are not checked or
//     moved by trading.
//   - HideOrder makes the venue answer "not found" for an order a number
//     of times (to exercise lost-order handling).
//
// Every order keeps a per-order update sequence, reported in OrderUpdate.
// PaperVenue is safe for concurrent use and uses no goroutines.
type PaperVenue struct {
	clock operators.Clock

	mu        sync.Mutex
	rules     map[domain.Symbol]exchange.TradingRules
	prices    map[domain.Symbol]decimal.Decimal
	orders    map[string]*paperOrder // by exchange id
	byClient  map[string]string      // client id → exchange id
	fills     []exchange.Fill
	hidden    map[string]int // exchange id → not-found answers left
	balances  map[string]exchange.Balance
	feeRate   decimal.Decimal
	nextOrder int64
	nextTrade int64
}

type paperOrder struct {
	order exchange.Order
	seq   int64
}

// NewPaperVenue returns an empty venue with the given markets (their rules
// are enforced on placement). clock nil means the system clock.
func NewPaperVenue(clock operators.Clock, rules ...exchange.TradingRules) *PaperVenue {
	if clock == nil {
		clock = operators.SystemClock{}
	}
	v := &PaperVenue{
		clock:    clock,
		rules:    map[domain.Symbol]exchange.TradingRules{},
		prices:   map[domain.Symbol]decimal.Decimal{},
		orders:   map[string]*paperOrder{},
		byClient: map[string]string{},
		hidden:   map[string]int{},
		balances: map[string]exchange.Balance{},
		feeRate:  decimal.MustParse("0.001"),
	}
	for _, r := range rules {
		v.rules[r.Symbol] = r
	}
	return v
}

// Rules returns the venue's markets' rules, sorted by symbol.
func (v *PaperVenue) Rules() []exchange.TradingRules {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]exchange.TradingRules, 0, len(v.rules))
	for _, r := range v.rules {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b exchange.TradingRules) int { return compareStrings(a.Symbol.String(), b.Symbol.String()) })
	return out
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// SetFeeRate sets the fee as a fraction of the quote amount (default 0.001).
func (v *PaperVenue) SetFeeRate(rate decimal.Decimal) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.feeRate = rate
}

// SetBalance sets an asset's balance.
func (v *PaperVenue) SetBalance(b exchange.Balance) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.balances[b.Asset] = b
}

// SetPrice sets a market's reference price and fills every resting order
// the price reaches (buys priced at or above it, sells at or below), in
// full at their limit prices.
func (v *PaperVenue) SetPrice(symbol domain.Symbol, price decimal.Decimal) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.prices[symbol] = price
	ids := make([]string, 0, len(v.orders))
	for id := range v.orders {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		po := v.orders[id]
		o := &po.order
		if o.Symbol != symbol || !o.State.IsActive() || o.Type == exchange.Market {
			continue
		}
		if crosses(o.Side, o.Price, price) {
			v.execute(po, o.Remaining(), o.Price, true)
		}
	}
}

func crosses(side domain.Side, limit, price decimal.Decimal) bool {
	if side == domain.Buy {
		return limit.Cmp(price) >= 0
	}
	return limit.Cmp(price) <= 0
}

func (v *PaperVenue) now() int64 { return v.clock.Now().UnixNano() }

// execute fills amount of po at price; v.mu is held.
func (v *PaperVenue) execute(po *paperOrder, amount, price decimal.Decimal, maker bool) {
	o := &po.order
	if !amount.IsPos() {
		return
	}
	quote, _ := price.Mul(amount)
	fee, _ := quote.Mul(v.feeRate)
	v.nextTrade++
	f := exchange.Fill{
		ClientOrderID:   o.ClientOrderID,
		ExchangeOrderID: o.ExchangeOrderID,
		TradeID:         "T" + strconv.FormatInt(v.nextTrade, 10),
		Price:           price,
		Amount:          amount,
		Fee:             fee,
		FeeAsset:        o.Symbol.Quote,
		Timestamp:       v.now(),
		Maker:           maker,
	}
	v.fills = append(v.fills, f)
	o.Executed, _ = o.Executed.Add(amount)
	o.QuoteExecuted, _ = o.QuoteExecuted.Add(quote)
	if o.Executed.Cmp(o.Amount) >= 0 {
		v.setState(po, exchange.Filled)
	} else {
		v.setState(po, exchange.PartiallyFilled)
	}
}

func (v *PaperVenue) setState(po *paperOrder, s exchange.OrderState) {
	po.order.State = s
	po.order.UpdatedAt = v.now()
	po.seq++
}

func (v *PaperVenue) update(po *paperOrder) exchange.OrderUpdate {
	o := po.order
	return exchange.OrderUpdate{
		ClientOrderID:   o.ClientOrderID,
		ExchangeOrderID: o.ExchangeOrderID,
		State:           o.State,
		Timestamp:       o.UpdatedAt,
		Sequence:        po.seq,
		Executed:        o.Executed,
		AveragePrice:    o.AveragePrice(),
		Reason:          o.Reason,
	}
}

// lookup finds an order by exchange or client id; v.mu is held.
func (v *PaperVenue) lookup(ref exchange.OrderRef) (*paperOrder, bool) {
	id := ref.ExchangeOrderID
	if id == "" {
		id = v.byClient[ref.ClientOrderID]
	}
	po, ok := v.orders[id]
	if !ok {
		return nil, false
	}
	if v.hidden[id] > 0 {
		v.hidden[id]--
		return nil, false
	}
	return po, true
}

func notFound(ref exchange.OrderRef) error {
	return fmt.Errorf("paper: order %s: %w", ref, exchange.ErrOrderNotFound)
}

// Place accepts or rejects an order (see the type's documentation).
// Rejections are *exchange.RejectedError.
func (v *PaperVenue) Place(req exchange.OrderRequest) (exchange.OrderUpdate, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	rules, ok := v.rules[req.Symbol]
	if !ok {
		return exchange.OrderUpdate{}, &exchange.RejectedError{Code: "-1121", Reason: "invalid symbol " + req.Symbol.String()}
	}
	if err := rules.Validate(req); err != nil {
		return exchange.OrderUpdate{}, &exchange.RejectedError{Code: "-1013", Reason: err.Error()}
	}
	if req.ClientOrderID != "" {
		if _, dup := v.byClient[req.ClientOrderID]; dup {
			return exchange.OrderUpdate{}, &exchange.RejectedError{Code: "-2010", Reason: "duplicate client order id " + req.ClientOrderID}
		}
	}
	price, havePrice := v.prices[req.Symbol]
	if req.Type == exchange.Market && !havePrice {
		return exchange.OrderUpdate{}, &exchange.RejectedError{Code: "-2010", Reason: "no market price for " + req.Symbol.String()}
	}
	cross := havePrice && (req.Type == exchange.Market || crosses(req.Side, req.Price, price))
	if req.Type == exchange.LimitMaker && cross {
		return exchange.OrderUpdate{}, &exchange.RejectedError{Code: "-2010", Reason: "limit maker order would immediately match"}
	}
	v.nextOrder++
	id := strconv.FormatInt(v.nextOrder, 10)
	cid := req.ClientOrderID
	if cid == "" {
		cid = "paper-" + id
	}
	now := v.now()
	po := &paperOrder{order: exchange.Order{
		ClientOrderID: cid, ExchangeOrderID: id, Symbol: req.Symbol, Side: req.Side, Type: req.Type,
		TimeInForce: req.TimeInForce, Price: req.Price, Amount: req.Amount, State: exchange.Open,
		CreatedAt: now, UpdatedAt: now,
	}, seq: 1}
	v.orders[id] = po
	v.byClient[cid] = id
	switch {
	case cross:
		v.execute(po, req.Amount, price, false)
	case req.TimeInForce == exchange.IOC || req.TimeInForce == exchange.FOK:
		po.order.Reason = "no liquidity at the limit price"
		v.setState(po, exchange.Expired)
	}
	return v.update(po), nil
}

// Cancel cancels an active order. Unknown (or hidden) orders wrap
// exchange.ErrOrderNotFound; finished orders are rejected.
func (v *PaperVenue) Cancel(ref exchange.OrderRef) (exchange.OrderUpdate, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	po, ok := v.lookup(ref)
	if !ok {
		return exchange.OrderUpdate{}, notFound(ref)
	}
	if !po.order.State.IsActive() {
		return v.update(po), &exchange.RejectedError{Code: "-2011", Reason: "order is " + po.order.State.String()}
	}
	po.order.Reason = "canceled by user"
	v.setState(po, exchange.Canceled)
	return v.update(po), nil
}

// Get returns an order's state.
func (v *PaperVenue) Get(ref exchange.OrderRef) (exchange.OrderUpdate, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	po, ok := v.lookup(ref)
	if !ok {
		return exchange.OrderUpdate{}, notFound(ref)
	}
	return v.update(po), nil
}

// Order returns the venue's full view of an order (not subject to HideOrder).
func (v *PaperVenue) Order(ref exchange.OrderRef) (exchange.Order, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	id := ref.ExchangeOrderID
	if id == "" {
		id = v.byClient[ref.ClientOrderID]
	}
	po, ok := v.orders[id]
	if !ok {
		return exchange.Order{}, false
	}
	return po.order, true
}

// OpenOrders returns the active orders of symbol (all markets if zero).
func (v *PaperVenue) OpenOrders(symbol domain.Symbol) []exchange.Order {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []exchange.Order
	for _, po := range v.orders {
		if po.order.State.IsActive() && (symbol.IsZero() || po.order.Symbol == symbol) {
			o := po.order
			o.VenueExecuted = o.Executed
			o.Executed, o.QuoteExecuted = decimal.Decimal{}, decimal.Decimal{}
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b exchange.Order) int { return compareStrings(a.ExchangeOrderID, b.ExchangeOrderID) })
	return out
}

// Fills returns the fills matching q, oldest first.
func (v *PaperVenue) Fills(q exchange.FillQuery) []exchange.Fill {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []exchange.Fill
	for _, f := range v.fills {
		if f.Timestamp < q.Since {
			continue
		}
		if q.Order.ExchangeOrderID != "" && f.ExchangeOrderID != q.Order.ExchangeOrderID {
			continue
		}
		if q.Order.ClientOrderID != "" && f.ClientOrderID != q.Order.ClientOrderID {
			continue
		}
		if !q.Symbol.IsZero() {
			if po := v.orders[f.ExchangeOrderID]; po == nil || po.order.Symbol != q.Symbol {
				continue
			}
		}
		out = append(out, f)
	}
	return out
}

// Balances returns the balances set with SetBalance, sorted by asset.
func (v *PaperVenue) Balances() []exchange.Balance {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]exchange.Balance, 0, len(v.balances))
	for _, b := range v.balances {
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b exchange.Balance) int { return compareStrings(a.Asset, b.Asset) })
	return out
}

// Fill executes amount (capped at the remainder) of an active order at its
// limit price, as a maker.
func (v *PaperVenue) Fill(_ context.Context, ref exchange.OrderRef, amount decimal.Decimal) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	id := ref.ExchangeOrderID
	if id == "" {
		id = v.byClient[ref.ClientOrderID]
	}
	po, ok := v.orders[id]
	if !ok {
		return notFound(ref)
	}
	if !po.order.State.IsActive() {
		return fmt.Errorf("paper: order %s is %v", ref, po.order.State)
	}
	if rem := po.order.Remaining(); amount.Cmp(rem) > 0 {
		amount = rem
	}
	price := po.order.Price
	if po.order.Type == exchange.Market {
		price = v.prices[po.order.Symbol]
	}
	v.execute(po, amount, price, true)
	return nil
}

// HideOrder makes the next n lookups of the order (Get, Cancel) answer
// "not found".
func (v *PaperVenue) HideOrder(ref exchange.OrderRef, n int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	id := ref.ExchangeOrderID
	if id == "" {
		id = v.byClient[ref.ClientOrderID]
	}
	v.hidden[id] = n
}

// PaperOperator is an exchange connector for a [PaperVenue]. It implements
// exchange.Trader, OpenOrderLister, FillLister, BalanceReader and
// operators.Fetcher (FetchUpdates refreshes active and lost orders and
// fills), and passes the conformance kit ([Run]).
type PaperOperator struct {
	*exchange.Base
	venue *PaperVenue

	mu        sync.Mutex
	fillSince int64
}

// NewPaperOperator returns an operator for venue, with platform identifier
// "paper" unless cfg says otherwise. The venue's rules are loaded.
func NewPaperOperator(venue *PaperVenue, cfg operators.OperatorConfiguration, opts ...exchange.Option) (*PaperOperator, error) {
	if cfg.Platform.IsZero() {
		cfg.Platform = operators.ExchangePlatform("paper")
	}
	b, err := exchange.NewBase(cfg, opts...)
	if err != nil {
		return nil, err
	}
	if err := b.SetTradingRules(venue.Rules()...); err != nil {
		return nil, err
	}
	return &PaperOperator{Base: b, venue: venue}, nil
}

// Venue returns the venue the operator trades on.
func (p *PaperOperator) Venue() *PaperVenue { return p.venue }

// PlaceOrder submits req to the venue (raw call; see Base.PlaceTracked).
func (p *PaperOperator) PlaceOrder(ctx context.Context, req exchange.OrderRequest) (exchange.OrderUpdate, error) {
	if err := ctx.Err(); err != nil {
		return exchange.OrderUpdate{}, err
	}
	return p.venue.Place(req)
}

// CancelOrder cancels at the venue (raw call; see Base.CancelTracked).
func (p *PaperOperator) CancelOrder(ctx context.Context, ref exchange.OrderRef) (exchange.OrderUpdate, error) {
	if err := ctx.Err(); err != nil {
		return exchange.OrderUpdate{}, err
	}
	return p.venue.Cancel(ref)
}

// GetOrder queries the venue.
func (p *PaperOperator) GetOrder(ctx context.Context, ref exchange.OrderRef) (exchange.OrderUpdate, error) {
	if err := ctx.Err(); err != nil {
		return exchange.OrderUpdate{}, err
	}
	return p.venue.Get(ref)
}

// OpenOrders lists the venue's open orders.
func (p *PaperOperator) OpenOrders(ctx context.Context, symbol domain.Symbol) ([]exchange.Order, error) {
	return p.venue.OpenOrders(symbol), ctx.Err()
}

// Fills lists the venue's fills.
func (p *PaperOperator) Fills(ctx context.Context, q exchange.FillQuery) ([]exchange.Fill, error) {
	return p.venue.Fills(q), ctx.Err()
}

// Balances lists the venue's balances.
func (p *PaperOperator) Balances(ctx context.Context) ([]exchange.Balance, error) {
	return p.venue.Balances(), ctx.Err()
}

// Markets lists the venue's markets.
func (p *PaperOperator) Markets(ctx context.Context) ([]domain.Market, error) {
	var out []domain.Market
	for _, r := range p.venue.Rules() {
		out = append(out, domain.Market{
			Venue: p.Name(), Symbol: r.Symbol, VenueSymbol: r.VenueSymbol, Kind: r.Symbol.Market, Active: !r.Inactive,
			PriceTick: r.PriceTick, AmountStep: r.AmountStep, MinAmount: r.MinAmount, MaxAmount: r.MaxAmount, MinNotional: r.MinNotional,
		})
	}
	return out, ctx.Err()
}

// FetchUpdates is the poll loop's work: refresh active orders, lost
// orders, and fills since the newest fill seen (the boundary fill comes
// again and is de-duplicated).
func (p *PaperOperator) FetchUpdates(ctx context.Context) error {
	var errs []error
	p.mu.Lock()
	since := p.fillSince
	p.mu.Unlock()
	fills, err := p.Fills(ctx, exchange.FillQuery{Since: since})
	if err != nil {
		errs = append(errs, err)
	}
	for _, f := range fills {
		if _, err := p.Tracker().ProcessFill(f); err != nil {
			var unknown *exchange.UnknownOrderError
			if !errors.As(err, &unknown) {
				errs = append(errs, err)
			}
		}
		if f.Timestamp > since {
			since = f.Timestamp
		}
	}
	p.mu.Lock()
	p.fillSince = since
	p.mu.Unlock()
	errs = append(errs, p.RefreshOrders(ctx, p), p.RefreshLost(ctx, p))
	return errors.Join(errs...)
}

var (
	_ exchange.Trader          = (*PaperOperator)(nil)
	_ exchange.OpenOrderLister = (*PaperOperator)(nil)
	_ exchange.FillLister      = (*PaperOperator)(nil)
	_ exchange.BalanceReader   = (*PaperOperator)(nil)
	_ exchange.MarketLister    = (*PaperOperator)(nil)
	_ operators.Fetcher        = (*PaperOperator)(nil)
)
