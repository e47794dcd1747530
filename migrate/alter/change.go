package alter

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// Change is what godwit learned from the user's ALTER: the text to run on
// the shadow table, and how the columns of the new table relate to the old.
type Change struct {
	// Clause is the user's own text of the alter specifications, verbatim,
	// without surrounding whitespace, trailing comments or a trailing ';'.
	// It is never restored from the AST: restoring changes meaning on
	// MariaDB (CHECK gains ENFORCED, DROP CONSTRAINT becomes DROP CHECK,
	// string escapes change). The caller runs
	// "ALTER TABLE `db`.`_t_new` " + Clause on the shadow table.
	Clause string

	// Specs has one entry per specification, in the user's order.
	Specs []Spec

	// Renamed maps an old column name to its new name, as the user spelled
	// both (CHANGE a b ..., RENAME COLUMN a TO b). Names compare
	// case-insensitively: look up with NewName and OldName, not by key.
	// A case-only rename (CHANGE a A ...) is recorded; CHANGE a a ... is not.
	Renamed map[string]string
	// Dropped lists the old columns that do not reach the new table.
	// CHANGE is a rename, not a drop.
	Dropped []string
	// Added lists the new table's columns that have no source column.
	Added []string
	// Modified lists, by their new name, the columns whose definition
	// MODIFY or CHANGE rewrites (so their values may be converted).
	Modified []string

	// RebuildsPrimaryKey is set by DROP PRIMARY KEY, ADD PRIMARY KEY, an
	// inline PRIMARY KEY on a column, or DROP INDEX `PRIMARY`: the copy
	// cannot assume the old key identifies rows in the new table.
	RebuildsPrimaryKey bool
	// ConvertsCharset is set by CONVERT TO CHARACTER SET and by a new table
	// default charset or collation.
	ConvertsCharset bool
}

// Spec is one specification of the ALTER, classified.
type Spec struct {
	Kind Kind
	// Columns are the columns the spec involves, by their new names; for
	// index specs, the indexed columns (expression parts are left out).
	Columns []string
	// Index is the name of the index or constraint the spec adds, drops or
	// renames (the new name for RENAME INDEX); empty when unnamed.
	Index string
	// Unique is set when the spec creates a UNIQUE or PRIMARY key over
	// Columns, inline or not: duplicates in the data would make the copy
	// lose rows or fail, so the planner must check them first.
	Unique bool
	// Text is a short description for plans and messages, built from the
	// AST, e.g. "add column email VARCHAR(255)". It is never executed.
	Text string
	// AST is the parsed specification, for the planner's deeper checks
	// (types, nullability, defaults). Never restore it to run it: use
	// Change.Clause.
	AST *ast.AlterTableSpec
}

// NewName returns the column's name in the new table, and false if the
// ALTER drops it. Columns the ALTER does not mention keep their name.
func (c *Change) NewName(old string) (string, bool) {
	if containsFold(c.Dropped, old) {
		return "", false
	}
	for from, to := range c.Renamed {
		if strings.EqualFold(from, old) {
			return to, true
		}
	}
	return old, true
}

// OldName returns the source column of a column of the new table, and false
// if it has none: it is added by the ALTER, or no such column will exist.
func (c *Change) OldName(newName string) (string, bool) {
	// Added first: in "DROP COLUMN c, ADD COLUMN c ..." the new c must not be
	// filled from the old one.
	if containsFold(c.Added, newName) {
		return "", false
	}
	for from, to := range c.Renamed {
		if strings.EqualFold(to, newName) {
			return from, true
		}
	}
	// The name is gone from the new table if it was dropped or renamed away.
	if containsFold(c.Dropped, newName) {
		return "", false
	}
	for from := range c.Renamed {
		if strings.EqualFold(from, newName) {
			return "", false
		}
	}
	return newName, true
}

func containsFold(names []string, name string) bool {
	for _, n := range names {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}
