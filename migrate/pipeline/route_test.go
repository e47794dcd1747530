package pipeline

import (
	"strings"
	"testing"
)

// TestRoute: each kind of statement and where it goes, from its text
// alone.
func TestRoute(t *testing.T) {
	for _, tc := range []struct {
		sql       string
		allowDrop bool
		kind      string
		route     string
		alter     string // for migrate and direct-if-empty
		flag      string
		refusal   string // part of it
	}{
		{sql: "ALTER TABLE t ADD COLUMN c INT", kind: "alter-table", route: RouteMigrate, alter: "ALTER TABLE t ADD COLUMN c INT"},
		{sql: "-- why\nALTER TABLE d.t ADD COLUMN c INT;", kind: "alter-table", route: RouteMigrate, alter: "-- why\nALTER TABLE d.t ADD COLUMN c INT;"},
		{sql: "ALTER TABLE t ADD FOREIGN KEY (a) REFERENCES p (id)", kind: "alter-table", route: RouteRefused, refusal: "foreign keys"},
		{sql: "ALTER TABLE t ADD COLUMN c INT, ALGORITHM=INPLACE", kind: "alter-table", route: RouteRefused, refusal: "ALGORITHM="},
		{sql: "ALTER TABLE other.t ADD COLUMN c INT", kind: "alter-table", route: RouteRefused, refusal: "only the tables of --database d"},
		{sql: "ALTER TABLE _godwit_migrations ADD COLUMN c INT", kind: "alter-table", route: RouteRefused, refusal: "history table"},
		{sql: "CREATE TABLE t (id INT PRIMARY KEY)", kind: "create-table", route: RouteDirect},
		{sql: "CREATE TABLE t2 LIKE other.t", kind: "create-table", route: RouteDirect},
		{sql: "CREATE TABLE t2 AS SELECT * FROM t", kind: "create-table", route: RouteRefused, refusal: "copies rows"},
		{sql: "CREATE TEMPORARY TABLE x (a INT)", kind: "create-table", route: RouteRefused, refusal: "temporary"},
		{sql: "CREATE TABLE t (a INT /*M! , b INT */)", kind: "create-table", route: RouteRefused, refusal: "executable comment"},
		{sql: "CREATE TABLE t (a INT /* a plain comment */)", kind: "create-table", route: RouteDirect},
		{sql: "CREATE INDEX i ON t (a)", kind: "create-index", route: routeIfEmpty, alter: "ALTER TABLE `t` ADD INDEX `i`(`a`)"},
		{sql: "CREATE UNIQUE INDEX u ON t (a, b(10)) COMMENT 'x'", kind: "create-index", route: routeIfEmpty, alter: "ALTER TABLE `t` ADD UNIQUE `u`(`a`, `b`(10)) COMMENT 'x'"},
		{sql: "CREATE INDEX i ON t (a) ALGORITHM = INPLACE", kind: "create-index", route: RouteRefused, refusal: "ALGORITHM="},
		{sql: "DROP INDEX i ON t", kind: "drop-index", route: RouteDirect},
		{sql: "DROP INDEX `PRIMARY` ON t", kind: "drop-index", route: RouteMigrate, alter: "ALTER TABLE `t` DROP PRIMARY KEY"},
		{sql: "CREATE VIEW v AS SELECT 1", kind: "create-view", route: RouteDirect},
		{sql: "DROP VIEW v", kind: "drop-view", route: RouteDirect},
		{sql: "RENAME TABLE a TO b, c TO d", kind: "rename-table", route: RouteDirect},
		{sql: "DROP TABLE t, u", kind: "drop-table", route: RouteRefused, flag: FlagAllowDropTable, refusal: "it drops t, u and every row"},
		{sql: "DROP TABLE t", allowDrop: true, kind: "drop-table", route: RouteDirect},
		{sql: "TRUNCATE TABLE t", kind: "truncate-table", route: RouteRefused, flag: FlagAllowDropTable, refusal: "deletes every row of t"},
		{sql: "TRUNCATE TABLE t", allowDrop: true, kind: "truncate-table", route: RouteDirect},
		{sql: "DROP DATABASE d", allowDrop: true, kind: "drop-database", route: RouteRefused, refusal: "inside --database"},
		{sql: "CREATE DATABASE e", kind: "create-database", route: RouteRefused, refusal: "inside --database"},
		{sql: "INSERT INTO t VALUES (1)", kind: "insert", route: RouteRefused, refusal: "schema changes only, and INSERT changes rows"},
		{sql: "REPLACE INTO t VALUES (1)", kind: "replace", route: RouteRefused, refusal: "REPLACE changes rows"},
		{sql: "UPDATE t SET a = 1", kind: "update", route: RouteRefused, refusal: "UPDATE changes rows"},
		{sql: "DELETE FROM t", kind: "delete", route: RouteRefused, refusal: "DELETE changes rows"},
		{sql: "SET foreign_key_checks = 0", kind: "set", route: RouteRefused, refusal: "session setting"},
		{sql: "USE d", kind: "use", route: RouteRefused, refusal: "remove USE"},
		{sql: "GRANT SELECT ON d.* TO 'u'@'%'", kind: "grant", route: RouteRefused, refusal: "does not know how to run GRANT"},
	} {
		t.Run(tc.sql, func(t *testing.T) {
			stmts, err := Split(newFile("f.sql", []byte(tc.sql)))
			if err != nil || len(stmts) != 1 {
				t.Fatalf("split: %d statements, %v", len(stmts), err)
			}
			r := route(stmts[0], "d", tc.allowDrop)
			if r.Kind != tc.kind || r.Route != tc.route || r.Flag != tc.flag {
				t.Errorf("kind %q route %q flag %q, want %q %q %q (refusal %q)", r.Kind, r.Route, r.Flag, tc.kind, tc.route, tc.flag, r.Refusal)
			}
			if tc.alter != "" && r.Alter != tc.alter {
				t.Errorf("alter %q, want %q", r.Alter, tc.alter)
			}
			if !strings.Contains(r.Refusal, tc.refusal) || (tc.refusal == "") != (r.Refusal == "") {
				t.Errorf("refusal %q, want one with %q", r.Refusal, tc.refusal)
			}
		})
	}
}

