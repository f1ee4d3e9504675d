package app

import (
	"context"
	"time"
)

// RunStatus is the state of a recorded run.
type RunStatus string

// Run states.
const (
	RunRunning     RunStatus = "running"
	RunSucceeded   RunStatus = "succeeded"
	RunFailed      RunStatus = "failed"
	RunInterrupted RunStatus = "interrupted"
)

// RunRecord is what pype records about one backfill or stream run.
type RunRecord struct {
	ID       string
	Kind     string // "backfill" or "stream"
	Venue    string
	Datasets []string // dataset ids, e.g. binance/BTC-USDT/ohlc/1h
	Params   map[string]string
	Status   RunStatus
	Started  time.Time
	Ended    time.Time // zero while running
	Records  int64     // records received from the venue
	Added    int64     // rows new to the store
	Gaps     int       // holes reported by the venue adapter or detected
	Error    string
}

// RunRecorder stores run history (store/runs provides the SQLite one).
// Implementations must be safe for concurrent use. Errors are logged by the
// App and never fail an operation.
type RunRecorder interface {
	// StartRun records a new run in state running and returns its id;
	// an empty id keeps r.ID (which the App always sets).
	StartRun(ctx context.Context, r RunRecord) (id string, err error)
	// UpdateRun records progress of a running run.
	UpdateRun(ctx context.Context, r RunRecord) error
	// FinishRun records the final state.
	FinishRun(ctx context.Context, r RunRecord) error
}

// runStart records the start of r and returns the run id to use.
func (a *App) runStart(ctx context.Context, r RunRecord) string {
	if a.Runs == nil {
		return r.ID
	}
	id, err := a.Runs.StartRun(context.WithoutCancel(ctx), r)
	if err != nil {
		a.log().Warn("run history: cannot record run start", "run", r.ID, "err", err)
	}
	if id == "" {
		return r.ID
	}
	return id
}

func (a *App) runUpdate(ctx context.Context, r RunRecord) {
	if a.Runs == nil {
		return
	}
	if err := a.Runs.UpdateRun(context.WithoutCancel(ctx), r); err != nil {
		a.log().Warn("run history: cannot record progress", "run", r.ID, "err", err)
	}
}

func (a *App) runFinish(ctx context.Context, r RunRecord) {
	if a.Runs == nil {
		return
	}
	if err := a.Runs.FinishRun(context.WithoutCancel(ctx), r); err != nil {
		a.log().Warn("run history: cannot record run end", "run", r.ID, "err", err)
	}
}
