package exchange

import (
	"errors"
	"strings"
	"testing"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
)

var testRules = TradingRules{
	Symbol:      btcusdt,
	PriceTick:   d("0.01"),
	AmountStep:  d("0.001"),
	MinAmount:   d("0.002"),
	MaxAmount:   d("100"),
	MinNotional: d("5"),
}

func TestQuantizePrice(t *testing.T) {
	tests := []struct {
		side       domain.Side
		price      string
		aggressive bool
		want       string
	}{
		{domain.Buy, "100.019", false, "100.01"},  // passive buy rounds down
		{domain.Buy, "100.011", true, "100.02"},   // aggressive buy rounds up
		{domain.Sell, "100.011", false, "100.02"}, // passive sell rounds up
		{domain.Sell, "100.019", true, "100.01"},  // aggressive sell rounds down
		{domain.Buy, "100.01", false, "100.01"},   // already on the tick
		{domain.Sell, "100.01", true, "100.01"},
		{domain.Buy, "0.004", false, "0.00"},
	}
	for _, tt := range tests {
		got, err := testRules.QuantizePrice(tt.side, d(tt.price), tt.aggressive)
		if err != nil || got.String() != tt.want {
			t.Errorf("QuantizePrice(%v, %s, %v) = %s, %v; want %s", tt.side, tt.price, tt.aggressive, got, err, tt.want)
		}
	}
	// No tick: unchanged.
	if got, _ := (TradingRules{}).QuantizePrice(domain.Buy, d("1.23456"), false); got.String() != "1.23456" {
		t.Fatal(got)
	}
	// Non-decimal tick (0.5).
	half := TradingRules{PriceTick: d("0.5")}
	if got, _ := half.QuantizePrice(domain.Sell, d("10.2"), false); got.String() != "10.5" {
		t.Fatal(got)
	}
	if _, err := testRules.QuantizePrice(domain.Buy, d("-1"), false); err == nil {
		t.Fatal("negative price accepted")
	}
}

func TestQuantizeAmount(t *testing.T) {
	tests := []struct {
		amount, price, want string
	}{
		{"1.2345", "100", "1.234"},
		{"0.0029", "10000", "0.002"},
		{"0.0019", "10000", "0"},  // below min amount
		{"0.04", "100", "0"},      // notional 4 < 5
		{"0.05", "100", "0.050"},  // notional exactly 5
		{"0.04", "0", "0.040"},    // no price: notional not checked
		{"250", "100", "100.000"}, // capped at max
		{"0.0001", "100", "0"},    // rounds to zero
	}
	for _, tt := range tests {
		got, err := testRules.QuantizeAmount(d(tt.amount), d(tt.price))
		if err != nil || !got.Equal(d(tt.want)) {
			t.Errorf("QuantizeAmount(%s, %s) = %s, %v; want %s", tt.amount, tt.price, got, err, tt.want)
		}
	}
}

func TestQuantizeOrder(t *testing.T) {
	req := OrderRequest{Symbol: btcusdt, Side: domain.Sell, Price: d("100.123"), Amount: d("0.5555")}
	q, err := testRules.Quantize(req)
	if err != nil || q.Price.String() != "100.13" || q.Amount.String() != "0.555" {
		t.Fatalf("%s %s %v", q.Price, q.Amount, err)
	}
	if err := testRules.Validate(q); err != nil {
		t.Fatalf("quantized order invalid: %v", err)
	}
	_, err = testRules.Quantize(OrderRequest{Symbol: btcusdt, Side: domain.Buy, Price: d("100"), Amount: d("0.04")})
	var re *RuleError
	if !errors.As(err, &re) || re.Field != "notional" || !strings.Contains(err.Error(), "minimum notional 5") {
		t.Fatalf("error %v", err)
	}
	_, err = testRules.Quantize(OrderRequest{Symbol: btcusdt, Side: domain.Buy, Price: d("100"), Amount: d("0.0015")})
	if !errors.As(err, &re) || re.Field != "amount" || !strings.Contains(err.Error(), "minimum amount 0.002") {
		t.Fatalf("error %v", err)
	}
	_, err = testRules.Quantize(OrderRequest{Symbol: btcusdt, Side: domain.Buy, Price: d("100"), Amount: d("0.0001")})
	if err == nil || !strings.Contains(err.Error(), "rounds to 0 at lot size 0.001") {
		t.Fatalf("error %v", err)
	}
}

