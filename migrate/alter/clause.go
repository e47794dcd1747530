package alter

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"
)

// The parser keeps no text positions for specs, and restoring SQL from the
// AST changes its meaning on MariaDB, so the verbatim clause is cut out of
// the user's text by trying cut points and letting the parser judge each.
// Restoring is used only to compare two parses, never to produce SQL.

// restoreFlags make restored text faithful enough to compare two parses of
// the same specs; without the string flags, escapes and charsets differ.
const restoreFlags = format.DefaultRestoreFlags | format.RestoreStringEscapeBackslash | format.RestoreStringWithoutDefaultCharset

func restore(n ast.Node) (string, error) {
	var sb strings.Builder
	if err := n.Restore(format.NewRestoreCtx(restoreFlags, &sb)); err != nil {
		return "", err
	}
	return sb.String(), nil
}

// restoreSpecs gives one string per spec: comparing lists, not one joined
// statement, keeps the comparison blind to how specs are separated.
func restoreSpecs(specs []*ast.AlterTableSpec) ([]string, error) {
	out := make([]string, len(specs))
	for i, s := range specs {
		r, err := restore(s)
		if err != nil {
			return nil, fmt.Errorf("restoring spec %d for comparison: %w", i+1, err)
		}
		out[i] = r
	}
	return out, nil
}

// quoteName quotes an identifier for the statements godwit builds to probe
// the parser, and for messages.
func quoteName(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// clausePrefix is what godwit puts before a bare clause to parse it.
func clausePrefix(table string) string {
	return "ALTER TABLE " + quoteName(table) + " "
}

// normalized is the lexer's view of sql: comments dropped, keywords lower
// case, identifiers back-quoted, literals replaced by '?'.
func normalized(sql string) string {
	n, _ := parser.NormalizeDigest(sql)
	return n
}

// onlySemicolons reports whether sql holds no token but ';', so that
// dropping it changes nothing the server would run.
func onlySemicolons(sql string) bool {
	return strings.Trim(normalized(sql), "; ") == ""
}

// parseAlter parses sql and returns it if it is exactly one ALTER TABLE.
func parseAlter(p *parser.Parser, sql string) (*ast.AlterTableStmt, bool) {
	stmts, _, err := p.Parse(sql, "", "")
	if err != nil || len(stmts) != 1 {
		return nil, false
	}
	a, ok := stmts[0].(*ast.AlterTableStmt)
	return a, ok
}

// sameSpecs reports whether "ALTER TABLE t " + clause parses to specs that
// restore to want.
func sameSpecs(p *parser.Parser, table, clause string, want []string) bool {
	a, ok := parseAlter(p, clausePrefix(table)+clause)
	if !ok {
		return false
	}
	got, err := restoreSpecs(a.Specs)
	return err == nil && slices.Equal(got, want)
}

// splitStatement finds where the specs of a whole ALTER TABLE statement
// begin: the smallest i such that text[:i] is the statement's head (it
// parses, followed by FORCE, as an ALTER of the same table with FORCE as its
// only spec) and text[i:] carries the same specs. It returns the head and
// the rest.
func splitStatement(p *parser.Parser, text string, stmt *ast.AlterTableStmt, want []string, table string) (head, rest string, err error) {
	for i := 0; i <= len(text); i++ {
		if i < len(text) && !utf8.RuneStart(text[i]) {
			continue
		}
		probe, ok := parseAlter(p, text[:i]+" FORCE")
		if !ok || len(probe.Specs) != 1 || probe.Specs[0].Tp != ast.AlterTableForce ||
			probe.Table.Schema.O != stmt.Table.Schema.O || probe.Table.Name.O != stmt.Table.Name.O {
			continue
		}
		if sameSpecs(p, table, text[i:], want) {
			return text[:i], text[i:], nil
		}
	}
	// Unreachable for anything the parser accepted as one ALTER TABLE; say
	// what the user can do rather than fail obscurely.
	return "", "", refuse("cannot isolate the specifications of this ALTER TABLE statement from its table name. "+
		"Give only the part after the table name: --alter \"ADD COLUMN c INT\" instead of ALTER TABLE %s ADD COLUMN c INT",
		quoteName(table))
}

// headDrops reports whether the statement head says more than the AST
// keeps: the TiDB parser accepts ALTER IGNORE TABLE and forgets IGNORE, so
// the head as the lexer sees it is compared with the head restored from the
// AST. It returns the lexer's words that the AST lost track of, as counts
// of extra occurrences, or nil if nothing was lost. Back-quotes are ignored
// in the comparison: the lexer leaves a keyword used as a name (user,
// status) unquoted, while the restored head quotes every name.
func headDrops(p *parser.Parser, head string) (map[string]int, error) {
	probe, ok := parseAlter(p, head+" FORCE")
	if !ok {
		return nil, fmt.Errorf("re-parsing the statement head %q", head)
	}
	restored, err := restore(probe)
	if err != nil {
		return nil, fmt.Errorf("restoring the statement head for comparison: %w", err)
	}
	unquote := func(s string) string { return strings.ReplaceAll(normalized(s), "`", "") }
	user, kept := unquote(head+" FORCE"), unquote(restored)
	if user == kept {
		return nil, nil
	}
	extra := map[string]int{}
	for _, w := range strings.Fields(user) {
		extra[w]++
	}
	for _, w := range strings.Fields(kept) {
		extra[w]--
	}
	return extra, nil
}

// trimTail cuts trailing semicolons, comments and whitespace off a clause:
// a trailing ';' makes the shadow ALTER two statements, and a trailing "--"
// comment would swallow anything the caller appends. A cut point is taken
// only if what it cuts holds no token but ';' and what it keeps still
// parses to the same specs, so a ';' or "--" inside a string is never cut.
func trimTail(p *parser.Parser, table, clause string, want []string) string {
	clause = strings.TrimSpace(clause)
	for _, j := range tailCandidates(clause) {
		kept := strings.TrimSpace(clause[:j])
		if kept == "" || !onlySemicolons(clause[j:]) {
			continue
		}
		if j == len(clause) || sameSpecs(p, table, kept, want) {
			return kept
		}
	}
	return clause
}

// tailCandidates lists, in increasing order, the offsets where a trailing
// run of semicolons and comments could start. Offsets are only proposed
// here; trimTail lets the lexer and the parser decide.
func tailCandidates(s string) []int {
	var out []int
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == ';', s[i] == '#':
			out = append(out, i)
		case strings.HasPrefix(s[i:], "--"), strings.HasPrefix(s[i:], "/*"):
			out = append(out, i)
		}
	}
	return append(out, len(s))
}
