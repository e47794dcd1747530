package alter

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// RefusedError means godwit will not run this ALTER as given. Reason says
// what is wrong and what to do instead; it is written for the person who
// typed --alter, not for a developer.
type RefusedError struct {
	Reason string
	// Err is the parser's own error when the parser rejected the input.
	Err error
}

func (e *RefusedError) Error() string {
	return "alter refused: " + e.Reason
}

func (e *RefusedError) Unwrap() error { return e.Err }

func refuse(format string, args ...any) *RefusedError {
	return &RefusedError{Reason: fmt.Sprintf(format, args...)}
}

// mariaDBHint is appended to every parse failure: most ALTERs a MariaDB user
// writes that godwit cannot parse are valid MariaDB the TiDB parser lacks,
// and the user needs to know that the SQL may well be fine.
const mariaDBHint = "godwit reads ALTERs with the TiDB SQL parser, which lacks some MariaDB-only syntax: " +
	"INET6, UUID and geometry types, INVISIBLE, PERSISTENT and COMPRESSED columns, " +
	"system versioning, IGNORED and SPATIAL indexes, expression defaults like DEFAULT (a+1), " +
	"WAIT n/NOWAIT, ALTER ONLINE TABLE, ALTER TABLE IF EXISTS, ALGORITHM=NOCOPY. " +
	"If your change needs one of these, run it natively with ALTER TABLE (MariaDB does many of them instantly) " +
	"or rephrase it (for example a literal DEFAULT instead of an expression); " +
	"otherwise fix the syntax near the point the parser shows"

func refuseUnparsable(parsed string, err error) *RefusedError {
	reason := fmt.Sprintf("cannot parse the ALTER: %v (godwit parsed: %s). %s",
		strings.TrimSpace(err.Error()), parsed, mariaDBHint)
	// The parser's message for an unknown ALGORITHM is cryptic, and the
	// clause would be refused even if it parsed.
	for _, w := range strings.Fields(normalized(parsed)) {
		if w == "algorithm" || w == "lock" {
			reason += ". Also remove ALGORITHM= and LOCK=: godwit chooses how the change runs"
			break
		}
	}
	return &RefusedError{Reason: reason, Err: err}
}

// refuseSpec applies the refusal policy to one classified spec: nil means
// godwit can run it by copying into a shadow table.
func refuseSpec(s Spec, table string) *RefusedError {
	switch s.Kind {
	case AddForeignKey:
		return refuse("%s: foreign keys are refused for now. godwit copies into a shadow table and swaps it in, "+
			"and foreign keys do not follow that swap safely. Add the foreign key natively with ALTER TABLE, "+
			"or remove it from --alter", s.Text)
	case DropForeignKey:
		return refuse("%s: foreign keys are refused for now, and dropping one is a quick in-place change. "+
			"Run ALTER TABLE %s DROP FOREIGN KEY ... natively, then run godwit for the rest", s.Text, quoteName(table))
	case PartitionMaintenance:
		return refuse("%s: partition maintenance works on existing partitions in place, and godwit only rebuilds "+
			"whole tables. Run it natively with ALTER TABLE %s; to repartition through godwit, use PARTITION BY "+
			"or REMOVE PARTITIONING", s.Text, quoteName(table))
	case Algorithm, Lock:
		return refuse("%s: ALGORITHM= and LOCK= tell the server how to run an ALTER on your table, but with godwit "+
			"the server never does: godwit applies the change to an empty shadow table and copies rows online. "+
			"Remove ALGORITHM= and LOCK= from --alter", s.Text)
	case RenameTable:
		return refuse("%s: renaming the table needs no copy. Run RENAME TABLE %s TO <new name> directly, it is "+
			"instant and atomic; then run godwit for the rest of the change under the new name", s.Text, quoteName(table))
	case OrderBy:
		return refuse("%s: ORDER BY only orders rows once, during a rebuild, and InnoDB keeps rows in primary key "+
			"order anyway; godwit copies in key order. Remove ORDER BY from --alter", s.Text)
	case Tablespace:
		return refuse("%s: DISCARD/IMPORT TABLESPACE manages the table's data file, not its schema, so there is "+
			"nothing for godwit to copy. Run it natively", s.Text)
	case Keys:
		return refuse("%s: ENABLE/DISABLE KEYS switches index maintenance (MyISAM) and changes no schema, so there "+
			"is nothing for godwit to copy. Run it natively", s.Text)
	case TiDBOnly:
		return refuse("%s: this is TiDB-only syntax that MySQL and MariaDB do not have. Remove it from --alter", s.Text)
	case Unknown:
		return refuse("%s: godwit does not know what this specification does to the table, so it cannot copy it "+
			"safely. Run it natively, or leave it out of --alter", s.Text)
	}
	if e := otherEngine(s); e != "" {
		return refuse("%s: godwit copies into the new table in transactions and swaps it in under locks that "+
			"need a transactional engine; with %s the copy could not be rolled back or proven equal. "+
			"Change the engine natively, or leave ENGINE= out of --alter", s.Text, e)
	}
	if s.Kind == AddColumn && s.AST != nil && s.AST.IfNotExists {
		return refuse("%s: ADD COLUMN IF NOT EXISTS adds the column only if the table lacks it, but godwit maps "+
			"columns from the ALTER alone and would treat an existing column as new, losing its data. "+
			"Check the table, and write ADD COLUMN without IF NOT EXISTS, or leave the column out", s.Text)
	}
	return nil
}

