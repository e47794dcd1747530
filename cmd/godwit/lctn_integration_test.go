package main

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/workload"
)

// TestLowerCaseTableNames migrates, on servers with lower_case_table_names=1
// (a private sandbox: MySQL takes the setting only when its datadir is
// initialized), a table created as Orders, which the server stores and
// logs as orders, naming it --database <upper case> --table Orders, while
// writers change it: the binlog filter must match the name the server
// logs, or the changes made during the copy are lost. The result must
// equal what the writers committed, row for row.
func TestLowerCaseTableNames(t *testing.T) {
	sb, _ := privateSandbox(t, "GODWIT_SANDBOX_LCTN=1")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var lctn int
	if err := sb.DB.QueryRow("SELECT @@lower_case_table_names").Scan(&lctn); err != nil || lctn != 1 {
		t.Fatalf("the private sandbox has lower_case_table_names %d (%v), want 1", lctn, err)
	}
	if err := workload.Create(ctx, sb.DB, "Orders"); err != nil {
		t.Fatal(err)
	}
	model, err := workload.Load(ctx, sb.DB, "Orders", 20_000, 1)
	if err != nil {
		t.Fatal(err)
	}
	run := workload.Start(ctx, sb.DB, "Orders", model, workload.Options{Writers: 3, Rate: 300, Seed: 2})
	time.Sleep(200 * time.Millisecond)
	res := runGodwit(t, pwdEnv(sb), "migrate", "--host", sb.Host, "--port", strconv.Itoa(sb.Port), "--user", sb.User,
		"--database", strings.ToUpper(sb.Database), "--table", "Orders", "--alter", "MODIFY i32 BIGINT NULL",
		"--chunk-time", "20ms", "--output", "json")
	time.Sleep(200 * time.Millisecond)
	stats, werr := run.Stop()
	if res.code != 0 {
		t.Fatalf("migrate exited %d: %s", res.code, res.stderr)
	}
	if werr != nil {
		t.Fatalf("writers: %v", werr)
	}
	sum := checkJSONOutput(t, res)
	changes, _ := sum["binlog_row_changes"].(float64)
	if changes == 0 {
		t.Fatalf("no binlog change of the table was seen during the copy (writers %s): summary %v", stats, sum)
	}
	t.Logf("table %v: copied %v, binlog changes %v, re-applied %v; writers %s", sum["table"], sum["rows_copied"], changes, sum["rows_applied"], stats)
	if err := model.Compare(ctx, sb.DB, "orders", workload.Expect{}); err != nil {
		t.Fatalf("the migrated table differs from what the writers committed: %v", err)
	}
	if got := strings.Join(tables(t, sb), ","); got != "_orders_old,orders" {
		t.Fatalf("tables after the migration: %s, want _orders_old,orders", got)
	}
}
