package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pype-go/pype/domain"
)

// Truth answers what a venue's market really held: the exact trades,
// candles and books, in pype's domain types. Only what has happened by the
// virtual now is returned.
type Truth struct{ m *Market }

// NewTruth returns the truth of a market.
func NewTruth(m *Market) *Truth { return &Truth{m: m} }

// SymbolError reports a symbol the simulated venue does not have.
type SymbolError struct {
	Venue, Input string
	Known        []string
}

func (e *SymbolError) Error() string {
	return fmt.Sprintf("sim: venue %s has no symbol %q (symbols: %s)", e.Venue, e.Input, strings.Join(e.Known, ", "))
}

// Lookup finds a series by canonical symbol ("BTC/USDT", "btc-usdt") or
// by the concatenated venue form ("BTCUSDT", any case).
func (m *Market) Lookup(s string) (*Series, error) {
	if sym, err := domain.ParseSymbol(s); err == nil {
		if sr := m.bySym[sym]; sr != nil {
			return sr, nil
		}
	}
	flat := strings.ToUpper(strings.NewReplacer("/", "", "-", "", "_", "").Replace(s))
	var known []string
	for _, sr := range m.series {
		if sr.Symbol().Base+sr.Symbol().Quote == flat {
			return sr, nil
		}
		known = append(known, sr.Symbol().String())
	}
	return nil, &SymbolError{Venue: m.venue, Input: s, Known: known}
}

func nsToMs(ns int64) int64 { return domain.FloorDiv(ns, msNs) }

// Trades returns the trades with from ≤ time < to (ns), oldest first.
func (t *Truth) Trades(symbol string, from, to int64) ([]domain.Trade, error) {
	sr, err := t.m.Lookup(symbol)
	if err != nil {
		return nil, err
	}
	var out []domain.Trade
	fromMs, toMs := domain.FloorDiv(from+msNs-1, msNs), nsToMs(to-1)
	for tr := range sr.TradesFrom(fromMs, t.m.NowMs()) {
		if tr.Time > toMs {
			break
		}
		out = append(out, sr.DomainTrade(tr))
	}
	return out, nil
}

// DomainTrade converts a trade to pype's domain type.
func (sr *Series) DomainTrade(tr Trade) domain.Trade {
	side := domain.Buy
	if tr.BuyerMaker {
		side = domain.Sell
	}
	return domain.Trade{ID: strconv.FormatInt(tr.ID, 10), Time: tr.Time * msNs, Price: sr.Price(tr.Price),
		Amount: sr.Qty(tr.Qty), Side: side}
}

// DomainBar converts a candle to pype's domain type; closed reports
// whether the bar had ended by the virtual now.
func (sr *Series) DomainBar(c Candle, closed bool) domain.OHLCBar {
	return domain.OHLCBar{OpenTime: c.OpenTime * msNs, Open: sr.Price(c.Open), High: sr.Price(c.High),
		Low: sr.Price(c.Low), Close: sr.Price(c.Close), Volume: sr.Qty(c.Volume), QuoteVolume: sr.Quote(c.Quote),
		Trades: c.Trades, Closed: closed}
}

// Candles returns the non-empty bars of span with from ≤ open < to (ns),
// oldest first. A bar still open at the virtual now holds the trades so
// far and has Closed false.
func (t *Truth) Candles(symbol string, span domain.Span, from, to int64) ([]domain.OHLCBar, error) {
	sr, err := t.m.Lookup(symbol)
	if err != nil {
		return nil, err
	}
	if !span.Valid() {
		return nil, &domain.SpanError{Input: span.String()}
	}
	now := t.m.NowMs()
	var out []domain.OHLCBar
	fromMs, toMs := domain.FloorDiv(from+msNs-1, msNs), nsToMs(to-1)
	for {
		cs := sr.Candles(span, fromMs, toMs, now, 1000, false)
		for _, c := range cs {
			closed := span.Next(c.OpenTime*msNs)/msNs <= now+1
			out = append(out, sr.DomainBar(c, closed))
		}
		if len(cs) < 1000 {
			return out, nil
		}
		fromMs = cs[len(cs)-1].OpenTime + 1
	}
}

