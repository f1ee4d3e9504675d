package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pype-go/pype/app"
	"github.com/pype-go/pype/app/render"
	"github.com/pype-go/pype/store/runs"
)

func (c *cli) runsCommand() *cobra.Command {
	var (
		limit  int
		state  string
		kind   string
		format string
	)
	cmd := &cobra.Command{
		Use:   "runs [ID]",
		Short: "Show the run history (backfills and streams) of the data directory",
		Long: `Show recorded backfill and stream runs, newest first: state (running, done,
failed, interrupted), rows written, gaps, and which run resumed which. A run
whose process died (kill -9, power loss) is shown as interrupted. With a run
ID, show that run's parameters and errors.

The history is a SQLite database at <data>/.pype/runs.db.`,
		Example: `  pype runs
  pype runs --state interrupted
  pype runs 01a1fcd1-add1-7309-b6d1-d77c72366ed6`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := render.ParseFormat(format, render.Table, render.JSON)
			if err != nil {
				return err
			}
			switch state {
			case "", "running", "done", "failed", "interrupted":
			default:
				return usagef("invalid --state %q (accepted: running, done, failed, interrupted)", state)
			}
			path := app.RunsPath(c.dataDir)
			if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
				if f == render.JSON {
					_, err := fmt.Fprintln(c.stdout, "[]")
					return err
				}
				_, err := fmt.Fprintf(c.stdout, "no runs recorded in %s\n", c.dataDir)
				return err
			}
			db, err := c.runHistory(c.dataDir).DB(cmd.Context())
			if err != nil {
				return err
			}
			if len(args) == 1 {
				return c.showRun(cmd, db, args[0], f)
			}
			list, err := db.List(cmd.Context(), runs.Filter{Kind: runs.Kind(kind), State: runs.State(state), Limit: limit})
			if err != nil {
				return err
			}
			if f == render.JSON {
				enc := json.NewEncoder(c.stdout)
				enc.SetIndent("", "  ")
				if list == nil {
					list = []*runs.Run{}
				}
				return enc.Encode(list)
			}
			if len(list) == 0 {
				_, err := fmt.Fprintln(c.stdout, "no runs")
				return err
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "STARTED\tID\tKIND\tSTATE\tROWS\tGAPS\tTOOK\tDATASETS\tNOTE")
			for _, r := range list {
				var p struct{ Datasets []string }
				_ = json.Unmarshal(r.Params, &p)
				took := "-"
				if !r.FinishedAt.IsZero() {
					took = render.Duration(r.FinishedAt.Sub(r.StartedAt))
				}
				note := ""
				switch {
				case r.ResumedFrom != "":
					note = "resumes " + r.ResumedFrom
				case r.ResumedBy != "":
					note = "resumed by " + r.ResumedBy
				}
				if r.LastError != "" && note == "" {
					note = firstLine(r.LastError, 60)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", r.StartedAt.UTC().Format(time.DateTime), r.ID, r.Kind, r.State,
					render.Count(r.Rows), r.Gaps, took, strings.Join(p.Datasets, ","), note)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 20, "show at most this many runs")
	cmd.Flags().StringVar(&state, "state", "", "only runs in this state: running, done, failed, interrupted")
	cmd.Flags().StringVar(&kind, "kind", "", "only runs of this kind: backfill, stream")
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}

func (c *cli) showRun(cmd *cobra.Command, db *runs.DB, id string, f render.Format) error {
	r, err := db.Get(cmd.Context(), id)
	var nf *runs.NotFoundError
	if errors.As(err, &nf) {
		return usagef("no run with id %q (see pype runs)", id)
	}
	if err != nil {
		return err
	}
	errs, err := db.Errors(cmd.Context(), id)
	if err != nil {
		return err
	}
	if f == render.JSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			*runs.Run
			ErrorMessages []runs.Error
		}{r, errs})
	}
	w := c.stdout
	fmt.Fprintf(w, "run %s (%s) %s\n", r.ID, r.Kind, r.State)
	fmt.Fprintf(w, "  started  %s on %s (pid %d)\n", r.StartedAt.UTC().Format(time.RFC3339), r.Host, r.PID)
	if !r.FinishedAt.IsZero() {
		fmt.Fprintf(w, "  finished %s (%s)\n", r.FinishedAt.UTC().Format(time.RFC3339), render.Duration(r.FinishedAt.Sub(r.StartedAt)))
	}
	fmt.Fprintf(w, "  rows %s, gaps %d, errors %d\n", render.Count(r.Rows), r.Gaps, r.Errors)
	fmt.Fprintf(w, "  params %s\n", r.Params)
	if r.ResumedFrom != "" {
		fmt.Fprintf(w, "  resumes %s\n", r.ResumedFrom)
	}
	if r.ResumedBy != "" {
		fmt.Fprintf(w, "  resumed by %s\n", r.ResumedBy)
	}
	for _, e := range errs {
		fmt.Fprintf(w, "  error at %s: %s\n", e.At.UTC().Format(time.RFC3339), e.Message)
	}
	return nil
}

func firstLine(s string, n int) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}
