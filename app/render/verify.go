package render

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/pype-go/pype/app"
	"github.com/pype-go/pype/domain"
)

// VerifyGap is one hole in JSON verify output.
type VerifyGap struct {
	JSONRange
	Missing int64  `json:"missing"`
	Covered bool   `json:"venue_gap"` // inside fetched coverage: the venue has no rows there
	FromID  string `json:"from_id,omitempty"`
	ToID    string `json:"to_id,omitempty"`
}

// VerifyEntry is one dataset in JSON verify output.
type VerifyEntry struct {
	Dataset       string      `json:"dataset"`
	OK            bool        `json:"ok"`
	Range         JSONRange   `json:"range"`
	Rows          int64       `json:"rows"`
	Duplicates    int64       `json:"duplicates"`
	OutOfOrder    int64       `json:"out_of_order"`
	Misplaced     int64       `json:"misplaced"`
	OffGrid       int64       `json:"off_grid,omitempty"`
	MissingBars   int64       `json:"missing_bars,omitempty"`
	VenueGapBars  int64       `json:"venue_gap_bars,omitempty"`
	IDsChecked    bool        `json:"ids_checked,omitempty"`
	ContiguousIDs bool        `json:"contiguous_ids,omitempty"`
	MissingIDs    int64       `json:"missing_ids,omitempty"`
	IDRegressions int64       `json:"id_regressions,omitempty"`
	Uncovered     []JSONRange `json:"uncovered"`
	Gaps          []VerifyGap `json:"gaps"`
	Failures      []string    `json:"failures"`
	Notes         []string    `json:"notes"`
}

// VerifyJSON converts a verify result to its JSON form.
func VerifyJSON(res *app.VerifyResult) []VerifyEntry {
	out := []VerifyEntry{}
	for i := range res.Verdicts {
		v := &res.Verdicts[i]
		r := v.Report
		e := VerifyEntry{Dataset: r.ID.String(), OK: v.OK(), Rows: r.Rows, Duplicates: r.Duplicates, OutOfOrder: r.OutOfOrder,
			Misplaced: r.Misplaced, OffGrid: r.OffGrid, MissingBars: r.MissingBars, VenueGapBars: r.VenueGapBars, IDsChecked: r.IDsChecked,
			ContiguousIDs: v.ContiguousIDs, MissingIDs: r.MissingIDs, IDRegressions: r.IDRegressions, Uncovered: jsonRanges(r.Uncovered),
			Gaps: []VerifyGap{}, Failures: append([]string{}, v.Failures...), Notes: append([]string{}, v.Notes...)}
		if r.Range != (domain.Range{}) {
			e.Range = jsonRanges([]domain.Range{r.Range})[0]
		}
		for _, g := range r.Gaps {
			e.Gaps = append(e.Gaps, VerifyGap{JSONRange: jsonRanges([]domain.Range{g.Range})[0], Missing: g.Missing, Covered: g.Covered, FromID: g.FromID, ToID: g.ToID})
		}
		out = append(out, e)
	}
	return out
}

// Verify writes a verify result as text or JSON.
func Verify(w io.Writer, f Format, res *app.VerifyResult) error {
	if f == JSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(VerifyJSON(res))
	}
	failed := 0
	for i := range res.Verdicts {
		v := &res.Verdicts[i]
		r := v.Report
		status := "OK  "
		if !v.OK() {
			status = "FAIL"
			failed++
		}
		rng := "-"
		if r.Range != (domain.Range{}) {
			rng = Range(r.Range)
		}
		fmt.Fprintf(w, "%s  %s  %s  %s rows\n", status, r.ID, rng, Count(r.Rows))
		for _, msg := range v.Failures {
			fmt.Fprintf(w, "      ✗ %s\n", msg)
		}
		shown := 0
		for _, g := range r.Gaps {
			if g.Covered && r.ID.Type == domain.OHLC {
				continue // venue gaps are summarised in the notes
			}
			if shown == 10 {
				fmt.Fprintln(w, "      … more gaps (use --format json for all)")
				break
			}
			shown++
			if g.FromID != "" {
				fmt.Fprintf(w, "      gap: ids %s → %s (%d missing), %s\n", g.FromID, g.ToID, g.Missing, Range(g.Range))
			} else {
				fmt.Fprintf(w, "      gap: %s (%d bars missing)\n", Range(g.Range), g.Missing)
			}
		}
		for _, u := range r.Uncovered {
			if r.ID.Type == domain.Book {
				break
			}
			if shown == 10 {
				break
			}
			shown++
			fmt.Fprintf(w, "      not fetched: %s\n", Range(u))
		}
		for _, msg := range v.Notes {
			fmt.Fprintf(w, "      · %s\n", msg)
		}
	}
	var err error
	if failed == 0 {
		_, err = fmt.Fprintf(w, "verified %d dataset(s): complete, no duplicates, in order\n", len(res.Verdicts))
	} else {
		_, err = fmt.Fprintf(w, "%d of %d dataset(s) failed verification\n", failed, len(res.Verdicts))
	}
	return err
}
