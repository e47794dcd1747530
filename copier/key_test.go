package copier

import (
	"fmt"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/godwit-db/godwit/internal/tableinfo"
)

// knownBug skips a test that shows a reported, not yet fixed bug; set
// GODWIT_KNOWN_BUGS=1 to run it (and see it fail).
func knownBug(t *testing.T, what string) {
	t.Helper()
	if os.Getenv("GODWIT_KNOWN_BUGS") == "" {
		t.Skipf("known bug, reported: %s (GODWIT_KNOWN_BUGS=1 runs this test)", what)
	}
}

// Columns as tableinfo reads them from information_schema.
var (
	colInt      = tableinfo.Column{DataType: "int", ColumnType: "int(11)"}
	colBigU     = tableinfo.Column{DataType: "bigint", ColumnType: "bigint(20) unsigned", Unsigned: true}
	colDecimal  = tableinfo.Column{DataType: "decimal", ColumnType: "decimal(10,2)", Precision: 10, Scale: 2}
	colUTF8     = tableinfo.Column{DataType: "varchar", Charset: "utf8mb4", Collation: "utf8mb4_general_ci", MaxLength: 20}
	colLatin1   = tableinfo.Column{DataType: "varchar", Charset: "latin1", Collation: "latin1_swedish_ci", MaxLength: 20}
	colVarbin   = tableinfo.Column{DataType: "varbinary", MaxLength: 16}
	colBinary4  = tableinfo.Column{DataType: "binary", MaxLength: 4}
	colDatetime = tableinfo.Column{DataType: "datetime"}
)

// keyOf builds a key whose columns are named a, b, c... in the source,
// A, B, C... in the shadow, at row positions 0, 1, 2...
func keyOf(cols ...tableinfo.Column) Key {
	k := Key{Index: "PRIMARY"}
	for i, c := range cols {
		c.Name = string(rune('a' + i))
		c.Position = i
		k.Columns = append(k.Columns, KeyColumn{Column: c, ShadowName: strings.ToUpper(c.Name)})
	}
	return k
}

func TestKeyCompareSQL(t *testing.T) {
	for _, tc := range []struct {
		name   string
		key    Key
		shadow bool
		op     string
		want   string
	}{
		{"1col >", keyOf(colInt), false, ">", "`a` > ?"},
		{"1col >=", keyOf(colInt), false, ">=", "`a` >= ?"},
		{"1col <", keyOf(colInt), false, "<", "`a` < ?"},
		{"1col <=", keyOf(colInt), false, "<=", "`a` <= ?"},
		{"1col shadow", keyOf(colInt), true, "<=", "`A` <= ?"},
		{"1col decimal", keyOf(colDecimal), false, ">", "`a` > CAST(? AS DECIMAL(10,2))"},
		{"2col >", keyOf(colUTF8, colBigU), false, ">",
			"((`a` > ?) OR (`a` = ? AND `b` > ?))"},
		{"2col >=", keyOf(colUTF8, colBigU), false, ">=",
			"((`a` > ?) OR (`a` = ? AND `b` >= ?))"},
		{"2col <", keyOf(colUTF8, colBigU), false, "<",
			"((`a` < ?) OR (`a` = ? AND `b` < ?))"},
		{"2col <=", keyOf(colUTF8, colBigU), false, "<=",
			"((`a` < ?) OR (`a` = ? AND `b` <= ?))"},
		{"2col shadow", keyOf(colUTF8, colBigU), true, ">",
			"((`A` > ?) OR (`A` = ? AND `B` > ?))"},
		{"2col latin1", keyOf(colLatin1, colInt), false, ">",
			"((`a` > CONVERT(? USING latin1) COLLATE latin1_swedish_ci) OR " +
				"(`a` = CONVERT(? USING latin1) COLLATE latin1_swedish_ci AND `b` > ?))"},
		{"3col >", keyOf(colInt, colUTF8, colBigU), false, ">",
			"((`a` > ?) OR (`a` = ? AND `b` > ?) OR (`a` = ? AND `b` = ? AND `c` > ?))"},
		{"3col >=", keyOf(colInt, colUTF8, colBigU), false, ">=",
			"((`a` > ?) OR (`a` = ? AND `b` > ?) OR (`a` = ? AND `b` = ? AND `c` >= ?))"},
		{"3col <", keyOf(colInt, colUTF8, colBigU), false, "<",
			"((`a` < ?) OR (`a` = ? AND `b` < ?) OR (`a` = ? AND `b` = ? AND `c` < ?))"},
		{"3col <=", keyOf(colInt, colUTF8, colBigU), false, "<=",
			"((`a` < ?) OR (`a` = ? AND `b` < ?) OR (`a` = ? AND `b` = ? AND `c` <= ?))"},
		{"3col decimal in the middle", keyOf(colInt, colDecimal, colInt), true, "<=",
			"((`A` < ?) OR (`A` = ? AND `B` < CAST(? AS DECIMAL(10,2))) OR " +
				"(`A` = ? AND `B` = CAST(? AS DECIMAL(10,2)) AND `C` <= ?))"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.key.compare(tc.shadow, tc.op); got != tc.want {
				t.Errorf("compare(%v, %q)\n got %s\nwant %s", tc.shadow, tc.op, got, tc.want)
			}
		})
	}
}

