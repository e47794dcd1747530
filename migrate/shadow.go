package migrate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/godwit-db/godwit/copier"
	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/tableinfo"
)

// createShadow creates the shadow table like the source and applies the
// user's ALTER text to it verbatim: the server, not godwit, decides what
// the new structure is. On any failure the shadow is dropped again. With
// DeferIndexes the copy then goes without the shadow's non-unique
// secondary indexes (indexes.go).
func (m *migration) createShadow(ctx context.Context) (err error) {
	db, shadow := m.opt.Conn.Database, shadowName(m.opt.Table)
	m.deferred = nil // a shadow made again after a refused instant change decides afresh
	if _, err := m.db.ExecContext(ctx, fmt.Sprintf("%sCREATE TABLE %s LIKE %s", mysqlx.Tag, mysqlx.QT(db, shadow), mysqlx.QT(db, m.opt.Table))); err != nil {
		return fmt.Errorf("create shadow table %s: %w", shadow, err)
	}
	m.created = append(m.created, shadow)
	m.instant = m.tryInstant(ctx, mysqlx.QT(db, shadow))
	if !m.instant {
		if err := mysqlx.ExecUnderSQLMode(ctx, m.db, m.ddlMode, fmt.Sprintf("%sALTER TABLE %s %s", mysqlx.Tag, mysqlx.QT(db, shadow), m.change.Clause)); err != nil {
			return m.refuseAlter("the shadow table", err)
		}
	}
	m.shadow, err = tableinfo.Load(ctx, m.db, db, shadow)
	if err != nil {
		return fmt.Errorf("read shadow table: %w", err)
	}
	if !m.instant && m.opt.DeferIndexes {
		return m.deferIndexes(ctx)
	}
	return nil
}

// plan maps the shadow's columns to their source columns and picks the key.
func (m *migration) plan() (*copier.Plan, error) {
	key, err := chooseKey(m.source, m.shadow, m.change)
	if err != nil {
		return nil, err
	}
	p := &copier.Plan{Schema: m.opt.Conn.Database, Source: m.opt.Table, Shadow: m.shadow.Name, Key: key, CRC32C: m.server.CRC32C, Log: m.log, Upsert: m.opt.revert}
	for _, c := range m.shadow.Columns {
		if src, ok := m.sourceOf(c); ok && !c.Generated {
			p.SourceCols = append(p.SourceCols, src.Name)
			p.ShadowCols = append(p.ShadowCols, c.Name)
		}
	}
	if len(p.ShadowCols) == 0 {
		return nil, refuse("alter", "Check the ALTER.", "no column of the new table comes from the old one")
	}
	p.Compared = m.compared()
	return p, nil
}

// compared lists the columns the checksum compares. It is built from the
// two tables, not from the copy's column list: whatever the copy wrote or
// skipped, every column both tables hold is compared. Only what the
// server computes (VIRTUAL or STORED generated columns, on either side) is
// left out: the columns it is computed from are compared.
func (m *migration) compared() []copier.Compared {
	var out []copier.Compared
	for _, c := range m.shadow.Columns {
		src, ok := m.sourceOf(c)
		if !ok || c.Generated || src.Generated {
			continue
		}
		se, de := checksumExprs(*src, c)
		out = append(out, copier.Compared{Source: src.Name, Shadow: c.Name, SourceExpr: se, ShadowExpr: de,
			NotNull: !src.Nullable && !c.Nullable})
	}
	return out
}

// sourceOf is the source column a shadow column comes from, if any.
func (m *migration) sourceOf(c tableinfo.Column) (*tableinfo.Column, bool) {
	old, ok := m.change.OldName(c.Name)
	if !ok {
		return nil, false
	}
	return m.source.Column(old)
}

// dropCreated drops the tables this run created, on a fresh context so
// that a cancelled run still cleans up.
func (m *migration) dropCreated() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if m.opt.revert && len(m.created) > 0 {
		m.created = nil
		_, err := undoRevert(ctx, m.db, m.opt.Conn.Database, m.opt.Table) // the shadow is the old table: never dropped
		return err
	}
	var errs []error
	for i := len(m.created) - 1; i >= 0; i-- {
		q := fmt.Sprintf("%sDROP TABLE IF EXISTS %s", mysqlx.Tag, mysqlx.QT(m.opt.Conn.Database, m.created[i]))
		if _, err := m.db.ExecContext(ctx, q); err != nil {
			errs = append(errs, fmt.Errorf("drop %s: %w", m.created[i], err))
		}
	}
	m.created = nil
	return errors.Join(errs...)
}
