package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/pype-go/pype/store/runs"
)

// RunsPath returns where the run history of a data directory lives:
// <data>/.pype/runs.db (hidden from the dataset listing).
func RunsPath(dataDir string) string { return filepath.Join(dataDir, ".pype", "runs.db") }

// RunHistory records runs in the SQLite run history of store/runs. The
// database is opened on first use, so merely constructing a RunHistory
// touches nothing. A rerun with the same parameters as an interrupted or
// failed run is recorded as its continuation (runs.DB.Resume). Running
// runs send a heartbeat every KeepAliveEvery, so a crash is recognised.
// Close stops the heartbeats and closes the database.
type RunHistory struct {
	Path           string
	Logger         *slog.Logger
	Now            func() time.Time
	KeepAliveEvery time.Duration // default 1 minute

	mu    sync.Mutex
	db    *runs.DB
	alive map[string]context.CancelFunc
	wg    sync.WaitGroup
}

// runParams is what identifies a run's job in the history.
type runParams struct {
	Venue    string            `json:"venue"`
	Datasets []string          `json:"datasets"`
	Params   map[string]string `json:"params,omitempty"`
}

func paramsOf(r RunRecord) runParams {
	return runParams{Venue: r.Venue, Datasets: r.Datasets, Params: r.Params}
}

// DB opens (once) and returns the database.
func (h *RunHistory) DB(ctx context.Context) (*runs.DB, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.db != nil {
		return h.db, nil
	}
	db, err := runs.Open(ctx, h.Path, runs.Options{Logger: h.Logger, Now: h.Now})
	if err != nil {
		return nil, err
	}
	h.db = db
	h.alive = map[string]context.CancelFunc{}
	return db, nil
}

// StartRun implements RunRecorder.
func (h *RunHistory) StartRun(ctx context.Context, r RunRecord) (string, error) {
	db, err := h.DB(ctx)
	if err != nil {
		return "", err
	}
	kind := runs.Kind(r.Kind)
	p := paramsOf(r)
	var run *runs.Run
	if prev, err := db.LastInterrupted(ctx, kind, p); err == nil && prev != nil {
		// A concurrent rerun may have resumed it first: then start afresh.
		run, _ = db.Resume(ctx, prev)
	}
	if run == nil {
		if run, err = db.Start(ctx, kind, p); err != nil {
			return "", err
		}
	}
	every := h.KeepAliveEvery
	if every <= 0 {
		every = time.Minute
	}
	kctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	h.mu.Lock()
	h.alive[run.ID] = cancel
	h.mu.Unlock()
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		db.KeepAlive(kctx, run.ID, every)
	}()
	return run.ID, nil
}

// UpdateRun implements RunRecorder.
func (h *RunHistory) UpdateRun(ctx context.Context, r RunRecord) error {
	db, err := h.DB(ctx)
	if err != nil {
		return err
	}
	return db.Progress(ctx, r.ID, runs.Progress{Rows: r.Added, Gaps: int64(r.Gaps)})
}

// FinishRun implements RunRecorder.
func (h *RunHistory) FinishRun(ctx context.Context, r RunRecord) error {
	db, err := h.DB(ctx)
	if err != nil {
		return err
	}
	h.mu.Lock()
	if cancel := h.alive[r.ID]; cancel != nil {
		cancel()
		delete(h.alive, r.ID)
	}
	h.mu.Unlock()
	perr := db.Progress(ctx, r.ID, runs.Progress{Rows: r.Added, Gaps: int64(r.Gaps)})
	var runErr error
	switch r.Status {
	case RunSucceeded:
	case RunInterrupted:
		runErr = fmt.Errorf("%s: %w", r.Error, context.Canceled)
	default:
		runErr = errors.New(r.Error)
	}
	if runErr != nil {
		_ = db.RecordError(ctx, r.ID, runErr)
	}
	return errors.Join(perr, db.Finish(ctx, r.ID, runErr))
}

// Close stops heartbeats and closes the database (if it was opened).
func (h *RunHistory) Close() error {
	h.mu.Lock()
	for id, cancel := range h.alive {
		cancel()
		delete(h.alive, id)
	}
	db := h.db
	h.mu.Unlock()
	h.wg.Wait()
	if db == nil {
		return nil
	}
	return db.Close()
}
