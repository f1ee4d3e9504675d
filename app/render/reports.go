package render

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/store"
	"github.com/pype-go/pype/venues"
)

// Venues writes a table of venues and what they offer.
func Venues(w io.Writer, list []venues.Info) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VENUE\tDESCRIPTION\tOHLC HISTORY\tTRADE HISTORY\tBOOK SNAPSHOT\tSTREAMS\tSPANS")
	for _, v := range list {
		hist := func(t domain.DataType) string {
			c, ok := v.Capability(t, domain.REST, domain.Backfill)
			if !ok || c.History == domain.HistoryNone {
				return "-"
			}
			if c.History == domain.HistoryRecent && c.RecentCount > 0 {
				return fmt.Sprintf("recent (%d)", c.RecentCount)
			}
			return string(c.History)
		}
		book := "-"
		if c, ok := v.Capability(domain.Book, domain.REST, domain.Snapshot); ok {
			book = "yes"
			if c.MaxDepth > 0 {
				book = fmt.Sprintf("≤ %d levels", c.MaxDepth)
			}
		}
		var streams []string
		var spans []domain.Span
		for _, c := range v.Capabilities {
			if c.Mode == domain.Stream && !slices.Contains(streams, string(c.DataType)) {
				streams = append(streams, string(c.DataType))
			}
			if c.DataType == domain.OHLC && c.Mode == domain.Backfill {
				spans = c.Spans
			}
		}
		st := strings.Join(streams, ", ")
		if st == "" {
			st = "-"
		}
		sp := strings.ReplaceAll(domain.FormatSpans(spans), ", ", " ")
		if sp == "" {
			sp = "-"
		}
		name := v.DisplayName
		if name == "" {
			name = v.Name
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Name, name, hist(domain.OHLC), hist(domain.Trades), book, st, sp)
	}
	return tw.Flush()
}

// JSONRange is a range in JSON output.
type JSONRange struct {
	From   string `json:"from"`
	To     string `json:"to"`
	FromNs int64  `json:"from_ns"`
	ToNs   int64  `json:"to_ns"`
}

func jsonRanges(rs []domain.Range) []JSONRange {
	out := make([]JSONRange, 0, len(rs))
	for _, r := range rs {
		out = append(out, JSONRange{From: domain.FormatNs(r.Start), To: domain.FormatNs(r.End), FromNs: r.Start, ToNs: r.End})
	}
	return out
}

// InventoryEntry is one dataset in JSON inventory output.
type InventoryEntry struct {
	Dataset  string      `json:"dataset"`
	Venue    string      `json:"venue"`
	Symbol   string      `json:"symbol"`
	Type     string      `json:"type"`
	Span     string      `json:"span,omitempty"`
	Dir      string      `json:"dir"`
	Files    int         `json:"files"`
	Rows     int64       `json:"rows"`
	Bytes    int64       `json:"bytes"`
	First    string      `json:"first,omitempty"`
	Last     string      `json:"last,omitempty"`
	Coverage []JSONRange `json:"coverage"`
	Gaps     []JSONRange `json:"gaps"`
	Corrupt  []string    `json:"corrupt"`
	Temp     []string    `json:"temp"` // temporary files (a write in progress or an interrupted one)
}

// InventoryJSON converts dataset infos to their JSON form.
func InventoryJSON(infos []store.DatasetInfo) []InventoryEntry {
	out := make([]InventoryEntry, 0, len(infos))
	for _, in := range infos {
		e := InventoryEntry{Dataset: in.ID.String(), Venue: in.ID.Venue, Symbol: in.ID.Symbol.String(), Type: string(in.ID.Type),
			Dir: in.Dir, Files: in.Files, Rows: in.Rows, Bytes: in.Bytes, Coverage: jsonRanges(in.Coverage), Gaps: jsonRanges(in.Gaps),
			Corrupt: slices.Clone(in.Corrupt)}
		if e.Corrupt == nil {
			e.Corrupt = []string{}
		}
		e.Temp = append([]string{}, in.Temp...)
		if in.ID.Type.HasSpan() {
			e.Span = in.ID.Span.String()
		}
		if in.Rows > 0 {
			e.First, e.Last = domain.FormatNs(in.First), domain.FormatNs(in.Last)
		}
		out = append(out, e)
	}
	return out
}

// Inventory writes datasets as a table or JSON.
func Inventory(w io.Writer, f Format, infos []store.DatasetInfo) error {
	if f == JSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(InventoryJSON(infos))
	}
	if len(infos) == 0 {
		_, err := fmt.Fprintln(w, "no datasets")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DATASET\tFILES\tROWS\tSIZE\tFIRST\tLAST\tCOVERED\tGAPS")
	var files int
	var rows, bytes int64
	for _, in := range infos {
		first, last := "-", "-"
		if in.Rows > 0 {
			first, last = Time(in.First), Time(in.Last)
		}
		cov := "-"
		if n := len(in.Coverage); n > 0 {
			cov = fmt.Sprintf("%s → %s", domain.FormatNs(in.Coverage[0].Start), domain.FormatNs(in.Coverage[n-1].End))
		}
		gaps := fmt.Sprint(len(in.Gaps))
		if len(in.Corrupt) > 0 {
			gaps += fmt.Sprintf(" (%d corrupt file(s))", len(in.Corrupt))
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", in.ID, in.Files, Count(in.Rows), Bytes(in.Bytes), first, last, cov, gaps)
		files += in.Files
		rows += in.Rows
		bytes += in.Bytes
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, in := range infos {
		for i, g := range in.Gaps {
			if i == 5 {
				fmt.Fprintf(w, "  %s: … %d more gaps\n", in.ID, len(in.Gaps)-5)
				break
			}
			fmt.Fprintf(w, "  %s: gap %s\n", in.ID, Range(g))
		}
		for _, c := range in.Corrupt {
			fmt.Fprintf(w, "  %s: corrupt file %s\n", in.ID, c)
		}
		if n := len(in.Temp); n > 0 {
			fmt.Fprintf(w, "  %s: %d temporary file(s), from a write in progress or an interrupted one (a backfill removes them after %s)\n", in.ID, n, "1h")
		}
	}
	_, err := fmt.Fprintf(w, "%d dataset(s), %d file(s), %s rows, %s\n", len(infos), files, Count(rows), Bytes(bytes))
	return err
}