// placeholderColumns lists, for each "?" of a rendered comparison in
// order, the column it is compared with.
func placeholderColumns(t *testing.T, sql string) []string {
	t.Helper()
	var cols []string
	for _, or := range strings.Split(strings.Trim(sql, "()"), ") OR (") {
		for _, term := range strings.Split(or, " AND ") {
			f := strings.Fields(term)
			if len(f) < 3 || !strings.HasPrefix(f[0], "`") {
				t.Fatalf("cannot read term %q of %s", term, sql)
			}
			for range strings.Count(term, "?") {
				cols = append(cols, strings.Trim(f[0], "`"))
			}
		}
	}
	return cols
}

func TestKeyCompareArgsFollowPlaceholders(t *testing.T) {
	for _, tc := range []struct {
		name  string
		key   Key
		value []any
		want  []any
	}{
		{"1col", keyOf(colInt), []any{int64(7)}, []any{int64(7)}},
		{"2col", keyOf(colUTF8, colBigU), []any{"x", uint64(9)}, []any{"x", "x", uint64(9)}},
		{"3col", keyOf(colInt, colUTF8, colBigU), []any{int64(1), "y", uint64(2)},
			[]any{int64(1), int64(1), "y", int64(1), "y", uint64(2)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.key.compareArgs(tc.value)
			if !reflect.DeepEqual(args, tc.want) {
				t.Fatalf("compareArgs(%v) = %v, want %v", tc.value, args, tc.want)
			}
			for _, op := range []string{">", ">=", "<", "<="} {
				sql := tc.key.compare(false, op)
				cols := placeholderColumns(t, sql)
				if len(cols) != len(args) {
					t.Fatalf("%s: %d placeholders, %d args", sql, len(cols), len(args))
				}
				for i, c := range cols {
					want := tc.value[int(c[0]-'a')]
					if args[i] != want {
						t.Errorf("%s: placeholder %d is for column %s = %v, arg is %v", sql, i+1, c, want, args[i])
					}
				}
			}
		})
	}
}

// evalCompare evaluates a rendered integer-key comparison with its
// arguments on a row, the way the server would.
func evalCompare(t *testing.T, sql string, args []any, row map[string]int64) bool {
	t.Helper()
	next := 0
	matched := false
	for _, or := range strings.Split(strings.Trim(sql, "()"), ") OR (") {
		all := true
		for _, term := range strings.Split(or, " AND ") {
			f := strings.Fields(term)
			if len(f) != 3 || f[2] != "?" {
				t.Fatalf("cannot evaluate term %q", term)
			}
			l, r := row[strings.Trim(f[0], "`")], args[next].(int64)
			next++
			var ok bool
			switch f[1] {
			case "=":
				ok = l == r
			case ">":
				ok = l > r
			case ">=":
				ok = l >= r
			case "<":
				ok = l < r
			case "<=":
				ok = l <= r
			default:
				t.Fatalf("operator %q", f[1])
			}
			all = all && ok
		}
		matched = matched || all
	}
	if next != len(args) {
		t.Fatalf("%s consumed %d of %d args", sql, next, len(args))
	}
	return matched
}

