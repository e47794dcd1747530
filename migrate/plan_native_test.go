package migrate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/internal/tableinfo"
	"github.com/godwit-db/godwit/migrate/alter"
)

const nativeBase = `CREATE TABLE %s (
	id INT NOT NULL PRIMARY KEY, a VARCHAR(10), b INT, c VARCHAR(100) CHARACTER SET utf8mb3,
	d ENUM('x','y'), e INT NOT NULL DEFAULT 0, f TEXT, g VARCHAR(60) CHARACTER SET latin1, h CHAR(5),
	s SET('a','b','c','d','e','f','g','h'), u VARCHAR(20) CHARACTER SET utf8mb3,
	KEY ib (b), KEY ia (a), KEY iab (a, b), UNIQUE KEY uu (u)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`

// nativeCases are ALTERs whose class the rules must get right on the
// server at hand; setup is a CREATE TABLE with %s for the name ("" for
// nativeBase).
var nativeCases = []struct{ setup, alter string }{
	{"", "ADD COLUMN n INT"},
	{"", "ADD COLUMN n INT FIRST"},
	{"", "ADD COLUMN n INT NOT NULL DEFAULT 5 AFTER a"},
	{"", "ADD COLUMN n INT NOT NULL AUTO_INCREMENT UNIQUE"},
	{"", "ADD COLUMN n INT UNIQUE"},
	{"", "ADD COLUMN n INT AS (b + 1) VIRTUAL"},
	{"", "ADD COLUMN n INT AS (b + 1) STORED"},
	{"", "DROP COLUMN e"},
	{"", "DROP COLUMN u"},
	{"", "DROP COLUMN a"},
	{"", "MODIFY a VARCHAR(10) AFTER e"},
	{"", "MODIFY a VARCHAR(20)"},
	{"", "MODIFY a VARCHAR(100)"},
	{"", "MODIFY a VARCHAR(40)"},
	{"CREATE TABLE %s (id INT PRIMARY KEY, a VARCHAR(40)) DEFAULT CHARSET=utf8mb4", "MODIFY a VARCHAR(100)"},
	{"CREATE TABLE %s (id INT PRIMARY KEY, a VARCHAR(100)) DEFAULT CHARSET=utf8mb4", "MODIFY a VARCHAR(200)"},
	{"", "MODIFY g VARCHAR(300) CHARACTER SET latin1"},
	{"", "MODIFY a VARCHAR(5)"},
	{"", "MODIFY h CHAR(10)"},
	{"", "MODIFY c VARCHAR(100) CHARACTER SET utf8mb4"},
	{"", "MODIFY u VARCHAR(20) CHARACTER SET utf8mb4"},
	{"", "MODIFY c VARCHAR(100) CHARACTER SET utf8mb3 COLLATE utf8mb3_bin"},
	{"", "MODIFY a VARCHAR(10) COLLATE utf8mb4_bin"},
	{"", "MODIFY g VARCHAR(60) CHARACTER SET utf8mb4"},
	{"", "MODIFY a VARCHAR(10) NOT NULL"},
	{"", "MODIFY e INT NULL"},
	{"CREATE TABLE %s (id INT PRIMARY KEY, e INT NOT NULL) ROW_FORMAT=REDUNDANT", "MODIFY e INT NULL"},
	{"", "MODIFY b BIGINT"},
	{"", "MODIFY b INT UNSIGNED"},
	{"", "MODIFY b INT COMMENT 'x'"},
	{"", "MODIFY d ENUM('x','y','z')"},
	{"", "MODIFY d ENUM('y','x')"},
	{"", "MODIFY s SET('a','b','c','d','e','f','g','h','i')"},
	{"", "MODIFY f MEDIUMTEXT"},
	{"", "CHANGE a a2 VARCHAR(10)"},
	{"", "CHANGE a a2 VARCHAR(20)"},
	{"", "RENAME COLUMN a TO a2"},
	{"", "ALTER COLUMN e SET DEFAULT 3"},
	{"", "ADD INDEX ie (e)"},
	{"", "ADD UNIQUE KEY ue (e)"},
	{"", "ADD FULLTEXT INDEX ft (f)"},
	{"", "DROP INDEX ib"},
	{"", "RENAME INDEX ib TO ib2"},
	{"", "DROP PRIMARY KEY"},
	{"", "DROP PRIMARY KEY, ADD PRIMARY KEY (id, e)"},
	{"CREATE TABLE %s (id INT NOT NULL, b INT)", "ADD PRIMARY KEY (id)"},
	{"", "CONVERT TO CHARACTER SET utf8mb4"},
	{"CREATE TABLE %s (id INT PRIMARY KEY, c VARCHAR(10), u VARCHAR(5), KEY (u)) DEFAULT CHARSET=utf8mb3", "CONVERT TO CHARACTER SET utf8mb4"},
	{"CREATE TABLE %s (id INT PRIMARY KEY, c TEXT) DEFAULT CHARSET=utf8mb3", "CONVERT TO CHARACTER SET utf8mb4"},
	{"", "DEFAULT CHARSET=latin1"},
	{"", "COMMENT='x'"},
	{"", "AUTO_INCREMENT=100"},
	{"", "ENGINE=InnoDB"},
	{"", "FORCE"},
	{"", "ROW_FORMAT=COMPACT"},
	{"", "ADD CONSTRAINT ck CHECK (e >= 0)"},
	// MySQL names CHECK constraints per schema: not ck again.
	{"CREATE TABLE %s (id INT PRIMARY KEY, e INT, CONSTRAINT ck56 CHECK (e >= 0))", "DROP CONSTRAINT ck56"},
	{"", "ADD COLUMN n INT, ADD INDEX ie (e)"},
	{"", "ADD COLUMN n INT, DROP INDEX ib"},
	{"", "ADD COLUMN n INT, RENAME INDEX ib TO ib2"},
	{"", "ADD COLUMN n INT, DROP COLUMN e"},
	{"", "ADD COLUMN n INT, MODIFY a VARCHAR(10) COLLATE utf8mb4_bin"},
	{"", "ADD COLUMN n INT, MODIFY c VARCHAR(100) CHARACTER SET utf8mb4"},
	{"", "DROP COLUMN e, ADD INDEX ig (g)"},
	{"", "DROP COLUMN b, ADD INDEX ie (e)"},
	{"", "ADD COLUMN n INT, DROP COLUMN b"},
	{"", "RENAME COLUMN a TO a2, ADD INDEX ie (e)"},
	{"", "MODIFY a VARCHAR(20), ADD INDEX ie (e)"},
	{"", "MODIFY a VARCHAR(10) AFTER e, DROP INDEX ib"},
	{"", "DEFAULT CHARSET=latin1, ADD COLUMN n VARCHAR(5)"},
	{"", "ENGINE=InnoDB, ADD COLUMN n INT"},
	{"CREATE TABLE %s (id INT NOT NULL PRIMARY KEY, a VARCHAR(10), f TEXT, FULLTEXT KEY ft (f))", "ADD COLUMN n INT"},
}

