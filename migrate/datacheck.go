package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/tableinfo"
)

// Finding is a change the data itself would not survive intact.
type Finding struct {
	Check    string   // "unique", "narrowing", "not-null", "charset", "enum", "check", "dropped-data"
	Column   string   // the column or index concerned
	Rows     int64    // offending rows (or duplicate groups for "unique")
	Examples []string // a few keys (or duplicate values) to look at
	Detail   string
	Fix      string
}

func (f Finding) String() string {
	s := fmt.Sprintf("%s: %s: %d rows", f.Check, f.Detail, f.Rows)
	if f.Check == "unique" {
		s = fmt.Sprintf("%s: %s: %d duplicated values", f.Check, f.Detail, f.Rows)
	}
	if len(f.Examples) > 0 {
		s += " (e.g. " + strings.Join(f.Examples, "; ") + ")"
	}
	return s
}

// refuseDataLoss turns blocking findings into a refusal; dropped data is
// allowed by AllowDropData and then reported as a warning.
func (m *migration) refuseDataLoss(ctx context.Context) error {
	findings, err := m.checkData(ctx)
	if err != nil {
		return err
	}
	var reasons, fixes []string
	for _, f := range findings {
		if f.Check == "dropped-data" && m.opt.AllowDropData {
			m.summary.Warnings = append(m.summary.Warnings, f.String())
			m.log.Warn("dropping data as allowed", "finding", f.String())
			continue
		}
		reasons = append(reasons, f.String())
		if !slices.Contains(fixes, f.Fix) {
			fixes = append(fixes, f.Fix)
		}
	}
	if len(reasons) == 0 {
		return nil
	}
	return refuse("data", strings.Join(fixes, " "), "the change would lose or alter data: %s", strings.Join(reasons, "; "))
}

// columnPair is a column of the source and what the ALTER makes of it.
type columnPair struct{ src, dst tableinfo.Column }

// pairs maps the source's columns to the shadow's, and lists the source
// columns the ALTER drops.
func (m *migration) pairs() (kept []columnPair, dropped []tableinfo.Column) {
	for _, c := range m.source.Columns {
		newName, ok := m.change.NewName(c.Name)
		var dst *tableinfo.Column
		if ok {
			dst, ok = m.shadow.Column(newName)
		}
		if !ok || dst.Generated {
			if !ok {
				dropped = append(dropped, c)
			}
			continue
		}
		kept = append(kept, columnPair{c, *dst})
	}
	return kept, dropped
}

// checkData inspects the rows the ALTER would meet and refuses, with
// counts and example keys, a change that would lose or alter data:
// duplicates under a new unique key, values that do not fit a narrowed
// type, NULLs under NOT NULL, characters the new charset cannot hold,
// ENUM/SET members in use that the ALTER removes, rows a new CHECK
// constraint rejects (datacheck_check.go), and (unless allowed) dropped
// columns that hold data. One pass of the table answers all the
// per-column questions; each new unique key costs one grouping pass.
func (m *migration) checkData(ctx context.Context) ([]Finding, error) {
	kept, dropped := m.pairs()
	var conds []condition
	for _, p := range kept {
		conds = append(conds, columnConditions(p)...)
	}
	for _, c := range dropped {
		conds = append(conds, condition{
			check: "dropped-data", column: c.Name, sql: mysqlx.Q(c.Name) + " IS NOT NULL",
			detail: fmt.Sprintf("the ALTER drops column %s, which holds data", c.Name),
			fix:    "Make sure the data is no longer needed (back it up), then pass --allow-drop-data.",
		})
	}
	checks, notes, err := m.checkConditions(ctx)
	if err != nil {
		return nil, err
	}
	conds = append(conds, checks...)
	m.dataNotes = notes
	for _, n := range notes {
		if !m.shadowPredicted {
			m.log.Warn("not checked before the copy: " + n)
		}
	}
	findings, err := m.countConditions(ctx, conds)
	if err != nil {
		return nil, err
	}
	dups, err := m.checkUnique(ctx, kept)
	if err != nil {
		return nil, err
	}
	return append(findings, dups...), nil
}

// condition is one question about the rows: how many satisfy sql.
type condition struct {
	check, column, sql, detail, fix string
}

func (m *migration) countConditions(ctx context.Context, conds []condition) ([]Finding, error) {
	if len(conds) == 0 {
		return nil, nil
	}
	sums := make([]string, len(conds))
	for i, c := range conds {
		sums[i] = "COALESCE(SUM(" + c.sql + "), 0)"
	}
	src := mysqlx.QT(m.opt.Conn.Database, m.opt.Table)
	counts := make([]int64, len(conds))
	dest := make([]any, len(conds))
	for i := range counts {
		dest[i] = &counts[i]
	}
	if err := m.db.QueryRowContext(ctx, mysqlx.Tag+"SELECT "+strings.Join(sums, ", ")+" FROM "+src).Scan(dest...); err != nil {
		return nil, fmt.Errorf("inspect the data: %w", err)
	}
	var out []Finding
	for i, c := range conds {
		if counts[i] == 0 {
			continue
		}
		ex, err := m.exampleKeys(ctx, c.sql)
		if err != nil {
			return nil, err
		}
		out = append(out, Finding{Check: c.check, Column: c.column, Rows: counts[i], Examples: ex, Detail: c.detail, Fix: c.fix})
	}
	return out, nil
}

// exampleKeys lists the primary (or chosen) key of up to 5 rows matching cond.
func (m *migration) exampleKeys(ctx context.Context, cond string) ([]string, error) {
	key, err := chooseKey(m.source, nil, m.change)
	if err != nil {
		return nil, err
	}
	var parts []string
	var names []any
	for _, c := range key.Columns {
		// The name as a literal is an argument: escaped by the driver.
		parts = append(parts, fmt.Sprintf("CONCAT(?, '=', QUOTE(%s))", mysqlx.Q(c.Name)))
		names = append(names, c.Name)
	}
	q := fmt.Sprintf("%sSELECT CONCAT_WS(', ', %s) FROM %s WHERE %s LIMIT 5", mysqlx.Tag, strings.Join(parts, ", "),
		mysqlx.QT(m.opt.Conn.Database, m.opt.Table), cond)
	return queryStrings(ctx, m.db, q, names...)
}

func quoteString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s) + "'"
}

func queryStrings(ctx context.Context, db *sql.DB, q string, args ...any) ([]string, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("inspect the data: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s sql.NullString
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s.String)
	}
	return out, rows.Err()
}
