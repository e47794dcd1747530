package migrate_test

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/internal/workload"
	"github.com/godwit-db/godwit/migrate"
)

// TestQuotedNames migrates, under writers, tables whose names hold the
// characters SQL quoting is about (a quote, a backtick, a backslash), in a
// database whose name holds a quote too: every statement godwit writes,
// the string literals of its helper tables' comments and its checkpoint
// and status rows included, must carry the names escaped, and the result
// must equal what the writers committed.
func TestQuotedNames(t *testing.T) {
	sb := sandboxtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	schema := sb.Database + `_o'q`
	sb.Exec(t, "CREATE DATABASE "+mysqlx.Q(schema))
	t.Cleanup(func() { sb.DB.Exec("DROP DATABASE IF EXISTS " + mysqlx.Q(schema)) })
	db, err := sql.Open("mysql", sb.DSN(schema))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// A ? too: the driver, interpolating parameters, takes one inside a
	// quoted name for a placeholder.
	// The last again with godwit's sessions reading a backslash as an
	// ordinary character (a DBA's --set-vars sql_mode=...).
	for _, table := range []string{`o'brien`, "back`tick", `back\slash`, "what?", `nbe\slash`} {
		t.Run(table, func(t *testing.T) {
			if err := workload.Create(ctx, db, table); err != nil {
				t.Fatal(err)
			}
			model, err := workload.Load(ctx, db, table, 5_000, 1)
			if err != nil {
				t.Fatal(err)
			}
			run := workload.Start(ctx, db, table, model, workload.Options{Writers: 3, Rate: 300, Seed: 2})
			time.Sleep(200 * time.Millisecond)
			opt := options(sb, table, "MODIFY i32 BIGINT NULL")
			opt.Conn.Database = schema
			opt.ChunkTime = 20 * time.Millisecond
			if strings.HasPrefix(table, "nbe") {
				opt.Conn.SessionVars = map[string]string{"sql_mode": "'STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION,NO_BACKSLASH_ESCAPES'"}
			}
			// The status a DBA reads during the copy: the checkpoint's
			// comment says it is godwit's, the status row names the table.
			var status *migrate.TableStatus
			var statusErr error
			var comment string
			opt.Report = func(e migrate.Event) {
				if e.Phase == migrate.PhaseCopy && status == nil && statusErr == nil {
					// The status row is written apart from the run, soon
					// after a phase change: give it a moment on busy cores.
					for range 40 {
						status, statusErr = migrate.ReadStatus(ctx, opt.Conn, table)
						if statusErr != nil || status.Status != nil && status.Status.Phase == migrate.PhaseCopy {
							break
						}
						time.Sleep(50 * time.Millisecond)
					}
					if statusErr == nil {
						statusErr = db.QueryRow("SELECT TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", schema, "_"+table+"_ckpt").Scan(&comment)
					}
				}
			}
			sum, err := migrate.Run(ctx, opt)
			time.Sleep(200 * time.Millisecond)
			stats, werr := run.Stop()
			if err != nil {
				t.Fatalf("migrate %s.%s: %v", schema, table, err)
			}
			if werr != nil {
				t.Fatalf("writers: %v", werr)
			}
			if statusErr != nil || status == nil || !status.HasControl || status.Status == nil || status.Status.Phase != migrate.PhaseCopy {
				t.Fatalf("status during the copy: %+v (%v), want the checkpoint recognized and the copy's status row", status, statusErr)
			}
			if want := "godwit checkpoint of " + table; comment != want {
				t.Fatalf("the checkpoint table's comment: %q, want %q", comment, want)
			}
			if stats.Statements() == 0 || sum.Changes == 0 {
				t.Fatalf("no change went through the binlog during the copy (writers %s, %d changes)", stats, sum.Changes)
			}
			t.Logf("rows %d, copied %d, binlog changes %d, re-applied %d; writers %s", model.Len(), sum.Rows, sum.Changes, sum.Applied, stats)
			if err := model.Compare(ctx, db, table, workload.Expect{}); err != nil {
				t.Fatalf("the migrated table differs from what the writers committed: %v", err)
			}
			var typ string
			if err := db.QueryRow("SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = 'i32'", schema, table).Scan(&typ); err != nil || typ != "bigint(20)" && typ != "bigint" {
				t.Fatalf("column i32 of the swapped table is %q (%v), want bigint", typ, err)
			}
			var names []string
			rows, err := db.Query("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", schema)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var n string
				rows.Scan(&n)
				names = append(names, n)
			}
			rows.Close()
			var ours []string
			for _, n := range names {
				if strings.Contains(n, table) {
					ours = append(ours, n)
				}
			}
			slices.Sort(ours)
			if want := []string{"_" + table + "_old", table}; !slices.Equal(ours, want) {
				t.Fatalf("tables after the migration: %q, want %q: a helper table was left behind", ours, want)
			}
		})
	}
}
