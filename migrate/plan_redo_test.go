package migrate_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/migrate"
)

// TestPlanIndexBuild: the plan weighs the indexes built after the copy
// against the server's redo log, only when migrate would build some.
func TestPlanIndexBuild(t *testing.T) {
	sb := sandboxtest.New(t)
	sb.Exec(t, "CREATE TABLE t (id INT NOT NULL PRIMARY KEY, k INT NOT NULL, a VARCHAR(20), KEY k (k))")
	sb.Exec(t, "INSERT INTO t SELECT seq, seq % 100, 'x' FROM seq_1_to_1000")
	sb.Exec(t, "CREATE TABLE plain (id INT NOT NULL PRIMARY KEY, a VARCHAR(20))")
	// MySQL 8.0.30+ sizes its redo log with innodb_redo_log_capacity;
	// MariaDB keeps one file of innodb_log_file_size.
	variable := "innodb_log_file_size"
	if sb.IsMySQL() {
		variable = "innodb_redo_log_capacity"
	}
	var size int64
	var name, v string
	if err := sb.DB.QueryRow("SHOW GLOBAL VARIABLES LIKE '"+variable+"'").Scan(&name, &v); err != nil {
		t.Fatalf("%s: %v", variable, err)
	}
	size, _ = strconv.ParseInt(v, 10, 64)
	for _, tc := range []struct {
		name, table string
		deferIdx    bool
		want        migrate.CheckStatus // "" for no check
	}{
		{"deferred index", "t", true, migrate.CheckOK},
		{"--defer-indexes=false", "t", false, ""},
		{"no secondary index", "plain", true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opt := planOptions(sb, tc.table, "MODIFY a VARCHAR(40)")
			opt.DeferIndexes, opt.ForceCopy = tc.deferIdx, true
			p, err := migrate.NewPlan(context.Background(), opt)
			if err != nil {
				t.Fatal(err)
			}
			c := p.Check("index-build")
			if tc.want == "" {
				if len(c) != 0 {
					t.Fatalf("index-build %+v, want none", c)
				}
				return
			}
			if len(c) != 1 || c[0].Status != tc.want || !strings.Contains(c[0].Message, migrate.FormatBytes(size)+" redo log") || !strings.Contains(c[0].Message, "(k;") {
				t.Fatalf("index-build %+v, want %s naming index k and the %s redo log", c, tc.want, migrate.FormatBytes(size))
			}
			t.Log(c[0].Message)
		})
	}
}
