package migrate

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/godwit-db/godwit/copier"
	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/tableinfo"
)

// godwit revert swaps the table a migration replaced back in, with every
// write made since the swap. It is a migration from the table (new
// structure) into the kept _<table>_old (old structure) whose copy is
// already done: the checkpoint it starts from says "copy done, binlog at
// the swap's revert point" (revert_point.go), so the run follows the
// binlog from there, applies the changed keys into the old table through
// the reverse column mapping, compares the two tables and cuts over as a
// migration does. Changes are applied as upserts (copier.Plan.Upsert): a
// column only the old table has keeps its value on the rows it holds.
// Rows are followed by their key: a row whose key was changed since the
// swap is a new row to the revert, and such a column gets its default
// there.
//
// The old table becomes the shadow under the shadow's name (_t_new), so
// that the cut-over, the resume after a kill and the cleanup are the
// migration's own; after the swap the table with the new structure is
// kept as _t_old, and a revert point for the revert is recorded: a second
// revert swaps back. Nothing of the old table is ever dropped: a revert
// that fails (or godwit abort) renames its shadow back to _t_old.

// Revert swaps the table's previous structure back in (see above). A
// *Refusal means nothing was changed: nothing to revert, the binlog since
// the swap is gone, or rows written since the swap do not fit the old
// structure. opt.Alter is ignored: the revert point says what to undo.
func Revert(ctx context.Context, opt Options) (*Summary, error) {
	opt.revert, opt.Alter = true, "revert"
	return Run(ctx, opt)
}

// RevertCheck is what CheckRevert found: the revert can run.
type RevertCheck struct {
	Table, Old string
	Alter      string    // what the swap did, which the revert undoes
	From       string    // the binlog position the revert reads from
	SwappedAt  time.Time // when the swap was recorded
	Rows       int64     // the server's estimate of the table's rows
}

// CheckRevert is godwit revert --dry-run: every check revert makes before
// it changes anything, the data checks included, writing nothing. A
// *Refusal says why the revert would refuse.
func CheckRevert(ctx context.Context, opt Options) (*RevertCheck, error) {
	opt.defaults()
	opt.revert, opt.revertDryRun, opt.Alter = true, true, "revert"
	m := &migration{opt: opt, log: opt.Log, summary: Summary{Table: opt.Table, Phases: map[Phase]time.Duration{}}}
	m.status = newStatusWriter(opt.Conn.Database, opt.Table, opt.Alter, opt.Log, m.currentThrottle)
	err := m.revertPreflight(ctx)
	m.stopLockKeepalive()
	m.closeReplicas()
	m.releaseTableLock()
	if m.db != nil {
		defer m.db.Close()
	}
	if err != nil {
		return nil, err
	}
	p := m.point
	return &RevertCheck{Table: m.opt.Table, Old: p.Old, Alter: p.Alter, From: fmt.Sprintf("%s:%d", p.File, p.Pos), SwappedAt: p.SwappedAt, Rows: m.source.Rows}, nil
}

