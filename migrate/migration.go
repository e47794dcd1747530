// Package migrate runs one online schema change as a whole: parse and
// plan, preflight checks, then the phases setup, copy, catch-up, cut-over
// and cleanup.
package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/godwit-db/godwit/copier"
	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/sqlparse"
	"github.com/godwit-db/godwit/internal/tableinfo"
	"github.com/godwit-db/godwit/migrate/alter"
	"github.com/godwit-db/godwit/throttle"
)

type migration struct {
	opt    Options
	log    *slog.Logger
	db     *sql.DB
	server Server
	change *alter.Change
	source *tableinfo.Table
	shadow *tableinfo.Table
	// shadowPredicted: shadow is the planner's prediction, not a table.
	shadowPredicted bool
	// dataNotes are what the data checks could not evaluate (a CHECK over
	// a column the ALTER adds), for the plan to list as not checked.
	dataNotes []string
	created   []string // tables this run created and must drop on failure

	changes  *copier.Changes
	stream   *copier.Stream
	copier   *copier.Copier
	verifier *copier.Verifier // checks chunks during the copy (checksum.go); nil with a full checksum

	tableLock     *sql.Conn // holds the migration's named lock (lock.go)
	stopKeepalive func()    // ends the lock's keepalive
	stopRun       context.CancelCauseFunc
	throttler     *throttle.Throttler
	stopThrottle  func()
	replicaDBs    []*sql.DB
	replicas      []throttle.Replica // the same, for the probes (preflight_throttle.go)
	throttleMu    sync.Mutex
	throttleState throttle.State
	postponed     string // why the ready cut-over waits (postpone.go), under throttleMu

	instant     bool   // the server can make the change without a copy
	ddlMode     string // the sql_mode the ALTER runs under (sqlmode.go)
	instantWait bool   // the instant change waits for its release; its control table is all it made
	// adoptControl: a killed run left the checkpoint table and nothing
	// else (resume.go); this run makes it its own.
	adoptControl bool
	// suspectKillWarned: the warning that a suspected blocker is not
	// killed was given (blockers.go).
	suspectKillWarned bool

	deferred []deferredIndex // the shadow's indexes built after the copy (indexes.go)

	resume          *checkpoint   // the killed run this one picks up, if any
	resumeCutover   bool          // it was killed in its cut-over, before the swap
	earlierSwap     bool          // an earlier run swapped the tables; only its cleanup is left
	resumeByGTID    bool          // the checkpoint is another server's: resume from its GTID set
	status          *statusWriter // publishes the status row for godwit status (control.go)
	checkpointSaved time.Time
	checkpointDone  bool         // the last checkpoint saved says the copy is done
	point           *revertPoint // the swap a revert undoes (revert.go)
	revertStarted   bool         // this revert made the old table its shadow now, rather than resuming
	phase           Phase
	phaseStart      time.Time
	summary         Summary
}

// Run migrates the table. It returns nil only when the new table has been
// swapped in; a *Refusal means nothing was created.
func Run(ctx context.Context, opt Options) (*Summary, error) {
	opt.defaults()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	m := &migration{opt: opt, log: opt.Log, stopRun: cancel, summary: Summary{Table: opt.Table, Phases: map[Phase]time.Duration{}}}
	m.status = newStatusWriter(opt.Conn.Database, opt.Table, opt.Alter, opt.Log, m.currentThrottle)
	start := time.Now()
	err := m.run(ctx)
	if m.copier != nil {
		// A run that stops mid-copy reports how far its copy got, not where
		// its last phase began: the rows past the checkpoint are the ones a
		// rerun copies again.
		p := m.copier.Progress()
		m.summary.Rows, m.summary.Applied = p.RowsCopied, p.RowsApplied
	}
	m.status.stop() // before dropCreated drops its table
	m.stopLockKeepalive()
	if m.phase != PhaseDone {
		m.summary.Phases[m.phase] += time.Since(m.phaseStart) // the phase that failed
	}
	if m.stopThrottle != nil {
		m.stopThrottle()
	} else {
		m.closeReplicas() // opened by the preflight of a run that stopped before its copy
	}
	if m.stream != nil {
		m.stream.Close()
	}
	if m.verifier != nil {
		m.verifier.Stop()
	}
	if err != nil && len(m.created) > 0 {
		if kept := m.keep(ctx, err); kept != nil {
			err = kept
			m.status.final(ctx, m.db, "stopped: "+err.Error())
		} else if derr := m.dropCreated(); derr != nil {
			err = errors.Join(err, derr)
		}
	}
	m.releaseTableLock()
	if m.db != nil {
		m.db.Close()
	}
	m.summary.Total = time.Since(start)
	return &m.summary, err
}

