package alter

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestClauseIsVerbatim checks that the clause godwit will run is the user's
// own text, whichever form it came in.
func TestClauseIsVerbatim(t *testing.T) {
	tests := []struct {
		name   string
		input  string
		clause string
	}{
		{"clause", "ADD COLUMN c INT", "ADD COLUMN c INT"},
		{"clause with surrounding whitespace", "\n\t ADD COLUMN c INT  \n", "ADD COLUMN c INT"},
		{"trailing semicolon", "ADD COLUMN c INT;", "ADD COLUMN c INT"},
		{"trailing semicolons and spaces", "ADD COLUMN c INT ; ;\n", "ADD COLUMN c INT"},
		{"trailing comment after semicolon", "ADD COLUMN c INT; -- ticket 42", "ADD COLUMN c INT"},
		{"trailing hash comment", "ADD COLUMN c INT # why", "ADD COLUMN c INT"},
		{"trailing block comment", "ADD COLUMN c INT /* why */;", "ADD COLUMN c INT"},
		{"comment inside kept", "ADD COLUMN c INT /* why */, DROP d", "ADD COLUMN c INT /* why */, DROP d"},
		{"MySQL executable comment kept", "ADD COLUMN c INT /*!50000 DEFAULT 1 */", "ADD COLUMN c INT /*!50000 DEFAULT 1 */"},
		{"statement", "ALTER TABLE t ADD COLUMN c INT", "ADD COLUMN c INT"},
		{"statement lower case", "alter table t add column c int;", "add column c int"},
		{"statement with database", "ALTER TABLE d.t ADD COLUMN c INT", "ADD COLUMN c INT"},
		{"statement back-quoted", "ALTER TABLE `d`.`t` ADD COLUMN c INT", "ADD COLUMN c INT"},
		{"statement with no space after the name", "ALTER TABLE `t`ADD COLUMN c INT", "ADD COLUMN c INT"},
		{"statement with comments", "/* deploy 7 */ ALTER TABLE t /* add */ ADD COLUMN c INT; -- done",
			"/* add */ ADD COLUMN c INT"},
		{"statement over lines", "ALTER TABLE t\n  ADD COLUMN c INT,\n  DROP COLUMN d;\n", "ADD COLUMN c INT,\n  DROP COLUMN d"},
		{"backslashes and quotes in a default",
			`ADD c VARCHAR(20) DEFAULT 'a\'b\\c''d"e'`, `ADD c VARCHAR(20) DEFAULT 'a\'b\\c''d"e'`},
		{"backslashes and quotes in a whole statement",
			`ALTER TABLE t ADD c VARCHAR(20) DEFAULT "x\"y\\z" COMMENT 'it''s';`, `ADD c VARCHAR(20) DEFAULT "x\"y\\z" COMMENT 'it''s'`},
		{"semicolon and comment markers inside strings",
			"ADD c TEXT COMMENT 'a; -- b /* c */ # d';", "ADD c TEXT COMMENT 'a; -- b /* c */ # d'"},
		{"MariaDB comment marker inside a string", "ADD c INT COMMENT '/*M! x */'", "ADD c INT COMMENT '/*M! x */'"},
		{"charset introducer kept", "ADD c VARCHAR(5) DEFAULT _latin1'x'", "ADD c VARCHAR(5) DEFAULT _latin1'x'"},
		{"partition by without a comma", "ADD c INT PARTITION BY HASH(id) PARTITIONS 4", "ADD c INT PARTITION BY HASH(id) PARTITIONS 4"},
		{"check constraint kept as written", "ADD CONSTRAINT ck CHECK (a > 0)", "ADD CONSTRAINT ck CHECK (a > 0)"},
		{"drop constraint kept as written", "ALTER TABLE t DROP CONSTRAINT ck", "DROP CONSTRAINT ck"},
		{"table named like a keyword", "ALTER TABLE `ignore` ADD c INT", "ADD c INT"},
		{"unicode", "ALTER TABLE t ADD `prénom` VARCHAR(10) COMMENT 'Ünïcode'", "ADD `prénom` VARCHAR(10) COMMENT 'Ünïcode'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table := "t"
			if strings.Contains(tt.input, "`ignore`") {
				table = "ignore"
			}
			c, err := Parse("d", table, tt.input)
			if err != nil {
				t.Fatal(err)
			}
			if c.Clause != tt.clause {
				t.Errorf("Clause = %q, want %q", c.Clause, tt.clause)
			}
		})
	}
}

