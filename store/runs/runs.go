// Package runs records pype's backfill and stream runs in a SQLite database
// (pure Go driver, no cgo): parameters, state, progress, rows written, gaps
// found and errors, so that `pype runs` can show history, a crashed run is
// recognised, and a rerun with the same parameters resumes from the last
// checkpoint.
//
// States: a run starts [Running] and ends [Done], [Failed] or [Interrupted]
// (cancelled, or found dead). A process that crashes cannot mark its runs, so
// [Open] (and [DB.RecoverStale]) marks a running run interrupted when its
// process is gone: on the same host by process id and start time (so a
// recycled pid, as in containers where every process is pid 1, is not
// mistaken for the old one), on other hosts when its heartbeat is older than
// Options.StaleAfter. Long runs should call [DB.KeepAlive].
//
// The database uses WAL mode (readers never block the writer) and a busy
// timeout, and is safe for concurrent use by many goroutines and processes.
package runs

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/pype-go/pype/domain"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Kind names what a run does.
type Kind string

// Run kinds used by pype; others are allowed.
const (
	Backfill Kind = "backfill"
	Stream   Kind = "stream"
	Verify   Kind = "verify"
)

// State is a run's lifecycle state.
type State string

// States.
const (
	Running     State = "running"
	Done        State = "done"
	Failed      State = "failed"
	Interrupted State = "interrupted"
)

// Run is one recorded run.
type Run struct {
	ID        string
	Kind      Kind
	Params    json.RawMessage // canonical JSON (sorted keys)
	ParamsKey string          // SHA-256 of Params: runs with equal keys did the same job
	State     State
	Done      int64 // progress: units done (windows, symbols…)
	Total     int64 // progress: units in all, 0 when unknown
	Rows      int64 // rows written
	Gaps      int64 // gaps found
	Errors    int64 // errors recorded (the messages are capped, the count is not)
	LastError string
	// Checkpoint is the run's own resume point (opaque JSON), set with
	// Progress; a resumed run starts with its predecessor's checkpoint.
	Checkpoint  json.RawMessage
	StartedAt   time.Time
	UpdatedAt   time.Time // last progress or heartbeat
	FinishedAt  time.Time // zero while running
	Host        string
	PID         int
	ResumedFrom string // id of the interrupted run this one continues
	ResumedBy   string // id of the run that continued this one
}

// Progress is an absolute progress report. Checkpoint, when not nil, is
// marshalled to JSON and replaces the stored checkpoint.
type Progress struct {
	Done, Total, Rows, Gaps int64
	Checkpoint              any
}

// Delta adds to a run's counters; safe from many goroutines at once.
type Delta struct {
	Done, Rows, Gaps int64
}

// Gap is a hole a run found in the data (a venue gap, a failed window).
type Gap struct {
	Dataset string
	Range   domain.Range
	Reason  string
	At      time.Time
}

// Error is one recorded run error.
type Error struct {
	At      time.Time
	Message string
}

// NotFoundError reports an unknown run id.
type NotFoundError struct{ ID string }

func (e *NotFoundError) Error() string { return fmt.Sprintf("runs: no run with id %q", e.ID) }

// Options tunes a DB. The zero value is ready to use.
type Options struct {
	// StaleAfter is how old the heartbeat of a running run on another host
	// must be before the run is declared interrupted. Default 5 minutes.
	StaleAfter time.Duration
	// BusyTimeout is how long a write waits for a lock. Default 10 s.
	BusyTimeout time.Duration
	// MaxErrorMessages caps the error messages kept per run. Default 100.
	MaxErrorMessages int
	Logger           *slog.Logger
	Now              func() time.Time

	// Process identity, overridable for tests.
	Host  string                           // default os.Hostname()
	PID   int                              // default os.Getpid()
	Alive func(pid int, token string) bool // default: the OS process table
	Token func(pid int) string             // process start token; default from /proc
}

// DB is the run history.
type DB struct {
	db    *sql.DB
	opts  Options
	log   *slog.Logger
	token string
	path  string
}