// revertPreflight is the preflight of a revert: the migration's checks of
// the server and the table, then the revert point's, then the data's. A
// fresh revert then turns the old table into the shadow of a done copy;
// one that was interrupted is resumed as a migration is.
func (m *migration) revertPreflight(ctx context.Context) error {
	var err error
	if m.db, err = mysqlx.Open(ctx, m.opt.Conn); err != nil {
		return err
	}
	if m.opt.Conn.Database, m.opt.Table, err = foldNames(ctx, m.db, m.opt.Conn.Database, m.opt.Table); err != nil {
		return err
	}
	db, t := m.opt.Conn.Database, m.opt.Table
	m.summary.Table, m.status.schema, m.status.table = t, db, t
	if m.server, err = readServer(ctx, m.db); err != nil {
		return err
	}
	if warning, err := checkServerVersion(m.server); err != nil {
		return err
	} else if warning != "" {
		m.warn(warning)
	}
	if err := m.takeTableLock(ctx); err != nil {
		return err
	}
	if m.point, err = loadRevertPoint(ctx, m.db, db, t); err != nil {
		return err
	}
	if m.point == nil {
		return refuse("nothing-to-revert", "Only a swap made by godwit migrate (with the old table kept) can be reverted.",
			"nothing to revert: no migration of %s.%s recorded a revert point", db, t)
	}
	m.change = m.point.reverse()
	m.opt.Alter = m.change.Clause
	m.status.cur.Alter = m.change.Clause
	if err := m.loadSource(ctx); err != nil {
		return err
	}
	for _, check := range []func(context.Context) error{
		func(ctx context.Context) error { return checkBinlog(ctx, m.db) },
		func(ctx context.Context) error { return checkWritable(ctx, m.db) },
		m.checkPrivileges,
		m.addDiscoveredReplicas,
		m.detectRevertResume,
	} {
		if err := check(ctx); err != nil || m.earlierSwap {
			return err
		}
	}
	if m.resume == nil {
		if err := m.checkRevertPoint(ctx); err != nil {
			return err
		}
		if err := m.checkRevertData(ctx); err != nil {
			return err
		}
	}
	if m.opt.revertDryRun {
		return nil
	}
	if err := m.checkThrottle(ctx); err != nil {
		return err
	}
	if m.resume == nil {
		return m.startRevert(ctx)
	}
	return nil
}

// detectRevertResume picks up a revert that was interrupted, through the
// migration's own resume (resume.go); a migration's checkpoint stops it.
func (m *migration) detectRevertResume(ctx context.Context) error {
	cp, err := m.loadCheckpoint(ctx)
	if err != nil || cp == nil {
		return err
	}
	db, t := m.opt.Conn.Database, m.opt.Table
	if !cp.Revert {
		return refuse("revert", fmt.Sprintf("Finish it first (rerun the same godwit migrate command) or remove it with `godwit abort %s`, then revert.", tableFlags(db, t)),
			"an interrupted migration of %s left its copy and checkpoint", t)
	}
	if m.opt.revertDryRun {
		return refuse("revert", "Rerun godwit revert, which resumes it, or run `godwit abort "+tableFlags(db, t)+"` to give the old table its name back.",
			"a revert of %s is under way or was interrupted", t)
	}
	// Killed between its checkpoint and its rename: finish the rename.
	// Only then is _t_old there with none of the revert's other tables
	// (after the swap the old table is _t_old again, but the checkpoint
	// says swapped, or the sentry's name holds the table).
	if !cp.Swapped {
		found := map[string]bool{}
		for _, name := range []string{oldName(t), shadowName(t), swapShadowName(t), sentryName(t)} {
			if _, found[name], err = tableComment(ctx, m.db, db, name); err != nil {
				return err
			}
		}
		if found[oldName(t)] && !found[shadowName(t)] && !found[swapShadowName(t)] && !found[sentryName(t)] {
			if err := renameTable(ctx, m.db, db, oldName(t), shadowName(t)); err != nil {
				return err
			}
		}
	}
	return m.detectResume(ctx)
}

// checkRevertPoint checks that the revert point still describes the
// tables and that the binlog since it is still on this server.
func (m *migration) checkRevertPoint(ctx context.Context) error {
	db, t, p := m.opt.Conn.Database, m.opt.Table, m.point
	if p.Server != m.server.Identity {
		return refuse("revert", "Run godwit revert against the server the migration swapped the table on (binlog positions differ between servers).",
			"the swap of %s was made on another server (%s; this one is %s)", t, p.Server, m.server.Identity)
	}
	old, err := tableinfo.Load(ctx, m.db, db, p.Old)
	if errors.Is(err, tableinfo.ErrNotFound) {
		return refuse("revert", "Without the old table there is nothing to swap back; restore it from a backup if you need it.",
			"the old table %s of the swap is gone (dropped, or --drop-old)", p.Old)
	}
	if err != nil {
		return err
	}
	if shape(m.source) != p.TableShape || shape(old) != p.OldShape {
		return refuse("revert", "Revert only what godwit swapped last: a later change of either table is not undone by it.",
			"%s or %s has changed its columns since the swap (%s)", t, p.Old, p.Alter)
	}
	kept, err := binlogHas(ctx, m.db, p.File)
	if err != nil {
		return err
	}
	if !kept {
		return refuse("binlog", fmt.Sprintf("The writes made to %s since the swap can no longer be carried into %s. Keep binlogs longer (binlog_expire_logs_seconds / expire_logs_days) "+
			"for a way back; to go back now, rebuild the old structure with godwit migrate and the reverse ALTER, which copies the table as it is.", t, p.Old),
			"the binlog since the swap of %s (%s:%d, %s) has been purged from the server", t, p.File, p.Pos, p.SwappedAt.Format(time.RFC3339))
	}
	m.shadow = old
	return nil
}

