package migrate_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/internal/workload"
	"github.com/godwit-db/godwit/migrate"
)

// planExpect is a plan scenario's expect.json.
type planExpect struct {
	Verdict  migrate.Verdict `json:"verdict"`
	ExitCode int             `json:"exit_code"`
	// Native is the class of the whole ALTER; Clauses, if given, the
	// class of each clause in order.
	Native  migrate.NativeClass   `json:"native"`
	Clauses []migrate.NativeClass `json:"clauses"`
	// Checks maps a check name to the status it must have (every entry of
	// that name, e.g. "unique": "refused").
	Checks map[string]migrate.CheckStatus `json:"checks"`
	// AllowDropData passes --allow-drop-data.
	AllowDropData bool `json:"allow_drop_data"`
}

func planOptions(sb *sandboxtest.Sandbox, table, alter string) migrate.PlanOptions {
	return migrate.PlanOptions{Options: migrate.Options{
		Conn:  mysqlx.Config{Host: sb.Host, Port: sb.Port, User: sb.User, Password: sb.Password, Database: sb.Database},
		Table: table, Alter: alter,
	}}
}

// runSetup runs a scenario's setup.sql, one statement per ";\n" (sb.Exec
// makes MariaDB's seq_1_to_N tables work on MySQL too).
func runSetup(t *testing.T, sb *sandboxtest.Sandbox, setup string) {
	t.Helper()
	for _, stmt := range strings.Split(setup, ";\n") {
		if stmt = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(stmt), ";")); stmt != "" {
			sb.Exec(t, stmt)
		}
	}
}

// family is "mysql" or "mariadb", as the server says.
func family(sb *sandboxtest.Sandbox) string {
	if sb.IsMySQL() {
		return "mysql"
	}
	return "mariadb"
}

// readExpect reads a scenario's expectation: expect.<family>.json when
// the folder has one for the server's family (its README says why that
// family differs), else expect.json.
func readExpect(t *testing.T, read func(string) string, exists func(string) bool, family string) (planExpect, string) {
	t.Helper()
	name := "expect." + family + ".json"
	if !exists(name) {
		name = "expect.json"
	}
	var exp planExpect
	if err := json.Unmarshal([]byte(read(name)), &exp); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return exp, name
}

// schemaState is everything the planner must leave as it was: the
// database's tables, their definitions and their contents.
func schemaState(t *testing.T, db *sql.DB, database string) string {
	t.Helper()
	rows, err := db.Query("SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME", database)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	var b strings.Builder
	for rows.Next() {
		var n, typ string
		if err := rows.Scan(&n, &typ); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %s\n", n, typ)
		if typ == "BASE TABLE" {
			names = append(names, n)
		}
	}
	rows.Close()
	for _, n := range names {
		var name, create string
		if err := db.QueryRow("SHOW CREATE TABLE "+mysqlx.QT(database, n)).Scan(&name, &create); err != nil {
			t.Fatal(err)
		}
		var sum sql.NullInt64
		if err := db.QueryRow("CHECKSUM TABLE "+mysqlx.QT(database, n)).Scan(&name, &sum); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s\nchecksum %d\n", create, sum.Int64)
	}
	for _, q := range []string{
		"SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY 1",
		"SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? ORDER BY 1",
	} {
		r, err := db.Query(q, database)
		if err != nil {
			t.Fatal(err)
		}
		for r.Next() {
			var n string
			if err := r.Scan(&n); err != nil {
				t.Fatal(err)
			}
			b.WriteString(n + "\n")
		}
		r.Close()
	}
	return b.String()
}