func (m *migration) run(ctx context.Context) error {
	m.enter(PhasePreflight)
	if err := m.preflight(ctx); err != nil || m.earlierSwap {
		if err == nil {
			return m.finishEarlierSwap(ctx)
		}
		return err
	}
	m.enter(PhaseSetup)
	plan, err := m.setup(ctx)
	if err != nil || plan == nil {
		return err // a nil plan: the change was made instantly
	}
	m.summary.Path = PathCopy
	// The checkpoint table exists from here on (setup created it, or a
	// resumed run took it over): godwit status can read the run.
	m.status.start(ctx, m.db, m.summary.ResumedFrom)
	if err := m.startThrottle(ctx); err != nil {
		return err
	}
	if err := m.startStream(ctx, plan); err != nil {
		return err
	}
	m.enter(PhaseCopy)
	if err := m.copier.Run(ctx); err != nil {
		return err
	}
	if err := m.buildDeferredIndexes(ctx); err != nil {
		return err
	}
	m.analyzeShadow(ctx)
	m.enter(PhaseCatchUp)
	if err := m.catchUp(ctx); err != nil {
		return err
	}
	if !m.opt.SkipChecksum {
		m.enter(PhaseVerify)
		if err := m.verify(ctx); err != nil {
			return err
		}
		// What was written during the checksum is applied now, not under
		// the cut-over's lock.
		if err := m.catchUp(ctx); err != nil {
			return err
		}
	}
	if err := m.waitForCutover(ctx); err != nil {
		return err
	}
	m.enter(PhaseCutover)
	if err := m.cutover(ctx); err != nil && !errors.Is(err, errSwappedAnyway) {
		return err
	} else if err != nil {
		m.warn(err.Error())
	}
	m.created = nil // the shadow is the table now; nothing to drop on failure
	m.summary.Swapped = true
	return m.cleanup(ctx)
}

// cleanup finishes a run whose swap went through. Nothing in it can undo
// the swap, so a failure here is a warning on a successful run, and a
// Ctrl-C no longer cuts it short: it takes a few statements.
func (m *migration) cleanup(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	m.enter(PhaseCleanup)
	m.status.stop() // its row goes with the table
	m.markSwapped(ctx)
	if m.summary.OldTable == "" {
		m.renameOld(ctx)
	}
	m.recordRevertPoint(ctx)
	if _, err := m.db.ExecContext(ctx, mysqlx.Tag+"DROP TABLE IF EXISTS "+mysqlx.QT(m.opt.Conn.Database, checkpointName(m.opt.Table))); err != nil {
		m.warn(fmt.Sprintf("swapped; dropping the checkpoint table %s failed, drop it by hand (or rerun the same command, which finishes the cleanup): %v", checkpointName(m.opt.Table), err))
	}
	if m.opt.DropOld && m.summary.OldTable == oldName(m.opt.Table) {
		q := mysqlx.Tag + "DROP TABLE " + mysqlx.QT(m.opt.Conn.Database, m.summary.OldTable)
		if _, err := m.db.ExecContext(ctx, q); err != nil {
			m.warn(fmt.Sprintf("swapped; dropping %s failed, drop it by hand: %v", m.summary.OldTable, err))
		} else {
			m.summary.OldDropped = true
		}
	}
	m.enter(PhaseDone)
	return nil
}