// TestSplit: the parser decides where statements end, and each keeps its
// text verbatim (comments and all) and its line.
func TestSplit(t *testing.T) {
	text := "-- users\nCREATE TABLE users (\n  id INT PRIMARY KEY,\n  s VARCHAR(3) DEFAULT ';'\n);\n\n" +
		"/* two; */ ALTER TABLE users ADD COLUMN `c;` INT;\nCREATE INDEX ic ON users (`c;`) ;  -- trailing\n-- the end\n"
	stmts, err := Split(newFile("f.sql", []byte(text)))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		line int
		text string
	}{
		{1, "-- users\nCREATE TABLE users (\n  id INT PRIMARY KEY,\n  s VARCHAR(3) DEFAULT ';'\n);"},
		{7, "/* two; */ ALTER TABLE users ADD COLUMN `c;` INT;"},
		{8, "CREATE INDEX ic ON users (`c;`) ;"},
	}
	if len(stmts) != len(want) {
		t.Fatalf("%d statements, want %d: %+v", len(stmts), len(want), stmts)
	}
	for i, w := range want {
		if stmts[i].Index != i+1 || stmts[i].Line != w.line || stmts[i].Text != w.text {
			t.Errorf("statement %d: index %d line %d %q, want line %d %q", i+1, stmts[i].Index, stmts[i].Line, stmts[i].Text, w.line, w.text)
		}
	}
	if got := stmts[1].Display(100); got != "ALTER TABLE `users` ADD COLUMN `c;` INT" {
		t.Errorf("display %q", got)
	}

	_, err = Split(newFile("bad.sql", []byte("ALTER TABLE t ADD c INT;\nDELIMITER $$\n")))
	if err == nil || !strings.Contains(err.Error(), "bad.sql: cannot parse: line 2") || !strings.Contains(err.Error(), "DELIMITER") {
		t.Errorf("unparsable file: %v", err)
	}
	if stmts, err := Split(newFile("empty.sql", []byte("-- nothing yet\n"))); err != nil || len(stmts) != 0 {
		t.Errorf("comments only: %d statements, %v", len(stmts), err)
	}
}

func TestChecksums(t *testing.T) {
	a, b := newFile("a.sql", []byte("CREATE TABLE t (a INT);\n")), newFile("a.sql", []byte("\ufeffCREATE TABLE t (a INT);\r\n"))
	if a.Checksum != b.Checksum || len(a.Checksum) != 64 {
		t.Errorf("CRLF and a BOM change the checksum: %s %s", a.Checksum, b.Checksum)
	}
	if c := newFile("a.sql", []byte("CREATE TABLE t (a BIGINT);\n")); c.Checksum == a.Checksum {
		t.Error("a changed text keeps its checksum")
	}
	s1, _ := Split(newFile("x", []byte("CREATE TABLE a (i INT); CREATE TABLE b (i INT);")))
	s2, _ := Split(newFile("x", []byte("CREATE TABLE a (i INT); CREATE TABLE c (i INT);")))
	if prefixChecksum(s1, 1) != prefixChecksum(s2, 1) || prefixChecksum(s1, 2) == prefixChecksum(s2, 2) {
		t.Error("prefixChecksum does not identify exactly the first n statements")
	}
}

func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"0010_c.sql": "CREATE TABLE c (i INT);", "0002_b.SQL": "CREATE TABLE b (i INT);", "0001_a.sql": "CREATE TABLE a (i INT);",
		"README.md": "not a migration", ".0000_hidden.sql": "x",
	} {
		writeTestFile(t, dir, name, text)
	}
	files, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, " "); got != "0001_a.sql 0002_b.SQL 0010_c.sql" {
		t.Errorf("files %s", got)
	}
	if _, err := LoadDir(t.TempDir()); err == nil || !strings.Contains(err.Error(), "holds no *.sql migration files") {
		t.Errorf("empty dir: %v", err)
	}
	bad := t.TempDir()
	writeTestFile(t, bad, "0001.sql", "\xff\xfe")
	if _, err := LoadDir(bad); err == nil || !strings.Contains(err.Error(), "UTF-8") {
		t.Errorf("binary file: %v", err)
	}
}
