package migrate

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/internal/tableinfo"
	"github.com/godwit-db/godwit/migrate/alter"
)

// predictBase is the table every prediction case starts from: many
// types, charsets and kinds of index.
const predictBase = `CREATE TABLE %s (
	id INT NOT NULL PRIMARY KEY,
	a VARCHAR(10),
	b INT,
	c VARCHAR(100) CHARACTER SET utf8mb3,
	d ENUM('x','y'),
	e INT NOT NULL DEFAULT 0,
	f TEXT,
	g VARCHAR(60) CHARACTER SET latin1,
	h CHAR(5),
	s SET('a','b'),
	dt DATETIME(3),
	n DECIMAL(7,2),
	u VARCHAR(20) CHARACTER SET utf8mb3,
	tt TINYTEXT CHARACTER SET utf8mb3,
	bl BLOB,
	KEY ib (b), KEY iab (a, b), UNIQUE KEY uu (u), KEY ipre (f(10))
) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`

// predictCases are ALTERs whose predicted result must equal what the
// server makes of them.
var predictCases = []string{
	"ADD COLUMN x INT",
	"ADD COLUMN x INT(5) UNSIGNED ZEROFILL FIRST",
	"ADD COLUMN x BOOL NOT NULL DEFAULT 0 AFTER a",
	"ADD COLUMN x TINYINT UNSIGNED, ADD COLUMN y SMALLINT, ADD COLUMN z MEDIUMINT UNSIGNED, ADD COLUMN w BIGINT UNSIGNED",
	"ADD COLUMN x DECIMAL, ADD COLUMN y DECIMAL(5), ADD COLUMN z NUMERIC(9,3) UNSIGNED",
	"ADD COLUMN x FLOAT, ADD COLUMN y FLOAT(7,2), ADD COLUMN z DOUBLE, ADD COLUMN w REAL",
	"ADD COLUMN x VARCHAR(10) CHARACTER SET latin1, ADD COLUMN y VARCHAR(5) COLLATE utf8mb4_bin, ADD COLUMN z CHAR",
	"ADD COLUMN x VARCHAR(5) BINARY, ADD COLUMN y VARCHAR(5) CHARACTER SET latin1 BINARY",
	"ADD COLUMN x VARCHAR(5) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
	"ADD COLUMN x TEXT, ADD COLUMN y TEXT(100), ADD COLUMN z TEXT(50) CHARACTER SET latin1, ADD COLUMN w MEDIUMTEXT",
	"ADD COLUMN x BINARY(3), ADD COLUMN y VARBINARY(3), ADD COLUMN z BLOB(100), ADD COLUMN w LONGBLOB",
	"ADD COLUMN x ENUM('p','q''r') NOT NULL DEFAULT 'p', ADD COLUMN y SET('a','bb','ccc')",
	"ADD COLUMN x ENUM('a','b') CHARACTER SET latin1",
	"ADD COLUMN x DATETIME(6), ADD COLUMN y TIMESTAMP NULL, ADD COLUMN z TIME(3), ADD COLUMN w DATE, ADD COLUMN v YEAR",
	"ADD COLUMN x TIMESTAMP",
	"ADD COLUMN x BIT, ADD COLUMN y BIT(5)",
	"ADD COLUMN x JSON",
	"ADD COLUMN x INT AS (b + 1) VIRTUAL",
	"ADD COLUMN x INT UNIQUE",
	"ADD COLUMN x INT NOT NULL AUTO_INCREMENT UNIQUE",
	"ADD COLUMN x SERIAL",
	"ADD (x INT, y INT, INDEX (x))",
	"DROP COLUMN e",
	"DROP COLUMN b",
	"DROP COLUMN a",
	"MODIFY a VARCHAR(20)",
	"MODIFY a VARCHAR(20) NOT NULL",
	"MODIFY a VARCHAR(5) AFTER e",
	"MODIFY c VARCHAR(100)",
	"MODIFY c VARCHAR(100) CHARACTER SET utf8mb4",
	"MODIFY g VARCHAR(60) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
	"MODIFY b BIGINT UNSIGNED NOT NULL",
	"MODIFY b VARCHAR(11)",
	"MODIFY e INT NULL FIRST",
	"MODIFY d ENUM('x','y','z') NOT NULL DEFAULT 'x'",
	"MODIFY s SET('a')",
	"MODIFY n DECIMAL(5,1)",
	"MODIFY dt DATETIME",
	"MODIFY f MEDIUMTEXT",
	"MODIFY u VARCHAR(20) UNIQUE",
	"CHANGE a a2 VARCHAR(10)",
	"CHANGE b bb BIGINT AFTER id",
	"CHANGE a b VARCHAR(10), CHANGE b a INT",
	"RENAME COLUMN a TO A2",
	"RENAME COLUMN b TO b2, ADD INDEX (b2)",
	"ALTER COLUMN e SET DEFAULT 3",
	"ADD INDEX (e), ADD INDEX (e, b), ADD UNIQUE (a, e)",
	"ADD INDEX ie (e), ADD UNIQUE KEY ue2 (e, id)",
	"ADD INDEX (b)",
	"ADD INDEX (a(3), b)",
	"DROP INDEX ib",
	"DROP INDEX iab, ADD INDEX iab (b, a)",
	"RENAME INDEX ib TO ib2",
	"DROP PRIMARY KEY, ADD PRIMARY KEY (id, e)",
	"DROP PRIMARY KEY, ADD PRIMARY KEY (id, b)",
	"ADD UNIQUE KEY (u, e)",
	"CONVERT TO CHARACTER SET utf8mb4",
	"CONVERT TO CHARACTER SET latin1",
	"CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
	"DEFAULT CHARSET=latin1, ADD COLUMN x VARCHAR(5)",
	"CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci, ADD COLUMN x VARCHAR(5)",
	"DROP COLUMN e, ADD COLUMN e VARCHAR(3)",
	"ENGINE=InnoDB",
	"FORCE",
	"COMMENT = 'x'",
	"DROP PRIMARY KEY, ADD PRIMARY KEY (id, a)",
	"MODIFY a VARCHAR(10) COLLATE utf8mb4_bin",
	"ADD COLUMN x VARCHAR(5) CHARACTER SET utf8, MODIFY c VARCHAR(100) COLLATE utf8_bin",
	"ADD COLUMN x INT AFTER a, ADD COLUMN y INT AFTER x",
	"MODIFY a VARCHAR(10) CHARACTER SET ascii",
	"MODIFY tt TEXT, MODIFY bl MEDIUMBLOB NOT NULL",
	"DROP PRIMARY KEY, ADD COLUMN x INT NOT NULL AUTO_INCREMENT PRIMARY KEY FIRST",
	"DROP COLUMN u, DROP COLUMN f",
}

