package migrate

import (
	"context"
	"fmt"
	"strings"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// checkUnique finds duplicates under every unique key of the new table
// that the source does not already guarantee. Values are grouped in the
// new columns' collation, so a change to a case-insensitive collation
// finds 'a' and 'A' colliding.
func (m *migration) checkUnique(ctx context.Context, kept []columnPair) ([]Finding, error) {
	byNew := map[string]columnPair{}
	for _, p := range kept {
		byNew[strings.ToLower(p.dst.Name)] = p
	}
	var out []Finding
	for _, ix := range m.shadow.Indexes {
		if !ix.Unique {
			continue
		}
		var exprs, notNull []string
		var srcCols []string
		complete := true
		for _, c := range ix.Columns {
			p, ok := byNew[strings.ToLower(c)]
			if !ok {
				complete = false // a new column: its default decides, the copy reports a clash
				break
			}
			srcCols = append(srcCols, p.src.Name)
			exprs = append(exprs, groupExpr(p))
			notNull = append(notNull, mysqlx.Q(p.src.Name)+" IS NOT NULL")
		}
		if !complete || m.sourceGuarantees(srcCols) {
			continue
		}
		src := mysqlx.QT(m.opt.Conn.Database, m.opt.Table)
		group := strings.Join(exprs, ", ")
		var n int64
		q := fmt.Sprintf("%sSELECT COUNT(*) FROM (SELECT 1 FROM %s WHERE %s GROUP BY %s HAVING COUNT(*) > 1) d",
			mysqlx.Tag, src, strings.Join(notNull, " AND "), group)
		if err := m.db.QueryRowContext(ctx, q).Scan(&n); err != nil {
			return nil, fmt.Errorf("look for duplicates under %s: %w", ix.Name, err)
		}
		if n == 0 {
			continue
		}
		quoted := make([]string, len(exprs))
		for i, e := range exprs {
			quoted[i] = "QUOTE(" + e + ")"
		}
		ex, err := queryStrings(ctx, m.db, fmt.Sprintf("%sSELECT CONCAT('(', CONCAT_WS(', ', %s), ') x', COUNT(*)) FROM %s WHERE %s GROUP BY %s HAVING COUNT(*) > 1 LIMIT 5",
			mysqlx.Tag, strings.Join(quoted, ", "), src, strings.Join(notNull, " AND "), group))
		if err != nil {
			return nil, err
		}
		out = append(out, Finding{Check: "unique", Column: ix.Name, Rows: n, Examples: ex,
			Detail: fmt.Sprintf("unique key %s (%s) meets duplicated values", ix.Name, strings.Join(ix.Columns, ", ")),
			Fix:    "Remove the duplicates first, or make the key non-unique; godwit never drops rows to make a key fit."})
	}
	return out, nil
}

func groupExpr(p columnPair) string {
	x := mysqlx.Q(p.src.Name)
	if isTextType(p.dst.DataType) && p.dst.Collation != "" && (p.src.Collation != p.dst.Collation) {
		return fmt.Sprintf("CONVERT(%s USING %s) COLLATE %s", x, p.dst.Charset, p.dst.Collation)
	}
	return x
}

// sourceGuarantees says whether a unique key of the source covers a subset
// of cols with unchanged definitions, so cols cannot hold duplicates.
func (m *migration) sourceGuarantees(cols []string) bool {
	has := map[string]bool{}
	for _, c := range cols {
		has[strings.ToLower(c)] = true
	}
	for _, ix := range m.source.Indexes {
		if !ix.Unique || ix.Prefix {
			continue
		}
		all := true
		for _, c := range ix.Columns {
			all = all && has[strings.ToLower(c)] && m.unchanged(c)
		}
		if all {
			return true
		}
	}
	return false
}

// unchanged says whether the ALTER keeps a source column's type and collation.
func (m *migration) unchanged(name string) bool {
	src, ok := m.source.Column(name)
	if !ok {
		return false
	}
	newName, kept := m.change.NewName(name)
	if !kept {
		return false
	}
	dst, ok := m.shadow.Column(newName)
	return ok && dst.ColumnType == src.ColumnType && dst.Collation == src.Collation
}