const schemaVersion = 1

const schema = `
CREATE TABLE IF NOT EXISTS runs (
	id           TEXT PRIMARY KEY,
	kind         TEXT NOT NULL,
	params       TEXT NOT NULL,
	params_key   TEXT NOT NULL,
	state        TEXT NOT NULL,
	done         INTEGER NOT NULL DEFAULT 0,
	total        INTEGER NOT NULL DEFAULT 0,
	rows         INTEGER NOT NULL DEFAULT 0,
	gaps         INTEGER NOT NULL DEFAULT 0,
	errors       INTEGER NOT NULL DEFAULT 0,
	last_error   TEXT NOT NULL DEFAULT '',
	checkpoint   TEXT NOT NULL DEFAULT '',
	started_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL,
	finished_at  INTEGER NOT NULL DEFAULT 0,
	host         TEXT NOT NULL,
	pid          INTEGER NOT NULL,
	proc_token   TEXT NOT NULL,
	resumed_from TEXT NOT NULL DEFAULT '',
	resumed_by   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS runs_state ON runs(state);
CREATE INDEX IF NOT EXISTS runs_job ON runs(kind, params_key, started_at);
CREATE TABLE IF NOT EXISTS run_errors (
	run_id  TEXT NOT NULL,
	at      INTEGER NOT NULL,
	message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS run_errors_run ON run_errors(run_id);
CREATE TABLE IF NOT EXISTS run_gaps (
	run_id   TEXT NOT NULL,
	dataset  TEXT NOT NULL,
	start_ns INTEGER NOT NULL,
	end_ns   INTEGER NOT NULL,
	reason   TEXT NOT NULL,
	at       INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS run_gaps_run ON run_gaps(run_id);
`

// Open opens (creating) the run database at path, migrates its schema and
// marks runs whose process is gone as interrupted.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if opts.StaleAfter <= 0 {
		opts.StaleAfter = 5 * time.Minute
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 10 * time.Second
	}
	if opts.MaxErrorMessages <= 0 {
		opts.MaxErrorMessages = 100
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Host == "" {
		opts.Host, _ = os.Hostname()
	}
	if opts.PID == 0 {
		opts.PID = os.Getpid()
	}
	if opts.Token == nil {
		opts.Token = processToken
	}
	if opts.Alive == nil {
		tokenOf := opts.Token
		opts.Alive = func(pid int, token string) bool { return processAlive(pid, token, tokenOf) }
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("runs: creating directory for %s: %w", path, err)
		}
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", opts.BusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate")
	dsn := "file:" + filepath.ToSlash(path) + "?" + q.Encode()
	sdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("runs: opening %s: %w", path, err)
	}
	sdb.SetMaxOpenConns(8)
	db := &DB{db: sdb, opts: opts, log: log, token: opts.Token(opts.PID), path: path}
	if err := db.migrate(ctx); err != nil {
		sdb.Close()
		return nil, err
	}
	if n, err := db.RecoverStale(ctx); err != nil {
		sdb.Close()
		return nil, err
	} else if n > 0 {
		log.Info("runs: marked runs of dead processes as interrupted", "count", n, "db", path)
	}
	return db, nil
}

func (db *DB) migrate(ctx context.Context) error {
	var v int
	if err := db.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("runs: reading schema version of %s: %w (is it a SQLite database?)", db.path, err)
	}
	if v > schemaVersion {
		return fmt.Errorf("runs: %s has schema version %d, this pype knows up to %d (upgrade pype)", db.path, v, schemaVersion)
	}
	if v == schemaVersion {
		return nil
	}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("runs: migrating %s: %w", db.path, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, schema); err != nil {
		return fmt.Errorf("runs: creating schema in %s: %w", db.path, err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", schemaVersion)); err != nil {
		return fmt.Errorf("runs: migrating %s: %w", db.path, err)
	}
	return tx.Commit()
}

// Close closes the database.
func (db *DB) Close() error { return db.db.Close() }

