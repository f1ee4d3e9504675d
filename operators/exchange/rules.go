package exchange

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
)

// TradingRules are a market's order constraints. A zero decimal means "no
// constraint"; empty OrderTypes / TimeInForces mean "all accepted".
type TradingRules struct {
	Symbol      domain.Symbol
	VenueSymbol string
	// PriceTick: prices must be multiples of it.
	PriceTick decimal.Decimal
	// AmountStep (lot size): amounts must be multiples of it.
	AmountStep decimal.Decimal
	MinAmount  decimal.Decimal
	MaxAmount  decimal.Decimal
	MinPrice   decimal.Decimal
	MaxPrice   decimal.Decimal
	// MinNotional: price × amount must be at least this (quote asset).
	MinNotional decimal.Decimal
	// MaxNotional: price × amount must be at most this.
	MaxNotional  decimal.Decimal
	OrderTypes   []OrderType
	TimeInForces []TimeInForce
	// Inactive markets accept no orders.
	Inactive bool
}

// RulesFromMarket returns the trading rules a domain.Market carries.
func RulesFromMarket(m domain.Market) TradingRules {
	return TradingRules{
		Symbol:      m.Symbol,
		VenueSymbol: m.VenueSymbol,
		PriceTick:   m.PriceTick,
		AmountStep:  m.AmountStep,
		MinAmount:   m.MinAmount,
		MaxAmount:   m.MaxAmount,
		MinNotional: m.MinNotional,
		Inactive:    !m.Active,
	}
}

// Check checks the rules themselves: no negative values, min ≤ max.
func (r TradingRules) Check() error {
	for _, f := range []struct {
		name string
		v    decimal.Decimal
	}{{"price tick", r.PriceTick}, {"amount step", r.AmountStep}, {"min amount", r.MinAmount}, {"max amount", r.MaxAmount},
		{"min price", r.MinPrice}, {"max price", r.MaxPrice}, {"min notional", r.MinNotional}, {"max notional", r.MaxNotional}} {
		if f.v.IsNeg() {
			return fmt.Errorf("exchange: trading rules for %s: %s %s is negative", r.Symbol, f.name, f.v)
		}
	}
	for _, p := range []struct {
		name     string
		min, max decimal.Decimal
	}{{"amount", r.MinAmount, r.MaxAmount}, {"price", r.MinPrice, r.MaxPrice}, {"notional", r.MinNotional, r.MaxNotional}} {
		if !p.max.IsZero() && p.min.Cmp(p.max) > 0 {
			return fmt.Errorf("exchange: trading rules for %s: min %s %s exceeds max %s", r.Symbol, p.name, p.min, p.max)
		}
	}
	return nil
}

// floorTo returns the largest multiple of step ≤ v (v itself if step is
// zero); ceilTo the smallest multiple ≥ v. v and step are non-negative.
func floorTo(v, step decimal.Decimal) (decimal.Decimal, error) {
	if step.IsZero() {
		return v, nil
	}
	q, _, err := v.QuoRem(step)
	if err != nil {
		return decimal.Decimal{}, err
	}
	out, err := q.Mul(step)
	if err != nil {
		return decimal.Decimal{}, err
	}
	return out.Trim(step.Scale()), nil
}

func ceilTo(v, step decimal.Decimal) (decimal.Decimal, error) {
	if step.IsZero() {
		return v, nil
	}
	q, rem, err := v.QuoRem(step)
	if err != nil {
		return decimal.Decimal{}, err
	}
	if !rem.IsZero() {
		if q, err = q.Add(q.One()); err != nil {
			return decimal.Decimal{}, err
		}
	}
	out, err := q.Mul(step)
	if err != nil {
		return decimal.Decimal{}, err
	}
	return out.Trim(step.Scale()), nil
}

func isMultiple(v, step decimal.Decimal) bool {
	if step.IsZero() {
		return true
	}
	_, rem, err := v.QuoRem(step)
	return err == nil && rem.IsZero()
}

