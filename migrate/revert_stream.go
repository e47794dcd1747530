package migrate

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
)

// streamIgnore is, for a revert, the statement the binlog after the
// revert point holds that names the table without changing it: the
// swap's own RENAME (t -> t_godwit_old, t_godwit_new -> t). Any other DDL
// on the table still stops the run. A migration ignores nothing.
func (m *migration) streamIgnore() func(schema, query string) bool {
	if !m.opt.revert {
		return nil
	}
	db, t := m.opt.Conn.Database, m.opt.Table
	return func(schema, query string) bool { return isSwapRename(schema, query, db, t) }
}

// isSwapRename says whether query is the cut-over's RENAME of table.
func isSwapRename(eventSchema, query, schema, table string) bool {
	stmt, err := parser.New().ParseOneStmt(query, "", "")
	if err != nil {
		return false
	}
	r, ok := stmt.(*ast.RenameTableStmt)
	if !ok || len(r.TableToTables) != 2 {
		return false
	}
	name := func(tn *ast.TableName) (string, bool) {
		db := tn.Schema.O
		if db == "" {
			db = eventSchema
		}
		return tn.Name.O, strings.EqualFold(db, schema)
	}
	want := [2][2]string{{table, sentryName(table)}, {swapShadowName(table), table}}
	for i, tt := range r.TableToTables {
		from, ok1 := name(tt.OldTable)
		to, ok2 := name(tt.NewTable)
		if !ok1 || !ok2 || from != want[i][0] || to != want[i][1] {
			return false
		}
	}
	return true
}