func (db *DB) now() int64 { return db.opts.Now().UnixNano() }

// CanonicalParams returns params as canonical JSON (object keys sorted,
// numbers kept exactly) and its SHA-256 key.
func CanonicalParams(params any) (json.RawMessage, string, error) {
	raw, err := json.Marshal(params)
	if err != nil {
		return nil, "", fmt.Errorf("runs: parameters are not JSON-encodable: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, "", fmt.Errorf("runs: parameters: %w", err)
	}
	canon, err := json.Marshal(v) // maps marshal with sorted keys
	if err != nil {
		return nil, "", fmt.Errorf("runs: parameters: %w", err)
	}
	sum := sha256.Sum256(canon)
	return canon, hex.EncodeToString(sum[:]), nil
}

func newID() string {
	u, err := uuid.NewV7()
	if err != nil {
		var b [16]byte
		_, _ = rand.Read(b[:])
		return hex.EncodeToString(b[:])
	}
	return u.String()
}

// Start records a new running run of kind with params.
func (db *DB) Start(ctx context.Context, kind Kind, params any) (*Run, error) {
	return db.start(ctx, kind, params, nil)
}

// Resume starts a new run that continues prev (an interrupted or failed
// run): same kind and parameters, prev's checkpoint and counters, and prev
// marked as resumed so it is not offered again. It fails if another run
// already resumed prev.
func (db *DB) Resume(ctx context.Context, prev *Run) (*Run, error) {
	return db.start(ctx, prev.Kind, prev.Params, prev)
}

func (db *DB) start(ctx context.Context, kind Kind, params any, prev *Run) (*Run, error) {
	if kind == "" {
		return nil, errors.New("runs: empty run kind (e.g. backfill, stream)")
	}
	canon, key, err := CanonicalParams(params)
	if err != nil {
		return nil, err
	}
	now := db.now()
	r := &Run{ID: newID(), Kind: kind, Params: canon, ParamsKey: key, State: Running,
		StartedAt: time.Unix(0, now).UTC(), UpdatedAt: time.Unix(0, now).UTC(), Host: db.opts.Host, PID: db.opts.PID}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("runs: start: %w", err)
	}
	defer tx.Rollback()
	if prev != nil {
		res, err := tx.ExecContext(ctx, `UPDATE runs SET resumed_by = ? WHERE id = ? AND resumed_by = '' AND state != 'running'`, r.ID, prev.ID)
		if err != nil {
			return nil, fmt.Errorf("runs: resume %s: %w", prev.ID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil, fmt.Errorf("runs: run %s cannot be resumed (unknown, still running, or already resumed)", prev.ID)
		}
		r.ResumedFrom = prev.ID
		r.Checkpoint = prev.Checkpoint
		r.Done, r.Total, r.Rows, r.Gaps = prev.Done, prev.Total, prev.Rows, prev.Gaps
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO runs (id, kind, params, params_key, state, done, total, rows, gaps, checkpoint,
		started_at, updated_at, host, pid, proc_token, resumed_from) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		r.ID, string(kind), string(canon), key, string(Running), r.Done, r.Total, r.Rows, r.Gaps, string(r.Checkpoint),
		now, now, r.Host, r.PID, db.token, r.ResumedFrom)
	if err != nil {
		return nil, fmt.Errorf("runs: start: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("runs: start: %w", err)
	}
	return r, nil
}

func (db *DB) exec(ctx context.Context, id, what, query string, args ...any) error {
	res, err := db.db.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("runs: %s %s: %w", what, id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return &NotFoundError{ID: id}
	}
	return nil
}

// Progress stores absolute progress (and the checkpoint, if set) and
// refreshes the heartbeat.
func (db *DB) Progress(ctx context.Context, id string, p Progress) error {
	if p.Checkpoint == nil {
		return db.exec(ctx, id, "progress", `UPDATE runs SET done=?, total=?, rows=?, gaps=?, updated_at=? WHERE id=?`,
			p.Done, p.Total, p.Rows, p.Gaps, db.now(), id)
	}
	cp, err := json.Marshal(p.Checkpoint)
	if err != nil {
		return fmt.Errorf("runs: checkpoint of %s is not JSON-encodable: %w", id, err)
	}
	return db.exec(ctx, id, "progress", `UPDATE runs SET done=?, total=?, rows=?, gaps=?, checkpoint=?, updated_at=? WHERE id=?`,
		p.Done, p.Total, p.Rows, p.Gaps, string(cp), db.now(), id)
}

// Add increments counters atomically and refreshes the heartbeat.
func (db *DB) Add(ctx context.Context, id string, d Delta) error {
	return db.exec(ctx, id, "add", `UPDATE runs SET done=done+?, rows=rows+?, gaps=gaps+?, updated_at=? WHERE id=?`,
		d.Done, d.Rows, d.Gaps, db.now(), id)
}

// SetTotal sets the progress total.
func (db *DB) SetTotal(ctx context.Context, id string, total int64) error {
	return db.exec(ctx, id, "set total", `UPDATE runs SET total=?, updated_at=? WHERE id=?`, total, db.now(), id)
}

// Checkpoint stores the resume point.
func (db *DB) Checkpoint(ctx context.Context, id string, cp any) error {
	b, err := json.Marshal(cp)
	if err != nil {
		return fmt.Errorf("runs: checkpoint of %s is not JSON-encodable: %w", id, err)
	}
	return db.exec(ctx, id, "checkpoint", `UPDATE runs SET checkpoint=?, updated_at=? WHERE id=?`, string(b), db.now(), id)
}

// Heartbeat refreshes the run's heartbeat.
func (db *DB) Heartbeat(ctx context.Context, id string) error {
	return db.exec(ctx, id, "heartbeat", `UPDATE runs SET updated_at=? WHERE id=?`, db.now(), id)
}

// KeepAlive refreshes the heartbeat every interval until ctx is done; run
// it in a goroutine the caller waits for. Errors are logged, not fatal.
func (db *DB) KeepAlive(ctx context.Context, id string, every time.Duration) {
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := db.Heartbeat(ctx, id); err != nil && ctx.Err() == nil {
				db.log.Warn("runs: heartbeat failed", "run", id, "err", err)
			}
		}
	}
}

