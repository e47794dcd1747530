package alter

import (
	"errors"
	"strings"
	"testing"

	"github.com/pingcap/tidb/pkg/parser"
)

// TestRefusals checks every refusal, and that each message says what to do:
// every phrase in advice must appear in it.
func TestRefusals(t *testing.T) {
	tests := []struct {
		name   string
		input  string
		advice []string
	}{
		{"empty", "", []string{"empty", "ADD COLUMN c INT"}},
		{"blank", " \n\t", []string{"empty"}},
		{"only a semicolon", ";", []string{"empty"}},
		{"only a comment", "/* nothing */", []string{"empty"}},
		{"statement without specs", "ALTER TABLE t", []string{"changes nothing", "ADD COLUMN c INT"}},
		{"drop table", "DROP TABLE t", []string{"DROP TABLE, not ALTER TABLE", "--alter"}},
		{"select", "SELECT * FROM t", []string{"SELECT, not ALTER TABLE", "--alter"}},
		{"create table", "CREATE TABLE t (id INT)", []string{"CREATE TABLE, not ALTER TABLE"}},
		{"alter table analyze", "ALTER TABLE t ANALYZE PARTITION p0", []string{"ANALYZE TABLE, not ALTER TABLE"}},
		{"rename table statement", "RENAME TABLE t TO u", []string{"RENAME TABLE", "directly"}},
		{"two statements", "ALTER TABLE t ADD a INT; ALTER TABLE t ADD b INT", []string{"2 statements", "Combine"}},
		{"statements for two tables", "ALTER TABLE a ADD c INT; ALTER TABLE b ADD c INT", []string{"2 statements"}},
		{"clause smuggling a statement", "ADD c INT; DROP TABLE t", []string{"2 statements"}},
		{"rename to", "RENAME TO t_new", []string{"RENAME TABLE `t` TO", "instant"}},
		{"rename as in a statement", "ALTER TABLE t RENAME AS t2", []string{"RENAME TABLE `t` TO", "instant"}},
		{"add foreign key", "ADD CONSTRAINT fk FOREIGN KEY (p) REFERENCES p(id)", []string{"foreign keys are refused for now", "natively"}},
		{"add foreign key unnamed", "ADD FOREIGN KEY (p) REFERENCES p(id)", []string{"foreign keys are refused for now"}},
		{"inline references", "ADD COLUMN p INT REFERENCES p(id)", []string{"foreign key", "natively"}},
		{"foreign key inside add column list", "ADD COLUMN (p INT, FOREIGN KEY (p) REFERENCES p(id))", []string{"foreign key"}},
		{"drop foreign key", "DROP FOREIGN KEY fk", []string{"foreign keys are refused for now", "DROP FOREIGN KEY", "natively"}},
		{"engine myisam", "ENGINE=MyISAM", []string{"transactional engine", "MyISAM", "natively"}},
		{"engine with other specs", "MODIFY v TINYINT, ENGINE = Aria", []string{"transactional engine", "Aria"}},
		{"add partition", "ADD PARTITION (PARTITION p9 VALUES LESS THAN (100))", []string{"partition maintenance", "natively", "PARTITION BY"}},
		{"drop partition", "DROP PARTITION p0", []string{"partition maintenance", "natively"}},
		{"truncate partition", "TRUNCATE PARTITION p0", []string{"partition maintenance"}},
		{"reorganize partition", "REORGANIZE PARTITION p0 INTO (PARTITION p1 VALUES LESS THAN (5))", []string{"partition maintenance"}},
		{"exchange partition", "EXCHANGE PARTITION p0 WITH TABLE t2", []string{"partition maintenance"}},
		{"coalesce partition", "COALESCE PARTITION 2", []string{"partition maintenance"}},
		{"algorithm", "ADD c INT, ALGORITHM=INPLACE", []string{"Remove ALGORITHM= and LOCK="}},
		{"algorithm copy", "ALGORITHM=COPY, ADD c INT", []string{"Remove ALGORITHM= and LOCK="}},
		{"lock", "ADD c INT, LOCK=NONE", []string{"Remove ALGORITHM= and LOCK="}},
		{"lock in a statement", "ALTER TABLE t ADD c INT, LOCK=SHARED", []string{"Remove ALGORITHM= and LOCK="}},
		{"discard tablespace", "DISCARD TABLESPACE", []string{"TABLESPACE", "natively"}},
		{"import tablespace", "IMPORT TABLESPACE", []string{"TABLESPACE", "natively"}},
		{"order by", "ORDER BY created_at", []string{"Remove ORDER BY"}},
		{"disable keys", "DISABLE KEYS", []string{"natively"}},
		{"alter ignore", "ALTER IGNORE TABLE t ADD UNIQUE KEY (email)", []string{"silently deletes", "Remove IGNORE"}},
		{"alter ignore lower case with comments", "alter /* x */ ignore table t add unique (email)", []string{"Remove IGNORE"}},
		{"alter ignore in an executable comment", "ALTER /*!50000 IGNORE */ TABLE t ADD UNIQUE (email)", []string{"Remove IGNORE"}},
		{"add column if not exists", "ADD COLUMN IF NOT EXISTS c INT", []string{"IF NOT EXISTS", "losing its data", "without IF NOT EXISTS"}},
		{"MariaDB executable comment", "ADD c INT /*M!100500 INVISIBLE */", []string{"/*M!", "plain SQL"}},
		{"TiDB-only", "SET TIFLASH REPLICA 1", []string{"TiDB-only", "Remove it"}},
		{"unknown to godwit", "SECONDARY_LOAD", []string{"does not know", "natively"}},
		{"a refused spec among good ones", "ADD a INT, DROP FOREIGN KEY fk, DROP b", []string{"drop foreign key fk"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("d", "t", tt.input)
			if c != nil {
				t.Errorf("got a Change with Clause %q", c.Clause)
			}
			var r *RefusedError
			if !errors.As(err, &r) {
				t.Fatalf("err = %v, want *RefusedError", err)
			}
			for _, a := range tt.advice {
				if !strings.Contains(r.Reason, a) {
					t.Errorf("reason does not say %q:\n%s", a, r.Reason)
				}
			}
			if !strings.HasPrefix(err.Error(), "alter refused: ") {
				t.Errorf("Error() = %q", err.Error())
			}
		})
	}
}

