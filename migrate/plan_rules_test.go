package migrate

import (
	"fmt"
	"testing"

	"github.com/godwit-db/godwit/internal/tableinfo"
	"github.com/godwit-db/godwit/migrate/alter"
)

// testCharsets is enough of a server's charset table for unit tests.
func testCharsets() *charsetInfo {
	return &charsetInfo{
		defaultCollation: map[string]string{"utf8mb4": "utf8mb4_general_ci", "utf8mb3": "utf8mb3_general_ci", "latin1": "latin1_swedish_ci", "binary": "binary"},
		charsetOf:        map[string]string{"utf8mb4_general_ci": "utf8mb4", "utf8mb4_bin": "utf8mb4", "utf8mb3_general_ci": "utf8mb3", "latin1_swedish_ci": "latin1"},
		maxLen:           map[string]int64{"utf8mb4": 4, "utf8mb3": 3, "latin1": 1, "binary": 1},
	}
}

// rulesTable is t (id INT PK, a VARCHAR(10), w VARCHAR(50), b INT, KEY ib (b)) in utf8mb4.
func rulesTable() *tableinfo.Table {
	vc := func(name string, n int64) tableinfo.Column {
		return tableinfo.Column{Name: name, DataType: "varchar", ColumnType: "varchar(" + itoa(n) + ")", Nullable: true,
			Charset: "utf8mb4", Collation: "utf8mb4_general_ci", MaxLength: n}
	}
	return &tableinfo.Table{
		Schema: "d", Name: "t", Engine: "InnoDB", Collation: "utf8mb4_general_ci",
		Columns: []tableinfo.Column{
			{Name: "id", Position: 0, DataType: "int", ColumnType: "int(11)", Precision: 10},
			vc("a", 10), vc("w", 50), vc("v", 100),
			{Name: "b", DataType: "int", ColumnType: "int(11)", Nullable: true, Precision: 10},
		},
		Indexes: []tableinfo.Index{{Name: "PRIMARY", Unique: true, Columns: []string{"id"}}, {Name: "ib", Columns: []string{"b"}}},
	}
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// TestPlanRulesByVersion holds the documented rules for the versions no
// test server here runs (MySQL 8.0/8.4, MariaDB 10.3, 11.4).
func TestPlanRulesByVersion(t *testing.T) {
	for _, tc := range []struct {
		flavor, version, alter string
		class                  NativeClass
		lock                   string
	}{
		{"mysql", "8.0.20", "ADD COLUMN c INT", NativeInstant, "none"},
		{"mysql", "8.0.20", "ADD COLUMN c INT FIRST", NativeRebuild, "none"},
		{"mysql", "8.0.29", "ADD COLUMN c INT FIRST", NativeInstant, "none"},
		{"mysql", "8.0.11", "ADD COLUMN c INT", NativeRebuild, "none"},
		{"mysql", "8.0.20", "DROP COLUMN a", NativeRebuild, "none"},
		{"mysql", "8.4.0", "DROP COLUMN a", NativeInstant, "none"},
		{"mysql", "8.4.0", "DROP COLUMN b", NativeRebuild, "none"},
		{"mysql", "8.0.27", "RENAME COLUMN a TO a2", NativeInplace, "none"},
		{"mysql", "8.0.28", "RENAME COLUMN a TO a2", NativeInstant, "none"},
		{"mysql", "8.4.0", "MODIFY a VARCHAR(20)", NativeInplace, "none"},  // 40 -> 80 bytes
		{"mysql", "8.4.0", "MODIFY w VARCHAR(100)", NativeCopy, "shared"},  // 200 -> 400 bytes
		{"mysql", "8.4.0", "MODIFY v VARCHAR(200)", NativeInplace, "none"}, // 400 -> 800 bytes
		{"mysql", "8.4.0", "MODIFY b BIGINT", NativeCopy, "shared"},
		{"mysql", "8.4.0", "MODIFY b INT NOT NULL", NativeRebuild, "none"},
		{"mysql", "8.4.0", "ADD INDEX (a)", NativeInplace, "none"},
		{"mysql", "8.4.0", "ADD COLUMN c INT, ADD INDEX (a)", NativeRebuild, "none"},
		{"mysql", "8.4.0", "CONVERT TO CHARACTER SET utf8mb4", NativeInplace, "none"}, // already utf8mb4: the table default only
		{"mysql", "8.4.0", "CONVERT TO CHARACTER SET latin1", NativeCopy, "shared"},
		{"mysql", "8.4.0", "MODIFY a VARCHAR(10) COLLATE utf8mb4_bin", NativeInplace, "none"},
		{"mysql", "8.4.0", "MODIFY a VARCHAR(10) COLLATE utf8mb4_bin, ADD COLUMN c INT", NativeRebuild, "none"},
		{"mysql", "8.4.0", "DEFAULT CHARSET=latin1", NativeInplace, "none"},
		{"mysql", "8.4.0", "MODIFY b INT AFTER v", NativeInstant, "none"}, // where it is already
		{"mysql", "8.4.0", "MODIFY b INT AFTER a", NativeRebuild, "none"},
		{"mysql", "8.4.0", "ADD CONSTRAINT ck CHECK (b > 0)", NativeCopy, "shared"},
		{"mysql", "8.4.0", "ADD CONSTRAINT ck CHECK (b > 0) NOT ENFORCED", NativeInstant, "none"},
		{"mysql", "8.4.0", "ADD COLUMN c INT AS (b + 1) VIRTUAL, COMMENT 'x'", NativeCopy, "shared"},
		{"mysql", "8.4.0", "ADD COLUMN c INT AS (b + 1) VIRTUAL, ADD INDEX (c)", NativeInplace, "shared"},
		{"mysql", "8.4.0", "DROP PRIMARY KEY", NativeCopy, "shared"},
		{"mariadb", "10.3.39", "ADD COLUMN c INT", NativeInstant, "none"},
		{"mariadb", "10.3.39", "ADD COLUMN c INT FIRST", NativeRebuild, "none"},
		{"mariadb", "10.3.39", "DROP COLUMN a", NativeRebuild, "none"},
		{"mariadb", "10.3.39", "MODIFY w VARCHAR(100)", NativeCopy, "shared"},
		{"mariadb", "10.4.34", "MODIFY w VARCHAR(100)", NativeCopy, "shared"},
		{"mariadb", "10.4.34", "MODIFY a VARCHAR(100)", NativeInstant, "none"},
		{"mariadb", "10.4.34", "RENAME INDEX ib TO ib2", NativeUnknown, "none"},
		{"mariadb", "10.6.20", "RENAME INDEX ib TO ib2", NativeInstant, "none"},
		{"mariadb", "11.4.5", "MODIFY b BIGINT", NativeCopy, "none"},
		{"mariadb", "10.2.44", "ADD COLUMN c INT", NativeUnknown, "shared"},
	} {
		t.Run(tc.flavor+" "+tc.version+" "+tc.alter, func(t *testing.T) {
			env := predictEnv{server: parseServerVersion(Server{Flavor: tc.flavor, Version: tc.version + "-log"}), charsets: testCharsets(), explicitTimestamp: true}
			src := rulesTable()
			ch, err := alter.Parse("d", "t", tc.alter)
			if err != nil {
				t.Fatal(err)
			}
			dst, notes := predictTable(src, ch, env)
			if len(notes) > 0 {
				t.Fatalf("not predicted: %q", notes)
			}
			_, whole := nativePlan(nativeInput{server: env.server, src: src, dst: dst, change: ch, charsets: env.charsets, rowFormat: "dynamic", schema: "d"})
			if whole.Class != tc.class || whole.Lock != tc.lock {
				t.Errorf("%s/%s (%s), want %s/%s", whole.Class, whole.Lock, whole.Reason, tc.class, tc.lock)
			}
		})
	}
}

// TestPlanRulesMySQLTable: what MySQL's rules read of the table itself,
// its row versions, row format and FULLTEXT index.
func TestPlanRulesMySQLTable(t *testing.T) {
	for _, tc := range []struct {
		version, alter, rowFormat string
		rowVersions               int64
		fulltext                  bool
		class                     NativeClass
		lock                      string
	}{
		{"8.0.36", "ADD COLUMN c INT", "dynamic", 63, false, NativeInstant, "none"},
		{"8.0.36", "ADD COLUMN c INT", "dynamic", 64, false, NativeRebuild, "none"},
		{"9.0.1", "DROP COLUMN a", "dynamic", 64, false, NativeRebuild, "none"},
		{"9.1.0", "ADD COLUMN c INT", "dynamic", 64, false, NativeInstant, "none"},
		{"9.7.4", "ADD COLUMN c INT", "dynamic", 255, false, NativeRebuild, "none"},
		{"9.7.4", "ADD COLUMN c INT", "dynamic", -1, false, NativeInstant, "none"}, // unknown: not assumed used up
		{"9.7.4", "RENAME COLUMN a TO a2", "dynamic", 255, false, NativeInstant, "none"},
		{"9.7.4", "ADD COLUMN c INT AS (b + 1) VIRTUAL", "dynamic", 255, false, NativeInstant, "none"},
		{"8.0.20", "ADD COLUMN c INT", "dynamic", 0, false, NativeInstant, "none"}, // no row versions before 8.0.29
		{"9.7.4", "ADD COLUMN c INT", "compressed", 0, false, NativeRebuild, "none"},
		{"9.7.4", "ADD COLUMN c INT", "dynamic", 0, true, NativeCopy, "shared"},
		{"9.7.4", "FORCE", "dynamic", 0, true, NativeCopy, "shared"},
		{"9.7.4", "RENAME COLUMN a TO a2", "dynamic", 0, true, NativeInstant, "none"},
		{"9.7.4", "ADD INDEX (a)", "dynamic", 0, true, NativeInplace, "none"},
	} {
		t.Run(fmt.Sprintf("%s %s %s %d %v", tc.version, tc.alter, tc.rowFormat, tc.rowVersions, tc.fulltext), func(t *testing.T) {
			env := predictEnv{server: parseServerVersion(Server{Flavor: "mysql", Version: tc.version}), charsets: testCharsets(), explicitTimestamp: true}
			src := rulesTable()
			ch, err := alter.Parse("d", "t", tc.alter)
			if err != nil {
				t.Fatal(err)
			}
			dst, _ := predictTable(src, ch, env)
			_, whole := nativePlan(nativeInput{server: env.server, src: src, dst: dst, change: ch, charsets: env.charsets,
				rowFormat: tc.rowFormat, hasFulltext: tc.fulltext, rowVersions: tc.rowVersions, schema: "d"})
			if whole.Class != tc.class || whole.Lock != tc.lock {
				t.Errorf("%s/%s (%s), want %s/%s", whole.Class, whole.Lock, whole.Reason, tc.class, tc.lock)
			}
		})
	}
}

// TestPlanRulesStatement: the native statement suggested is one the
// server's family accepts (MySQL has no NOCOPY and no LOCK with INSTANT).
func TestPlanRulesStatement(t *testing.T) {
	for _, tc := range []struct {
		flavor, version, alter, want string
	}{
		{"mariadb", "10.11.19", "ADD COLUMN c INT", "ALTER TABLE `d`.`t` ADD COLUMN c INT, ALGORITHM=INSTANT"},
		{"mariadb", "10.11.19", "ADD INDEX ia (a)", "ALTER TABLE `d`.`t` ADD INDEX ia (a), ALGORITHM=NOCOPY, LOCK=NONE"},
		{"mysql", "9.7.4", "ADD COLUMN c INT", "ALTER TABLE `d`.`t` ADD COLUMN c INT, ALGORITHM=INSTANT"},
		{"mysql", "9.7.4", "ADD INDEX ia (a)", "ALTER TABLE `d`.`t` ADD INDEX ia (a), ALGORITHM=INPLACE, LOCK=NONE"},
		{"mysql", "9.7.4", "MODIFY a VARCHAR(20)", "ALTER TABLE `d`.`t` MODIFY a VARCHAR(20), ALGORITHM=INPLACE, LOCK=NONE"},
		{"mysql", "9.7.4", "FORCE", ""},
	} {
		t.Run(tc.flavor+" "+tc.alter, func(t *testing.T) {
			env := predictEnv{server: parseServerVersion(Server{Flavor: tc.flavor, Version: tc.version}), charsets: testCharsets(), explicitTimestamp: true}
			src := rulesTable()
			ch, err := alter.Parse("d", "t", tc.alter)
			if err != nil {
				t.Fatal(err)
			}
			dst, _ := predictTable(src, ch, env)
			_, whole := nativePlan(nativeInput{server: env.server, src: src, dst: dst, change: ch, charsets: env.charsets, rowFormat: "dynamic", rowVersions: -1, schema: "d"})
			if whole.Statement != tc.want {
				t.Errorf("statement %q, want %q", whole.Statement, tc.want)
			}
		})
	}
}

func TestPlanInnodbName(t *testing.T) {
	for _, tc := range []struct {
		schema, table, want string
		ok                  bool
	}{
		{"d", "t_1", "d/t_1", true},
		{"my-db", "a$b.c d", "my@002ddb/a@0024b@002ec@0020d", true},
		{"d", "tä", "", false},
	} {
		got, ok := innodbName(tc.schema, tc.table)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("%s.%s: %q %v, want %q %v", tc.schema, tc.table, got, ok, tc.want, tc.ok)
		}
	}
}