// TestKeyCompareIsTupleOrder checks, over every pair of small 1-, 2- and
// 3-column integer keys, that compare with compareArgs selects exactly the
// rows a tuple comparison selects.
func TestKeyCompareIsTupleOrder(t *testing.T) {
	tupleCmp := func(a, b []int64) int {
		for i := range a {
			if a[i] != b[i] {
				if a[i] < b[i] {
					return -1
				}
				return 1
			}
		}
		return 0
	}
	want := map[string]func(int) bool{
		">": func(c int) bool { return c > 0 }, ">=": func(c int) bool { return c >= 0 },
		"<": func(c int) bool { return c < 0 }, "<=": func(c int) bool { return c <= 0 },
	}
	var tuples func(n int) [][]int64
	tuples = func(n int) [][]int64 {
		if n == 0 {
			return [][]int64{{}}
		}
		var out [][]int64
		for _, p := range tuples(n - 1) {
			for v := int64(0); v < 3; v++ {
				out = append(out, append(append([]int64(nil), p...), v))
			}
		}
		return out
	}
	for n := 1; n <= 3; n++ {
		cols := make([]tableinfo.Column, n)
		for i := range cols {
			cols[i] = colInt
		}
		k := keyOf(cols...)
		for op, ok := range want {
			sql := k.compare(false, op)
			for _, bound := range tuples(n) {
				bv := make([]any, n)
				for i, x := range bound {
					bv[i] = x
				}
				args := k.compareArgs(bv)
				for _, row := range tuples(n) {
					m := map[string]int64{}
					for i, x := range row {
						m[string(rune('a'+i))] = x
					}
					if got := evalCompare(t, sql, args, m); got != ok(tupleCmp(row, bound)) {
						t.Errorf("%d cols: row %v %s bound %v: SQL says %v", n, row, op, bound, got)
					}
				}
			}
		}
	}
}

func TestKeyIn(t *testing.T) {
	for _, tc := range []struct {
		name   string
		key    Key
		shadow bool
		n      int
		want   string
	}{
		{"single 1", keyOf(colInt), false, 1, "`a` IN (?)"},
		{"single 3", keyOf(colInt), false, 3, "`a` IN (?, ?, ?)"},
		{"single shadow", keyOf(colBigU), true, 2, "`A` IN (?, ?)"},
		{"single decimal", keyOf(colDecimal), false, 2,
			"`a` IN (CAST(? AS DECIMAL(10,2)), CAST(? AS DECIMAL(10,2)))"},
		{"single latin1", keyOf(colLatin1), false, 1,
			"`a` IN (CONVERT(? USING latin1) COLLATE latin1_swedish_ci)"},
		{"composite 1", keyOf(colUTF8, colBigU), false, 1, "((`a` = ? AND `b` = ?))"},
		{"composite 2", keyOf(colUTF8, colBigU), false, 2,
			"((`a` = ? AND `b` = ?) OR (`a` = ? AND `b` = ?))"},
		{"composite shadow 3", keyOf(colInt, colUTF8, colBigU), true, 2,
			"((`A` = ? AND `B` = ? AND `C` = ?) OR (`A` = ? AND `B` = ? AND `C` = ?))"},
		{"composite latin1", keyOf(colLatin1, colInt), true, 1,
			"((`A` = CONVERT(? USING latin1) COLLATE latin1_swedish_ci AND `B` = ?))"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.key.in(tc.shadow, tc.n)
			if got != tc.want {
				t.Errorf("in(%v, %d)\n got %s\nwant %s", tc.shadow, tc.n, got, tc.want)
			}
			// apply passes the key values one key after the other.
			if c := strings.Count(got, "?"); c != tc.n*len(tc.key.Columns) {
				t.Errorf("%d placeholders for %d keys of %d columns", c, tc.n, len(tc.key.Columns))
			}
		})
	}
}

