package migrate

import (
	"testing"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// TestCheckOverSource: a CHECK over the new table's columns is counted
// over the source's, under their old names; a column the ALTER adds has
// no value in the current rows.
func TestCheckOverSource(t *testing.T) {
	old := map[string]string{"v2": "v", "s": "s", "w": "W"}
	five, err := parseExpr("5")
	if err != nil {
		t.Fatal(err)
	}
	added := map[string]ast.ExprNode{"c2": five}
	for _, tc := range []struct{ expr, want, missing string }{
		{"c2 > 3 AND v2 < c2", "5>3 AND `v`<5", ""},
		{"`v2` > 0", "`v`>0", ""},
		{"v2 + s > 3 AND `W` IS NOT NULL", "`v`+`s`>3 AND `W` IS NOT NULL", ""},
		{"CHAR_LENGTH(t.s) < 10", "CHAR_LENGTH(`s`)<10", ""},
		{"c1 > 3 OR v2 > 0", "", "c1"},
	} {
		e, err := parseExpr(tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		r := &renamer{old: old, added: added}
		out, _ := e.Accept(r)
		if r.missing != tc.missing {
			t.Errorf("%s: missing %q, want %q", tc.expr, r.missing, tc.missing)
			continue
		}
		if tc.missing != "" {
			continue
		}
		got, err := restoreExpr(out)
		if err != nil || got != tc.want {
			t.Errorf("%s over the source = %q, %v; want %q", tc.expr, got, err, tc.want)
		}
	}
	if _, err := parseExpr("1) FROM x WHERE (1"); err == nil {
		t.Error("an expression that smuggles a FROM parsed as one expression")
	}
}

// TestUnescapeMySQLClause: MySQL's information_schema escapes a CHECK
// clause as a string literal; the unescaped clause is SHOW CREATE TABLE's,
// and the parser reads it.
func TestUnescapeMySQLClause(t *testing.T) {
	for in, want := range map[string]string{
		"(`e` <> _utf8mb4\\'c\\')":                     "(`e` <> _utf8mb4'c')",
		"(`s` <> _utf8mb3\\'a\\\\\\\\b\\\\\\'c\"d\\')": "(`s` <> _utf8mb3'a\\\\b\\'c\"d')",
		"(`v` > 0)": "(`v` > 0)",
	} {
		got := unescapeMySQLClause(in)
		if got != want {
			t.Errorf("unescape(%s) = %s, want %s", in, got, want)
		}
		if _, err := parseExpr(got); err != nil {
			t.Errorf("%s does not parse: %v", got, err)
		}
	}
}
