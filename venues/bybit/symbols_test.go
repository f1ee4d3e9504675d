package bybit

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/transport/ws"
	"github.com/pype-go/pype/venues"
)

func TestMarketsFromInstruments(t *testing.T) {
	ms := func(tm time.Time) flexInt { return flexInt(tm.UnixMilli()) }
	fut := func(sym, base, quote, ct string, delivery time.Time) instrument {
		r := instrument{Symbol: sym, BaseCoin: base, QuoteCoin: quote, ContractType: ct, Status: "Trading", DeliveryTime: ms(delivery)}
		r.PriceFilter.TickSize = "0.5"
		r.LotSizeFilter.QtyStep = "1"
		return r
	}
	spot := instrument{Symbol: "BTCUSDT", BaseCoin: "BTC", QuoteCoin: "USDT", Status: "Trading"}
	spot.PriceFilter.TickSize = "0.01"
	spot.LotSizeFilter.BasePrecision = "0.000001"
	spot.LotSizeFilter.MinOrderQty = "0.000048"
	spot.LotSizeFilter.MaxOrderQty = "71.7"
	spot.LotSizeFilter.MinOrderAmt = "1"
	perp := instrument{Symbol: "BTCUSDT", BaseCoin: "BTC", QuoteCoin: "USDT", ContractType: "LinearPerpetual", Status: "Trading"}
	perp.PriceFilter.TickSize = "0.10"
	perp.LotSizeFilter.QtyStep = "0.001"
	perp.LotSizeFilter.MinNotionalValue = "5"
	usdc := instrument{Symbol: "BTCPERP", BaseCoin: "BTC", QuoteCoin: "USDC", ContractType: "LinearPerpetual", Status: "Trading"}
	inv := instrument{Symbol: "BTCUSD", BaseCoin: "BTC", QuoteCoin: "USD", ContractType: "InversePerpetual", Status: "Trading"}
	jun, sep, dec := time.Date(2025, 6, 27, 8, 0, 0, 0, time.UTC), time.Date(2025, 9, 26, 8, 0, 0, 0, time.UTC), time.Date(2025, 12, 26, 8, 0, 0, 0, time.UTC)
	monthly := time.Date(2025, 5, 30, 8, 0, 0, 0, time.UTC)
	var all []Market
	all = append(all, marketsFromInstruments(Spot, []instrument{spot})...)
	all = append(all, marketsFromInstruments(Linear, []instrument{perp, usdc, fut("BTCUSDT-30MAY25", "BTC", "USDT", "LinearFutures", monthly)})...)
	all = append(all, marketsFromInstruments(Inverse, []instrument{inv, fut("BTCUSDZ25", "BTC", "USD", "InverseFutures", dec),
		fut("BTCUSDU25", "BTC", "USD", "InverseFutures", sep), fut("BTCUSDM25", "BTC", "USD", "InverseFutures", jun)})...)
	tab := newSymbolTable(all)
	for _, tc := range []struct {
		sym  string
		cat  Category
		name string
	}{
		{"BTC/USDT", Spot, "BTCUSDT"},
		{"BTC/USDT:perp", Linear, "BTCUSDT"},
		{"BTC/USDC:perp", Linear, "BTCPERP"},
		{"BTC/USD:perp", Inverse, "BTCUSD"},
		{"XBT/USD:perp", Inverse, "BTCUSD"},
		{"BTC/USD:quarter", Inverse, "BTCUSDM25"},
		{"BTC/USD:next_quarter", Inverse, "BTCUSDU25"},
	} {
		sym := domain.MustParseSymbol(tc.sym)
		cat, name, err := tab.venueSymbol(sym)
		if err != nil || cat != tc.cat || name != tc.name {
			t.Fatalf("%s: %s %s %v", tc.sym, cat, name, err)
		}
		back, err := tab.canonical(cat, strings.ToLower(name))
		if err != nil || back != sym {
			t.Fatalf("%s back: %v %v", tc.sym, back, err)
		}
	}
	m, _ := tab.market(domain.MustParseSymbol("BTC/USDT"))
	if m.PriceTick.String() != "0.01" || m.AmountStep.String() != "0.000001" || m.MinNotional.String() != "1" || m.PriceScale != 2 || m.AmountScale != 6 || !m.Active {
		t.Fatalf("spot market %+v", m)
	}
	m, _ = tab.market(domain.MustParseSymbol("BTC/USDT:perp"))
	if m.AmountStep.String() != "0.001" || m.MinNotional.String() != "5" || m.Kind != domain.Perp || m.ContractType != "LinearPerpetual" {
		t.Fatalf("perp market %+v", m)
	}
	// Unlisted: a typed error with suggestions; the monthly future has no
	// canonical name.
	_, _, err := tab.venueSymbol(domain.MustParseSymbol("BTC/EUR"))
	var se *SymbolError
	if !errors.As(err, &se) || !errors.Is(err, ErrInvalidSymbol) || len(se.Suggestions) == 0 || se.Category != Spot {
		t.Fatalf("%v", err)
	}
	if _, err := tab.canonical(Linear, "BTCUSDT-30MAY25"); err == nil {
		t.Fatal("monthly future has a canonical name")
	}
	if _, err := tab.canonical(Spot, "BTCUSD"); err == nil {
		t.Fatal("inverse name found in spot")
	}
}

