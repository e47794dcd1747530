package migrate

import (
	"context"
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// A CHECK constraint the ALTER adds, changes or starts enforcing is a data
// check like the others: the copy would stop at the first row it rejects
// ("CONSTRAINT ck failed"), after the shadow and part of the copy exist.
// A row breaks a CHECK when its expression is false; NULL passes. The
// expression names the new table's columns: it is rewritten over the
// source's before it is counted there.

// checkClause is an enforced CHECK constraint of the new table.
type checkClause struct{ name, expr string }

// checkConditions are the conditions for rows that break a new CHECK.
// A CHECK whose expression cannot be evaluated over the source's rows
// (it names a column the ALTER adds, whose default decides) is returned
// as a note instead.
func (m *migration) checkConditions(ctx context.Context) ([]condition, []string, error) {
	var checks []checkClause
	var err error
	if m.shadowPredicted {
		checks, err = m.checksFromAlter(ctx)
	} else {
		checks, err = m.checksAdded(ctx)
	}
	if err != nil {
		return nil, nil, err
	}
	var conds []condition
	var notes []string
	for _, c := range checks {
		expr, err := m.overSource(c.expr)
		if err == nil {
			err = m.probe(ctx, expr)
		}
		if err != nil {
			notes = append(notes, fmt.Sprintf("the rows against CHECK constraint %s (%s): %v", c.name, c.expr, err))
			continue
		}
		conds = append(conds, condition{
			check: "check", column: c.name, sql: "NOT (" + expr + ")",
			detail: fmt.Sprintf("CHECK constraint %s (%s) is false for rows", c.name, c.expr),
			fix:    "Change those rows first (a CHECK holds where its expression is true or NULL), or change the constraint.",
		})
	}
	return conds, notes, nil
}

// probe has the server compile the condition without reading a row.
func (m *migration) probe(ctx context.Context, expr string) error {
	q := fmt.Sprintf("%sSELECT 1 FROM %s WHERE NOT (%s) LIMIT 0", mysqlx.Tag, mysqlx.QT(m.opt.Conn.Database, m.opt.Table), expr)
	rows, err := m.db.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("not evaluated over the current rows: %w", err)
	}
	return rows.Close()
}

// overSource rewrites a CHECK expression over the new table's columns into
// one over the source's; it refuses a column the source does not have.
func (m *migration) overSource(expr string) (string, error) {
	e, err := parseExpr(expr)
	if err != nil {
		return "", err
	}
	kept, _ := m.pairs()
	v := &renamer{old: map[string]string{}, added: m.addedValues()}
	for _, p := range kept {
		v.old[strings.ToLower(p.dst.Name)] = p.src.Name
	}
	out, _ := e.Accept(v)
	if v.missing != "" {
		return "", fmt.Errorf("not evaluated: it names column %s, whose value in the current rows godwit cannot tell", v.missing)
	}
	return restoreExpr(out)
}

// addedValues are the values the copy leaves to the columns the ALTER
// adds: their literal or expression DEFAULT, or NULL for a nullable column
// without one. Columns the server computes (AUTO_INCREMENT, generated)
// or fills with an implicit default are left out.
func (m *migration) addedValues() map[string]ast.ExprNode {
	out := map[string]ast.ExprNode{}
	for _, s := range m.change.Specs {
		if s.AST == nil || s.AST.Tp != ast.AlterTableAddColumns {
			continue
		}
		for _, col := range s.AST.NewColumns {
			var value ast.ExprNode
			nullable, computed := true, false
			for _, o := range col.Options {
				switch o.Tp {
				case ast.ColumnOptionDefaultValue:
					value = o.Expr
				case ast.ColumnOptionNotNull, ast.ColumnOptionPrimaryKey:
					nullable = false
				case ast.ColumnOptionAutoIncrement, ast.ColumnOptionGenerated:
					computed = true
				}
			}
			if value == nil && nullable {
				value = ast.NewValueExpr(nil, "", "")
			}
			if value != nil && !computed {
				out[col.Name.Name.L] = value
			}
		}
	}
	return out
}

// renamer rewrites column names of the new table into the source's, and
// columns the ALTER adds into the value they get.
type renamer struct {
	old      map[string]string // new column name, lower case -> source column
	added    map[string]ast.ExprNode
	replaced map[*ast.ColumnNameExpr]ast.ExprNode
	missing  string
}

func (r *renamer) Enter(n ast.Node) (ast.Node, bool) {
	if c, ok := n.(*ast.ColumnNameExpr); ok {
		src, kept := r.old[c.Name.Name.L]
		v, added := r.added[c.Name.Name.L]
		switch {
		case kept:
			c.Name.Name = ast.NewCIStr(src)
			c.Name.Table, c.Name.Schema = ast.CIStr{}, ast.CIStr{}
		case added:
			if r.replaced == nil {
				r.replaced = map[*ast.ColumnNameExpr]ast.ExprNode{}
			}
			r.replaced[c] = v
		case r.missing == "":
			r.missing = c.Name.Name.O
		}
	}
	return n, false
}

func (r *renamer) Leave(n ast.Node) (ast.Node, bool) {
	if c, ok := n.(*ast.ColumnNameExpr); ok {
		if v, ok := r.replaced[c]; ok {
			return v, true
		}
	}
	return n, true
}