// TestAllowedLookalikes checks what must not be refused even though it
// resembles a refusal.
func TestAllowedLookalikes(t *testing.T) {
	for _, in := range []string{
		"PARTITION BY HASH(id) PARTITIONS 8",
		"REMOVE PARTITIONING",
		"ENGINE=InnoDB",
		"ENGINE = innodb, ADD COLUMN c INT",
		"DROP COLUMN IF EXISTS c",
		"ADD INDEX IF NOT EXISTS i (c)",
		"DROP INDEX IF EXISTS i",
		"MODIFY COLUMN IF EXISTS c BIGINT",
		"ADD COLUMN `ignore` INT",
		"ADD COLUMN c INT COMMENT 'ALGORITHM=INPLACE, RENAME TO x; DROP TABLE t'",
		"ADD COLUMN c INT COMMENT '/*M!100500 INVISIBLE */'",
		"ADD COLUMN c INT /*M!*/",
	} {
		t.Run(in, func(t *testing.T) {
			if _, err := Parse("d", "t", in); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestMariaDBSyntaxGetsTheHint checks that valid MariaDB the TiDB parser
// lacks is refused with the parser's message and godwit's explanation.
func TestMariaDBSyntaxGetsTheHint(t *testing.T) {
	tests := []struct {
		input string
		near  string // part of the parser's own message
	}{
		{"ADD COLUMN ip INET6", "INET6"},
		{"ADD COLUMN u UUID NOT NULL", "UUID"},
		{"ADD COLUMN c INT INVISIBLE", "INVISIBLE"},
		{"ADD COLUMN g POINT", "POINT"},
		{"ADD COLUMN c INT AS (a+1) PERSISTENT", "PERSISTENT"},
		{"ADD COLUMN b BLOB COMPRESSED", "COMPRESSED"},
		{"ADD COLUMN c INT DEFAULT (a+1)", "+1)"},
		{"ADD SYSTEM VERSIONING", "VERSIONING"},
		{"ALTER INDEX i IGNORED", "IGNORED"},
		{"ADD SPATIAL INDEX (g)", "SPATIAL"},
		{"ADD c INT, ALGORITHM=NOCOPY", "ALGORITHM"},
		{"ALTER TABLE t ADD COLUMN ip INET6", "INET6"},
		{"ALTER ONLINE TABLE t ADD c INT", "ONLINE"},
		{"ALTER TABLE IF EXISTS t ADD c INT", "IF EXISTS"},
		{"ALTER TABLE t WAIT 5 ADD c INT", "WAIT"},
		{"ALTER TABLE t NOWAIT ADD c INT", "NOWAIT"},
		{"ADD c INT /* unterminated", "unterminated"},
		{"ADD COLUMN", "COLUMN"},
	}
	for _, tt := range tests {
		t.Run(tt.input, func(t *testing.T) {
			_, err := Parse("d", "t", tt.input)
			var r *RefusedError
			if !errors.As(err, &r) {
				t.Fatalf("err = %v, want *RefusedError", err)
			}
			if r.Err == nil || !errors.Is(err, r.Err) {
				t.Errorf("the parser's error is not wrapped")
			}
			for _, want := range []string{tt.near, "TiDB SQL parser", "MariaDB-only", "run it natively", "rephrase"} {
				if !strings.Contains(r.Reason, want) {
					t.Errorf("reason does not say %q:\n%s", want, r.Reason)
				}
			}
			// The message must show what was parsed, so line and column
			// numbers make sense for a clause too.
			if !strings.Contains(r.Reason, "godwit parsed: ") {
				t.Errorf("reason does not show the parsed text:\n%s", r.Reason)
			}
		})
	}
	_, err := Parse("d", "t", "ADD c INT, ALGORITHM=NOCOPY")
	if err == nil || !strings.Contains(err.Error(), "remove ALGORITHM= and LOCK=") {
		t.Errorf("ALGORITHM=NOCOPY does not get the ALGORITHM advice: %v", err)
	}
}

// TestSetMariaDBDoesNotHelp records why Parse leaves SetMariaDB off: it
// changes nothing for MariaDB's ALTER syntax. If a parser upgrade makes
// this fail, revisit the policy in README.md.
func TestSetMariaDBDoesNotHelp(t *testing.T) {
	for _, sql := range []string{
		"ALTER TABLE t ADD COLUMN ip INET6",
		"ALTER TABLE t ADD COLUMN c INT INVISIBLE",
		"ALTER TABLE t ADD c INT DEFAULT (a+1)",
		"ALTER ONLINE TABLE t ADD c INT",
		"ALTER TABLE t ALTER INDEX i IGNORED",
	} {
		p := parser.New()
		p.SetMariaDB(true)
		if _, _, err := p.Parse(sql, "", ""); err == nil {
			t.Errorf("with SetMariaDB(true) the parser now accepts %q", sql)
		}
	}
	p := parser.New()
	p.SetMariaDB(true)
	if _, _, err := p.Parse("ALTER TABLE t ADD COLUMN IF NOT EXISTS c INT, DROP COLUMN IF EXISTS d", "", ""); err != nil {
		t.Errorf("SetMariaDB(true) breaks IF [NOT] EXISTS: %v", err)
	}
}

// TestIgnoreVersusTableNamedIgnore: IGNORE the keyword is refused, a table
// named `ignore` is not.
func TestIgnoreVersusTableNamedIgnore(t *testing.T) {
	if _, err := Parse("d", "ignore", "ALTER TABLE `ignore` ADD c INT"); err != nil {
		t.Errorf("table named ignore: %v", err)
	}
	_, err := Parse("d", "ignore", "ALTER IGNORE TABLE `ignore` ADD UNIQUE (c)")
	var r *RefusedError
	if !errors.As(err, &r) || !strings.Contains(r.Reason, "Remove IGNORE") {
		t.Errorf("ALTER IGNORE TABLE `ignore`: %v", err)
	}
}