// nativeBaseMySQL is the table of the MySQL-only cases: columns whose
// character set or collation MySQL changes in place, or not.
const nativeBaseMySQL = `CREATE TABLE %s (
	id INT NOT NULL PRIMARY KEY, a VARCHAR(10), b INT, c VARCHAR(70) CHARACTER SET utf8mb3,
	ch CHAR(10) CHARACTER SET utf8mb3, c80 CHAR(80) CHARACTER SET utf8mb3, tx TEXT CHARACTER SET utf8mb3,
	d ENUM('x','y') CHARACTER SET utf8mb3, e INT NOT NULL DEFAULT 0, w VARCHAR(20),
	KEY ib (b), KEY id2 (d)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`

// nativeCasesMySQL are the situations where MySQL 9.7 does something
// neither its manual's table nor MariaDB suggests; setup "" is
// nativeBaseMySQL. fill first uses up the table's row versions.
var nativeCasesMySQL = []struct {
	setup, alter string
	fill         bool
}{
	{"", "MODIFY c VARCHAR(70) CHARACTER SET utf8mb4", false},
	{"", "MODIFY ch CHAR(10) CHARACTER SET utf8mb4", false},
	{"", "MODIFY c80 CHAR(80) CHARACTER SET utf8mb4", false},
	{"", "MODIFY tx TEXT CHARACTER SET utf8mb4", false},
	{"", "MODIFY ch CHAR(10) CHARACTER SET utf8mb3 COLLATE utf8mb3_bin, COMMENT='x'", false},
	{"", "MODIFY tx TEXT CHARACTER SET utf8mb3 COLLATE utf8mb3_bin, ADD COLUMN n INT", false},
	{"", "MODIFY ch CHAR(10) CHARACTER SET utf8mb3 COLLATE utf8mb3_bin, ADD INDEX ie (e)", false},
	{"", "MODIFY w VARCHAR(20) COLLATE utf8mb4_bin, COMMENT='x'", false},
	{"", "MODIFY d ENUM('x','y') CHARACTER SET latin1", false},
	{"", "MODIFY d ENUM('x','y','z') CHARACTER SET utf8mb4", false},
	{"", "MODIFY b INT AFTER a", false},
	{"", "MODIFY b INT FIRST", false},
	{"", "ADD COLUMN n INT AS (b + 1) VIRTUAL, COMMENT='x'", false},
	{"", "ADD COLUMN n INT AS (b + 1) VIRTUAL, ADD INDEX iv (n)", false},
	{"", "ADD COLUMN n INT AS (b + 1) VIRTUAL, ADD INDEX ie (e)", false},
	{"", "ADD COLUMN n INT AS (b + 1) VIRTUAL, ADD COLUMN m INT FIRST", false},
	{"", "ADD CONSTRAINT ckm1 CHECK (e >= 0) NOT ENFORCED", false},
	{"CREATE TABLE %s (id INT PRIMARY KEY, e INT, CONSTRAINT ckm2 CHECK (e >= 0))", "ALTER CHECK ckm2 NOT ENFORCED", false},
	{"CREATE TABLE %s (id INT PRIMARY KEY, e INT, CONSTRAINT ckm3 CHECK (e >= 0) NOT ENFORCED)", "ALTER CHECK ckm3 ENFORCED", false},
	{"CREATE TABLE %s (id INT PRIMARY KEY, c VARCHAR(10), d VARCHAR(60)) DEFAULT CHARSET=utf8mb3", "CONVERT TO CHARACTER SET utf8mb4", false},
	{"CREATE TABLE %s (id INT PRIMARY KEY, c VARCHAR(10), d VARCHAR(70)) DEFAULT CHARSET=utf8mb3", "CONVERT TO CHARACTER SET utf8mb4", false},
	{"CREATE TABLE %s (id INT PRIMARY KEY, c CHAR(10), e ENUM('a','b')) DEFAULT CHARSET=utf8mb3", "CONVERT TO CHARACTER SET utf8mb4", false},
	{"CREATE TABLE %s (id INT PRIMARY KEY, b INT) DEFAULT CHARSET=utf8mb3", "CONVERT TO CHARACTER SET utf8mb4", false},
	{"CREATE TABLE %s (id INT PRIMARY KEY, a VARCHAR(10), e INT) ROW_FORMAT=COMPRESSED", "ADD COLUMN n INT", false},
	{"CREATE TABLE %s (id INT PRIMARY KEY, a VARCHAR(10), e INT) ROW_FORMAT=COMPRESSED", "DROP COLUMN e", false},
	{"CREATE TABLE %s (id INT PRIMARY KEY, a VARCHAR(10), e INT) ROW_FORMAT=COMPRESSED", "RENAME COLUMN a TO a2", false},
	{"CREATE TABLE %s (id INT PRIMARY KEY, a INT) PARTITION BY HASH (id) PARTITIONS 2", "ADD COLUMN n INT", false},
	{nativeFulltext, "DROP COLUMN a", false},
	{nativeFulltext, "FORCE", false},
	{nativeFulltext, "MODIFY a VARCHAR(10) NOT NULL", false},
	{nativeFulltext, "ADD COLUMN n INT AS (b + 1) VIRTUAL", false},
	{nativeFulltext, "RENAME COLUMN a TO a2", false},
	{nativeFulltext, "ADD INDEX ia (a)", false},
	{nativeFulltext, "ADD COLUMN n INT, ADD INDEX ia (a)", false},
	// One table for these, filled once (hundreds of ALTERs), in this
	// order: only the last may use a row version (it rebuilds the table).
	{nativeVersions, "RENAME COLUMN e TO e2", true},
	{nativeVersions, "ADD COLUMN v INT AS (a + 1) VIRTUAL", true},
	{nativeVersions, "ALTER COLUMN a SET DEFAULT 1", true},
	{nativeVersions, "ADD COLUMN n INT", true},
}

