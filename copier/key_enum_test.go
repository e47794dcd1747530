package copier

import (
	"fmt"
	"testing"

	"github.com/godwit-db/godwit/internal/tableinfo"
)

func enumKey(shadowMembers []string) Key {
	return Key{Index: "PRIMARY", Columns: []KeyColumn{
		{Column: tableinfo.Column{Name: "e", DataType: "enum", ColumnType: "enum('zz','b','a')"}, ShadowName: "E", ShadowMembers: shadowMembers},
		{Column: tableinfo.Column{Name: "id", DataType: "int", Position: 1}, ShadowName: "ID"},
	}}
}

// TestEnumCond: ENUM inequalities become IN lists of member numbers, 0 (the
// server's error value) included, and on a shadow whose members moved,
// each member's number there.
func TestEnumCond(t *testing.T) {
	reordered := []string{"a", "new", "zz", "b"}
	for _, tc := range []struct {
		name    string
		key     Key
		shadow  bool
		op      string
		v       []any
		want    string
		wantArg string
	}{
		{"above", enumKey(nil), false, ">", []any{int64(2), int64(9)}, "((`e` IN (3)) OR (`e` = ? AND `id` > ?))", "[2 9]"},
		{"below", enumKey(nil), false, "<=", []any{int64(2), int64(9)}, "((`e` IN (0, 1)) OR (`e` = ? AND `id` <= ?))", "[2 9]"},
		{"above the last member", enumKey(nil), false, ">", []any{int64(3), int64(9)}, "((FALSE) OR (`e` = ? AND `id` > ?))", "[3 9]"},
		{"shadow reordered", enumKey(reordered), true, ">", []any{int64(1), int64(9)}, "((`E` IN (4, 1)) OR (`E` = ? AND `ID` > ?))", "[3 9]"},
		{"source unaffected", enumKey(reordered), false, ">", []any{int64(1), int64(9)}, "((`e` IN (2, 3)) OR (`e` = ? AND `id` > ?))", "[1 9]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, args := tc.key.cond(tc.shadow, tc.op, tc.v)
			if got != tc.want || fmt.Sprint(args) != tc.wantArg {
				t.Errorf("cond = %s %v, want %s %s", got, args, tc.want, tc.wantArg)
			}
		})
	}
}

func TestEnumKeyValues(t *testing.T) {
	k := enumKey([]string{"b", "zz"})
	v, err := k.fromSQL([]any{[]byte("a"), int64(5)})
	if err != nil || fmt.Sprint(v) != "[3 5]" {
		t.Fatalf("fromSQL(a, 5) = %v, %v; want [3 5]", v, err)
	}
	if _, err := k.fromSQL([]any{[]byte("nope"), int64(5)}); err == nil {
		t.Fatal("fromSQL accepted a label that is no member")
	}
	if v, _ := k.fromSQL([]any{[]byte(""), int64(5)}); fmt.Sprint(v) != "[0 5]" {
		t.Fatalf("the error value reads %v, want member number 0", v)
	}
	ev, err := k.fromEvent([]any{int64(2), int32(5)})
	if err != nil || mapKey(ev) != mapKey([]any{int64(2), int64(5)}) {
		t.Fatalf("fromEvent = %v, %v: must equal the key read from SQL", ev, err)
	}
	in, args := k.inKeys(true, [][]any{{int64(1), int64(5)}, {int64(3), int64(6)}})
	if fmt.Sprint(args) != "[2 5 -1 6]" {
		t.Fatalf("inKeys on the shadow: %s %v, want members zz->2, a (gone)->-1", in, args)
	}
	if !k.integers() {
		t.Fatal("an ENUM key orders as its member numbers: integers() must hold")
	}
}