// TestPlanPredictMatchesServer creates the base table, predicts each
// ALTER, runs it for real on a copy and compares every predicted column
// and index with what information_schema shows.
func TestPlanPredictMatchesServer(t *testing.T) {
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
	for i, text := range predictCases {
		t.Run(fmt.Sprintf("%02d %s", i, text), func(t *testing.T) {
			name := fmt.Sprintf("p%02d", i)
			sb.Exec(t, fmt.Sprintf(predictBase, mysqlx.Q(name)))
			src, err := tableinfo.Load(ctx, sb.DB, sb.Database, name)
			if err != nil {
				t.Fatal(err)
			}
			ch, err := alter.Parse(sb.Database, name, text)
			if err != nil {
				t.Fatal(err)
			}
			got, notes := predictTable(src, ch, env)
			if len(notes) > 0 {
				t.Errorf("not predicted: %q", notes)
			}
			sb.Exec(t, fmt.Sprintf("ALTER TABLE %s %s", mysqlx.Q(name), ch.Clause))
			want, err := tableinfo.Load(ctx, sb.DB, sb.Database, name)
			if err != nil {
				t.Fatal(err)
			}
			compareTables(t, got, want)
		})
	}
}

func compareTables(t *testing.T, got, want *tableinfo.Table) {
	t.Helper()
	if got.Collation != want.Collation {
		t.Errorf("table collation: predicted %s, server %s", got.Collation, want.Collation)
	}
	names := func(cs []tableinfo.Column) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Name)
		}
		return out
	}
	if !slices.Equal(names(got.Columns), names(want.Columns)) {
		t.Errorf("columns: predicted %v, server %v", names(got.Columns), names(want.Columns))
		return
	}
	for i := range want.Columns {
		if g, w := got.Columns[i], want.Columns[i]; g != w {
			t.Errorf("column %s:\npredicted %+v\nserver    %+v", w.Name, g, w)
		}
	}
	show := func(ixs []tableinfo.Index) string {
		var out []string
		for _, ix := range ixs {
			out = append(out, fmt.Sprintf("%s unique=%v prefix=%v (%s)", ix.Name, ix.Unique, ix.Prefix, strings.Join(ix.Columns, ",")))
		}
		return strings.Join(out, "; ")
	}
	if g, w := show(got.Indexes), show(want.Indexes); g != w {
		t.Errorf("indexes:\npredicted %s\nserver    %s", g, w)
	}
}