func TestPlaceholder(t *testing.T) {
	for _, tc := range []struct {
		name string
		col  tableinfo.Column
		want string
	}{
		{"decimal", colDecimal, "CAST(? AS DECIMAL(10,2))"},
		{"numeric", tableinfo.Column{DataType: "numeric", Precision: 65, Scale: 30}, "CAST(? AS DECIMAL(65,30))"},
		{"decimal scale 0", tableinfo.Column{DataType: "decimal", Precision: 20}, "CAST(? AS DECIMAL(20,0))"},
		{"latin1 varchar", colLatin1, "CONVERT(? USING latin1) COLLATE latin1_swedish_ci"},
		{"latin1 char bin", tableinfo.Column{DataType: "char", Charset: "latin1", Collation: "latin1_bin"},
			"CONVERT(? USING latin1) COLLATE latin1_bin"},
		{"utf8mb4 varchar", colUTF8, "?"},
		{"utf8mb3 char", tableinfo.Column{DataType: "char", Charset: "utf8mb3", Collation: "utf8mb3_general_ci"}, "?"},
		{"int", colInt, "?"},
		{"bigint unsigned", colBigU, "?"},
		{"varbinary", colVarbin, "?"},
		{"datetime", colDatetime, "?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := placeholder(tc.col); got != tc.want {
				t.Errorf("placeholder = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestFromSQL(t *testing.T) {
	colSmallU := tableinfo.Column{DataType: "smallint", Unsigned: true}
	colBig := tableinfo.Column{DataType: "bigint"}
	colYear := tableinfo.Column{DataType: "year"}
	for _, tc := range []struct {
		name    string
		col     tableinfo.Column
		in      any
		want    any
		wantErr string
	}{
		{"int from int64", colInt, int64(-42), int64(-42), ""},
		{"int from bytes", colInt, []byte("-42"), int64(-42), ""},
		{"int from string", colInt, "17", int64(17), ""},
		{"int from uint64", colInt, uint64(5), int64(5), ""},
		{"bigint min", colBig, []byte("-9223372036854775808"), int64(math.MinInt64), ""},
		{"bigint max from int64", colBig, int64(math.MaxInt64), int64(math.MaxInt64), ""},
		{"signed overflow", colBig, []byte("9223372036854775808"), nil, "out of range"},
		{"smallint unsigned from int64", colSmallU, int64(65535), uint64(65535), ""},
		{"unsigned bigint from uint64 > 2^63", colBigU, uint64(18446744073709551615), uint64(18446744073709551615), ""},
		{"unsigned bigint from bytes > 2^63", colBigU, []byte("9223372036854775809"), uint64(9223372036854775809), ""},
		{"unsigned bigint from int64", colBigU, int64(3), uint64(3), ""},
		{"unsigned bigint negative", colBigU, int64(-1), nil, "invalid syntax"},
		{"year", colYear, []byte("2024"), int64(2024), ""},
		{"decimal from bytes", colDecimal, []byte("-12.50"), "-12.50", ""},
		{"decimal from int64", colDecimal, int64(12), "12", ""},
		{"varchar utf8mb4", colUTF8, []byte("Straße 😀"), "Straße 😀", ""},
		{"varchar latin1 (the server converts to the connection charset)", colLatin1, []byte("café"), "café", ""},
		{"varchar digits stay text", colUTF8, []byte("0012"), "0012", ""},
		{"varbinary", colVarbin, []byte{0, 'a', 0xff, 0}, []byte{0, 'a', 0xff, 0}, ""},
		{"binary keeps trailing zeros", colBinary4, []byte{'a', 0, 0, 0}, []byte{'a', 0, 0, 0}, ""},
		{"datetime", colDatetime, []byte("2024-02-29 23:59:59.5"), "2024-02-29 23:59:59.5", ""},
		{"int garbage", colInt, []byte("1e3"), nil, "invalid syntax"},
		{"NULL", colInt, nil, nil, "unexpected value <nil>"},
		{"float", colInt, 1.5, nil, "unexpected value float64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := keyOf(tc.col)
			got, err := k.fromSQL([]any{tc.in})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "key column a") {
					t.Fatalf("fromSQL(%#v) error = %v, want one about key column a containing %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("fromSQL(%#v): %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, []any{tc.want}) {
				t.Errorf("fromSQL(%#v) = %#v, want %#v", tc.in, got[0], tc.want)
			}
		})
	}
}

func TestFromSQLComposite(t *testing.T) {
	k := keyOf(colUTF8, colBigU, colVarbin)
	in := []byte{1, 0}
	got, err := k.fromSQL([]any{[]byte("ABC"), uint64(1 << 63), in})
	if err != nil {
		t.Fatal(err)
	}
	want := []any{"ABC", uint64(1 << 63), []byte{1, 0}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v, want %#v", got, want)
	}
	// The driver may reuse its buffer: the key value must not alias it.
	in[0] = 9
	if got[2].([]byte)[0] != 1 {
		t.Error("binary key value aliases the scanned buffer")
	}
}

// decimalValue stands in for shopspring's decimal.Decimal, which go-mysql
// returns for DECIMAL with UseDecimal: a Stringer.
type decimalValue string

func (d decimalValue) String() string { return string(d) }

func TestFromEvent(t *testing.T) {
	unsigned := func(typ string) tableinfo.Column {
		return tableinfo.Column{DataType: typ, ColumnType: typ + " unsigned", Unsigned: true}
	}
	signed := func(typ string) tableinfo.Column { return tableinfo.Column{DataType: typ, ColumnType: typ} }
	for _, tc := range []struct {
		name string
		col  tableinfo.Column
		in   any
		want any
	}{
		// MariaDB logs no signedness: go-mysql decodes every integer as signed.
		{"tinyint unsigned -1", unsigned("tinyint"), int8(-1), uint64(255)},
		{"tinyint unsigned -128", unsigned("tinyint"), int8(-128), uint64(128)},
		{"tinyint unsigned 127", unsigned("tinyint"), int8(127), int64(127)},
		{"smallint unsigned -1", unsigned("smallint"), int16(-1), uint64(65535)},
		{"smallint unsigned min", unsigned("smallint"), int16(math.MinInt16), uint64(32768)},
		{"mediumint unsigned -1", unsigned("mediumint"), int32(-1), uint64(16777215)},
		{"mediumint unsigned min", unsigned("mediumint"), int32(-1 << 23), uint64(1 << 23)},
		{"int unsigned -1", unsigned("int"), int32(-1), uint64(4294967295)},
		{"int unsigned min", unsigned("int"), int32(math.MinInt32), uint64(2147483648)},
		{"integer unsigned -1", unsigned("integer"), int32(-1), uint64(4294967295)},
		{"bigint unsigned -1", unsigned("bigint"), int64(-1), uint64(18446744073709551615)},
		{"bigint unsigned min", unsigned("bigint"), int64(math.MinInt64), uint64(9223372036854775808)},
		{"bigint unsigned 0", unsigned("bigint"), int64(0), int64(0)},
		{"bigint unsigned as uint64", unsigned("bigint"), uint64(math.MaxUint64), uint64(math.MaxUint64)},
		{"int unsigned as uint32", unsigned("int"), uint32(4294967295), uint64(4294967295)},
		{"smallint unsigned as uint16", unsigned("smallint"), uint16(65535), uint64(65535)},
		{"tinyint unsigned as uint8", unsigned("tinyint"), uint8(255), uint64(255)},
		{"tinyint signed -1", signed("tinyint"), int8(-1), int64(-1)},
		{"mediumint signed -1", signed("mediumint"), int32(-1), int64(-1)},
		{"bigint signed min", signed("bigint"), int64(math.MinInt64), int64(math.MinInt64)},
		{"int as Go int", signed("int"), int(5), int64(5)},
		{"year", signed("year"), int(2024), int64(2024)},
		{"binary(4) padded", colBinary4, "ab", []byte{'a', 'b', 0, 0}},
		{"binary(4) inner zero kept", colBinary4, "a\x00b", []byte{'a', 0, 'b', 0}},
		{"binary(4) all zeros", colBinary4, "", []byte{0, 0, 0, 0}},
		{"binary(4) full", colBinary4, "abcd", []byte("abcd")},
		{"varbinary not padded", colVarbin, "a\x00", []byte{'a', 0}},
		{"varchar utf8mb4", colUTF8, "Straße 😀", "Straße 😀"},
		{"varchar latin1 raw bytes", colLatin1, "caf\xe9", []byte("caf\xe9")},
		{"decimal", colDecimal, decimalValue("-12.5"), "-12.5"},
		{"datetime", colDatetime, "2024-02-29 23:59:59", "2024-02-29 23:59:59"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.col
			c.Name, c.Position = "k", 1
			k := Key{Columns: []KeyColumn{{Column: c, ShadowName: "k"}}}
			got, err := k.fromEvent([]any{"other column", tc.in, "another"})
			if err != nil {
				t.Fatalf("fromEvent(%#v): %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, []any{tc.want}) {
				t.Errorf("fromEvent(%T %#v) = %T %#v, want %T %#v", tc.in, tc.in, got[0], got[0], tc.want, tc.want)
			}
		})
	}
}

func TestFromEventComposite(t *testing.T) {
	a := colUTF8
	a.Name, a.Position = "a", 2
	b := colBigU
	b.Name, b.Position = "b", 0
	k := Key{Columns: []KeyColumn{{Column: a, ShadowName: "a"}, {Column: b, ShadowName: "b"}}}
	got, err := k.fromEvent([]any{int64(-2), "value", "ABC"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []any{"ABC", uint64(math.MaxUint64 - 1)}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, want %#v (values in key order, taken by position)", got, want)
	}
}

func TestFromEventErrors(t *testing.T) {
	a := colInt
	a.Name, a.Position = "id", 0
	b := colUTF8
	b.Name, b.Position = "name", 3
	k := Key{Columns: []KeyColumn{{Column: a, ShadowName: "id"}, {Column: b, ShadowName: "name"}}}
	for _, tc := range []struct {
		name string
		row  []any
		want string
	}{
		{"NULL key", []any{nil, "x", "y", "z"}, "key column id is NULL"},
		{"NULL second key column", []any{int32(1), "x", "y", nil}, "key column name is NULL"},
		{"row too short", []any{int32(1), "x"}, "row image has 2 columns, key column name is number 4"},
		{"empty row", []any{}, "row image has 0 columns, key column id is number 1"},
		{"unexpected integer type", []any{float64(1), "x", "y", "z"}, "key column id: unexpected binlog value float64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := k.fromEvent(tc.row)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("fromEvent(%v) error = %v, want %q", tc.row, err, tc.want)
			}
		})
	}
}

func TestMapKey(t *testing.T) {
	distinct := [][]any{
		{int64(1)},
		{"1"},
		{uint64(1)},
		{[]byte("1")},
		{int64(1), int64(2)},
		{int64(12)},
		{"1", "2"},
		{"12"},
		{"abc"},
		{"ABC"}, // equal in a _ci collation, but different rows to re-read: both are kept
		{"a", "bc"},
		{"ab", "c"},
	}
	seen := map[string]int{}
	for i, v := range distinct {
		mk := mapKey(v)
		if j, dup := seen[mk]; dup {
			t.Errorf("mapKey(%#v) == mapKey(%#v) = %q", v, distinct[j], mk)
		}
		seen[mk] = i
	}
	// Equal values map to the same key, whatever slice holds them.
	if mapKey([]any{"x", uint64(1 << 63), []byte{0, 1}}) != mapKey([]any{"x", uint64(1 << 63), []byte{0, 1}}) {
		t.Error("equal values give different map keys")
	}
}

// TestMapKeyNulInText: two different composite keys whose text contains
// NUL bytes must not share a map key, or one row's change is lost.
func TestMapKeyNulInText(t *testing.T) {
	a := []any{"a\x00string:b", "c"}
	b := []any{"a", "b\x00string:c"}
	if mapKey(a) == mapKey(b) {
		t.Errorf("mapKey(%q) == mapKey(%q) = %q: one of the two changes would be dropped", a, b, mapKey(a))
	}
	c := NewChanges()
	c.Add(a)
	c.Add(b)
	if n := c.Len(); n != 2 {
		t.Errorf("two different keys added, %d pending", n)
	}
}

func TestSupportedKeyType(t *testing.T) {
	for typ, want := range map[string]bool{
		"int": true, "bigint": true, "decimal": true, "varchar": true, "binary": true, "varbinary": true,
		"datetime": true, "enum": true, "float": false, "double": false, "text": false, "blob": false,
		"json": false, "bit": false, "set": false,
	} {
		if got := SupportedKeyType(tableinfo.Column{DataType: typ}); got != want {
			t.Errorf("SupportedKeyType(%s) = %v, want %v", typ, got, want)
		}
	}
}

func ExampleKey_compare() {
	k := keyOf(colUTF8, colBigU)
	fmt.Println(k.compare(false, ">"))
	fmt.Println(k.compareArgs([]any{"abc", uint64(7)}))
	// Output:
	// ((`a` > ?) OR (`a` = ? AND `b` > ?))
	// [abc abc 7]
}

func TestSortKeys(t *testing.T) {
	tests := []struct {
		name string
		in   [][]any
		want [][]any
	}{
		{"signed", [][]any{{int64(10)}, {int64(-3)}, {int64(9)}, {int64(math.MinInt64)}},
			[][]any{{int64(math.MinInt64)}, {int64(-3)}, {int64(9)}, {int64(10)}}},
		{"unsigned from binlog and server", [][]any{{uint64(math.MaxUint64)}, {int64(7)}, {uint64(3)}, {int64(-1)}},
			[][]any{{int64(-1)}, {uint64(3)}, {int64(7)}, {uint64(math.MaxUint64)}}},
		{"composite", [][]any{{int64(2), "a"}, {int64(1), "b"}, {int64(1), "a"}},
			[][]any{{int64(1), "a"}, {int64(1), "b"}, {int64(2), "a"}}},
		{"binary", [][]any{{[]byte{2}}, {[]byte{1, 9}}, {[]byte{1}}},
			[][]any{{[]byte{1}}, {[]byte{1, 9}}, {[]byte{2}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sortKeys(tt.in)
			if fmt.Sprint(tt.in) != fmt.Sprint(tt.want) {
				t.Errorf("sortKeys = %v, want %v", tt.in, tt.want)
			}
		})
	}
}
