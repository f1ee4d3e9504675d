package bybit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/govalues/decimal"
	"github.com/pype-go/pype/domain"
)

// This file decodes Bybit v5 REST payloads. Every response is an envelope
// {"retCode":0,"retMsg":"OK","result":{…},"retExtInfo":{},"time":ms};
// prices and sizes are decimal strings read by govalues/decimal (no float
// round trip). Integer fields are accepted as JSON numbers or strings
// (Bybit sends numbers for retCode, time, ts, u and seq, strings for
// kline start times and trade times; some recorders stringify all of them).

// flexInt is an integer sent as a JSON number or a string ("" is 0).
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s == "" {
			*f = 0
			return nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("integer %q: %w", s, err)
		}
		*f = flexInt(n)
		return nil
	}
	if string(b) == "null" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("integer %s: %w", b, err)
	}
	*f = flexInt(n)
	return nil
}

// envelope is Bybit's response wrapper.
type envelope struct {
	RetCode flexInt         `json:"retCode"`
	RetMsg  string          `json:"retMsg"`
	Result  json.RawMessage `json:"result"`
	Time    flexInt         `json:"time"`
}

// parseEnvelope decodes the wrapper. ok is false when body is not a Bybit
// envelope (no retCode).
func parseEnvelope(body []byte) (env envelope, ok bool, err error) {
	var probe struct {
		RetCode *flexInt        `json:"retCode"`
		RetMsg  string          `json:"retMsg"`
		Result  json.RawMessage `json:"result"`
		Time    flexInt         `json:"time"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		return envelope{}, false, fmt.Errorf("bybit: response is not JSON: %w", err)
	}
	env = envelope{RetMsg: probe.RetMsg, Result: probe.Result, Time: probe.Time}
	if probe.RetCode != nil {
		env.RetCode = *probe.RetCode
	}
	return env, probe.RetCode != nil, nil
}

// result decodes a successful envelope's result into v.
func decodeResult(what string, body []byte, v any) (envelope, error) {
	env, ok, err := parseEnvelope(body)
	if err != nil {
		return env, fmt.Errorf("bybit: %s: %w", what, err)
	}
	if !ok {
		return env, fmt.Errorf("bybit: %s: response has no retCode: %.200s", what, body)
	}
	if env.RetCode != 0 {
		// The transport's classifier turns these into errors first; this
		// is a second line of defence (never an empty page).
		return env, &APIError{Status: 200, Code: int(env.RetCode), Msg: env.RetMsg, Endpoint: what}
	}
	if err := json.Unmarshal(env.Result, v); err != nil {
		return env, fmt.Errorf("bybit: %s: decoding result: %w", what, err)
	}
	return env, nil
}

func dec(field, s string) (decimal.Decimal, error) { return domain.ParseDecimal(field, s) }

// klineResult is GET /v5/market/kline's result.
type klineResult struct {
	Symbol   string     `json:"symbol"`
	Category string     `json:"category"`
	List     [][]string `json:"list"`
}

// parseKlines decodes GET /v5/market/kline: rows [startTime, open, high,
// low, close, volume, turnover], newest first (returned as served). For
// inverse contracts volume is in contracts (USD) and turnover in the base
// coin, so they become QuoteVolume and Volume.
func parseKlines(body []byte, cat Category) ([]domain.OHLCBar, error) {
	if bars, ok := parseKlinesFast(body, cat); ok {
		return bars, nil
	}
	var r klineResult
	if _, err := decodeResult("kline", body, &r); err != nil {
		return nil, err
	}
	out := make([]domain.OHLCBar, 0, len(r.List))
	for i, row := range r.List {
		b, err := klineRow(row, cat)
		if err != nil {
			return nil, fmt.Errorf("bybit: kline row %d: %w", i, err)
		}
		out = append(out, b)
	}
	return out, nil
}

func klineRow(row []string, cat Category) (domain.OHLCBar, error) {
	if len(row) < 7 {
		return domain.OHLCBar{}, fmt.Errorf("%d columns (want 7: start, open, high, low, close, volume, turnover)", len(row))
	}
	ms, err := strconv.ParseInt(row[0], 10, 64)
	if err != nil {
		return domain.OHLCBar{}, fmt.Errorf("start time %q: %w", row[0], err)
	}
	return klineFields(ms, [6]string(row[1:7]), cat)
}

// klineFields builds a bar from its start (ms) and open, high, low, close,
// volume, turnover.
func klineFields(ms int64, v [6]string, cat Category) (domain.OHLCBar, error) {
	b := domain.OHLCBar{OpenTime: domain.MillisToNanos(ms)}
	var err error
	for i, f := range [6]struct {
		name string
		dst  *decimal.Decimal
	}{{"open", &b.Open}, {"high", &b.High}, {"low", &b.Low}, {"close", &b.Close}, {"volume", &b.Volume}, {"turnover", &b.QuoteVolume}} {
		if *f.dst, err = dec(f.name, v[i]); err != nil {
			return b, err
		}
	}
	if cat == Inverse {
		b.Volume, b.QuoteVolume = b.QuoteVolume, b.Volume
	}
	return b, nil
}

// recentTrade is one row of GET /v5/market/recent-trade.
type recentTrade struct {
	ExecID       string  `json:"execId"`
	Symbol       string  `json:"symbol"`
	Price        string  `json:"price"`
	Size         string  `json:"size"`
	Side         string  `json:"side"`
	Time         flexInt `json:"time"`
	IsBlockTrade bool    `json:"isBlockTrade"`
}

// parseRecentTrades decodes GET /v5/market/recent-trade (newest first, as
// served).
func parseRecentTrades(body []byte) ([]domain.Trade, error) {
	var r struct {
		Category string        `json:"category"`
		List     []recentTrade `json:"list"`
	}
	if _, err := decodeResult("recent-trade", body, &r); err != nil {
		return nil, err
	}
	out := make([]domain.Trade, 0, len(r.List))
	for i, t := range r.List {
		tr, err := makeTrade(t.ExecID, int64(t.Time), t.Price, t.Size, t.Side)
		if err != nil {
			return nil, fmt.Errorf("bybit: recent-trade row %d: %w", i, err)
		}
		out = append(out, tr)
	}
	return out, nil
}

func makeTrade(id string, ms int64, price, size, side string) (domain.Trade, error) {
	t := domain.Trade{ID: id, Time: domain.MillisToNanos(ms)}
	if id == "" {
		return t, fmt.Errorf("trade without an id")
	}
	var err error
	if t.Price, err = dec("price", price); err != nil {
		return t, err
	}
	if t.Amount, err = dec("size", size); err != nil {
		return t, err
	}
	switch side {
	case "Buy":
		t.Side = domain.Buy
	case "Sell":
		t.Side = domain.Sell
	default:
		return t, fmt.Errorf("side %q (want Buy or Sell)", side)
	}
	return t, nil
}

// bookResult is GET /v5/market/orderbook's result (and the data of a
// WebSocket orderbook message).
type bookResult struct {
	S   string     `json:"s"`
	B   [][]string `json:"b"`
	A   [][]string `json:"a"`
	TS  flexInt    `json:"ts"`
	U   flexInt    `json:"u"`
	Seq flexInt    `json:"seq"`
	CTS flexInt    `json:"cts"`
}

// parseOrderbook decodes GET /v5/market/orderbook. Seq is the update id u;
// Time the venue's ts.
func parseOrderbook(body []byte) (domain.BookSnapshot, error) {
	var r bookResult
	if _, err := decodeResult("orderbook", body, &r); err != nil {
		return domain.BookSnapshot{}, err
	}
	b := domain.BookSnapshot{Seq: int64(r.U), Time: domain.MillisToNanos(int64(r.TS))}
	var err error
	if b.Bids, err = levels("bid", r.B, nil); err != nil {
		return b, fmt.Errorf("bybit: orderbook: %w", err)
	}
	if b.Asks, err = levels("ask", r.A, nil); err != nil {
		return b, fmt.Errorf("bybit: orderbook: %w", err)
	}
	return b, nil
}

func levels(side string, rows [][]string, dst []domain.BookLevel) ([]domain.BookLevel, error) {
	dst = dst[:0]
	for i, r := range rows {
		if len(r) < 2 {
			return nil, fmt.Errorf("%s level %d has %d fields (want price, size)", side, i, len(r))
		}
		p, err := dec(side+" price", r[0])
		if err != nil {
			return nil, err
		}
		q, err := dec(side+" size", r[1])
		if err != nil {
			return nil, err
		}
		dst = append(dst, domain.BookLevel{Price: p, Amount: q})
	}
	return dst, nil
}

// instrument is one row of GET /v5/market/instruments-info (the fields
// pype reads, spot and derivatives).
type instrument struct {
	Symbol       string  `json:"symbol"`
	ContractType string  `json:"contractType"` // LinearPerpetual, LinearFutures, InversePerpetual, InverseFutures
	Status       string  `json:"status"`
	BaseCoin     string  `json:"baseCoin"`
	QuoteCoin    string  `json:"quoteCoin"`
	SettleCoin   string  `json:"settleCoin"`
	DeliveryTime flexInt `json:"deliveryTime"`
	PriceFilter  struct {
		TickSize string `json:"tickSize"`
	} `json:"priceFilter"`
	LotSizeFilter struct {
		BasePrecision    string `json:"basePrecision"`
		QtyStep          string `json:"qtyStep"`
		MinOrderQty      string `json:"minOrderQty"`
		MaxOrderQty      string `json:"maxOrderQty"`
		MinOrderAmt      string `json:"minOrderAmt"`
		MinNotionalValue string `json:"minNotionalValue"`
	} `json:"lotSizeFilter"`
}

// parseInstruments decodes one page of GET /v5/market/instruments-info.
func parseInstruments(body []byte) (list []instrument, next string, err error) {
	var r struct {
		Category       string       `json:"category"`
		List           []instrument `json:"list"`
		NextPageCursor string       `json:"nextPageCursor"`
	}
	if _, err := decodeResult("instruments-info", body, &r); err != nil {
		return nil, "", err
	}
	return r.List, r.NextPageCursor, nil
}

// parseServerTime decodes GET /v5/market/time into ns.
func parseServerTime(body []byte) (int64, error) {
	var r struct {
		TimeSecond flexInt `json:"timeSecond"`
		TimeNano   flexInt `json:"timeNano"`
	}
	env, err := decodeResult("time", body, &r)
	if err != nil {
		return 0, err
	}
	switch {
	case r.TimeNano > 0:
		return int64(r.TimeNano), nil
	case r.TimeSecond > 0:
		return domain.SecondsToNanos(int64(r.TimeSecond)), nil
	case env.Time > 0:
		return domain.MillisToNanos(int64(env.Time)), nil
	}
	return 0, fmt.Errorf("bybit: time: no server time in %.200s", body)
}