// checkRevertData runs the migration's data checks on the rows of the
// table against the old structure (rows the swap brought over fit it; the
// ones written since may not), and refuses, with counts and example keys,
// rather than truncate anything. A column the ALTER added is dropped by
// the revert by design (its values stay in the table kept as _t_old).
func (m *migration) checkRevertData(ctx context.Context) error {
	key, err := chooseKey(m.source, m.shadow, m.change)
	if err != nil {
		return err
	}
	findings, err := m.checkData(ctx)
	if err != nil {
		return err
	}
	gone, err := m.checkRevertNewRows(ctx, key)
	if err != nil {
		return err
	}
	findings = append(findings, gone...)
	var reasons []string
	for _, f := range findings {
		if f.Check != "dropped-data" {
			reasons = append(reasons, f.String())
		}
	}
	if len(reasons) == 0 {
		return nil
	}
	return refuse("data", "Fix those rows first (they were written since the swap), or keep the new structure; nothing was changed.",
		"rows written since the swap do not fit the old structure of %s: %s", m.opt.Table, strings.Join(reasons, "; "))
}

// checkRevertNewRows finds rows written since the swap that the old
// structure cannot take: a column the ALTER dropped that is NOT NULL
// without a default has no value to give them.
func (m *migration) checkRevertNewRows(ctx context.Context, key copier.Key) ([]Finding, error) {
	db := m.opt.Conn.Database
	var needed []string
	for _, c := range m.shadow.Columns {
		if _, ok := m.sourceOf(c); ok || c.Generated || c.Nullable {
			continue
		}
		var def, extra *string
		q := mysqlx.Tag + "SELECT COLUMN_DEFAULT, EXTRA FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?"
		if err := m.db.QueryRowContext(ctx, q, db, m.shadow.Name, c.Name).Scan(&def, &extra); err != nil {
			return nil, fmt.Errorf("read the default of %s.%s: %w", m.shadow.Name, c.Name, err)
		}
		if def == nil && (extra == nil || !strings.Contains(strings.ToLower(*extra), "auto_increment")) {
			needed = append(needed, c.Name)
		}
	}
	if len(needed) == 0 {
		return nil, nil
	}
	var on []string
	for _, c := range key.Columns {
		on = append(on, fmt.Sprintf("o.%s = %s.%s", mysqlx.Q(c.ShadowName), mysqlx.Q(m.opt.Table), mysqlx.Q(c.Name)))
	}
	cond := fmt.Sprintf("NOT EXISTS (SELECT 1 FROM %s AS o WHERE %s)", mysqlx.QT(db, m.shadow.Name), strings.Join(on, " AND "))
	found, err := m.countConditions(ctx, []condition{{check: "no-default", column: needed[0], sql: cond,
		detail: fmt.Sprintf("rows new since the swap have no value for %s, which the ALTER dropped and which is NOT NULL without a default in the old structure", strings.Join(needed, ", "))}})
	return found, err
}

