package migrate

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// checkTable refuses tables godwit cannot copy faithfully.
func (m *migration) checkTable(ctx context.Context) error {
	t := m.source
	if !strings.EqualFold(t.Engine, "InnoDB") {
		return refuse("table", "Convert it with a plain ALTER TABLE ... ENGINE=InnoDB first, or run the change natively.",
			"%s uses engine %s; godwit copies from transactional snapshots and needs InnoDB", m.opt.Table, t.Engine)
	}
	for _, name := range helperNames(m.opt.Table) {
		if len(name) > 64 {
			return refuse("table", "Rename the table to at most 53 characters or run the change natively.",
				"the helper table name %s would exceed 64 characters", name)
		}
	}
	var triggers []string
	rows, err := m.db.QueryContext(ctx, mysqlx.Tag+`SELECT TRIGGER_NAME FROM information_schema.TRIGGERS
		WHERE EVENT_OBJECT_SCHEMA = ? AND EVENT_OBJECT_TABLE = ?`, m.opt.Conn.Database, m.opt.Table)
	if err != nil {
		return fmt.Errorf("read triggers: %w", err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return fmt.Errorf("read triggers: %w", err)
		}
		triggers = append(triggers, n)
	}
	rows.Close()
	if len(triggers) > 0 {
		return refuse("triggers", "Drop the triggers for the migration and recreate them afterwards, or run the change natively.",
			"%s has triggers (%s); they would not follow the rows to the new table", m.opt.Table, strings.Join(triggers, ", "))
	}
	var fks []string
	rows, err = m.db.QueryContext(ctx, mysqlx.Tag+`SELECT DISTINCT CONSTRAINT_NAME, TABLE_NAME FROM information_schema.KEY_COLUMN_USAGE
		WHERE REFERENCED_TABLE_NAME IS NOT NULL AND ((TABLE_SCHEMA = ? AND TABLE_NAME = ?) OR (REFERENCED_TABLE_SCHEMA = ? AND REFERENCED_TABLE_NAME = ?))`,
		m.opt.Conn.Database, m.opt.Table, m.opt.Conn.Database, m.opt.Table)
	if err != nil {
		return fmt.Errorf("read foreign keys: %w", err)
	}
	for rows.Next() {
		var c, tbl string
		if err := rows.Scan(&c, &tbl); err != nil {
			rows.Close()
			return fmt.Errorf("read foreign keys: %w", err)
		}
		fks = append(fks, tbl+"."+c)
	}
	rows.Close()
	if len(fks) > 0 {
		return refuse("foreign-keys", "godwit does not migrate tables in foreign key relations yet: run the change natively or drop the constraints first.",
			"%s is part of foreign keys %s", m.opt.Table, strings.Join(fks, ", "))
	}
	return nil
}

// checkLeftovers refuses when a helper table of an earlier run is there:
// godwit never drops a table it did not create in this run. The old
// table's name is checked apart (checkOldFree): only a copy needs it.
func (m *migration) checkLeftovers(ctx context.Context) error {
	for _, name := range helperNames(m.opt.Table) {
		if name == oldName(m.opt.Table) || m.adoptControl && name == checkpointName(m.opt.Table) ||
			m.resume != nil && (name == shadowName(m.opt.Table) || name == checkpointName(m.opt.Table)) ||
			m.resumeCutover && (name == swapShadowName(m.opt.Table) || name == sentryName(m.opt.Table)) {
			continue // the interrupted run's, which this one picks up
		}
		taken, err := m.tableExists(ctx, name)
		if err != nil {
			return err
		}
		if taken {
			r := refuse("leftovers", fmt.Sprintf("If an interrupted godwit run left it, `godwit abort %s` removes it safely.", tableFlags(m.opt.Conn.Database, m.opt.Table)),
				"table %s already exists", name)
			r.Outside = true
			return r
		}
	}
	return nil
}

// checkOldFree refuses a copy when _<table>_old is taken: the swap leaves
// the original table under that name, and godwit drops no table it did
// not create. An instant change renames nothing, so it never asks.
func (m *migration) checkOldFree(ctx context.Context) error {
	name := oldName(m.opt.Table)
	taken, err := m.tableExists(ctx, name)
	if err != nil || !taken {
		return err
	}
	q := mysqlx.QT(m.opt.Conn.Database, name)
	r := refuse("old-table",
		fmt.Sprintf("It is most likely the original table of an earlier migration. Drop it if you no longer need it (DROP TABLE %s;) or keep it under another name (RENAME TABLE %s TO %s;), then run the same command again; nothing was changed.",
			q, q, mysqlx.QT(m.opt.Conn.Database, name+"_"+time.Now().UTC().Format("20060102"))),
		"table %s already exists, and this change needs an online copy, whose swap keeps the original table of %s under that name", name, m.opt.Table)
	r.Outside = true
	return r
}

// tableExists says whether the schema has a table of exactly this name.
func (m *migration) tableExists(ctx context.Context, name string) (bool, error) {
	var n int
	err := m.db.QueryRowContext(ctx, mysqlx.Tag+`SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`,
		m.opt.Conn.Database, name).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look for leftover %s: %w", name, err)
	}
	return n > 0, nil
}

// The shadow is _t_new while it is filled and the old table ends as
// _t_old; during the cut-over they are t_godwit_new and t_godwit_old,
// names that sort after t (see cutover.go for why that matters).
func shadowName(t string) string     { return "_" + t + "_new" }
func oldName(t string) string        { return "_" + t + "_old" }
func swapShadowName(t string) string { return t + "_godwit_new" }
func sentryName(t string) string     { return t + "_godwit_old" }

func helperNames(t string) []string {
	return []string{shadowName(t), oldName(t), swapShadowName(t), sentryName(t), checkpointName(t)}
}
