package pipeline

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/godwit-db/godwit/migrate/alter"
)

// Routes: how a statement runs.
const (
	RouteMigrate = "migrate" // godwit migrate: instantly when the server can, else an online copy
	RouteDirect  = "direct"  // sent to the server as written, with a short lock wait
	RouteRefused = "refused" // not run
	// routeIfEmpty is CREATE INDEX: direct on an empty table, through
	// migrate (as ALTER TABLE ... ADD INDEX) otherwise. Resolved when the
	// statement's turn comes.
	routeIfEmpty = "direct-if-empty"
)

// FlagAllowDropTable lets a file drop or empty a table.
const FlagAllowDropTable = "--allow-drop-table"

// routing is what apply does with one statement, decided from its text
// alone (no server needed), before anything of the run starts.
type routing struct {
	Kind    string   // alter-table, create-table, create-index, drop-table, insert, ...
	Table   string   // the table it works on, "" when none
	Changes []string // the tables it creates, changes, renames or drops
	Creates []string // of those, the ones it creates (empty once it has run)
	Route   string
	Alter   string // RouteMigrate and routeIfEmpty: the ALTER TABLE statement migrate runs
	Flag    string // the flag it needs, e.g. --allow-drop-table
	Refusal string // RouteRefused: why, and what to do
}

// route classifies a statement. allowDropTable is --allow-drop-table;
// without it a statement needing it gets Flag and RouteRefused.
func route(s Statement, database string, allowDropTable bool) routing {
	r := routing{Kind: kindOf(s.Node)}
	refuse := func(format string, args ...any) routing {
		r.Route, r.Refusal = RouteRefused, fmt.Sprintf(format, args...)
		return r
	}
	if hidesSQL(s.Text) {
		return refuse("it holds a MariaDB executable comment (/*M! ... */) with SQL in it, which MariaDB runs but the " +
			"parser godwit classifies statements with skips. Write that SQL outside the comment")
	}
	names := tableNames(s.Node)
	for _, tn := range names {
		if tn.Schema.O != "" && tn.Schema.O != database {
			return refuse("it names %s.%s: godwit apply changes only the tables of --database %s, where its history "+
				"lives. Apply the other database's files with --database %s", tn.Schema.O, tn.Name.O, database, tn.Schema.O)
		}
		if tn.Name.O == HistoryTable {
			return refuse("%s is godwit apply's history table; migration files must not change it", HistoryTable)
		}
	}
	if len(names) > 0 {
		r.Table = names[0].Name.O
	}
	switch n := s.Node.(type) {
	case *ast.AlterTableStmt:
		r.Route, r.Alter, r.Changes = RouteMigrate, s.Text, []string{r.Table}
		if msg := alterRefusal(database, r.Table, r.Alter); msg != "" {
			return refuse("%s", msg)
		}
	case *ast.CreateTableStmt:
		switch {
		case n.Select != nil:
			return refuse("CREATE TABLE ... SELECT copies rows, holding locks on the rows it reads; godwit apply runs " +
				"schema changes only. Create the table, then fill it with your own batched job")
		case n.TemporaryKeyword != ast.TemporaryNone:
			return refuse("a temporary table lasts as long as the connection that creates it; godwit apply runs " +
				"schema changes only")
		}
		r.Route, r.Changes, r.Creates = RouteDirect, []string{r.Table}, []string{r.Table}
	case *ast.CreateIndexStmt:
		if n.LockAlg != nil {
			return refuse("remove ALGORITHM= and LOCK=: godwit chooses how the index is built (directly on an empty " +
				"table, else online through godwit migrate)")
		}
		a, err := createIndexAlter(n)
		if err != nil {
			return refuse("%v", err)
		}
		r.Route, r.Alter, r.Changes = routeIfEmpty, a, []string{r.Table}
		if msg := alterRefusal(database, r.Table, a); msg != "" {
			return refuse("as %s: %s", a, msg)
		}
	case *ast.DropIndexStmt:
		if n.LockAlg != nil {
			return refuse("remove ALGORITHM= and LOCK=: dropping a secondary index is an in-place change the server " +
				"makes without blocking writes")
		}
		r.Route, r.Changes = RouteDirect, []string{r.Table}
		if strings.EqualFold(n.IndexName, "PRIMARY") {
			// Dropping the primary key rebuilds the table: migrate's job.
			r.Route = RouteMigrate
			a, err := restore(&ast.AlterTableStmt{Table: n.Table, Specs: []*ast.AlterTableSpec{{Tp: ast.AlterTableDropPrimaryKey}}})
			if err != nil {
				return refuse("%v", err)
			}
			r.Alter = a
			if msg := alterRefusal(database, r.Table, a); msg != "" {
				return refuse("as %s: %s", a, msg)
			}
		}
	case *ast.CreateViewStmt, *ast.AlterDatabaseStmt:
		r.Route = RouteDirect
		if v, ok := n.(*ast.CreateViewStmt); ok {
			r.Changes, r.Creates = []string{v.ViewName.Name.O}, []string{v.ViewName.Name.O}
		}
		if d, ok := n.(*ast.AlterDatabaseStmt); ok && !d.AlterDefaultDatabase && d.Name.O != database {
			return refuse("it alters database %s: godwit apply changes only --database %s", d.Name.O, database)
		}
	case *ast.RenameTableStmt:
		r.Route = RouteDirect
		for _, tt := range n.TableToTables {
			r.Changes = append(r.Changes, tt.OldTable.Name.O, tt.NewTable.Name.O)
			r.Creates = append(r.Creates, tt.NewTable.Name.O)
		}
	case *ast.DropTableStmt:
		r.Route = RouteDirect
		for _, tn := range n.Tables {
			r.Changes = append(r.Changes, tn.Name.O)
		}
		if !n.IsView && !allowDropTable {
			r.Flag = FlagAllowDropTable
			return refuse("it drops %s and every row in it. Pass %s to allow it", tableList(n.Tables), FlagAllowDropTable)
		}
	case *ast.TruncateTableStmt:
		r.Route, r.Changes = RouteDirect, []string{r.Table}
		if !allowDropTable {
			r.Flag = FlagAllowDropTable
			return refuse("it deletes every row of %s. Pass %s to allow it", r.Table, FlagAllowDropTable)
		}
	case *ast.DropDatabaseStmt, *ast.CreateDatabaseStmt:
		return refuse("godwit apply works inside --database %s, which holds its history; create or drop databases natively", database)
	case *ast.SetStmt:
		return refuse("each statement runs on a connection of its own (a migration on several), so a session setting " +
			"would not reach the next statement; godwit sets what its statements need itself")
	case *ast.UseStmt:
		return refuse("godwit apply runs every statement in --database %s; remove USE", database)
	case ast.DMLNode:
		return refuse("godwit apply runs schema changes only, and %s changes rows: a statement over a big table holds "+
			"its locks for as long as it runs. Change data with a batched job of your own", strings.ToUpper(strings.ReplaceAll(r.Kind, "-", " ")))
	default:
		return refuse("godwit apply does not know how to run %s safely; run it natively",
			strings.ToUpper(strings.ReplaceAll(r.Kind, "-", " ")))
	}
	return r
}