func parseExpr(expr string) (ast.ExprNode, error) {
	stmt, err := parser.New().ParseOneStmt("SELECT "+expr, "", "")
	if err != nil {
		return nil, fmt.Errorf("not evaluated: the expression does not parse: %w", err)
	}
	sel, ok := stmt.(*ast.SelectStmt)
	if !ok || sel.Fields == nil || len(sel.Fields.Fields) != 1 || sel.From != nil || sel.Where != nil {
		return nil, fmt.Errorf("not evaluated: %q is not one expression", expr)
	}
	return sel.Fields.Fields[0].Expr, nil
}

func restoreExpr(e ast.Node) (string, error) {
	var sb strings.Builder
	flags := format.DefaultRestoreFlags | format.RestoreStringEscapeBackslash | format.RestoreStringWithoutDefaultCharset
	if err := e.Restore(format.NewRestoreCtx(flags, &sb)); err != nil {
		return "", fmt.Errorf("not evaluated: %w", err)
	}
	return sb.String(), nil
}

// checksFromAlter predicts, for the planner, the CHECKs the ALTER adds or
// enforces: ADD [CONSTRAINT] CHECK, a column's CHECK in ADD/MODIFY/CHANGE
// COLUMN, and MySQL's ALTER CHECK ... ENFORCED. NOT ENFORCED ones hold
// nothing back.
func (m *migration) checksFromAlter(ctx context.Context) ([]checkClause, error) {
	var out []checkClause
	add := func(name string, e ast.ExprNode) error {
		s, err := restoreExpr(e)
		if err != nil {
			return err
		}
		out = append(out, checkClause{name, s})
		return nil
	}
	for _, s := range m.change.Specs {
		spec := s.AST
		if spec == nil {
			continue
		}
		switch spec.Tp {
		case ast.AlterTableAddConstraint:
			if c := spec.Constraint; c != nil && c.Tp == ast.ConstraintCheck && c.Enforced {
				if err := add(c.Name, c.Expr); err != nil {
					return nil, err
				}
			}
		case ast.AlterTableAddColumns, ast.AlterTableModifyColumn, ast.AlterTableChangeColumn:
			for _, col := range spec.NewColumns {
				for _, o := range col.Options {
					if o.Tp == ast.ColumnOptionCheck && o.Enforced {
						if err := add(col.Name.Name.O, o.Expr); err != nil {
							return nil, err
						}
					}
				}
			}
		case ast.AlterTableAlterCheck:
			if c := spec.Constraint; c != nil && c.Enforced {
				src, err := m.tableChecks(ctx, m.opt.Table)
				if err != nil {
					return nil, err
				}
				for _, sc := range src {
					if strings.EqualFold(sc.name, c.Name) && !sc.enforced {
						out = append(out, sc.checkClause)
					}
				}
			}
		}
	}
	return out, nil
}

// checksAdded lists the shadow's enforced CHECKs that the source does not
// enforce with the same expression. Names are no guide: MySQL names a
// copied CHECK anew (they are unique per schema there).
func (m *migration) checksAdded(ctx context.Context) ([]checkClause, error) {
	src, err := m.tableChecks(ctx, m.opt.Table)
	if err != nil {
		return nil, err
	}
	dst, err := m.tableChecks(ctx, m.shadow.Name)
	if err != nil {
		return nil, err
	}
	had := map[string]bool{}
	for _, c := range src {
		if c.enforced {
			had[c.expr] = true
		}
	}
	var out []checkClause
	for _, c := range dst {
		if c.enforced && !had[c.expr] {
			// MySQL names a CHECK without a name after its table, and
			// renames it with the table: say the name it will have.
			if rest, ok := strings.CutPrefix(c.name, m.shadow.Name+"_chk_"); ok {
				c.name = m.opt.Table + "_chk_" + rest
			}
			out = append(out, c.checkClause)
		}
	}
	return out, nil
}

type tableCheck struct {
	checkClause
	enforced bool
}

// tableChecks reads a table's CHECK constraints. MariaDB enforces every
// one and lists the table in CHECK_CONSTRAINTS; MySQL says ENFORCED in
// TABLE_CONSTRAINTS.
func (m *migration) tableChecks(ctx context.Context, table string) ([]tableCheck, error) {
	q := mysqlx.Tag + "SELECT CONSTRAINT_NAME, CHECK_CLAUSE, 'YES' FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?"
	if m.server.Flavor == "mysql" {
		q = mysqlx.Tag + `SELECT cc.CONSTRAINT_NAME, cc.CHECK_CLAUSE, tc.ENFORCED FROM information_schema.TABLE_CONSTRAINTS tc
			JOIN information_schema.CHECK_CONSTRAINTS cc ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME
			WHERE tc.CONSTRAINT_SCHEMA = ? AND tc.TABLE_NAME = ? AND tc.CONSTRAINT_TYPE = 'CHECK'`
	}
	rows, err := m.db.QueryContext(ctx, q, m.opt.Conn.Database, table)
	if err != nil {
		return nil, fmt.Errorf("read the CHECK constraints of %s: %w", table, err)
	}
	defer rows.Close()
	var out []tableCheck
	for rows.Next() {
		var c tableCheck
		var enforced string
		if err := rows.Scan(&c.name, &c.expr, &enforced); err != nil {
			return nil, err
		}
		c.enforced = enforced == "YES"
		if m.server.Flavor == "mysql" {
			c.expr = unescapeMySQLClause(c.expr)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// unescapeMySQLClause undoes the escaping MySQL adds to CHECK_CLAUSE:
// it prints the clause as if inside a quoted string, with a backslash
// before each quote and backslash (SHOW CREATE TABLE shows the clause
// without it).
func unescapeMySQLClause(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		sb.WriteByte(s[i])
	}
	return sb.String()
}