const maxMessage = 2000

// RecordError stores an error message for the run (the first
// Options.MaxErrorMessages are kept) and counts it. Callers must not pass
// secrets: messages are stored verbatim.
func (db *DB) RecordError(ctx context.Context, id string, err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if len(msg) > maxMessage {
		msg = msg[:maxMessage] + "…"
	}
	now := db.now()
	tx, txErr := db.db.BeginTx(ctx, nil)
	if txErr != nil {
		return fmt.Errorf("runs: record error for %s: %w", id, txErr)
	}
	defer tx.Rollback()
	res, txErr := tx.ExecContext(ctx, `UPDATE runs SET errors=errors+1, last_error=?, updated_at=? WHERE id=?`, msg, now, id)
	if txErr != nil {
		return fmt.Errorf("runs: record error for %s: %w", id, txErr)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return &NotFoundError{ID: id}
	}
	if _, txErr = tx.ExecContext(ctx, `INSERT INTO run_errors (run_id, at, message)
		SELECT ?, ?, ? WHERE (SELECT count(*) FROM run_errors WHERE run_id=?) < ?`, id, now, msg, id, db.opts.MaxErrorMessages); txErr != nil {
		return fmt.Errorf("runs: record error for %s: %w", id, txErr)
	}
	return tx.Commit()
}

// RecordGap stores a gap found by the run and counts it.
func (db *DB) RecordGap(ctx context.Context, id string, g Gap) error {
	now := db.now()
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("runs: record gap for %s: %w", id, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE runs SET gaps=gaps+1, updated_at=? WHERE id=?`, now, id)
	if err != nil {
		return fmt.Errorf("runs: record gap for %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return &NotFoundError{ID: id}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO run_gaps (run_id, dataset, start_ns, end_ns, reason, at) VALUES (?,?,?,?,?,?)`,
		id, g.Dataset, g.Range.Start, g.Range.End, g.Reason, now); err != nil {
		return fmt.Errorf("runs: record gap for %s: %w", id, err)
	}
	return tx.Commit()
}

