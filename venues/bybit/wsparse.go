package bybit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pype-go/pype/domain"
)

// This file decodes Bybit v5 public WebSocket frames. Data frames are
// {"topic":…,"type":"snapshot"|"delta","ts":ms,"data":…} (some with "cs",
// "cts" or "id"); operation replies are {"success":…,"ret_msg":…,
// "conn_id":…,"req_id":…,"op":…}; the pong of linear/inverse is
// {"op":"pong","args":["ms"],…}.

// frameKind classifies a frame.
type frameKind uint8

const (
	frameUnknown frameKind = iota
	frameData              // a topic message
	frameReply             // an operation reply (subscribe, unsubscribe, ping)
)

// wsFrame is one decoded frame; Data is left raw for the topic's parser.
type wsFrame struct {
	Topic   string          `json:"topic"`
	Type    string          `json:"type"`
	TS      flexInt         `json:"ts"`
	CTS     flexInt         `json:"cts"`
	CS      flexInt         `json:"cs"`
	ID      string          `json:"id"`
	Data    json.RawMessage `json:"data"`
	Op      string          `json:"op"`
	Success *bool           `json:"success"`
	RetMsg  string          `json:"ret_msg"`
	ConnID  string          `json:"conn_id"`
	ReqID   string          `json:"req_id"`
}

// parseFrame decodes a frame's envelope into f (reusing it).
func parseFrame(b []byte, f *wsFrame) (frameKind, error) {
	*f = wsFrame{}
	if err := json.Unmarshal(b, f); err != nil {
		return frameUnknown, fmt.Errorf("bybit: WebSocket frame: %w", err)
	}
	switch {
	case f.Topic != "":
		return frameData, nil
	case f.Op != "":
		return frameReply, nil
	}
	return frameUnknown, nil
}

// isPong reports the heartbeat replies: {"op":"pong",…} (linear, inverse)
// and {"success":true,"ret_msg":"pong",…,"op":"ping"} (spot). They are
// filtered out of the stream by the WebSocket client.
func isPong(b []byte) bool {
	if len(b) > 256 || bytes.Contains(b, []byte(`"topic"`)) {
		return false
	}
	var r struct {
		Op     string `json:"op"`
		RetMsg string `json:"ret_msg"`
	}
	if json.Unmarshal(b, &r) != nil {
		return false
	}
	return r.Op == "pong" || (r.Op == "ping" && r.RetMsg == "pong")
}

// splitTopic splits "kline.1.BTCUSDT" into ("kline", "1", "BTCUSDT") and
// "publicTrade.BTCUSDT" into ("publicTrade", "", "BTCUSDT").
func splitTopic(topic string) (kind, param, symbol string) {
	kind, rest, ok := strings.Cut(topic, ".")
	if !ok {
		return topic, "", ""
	}
	if p, s, ok := strings.Cut(rest, "."); ok {
		return kind, p, s
	}
	return kind, "", rest
}

// wsTrade is one element of a publicTrade message's data.
type wsTrade struct {
	Time   flexInt `json:"T"`
	Symbol string  `json:"s"`
	Side   string  `json:"S"`
	Size   string  `json:"v"`
	Price  string  `json:"p"`
	ID     string  `json:"i"`
	Block  bool    `json:"BT"`
	Seq    flexInt `json:"seq"`
}

// parseTrades decodes a publicTrade message's data (sorted by matching
// time, oldest first) into dst.
func parseTrades(data []byte, dst []domain.Trade) ([]domain.Trade, string, error) {
	var rows []wsTrade
	if err := json.Unmarshal(data, &rows); err != nil {
		return dst, "", fmt.Errorf("bybit: publicTrade data: %w", err)
	}
	sym := ""
	for i, r := range rows {
		t, err := makeTrade(r.ID, int64(r.Time), r.Price, r.Size, r.Side)
		if err != nil {
			return dst, "", fmt.Errorf("bybit: publicTrade row %d: %w", i, err)
		}
		sym = r.Symbol
		dst = append(dst, t)
	}
	return dst, sym, nil
}

// wsKline is one element of a kline message's data.
type wsKline struct {
	Start     flexInt `json:"start"`
	End       flexInt `json:"end"`
	Interval  string  `json:"interval"`
	Open      string  `json:"open"`
	Close     string  `json:"close"`
	High      string  `json:"high"`
	Low       string  `json:"low"`
	Volume    string  `json:"volume"`
	Turnover  string  `json:"turnover"`
	Confirm   bool    `json:"confirm"`
	Timestamp flexInt `json:"timestamp"`
}

// parseKlineData decodes a kline message's data into bars; Closed is the
// confirm flag.
func parseKlineData(data []byte, cat Category) ([]domain.OHLCBar, error) {
	var rows []wsKline
	if err := json.Unmarshal(data, &rows); err != nil {
		return nil, fmt.Errorf("bybit: kline data: %w", err)
	}
	out := make([]domain.OHLCBar, 0, len(rows))
	for i, r := range rows {
		b, err := klineFields(int64(r.Start), [6]string{r.Open, r.High, r.Low, r.Close, r.Volume, r.Turnover}, cat)
		if err != nil {
			return nil, fmt.Errorf("bybit: kline row %d: %w", i, err)
		}
		b.Closed = r.Confirm
		out = append(out, b)
	}
	return out, nil
}

// wsBook is a decoded orderbook message.
type wsBook struct {
	Symbol   string
	Snapshot bool
	U        int64 // update id
	Seq      int64 // cross sequence
	Time     int64 // ns (ts)
	Bids     []domain.BookLevel
	Asks     []domain.BookLevel
}

// parseBookData decodes an orderbook message's data into b (reusing its
// slices).
func parseBookData(f *wsFrame, b *wsBook) error {
	var r bookResult
	if err := json.Unmarshal(f.Data, &r); err != nil {
		return fmt.Errorf("bybit: orderbook data: %w", err)
	}
	b.Symbol, b.U, b.Seq = r.S, int64(r.U), int64(r.Seq)
	b.Snapshot = f.Type == "snapshot"
	b.Time = domain.MillisToNanos(int64(f.TS))
	var err error
	if b.Bids, err = levels("bid", r.B, b.Bids); err != nil {
		return fmt.Errorf("bybit: orderbook: %w", err)
	}
	if b.Asks, err = levels("ask", r.A, b.Asks); err != nil {
		return fmt.Errorf("bybit: orderbook: %w", err)
	}
	return nil
}
