package copier

import (
	"bytes"
	"cmp"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/tableinfo"
)

// KeyColumn is one column of the key rows are chunked and applied by, with
// its name in the source and in the shadow table.
type KeyColumn struct {
	tableinfo.Column
	ShadowName string
	// ShadowMembers are the shadow's ENUM members when the ALTER changes
	// them (nil: the source's). Key values hold source member numbers;
	// on the shadow each is matched by its label's number there.
	ShadowMembers []string
}

// Key is a unique, NOT NULL key of the source that the shadow keeps.
// Values of a key travel as query arguments whose Go type makes the server
// compare them the way the index orders them: integers as integers (a
// string would be compared as a double and lose precision past 2^53),
// text as text in the column's collation, binary strings as bytes.
type Key struct {
	Index   string
	Columns []KeyColumn
}

// SupportedKeyType says whether a column can be part of a chunking key.
// Floating-point values do not compare exactly; BLOB/TEXT/JSON/BIT keys
// are prefix keys or have no order the client can reproduce. An ENUM
// sorts by member number and is walked by it (see enumCond). A SET sorts
// by its bitmask too, but the server uses no index for a range over it,
// and the IN list that stands for a range would grow as 2^members.
func SupportedKeyType(c tableinfo.Column) bool {
	switch c.DataType {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint",
		"decimal", "numeric", "char", "varchar", "binary", "varbinary",
		"date", "datetime", "timestamp", "time", "year", "enum":
		return true
	}
	return false
}

func (k Key) names(shadow bool) []string {
	n := make([]string, len(k.Columns))
	for i, c := range k.Columns {
		n[i] = c.Name
		if shadow {
			n[i] = c.ShadowName
		}
	}
	return n
}

// placeholder is the SQL for one argument of column c: decimals are cast so
// the comparison stays exact, text in another charset than the connection's
// is converted from its raw bytes and compared in the column's collation.
func placeholder(c tableinfo.Column) string {
	switch c.DataType {
	case "decimal", "numeric":
		return fmt.Sprintf("CAST(? AS DECIMAL(%d,%d))", c.Precision, c.Scale)
	case "char", "varchar":
		if !isUTF8(c.Charset) {
			return fmt.Sprintf("CONVERT(? USING %s) COLLATE %s", c.Charset, c.Collation)
		}
	}
	return "?"
}

func isUTF8(cs string) bool { return cs == "utf8mb4" || cs == "utf8mb3" || cs == "utf8" }

// compare renders "(cols) op (values)" for a composite key, expanded into
// ORs of equalities so that every server version uses a range scan on it.
// op is one of ">", ">=", "<", "<=".
func (k Key) compare(shadow bool, op string) string {
	names := k.names(shadow)
	strict := strings.TrimSuffix(op, "=")
	var ors []string
	for i := range names {
		var ands []string
		for j := 0; j < i; j++ {
			ands = append(ands, fmt.Sprintf("%s = %s", mysqlx.Q(names[j]), placeholder(k.Columns[j].Column)))
		}
		o := strict
		if i == len(names)-1 {
			o = op
		}
		ands = append(ands, fmt.Sprintf("%s %s %s", mysqlx.Q(names[i]), o, placeholder(k.Columns[i].Column)))
		ors = append(ors, strings.Join(ands, " AND "))
	}
	if len(ors) == 1 {
		return ors[0]
	}
	// Parenthesised whole: callers AND it with other conditions.
	return "((" + strings.Join(ors, ") OR (") + "))"
}

// compareArgs repeats a key value the way compare consumes it.
func (k Key) compareArgs(v []any) []any {
	var args []any
	for i := range v {
		args = append(args, v[:i+1]...)
	}
	return args
}

// in renders "key IN (n values)".
func (k Key) in(shadow bool, n int) string {
	names := k.names(shadow)
	if len(names) == 1 {
		ph := placeholder(k.Columns[0].Column)
		return mysqlx.Q(names[0]) + " IN (" + strings.TrimSuffix(strings.Repeat(ph+", ", n), ", ") + ")"
	}
	var one []string
	for i, name := range names {
		one = append(one, mysqlx.Q(name)+" = "+placeholder(k.Columns[i].Column))
	}
	tuple := "(" + strings.Join(one, " AND ") + ")"
	return "(" + strings.TrimSuffix(strings.Repeat(tuple+" OR ", n), " OR ") + ")"
}

// fromSQL converts a key value read back from the server (text protocol
// bytes) into query arguments.
func (k Key) fromSQL(raw []any) ([]any, error) {
	out := make([]any, len(raw))
	for i, c := range k.Columns {
		// The driver hands integers over already parsed, the rest as text.
		var b []byte
		switch v := raw[i].(type) {
		case []byte:
			b = v
		case string:
			b = []byte(v)
		case int64:
			b = strconv.AppendInt(nil, v, 10)
		case uint64:
			b = strconv.AppendUint(nil, v, 10)
		default:
			return nil, fmt.Errorf("key column %s: unexpected value %T", c.Name, raw[i])
		}
		switch {
		case isInteger(c.DataType) && c.Unsigned:
			u, err := strconv.ParseUint(string(b), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("key column %s: %w", c.Name, err)
			}
			out[i] = u
		case isInteger(c.DataType):
			n, err := strconv.ParseInt(string(b), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("key column %s: %w", c.Name, err)
			}
			out[i] = n
		case c.DataType == "binary" || c.DataType == "varbinary":
			out[i] = append([]byte(nil), b...)
		case c.DataType == "enum":
			n, err := enumNumber(c, string(b))
			if err != nil {
				return nil, err
			}
			out[i] = n
		default:
			out[i] = string(b)
		}
	}
	return out, nil
}

