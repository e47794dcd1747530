// Package workload is the application that keeps writing while godwit
// migrates a table: a fixed table with every column type godwit must carry,
// concurrent writers, and a model of every row they committed, so a test can
// prove row for row that the migration lost nothing.
package workload

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// tag names the workload in the processlist. It must not read "/* godwit */":
// these sessions stand for the application, not for godwit.
const tag = "/* godwit-workload */ "

// column is one column of the table besides id. gen returns a non-NULL value
// as the argument to send and as the text MariaDB's text protocol returns for it.
type column struct {
	name string
	typ  string
	gen  func(r *rand.Rand) (arg any, text string)
}

// onUpdateColumn changes to the time of the update unless the update sets
// it: every update sets it.
const onUpdateColumn = "modified"

// keyColumn is the one NOT NULL column: an ALTER may index it or put it in
// the primary key, so it never holds NULL and is never frozen.
const keyColumn = "k"

var columns = []column{
	{"i32", "INT", genInt32},
	{"u32", "INT UNSIGNED", genUint32},
	{"u64", "BIGINT UNSIGNED", genUint64},
	{"i8", "TINYINT", genInt8},
	{"dec", "DECIMAL(14,4)", genDecimal}, // DEC is a reserved word: every statement must quote it
	{"f", "FLOAT", genFloat},
	{"d", "DOUBLE", genDouble},
	{"dt", "DATE", genDate},
	{"dtm", "DATETIME(6)", genDatetime},
	{"ts", "TIMESTAMP(3) NULL", genTimestamp}, // NULL, or MariaDB may give it ON UPDATE CURRENT_TIMESTAMP
	{"ch", "CHAR(10)", genChar},
	{"vc", "VARCHAR(100)", genVarchar},
	{"tx", "TEXT", genText},
	{"bl", "BLOB", genBlob},
	{"vb", "VARBINARY(32)", genVarbinary},
	{"en", "ENUM('red','green','blue')", genEnum},
	{"st", "SET('a','b','c','d')", genSet},
	{"bt", "BIT(8)", genBit},
	{"js", "JSON", genJSON},
	// Expression defaults: MySQL marks these DEFAULT_GENERATED, yet they
	// are stored like any column and must be copied, not refilled with the
	// time of the copy. Writers always set them, as an application that
	// keeps its own timestamps does, so that the model knows their value.
	{"created", "DATETIME(6) NULL DEFAULT CURRENT_TIMESTAMP(6)", genDatetime},
	{"modified", "TIMESTAMP(3) NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)", genTimestamp},
	{keyColumn, "INT NOT NULL", genKey},
}

// Columns lists the table's columns after id, in table order.
func Columns() []string {
	names := make([]string, len(columns))
	for i, c := range columns {
		names[i] = c.name
	}
	return names
}

func columnIndex(name string) int {
	for i, c := range columns {
		if strings.EqualFold(c.name, name) {
			return i
		}
	}
	return -1
}

// value draws a value for column i; nullable columns get NULL one time in ten.
func value(r *rand.Rand, i int) (any, sql.NullString) {
	c := columns[i]
	if c.name != keyColumn && r.IntN(10) == 0 {
		return nil, sql.NullString{}
	}
	arg, text := c.gen(r)
	return arg, sql.NullString{String: text, Valid: true}
}

// CreateTableSQL is the CREATE TABLE statement for a workload table.
func CreateTableSQL(name string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE %s (\n  `id` BIGINT NOT NULL,\n", mysqlx.Q(name))
	for _, c := range columns {
		fmt.Fprintf(&b, "  %s %s,\n", mysqlx.Q(c.name), c.typ)
	}
	b.WriteString("  PRIMARY KEY (`id`),\n  KEY `k_idx` (`k`)\n")
	b.WriteString(") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci")
	return b.String()
}

// Create creates the table name in db's current database.
func Create(ctx context.Context, db *sql.DB, name string) error {
	if _, err := db.ExecContext(ctx, tag+CreateTableSQL(name)); err != nil {
		return fmt.Errorf("workload: create table %s: %w", name, err)
	}
	return nil
}