// startRevert makes the old table the shadow of a done copy: a checkpoint
// at the revert point first, then the rename, so that a run killed
// between the two finds the checkpoint and finishes the rename.
func (m *migration) startRevert(ctx context.Context) error {
	db, t, p := m.opt.Conn.Database, m.opt.Table, m.point
	if err := m.createCheckpointTable(ctx); err != nil {
		return err
	}
	cp := &checkpoint{AlterSHA: alterSHA(m.change.Clause), File: p.File, Pos: p.Pos, GTID: p.GTID, Done: true, Server: m.server.Identity, Revert: true}
	b, _ := json.Marshal(cp)
	q := fmt.Sprintf("%sREPLACE INTO %s VALUES (1, ?, UTC_TIMESTAMP(6))", mysqlx.Tag, mysqlx.QT(db, checkpointName(t)))
	if _, err := m.db.ExecContext(ctx, q, string(b)); err != nil {
		return fmt.Errorf("revert: write the checkpoint: %w", err)
	}
	if err := renameTable(ctx, m.db, db, p.Old, shadowName(t)); err != nil {
		return err
	}
	m.created = []string{shadowName(t), checkpointName(t)}
	m.resume, m.revertStarted = cp, true
	m.log.Info("reverting", "table", t, "undoing", p.Alter, "from", fmt.Sprintf("%s:%d", p.File, p.Pos))
	m.emit(Event{Message: fmt.Sprintf("reverting %s (%s) from binlog %s:%d", t, p.Alter, p.File, p.Pos)})
	return nil
}

// undoRevert gives a revert's shadow, the old table, its name _t_old back
// and drops the revert's checkpoint: what a failed revert and godwit
// abort do instead of dropping the shadow. It returns what it renamed.
func undoRevert(ctx context.Context, db sqlExecer, schema, table string) ([]string, error) {
	var done []string
	for _, name := range []string{shadowName(table), swapShadowName(table)} {
		q := fmt.Sprintf("%sRENAME TABLE %s TO %s", mysqlx.Tag, mysqlx.QT(schema, name), mysqlx.QT(schema, oldName(table)))
		_, err := db.ExecContext(ctx, q)
		if mysqlx.ErrCode(err) == mysqlx.ErrNoSuchTable {
			continue
		}
		if err != nil {
			return done, fmt.Errorf("give the old table its name back (%s -> %s): %w", name, oldName(table), err)
		}
		done = append(done, name+" -> "+oldName(table))
		break
	}
	if _, err := db.ExecContext(ctx, mysqlx.Tag+"DROP TABLE IF EXISTS "+mysqlx.QT(schema, checkpointName(table))); err != nil {
		return done, fmt.Errorf("drop the revert's checkpoint: %w", err)
	}
	return done, nil
}

// abortRevert is godwit abort's part for a revert that stopped before its
// swap: its shadow is the old table, which gets its name back.
func abortRevert(ctx context.Context, db *sql.DB, schema, table string) ([]string, error) {
	var state string
	q := fmt.Sprintf("%sSELECT state FROM %s WHERE id = 1", mysqlx.Tag, mysqlx.QT(schema, checkpointName(table)))
	err := db.QueryRowContext(ctx, q).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) || mysqlx.ErrCode(err) == mysqlx.ErrNoSuchTable {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	var cp checkpoint
	if err := json.Unmarshal([]byte(state), &cp); err != nil || !cp.Revert || cp.Swapped {
		return nil, nil // a migration's, or a revert that swapped: abort's usual work
	}
	if _, taken, err := tableComment(ctx, db, schema, oldName(table)); err != nil {
		return nil, err
	} else if taken {
		return nil, fmt.Errorf("the revert's shadow is the old table, but %s exists too: rename one of them by hand", oldName(table))
	}
	return undoRevert(ctx, db, schema, table)
}

type sqlExecer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func renameTable(ctx context.Context, db sqlExecer, schema, from, to string) error {
	q := fmt.Sprintf("%sRENAME TABLE %s TO %s", mysqlx.Tag, mysqlx.QT(schema, from), mysqlx.QT(schema, to))
	if _, err := db.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("rename %s to %s: %w", from, to, err)
	}
	return nil
}