func TestNaiveMapping(t *testing.T) {
	var tab *symbolTable // no instrument list
	for _, tc := range []struct {
		sym  string
		cat  Category
		name string
	}{{"ETH/USDT", Spot, "ETHUSDT"}, {"ETH/USDT:perp", Linear, "ETHUSDT"}, {"ETH/USDC:perp", Linear, "ETHPERP"}, {"ETH/USD:perp", Inverse, "ETHUSD"}} {
		cat, name, err := tab.venueSymbol(domain.MustParseSymbol(tc.sym))
		if err != nil || cat != tc.cat || name != tc.name {
			t.Fatalf("%s: %s %s %v", tc.sym, cat, name, err)
		}
		back, err := tab.canonical(cat, name)
		if err != nil || back != domain.MustParseSymbol(tc.sym) {
			t.Fatalf("%s back: %v %v", tc.sym, back, err)
		}
	}
	if _, _, err := tab.venueSymbol(domain.MustParseSymbol("BTC/USD:quarter")); !errors.Is(err, ErrInvalidSymbol) {
		t.Fatalf("quarter without a list: %v", err)
	}
}

func TestOpenValidation(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		cfg  venues.Config
		opts []Option
		want string
	}{
		{"rest scheme", venues.Config{RESTURL: "ftp://x"}, nil, "invalid base URL"},
		{"ws scheme", venues.Config{WSURL: "tcp://x"}, nil, "invalid base URL"},
		{"concurrency", venues.Config{Concurrency: -1}, nil, "concurrency"},
		{"limit", venues.Config{WeightLimit: -1}, nil, "request limit"},
		{"topics", venues.Config{}, []Option{WithTopicsPerConnection(0)}, "topics per connection"},
		{"categories", venues.Config{}, []Option{WithCategories()}, "at least one category"},
		{"category", venues.Config{}, []Option{WithCategories("option")}, "category option"},
		{"depth", venues.Config{}, []Option{WithBookDepth(20)}, "book depth 20"},
		{"heartbeat", venues.Config{}, []Option{WithHeartbeat(0, time.Second)}, "heartbeat"},
	} {
		_, err := Open(ctx, tc.cfg, append(tc.opts, WithoutStartupInfo())...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%s: %v", tc.name, err)
		}
	}
	a, err := Open(ctx, venues.Config{WSURL: "wss://stream.bybit.com/v5/public/linear/"}, WithoutStartupInfo())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.wsEndpoint(Spot) != "wss://stream.bybit.com/v5/public/spot" || a.Info().RESTURL != DefaultRESTURL {
		t.Fatalf("%s %s", a.wsEndpoint(Spot), a.Info().RESTURL)
	}
}

