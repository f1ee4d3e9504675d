package store

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/pype-go/pype/domain"
)

// Key-value metadata keys written into every partition file's footer.
// DuckDB shows them with SELECT * FROM parquet_kv_metadata('file.parquet').
const (
	MetaFormat     = "pype.format"     // "1"
	MetaDataset    = "pype.dataset"    // binance/BTC-USDT/ohlc/1h
	MetaPartition  = "pype.partition"  // 2024, 2024-01 or 2024-01-02
	MetaCoverage   = "pype.coverage"   // JSON [{"from":RFC3339Nano,"to":...}]
	MetaProvenance = "pype.provenance" // JSON [ProvenanceRecord...]
	MetaFirst      = "pype.first"      // RFC3339Nano of the first row, "" if empty
	MetaLast       = "pype.last"       // RFC3339Nano of the last row, "" if empty
)

const formatVersion = "1"

// maxProvenance bounds the provenance list of one file; when exceeded the
// oldest records are folded into one summary record (Source "merged").
const maxProvenance = 256

// ProvenanceRecord is one writer's contribution to a file. Records with the
// same venue, transport, run, tool version and source are folded together
// (rows added up, fetch times widened), so a long stream that commits a
// partition many times leaves one record, and a later writer appends its own
// record rather than replacing earlier ones.
type ProvenanceRecord struct {
	Venue        string           `json:"venue"`
	Transport    domain.Transport `json:"transport,omitempty"`
	RunID        string           `json:"run_id,omitempty"`
	ToolVersion  string           `json:"tool_version,omitempty"`
	Source       string           `json:"source,omitempty"`
	FetchedAt    time.Time        `json:"fetched_at"`         // earliest fetch
	FetchedUntil time.Time        `json:"fetched_until"`      // latest fetch
	WrittenAt    time.Time        `json:"written_at"`         // latest commit
	Rows         int64            `json:"rows"`               // rows handed to the writer(s)
	First        time.Time        `json:"first,omitzero"`     // earliest row time
	Last         time.Time        `json:"last,omitzero"`      // latest row time
	Commits      int              `json:"commits"`            // commits folded into this record
	Inexact      int64            `json:"inexact,omitempty"`  // values with > 15 significant digits
	Replaced     int64            `json:"replaced,omitempty"` // existing rows replaced by newer versions
}

func (p ProvenanceRecord) sameWriter(q ProvenanceRecord) bool {
	return p.Venue == q.Venue && p.Transport == q.Transport && p.RunID == q.RunID &&
		p.ToolVersion == q.ToolVersion && p.Source == q.Source
}

// foldProvenance appends rec to list, folding it into an equal-writer record.
func foldProvenance(list []ProvenanceRecord, rec ProvenanceRecord) []ProvenanceRecord {
	for i := range list {
		p := &list[i]
		if !p.sameWriter(rec) {
			continue
		}
		p.FetchedAt = minTime(p.FetchedAt, rec.FetchedAt)
		p.FetchedUntil = maxTime(p.FetchedUntil, rec.FetchedUntil)
		p.WrittenAt = maxTime(p.WrittenAt, rec.WrittenAt)
		p.First = minTime(p.First, rec.First)
		p.Last = maxTime(p.Last, rec.Last)
		p.Rows += rec.Rows
		p.Commits += rec.Commits
		p.Inexact += rec.Inexact
		p.Replaced += rec.Replaced
		return list
	}
	list = append(list, rec)
	if len(list) > maxProvenance {
		n := len(list) - maxProvenance + 1
		sum := ProvenanceRecord{Venue: list[0].Venue, Source: "merged", FetchedAt: list[0].FetchedAt, FetchedUntil: list[0].FetchedUntil, WrittenAt: list[0].WrittenAt}
		for _, p := range list[:n] {
			sum.FetchedAt = minTime(sum.FetchedAt, p.FetchedAt)
			sum.FetchedUntil = maxTime(sum.FetchedUntil, p.FetchedUntil)
			sum.WrittenAt = maxTime(sum.WrittenAt, p.WrittenAt)
			sum.First = minTime(sum.First, p.First)
			sum.Last = maxTime(sum.Last, p.Last)
			sum.Rows += p.Rows
			sum.Commits += p.Commits
			sum.Inexact += p.Inexact
			sum.Replaced += p.Replaced
		}
		list = append([]ProvenanceRecord{sum}, list[n:]...)
	}
	return list
}