// Finish ends a run: Done when err is nil, Interrupted when err is (or
// wraps) context.Canceled, Failed otherwise (err's message becomes
// LastError).
func (db *DB) Finish(ctx context.Context, id string, runErr error) error {
	state := Done
	msg := ""
	switch {
	case runErr == nil:
	case errors.Is(runErr, context.Canceled):
		state, msg = Interrupted, runErr.Error()
	default:
		state, msg = Failed, runErr.Error()
	}
	if len(msg) > maxMessage {
		msg = msg[:maxMessage] + "…"
	}
	now := db.now()
	// Finishing must work after the caller's context was cancelled.
	ctx = context.WithoutCancel(ctx)
	if msg == "" {
		return db.exec(ctx, id, "finish", `UPDATE runs SET state=?, finished_at=?, updated_at=? WHERE id=?`, string(state), now, now, id)
	}
	return db.exec(ctx, id, "finish", `UPDATE runs SET state=?, last_error=?, finished_at=?, updated_at=? WHERE id=?`,
		string(state), msg, now, now, id)
}

const runCols = `id, kind, params, params_key, state, done, total, rows, gaps, errors, last_error, checkpoint,
	started_at, updated_at, finished_at, host, pid, resumed_from, resumed_by`

func scanRun(sc interface{ Scan(...any) error }) (*Run, error) {
	var r Run
	var kind, state, params, cp string
	var started, updated, finished int64
	if err := sc.Scan(&r.ID, &kind, &params, &r.ParamsKey, &state, &r.Done, &r.Total, &r.Rows, &r.Gaps, &r.Errors,
		&r.LastError, &cp, &started, &updated, &finished, &r.Host, &r.PID, &r.ResumedFrom, &r.ResumedBy); err != nil {
		return nil, err
	}
	r.Kind, r.State, r.Params = Kind(kind), State(state), json.RawMessage(params)
	if cp != "" {
		r.Checkpoint = json.RawMessage(cp)
	}
	r.StartedAt, r.UpdatedAt = time.Unix(0, started).UTC(), time.Unix(0, updated).UTC()
	if finished != 0 {
		r.FinishedAt = time.Unix(0, finished).UTC()
	}
	return &r, nil
}

