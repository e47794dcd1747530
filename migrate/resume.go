package migrate

import (
	"context"
	"fmt"

	"github.com/godwit-db/godwit/copier"
	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/tableinfo"
)

// detectResume finds the checkpoint of a killed run of this same change.
// It resumes only when that run got past setup and before the cut-over
// (the shadow under its first name), with the same ALTER, and the binlog
// it must read again is still on the server; otherwise it explains, and
// godwit abort starts clean.
func (m *migration) detectResume(ctx context.Context) error {
	cp, err := m.loadCheckpoint(ctx)
	if err != nil || cp == nil {
		return err
	}
	abort := fmt.Sprintf("Run `godwit abort --database %s --table %s` to remove it and start over.", m.opt.Conn.Database, m.opt.Table)
	if cp.AlterSHA != alterSHA(m.change.Clause) {
		return refuse("resume", abort, "an interrupted run of a different ALTER left its copy of %s", m.opt.Table)
	}
	for _, name := range []string{swapShadowName(m.opt.Table), sentryName(m.opt.Table)} {
		if _, err := tableinfo.Load(ctx, m.db, m.opt.Conn.Database, name); err == nil {
			return refuse("resume", abort, "the interrupted run stopped during its cut-over (%s exists)", name)
		}
	}
	if _, err := tableinfo.Load(ctx, m.db, m.opt.Conn.Database, shadowName(m.opt.Table)); err != nil {
		return refuse("resume", abort, "the interrupted run left a checkpoint but no %s", shadowName(m.opt.Table))
	}
	kept := cp.File == "" // nothing to read again: the copy starts over
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

// resumeSetup takes over the shadow of the interrupted run. Rows above the
// checkpoint's watermark may come from a chunk copied after the checkpoint
// was saved: they are deleted, and the copy reads them again.
func (m *migration) resumeSetup(ctx context.Context) (*copier.Plan, error) {
	var err error
	db, shadow := m.opt.Conn.Database, shadowName(m.opt.Table)
	m.created = []string{shadow, checkpointName(m.opt.Table)}
	if m.shadow, err = tableinfo.Load(ctx, m.db, db, shadow); err != nil {
		return nil, fmt.Errorf("resume: read %s: %w", shadow, err)
	}
	plan, err := m.plan()
	if err != nil {
		return nil, err
	}
	cp := m.resume
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
	m.log.Info("resuming an interrupted run", "from", fmt.Sprintf("%s:%d", cp.File, cp.Pos), "rows_copied", cp.Rows, "copy_done", cp.Done)
	m.emit(Event{Message: fmt.Sprintf("resuming from the checkpoint: %d rows were copied", cp.Rows)})
	m.summary.Resumed = true
	return plan, nil
}
