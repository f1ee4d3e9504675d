package orderbook

// Test-only parsers for the recorded venue payloads in testdata/ (the venue
// packages own the real parsers).

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/pype-go/pype/domain"
)

func readLines(t testing.TB, path string) [][]byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			out = append(out, bytes.Clone(sc.Bytes()))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func parseLevels(rows [][]string) ([]domain.BookLevel, error) {
	out := make([]domain.BookLevel, 0, len(rows))
	for _, r := range rows {
		if len(r) < 2 {
			return nil, fmt.Errorf("level %v: want at least price and amount", r)
		}
		p, err := domain.ParseDecimal("price", r[0])
		if err != nil {
			return nil, err
		}
		a, err := domain.ParseDecimal("amount", r[1])
		if err != nil {
			return nil, err
		}
		out = append(out, domain.BookLevel{Price: p, Amount: a})
	}
	return out, nil
}

// krakenV1Book parses Kraken WebSocket v1 book frames:
//
//	[chanID, {"as":[...],"bs":[...]}, "book-1000", "PAIR"]           snapshot
//	[chanID, {"a":[...]}, {"b":[...],"c":"crc"}, "book-1000", "PAIR"] update
//
// Levels are [price, volume, timestamp] with an optional 4th "r"
// (republish) flag. Non-book frames (events) return ok == false.
func krakenV1Book(line []byte, sym domain.Symbol) (d domain.BookDelta, ok bool, err error) {
	if len(line) == 0 || line[0] != '[' {
		return d, false, nil
	}
	var parts []json.RawMessage
	if err := json.Unmarshal(line, &parts); err != nil {
		return d, false, err
	}
	d.Symbol = sym
	for _, p := range parts[1:] {
		if len(p) == 0 || p[0] != '{' {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(p, &obj); err != nil {
			return d, false, err
		}
		for k, v := range obj {
			switch k {
			case "as", "bs", "a", "b":
				var rows [][]string
				if err := json.Unmarshal(v, &rows); err != nil {
					return d, false, err
				}
				lv, err := parseLevels(rows)
				if err != nil {
					return d, false, err
				}
				if k[0] == 'a' {
					d.Asks = append(d.Asks, lv...)
				} else {
					d.Bids = append(d.Bids, lv...)
				}
				if len(k) == 2 {
					d.Reset = true
				}
			case "c":
				var s string
				if err := json.Unmarshal(v, &s); err != nil {
					return d, false, err
				}
				c, err := strconv.ParseUint(s, 10, 32)
				if err != nil {
					return d, false, err
				}
				d.Checksum, d.HasChecksum = uint32(c), true
			}
		}
	}
	return d, true, nil
}

// okxBooks parses OKX v5 "books" push frames (action snapshot/update, data
// with asks/bids rows [px, sz, "0", orders], ts, checksum, and — in newer
// captures — seqId/prevSeqId).
func okxBooks(line []byte, sym domain.Symbol) (d domain.BookDelta, ok bool, err error) {
	var msg struct {
		Action string `json:"action"`
		Data   []struct {
			Asks      [][]string `json:"asks"`
			Bids      [][]string `json:"bids"`
			TS        string     `json:"ts"`
			Checksum  *int64     `json:"checksum"`
			SeqID     int64      `json:"seqId"`
			PrevSeqID int64      `json:"prevSeqId"`
		} `json:"data"`
	}
	if err := json.Unmarshal(line, &msg); err != nil {
		return d, false, err
	}
	if msg.Action == "" || len(msg.Data) != 1 {
		return d, false, nil
	}
	x := msg.Data[0]
	d.Symbol = sym
	d.Reset = msg.Action == "snapshot"
	d.Seq, d.PrevSeq = x.SeqID, x.PrevSeqID
	if ms, err := strconv.ParseInt(x.TS, 10, 64); err == nil {
		d.Time = ms * 1e6
	}
	if d.Bids, err = parseLevels(x.Bids); err != nil {
		return d, false, err
	}
	if d.Asks, err = parseLevels(x.Asks); err != nil {
		return d, false, err
	}
	if x.Checksum != nil {
		d.Checksum, d.HasChecksum = uint32(int32(*x.Checksum)), true
	}
	return d, true, nil
}

// binanceDepth parses a REST /api/v3/depth response.
func binanceDepth(t testing.TB, raw []byte, sym domain.Symbol) domain.BookSnapshot {
	t.Helper()
	var msg struct {
		LastUpdateID int64      `json:"lastUpdateId"`
		Bids         [][]string `json:"bids"`
		Asks         [][]string `json:"asks"`
	}
	if err := json.Unmarshal(raw, &msg); err != nil {
		t.Fatal(err)
	}
	s := domain.BookSnapshot{Symbol: sym, Seq: msg.LastUpdateID}
	var err error
	if s.Bids, err = parseLevels(msg.Bids); err != nil {
		t.Fatal(err)
	}
	if s.Asks, err = parseLevels(msg.Asks); err != nil {
		t.Fatal(err)
	}
	return s
}

// binanceDiff parses a combined-stream depthUpdate frame.
func binanceDiff(t testing.TB, line []byte, sym domain.Symbol) domain.BookDelta {
	t.Helper()
	// encoding/json matches keys case-insensitively, so "U" and "u" need a
	// map to be told apart.
	var raw struct {
		Data map[string]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(line, &raw); err != nil {
		t.Fatal(err)
	}
	num := func(k string) int64 {
		n, err := strconv.ParseInt(string(raw.Data[k]), 10, 64)
		if err != nil {
			t.Fatalf("field %s: %v", k, err)
		}
		return n
	}
	rows := func(k string) []domain.BookLevel {
		var r [][]string
		if err := json.Unmarshal(raw.Data[k], &r); err != nil {
			t.Fatal(err)
		}
		lv, err := parseLevels(r)
		if err != nil {
			t.Fatal(err)
		}
		return lv
	}
	return domain.BookDelta{Symbol: sym, FirstSeq: num("U"), Seq: num("u"), Time: num("E") * 1e6, Bids: rows("b"), Asks: rows("a")}
}