const (
	nativeFulltext = "CREATE TABLE %s (id INT NOT NULL PRIMARY KEY, a VARCHAR(10), b INT, f TEXT, FULLTEXT KEY ft (f))"
	nativeVersions = "CREATE TABLE %s (id INT NOT NULL PRIMARY KEY, a INT, e INT)"
)

// fillRowVersions adds and drops a column instantly, one ALTER each,
// until MySQL refuses the next for want of row versions (error 4092).
func fillRowVersions(t *testing.T, sb *sandboxtest.Sandbox, name string) {
	t.Helper()
	for i := 0; i <= 1000; i++ {
		q := "ALTER TABLE %s ADD COLUMN fill INT, ALGORITHM=INSTANT"
		if i%2 == 1 {
			q = "ALTER TABLE %s DROP COLUMN fill, ALGORITHM=INSTANT"
		}
		_, err := sb.DB.Exec(fmt.Sprintf(q, mysqlx.Q(name)))
		var me *mysql.MySQLError
		if errors.As(err, &me) && me.Number == 4092 {
			return
		}
		if err != nil {
			t.Fatalf("filling the row versions of %s: %d ALTERs, then %v", name, i, err)
		}
	}
	t.Fatalf("%s still takes instant ALTERs after 1000", name)
}

// probeNative asks the server what it can do with clause on table name:
// the cheapest ALGORITHM/LOCK pair it accepts. A refused ALTER changes
// nothing, so one table serves every try.
func probeNative(t *testing.T, sb *sandboxtest.Sandbox, mysql bool, name, clause string) (NativeClass, string) {
	t.Helper()
	if mysql {
		return probeNativeMySQL(t, sb, name, clause)
	}
	for _, try := range []struct {
		algo, lock string
		class      NativeClass
	}{
		{"INSTANT", "NONE", NativeInstant},
		{"NOCOPY", "NONE", NativeInplace},
		{"INPLACE", "NONE", NativeRebuild},
		{"NOCOPY", "SHARED", NativeInplace},
		{"INPLACE", "SHARED", NativeRebuild},
		{"COPY", "NONE", NativeCopy},
		{"COPY", "SHARED", NativeCopy},
	} {
		q := fmt.Sprintf("ALTER TABLE %s %s, ALGORITHM=%s, LOCK=%s", mysqlx.Q(name), clause, try.algo, try.lock)
		if _, err := sb.DB.Exec(q); err == nil {
			return try.class, map[string]string{"NONE": "none", "SHARED": "shared"}[try.lock]
		}
	}
	t.Fatalf("the server accepts %q with no algorithm", clause)
	return "", ""
}