// refuseIgnore explains why ALTER IGNORE is refused: the server's answer to
// duplicates under IGNORE is to delete rows without an error, which is
// exactly the silent loss godwit exists to prevent.
func refuseIgnore() *RefusedError {
	return refuse("ALTER IGNORE silently deletes every row that duplicates another under a new UNIQUE or PRIMARY " +
		"key, keeping only the first, so rows would vanish without an error. Remove IGNORE: if the new key meets " +
		"duplicates, godwit reports them before copying, so you can clean them up first")
}

func refuseHiddenComment() *RefusedError {
	return refuse("the ALTER contains a MariaDB executable comment /*M! ... */: MariaDB runs its content, but " +
		"godwit's parser sees only a comment, so godwit cannot check what it does. Write its content as plain SQL, " +
		"or run the change natively")
}

func refuseEmpty() *RefusedError {
	return refuse("the ALTER is empty. Give the change after ALTER TABLE, e.g. --alter \"ADD COLUMN c INT\", " +
		"or a whole ALTER TABLE statement")
}

func refuseNoSpecs(table string) *RefusedError {
	return refuse("the ALTER TABLE statement changes nothing. Put the change after the table name, "+
		"e.g. ALTER TABLE %s ADD COLUMN c INT, or give only the change: --alter \"ADD COLUMN c INT\"", quoteName(table))
}

func refuseNotAlter(stmt ast.StmtNode, table string) *RefusedError {
	if _, ok := stmt.(*ast.RenameTableStmt); ok {
		return refuse("this is a RENAME TABLE statement: it needs no copy and is instant and atomic, so run it " +
			"directly, not through godwit")
	}
	return refuse("the input is %s, not ALTER TABLE: godwit only runs ALTER TABLE changes. "+
		"Give the change after ALTER TABLE (e.g. --alter \"ADD COLUMN c INT\") or a whole ALTER TABLE %s ... statement",
		statementName(stmt), quoteName(table))
}

// statementName turns the AST type (*ast.DropTableStmt) into the SQL words
// a DBA knows (DROP TABLE). The parser's own labels call most statements
// "other".
func statementName(stmt ast.StmtNode) string {
	name := fmt.Sprintf("%T", stmt)
	name = name[strings.LastIndex(name, ".")+1:]
	name = strings.TrimSuffix(name, "Stmt")
	var sb strings.Builder
	for i, r := range name {
		if i > 0 && unicode.IsUpper(r) {
			sb.WriteByte(' ')
		}
		sb.WriteRune(unicode.ToUpper(r))
	}
	return sb.String()
}

func refuseMany(n int) *RefusedError {
	return refuse("the input holds %d statements, and godwit runs exactly one ALTER TABLE at a time. "+
		"Combine the changes into one ALTER (ADD COLUMN a INT, ADD COLUMN b INT) or run godwit once per statement", n)
}

func refuseOtherTable(gotDB, gotTable, database, table string) *RefusedError {
	got := quoteName(gotTable)
	if gotDB != "" {
		got = quoteName(gotDB) + "." + got
	}
	return refuse("the statement alters %s, but godwit was asked to migrate %s.%s (--database %s --table %s). "+
		"Fix --database/--table or the statement", got, quoteName(database), quoteName(table), database, table)
}

// otherEngine is the engine a table option spec asks for when it is not
// InnoDB, or "".
func otherEngine(s Spec) string {
	if s.Kind != TableOption || s.AST == nil {
		return ""
	}
	for _, o := range s.AST.Options {
		if o.Tp == ast.TableOptionEngine && !strings.EqualFold(o.StrValue, "InnoDB") {
			return o.StrValue
		}
	}
	return ""
}
