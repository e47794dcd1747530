package copier

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/tableinfo"
)

// An ENUM key column holds member numbers: the index orders rows by them,
// and the binlog logs them. Compared with a string the server compares
// labels, which is not the index's order; compared with a number it
// compares member numbers, but neither MariaDB nor MySQL makes a range
// scan of an inequality on an ENUM (EXPLAIN: a full index scan), only of
// equalities. So "e > 2" is written "e IN (3, 4, ...)": an ENUM has few
// members, each an equality the index finds. This also holds on a
// shadow whose members the ALTER reordered, where each source member is
// matched by its label's number there.

// enumNumber is the member number of label, as the server returns an ENUM
// value. An empty string that is no member is the server's error value 0
// (stored by a non-strict session).
func enumNumber(c KeyColumn, label string) (int64, error) {
	for i, m := range tableinfo.Members(c.ColumnType) {
		if m == label {
			return int64(i + 1), nil
		}
	}
	if label == "" {
		return 0, nil
	}
	return 0, fmt.Errorf("key column %s: %q is no member of %s", c.Name, label, c.ColumnType)
}

// enumOn is source member number n as the shadow numbers it: -1 (which no
// row holds) when the shadow lacks the member.
func (c KeyColumn) enumOn(shadow bool, n int64) int64 {
	if !shadow || c.ShadowMembers == nil || n <= 0 {
		return n
	}
	src := tableinfo.Members(c.ColumnType)
	if n > int64(len(src)) {
		return -1
	}
	for i, m := range c.ShadowMembers {
		if m == src[n-1] {
			return int64(i + 1)
		}
	}
	return -1
}

// onSide is key value v as the side's columns hold it.
func (k Key) onSide(shadow bool, v []any) []any {
	if !shadow || !k.hasEnum() {
		return v
	}
	out := append([]any(nil), v...)
	for i, c := range k.Columns {
		if n, ok := v[i].(int64); ok && c.DataType == "enum" {
			out[i] = c.enumOn(shadow, n)
		}
	}
	return out
}

func (k Key) hasEnum() bool {
	for _, c := range k.Columns {
		if c.DataType == "enum" {
			return true
		}
	}
	return false
}

// cond renders "key op v" on a side with its arguments (see compare).
func (k Key) cond(shadow bool, op string, v []any) (string, []any) {
	if !k.hasEnum() {
		return k.compare(shadow, op), k.compareArgs(v)
	}
	names := k.names(shadow)
	sv := k.onSide(shadow, v)
	strict := strings.TrimSuffix(op, "=")
	var ors []string
	var args []any
	for i := range names {
		var ands []string
		for j := 0; j < i; j++ {
			ands = append(ands, fmt.Sprintf("%s = %s", mysqlx.Q(names[j]), placeholder(k.Columns[j].Column)))
			args = append(args, sv[j])
		}
		o := strict
		if i == len(names)-1 {
			o = op
		}
		c := k.Columns[i]
		if c.DataType == "enum" {
			ands = append(ands, enumCond(c, shadow, names[i], o, v[i]))
		} else {
			ands = append(ands, fmt.Sprintf("%s %s %s", mysqlx.Q(names[i]), o, placeholder(c.Column)))
			args = append(args, sv[i])
		}
		ors = append(ors, strings.Join(ands, " AND "))
	}
	if len(ors) == 1 {
		return ors[0], args
	}
	return "((" + strings.Join(ors, ") OR (") + "))", args
}

// enumCond renders "name op v" for an ENUM column as the list of the
// side's member numbers whose source numbers satisfy it; v is a source
// member number.
func enumCond(c KeyColumn, shadow bool, name, op string, v any) string {
	n, _ := v.(int64)
	var in []string
	for m := int64(0); m <= int64(len(tableinfo.Members(c.ColumnType))); m++ {
		if !holds(m, op, n) {
			continue
		}
		if s := c.enumOn(shadow, m); s >= 0 {
			in = append(in, strconv.FormatInt(s, 10))
		}
	}
	if len(in) == 0 {
		return "FALSE"
	}
	return mysqlx.Q(name) + " IN (" + strings.Join(in, ", ") + ")"
}

func holds(m int64, op string, n int64) bool {
	switch op {
	case ">":
		return m > n
	case ">=":
		return m >= n
	case "<":
		return m < n
	case "<=":
		return m <= n
	}
	return m == n
}

// inKeys renders "key IN (keys)" on a side with its arguments.
func (k Key) inKeys(shadow bool, keys [][]any) (string, []any) {
	var args []any
	for _, v := range keys {
		args = append(args, k.onSide(shadow, v)...)
	}
	return k.in(shadow, len(keys)), args
}
