package migrate

import (
	"context"
	"fmt"
	"strings"
	"testing"

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
	{"CREATE TABLE %s (id INT PRIMARY KEY, e INT, CONSTRAINT ck CHECK (e >= 0))", "DROP CONSTRAINT ck"},
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

// probeNative asks the server what it can do with clause on table name:
// the cheapest ALGORITHM/LOCK pair it accepts. A refused ALTER changes
// nothing, so one table serves every try.
func probeNative(t *testing.T, sb *sandboxtest.Sandbox, name, clause string) (NativeClass, string) {
	t.Helper()
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

// TestPlanNativeRulesOnServer checks the rule table against the sandbox
// server: for each case the rules' class for the whole ALTER must be the
// cheapest ALGORITHM the server accepts. This test creates scratch tables
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
	for i, c := range nativeCases {
		t.Run(fmt.Sprintf("%02d %s", i, c.alter), func(t *testing.T) {
			name := fmt.Sprintf("n%02d", i)
			setup := c.setup
			if setup == "" {
				setup = nativeBase
			}
			sb.Exec(t, fmt.Sprintf(setup, mysqlx.Q(name)))
			src, err := tableinfo.Load(ctx, sb.DB, sb.Database, name)
			if err != nil {
				t.Fatal(err)
			}
			ch, err := alter.Parse(sb.Database, name, c.alter)
			if err != nil {
				t.Fatal(err)
			}
			dst, _ := predictTable(src, ch, env)
			var rowFormat string
			var fulltext int
			if err := sb.DB.QueryRow(`SELECT ROW_FORMAT, (SELECT COUNT(*) FROM information_schema.STATISTICS
				WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_TYPE = 'FULLTEXT')
				FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`, name, name).Scan(&rowFormat, &fulltext); err != nil {
				t.Fatal(err)
			}
			per, whole := nativePlan(nativeInput{server: env.server, src: src, dst: dst, change: ch, charsets: env.charsets,
				rowFormat: strings.ToLower(rowFormat), hasFulltext: fulltext > 0, schema: sb.Database})
			class, lock := probeNative(t, sb, name, ch.Clause)
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