// warn records a finding of a run that goes on: in the log and the summary.
func (m *migration) warn(msg string) {
	m.log.Warn(msg)
	m.summary.Warnings = append(m.summary.Warnings, msg)
}

// setup creates the shadow and decides the path; it returns the copy's
// plan, or nil when the change was made instantly. A resumed run takes
// the shadow its predecessor left instead.
func (m *migration) setup(ctx context.Context) (*copier.Plan, error) {
	if m.resume != nil {
		if err := m.checkOldFree(ctx); err != nil {
			return nil, err
		}
		return m.resumeSetup(ctx)
	}
	if err := m.createShadow(ctx); err != nil {
		return nil, err
	}
	plan, err := m.plan()
	if err != nil {
		return nil, err
	}
	if err := m.refuseDataLoss(ctx); err != nil {
		return nil, err
	}
	if m.instant {
		done, err := m.instantPath(ctx)
		if done || err != nil {
			return nil, err
		}
	}
	if err := m.checkOldFree(ctx); err != nil {
		return nil, err
	}
	return plan, m.controlTable(ctx)
}

// controlTable makes the checkpoint table, which is also the control
// table (control.go), this run's: it creates it, or keeps the one the
// instant path's wait made, or takes over the one a killed run left
// alone; the control flags set meanwhile stand.
func (m *migration) controlTable(ctx context.Context) error {
	name := checkpointName(m.opt.Table)
	switch {
	case slices.Contains(m.created, name):
	case m.adoptControl:
		m.created = append(m.created, name)
	default:
		return m.createCheckpointTable(ctx)
	}
	return m.writeFirstCheckpoint(ctx)
}

// instantPath drops the trial shadow and alters the table natively; when
// the table refuses, it rebuilds the shadow for a copy and returns false.
func (m *migration) instantPath(ctx context.Context) (bool, error) {
	if err := m.dropCreated(); err != nil {
		return false, err
	}
	if err := m.waitBeforeInstant(ctx); err != nil {
		return false, err
	}
	m.enter(PhaseInstant)
	ok, err := m.runInstant(ctx)
	if err != nil || ok {
		if ok {
			m.summary.Path, m.summary.Swapped = PathInstant, true
			m.dropControlTable(ctx)
			m.enter(PhaseDone)
		}
		return true, err
	}
	m.opt.ForceCopy, m.instantWait = true, false // the copy takes the control table over
	m.enter(PhaseSetup)
	if err := m.createShadow(ctx); err != nil {
		return false, err
	}
	return false, nil
}

func (m *migration) preflight(ctx context.Context) error {
	if m.opt.revert {
		return m.revertPreflight(ctx)
	}
	var err error
	if m.db, err = mysqlx.Open(ctx, m.opt.Conn); err != nil {
		return err
	}
	// The ALTER may name any charset or collation the server has.
	if err := sqlparse.Register(ctx, m.db); err != nil {
		return err
	}
	if m.change, err = alter.Parse(m.opt.Conn.Database, m.opt.Table, m.opt.Alter); err != nil {
		return err
	}
	if m.opt.Conn.Database, m.opt.Table, err = foldNames(ctx, m.db, m.opt.Conn.Database, m.opt.Table); err != nil {
		return err
	}
	m.summary.Table, m.status.schema, m.status.table = m.opt.Table, m.opt.Conn.Database, m.opt.Table
	if m.server, err = readServer(ctx, m.db); err != nil {
		return err
	}
	if m.ddlMode, err = ddlSQLMode(ctx, m.db, m.opt.SQLMode); err != nil {
		return err
	}
	warning, err := checkServerVersion(m.server)
	if err != nil {
		return err
	}
	if warning != "" {
		m.warn(warning)
	}
	if err := m.takeTableLock(ctx); err != nil {
		return err
	}
	if err := m.loadSource(ctx); err != nil {
		return err
	}
	for _, check := range []func(context.Context) error{
		func(ctx context.Context) error { return checkBinlog(ctx, m.db) },
		func(ctx context.Context) error { return checkWritable(ctx, m.db) },
		m.checkPrivileges,
		m.addDiscoveredReplicas,
		m.checkTable,
		func(ctx context.Context) error { return checkPrimaryKeyRequired(ctx, m.db, m.source, m.change) },
		m.detectResume,
		m.checkLeftovers,
		m.checkTableIntegrity,
		func(context.Context) error { _, err := chooseKey(m.source, nil, m.change); return err },
		m.checkThrottle,
	} {
		if err := check(ctx); err != nil || m.earlierSwap {
			return err // the rest checks a change still to be made
		}
	}
	return nil
}