// alterRefusal asks the alter package whether migrate would refuse the
// statement for what it says (foreign keys, ALTER IGNORE, ALGORITHM=,
// syntax the parser lacks, ...); "" when it would not.
func alterRefusal(database, table, stmt string) string {
	_, err := alter.Parse(database, table, stmt)
	var re *alter.RefusedError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &re):
		return re.Reason
	default:
		return err.Error()
	}
}

// createIndexAlter turns CREATE INDEX into the ALTER TABLE ... ADD INDEX
// that migrate runs when the table holds rows.
func createIndexAlter(n *ast.CreateIndexStmt) (string, error) {
	c := &ast.Constraint{Name: n.IndexName, Keys: n.IndexPartSpecifications, Option: n.IndexOption, IfNotExists: n.IfNotExists}
	switch n.KeyType {
	case ast.IndexKeyTypeNone:
		c.Tp = ast.ConstraintIndex
	case ast.IndexKeyTypeUnique:
		c.Tp = ast.ConstraintUniq
	case ast.IndexKeyTypeFulltext:
		c.Tp = ast.ConstraintFulltext
	default:
		return "", fmt.Errorf("this kind of index cannot be built online by godwit; create it natively")
	}
	return restore(&ast.AlterTableStmt{Table: n.Table, Specs: []*ast.AlterTableSpec{{Tp: ast.AlterTableAddConstraint, Constraint: c}}})
}

// tableNames lists the tables a statement names as its target, in order.
func tableNames(n ast.StmtNode) []*ast.TableName {
	switch n := n.(type) {
	case *ast.AlterTableStmt:
		return []*ast.TableName{n.Table}
	case *ast.CreateTableStmt:
		return []*ast.TableName{n.Table} // not LIKE's: it is only read
	case *ast.CreateIndexStmt:
		return []*ast.TableName{n.Table}
	case *ast.DropIndexStmt:
		return []*ast.TableName{n.Table}
	case *ast.CreateViewStmt:
		return []*ast.TableName{n.ViewName}
	case *ast.DropTableStmt:
		return n.Tables
	case *ast.TruncateTableStmt:
		return []*ast.TableName{n.Table}
	case *ast.RenameTableStmt:
		var out []*ast.TableName
		for _, tt := range n.TableToTables {
			out = append(out, tt.OldTable, tt.NewTable)
		}
		return out
	}
	return nil
}

func tableList(names []*ast.TableName) string {
	var s []string
	for _, n := range names {
		s = append(s, n.Name.O)
	}
	return strings.Join(s, ", ")
}

// kindOf names a statement from its AST type: *ast.AlterTableStmt is
// "alter-table", *ast.InsertStmt "insert".
func kindOf(n ast.StmtNode) string {
	switch n := n.(type) {
	case *ast.DropTableStmt:
		if n.IsView {
			return "drop-view"
		}
	case *ast.InsertStmt:
		if n.IsReplace {
			return "replace"
		}
	}
	name := strings.TrimSuffix(strings.TrimPrefix(fmt.Sprintf("%T", n), "*ast."), "Stmt")
	var b strings.Builder
	for i, r := range name {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('-')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