// Book returns the order book in force at instant at (ns), with at most
// depth levels per side (≤ 0: all).
func (t *Truth) Book(symbol string, at int64, depth int) (domain.BookSnapshot, error) {
	sr, err := t.m.Lookup(symbol)
	if err != nil {
		return domain.BookSnapshot{}, err
	}
	st := sr.Book(BookStep(nsToMs(at)), depth)
	return sr.DomainBook(st), nil
}

// DomainBook converts a book state to pype's domain type.
func (sr *Series) DomainBook(st BookState) domain.BookSnapshot {
	b := domain.BookSnapshot{Symbol: sr.Symbol(), Seq: st.UpdateID, Time: st.Time * msNs,
		Bids: make([]domain.BookLevel, len(st.Bids)), Asks: make([]domain.BookLevel, len(st.Asks))}
	for i, l := range st.Bids {
		b.Bids[i] = domain.BookLevel{Price: sr.Price(l.Price), Amount: sr.Qty(l.Qty)}
	}
	for i, l := range st.Asks {
		b.Asks[i] = domain.BookLevel{Price: sr.Price(l.Price), Amount: sr.Qty(l.Qty)}
	}
	return b
}

// TruthQuery is one ground-truth question, as asked by `pype sim truth`.
type TruthQuery struct {
	Venue  string
	Symbol string
	Kind   string // "trades", "candles" or "book"
	Span   domain.Span
	From   time.Time
	To     time.Time
	At     time.Time // book instant (zero: now)
	Depth  int       // book levels per side (0: all)
}

// QueryTruth answers q for the market cfg describes, without starting a
// server, and writes JSON lines to w: one object per trade or candle, or
// one book object. The market is the same one [Start] would serve with the
// same cfg (use the same Seed and a fixed Now).
func QueryTruth(ctx context.Context, cfg Config, q TruthQuery, w io.Writer) error {
	if cfg.Registry == nil {
		return fmt.Errorf("sim: Config.Registry is nil (use simvenues.Registry())")
	}
	cfg = cfg.withDefaults()
	p, ok := cfg.Registry.Get(q.Venue)
	if !ok {
		return fmt.Errorf("sim: unknown venue %q (known: %s)", q.Venue, strings.Join(cfg.Registry.Names(), ", "))
	}
	env, err := newEnv(ctx, p, cfg)
	if err != nil {
		return err
	}
	return answerTruth(NewTruth(env.Market), q, w)
}

type truthTrade struct {
	ID     string `json:"id"`
	Time   string `json:"time"`
	TimeNs int64  `json:"time_ns"`
	Price  string `json:"price"`
	Amount string `json:"amount"`
	Side   string `json:"side"`
}

type truthBar struct {
	OpenTime    string `json:"open_time"`
	OpenTimeNs  int64  `json:"open_time_ns"`
	Open        string `json:"open"`
	High        string `json:"high"`
	Low         string `json:"low"`
	Close       string `json:"close"`
	Volume      string `json:"volume"`
	QuoteVolume string `json:"quote_volume"`
	Trades      int64  `json:"trades"`
	Closed      bool   `json:"closed"`
}

type truthBook struct {
	Symbol string      `json:"symbol"`
	Seq    int64       `json:"seq"`
	Time   string      `json:"time"`
	TimeNs int64       `json:"time_ns"`
	Bids   [][2]string `json:"bids"`
	Asks   [][2]string `json:"asks"`
}