// QuantizePrice rounds price to the tick. A passive price (aggressive =
// false) rounds away from the market: buys down, sells up, so the order
// never pays more than asked. An aggressive price rounds toward the
// market: buys up, sells down, so a price meant to cross still crosses.
func (r TradingRules) QuantizePrice(side domain.Side, price decimal.Decimal, aggressive bool) (decimal.Decimal, error) {
	if price.IsNeg() {
		return decimal.Decimal{}, &RuleError{Symbol: r.Symbol, Field: "price", Value: price, Rule: "must not be negative"}
	}
	up := side == domain.Sell
	if aggressive {
		up = !up
	}
	var (
		out decimal.Decimal
		err error
	)
	if up {
		out, err = ceilTo(price, r.PriceTick)
	} else {
		out, err = floorTo(price, r.PriceTick)
	}
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("exchange: quantize price %s to tick %s: %w", price, r.PriceTick, err)
	}
	return out, nil
}

// QuantizeAmount floors amount to the lot size and caps it at MaxAmount.
// It returns zero when the result is below MinAmount, or when price is
// positive and price × amount is below MinNotional: such an order cannot
// be placed. Pass a zero price to skip the notional check (market orders
// without a reference price).
func (r TradingRules) QuantizeAmount(amount, price decimal.Decimal) (decimal.Decimal, error) {
	if amount.IsNeg() {
		return decimal.Decimal{}, &RuleError{Symbol: r.Symbol, Field: "amount", Value: amount, Rule: "must not be negative"}
	}
	if !r.MaxAmount.IsZero() && amount.Cmp(r.MaxAmount) > 0 {
		amount = r.MaxAmount
	}
	out, err := floorTo(amount, r.AmountStep)
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("exchange: quantize amount %s to step %s: %w", amount, r.AmountStep, err)
	}
	if out.IsZero() || out.Cmp(r.MinAmount) < 0 {
		return decimal.Decimal{}, nil
	}
	if price.IsPos() && !r.MinNotional.IsZero() {
		n, err := price.Mul(out)
		if err != nil {
			return decimal.Decimal{}, fmt.Errorf("exchange: notional %s × %s: %w", price, out, err)
		}
		if n.Cmp(r.MinNotional) < 0 {
			return decimal.Decimal{}, nil
		}
	}
	return out, nil
}

// Quantize returns req with its price (passive rounding for limit orders)
// and amount quantized. An amount that quantizes to zero is an error
// naming the minimum it misses.
func (r TradingRules) Quantize(req OrderRequest) (OrderRequest, error) {
	if req.Type != Market {
		p, err := r.QuantizePrice(req.Side, req.Price, false)
		if err != nil {
			return req, err
		}
		req.Price = p
	}
	price := req.Price
	if req.Type == Market {
		price = decimal.Decimal{}
	}
	a, err := r.QuantizeAmount(req.Amount, price)
	if err != nil {
		return req, err
	}
	if a.IsZero() {
		return req, r.tooSmall(req.Amount, price)
	}
	req.Amount = a
	return req, nil
}

func (r TradingRules) tooSmall(amount, price decimal.Decimal) error {
	fl, _ := floorTo(amount, r.AmountStep)
	switch {
	case fl.IsZero() && !r.AmountStep.IsZero():
		return &RuleError{Symbol: r.Symbol, Field: "amount", Value: amount, Rule: "rounds to 0 at lot size " + r.AmountStep.String()}
	case fl.Cmp(r.MinAmount) < 0:
		return &RuleError{Symbol: r.Symbol, Field: "amount", Value: amount, Rule: "is below the minimum amount " + r.MinAmount.String()}
	case fl.IsZero():
		return &RuleError{Symbol: r.Symbol, Field: "amount", Value: amount, Rule: "must be positive"}
	default:
		n, _ := price.Mul(fl)
		return &RuleError{Symbol: r.Symbol, Field: "notional", Value: n, Rule: "is below the minimum notional " + r.MinNotional.String()}
	}
}