// TestPlans runs every folder of testdata/plans: setup.sql, the ALTER,
// and the verdict, exit code, native classes and checks expected. The
// database must be exactly as it was after planning.
func TestPlans(t *testing.T) {
	forEachScenario(t, "plans", func(t *testing.T, read func(string) string) {
		sb := sandboxtest.New(t)
		exp, expName := readExpect(t, read, func(name string) bool {
			_, err := os.Stat(filepath.Join("..", "testdata", "plans", filepath.Base(t.Name()), name))
			return err == nil
		}, family(sb))
		t.Logf("expectation: %s", expName)
		runSetup(t, sb, read("setup.sql"))
		before := schemaState(t, sb.DB, sb.Database)

		opt := planOptions(sb, "t", read("alter.sql"))
		opt.AllowDropData = exp.AllowDropData
		p, err := migrate.NewPlan(context.Background(), opt)
		if err != nil {
			t.Fatalf("plan: %v", err)
		}
		out, _ := json.MarshalIndent(p, "", "  ")
		t.Logf("plan:\n%s", out)

		if after := schemaState(t, sb.DB, sb.Database); after != before {
			t.Errorf("the plan changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		if p.Verdict != exp.Verdict || p.ExitCode != exp.ExitCode || p.Verdict.ExitCode() != exp.ExitCode {
			t.Errorf("verdict %s (exit %d), want %s (exit %d): %s", p.Verdict, p.ExitCode, exp.Verdict, exp.ExitCode, p.Reason)
		}
		if exp.Native != "" && (p.Native == nil || p.Native.Class != exp.Native) {
			t.Errorf("native class of the ALTER: %+v, want %s", p.Native, exp.Native)
		}
		if exp.Clauses != nil {
			var got []migrate.NativeClass
			for _, c := range p.Clauses {
				got = append(got, c.Native.Class)
			}
			if !slices.Equal(got, exp.Clauses) {
				t.Errorf("native class per clause: %v, want %v", got, exp.Clauses)
			}
		}
		for name, status := range exp.Checks {
			got := p.Check(name)
			if len(got) == 0 {
				t.Errorf("check %s: missing, want %s", name, status)
			}
			for _, c := range got {
				if c.Status != status {
					t.Errorf("check %s: %s (%s), want %s", name, c.Status, c.Message, status)
				}
			}
		}
	})
}

// TestPlanReplicaLag plans with the sandbox's replica and with an
// address where no server listens.
func TestPlanReplicaLag(t *testing.T) {
	sb := sandboxtest.New(t)
	sb.Exec(t, "CREATE TABLE t (id INT NOT NULL PRIMARY KEY, a INT)")
	sb.WaitReplica(t)
	opt := planOptions(sb, "t", "ADD COLUMN b INT")
	replica := opt.Conn
	replica.Port = sb.ReplicaPort
	opt.Replicas = []mysqlx.Config{replica}
	p, err := migrate.NewPlan(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	if c := p.Check("replica-lag"); len(c) != 1 || c[0].Status != migrate.CheckOK || p.Verdict != migrate.VerdictSafe {
		t.Fatalf("replica-lag %+v, verdict %s", c, p.Verdict)
	}
	t.Logf("%s", p.Check("replica-lag")[0].Message)

	gone := opt.Conn
	gone.Port = 1
	opt.Replicas = []mysqlx.Config{gone}
	p, err = migrate.NewPlan(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	if c := p.Check("replica"); len(c) != 1 || c[0].Status != migrate.CheckRefused || p.Verdict != migrate.VerdictRefused {
		t.Fatalf("replica %+v, verdict %s", c, p.Verdict)
	}
}

// TestPlanDiskFree plans with MariaDB's DISKS plugin installed: the free
// space of the datadir's filesystem is reported.
func TestPlanDiskFree(t *testing.T) {
	sb := sandboxtest.New(t)
	sb.Exec(t, "CREATE TABLE t (id INT NOT NULL PRIMARY KEY, a VARCHAR(100))")
	sb.Exec(t, "INSERT INTO t SELECT seq, REPEAT('x', 100) FROM seq_1_to_1000")
	var installed int
	if err := sb.DB.QueryRow("SELECT COUNT(*) FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'DISKS'").Scan(&installed); err != nil {
		t.Fatal(err)
	}
	if installed == 0 {
		if _, err := sb.DB.Exec("INSTALL SONAME 'disks'"); err != nil {
			t.Skipf("the DISKS plugin cannot be installed here: %v", err)
		}
		t.Cleanup(func() { sb.DB.Exec("UNINSTALL SONAME 'disks'") })
	}
	p, err := migrate.NewPlan(context.Background(), planOptions(sb, "t", "MODIFY a VARCHAR(200)"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Disk == nil || len(p.Disk.Free) == 0 || p.Disk.FreeUnknown != "" {
		t.Fatalf("disk %+v", p.Disk)
	}
	if c := p.Check("disk"); len(c) != 1 || c[0].Status != migrate.CheckOK {
		t.Fatalf("disk check %+v", c)
	}
	t.Logf("%+v; %s", p.Disk.Free, p.Check("disk")[0].Message)
}

// TestPlanCalibrate measures the ratios plan_measure.go uses between the
// sample's read rate and the real copy and checksum rates. Timings never
// decide a test, so it only runs with GODWIT_PLAN_CALIBRATE=rows.
func TestPlanCalibrate(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("GODWIT_PLAN_CALIBRATE"))
	if n <= 0 {
		t.Skip("set GODWIT_PLAN_CALIBRATE=200000 to measure the estimate's ratios")
	}
	sb := sandboxtest.New(t)
	ctx := context.Background()
	if err := workload.Create(ctx, sb.DB, "t"); err != nil {
		t.Fatal(err)
	}
	if _, err := workload.Load(ctx, sb.DB, "t", n, 1); err != nil {
		t.Fatal(err)
	}
	sb.Exec(t, "ANALYZE TABLE t")
	p, err := migrate.NewPlan(ctx, planOptions(sb, "t", "MODIFY i32 BIGINT"))
	if err != nil {
		t.Fatal(err)
	}
	opt := planOptions(sb, "t", "MODIFY i32 BIGINT").Options
	opt.ChunkTime = 500 * time.Millisecond
	sum, err := migrate.Run(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	read := p.Estimate.ReadRowsPerSec
	copyRate := float64(sum.Rows) / sum.Phases[migrate.PhaseCopy].Seconds()
	sumRate := float64(sum.ChecksumRows) / sum.Phases[migrate.PhaseVerify].Seconds()
	t.Logf("read %.0f rows/s; copy %.0f rows/s (%.2f of read); checksum %.0f rows/s (%.2f of read); estimate copy %.1fs checksum %.1fs, real %s %s",
		read, copyRate, copyRate/read, sumRate, sumRate/read, p.Estimate.CopySeconds, p.Estimate.ChecksumSeconds,
		sum.Phases[migrate.PhaseCopy], sum.Phases[migrate.PhaseVerify])
}