// TestStatementAndClauseAgree checks that giving the whole statement or
// only the clause yields the same Change.
func TestStatementAndClauseAgree(t *testing.T) {
	clauses := []string{
		"ADD COLUMN email VARCHAR(255) NOT NULL DEFAULT '' AFTER name",
		"DROP COLUMN fax, ADD COLUMN fax TEXT, CHANGE a b BIGINT UNSIGNED, RENAME COLUMN c TO e",
		"ADD UNIQUE KEY uk (email), DROP INDEX old_idx, ENGINE=InnoDB",
		"CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
		`MODIFY note TEXT DEFAULT 'x\\y' COMMENT "q\"uote"`,
		"FORCE",
	}
	for _, clause := range clauses {
		for _, stmt := range []string{
			"ALTER TABLE orders " + clause,
			"ALTER TABLE shop.orders " + clause + ";",
			"  /* c */ ALTER TABLE `shop`.`orders`\n" + clause + "\n",
		} {
			t.Run(stmt, func(t *testing.T) {
				fromClause, err := Parse("shop", "orders", clause)
				if err != nil {
					t.Fatal(err)
				}
				fromStmt, err := Parse("shop", "orders", stmt)
				if err != nil {
					t.Fatal(err)
				}
				if fromStmt.Clause != clause || fromClause.Clause != clause {
					t.Errorf("Clause from statement %q, from clause %q, want %q", fromStmt.Clause, fromClause.Clause, clause)
				}
				if len(fromStmt.Specs) != len(fromClause.Specs) {
					t.Fatalf("%d specs from statement, %d from clause", len(fromStmt.Specs), len(fromClause.Specs))
				}
				for i := range fromStmt.Specs {
					a, b := fromStmt.Specs[i], fromClause.Specs[i]
					if a.Kind != b.Kind || a.Text != b.Text {
						t.Errorf("spec %d: statement %v %q, clause %v %q", i, a.Kind, a.Text, b.Kind, b.Text)
					}
				}
			})
		}
	}
}

func TestMultipleSpecsInOrder(t *testing.T) {
	c, err := Parse("d", "t", "ADD COLUMN a INT, DROP COLUMN b, ADD INDEX ia (a), MODIFY c BIGINT, ENGINE=InnoDB, FORCE")
	if err != nil {
		t.Fatal(err)
	}
	want := []Kind{AddColumn, DropColumn, AddIndex, ModifyColumn, TableOption, Force}
	if len(c.Specs) != len(want) {
		t.Fatalf("got %d specs, want %d", len(c.Specs), len(want))
	}
	for i, k := range want {
		if c.Specs[i].Kind != k {
			t.Errorf("spec %d kind = %v, want %v", i, c.Specs[i].Kind, k)
		}
	}
}

func TestStatementForAnotherTable(t *testing.T) {
	tests := []struct {
		input   string
		mention []string // every name the message must show
	}{
		{"ALTER TABLE other ADD c INT", []string{"`other`", "`d`.`t`"}},
		{"ALTER TABLE x.t ADD c INT", []string{"`x`.`t`", "`d`.`t`"}},
		{"ALTER TABLE d.other ADD c INT", []string{"`d`.`other`", "`d`.`t`"}},
		// Table names are compared exactly: T and t are two tables on a
		// case-sensitive server.
		{"ALTER TABLE T ADD c INT", []string{"`T`", "`d`.`t`"}},
	}
	for _, tt := range tests {
		t.Run(tt.input, func(t *testing.T) {
			_, err := Parse("d", "t", tt.input)
			var r *RefusedError
			if !errors.As(err, &r) {
				t.Fatalf("err = %v, want *RefusedError", err)
			}
			for _, m := range tt.mention {
				if !strings.Contains(r.Reason, m) {
					t.Errorf("reason %q does not name %s", r.Reason, m)
				}
			}
			if !strings.Contains(r.Reason, "--table") {
				t.Errorf("reason %q does not say what to fix", r.Reason)
			}
		})
	}
}

func TestNoTableIsAProgrammingError(t *testing.T) {
	_, err := Parse("d", "", "ADD c INT")
	var r *RefusedError
	if err == nil || errors.As(err, &r) {
		t.Fatalf("err = %v, want a plain error", err)
	}
}

// TestKeywordTableNames checks tables named like keywords, which the lexer
// and the restored AST spell differently (user, not `user`).
func TestKeywordTableNames(t *testing.T) {
	// Non-reserved words are valid unquoted; reserved words, an introducer
	// and odd characters only back-quoted.
	unquotedToo := []string{"user", "status", "data", "comment", "date", "timestamp", "position", "events", "value", "type", "names"}
	quotedOnly := []string{"ignore", "order", "select", "table", "_latin1", "my table", "we`ird"}
	for _, table := range append(unquotedToo, quotedOnly...) {
		stmts := []string{
			"ALTER TABLE " + quoteName(table) + " ADD COLUMN c INT",
			"ALTER TABLE `d`." + quoteName(table) + " ADD COLUMN c INT",
		}
		if slices.Contains(unquotedToo, table) {
			stmts = append(stmts, "ALTER TABLE "+table+" ADD COLUMN c INT", "ALTER TABLE d."+table+" ADD COLUMN c INT")
		}
		for _, stmt := range stmts {
			t.Run(stmt, func(t *testing.T) {
				c, err := Parse("d", table, stmt)
				if err != nil {
					t.Fatal(err)
				}
				if c.Clause != "ADD COLUMN c INT" {
					t.Errorf("Clause = %q", c.Clause)
				}
			})
		}
	}
}