// Get returns one run, or a *NotFoundError.
func (db *DB) Get(ctx context.Context, id string) (*Run, error) {
	r, err := scanRun(db.db.QueryRowContext(ctx, `SELECT `+runCols+` FROM runs WHERE id=?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &NotFoundError{ID: id}
	}
	if err != nil {
		return nil, fmt.Errorf("runs: get %s: %w", id, err)
	}
	return r, nil
}

// Filter selects runs for List. Zero fields match everything; Limit 0
// means 100.
type Filter struct {
	Kind  Kind
	State State
	Limit int
}

// List returns runs, newest first.
func (db *DB) List(ctx context.Context, f Filter) ([]*Run, error) {
	q := `SELECT ` + runCols + ` FROM runs WHERE 1=1`
	var args []any
	if f.Kind != "" {
		q += ` AND kind=?`
		args = append(args, string(f.Kind))
	}
	if f.State != "" {
		q += ` AND state=?`
		args = append(args, string(f.State))
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	q += ` ORDER BY started_at DESC, id DESC LIMIT ?`
	args = append(args, f.Limit)
	return db.query(ctx, q, args...)
}

func (db *DB) query(ctx context.Context, q string, args ...any) ([]*Run, error) {
	rows, err := db.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("runs: list: %w", err)
	}
	defer rows.Close()
	var out []*Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("runs: list: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// LastInterrupted returns the newest interrupted (or failed) run of kind
// with the same parameters that no other run has resumed yet, or nil. Pass
// it to Resume to continue from its checkpoint.
func (db *DB) LastInterrupted(ctx context.Context, kind Kind, params any) (*Run, error) {
	_, key, err := CanonicalParams(params)
	if err != nil {
		return nil, err
	}
	if _, err := db.RecoverStale(ctx); err != nil {
		return nil, err
	}
	out, err := db.query(ctx, `SELECT `+runCols+` FROM runs WHERE kind=? AND params_key=? AND state IN ('interrupted','failed')
		AND resumed_by='' ORDER BY started_at DESC, id DESC LIMIT 1`, string(kind), key)
	if err != nil || len(out) == 0 {
		return nil, err
	}
	return out[0], nil
}

// Errors returns the stored error messages of a run, oldest first.
func (db *DB) Errors(ctx context.Context, id string) ([]Error, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT at, message FROM run_errors WHERE run_id=? ORDER BY rowid`, id)
	if err != nil {
		return nil, fmt.Errorf("runs: errors of %s: %w", id, err)
	}
	defer rows.Close()
	var out []Error
	for rows.Next() {
		var at int64
		var e Error
		if err := rows.Scan(&at, &e.Message); err != nil {
			return nil, err
		}
		e.At = time.Unix(0, at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// Gaps returns the gaps recorded by a run, oldest first.
func (db *DB) Gaps(ctx context.Context, id string) ([]Gap, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT dataset, start_ns, end_ns, reason, at FROM run_gaps WHERE run_id=? ORDER BY rowid`, id)
	if err != nil {
		return nil, fmt.Errorf("runs: gaps of %s: %w", id, err)
	}
	defer rows.Close()
	var out []Gap
	for rows.Next() {
		var g Gap
		var at int64
		if err := rows.Scan(&g.Dataset, &g.Range.Start, &g.Range.End, &g.Reason, &at); err != nil {
			return nil, err
		}
		g.At = time.Unix(0, at).UTC()
		out = append(out, g)
	}
	return out, rows.Err()
}

// RecoverStale marks running runs whose process is gone as interrupted and
// returns how many it marked. On this host a run's process is checked by
// pid and start token; a run from another host is stale when its heartbeat
// is older than Options.StaleAfter.
func (db *DB) RecoverStale(ctx context.Context) (int, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT id, host, pid, proc_token, updated_at FROM runs WHERE state='running'`)
	if err != nil {
		return 0, fmt.Errorf("runs: scanning running runs: %w", err)
	}
	type cand struct {
		id, host, token string
		pid             int
		updated         int64
	}
	var cands []cand
	for rows.Next() {
		var c cand
		if err := rows.Scan(&c.id, &c.host, &c.pid, &c.token, &c.updated); err != nil {
			rows.Close()
			return 0, err
		}
		cands = append(cands, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	now := db.now()
	n := 0
	for _, c := range cands {
		var why string
		switch {
		case c.host == db.opts.Host:
			if c.pid == db.opts.PID && c.token == db.token {
				continue // this very process
			}
			if db.opts.Alive(c.pid, c.token) {
				continue
			}
			why = fmt.Sprintf("process %d on %s is gone", c.pid, c.host)
		case time.Duration(now-c.updated) > db.opts.StaleAfter:
			why = fmt.Sprintf("no heartbeat from %s for %s", c.host, time.Duration(now-c.updated).Round(time.Second))
		default:
			continue
		}
		res, err := db.db.ExecContext(ctx, `UPDATE runs SET state='interrupted', last_error=?, finished_at=? WHERE id=? AND state='running'`,
			"interrupted: "+why, now, c.id)
		if err != nil {
			return n, fmt.Errorf("runs: marking %s interrupted: %w", c.id, err)
		}
		if k, _ := res.RowsAffected(); k > 0 {
			n++
			db.log.Warn("runs: run was left running by a process that is gone; marked interrupted", "run", c.id, "reason", why)
		}
	}
	return n, nil
}