// startStream follows the binlog from now, or from the checkpoint of the
// run this one resumes, and sets up the copier to match.
func (m *migration) startStream(ctx context.Context, plan *copier.Plan) error {
	var pos copier.Point
	var wm []any
	var done bool
	var rows int64
	var err error
	if cp := m.resume; cp != nil && cp.File != "" {
		pos, done, rows = copier.Point{Position: copier.Position{Name: cp.File, Pos: cp.Pos}, GTID: cp.GTID}, cp.Done, cp.Rows
		if m.resumeByGTID {
			pos.Position = copier.Position{} // another server's: the GTID set alone says where
		}
		if wm, err = decodeKey(cp.Watermark); err != nil {
			return err
		}
	} else if pos, err = copier.MasterPoint(ctx, m.db, m.server.Flavor); err != nil {
		return err
	}
	m.changes = copier.NewChanges()
	incremental := !m.opt.SkipChecksum && !m.opt.FullChecksum
	if incremental {
		// From before the stream starts: every key it will carry.
		m.changes.TrackTouched(touchedLimit)
	}
	m.stream, err = copier.StartStream(ctx, copier.StreamConfig{
		Conn: m.opt.Conn, Flavor: m.server.Flavor, Schema: m.opt.Conn.Database, Table: m.opt.Table, Key: plan.Key, Log: m.log,
		Ignore: m.streamIgnore(),
	}, pos, m.changes)
	if err != nil {
		return err
	}
	m.copier = &copier.Copier{
		DB: m.db, Plan: plan, Changes: m.changes, Log: m.log, ChunkTime: m.opt.ChunkTime, MaxChunk: m.opt.MaxChunkRows, Threads: m.opt.Threads,
		Wait: m.copyWait,
		Report: func(p copier.Progress) {
			m.emit(Event{Phase: m.phase, Progress: p})
		},
		Boundary:   m.stream.Boundary,
		AfterFlush: m.saveCheckpoint,
	}
	m.copier.Resume(pos, wm, done, rows)
	// A copy resumed half way has chunks nobody checked: the whole table
	// is compared at the end.
	if incremental && wm == nil && !done {
		m.verifier = copier.StartVerifier(ctx, plan, m.db, m.changes, m.verifyWait)
		m.copier.Copied = m.verifier.Add
	}
	return nil
}

// analyzeShadow gives the copied table fresh index statistics before it
// serves queries: InnoDB would otherwise recalculate them in the
// background once it notices that most of the rows are new, and a RENAME
// waits for that background work on the table, which at the cut-over would
// hold the application's writes back. Failing costs nothing but that.
func (m *migration) analyzeShadow(ctx context.Context) {
	start := time.Now()
	q := mysqlx.Tag + "ANALYZE TABLE " + mysqlx.QT(m.opt.Conn.Database, m.copier.Plan.Shadow)
	if _, err := m.db.ExecContext(ctx, q); err != nil {
		m.log.Warn("analyze the new table", "err", err)
		return
	}
	m.log.Info("analyzed the new table", "took", time.Since(start).Round(time.Millisecond).String())
}