// probeNativeMySQL is probeNative for MySQL, which has no NOCOPY and
// refuses any LOCK but DEFAULT with INSTANT. Whether an accepted INPLACE
// rebuilt the table is read off InnoDB's table id: a rebuild builds a new
// table (a new id and tablespace) and renames it over the old one, while
// an in-place change without rebuild keeps both. The id comes from the
// data dictionary, so it is exact where the manual's table of operations
// is not (it omits combinations of clauses), and the tablespace file is
// out of reach of a client.
func probeNativeMySQL(t *testing.T, sb *sandboxtest.Sandbox, name, clause string) (NativeClass, string) {
	t.Helper()
	tableID := func() int64 {
		var id int64
		if err := sb.DB.QueryRow("SELECT TABLE_ID FROM information_schema.INNODB_TABLES WHERE NAME = CONCAT(DATABASE(), '/', ?)", name).Scan(&id); err != nil {
			t.Fatalf("read the table id of %s: %v", name, err)
		}
		return id
	}
	if _, err := sb.DB.Exec(fmt.Sprintf("ALTER TABLE %s %s, ALGORITHM=INSTANT", mysqlx.Q(name), clause)); err == nil {
		return NativeInstant, "none"
	}
	before := tableID()
	for _, lock := range []string{"NONE", "SHARED"} {
		if _, err := sb.DB.Exec(fmt.Sprintf("ALTER TABLE %s %s, ALGORITHM=INPLACE, LOCK=%s", mysqlx.Q(name), clause, lock)); err == nil {
			class := NativeInplace
			if tableID() != before {
				class = NativeRebuild
			}
			return class, strings.ToLower(lock)
		}
	}
	for _, lock := range []string{"NONE", "SHARED"} {
		if _, err := sb.DB.Exec(fmt.Sprintf("ALTER TABLE %s %s, ALGORITHM=COPY, LOCK=%s", mysqlx.Q(name), clause, lock)); err == nil {
			return NativeCopy, strings.ToLower(lock)
		}
	}
	t.Fatalf("the server accepts %q with no algorithm", clause)
	return "", ""
}