// fromEvent converts a key value decoded from a binlog row image. MariaDB
// logs no signedness, so unsigned integers arrive as negative signed ones;
// fixed-width binary values lose their trailing zero bytes; text in a
// non-UTF-8 charset arrives as the column's raw bytes.
func (k Key) fromEvent(row []any) ([]any, error) {
	out := make([]any, len(k.Columns))
	for i, c := range k.Columns {
		if c.Position >= len(row) {
			return nil, fmt.Errorf("row image has %d columns, key column %s is number %d: the table changed", len(row), c.Name, c.Position+1)
		}
		v := row[c.Position]
		if v == nil {
			return nil, fmt.Errorf("key column %s is NULL in a binlog row", c.Name)
		}
		switch {
		case isInteger(c.DataType) || c.DataType == "enum":
			// The binlog carries an ENUM's member number, as the key holds it.
			n, err := eventInteger(v, c)
			if err != nil {
				return nil, err
			}
			out[i] = n
		case c.DataType == "binary":
			b := []byte(fmt.Sprint(v))
			if s, ok := v.(string); ok {
				b = []byte(s)
			}
			for int64(len(b)) < c.MaxLength {
				b = append(b, 0)
			}
			out[i] = b
		case c.DataType == "varbinary":
			s, _ := v.(string)
			out[i] = []byte(s)
		case c.DataType == "char" || c.DataType == "varchar":
			s, _ := v.(string)
			if isUTF8(c.Charset) {
				out[i] = s
			} else {
				out[i] = []byte(s)
			}
		default:
			out[i] = fmt.Sprint(v)
		}
	}
	return out, nil
}

func isInteger(t string) bool {
	switch t {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint", "year":
		return true
	}
	return false
}

func eventInteger(v any, c KeyColumn) (any, error) {
	var n int64
	switch x := v.(type) {
	case int8:
		n = int64(x)
	case int16:
		n = int64(x)
	case int32:
		n = int64(x)
	case int64:
		n = x
	case int:
		n = int64(x)
	case uint64:
		return x, nil
	case uint32:
		return uint64(x), nil
	case uint16:
		return uint64(x), nil
	case uint8:
		return uint64(x), nil
	default:
		return nil, fmt.Errorf("key column %s: unexpected binlog value %T", c.Name, v)
	}
	if !c.Unsigned || n >= 0 {
		return n, nil
	}
	bits := map[string]uint{"tinyint": 8, "smallint": 16, "mediumint": 24, "int": 32, "integer": 32, "bigint": 64}[c.DataType]
	u := new(big.Int).Add(big.NewInt(n), new(big.Int).Lsh(big.NewInt(1), bits))
	return u.Uint64(), nil
}

// mapKey is a map key for a key value, so the last change per row wins.
// Text is quoted so that no value can imitate a separator.
func mapKey(v []any) string {
	var sb strings.Builder
	for _, x := range v {
		switch t := x.(type) {
		case string:
			fmt.Fprintf(&sb, "s%q,", t)
		case []byte:
			fmt.Fprintf(&sb, "b%q,", t)
		default:
			fmt.Fprintf(&sb, "%T:%v,", x, x)
		}
	}
	return sb.String()
}

// sortKeys orders key values the way an index on integer or binary key
// columns does, so that a batch of keys reads neighbouring pages. It is a
// hint only: for text under a collation, or mixed types, the order may
// differ from the server's, which costs reads but nothing else.
func sortKeys(keys [][]any) {
	slices.SortFunc(keys, compareKeys)
}

// compareKeys orders two key values column by column (see sortKeys for
// when that is the server's order).
func compareKeys(a, b []any) int {
	for i := range min(len(a), len(b)) {
		if c := compareValue(a[i], b[i]); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a), len(b))
}

// integers reports whether every key column is an integer: then Go orders
// key values exactly as the index does, and a key can be placed against
// the watermark without asking the server.
func (k Key) integers() bool {
	for _, c := range k.Columns {
		if !isInteger(c.DataType) && c.DataType != "enum" {
			return false
		}
	}
	return len(k.Columns) > 0
}

func compareValue(a, b any) int {
	// Unsigned columns arrive as int64 from the binlog and as uint64 from
	// the server: integers compare by value whatever their Go type.
	if xn, x, ok := integer(a); ok {
		if yn, y, ok := integer(b); ok {
			switch {
			case xn != yn && xn:
				return -1
			case xn != yn:
				return 1
			case xn:
				return cmp.Compare(y, x)
			}
			return cmp.Compare(x, y)
		}
	}
	switch x := a.(type) {
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y)
		}
	case []byte:
		if y, ok := b.([]byte); ok {
			return bytes.Compare(x, y)
		}
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

// integer splits an integer into its sign and magnitude.
func integer(v any) (negative bool, magnitude uint64, ok bool) {
	switch x := v.(type) {
	case int64:
		if x < 0 {
			return true, uint64(-(x + 1)) + 1, true
		}
		return false, uint64(x), true
	case uint64:
		return false, x, true
	}
	return false, 0, false
}
