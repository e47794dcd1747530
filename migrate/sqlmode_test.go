package migrate_test

import (
	"context"
	"database/sql/driver"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/internal/workload"
	"github.com/godwit-db/godwit/migrate"
)

const strictSQLMode = "STRICT_TRANS_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"

// zeroInDateDefault is an ALTER that NO_ZERO_IN_DATE refuses natively.
const zeroInDateDefault = "MODIFY dt DATETIME NOT NULL DEFAULT '1970-00-00 00:00:00'"

// strictServer sets the server's global sql_mode to strictSQLMode until
// restore, or the test's end. Keep the time short: the sessions other
// tests open meanwhile start with it too.
func strictServer(t *testing.T, sb *sandboxtest.Sandbox) (restore func()) {
	t.Helper()
	old := sb.Strings(t, "SELECT @@GLOBAL.sql_mode")[0]
	sb.Exec(t, "SET GLOBAL sql_mode = ?", strictSQLMode)
	var done bool
	restore = func() {
		if done {
			return
		}
		done = true
		if _, err := sb.DB.Exec("SET GLOBAL sql_mode = ?", old); err != nil {
			t.Errorf("restore the global sql_mode: %v", err)
		}
	}
	t.Cleanup(restore)
	return restore
}

// session runs queries on one session of sb under mode.
func session(ctx context.Context, t *testing.T, sb *sandboxtest.Sandbox, mode string, queries ...string) error {
	t.Helper()
	conn, err := sb.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Discarded, not pooled: its sql_mode is the test's.
	defer func() { _ = conn.Raw(func(any) error { return driver.ErrBadConn }) }()
	if _, err := conn.ExecContext(ctx, "SET SESSION sql_mode = "+mode); err != nil {
		t.Fatal(err)
	}
	for _, q := range queries {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// zeroDateTable creates e, holding the zero dates a permissive session
// once wrote, and returns its rows as text.
func zeroDateTable(ctx context.Context, t *testing.T, sb *sandboxtest.Sandbox) []string {
	t.Helper()
	sb.Exec(t, "CREATE TABLE e (id INT NOT NULL PRIMARY KEY, dt DATETIME NOT NULL DEFAULT '2000-01-01 00:00:00', d DATE NULL)")
	if err := session(ctx, t, sb, "''", "INSERT INTO e VALUES (1, '0000-00-00 00:00:00', '0000-00-00'), (2, '2020-00-10 10:00:00', '2020-05-00'), (3, '2024-02-29 12:00:00', NULL)"); err != nil {
		t.Fatal(err)
	}
	return rowsOfE(t, sb)
}

func rowsOfE(t *testing.T, sb *sandboxtest.Sandbox) []string {
	return sb.Strings(t, "SELECT CONCAT_WS('|', id, CAST(dt AS CHAR), IFNULL(CAST(d AS CHAR), 'NULL')) FROM e ORDER BY id")
}

// TestAlterUnderServerSQLMode: under the server's strict global sql_mode
// an ALTER refused natively is refused by godwit too, before anything is
// created; one the mode allows runs and keeps the zero dates already in
// the table; --sql-mode names another mode; a table migrated under writes
// meanwhile matches its writers.
func TestAlterUnderServerSQLMode(t *testing.T) {
	sb := sandboxtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	before := zeroDateTable(ctx, t, sb)
	restore := strictServer(t, sb)

	// The premise: natively, the application's sessions cannot.
	sb.Exec(t, "CREATE TABLE e_native LIKE e")
	err := session(ctx, t, sb, "@@GLOBAL.sql_mode", "ALTER TABLE e_native "+zeroInDateDefault)
	if err == nil || !strings.Contains(err.Error(), "Invalid default value") {
		t.Fatalf("native ALTER under %s: %v, want Invalid default value", strictSQLMode, err)
	}
	sb.Exec(t, "DROP TABLE e_native")

	_, err = migrate.Run(ctx, options(sb, "e", zeroInDateDefault))
	var r *migrate.Refusal
	if !errors.As(err, &r) || r.Check != "alter" || !strings.Contains(r.Reason, "Invalid default value") || !strings.Contains(r.Reason, "NO_ZERO_IN_DATE") {
		t.Fatalf("migrate under the server's strict sql_mode: %v, want the ALTER refused, naming the mode", err)
	}
	if got := strings.Join(tables(t, sb), ","); got != "e" {
		t.Fatalf("tables after the refusal: %s, want only e", got)
	}

	p, err := migrate.NewPlan(ctx, migrate.PlanOptions{Options: options(sb, "e", zeroInDateDefault)})
	if err != nil {
		t.Fatal(err)
	}
	if p.Verdict != migrate.VerdictRefused || !strings.Contains(planText(t, p), "Invalid default value") {
		t.Errorf("plan under the server's strict sql_mode: verdict %s, want refused with the server's reason:\n%s", p.Verdict, planText(t, p))
	}
	if got := strings.Join(tables(t, sb), ","); got != "e" {
		t.Fatalf("tables after the plan: %s, want only e", got)
	}

	// Allowed by the mode: the copy still takes the zero dates in the table.
	if _, err := migrate.Run(ctx, options(sb, "e", "MODIFY dt DATETIME NOT NULL DEFAULT '1999-01-01 00:00:00'")); err != nil {
		t.Fatalf("migrate an ALTER the strict mode allows over zero dates: %v", err)
	}
	if after := rowsOfE(t, sb); strings.Join(after, ";") != strings.Join(before, ";") {
		t.Fatalf("rows after the migration: %q, want %q", after, before)
	}
	sb.Exec(t, "DROP TABLE _e_old")
	restore()

	// --sql-mode names the mode: strict refuses, permissive allows.
	opt := options(sb, "e", zeroInDateDefault)
	strict := strictSQLMode
	opt.SQLMode = &strict
	if _, err := migrate.Run(ctx, opt); !errors.As(err, &r) || r.Check != "alter" || !strings.Contains(r.Reason, "--sql-mode") {
		t.Fatalf("migrate with --sql-mode %s: %v, want the ALTER refused", strict, err)
	}
	permissive := "NO_ENGINE_SUBSTITUTION"
	opt.SQLMode = &permissive
	if _, err := migrate.Run(ctx, opt); err != nil {
		t.Fatalf("migrate with --sql-mode %s: %v", permissive, err)
	}
	if got := sb.Strings(t, "SELECT COLUMN_DEFAULT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'e' AND COLUMN_NAME = 'dt'"); len(got) != 1 || !strings.Contains(got[0], "1970-00-00") {
		t.Errorf("default of dt after the migration: %q", got)
	}
	bad := "STRICT_TRANS_TABLES'; DROP TABLE e; --"
	opt.SQLMode = &bad
	if _, err := migrate.Run(ctx, opt); !errors.As(err, &r) || r.Check != "sql-mode" {
		t.Errorf("migrate with --sql-mode %q: %v, want it refused", bad, err)
	}

	// Under writes, the ALTER under the server's mode: the copy path is unchanged.
	model := workloadTable(ctx, t, sb, 5000, 41)
	run := workload.Start(ctx, sb.DB, "t", model, workload.Options{Writers: 2, Rate: 200, Seed: 42})
	time.Sleep(200 * time.Millisecond)
	opt = options(sb, "t", "ADD COLUMN w DATE NOT NULL DEFAULT '2001-02-03'")
	opt.SQLMode = &strict
	_, err = migrate.Run(ctx, opt)
	time.Sleep(200 * time.Millisecond)
	stats, werr := run.Stop()
	if err != nil || werr != nil {
		t.Fatalf("migrate under writes with the strict mode: %v (writers: %v)", err, werr)
	}
	if stats.Inserts == 0 || stats.Updates == 0 {
		t.Fatalf("the writers did not write: %+v", stats)
	}
	w := "2001-02-03"
	if err := model.Compare(ctx, sb.DB, "t", workload.Expect{Added: map[string]*string{"w": &w}}); err != nil {
		t.Fatalf("the migrated table differs from what the writers committed: %v", err)
	}
}

func planText(t *testing.T, p *migrate.Plan) string {
	var b strings.Builder
	for _, c := range p.Checks {
		b.WriteString(c.Check + " " + string(c.Status) + ": " + c.Message + "\n")
	}
	return b.String()
}