func minTime(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// rangeSet is a sorted list of disjoint, non-adjacent half-open ranges.
type rangeSet []domain.Range

// add returns s ∪ r.
func (s rangeSet) add(r domain.Range) rangeSet {
	if r.Start >= r.End {
		return s
	}
	out := make(rangeSet, 0, len(s)+1)
	i := 0
	for ; i < len(s) && s[i].End < r.Start; i++ {
		out = append(out, s[i])
	}
	for ; i < len(s) && s[i].Start <= r.End; i++ {
		r.Start = min(r.Start, s[i].Start)
		r.End = max(r.End, s[i].End)
	}
	out = append(out, r)
	return append(out, s[i:]...)
}

// union returns s ∪ t.
func (s rangeSet) union(t rangeSet) rangeSet {
	for _, r := range t {
		s = s.add(r)
	}
	return s
}

// intersect returns s ∩ r.
func (s rangeSet) intersect(r domain.Range) rangeSet {
	var out rangeSet
	for _, x := range s {
		st, en := max(x.Start, r.Start), min(x.End, r.End)
		if st < en {
			out = append(out, domain.Range{Start: st, End: en})
		}
	}
	return out
}

// subtract returns s − r.
func (s rangeSet) subtract(r domain.Range) rangeSet {
	var out rangeSet
	for _, x := range s {
		if x.End <= r.Start || x.Start >= r.End {
			out = append(out, x)
			continue
		}
		if x.Start < r.Start {
			out = append(out, domain.Range{Start: x.Start, End: r.Start})
		}
		if x.End > r.End {
			out = append(out, domain.Range{Start: r.End, End: x.End})
		}
	}
	return out
}

// covers reports whether r ⊆ s.
func (s rangeSet) covers(r domain.Range) bool {
	for _, x := range s {
		if x.Start <= r.Start && x.End >= r.End {
			return true
		}
	}
	return r.Start >= r.End
}

// holes returns the parts of r not in s.
func (s rangeSet) holes(r domain.Range) []domain.Range {
	out := rangeSet{r}
	for _, x := range s {
		out = out.subtract(x)
	}
	return out
}

func (s rangeSet) equal(t rangeSet) bool { return slices.Equal(s, t) }

func normalize(rs []domain.Range) rangeSet {
	var s rangeSet
	sorted := slices.Clone(rs)
	slices.SortFunc(sorted, func(a, b domain.Range) int { return cmp.Compare(a.Start, b.Start) })
	for _, r := range sorted {
		s = s.add(r)
	}
	return s
}

type jsonRange struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

func encodeCoverage(s rangeSet) string {
	out := make([]jsonRange, len(s))
	for i, r := range s {
		out[i] = jsonRange{From: domain.Time(r.Start), To: domain.Time(r.End)}
	}
	b, _ := json.Marshal(out)
	return string(b)
}

func decodeCoverage(v string) (rangeSet, error) {
	if v == "" {
		return nil, nil
	}
	var in []jsonRange
	if err := json.Unmarshal([]byte(v), &in); err != nil {
		return nil, fmt.Errorf("metadata %s: %w", MetaCoverage, err)
	}
	rs := make([]domain.Range, 0, len(in))
	for _, r := range in {
		rs = append(rs, domain.Range{Start: r.From.UnixNano(), End: r.To.UnixNano()})
	}
	return normalize(rs), nil
}

func encodeProvenance(list []ProvenanceRecord) string {
	b, _ := json.Marshal(list)
	return string(b)
}

func decodeProvenance(v string) ([]ProvenanceRecord, error) {
	if v == "" {
		return nil, nil
	}
	var out []ProvenanceRecord
	if err := json.Unmarshal([]byte(v), &out); err != nil {
		return nil, fmt.Errorf("metadata %s: %w", MetaProvenance, err)
	}
	return out, nil
}

func formatTs(ns int64, ok bool) string {
	if !ok {
		return ""
	}
	return domain.FormatNs(ns)
}

func parseTs(v string) (int64, bool) {
	if v == "" {
		return 0, false
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return 0, false
	}
	return t.UnixNano(), true
}