func TestTopicDepth(t *testing.T) {
	a := &Adapter{}
	for _, tc := range []struct {
		cat   Category
		depth int
		want  int
	}{{Spot, 1, 1}, {Spot, 20, 50}, {Spot, 50, 50}, {Spot, 120, 200}, {Linear, 300, 500}, {Spot, 300, 0}} {
		got, err := a.topicDepth(tc.cat, tc.depth)
		if got != tc.want || (tc.want == 0) != errors.Is(err, domain.ErrNoCapability) {
			t.Fatalf("%s %d: %d %v", tc.cat, tc.depth, got, err)
		}
	}
	a.opt.bookDepth = 200
	if d, err := a.topicDepth(Spot, 20); d != 200 || err != nil {
		t.Fatalf("%d %v", d, err)
	}
	a.opt.bookDepth = 500
	if _, err := a.topicDepth(Spot, 20); !errors.Is(err, domain.ErrNoCapability) {
		t.Fatal(err)
	}
}

func TestInfoCapabilities(t *testing.T) {
	i := Info()
	c, ok := i.Capability(domain.Trades, domain.REST, domain.Backfill)
	if !ok || c.History != domain.HistoryRecent || c.RecentCount != MaxRecentSpot || !strings.Contains(c.Notes, ArchiveURL) {
		t.Fatalf("trades %+v", c)
	}
	c, ok = i.Capability(domain.OHLC, domain.REST, domain.Backfill)
	if !ok || c.MaxPerRequest != 1000 || c.Direction != domain.Descending || len(c.Spans) != 13 || c.SupportsSpan(domain.Span8h) || !c.SupportsSpan(domain.Span1M) {
		t.Fatalf("ohlc %+v", c)
	}
	for _, s := range c.Spans {
		if _, err := Interval(s); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := i.Capability(domain.Book, domain.WebSocket, domain.Stream); !ok {
		t.Fatal("no book stream")
	}
}

func TestSimSubscriptionRefused(t *testing.T) {
	s := startSim(t)
	a := openSim(t, s, venues.Config{}, WithoutStartupInfo())
	m, err := a.newMux("test", map[Category][]string{Spot: {"publicTrade.BTCUSDT", "publicTrade.NOPE"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err = m.run(ctx, nopHandler{})
	var se *SubscribeError
	if !errors.As(err, &se) || se.Category != Spot || !strings.Contains(se.Msg, "publicTrade.NOPE") {
		t.Fatalf("%v", err)
	}
}

type nopHandler struct{}

func (nopHandler) data(*wsConn, ws.Frame, *wsFrame) bool { return true }
func (nopHandler) hole(*wsConn) bool                     { return true }
func (nopHandler) resumed(*wsConn) bool                  { return true }
func (nopHandler) subscribed(*wsConn, []string) bool     { return true }

func TestSimMarkets(t *testing.T) {
	s := startSim(t)
	a := openSim(t, s, venues.Config{})
	ms, err := a.Markets(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, m := range ms {
		got[m.Symbol.String()] = true
		if m.Venue != Name || m.PriceTick.IsZero() || m.AmountStep.IsZero() {
			t.Fatalf("market %+v", m)
		}
	}
	for _, want := range []string{"BTC/USDT", "ETH/BTC", "SOL/USDT", "BTC/USDT:perp", "ETH/USDT:perp"} {
		if !got[want] {
			t.Fatalf("%s missing from %v", want, got)
		}
	}
	if _, err := a.Market(t.Context(), domain.MustParseSymbol("BTC/USDT:quarter")); !errors.Is(err, ErrInvalidSymbol) {
		t.Fatal(err)
	}
}
