package copier

import (
	"fmt"
	"strings"
	"testing"
)

// sqlBool evaluates, with SQL's precedence (AND binds tighter than OR),
// the conditions godwit renders for integer keys: "`col` op ?",
// "`col` IN (?, ...)", "1=1", AND, OR and parentheses. Placeholders take
// args in order, as the server binds them.
func sqlBool(t *testing.T, cond string, args []any, row map[string]int64) bool {
	t.Helper()
	e := &sqlEval{t: t, toks: tokenize(cond), args: args, row: row, cond: cond}
	v := e.or()
	if e.pos != len(e.toks) {
		t.Fatalf("%s: trailing %v", cond, e.toks[e.pos:])
	}
	if e.next != len(args) {
		t.Fatalf("%s: used %d of %d args", cond, e.next, len(args))
	}
	return v
}

func tokenize(s string) []string {
	var toks []string
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ':
			i++
		case c == '(' || c == ')' || c == ',' || c == '?':
			toks = append(toks, string(c))
			i++
		case c == '`':
			j := strings.IndexByte(s[i+1:], '`') + i + 1
			toks = append(toks, s[i:j+1])
			i = j + 1
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" (),?`", rune(s[j])) {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks
}

type sqlEval struct {
	t         *testing.T
	cond      string
	toks      []string
	pos, next int
	args      []any
	row       map[string]int64
}

func (e *sqlEval) peek() string {
	if e.pos < len(e.toks) {
		return e.toks[e.pos]
	}
	return ""
}

func (e *sqlEval) take(want string) {
	if got := e.peek(); want != "" && got != want {
		e.t.Fatalf("%s: token %d is %q, want %q", e.cond, e.pos, got, want)
	}
	e.pos++
}

func (e *sqlEval) arg() int64 {
	e.take("?")
	if e.next >= len(e.args) {
		e.t.Fatalf("%s: more placeholders than %d args", e.cond, len(e.args))
	}
	v, ok := e.args[e.next].(int64)
	if !ok {
		e.t.Fatalf("%s: arg %d is %T", e.cond, e.next, e.args[e.next])
	}
	e.next++
	return v
}

func (e *sqlEval) or() bool {
	v := e.and()
	for e.peek() == "OR" {
		e.take("OR")
		w := e.and() // evaluate both sides: every placeholder binds
		v = v || w
	}
	return v
}

func (e *sqlEval) and() bool {
	v := e.term()
	for e.peek() == "AND" {
		e.take("AND")
		w := e.term()
		v = v && w
	}
	return v
}

func (e *sqlEval) term() bool {
	tok := e.peek()
	switch {
	case tok == "(":
		e.take("(")
		v := e.or()
		e.take(")")
		return v
	case tok == "1=1":
		e.take("")
		return true
	case strings.HasPrefix(tok, "`"):
		e.take("")
		col, ok := e.row[strings.Trim(tok, "`")]
		if !ok {
			e.t.Fatalf("%s: no column %s", e.cond, tok)
		}
		op := e.peek()
		e.take("")
		if op == "IN" {
			e.take("(")
			in := false
			for {
				in = e.arg() == col || in
				if e.peek() != "," {
					break
				}
				e.take(",")
			}
			e.take(")")
			return in
		}
		r := e.arg()
		switch op {
		case "=":
			return col == r
		case ">":
			return col > r
		case ">=":
			return col >= r
		case "<":
			return col < r
		case "<=":
			return col <= r
		}
		e.t.Fatalf("%s: operator %q", e.cond, op)
	}
	e.t.Fatalf("%s: unexpected token %q at %d", e.cond, tok, e.pos)
	return false
}

// intKeys are all keys of n integer columns with values 0..2.
func intKeys(n int) [][]int64 {
	if n == 0 {
		return [][]int64{{}}
	}
	var out [][]int64
	for _, p := range intKeys(n - 1) {
		for v := int64(0); v < 3; v++ {
			out = append(out, append(append([]int64(nil), p...), v))
		}
	}
	return out
}

func cmpTuple(a, b []int64) int {
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

func anyKey(v []int64) []any {
	out := make([]any, len(v))
	for i, x := range v {
		out[i] = x
	}
	return out
}

func rowOf(v []int64) map[string]int64 {
	m := map[string]int64{}
	for i, x := range v {
		m[string(rune('a'+i))] = x
		m[strings.ToUpper(string(rune('a'+i)))] = x
	}
	return m
}

func TestSQLEvalPrecedence(t *testing.T) {
	row := map[string]int64{"a": 1, "b": 2}
	for cond, want := range map[string]bool{
		"`a` = ? OR `b` = ? AND `a` = ?":   true,  // 1=1 OR (2=2 AND 1=9)
		"(`a` = ? OR `b` = ?) AND `a` = ?": false, // (1=1 OR 2=2) AND 1=9
	} {
		args := []any{int64(1), int64(2), int64(9)}
		if got := sqlBool(t, cond, args, row); got != want {
			t.Errorf("%s = %v, want %v", cond, got, want)
		}
	}
	if got := fmt.Sprint(tokenize("(`a` IN (?, ?)) OR 1=1")); got != "[( `a` IN ( ? , ? ) ) OR 1=1]" {
		t.Errorf("tokenize: %s", got)
	}
}