func TestValidate(t *testing.T) {
	rules := testRules
	rules.OrderTypes = []OrderType{Limit, Market}
	rules.TimeInForces = []TimeInForce{GTC, IOC}
	rules.MaxPrice = d("1000000")
	ok := OrderRequest{Symbol: btcusdt, Side: domain.Buy, Price: d("100.01"), Amount: d("0.1")}
	tests := []struct {
		name   string
		mutate func(*OrderRequest)
		field  string
		msg    string
	}{
		{"ok", func(*OrderRequest) {}, "", ""},
		{"off tick", func(r *OrderRequest) { r.Price = d("100.015") }, "price", "BTC/USDT price 100.015 is not a multiple of the tick size 0.01"},
		{"off lot", func(r *OrderRequest) { r.Amount = d("0.1005") }, "amount", "amount 0.1005 is not a multiple of the lot size 0.001"},
		{"small", func(r *OrderRequest) { r.Amount = d("0.001") }, "amount", "below the minimum amount 0.002"},
		{"big", func(r *OrderRequest) { r.Amount = d("101") }, "amount", "above the maximum amount 100"},
		{"notional", func(r *OrderRequest) { r.Price = d("1"); r.Amount = d("1") }, "notional", "notional 1 is below the minimum notional 5"},
		{"no price", func(r *OrderRequest) { r.Price = decimal.Decimal{} }, "price", "must be positive for a limit order"},
		{"zero amount", func(r *OrderRequest) { r.Amount = decimal.Decimal{} }, "amount", "must be positive"},
		{"type", func(r *OrderRequest) { r.Type = LimitMaker }, "type", "type limit_maker is not accepted (accepted: limit, market)"},
		{"tif", func(r *OrderRequest) { r.TimeInForce = FOK }, "time in force", "fok is not accepted (accepted: gtc, ioc)"},
		{"side", func(r *OrderRequest) { r.Side = domain.SideUnknown }, "side", "must be buy or sell"},
		{"market without price", func(r *OrderRequest) { r.Type = Market; r.Price = decimal.Decimal{}; r.TimeInForce = FOK }, "", ""},
		{"too expensive", func(r *OrderRequest) { r.Price = d("2000000") }, "price", "above the maximum price"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := ok
			tt.mutate(&req)
			err := rules.Validate(req)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			var re *RuleError
			if !errors.As(err, &re) || re.Field != tt.field || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error %v, want field %q containing %q", err, tt.field, tt.msg)
			}
		})
	}
	inactive := rules
	inactive.Inactive = true
	if err := inactive.Validate(ok); err == nil || !strings.Contains(err.Error(), "accepts no orders") {
		t.Fatal(err)
	}
}

func TestRulesCheckAndFromMarket(t *testing.T) {
	if err := testRules.Check(); err != nil {
		t.Fatal(err)
	}
	bad := testRules
	bad.MinAmount = d("1000")
	if err := bad.Check(); err == nil {
		t.Fatal("min > max accepted")
	}
	bad = testRules
	bad.PriceTick = d("-0.01")
	if err := bad.Check(); err == nil {
		t.Fatal("negative tick accepted")
	}
	r := RulesFromMarket(domain.Market{Symbol: btcusdt, VenueSymbol: "BTCUSDT", PriceTick: d("0.01"), AmountStep: d("0.00001"), MinNotional: d("5"), Active: true})
	if r.Inactive || r.VenueSymbol != "BTCUSDT" || !r.AmountStep.Equal(d("0.00001")) {
		t.Fatalf("%+v", r)
	}
}
