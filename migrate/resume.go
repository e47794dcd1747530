package migrate

import (
	"context"
	"fmt"

	"github.com/godwit-db/godwit/copier"
	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/tableinfo"
)

// detectResume finds the checkpoint of a killed run of this same change.
// It resumes when that run got past setup, with the same ALTER, and the
// binlog it must read again is still on the server; otherwise it explains,
// and godwit abort starts clean. A run killed in its cut-over before the
// swap left the shadow under its cut-over name, perhaps with an empty
// sentry: resumeSetup puts them back as they were before the cut-over.
// One stopped after the swap (the sentry's name then holds the original
// table, or the checkpoint says it swapped) has only its cleanup left:
// the run finishes that and says the change is already done. A checkpoint
// of another server is resumed from its GTID set (checkResumeByGTID).
func (m *migration) detectResume(ctx context.Context) error {
	cp, err := m.loadCheckpoint(ctx)
	if err != nil || cp == nil {
		return err
	}
	abort := fmt.Sprintf("Run `godwit abort %s` to remove it and start over.", tableFlags(m.opt.Conn.Database, m.opt.Table))
	if cp.AlterSHA != alterSHA(m.change.Clause) {
		return refuse("resume", abort, "an interrupted run of a different ALTER left its copy of %s", m.opt.Table)
	}
	db, t := m.opt.Conn.Database, m.opt.Table
	sentry, hasSentry, err := tableComment(ctx, m.db, db, sentryName(t))
	if err != nil {
		return err
	}
	_, inCutover, err := tableComment(ctx, m.db, db, swapShadowName(t))
	if err != nil {
		return err
	}
	_, hasShadow, err := tableComment(ctx, m.db, db, shadowName(t))
	if err != nil {
		return err
	}
	if hasSentry && sentry != sentryComment || cp.Swapped && !hasSentry && !inCutover && !hasShadow {
		// The swap went through; only the cleanup is left (run finishes it).
		m.earlierSwap = true
		if !hasSentry {
			m.summary.OldTable = oldName(t)
		}
		return nil
	}
	if !hasShadow && !inCutover && !hasSentry && cp.File == "" {
		// Only the control table was made: the wait of an instant change
		// (or a run killed before its copy began). This run takes it over,
		// and with it the requests made of it (a pause, a cutover).
		m.adoptControl = true
		m.log.Info("taking over the control table of an interrupted run; its pause and cutover requests stand", "table", checkpointName(t))
		return nil
	}
	if cp.Server != "" && cp.Server != m.server.Identity {
		if err := m.checkResumeByGTID(ctx, cp, abort); err != nil {
			return err
		}
	}
	switch {
	case inCutover && hasShadow, hasSentry && !inCutover:
		return refuse("resume", abort, "the interrupted run left its tables in a state godwit does not make (%s, %s, %s)", shadowName(t), swapShadowName(t), sentryName(t))
	case !inCutover && !hasShadow:
		return refuse("resume", abort, "the interrupted run left a checkpoint but no %s", shadowName(t))
	}
	m.resumeCutover = inCutover
	kept := cp.File == "" || m.resumeByGTID // nothing to read again here, or the GTID set says what
	if !kept {
		if kept, err = binlogHas(ctx, m.db, cp.File); err != nil {
			return err
		}
	}
	if !kept {
		return refuse("resume", abort, "the interrupted run would have to read binlog %s again, and the server no longer has it", cp.File)
	}
	m.resume = cp
	return nil
}

// checkResumeByGTID accepts the checkpoint of another server of the
// topology (the primary before a failover) when its GTID set can say
// where to read on from: this server must have executed every transaction
// of the set, and still log those after it.
func (m *migration) checkResumeByGTID(ctx context.Context, cp *checkpoint, abort string) error {
	other := fmt.Sprintf("the interrupted run's copy was made on another server (%s; this one is %s), a failover most likely", cp.Server, m.server.Identity)
	if cp.GTID == "" {
		return refuse("resume", abort, "%s, and its checkpoint has no GTID set to find its place here: binlog positions differ between servers", other)
	}
	if m.server.Flavor == "mysql" {
		// MariaDB has no such test in SQL; its binlog dump refuses a
		// position it cannot serve, and the run then stops keeping its copy.
		var has, logged bool
		q := mysqlx.Tag + "SELECT GTID_SUBSET(?, @@GLOBAL.gtid_executed), GTID_SUBSET(@@GLOBAL.gtid_purged, ?)"
		if err := m.db.QueryRowContext(ctx, q, cp.GTID, cp.GTID).Scan(&has, &logged); err != nil {
			return fmt.Errorf("resume: compare GTID sets: %w", err)
		}
		switch {
		case !has:
			return refuse("resume", abort, "%s, and this server has not executed every transaction the copy had read (%s)", other, cp.GTID)
		case !logged:
			return refuse("resume", abort, "%s, and this server no longer logs every transaction after the copy's checkpoint", other)
		}
	}
	m.resumeByGTID = true
	m.log.Info("resuming a copy made on another server of the topology from its GTID set", "checkpoint_server", cp.Server, "gtid", cp.GTID)
	return nil
}

