// Package tableinfo reads a table's structure from information_schema.
//
// SHOW CREATE TABLE is not used: MariaDB prints types and options (INET6,
// INVISIBLE, system versioning) that the TiDB parser cannot read, while
// information_schema gives the same facts as plain rows on MySQL and MariaDB.
package tableinfo

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// ErrNotFound is returned when the table does not exist.
var ErrNotFound = errors.New("table not found")

// Column is one column, in table order.
type Column struct {
	Name       string
	Position   int    // 0-based, the position of the column in binlog row images
	DataType   string // lower case: int, varchar, decimal, ...
	ColumnType string // full type: "int(10) unsigned", "enum('a','b')"
	Unsigned   bool
	Nullable   bool
	Generated  bool // VIRTUAL or STORED generated: the server computes it
	Charset    string
	Collation  string
	MaxLength  int64 // characters for strings, bytes for binary strings
	Precision  int64
	Scale      int64
}

// Index is one index; Columns are in index order.
type Index struct {
	Name    string
	Unique  bool
	Columns []string
	Prefix  bool // some column is indexed by a prefix only
}

// Table is what godwit needs to know of a table.
type Table struct {
	Schema, Name string
	Engine       string
	Collation    string
	Rows         int64 // the server's estimate
	DataLength   int64
	IndexLength  int64
	Columns      []Column
	Indexes      []Index // PRIMARY first when present
}

// Load reads the table's structure.
func Load(ctx context.Context, db *sql.DB, schema, name string) (*Table, error) {
	t := &Table{Schema: schema, Name: name}
	var engine, coll sql.NullString
	var rows, dlen, ilen sql.NullInt64
	err := db.QueryRowContext(ctx, mysqlx.Tag+`SELECT ENGINE, TABLE_COLLATION, TABLE_ROWS, DATA_LENGTH, INDEX_LENGTH
		FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND TABLE_TYPE = 'BASE TABLE'`,
		schema, name).Scan(&engine, &coll, &rows, &dlen, &ilen)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%s.%s: %w", schema, name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read table %s.%s: %w", schema, name, err)
	}
	t.Engine, t.Collation, t.Rows, t.DataLength, t.IndexLength = engine.String, coll.String, rows.Int64, dlen.Int64, ilen.Int64
	if err := t.loadColumns(ctx, db); err != nil {
		return nil, err
	}
	if err := t.loadIndexes(ctx, db); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Table) loadColumns(ctx context.Context, db *sql.DB) error {
	rs, err := db.QueryContext(ctx, mysqlx.Tag+`SELECT COLUMN_NAME, ORDINAL_POSITION, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, EXTRA,
		CHARACTER_SET_NAME, COLLATION_NAME, CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`, t.Schema, t.Name)
	if err != nil {
		return fmt.Errorf("read columns of %s.%s: %w", t.Schema, t.Name, err)
	}
	defer rs.Close()
	for rs.Next() {
		var c Column
		var pos int
		var nullable, extra string
		var cs, coll sql.NullString
		var maxLen, prec, scale sql.NullInt64
		if err := rs.Scan(&c.Name, &pos, &c.DataType, &c.ColumnType, &nullable, &extra, &cs, &coll, &maxLen, &prec, &scale); err != nil {
			return fmt.Errorf("read columns of %s.%s: %w", t.Schema, t.Name, err)
		}
		c.Position = pos - 1
		c.DataType = strings.ToLower(c.DataType)
		c.Unsigned = strings.Contains(strings.ToLower(c.ColumnType), "unsigned")
		c.Nullable = nullable == "YES"
		c.Generated = isGenerated(extra)
		c.Charset, c.Collation = cs.String, coll.String
		c.MaxLength, c.Precision, c.Scale = maxLen.Int64, prec.Int64, scale.Int64
		t.Columns = append(t.Columns, c)
	}
	return rs.Err()
}

func (t *Table) loadIndexes(ctx context.Context, db *sql.DB) error {
	rs, err := db.QueryContext(ctx, mysqlx.Tag+`SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART
		FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
		ORDER BY INDEX_NAME = 'PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX`, t.Schema, t.Name)
	if err != nil {
		return fmt.Errorf("read indexes of %s.%s: %w", t.Schema, t.Name, err)
	}
	defer rs.Close()
	for rs.Next() {
		var name string
		var nonUnique int
		var col sql.NullString
		var sub sql.NullInt64
		if err := rs.Scan(&name, &nonUnique, &col, &sub); err != nil {
			return fmt.Errorf("read indexes of %s.%s: %w", t.Schema, t.Name, err)
		}
		if n := len(t.Indexes); n == 0 || t.Indexes[n-1].Name != name {
			t.Indexes = append(t.Indexes, Index{Name: name, Unique: nonUnique == 0})
		}
		ix := &t.Indexes[len(t.Indexes)-1]
		ix.Columns = append(ix.Columns, col.String) // an expression part has no column name
		ix.Prefix = ix.Prefix || sub.Valid || !col.Valid
	}
	return rs.Err()
}

// Column finds a column by name; MySQL column names ignore case.
func (t *Table) Column(name string) (*Column, bool) {
	for i := range t.Columns {
		if strings.EqualFold(t.Columns[i].Name, name) {
			return &t.Columns[i], true
		}
	}
	return nil, false
}

// PrimaryKey returns the primary key, or nil.
func (t *Table) PrimaryKey() *Index {
	if len(t.Indexes) > 0 && t.Indexes[0].Name == "PRIMARY" {
		return &t.Indexes[0]
	}
	return nil
}

// Index finds an index by name.
func (t *Table) Index(name string) (*Index, bool) {
	for i := range t.Indexes {
		if strings.EqualFold(t.Indexes[i].Name, name) {
			return &t.Indexes[i], true
		}
	}
	return nil, false
}

// isGenerated reads EXTRA. MySQL also says DEFAULT_GENERATED for a column
// with an expression default (CURRENT_TIMESTAMP, (uuid())): an ordinary
// stored column, which must be copied like any other; taking it for a
// generated one would refill it with the time of the copy.
func isGenerated(extra string) bool {
	e := strings.ToUpper(extra)
	return strings.Contains(e, "VIRTUAL GENERATED") || strings.Contains(e, "STORED GENERATED") ||
		strings.Contains(e, "PERSISTENT GENERATED")
}
