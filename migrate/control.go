package migrate

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/throttle"
)

// A running migration is watched and steered through the database, not
// through its process, so that `godwit status|pause|resume|cutover` work
// from any host that can reach the server. The place is the checkpoint
// table (_<table>_ckpt): it already lives next to the table for exactly
// as long as the migration, godwit abort removes it, and whoever may run
// godwit against the server can read and write it. Its rows:
//
//	1  the checkpoint (checkpoint.go); loadCheckpoint reads only this one
//	2  the status the run publishes about itself, every statusEvery and at
//	   every phase change
//	3  the control flags the commands set: paused, cutover
//
// The commands never create a table: a table without a migration has
// nothing to control, and a control row left for nobody would be a trap
// for the next run.

const (
	statusRowID  = 2
	controlRowID = 3
	// statusEvery is how often the run rewrites its status row; the row's
	// age is therefore also the sign that the process is alive.
	statusEvery = time.Second
	// checkpointCommentPrefix marks the checkpoint table as godwit's, so
	// the commands never write into a user's table of the same name.
	checkpointCommentPrefix = "godwit checkpoint"
)

// RunStatus is what a running migration publishes about itself.
type RunStatus struct {
	Phase      Phase     `json:"phase"`
	PhaseSince time.Time `json:"phase_since"`
	// InPhaseSeconds is how long the phase had lasted when the row was
	// written, by the run's own clock: a reader on another host adds the
	// row's age rather than trust its clock to agree.
	InPhaseSeconds float64 `json:"in_phase_seconds"`
	Alter          string  `json:"alter"`
	Resumed        bool    `json:"resumed,omitempty"`      // the run picked up a killed one's copy
	ResumedFrom    string  `json:"resumed_from,omitempty"` // where, as Summary.ResumedFrom
	// The counters, as in the progress events of godwit migrate.
	RowsCopied   int64  `json:"rows_copied"`
	RowsTotal    int64  `json:"rows_total_estimate"`
	RowsApplied  int64  `json:"rows_applied"`
	Pending      int    `json:"pending_changes"`
	ChecksumRows int64  `json:"checksum_rows,omitempty"`
	Message      string `json:"message,omitempty"` // the last event's message
	// ETASeconds estimates the rest of the copy (or of the checksum) from
	// this phase's rate so far; 0 when there is no estimate.
	ETASeconds     float64 `json:"eta_seconds,omitempty"`
	Throttled      bool    `json:"throttled"`
	ThrottleReason string  `json:"throttle_reason,omitempty"`
	// Paused: godwit pause holds the copy or the checksum (at the
	// cut-over, Postponed says so).
	Paused      bool   `json:"paused,omitempty"`
	PauseReason string `json:"pause_reason,omitempty"`
	// Postponed says why the ready cut-over waits; "" when it does not.
	Postponed string `json:"postponed,omitempty"`
	// BlockedBy lists the sessions the cut-over waits for (blockers.go).
	BlockedBy []Blocker `json:"blocked_by,omitempty"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	StartedAt time.Time `json:"started_at"`
}

// Control is what godwit pause, resume and cutover ask of a migration.
type Control struct {
	Paused  bool      `json:"paused"`
	Cutover bool      `json:"cutover"`
	By      string    `json:"by,omitempty"` // host/pid of the last command that changed it
	At      time.Time `json:"at,omitzero"`
}

// MigrationState says whether a table has a migration.
type MigrationState string

// The states ReadStatus reports.
const (
	StateRunning MigrationState = "running" // a godwit holds the table's lock
	StateStopped MigrationState = "stopped" // none does, but a checkpoint is left: a rerun resumes
	StateNone    MigrationState = "none"
)

// CheckpointInfo is what the checkpoint row says, for a stopped run.
type CheckpointInfo struct {
	RowsCopied int64   `json:"rows_copied"`
	CopyDone   bool    `json:"copy_done"`
	AgeSeconds float64 `json:"age_seconds"`
}

// TableStatus is what godwit status reports about a table.
type TableStatus struct {
	Database    string         `json:"database"`
	Table       string         `json:"table"`
	State       MigrationState `json:"state"`
	TableExists bool           `json:"table_exists"`
	// LockConnection is the connection id holding the migration's lock.
	LockConnection int64 `json:"lock_connection,omitempty"`
	// HasControl: the checkpoint table exists, so the migration can be
	// controlled (it does not before the copy's setup, nor for an
	// instant change).
	HasControl bool       `json:"has_control_table"`
	Status     *RunStatus `json:"status,omitempty"`
	// StatusAgeSeconds is measured on the server (its clock wrote the
	// row), so clock skew between hosts does not distort it.
	StatusAgeSeconds float64         `json:"status_age_seconds,omitempty"`
	Control          Control         `json:"control"`
	Checkpoint       *CheckpointInfo `json:"checkpoint,omitempty"`
	Advice           string          `json:"advice,omitempty"`
}

// ControlAction is what a control command asks.
type ControlAction string

// The control commands.
const (
	ActionPause   ControlAction = "pause"
	ActionResume  ControlAction = "resume"
	ActionCutover ControlAction = "cutover"
)

// ControlResult says what a control command did.
type ControlResult struct {
	Action  ControlAction `json:"action"`
	Changed bool          `json:"changed"` // false: the flag was already so
	Control Control       `json:"control"` // the flags now
	// Before is the table's status read before the request was written:
	// where the migration was when it was asked.
	Before *TableStatus `json:"before"`
}

// AtCutover says whether the migration was waiting at its cut-over.
func (r *ControlResult) AtCutover() bool {
	return r.Before != nil && r.Before.Status != nil && r.Before.Status.Postponed != ""
}

// ReadStatus reports on the migration of a table: whether one runs
// (its lock is held), what it last published, the control flags, and
// what a stopped run left. It writes nothing.
func ReadStatus(ctx context.Context, conn mysqlx.Config, table string) (*TableStatus, error) {
	db, err := mysqlx.Open(ctx, conn)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if conn.Database, table, err = foldNames(ctx, db, conn.Database, table); err != nil {
		return nil, err
	}
	return readTableStatus(ctx, db, conn.Database, table)
}

func readTableStatus(ctx context.Context, db *sql.DB, schema, table string) (*TableStatus, error) {
	ts := &TableStatus{Database: schema, Table: table}
	holder, err := lockHolder(ctx, db, lockName(schema, table))
	if err != nil {
		return nil, fmt.Errorf("status: read the migration lock: %w", err)
	}
	ts.LockConnection = holder
	ckpt := checkpointName(table)
	rows, err := db.QueryContext(ctx, mysqlx.Tag+"SELECT TABLE_NAME, TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME IN (?, ?)",
		schema, table, ckpt)
	if err != nil {
		return nil, fmt.Errorf("status: look up %s and %s: %w", table, ckpt, err)
	}
	for rows.Next() {
		var name, comment string
		if err := rows.Scan(&name, &comment); err != nil {
			rows.Close()
			return nil, fmt.Errorf("status: look up %s: %w", table, err)
		}
		// information_schema compares names as the file system does;
		// only the exact names count.
		switch name {
		case table:
			ts.TableExists = true
		case ckpt:
			ts.HasControl = strings.HasPrefix(comment, checkpointCommentPrefix)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("status: look up %s: %w", table, err)
	}
	if ts.HasControl {
		if err := ts.readRows(ctx, db); err != nil {
			return nil, err
		}
	}
	switch {
	case holder != 0:
		ts.State = StateRunning
	case ts.HasControl:
		ts.State = StateStopped
		ts.Advice = fmt.Sprintf("stopped; rerun the same godwit migrate to resume, or godwit abort %s to remove what it left", tableFlags(schema, table))
	default:
		ts.State = StateNone
		ts.Advice = fmt.Sprintf("no godwit migration of %s.%s is running, and none left a checkpoint", schema, table)
		if !ts.TableExists {
			ts.Advice = fmt.Sprintf("table %s.%s does not exist (check --database and --table)", schema, table)
		}
	}
	return ts, nil
}

// readRows reads the checkpoint, status and control rows; a table dropped
// meanwhile (the run finished) leaves ts without them.
func (ts *TableStatus) readRows(ctx context.Context, db *sql.DB) error {
	q := fmt.Sprintf("%sSELECT id, state, TIMESTAMPDIFF(MICROSECOND, updated_at, UTC_TIMESTAMP(6)) FROM %s WHERE id IN (1, %d, %d)",
		mysqlx.Tag, mysqlx.QT(ts.Database, checkpointName(ts.Table)), statusRowID, controlRowID)
	rows, err := db.QueryContext(ctx, q)
	if mysqlx.ErrCode(err) == mysqlx.ErrNoSuchTable {
		ts.HasControl = false
		return nil
	}
	if err != nil {
		return fmt.Errorf("status: read %s: %w", checkpointName(ts.Table), err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int
		var state string
		var ageMicros int64
		if err := rows.Scan(&id, &state, &ageMicros); err != nil {
			return fmt.Errorf("status: read %s: %w", checkpointName(ts.Table), err)
		}
		age := float64(ageMicros) / 1e6
		switch id {
		case 1:
			var cp checkpoint
			if err := json.Unmarshal([]byte(state), &cp); err != nil {
				return fmt.Errorf("status: read the checkpoint: %w", err)
			}
			ts.Checkpoint = &CheckpointInfo{RowsCopied: cp.Rows, CopyDone: cp.Done, AgeSeconds: age}
		case statusRowID:
			var st RunStatus
			if err := json.Unmarshal([]byte(state), &st); err != nil {
				return fmt.Errorf("status: read the status row: %w", err)
			}
			ts.Status, ts.StatusAgeSeconds = &st, age
		case controlRowID:
			if err := json.Unmarshal([]byte(state), &ts.Control); err != nil {
				return fmt.Errorf("status: read the control row: %w", err)
			}
		}
	}
	return rows.Err()
}

// ControlMigration records a pause, resume or cut-over request for the
// migration of table. It refuses (a *Refusal) when there is nothing to
// control: no migration runs and none left a checkpoint, or the running
// one has not created its checkpoint table yet. A request for a stopped
// migration is recorded for the rerun that resumes it.
func ControlMigration(ctx context.Context, conn mysqlx.Config, table string, action ControlAction, log *slog.Logger) (*ControlResult, error) {
	if log == nil {
		log = slog.Default()
	}
	var change func(*Control)
	switch action {
	case ActionPause:
		change = func(c *Control) { c.Paused = true }
	case ActionResume:
		change = func(c *Control) { c.Paused = false }
	case ActionCutover:
		change = func(c *Control) { c.Cutover = true }
	default:
		return nil, fmt.Errorf("control: unknown action %q", action)
	}
	db, err := mysqlx.Open(ctx, conn)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if conn.Database, table, err = foldNames(ctx, db, conn.Database, table); err != nil {
		return nil, err
	}
	ts, err := readTableStatus(ctx, db, conn.Database, table)
	if err != nil {
		return nil, err
	}
	start := fmt.Sprintf("Start one with godwit migrate %s (add --postpone-cutover to have it wait for godwit cutover).", tableFlags(conn.Database, table))
	switch {
	case ts.State == StateNone && !ts.TableExists:
		return nil, refuse("control", "Check --database and --table.", "table %s.%s does not exist, so no migration of it can be controlled", conn.Database, table)
	case ts.State == StateNone:
		return nil, refuse("control", start, "no godwit migration of %s.%s is running, and none left a checkpoint (%s): there is nothing to %s",
			conn.Database, table, checkpointName(table), action)
	case !ts.HasControl:
		return nil, refuse("control", "Retry in a moment (godwit status shows it); an instant change that is not postponed finishes without one.",
			"the migration of %s.%s (connection %d) has not created its control table %s yet: it is still starting",
			conn.Database, table, ts.LockConnection, checkpointName(table))
	}
	c, changed, err := writeControl(ctx, db, conn.Database, table, change)
	if mysqlx.ErrCode(err) == mysqlx.ErrNoSuchTable {
		return nil, refuse("control", "Check with godwit status.", "the migration of %s.%s ended meanwhile (its %s is gone)", conn.Database, table, checkpointName(table))
	}
	if err != nil {
		return nil, err
	}
	log.Info("control", "action", action, "table", table, "changed", changed, "paused", c.Paused, "cutover", c.Cutover, "state", ts.State)
	return &ControlResult{Action: action, Changed: changed, Control: c, Before: ts}, nil
}

// writeControl changes the control row under a row lock, so that two
// commands at once (pause from one host, cutover from another) both land.
func writeControl(ctx context.Context, db *sql.DB, schema, table string, change func(*Control)) (Control, bool, error) {
	name := mysqlx.QT(schema, checkpointName(table))
	// The row exists before it is locked: two commands locking a missing
	// row would take gap locks and deadlock on their inserts.
	if _, err := db.ExecContext(ctx, fmt.Sprintf("%sINSERT IGNORE INTO %s VALUES (%d, '{}', UTC_TIMESTAMP(6))", mysqlx.Tag, name, controlRowID)); err != nil {
		return Control{}, false, fmt.Errorf("control: write %s: %w", checkpointName(table), err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return Control{}, false, fmt.Errorf("control: %w", err)
	}
	defer tx.Rollback()
	var state string
	if err := tx.QueryRowContext(ctx, fmt.Sprintf("%sSELECT state FROM %s WHERE id = %d FOR UPDATE", mysqlx.Tag, name, controlRowID)).Scan(&state); err != nil {
		return Control{}, false, fmt.Errorf("control: read %s: %w", checkpointName(table), err)
	}
	var c Control
	if err := json.Unmarshal([]byte(state), &c); err != nil {
		return Control{}, false, fmt.Errorf("control: read %s: %w", checkpointName(table), err)
	}
	before := c
	change(&c)
	if c.Paused == before.Paused && c.Cutover == before.Cutover {
		return c, false, nil
	}
	c.By, c.At = whoAmI(), time.Now().UTC()
	b, _ := json.Marshal(c)
	// REPLACE, not UPDATE: migrate needs INSERT and DELETE, not UPDATE.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("%sREPLACE INTO %s VALUES (%d, ?, UTC_TIMESTAMP(6))", mysqlx.Tag, name, controlRowID), string(b)); err != nil {
		return Control{}, false, fmt.Errorf("control: write %s: %w", checkpointName(table), err)
	}
	if err := tx.Commit(); err != nil {
		return Control{}, false, fmt.Errorf("control: write %s: %w", checkpointName(table), err)
	}
	return c, true, nil
}

// readControl reads the control flags; no row means none were set.
func readControl(ctx context.Context, db *sql.DB, schema, table string) (Control, error) {
	var state string
	var c Control
	q := fmt.Sprintf("%sSELECT state FROM %s WHERE id = %d", mysqlx.Tag, mysqlx.QT(schema, checkpointName(table)), controlRowID)
	err := db.QueryRowContext(ctx, q).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("read the control row of %s: %w", checkpointName(table), err)
	}
	if err := json.Unmarshal([]byte(state), &c); err != nil {
		return c, fmt.Errorf("read the control row of %s: %w", checkpointName(table), err)
	}
	return c, nil
}

// whoAmI names this process for the records: host/pid.
func whoAmI() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	return fmt.Sprintf("%s/%d", host, os.Getpid())
}

// statusWriter publishes the run's status row. The migration's goroutine
// hands it every event (observe); its own goroutine writes the latest
// snapshot, so a slow write never holds the copy back and the row keeps
// being refreshed while the migration waits on a long statement.
type statusWriter struct {
	schema, table string
	log           *slog.Logger
	throttle      func() throttle.State // fresh from the throttler's goroutine

	mu         sync.Mutex
	cur        RunStatus
	etaBase    int64 // rows done when the phase began, for the ETA
	nudge      chan struct{}
	stopWriter func()
}

func newStatusWriter(schema, table, clause string, log *slog.Logger, th func() throttle.State) *statusWriter {
	host, _ := os.Hostname()
	return &statusWriter{
		schema: schema, table: table, log: log, throttle: th,
		cur:   RunStatus{Alter: clause, Host: host, PID: os.Getpid(), StartedAt: time.Now().UTC()},
		nudge: make(chan struct{}, 1),
	}
}

// observe records an event of the migration (called from emit).
func (w *statusWriter) observe(e Event) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	s := &w.cur
	if e.Phase != s.Phase {
		s.Phase, s.PhaseSince = e.Phase, e.Time.UTC()
		w.etaBase = e.Progress.RowsCopied
		if e.Phase == PhaseVerify {
			w.etaBase = 0
		}
		w.poke()
	}
	s.RowsCopied, s.RowsTotal = e.Progress.RowsCopied, e.RowsTotal
	s.RowsApplied, s.Pending = e.Progress.RowsApplied, e.Progress.Pending
	if e.Checksum.Chunks > 0 { // only the checksum's own reports carry it
		s.ChecksumRows = e.Checksum.Rows
	}
	if e.Message != "" {
		s.Message = e.Message
	}
}

// setPostponed records why the ready cut-over waits ("" once it goes).
func (w *statusWriter) setPostponed(reason string) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cur.Postponed != reason {
		w.cur.Postponed = reason
		w.poke()
	}
}

// setBlockers records who the cut-over waits for (nil once it goes).
func (w *statusWriter) setBlockers(bs []Blocker) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cur.BlockedBy = bs
	w.poke()
}

// poke asks for a write now; a write already asked for is enough.
func (w *statusWriter) poke() {
	select {
	case w.nudge <- struct{}{}:
	default:
	}
}

// snapshot is the status to write now.
func (w *statusWriter) snapshot(now time.Time) RunStatus {
	w.mu.Lock()
	s := w.cur
	base := w.etaBase
	w.mu.Unlock()
	if !s.PhaseSince.IsZero() {
		s.InPhaseSeconds = now.Sub(s.PhaseSince).Seconds()
	}
	if w.throttle != nil {
		th := w.throttle()
		s.Throttled, s.ThrottleReason = th.Throttled, th.Reason
		s.Paused, s.PauseReason = th.Paused, th.PauseReason
	}
	done := s.RowsCopied
	if s.Phase == PhaseVerify {
		done = s.ChecksumRows
	}
	// The rate since the phase began, pauses included: a wall-clock
	// estimate. The total is the server's estimate, so this is rough.
	if s.Phase == PhaseCopy || s.Phase == PhaseVerify {
		elapsed := now.Sub(s.PhaseSince)
		if progressed := done - base; progressed > 0 && elapsed >= time.Second && s.RowsTotal > done {
			s.ETASeconds = float64(s.RowsTotal-done) / (float64(progressed) / elapsed.Seconds())
		}
	}
	return s
}

// start writes the status now and then every statusEvery, until stop.
// The checkpoint table must exist.
func (w *statusWriter) start(ctx context.Context, db *sql.DB, resumedFrom string) {
	if w == nil || w.stopWriter != nil {
		return
	}
	w.mu.Lock()
	w.cur.Resumed, w.cur.ResumedFrom = resumedFrom != "", resumedFrom
	w.mu.Unlock()
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.run(wctx, db)
	}()
	var once sync.Once
	w.stopWriter = func() { once.Do(func() { cancel(); <-done }) }
}

// stop ends the writer; call it before the checkpoint table is dropped.
func (w *statusWriter) stop() {
	if w != nil && w.stopWriter != nil {
		w.stopWriter()
	}
}

// final writes one last status after stop: why a run that kept its copy
// stopped, for godwit status to show. Failing costs only that.
func (w *statusWriter) final(ctx context.Context, db *sql.DB, message string) {
	if w == nil || w.stopWriter == nil || db == nil {
		return
	}
	w.mu.Lock()
	w.cur.Message, w.cur.Postponed = message, ""
	w.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	b, _ := json.Marshal(w.snapshot(time.Now().UTC()))
	if _, err := db.ExecContext(ctx, w.query(), string(b)); err != nil {
		w.log.Warn("write the last status row", "err", err)
	}
}

func (w *statusWriter) query() string {
	return fmt.Sprintf("%sREPLACE INTO %s VALUES (%d, ?, UTC_TIMESTAMP(6))", mysqlx.Tag, mysqlx.QT(w.schema, checkpointName(w.table)), statusRowID)
}

func (w *statusWriter) run(ctx context.Context, db *sql.DB) {
	q := w.query()
	tick := time.NewTicker(statusEvery)
	defer tick.Stop()
	lastErr := ""
	for {
		b, _ := json.Marshal(w.snapshot(time.Now().UTC()))
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := db.ExecContext(wctx, q, string(b))
		cancel()
		if ctx.Err() != nil {
			return
		}
		// The status is for people watching: a failed write is worth a
		// warning, once per change, never the migration.
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if msg != lastErr {
			if err != nil {
				w.log.Warn("writing the status row for godwit status failed", "table", checkpointName(w.table), "err", err)
			} else {
				w.log.Info("writing the status row works again", "table", checkpointName(w.table))
			}
			lastErr = msg
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-w.nudge:
		}
	}
}