// finishEarlierSwap finishes the cleanup of a run that swapped the tables
// and stopped before it was done: the change is made, and a rerun says so.
func (m *migration) finishEarlierSwap(ctx context.Context) error {
	m.log.Info("an earlier run of this change swapped the tables; finishing its cleanup", "table", m.opt.Table)
	m.emit(Event{Message: "already done: an earlier run swapped the tables; finishing its cleanup"})
	m.summary.Swapped, m.summary.AlreadyDone, m.summary.Path = true, true, PathCopy
	return m.cleanup(ctx)
}

// resumeSetup takes over the shadow of the interrupted run. Rows above the
// checkpoint's watermark may come from a chunk copied after the checkpoint
// was saved: they are deleted, and the copy reads them again.
func (m *migration) resumeSetup(ctx context.Context) (*copier.Plan, error) {
	var err error
	db, shadow := m.opt.Conn.Database, shadowName(m.opt.Table)
	if m.resumeCutover {
		if err := m.undoCutover(ctx); err != nil {
			return nil, err
		}
	}
	m.created = []string{shadow, checkpointName(m.opt.Table)}
	if m.shadow, err = tableinfo.Load(ctx, m.db, db, shadow); err != nil {
		return nil, fmt.Errorf("resume: read %s: %w", shadow, err)
	}
	plan, err := m.plan()
	if err != nil {
		return nil, err
	}
	cp := m.resume
	m.deferred = cp.Indexes
	if !cp.Done {
		wm, err := decodeKey(cp.Watermark)
		if err != nil {
			return nil, err
		}
		q, args := mysqlx.Tag+"DELETE FROM "+mysqlx.QT(db, shadow), []any(nil)
		if wm != nil {
			cond, a := plan.Above(wm)
			q, args = q+" WHERE "+cond, a
		}
		if _, err := m.db.ExecContext(ctx, q, args...); err != nil {
			return nil, fmt.Errorf("resume: clear rows above the checkpoint: %w", err)
		}
	}
	if m.revertStarted {
		return plan, nil // a revert's done copy, not an interrupted run (revert.go)
	}
	m.summary.Resumed, m.summary.ResumedFrom = true, resumedFrom(cp, m.resumeCutover)
	m.log.Info("resuming an interrupted run", "from", fmt.Sprintf("%s:%d", cp.File, cp.Pos), "rows_copied", cp.Rows, "copy_done", cp.Done)
	m.emit(Event{Message: fmt.Sprintf("resuming from the checkpoint: %s", m.summary.ResumedFrom)})
	return plan, nil
}

// resumedFrom words where a resumed run picks up, for its output and
// summary.
func resumedFrom(cp *checkpoint, inCutover bool) string {
	switch {
	case inCutover:
		return fmt.Sprintf("its cut-over (copy of %d rows done; caught up, verified and cut over afresh)", cp.Rows)
	case cp.Done:
		return fmt.Sprintf("the end of its copy (%d rows copied)", cp.Rows)
	case cp.File == "":
		return "the start (it stopped before its copy began)"
	}
	return fmt.Sprintf("row %d of its copy", cp.Rows)
}

// undoCutover returns the shadow of a run killed in its cut-over, before
// the swap, to its first name and drops the empty sentry; the resumed run
// then catches up, verifies and cuts over afresh. Only godwit's tables are
// touched, and the original table never stopped being the table.
func (m *migration) undoCutover(ctx context.Context) error {
	db, t := m.opt.Conn.Database, m.opt.Table
	if c, ok, err := tableComment(ctx, m.db, db, sentryName(t)); err != nil {
		return err
	} else if ok && c == sentryComment {
		if _, err := m.db.ExecContext(ctx, mysqlx.Tag+"DROP TABLE "+mysqlx.QT(db, sentryName(t))); err != nil {
			return fmt.Errorf("resume: drop the cut-over sentry %s: %w", sentryName(t), err)
		}
	}
	q := fmt.Sprintf("%sRENAME TABLE %s TO %s", mysqlx.Tag, mysqlx.QT(db, swapShadowName(t)), mysqlx.QT(db, shadowName(t)))
	if _, err := m.db.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("resume: rename %s back to %s: %w", swapShadowName(t), shadowName(t), err)
	}
	m.log.Info("resuming a run killed in its cut-over, before the swap", "shadow", shadowName(t))
	return nil
}
