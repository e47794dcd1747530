// Package alter parses and classifies the ALTER a user asks godwit to run.
//
// Parsing is the TiDB parser's job, never godwit's: the package only asks the
// parser questions and reads its AST. See README.md for the policy on what is
// refused and on MariaDB syntax.
package alter

import (
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	// The parser panics without a driver for literal values.
	"github.com/godwit-db/godwit/internal/sqlparse"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver"
)

// Parse parses what the user gave as --alter for table `table` in database
// `database`: either the clause after `ALTER TABLE t` ("ADD COLUMN c INT,
// DROP COLUMN d") or a whole `ALTER TABLE [db.]t ...` statement, whose table
// must then be `table` and whose database, if given, must be `database`.
//
// Any input godwit will not run returns a *RefusedError saying why and what
// to do instead.
func Parse(database, table, input string) (*Change, error) {
	if table == "" {
		return nil, fmt.Errorf("alter: parse: no table name given")
	}
	defer sqlparse.Reading()()
	text := strings.TrimSpace(input)
	if onlySemicolons(text) {
		return nil, refuseEmpty()
	}
	if err := checkHiddenComments(text); err != nil {
		return nil, err
	}
	// SetMariaDB(true) is left off: in this parser version it only affects
	// a GRANT privilege name, and none of the MariaDB ALTER syntax.
	//
	// Probing parses get their own parser so that nothing they do can touch
	// the AST being classified.
	p, probe := parser.New(), parser.New()
	stmt, raw, err := locateSpecs(p, probe, database, table, text)
	if err != nil {
		return nil, err
	}
	want, err := restoreSpecs(stmt.Specs)
	if err != nil {
		return nil, fmt.Errorf("alter: parse: %w", err)
	}
	clause := trimTail(probe, table, raw, want)
	// The clause is what will run on the shadow table: prove once more that,
	// run the way the caller runs it, it means what was classified.
	if !sameSpecs(probe, table, clause, want) {
		return nil, refuse("cannot isolate the specifications of this ALTER verbatim. " +
			"Give only the part after the table name, e.g. --alter \"ADD COLUMN c INT\"")
	}
	change, err := classify(stmt.Specs, table)
	if err != nil {
		return nil, err
	}
	change.Clause = clause
	return change, nil
}

// locateSpecs decides whether text is a whole statement or a clause, checks
// the statement is one ALTER TABLE of the right table, and returns its AST
// with the text of its specs as the user wrote them.
func locateSpecs(p, probe *parser.Parser, database, table, text string) (*ast.AlterTableStmt, string, error) {
	// A clause never parses as a statement, so trying the statement form
	// first cannot mistake one for the other.
	stmts, _, stmtErr := p.Parse(text, "", "")
	if stmtErr == nil {
		return wholeStatement(probe, database, table, text, stmts)
	}
	clauseSQL := clausePrefix(table) + text
	stmts, _, clauseErr := p.Parse(clauseSQL, "", "")
	if clauseErr != nil {
		if looksLikeStatement(text) {
			return nil, "", refuseUnparsable(text, stmtErr)
		}
		return nil, "", refuseUnparsable(clauseSQL, clauseErr)
	}
	if len(stmts) != 1 {
		return nil, "", refuseMany(len(stmts))
	}
	stmt, ok := stmts[0].(*ast.AlterTableStmt)
	if !ok {
		// "ANALYZE PARTITION p" and "COMPACT" turn ALTER TABLE into
		// other statements.
		return nil, "", refuseNotAlter(stmts[0], table)
	}
	if len(stmt.Specs) == 0 {
		return nil, "", refuseEmpty()
	}
	return stmt, text, nil
}

func wholeStatement(probe *parser.Parser, database, table, text string, stmts []ast.StmtNode) (*ast.AlterTableStmt, string, error) {
	switch {
	case len(stmts) == 0:
		return nil, "", refuseEmpty()
	case len(stmts) > 1:
		return nil, "", refuseMany(len(stmts))
	}
	stmt, ok := stmts[0].(*ast.AlterTableStmt)
	if !ok {
		return nil, "", refuseNotAlter(stmts[0], table)
	}
	// Table names are compared exactly: on a case-sensitive server `Users`
	// and `users` are two tables, and the statement must not name another.
	if stmt.Table.Name.O != table || (stmt.Table.Schema.O != "" && stmt.Table.Schema.O != database) {
		return nil, "", refuseOtherTable(stmt.Table.Schema.O, stmt.Table.Name.O, database, table)
	}
	if len(stmt.Specs) == 0 {
		return nil, "", refuseNoSpecs(table)
	}
	want, err := restoreSpecs(stmt.Specs)
	if err != nil {
		return nil, "", fmt.Errorf("alter: parse: %w", err)
	}
	head, rest, err := splitStatement(probe, text, stmt, want, table)
	if err != nil {
		return nil, "", err
	}
	dropped, err := headDrops(probe, head)
	if err != nil {
		return nil, "", fmt.Errorf("alter: parse: %w", err)
	}
	if dropped["ignore"] > 0 {
		return nil, "", refuseIgnore()
	}
	if dropped != nil {
		return nil, "", refuse("godwit's parser does not keep everything before the table name (%s), so it cannot "+
			"tell what the statement does. Give only the part after the table name in --alter", head)
	}
	return stmt, rest, nil
}

// looksLikeStatement picks which parse error to show when neither form
// parses: the lexer's first words tell a statement head (ALTER TABLE,
// ALTER IGNORE, MariaDB's ALTER ONLINE) from a clause such as
// ALTER COLUMN. Only the message depends on it.
func looksLikeStatement(text string) bool {
	w := strings.Fields(normalized(text))
	return len(w) >= 2 && w[0] == "alter" && (w[1] == "table" || w[1] == "ignore" || w[1] == "online")
}

// checkHiddenComments refuses MariaDB executable comments that carry SQL:
// the TiDB lexer skips /*M! ... */ while MariaDB runs it. Rewritten as the
// MySQL form /*! ... */, which the lexer does read, the token stream changes
// exactly when such a comment holds something; inside a string literal the
// rewrite changes only the literal, which the lexer reduces to '?'.
func checkHiddenComments(text string) error {
	if !strings.Contains(text, "/*M!") {
		return nil
	}
	if normalized(strings.ReplaceAll(text, "/*M!", "/*!")) != normalized(text) {
		return refuseHiddenComment()
	}
	return nil
}