// RuleError names the value that breaks a trading rule and the rule.
type RuleError struct {
	Symbol domain.Symbol
	Field  string // "price", "amount", "notional", "type", "time in force", "side", "market"
	Value  decimal.Decimal
	Text   string // the offending value when it is not a number
	Rule   string
}

func (e *RuleError) Error() string {
	v := e.Text
	if v == "" {
		v = e.Value.String()
	}
	return fmt.Sprintf("exchange: %s %s %s %s", e.Symbol, e.Field, v, e.Rule)
}

// Validate checks req against the rules without changing it, as the venue
// would before accepting it. It returns every violation, joined; each is a
// *RuleError (errors.As finds the first).
func (r TradingRules) Validate(req OrderRequest) error {
	var errs []error
	bad := func(field string, v decimal.Decimal, rule string) {
		errs = append(errs, &RuleError{Symbol: r.Symbol, Field: field, Value: v, Rule: rule})
	}
	badText := func(field, v, rule string) {
		errs = append(errs, &RuleError{Symbol: r.Symbol, Field: field, Text: v, Rule: rule})
	}
	if r.Inactive {
		badText("market", "inactive", "accepts no orders")
	}
	if req.Side != domain.Buy && req.Side != domain.Sell {
		badText("side", req.Side.String(), "must be buy or sell")
	}
	if len(r.OrderTypes) > 0 && !slices.Contains(r.OrderTypes, req.Type) {
		badText("type", req.Type.String(), "is not accepted (accepted: "+joinStrings(r.OrderTypes)+")")
	}
	// Market orders never rest, so their time in force is not checked.
	if req.Type != Market && len(r.TimeInForces) > 0 && !slices.Contains(r.TimeInForces, req.TimeInForce) {
		badText("time in force", req.TimeInForce.String(), "is not accepted (accepted: "+joinStrings(r.TimeInForces)+")")
	}
	switch {
	case !req.Amount.IsPos():
		bad("amount", req.Amount, "must be positive")
	default:
		if !isMultiple(req.Amount, r.AmountStep) {
			bad("amount", req.Amount, "is not a multiple of the lot size "+r.AmountStep.String())
		}
		if req.Amount.Cmp(r.MinAmount) < 0 {
			bad("amount", req.Amount, "is below the minimum amount "+r.MinAmount.String())
		}
		if !r.MaxAmount.IsZero() && req.Amount.Cmp(r.MaxAmount) > 0 {
			bad("amount", req.Amount, "is above the maximum amount "+r.MaxAmount.String())
		}
	}
	if req.Type != Market {
		switch {
		case !req.Price.IsPos():
			bad("price", req.Price, "must be positive for a "+req.Type.String()+" order")
		default:
			if !isMultiple(req.Price, r.PriceTick) {
				bad("price", req.Price, "is not a multiple of the tick size "+r.PriceTick.String())
			}
			if req.Price.Cmp(r.MinPrice) < 0 {
				bad("price", req.Price, "is below the minimum price "+r.MinPrice.String())
			}
			if !r.MaxPrice.IsZero() && req.Price.Cmp(r.MaxPrice) > 0 {
				bad("price", req.Price, "is above the maximum price "+r.MaxPrice.String())
			}
			if req.Amount.IsPos() {
				if n, err := req.Price.Mul(req.Amount); err == nil {
					if n.Cmp(r.MinNotional) < 0 {
						bad("notional", n, "is below the minimum notional "+r.MinNotional.String())
					}
					if !r.MaxNotional.IsZero() && n.Cmp(r.MaxNotional) > 0 {
						bad("notional", n, "is above the maximum notional "+r.MaxNotional.String())
					}
				}
			}
		}
	}
	return errors.Join(errs...)
}

func joinStrings[T fmt.Stringer](vs []T) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = v.String()
	}
	return strings.Join(s, ", ")
}