func TestPlanParseServerVersion(t *testing.T) {
	for _, tc := range []struct {
		in   Server
		want serverVersion
	}{
		{Server{Flavor: "mariadb", Version: "10.11.19-MariaDB-0+deb12u1-log"}, serverVersion{"mariadb", 10, 11, 19}},
		{Server{Flavor: "mysql", Version: "8.0.36"}, serverVersion{"mysql", 8, 0, 36}},
		{Server{Flavor: "mysql", Version: "8.4.0-commercial"}, serverVersion{"mysql", 8, 4, 0}},
	} {
		if got := parseServerVersion(tc.in); got != tc.want {
			t.Errorf("%q: %+v, want %+v", tc.in.Version, got, tc.want)
		}
	}
	v := serverVersion{"mariadb", 10, 11, 19}
	if !v.atLeast(10, 4, 3) || v.atLeast(11, 2, 0) || !v.atLeast(10, 11, 19) || v.atLeast(10, 11, 20) {
		t.Error("atLeast is wrong")
	}
}

// TestPlanPredictMySQLTypes: MySQL 8.0.19+ prints integer types without
// display width and keeps JSON.
func TestPlanPredictMySQLTypes(t *testing.T) {
	env := predictEnv{server: serverVersion{"mysql", 8, 0, 36}, charsets: testCharsets(), explicitTimestamp: true}
	ch, err := alter.Parse("d", "t", "ADD COLUMN x INT UNSIGNED, ADD COLUMN y TINYINT(1), ADD COLUMN z JSON, ADD COLUMN yr YEAR, ADD COLUMN u INT(4) ZEROFILL")
	if err != nil {
		t.Fatal(err)
	}
	dst, notes := predictTable(rulesTable(), ch, env)
	if len(notes) > 0 {
		t.Fatal(notes)
	}
	for name, want := range map[string]string{"x": "int unsigned", "y": "tinyint(1)", "z": "json", "yr": "year", "u": "int(4) unsigned zerofill"} {
		if c, _ := dst.Column(name); c.ColumnType != want {
			t.Errorf("%s: %q, want %q", name, c.ColumnType, want)
		}
	}
}

// TestPlanPredictNotChecked: what the prediction cannot tell is named,
// and the column keeps its old definition so no data check fires on it.
func TestPlanPredictNotChecked(t *testing.T) {
	env := predictEnv{server: serverVersion{"mariadb", 10, 11, 19}, charsets: testCharsets(), explicitTimestamp: true}
	ch, err := alter.Parse("d", "t", "MODIFY b VECTOR(3), CONVERT TO CHARACTER SET binary")
	if err != nil {
		t.Fatal(err)
	}
	dst, notes := predictTable(rulesTable(), ch, env)
	if len(notes) != 2 {
		t.Fatalf("notes %q, want two", notes)
	}
	if c, _ := dst.Column("b"); c.ColumnType != "int(11)" {
		t.Errorf("b predicted as %q, want its old int(11)", c.ColumnType)
	}
}
