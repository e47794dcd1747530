package pipeline

import (
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"
	// The parser panics without a driver for literal values.
	"github.com/godwit-db/godwit/internal/sqlparse"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver"
)

// Statement is one statement of a migration file, as the TiDB parser
// split it.
type Statement struct {
	Index int    // 1-based, in the file
	Line  int    // the line of the file where its text starts
	Text  string // verbatim, with its leading comments and ';': what runs
	Node  ast.StmtNode
}

// SplitError is a file the parser cannot read: nothing of it can be
// routed, so none of it runs.
type SplitError struct {
	File string
	Err  error
}

func (e *SplitError) Error() string {
	return fmt.Sprintf("%s: cannot parse: %v. godwit reads migration files with the TiDB SQL parser, which lacks "+
		"some MariaDB-only syntax and the mysql client's commands (DELIMITER, \\G, SOURCE); run such a statement "+
		"natively, outside godwit apply", e.File, strings.TrimSpace(e.Err.Error()))
}

func (e *SplitError) Unwrap() error { return e.Err }

// Split parses a file into its statements. The parser, not godwit,
// decides where a statement ends: a ';' inside a string, a comment or a
// quoted name is not an end.
func Split(f File) ([]Statement, error) {
	// SetMariaDB is left off, as in alter.Parse: in this parser version it
	// changes nothing a schema change uses.
	done := sqlparse.Reading()
	nodes, _, err := parser.New().Parse(f.Text, "", "")
	done()
	if err != nil {
		return nil, &SplitError{File: f.Name, Err: err}
	}
	out := make([]Statement, 0, len(nodes))
	pos := 0
	for i, n := range nodes {
		raw := n.Text()
		// The parser's texts are consecutive pieces of the file; finding
		// each after the previous one gives its line.
		at := strings.Index(f.Text[pos:], raw)
		line := 0
		if at >= 0 {
			at += pos
			pos = at + len(raw)
			lead := len(raw) - len(strings.TrimLeft(raw, " \t\r\n"))
			line = strings.Count(f.Text[:at+lead], "\n") + 1
		}
		out = append(out, Statement{Index: i + 1, Line: line, Text: strings.TrimSpace(raw), Node: n})
	}
	return out, nil
}

// restore prints a node back as SQL: for display (one line, without the
// file's comments), and to turn CREATE INDEX into the ALTER migrate runs.
func restore(n ast.Node) (string, error) {
	var b strings.Builder
	if err := n.Restore(format.NewRestoreCtx(format.DefaultRestoreFlags, &b)); err != nil {
		return "", err
	}
	return b.String(), nil
}

// Display is the statement on one line, for people: restored from the
// AST (so without the file's comments), shortened to about width runes.
func (s Statement) Display(width int) string {
	text, err := restore(s.Node)
	if err != nil {
		text = strings.Join(strings.Fields(s.Text), " ")
	}
	if r := []rune(text); len(r) > width {
		text = string(r[:width-1]) + "…"
	}
	return text
}

// hidesSQL reports whether the text holds a MariaDB executable comment
// (/*M! ... */) that carries SQL: the TiDB lexer skips it while MariaDB
// runs it, so the statement would do more than godwit routed. Rewritten
// as the MySQL form /*! ... */, which the lexer reads, the token stream
// changes exactly when such a comment holds something (the same test as
// the alter package's).
func hidesSQL(text string) bool {
	if !strings.Contains(text, "/*M!") {
		return false
	}
	defer sqlparse.Reading()()
	a, _ := parser.NormalizeDigest(strings.ReplaceAll(text, "/*M!", "/*!"))
	b, _ := parser.NormalizeDigest(text)
	return a != b
}
