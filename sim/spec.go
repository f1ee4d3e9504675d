package sim

import (
	"fmt"
	"math"

	"github.com/govalues/decimal"
	"github.com/pype-go/pype/domain"
)

// SymbolSpec describes one simulated instrument. Zero numeric fields take
// the defaults documented on each field.
type SymbolSpec struct {
	Symbol     domain.Symbol
	TickSize   decimal.Decimal // price grid, e.g. 0.01 (at most 8 decimals)
	LotSize    decimal.Decimal // amount grid, e.g. 0.00001 (at most 8 decimals)
	StartPrice decimal.Decimal // price at the start of the history
	MeanQty    decimal.Decimal // mean taker-order size in base units (default 50 lots)

	// TradesPerSecond is the average number of taker orders (aggregate
	// trades) per second; each fills one or more trades. Default 2.
	TradesPerSecond float64
	// DailyVolatility is the standard deviation of the daily log return.
	// Default 0.03.
	DailyVolatility float64
	// QuietHourProbability is the chance that an hour has no trade at all.
	// Default 0.005; negative disables quiet hours.
	QuietHourProbability float64
	// BookDepth is the number of price levels per book side. Default 1000.
	BookDepth int
	// BookPeriod is how many 100 ms steps a level keeps its quantity before
	// it is refreshed (levels are refreshed in a staggered way, so each step
	// changes about BookDepth/BookPeriod levels per side). Default 100.
	BookPeriod int
}

// symInfo is a SymbolSpec compiled to integers.
type symInfo struct {
	SymbolSpec
	tickCoef, lotCoef   int64 // tick = tickCoef × 10^-tickScale
	tickScale, lotScale int
	startTicks          int64
	meanLots            float64
	quiet               float64
	rate                float64
	vol                 float64
	depth               int
	period              int
	periodInv           int64 // modular inverse of bookMul mod period
	window              int64 // ticks spanned by one book side
	gap                 int64 // one level per block of gap ticks (1: every tick)
}

const bookMul = 7919 // phase multiplier of book levels (prime)

func coefScale(d decimal.Decimal) (int64, int) {
	d = d.Trim(0)
	return int64(d.Coef()), d.Scale()
}

func compileSpec(s SymbolSpec) (*symInfo, error) {
	if s.Symbol.IsZero() {
		return nil, fmt.Errorf("sim: symbol spec without a symbol")
	}
	if !s.TickSize.IsPos() || s.TickSize.Trim(0).Scale() > 8 {
		return nil, fmt.Errorf("sim: %s: tick size %s must be positive with at most 8 decimals", s.Symbol, s.TickSize)
	}
	if !s.LotSize.IsPos() || s.LotSize.Trim(0).Scale() > 8 {
		return nil, fmt.Errorf("sim: %s: lot size %s must be positive with at most 8 decimals", s.Symbol, s.LotSize)
	}
	if !s.StartPrice.IsPos() {
		return nil, fmt.Errorf("sim: %s: start price %s must be positive", s.Symbol, s.StartPrice)
	}
	in := &symInfo{SymbolSpec: s}
	in.tickCoef, in.tickScale = coefScale(s.TickSize)
	in.lotCoef, in.lotScale = coefScale(s.LotSize)
	sp, _ := s.StartPrice.Float64()
	tick, _ := s.TickSize.Float64()
	in.startTicks = int64(math.Round(sp / tick))
	if in.startTicks < 1 {
		in.startTicks = 1
	}
	lot, _ := s.LotSize.Float64()
	in.meanLots = 50
	if s.MeanQty.IsPos() {
		mq, _ := s.MeanQty.Float64()
		in.meanLots = math.Max(1, mq/lot)
	}
	in.rate = s.TradesPerSecond
	if in.rate <= 0 {
		in.rate = 2
	}
	in.vol = s.DailyVolatility
	if in.vol <= 0 {
		in.vol = 0.03
	}
	in.quiet = s.QuietHourProbability
	if in.quiet == 0 {
		in.quiet = 0.005
	}
	in.depth = s.BookDepth
	if in.depth <= 0 {
		in.depth = 1000
	}
	in.period = s.BookPeriod
	if in.period <= 0 {
		in.period = 100
	}
	if in.period > in.depth {
		in.period = in.depth
	}
	for bookMul%in.period == 0 && in.period > 1 {
		in.period-- // keep gcd(bookMul, period) = 1
	}
	in.periodInv = modInverse(bookMul%int64(in.period), int64(in.period))
	// Book levels: dense on the tick grid for coarse grids; for fine grids
	// (BTC at 0.01) a sparse subset of ticks so one side spans about 2 % of
	// the price and the book does not churn on every trade.
	in.gap = max(1, int64(0.02*float64(in.startTicks))/int64(in.depth))
	in.window = in.gap * int64(in.depth)
	return in, nil
}