// verifyWait runs before the Verifier checks a chunk: it waits out the
// throttle as the copy does (without applying changes: that is the
// copy's goroutine's job), then lets the stream read what is committed by now, so that the
// check can leave out every change not applied yet. A stream that lags
// more than a second only costs a row-by-row comparison of the chunk.
func (m *migration) verifyWait(ctx context.Context) error {
	if err := m.throttleWait(ctx, func(context.Context) error { return m.stream.Err() }); err != nil {
		return err
	}
	pos, err := copier.MasterPosition(ctx, m.db)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	m.stream.WaitFor(wctx, pos)
	return ctx.Err()
}

// catchUp applies changes until the stream has read what the server had
// written when catch-up started, so the cut-over's lock is held briefly.
func (m *migration) catchUp(ctx context.Context) error {
	if err := m.catchUpTo(ctx, 1000, 100); err != nil {
		return err
	}
	if n := m.changes.Len(); n >= 1000 {
		return fmt.Errorf("catch up: the write rate outpaces applying changes (%d pending)", n)
	}
	return nil
}

// catchUpTo applies changes for at most rounds rounds, until fewer than
// pending wait. Each round applies what came in during the one before, so
// a few rounds bring the backlog down to what arrives while one small
// apply runs.
func (m *migration) catchUpTo(ctx context.Context, pending, rounds int) error {
	for range rounds {
		pos, err := copier.MasterPosition(ctx, m.db)
		if err != nil {
			return err
		}
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = m.stream.WaitFor(wctx, pos)
		cancel()
		if err != nil {
			return fmt.Errorf("catch up with the binlog: %w", err)
		}
		if _, err := m.copier.Flush(ctx); err != nil {
			return err
		}
		if m.changes.Len() < pending {
			return nil
		}
	}
	return nil
}

func (m *migration) enter(p Phase) {
	now := time.Now()
	if m.phase != "" {
		m.summary.Phases[m.phase] += now.Sub(m.phaseStart)
	}
	m.phase, m.phaseStart = p, now
	if m.copier != nil {
		m.summary.Rows = m.copier.Progress().RowsCopied
		m.summary.Applied = m.copier.Progress().RowsApplied
	}
	if m.changes != nil {
		m.summary.Changes = m.changes.Seen()
	}
	m.log.Info("phase", "phase", p, "table", m.opt.Table)
	m.emit(Event{Phase: p, Message: "phase " + string(p)})
}

func (m *migration) emit(e Event) {
	e.Time = time.Now()
	if e.Phase == "" {
		e.Phase = m.phase
	}
	if m.source != nil {
		e.RowsTotal = m.source.Rows
	}
	if m.copier != nil && e.Progress == (copier.Progress{}) {
		e.Progress = m.copier.Progress()
	}
	m.throttleMu.Lock()
	e.Throttled, e.ThrottleReason = m.throttleState.Throttled, m.throttleState.Reason
	e.Paused, e.PauseReason = m.throttleState.Paused, m.throttleState.PauseReason
	if e.Phase == PhaseReady {
		e.Postponed = m.postponed
	}
	m.throttleMu.Unlock()
	m.status.observe(e) // even without a Report: godwit status reads it
	if m.opt.Report != nil {
		m.opt.Report(e)
	}
}

// loadSource reads the table, refusing one that does not exist.
func (m *migration) loadSource(ctx context.Context) error {
	var err error
	m.source, err = tableinfo.Load(ctx, m.db, m.opt.Conn.Database, m.opt.Table)
	if errors.Is(err, tableinfo.ErrNotFound) {
		return refuse("table", "Check --database and --table.", "table %s.%s does not exist", m.opt.Conn.Database, m.opt.Table)
	}
	return err
}