func answerTruth(t *Truth, q TruthQuery, w io.Writer) error {
	enc := json.NewEncoder(w)
	from, to := q.From.UnixNano(), q.To.UnixNano()
	if q.To.IsZero() {
		to = t.m.Now() + 1
	}
	if q.From.IsZero() {
		from = t.m.StartMs() * msNs
	}
	switch strings.ToLower(q.Kind) {
	case "trades":
		trs, err := t.Trades(q.Symbol, from, to)
		if err != nil {
			return err
		}
		for _, tr := range trs {
			if err := enc.Encode(truthTrade{ID: tr.ID, Time: domain.FormatNs(tr.Time), TimeNs: tr.Time,
				Price: tr.Price.String(), Amount: tr.Amount.String(), Side: tr.Side.String()}); err != nil {
				return err
			}
		}
		return nil
	case "candles", "ohlc", "klines":
		span := q.Span
		if !span.Valid() {
			span = domain.Span1m
		}
		bars, err := t.Candles(q.Symbol, span, from, to)
		if err != nil {
			return err
		}
		for _, b := range bars {
			if err := enc.Encode(truthBar{OpenTime: domain.FormatNs(b.OpenTime), OpenTimeNs: b.OpenTime,
				Open: b.Open.String(), High: b.High.String(), Low: b.Low.String(), Close: b.Close.String(),
				Volume: b.Volume.String(), QuoteVolume: b.QuoteVolume.String(), Trades: b.Trades, Closed: b.Closed}); err != nil {
				return err
			}
		}
		return nil
	case "book":
		at := q.At.UnixNano()
		if q.At.IsZero() {
			at = t.m.Now()
		}
		b, err := t.Book(q.Symbol, at, q.Depth)
		if err != nil {
			return err
		}
		tb := truthBook{Symbol: b.Symbol.String(), Seq: b.Seq, Time: domain.FormatNs(b.Time), TimeNs: b.Time}
		for _, l := range b.Bids {
			tb.Bids = append(tb.Bids, [2]string{l.Price.String(), l.Amount.String()})
		}
		for _, l := range b.Asks {
			tb.Asks = append(tb.Asks, [2]string{l.Price.String(), l.Amount.String()})
		}
		return enc.Encode(tb)
	}
	return fmt.Errorf("sim: unknown truth kind %q (accepted: trades, candles, book)", q.Kind)
}

// truthRoutes serves GET /_sim/truth/{trades,candles,book}?symbol=&from=&to=
// &span=&at=&depth= (times as [domain.ParseTime] reads them).
func truthRoutes(mux *http.ServeMux, v *Venue) {
	mux.HandleFunc("GET /_sim/truth/{kind}", func(w http.ResponseWriter, r *http.Request) {
		qv := r.URL.Query()
		q := TruthQuery{Venue: v.Name, Symbol: qv.Get("symbol"), Kind: r.PathValue("kind")}
		parseT := func(name string, dst *time.Time) error {
			s := qv.Get(name)
			if s == "" {
				return nil
			}
			ns, err := domain.ParseTime(s)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			*dst = time.Unix(0, ns).UTC()
			return nil
		}
		fail := func(err error) { writeJSON(w, 400, map[string]string{"error": err.Error()}) }
		for _, p := range []struct {
			n string
			d *time.Time
		}{{"from", &q.From}, {"to", &q.To}, {"at", &q.At}} {
			if err := parseT(p.n, p.d); err != nil {
				fail(err)
				return
			}
		}
		if s := qv.Get("span"); s != "" {
			sp, err := domain.ParseSpan(s)
			if err != nil {
				fail(err)
				return
			}
			q.Span = sp
		}
		if s := qv.Get("depth"); s != "" {
			d, err := strconv.Atoi(s)
			if err != nil {
				fail(fmt.Errorf("depth %q: %w", s, err))
				return
			}
			q.Depth = d
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		lw := &lazyWriter{w: w}
		if err := answerTruth(v.Truth(), q, lw); err != nil && !lw.wrote {
			fail(err)
		}
	})
}

// lazyWriter records whether anything was written, so an error found before
// any output can still be answered with 400.
type lazyWriter struct {
	w     http.ResponseWriter
	wrote bool
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	l.wrote = true
	return l.w.Write(p)
}