func modInverse(a, m int64) int64 {
	if m == 1 {
		return 0
	}
	t, nt, r, nr := int64(0), int64(1), m, a
	for nr != 0 {
		q := r / nr
		t, nt = nt, t-q*nt
		r, nr = nr, r-q*nr
	}
	if t < 0 {
		t += m
	}
	return t
}

// Price converts ticks to a decimal.
func (in *symInfo) price(ticks int64) decimal.Decimal {
	d, _ := decimal.New(ticks*in.tickCoef, in.tickScale)
	return d
}

func (in *symInfo) qty(lots int64) decimal.Decimal {
	d, _ := decimal.New(lots*in.lotCoef, in.lotScale)
	return d
}

// Decimals that print a symbol's numbers.

// AppendPrice appends ticks as a decimal with the given number of decimals
// (negative: shortest form).
func (sr *Series) AppendPrice(dst []byte, ticks int64, decimals int) []byte {
	return AppendFixed(dst, ticks*sr.in.tickCoef, sr.in.tickScale, decimals)
}

// AppendQty appends lots as a decimal with the given number of decimals.
func (sr *Series) AppendQty(dst []byte, lots int64, decimals int) []byte {
	return AppendFixed(dst, lots*sr.in.lotCoef, sr.in.lotScale, decimals)
}

// AppendQuote appends a quote amount (a sum of ticks × lots products, see
// [Candle.QuoteVolume]) with the given number of decimals.
func (sr *Series) AppendQuote(dst []byte, q U128, decimals int) []byte {
	if c := uint64(sr.in.tickCoef * sr.in.lotCoef); c != 1 {
		var m U128
		// q × c: both parts.
		hi, lo := q.Hi, q.Lo
		m.AddMul(lo, c)
		m.Hi += hi * c
		q = m
	}
	return AppendFixed128(dst, q, sr.in.tickScale+sr.in.lotScale, decimals)
}

// Price converts ticks to a decimal.
func (sr *Series) Price(ticks int64) decimal.Decimal { return sr.in.price(ticks) }

// Qty converts lots to a decimal.
func (sr *Series) Qty(lots int64) decimal.Decimal { return sr.in.qty(lots) }

// Quote converts a quote sum to a decimal, rounding to at most 19
// significant digits when it does not fit exactly.
func (sr *Series) Quote(q U128) decimal.Decimal {
	s := string(sr.AppendQuote(nil, q, -1))
	for {
		d, err := decimal.Parse(s)
		if err == nil {
			return d
		}
		// Too many digits: drop the last fraction digit.
		if len(s) == 0 || !containsDot(s) {
			return decimal.Decimal{}
		}
		s = s[:len(s)-1]
		if s[len(s)-1] == '.' {
			s = s[:len(s)-1]
		}
	}
}

func containsDot(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return true
		}
	}
	return false
}

func mustDec(s string) decimal.Decimal { return decimal.MustParse(s) }

// DefaultSymbols returns the simulator's default instruments: BTC/USDT,
// ETH/USDT, ETH/BTC and SOL/USDT with realistic grids. At the default rates
// 30 days of BTC/USDT hold about 5 million aggregate trades.
func DefaultSymbols() []SymbolSpec {
	return []SymbolSpec{
		{Symbol: domain.NewSymbol("BTC", "USDT"), TickSize: mustDec("0.01"), LotSize: mustDec("0.00001"),
			StartPrice: mustDec("42000"), MeanQty: mustDec("0.02"), TradesPerSecond: 2},
		{Symbol: domain.NewSymbol("ETH", "USDT"), TickSize: mustDec("0.01"), LotSize: mustDec("0.0001"),
			StartPrice: mustDec("2300"), MeanQty: mustDec("0.5"), TradesPerSecond: 1.5},
		{Symbol: domain.NewSymbol("ETH", "BTC"), TickSize: mustDec("0.00001"), LotSize: mustDec("0.0001"),
			StartPrice: mustDec("0.055"), MeanQty: mustDec("0.5"), TradesPerSecond: 0.5},
		{Symbol: domain.NewSymbol("SOL", "USDT"), TickSize: mustDec("0.01"), LotSize: mustDec("0.001"),
			StartPrice: mustDec("100"), MeanQty: mustDec("5"), TradesPerSecond: 1},
	}
}