// TestPlanNativeRulesOnServer checks the rule table against the sandbox
// server: for each case the rules' class for the whole ALTER must be the
// cheapest ALGORITHM the server accepts, and the server must accept the
// native statement the plan suggests. This test creates scratch tables
// (the planner never does); ALGORITHM= is ignored on TEMPORARY tables, so
// they are real ones.
func TestPlanNativeRulesOnServer(t *testing.T) {
	sb := sandboxtest.New(t)
	ctx := context.Background()
	server, err := readServer(ctx, sb.DB)
	if err != nil {
		t.Fatal(err)
	}
	env, err := loadPredictEnv(ctx, sb.DB, server)
	if err != nil {
		t.Fatal(err)
	}
	isMySQL := server.Flavor == "mysql"
	type nativeCase struct {
		name, setup, alter string
		fill               bool
	}
	var cases []nativeCase
	for i, c := range nativeCases {
		setup := c.setup
		if setup == "" {
			setup = nativeBase
		}
		cases = append(cases, nativeCase{fmt.Sprintf("n%02d", i), setup, c.alter, false})
	}
	if isMySQL {
		for i, c := range nativeCasesMySQL {
			setup := c.setup
			if setup == "" {
				setup = nativeBaseMySQL
			}
			cases = append(cases, nativeCase{fmt.Sprintf("my%02d", i), setup, c.alter, c.fill})
		}
	}
	filled := false
	for _, c := range cases {
		t.Run(c.name+" "+c.alter, func(t *testing.T) {
			table := c.name
			create := func() {
				sb.Exec(t, "DROP TABLE IF EXISTS "+mysqlx.Q(table))
				sb.Exec(t, fmt.Sprintf(c.setup, mysqlx.Q(table)))
			}
			switch {
			case c.fill:
				table = "rowversions"
				if !filled {
					create()
					fillRowVersions(t, sb, table)
					filled = true
				}
			default:
				create()
			}
			src, err := tableinfo.Load(ctx, sb.DB, sb.Database, table)
			if err != nil {
				t.Fatal(err)
			}
			ch, err := alter.Parse(sb.Database, table, c.alter)
			if err != nil {
				t.Fatal(err)
			}
			dst, _ := predictTable(src, ch, env)
			nt, err := readNativeTable(ctx, sb.DB, env.server, sb.Database, table)
			if err != nil {
				t.Fatal(err)
			}
			if nt.rowVersionsErr != nil {
				t.Fatalf("row versions: %v", nt.rowVersionsErr)
			}
			per, whole := nativePlan(nativeInput{server: env.server, src: src, dst: dst, change: ch, charsets: env.charsets,
				rowFormat: nt.rowFormat, hasFulltext: nt.hasFulltext, rowVersions: nt.rowVersions, schema: sb.Database})
			// Refilling a table's row versions takes a minute: there the
			// probe's own ALGORITHM=INSTANT stands for the statement.
			if whole.Statement != "" && !c.fill {
				if _, err := sb.DB.Exec(whole.Statement); err != nil {
					t.Errorf("the suggested statement %q: %v", whole.Statement, err)
				}
				create()
			}
			class, lock := probeNative(t, sb, isMySQL, table, ch.Clause)
			t.Logf("server: %s/%s; rules: %s/%s: %s", class, lock, whole.Class, whole.Lock, whole.Reason)
			for j, n := range per {
				t.Logf("  clause %d: %s/%s %s", j+1, n.Class, n.Lock, n.Reason)
			}
			if whole.Class != class || whole.Lock != lock {
				t.Errorf("rules say %s with LOCK=%s, the server does %s with LOCK=%s", whole.Class, whole.Lock, class, lock)
			}
		})
	}
}
