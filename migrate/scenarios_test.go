package migrate_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/internal/workload"
	"github.com/godwit-db/godwit/migrate"
)

// expectation is a scenario's expect.json: which columns the writers must
// leave alone and how the model maps onto the new table.
type expectation struct {
	Frozen []string          `json:"frozen"`
	Rename map[string]string `json:"rename"`
	Skip   []string          `json:"skip"`
	Added  map[string]string `json:"added"`
	// AllowDropData passes --allow-drop-data; the summary must then warn.
	AllowDropData bool `json:"allow_drop_data"`
}

func scenarioRows() int {
	if n, err := strconv.Atoi(os.Getenv("GODWIT_TEST_ROWS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

func options(sb *sandboxtest.Sandbox, table, alter string) migrate.Options {
	return migrate.Options{
		Conn:  mysqlx.Config{Host: sb.Host, Port: sb.Port, User: sb.User, Password: sb.Password, Database: sb.Database},
		Table: table, Alter: alter,
		ChunkTime:    200 * time.Millisecond,
		Threads:      2,    // godwit migrate's default
		DeferIndexes: true, // and --defer-indexes's
		ForceCopy:    true, // these tests are about the online copy; TestInstantPath unsets it
	}
}

// TestMigrations runs every folder of testdata/migrations: a table of
// every column type, writers inserting, updating, deleting and moving keys
// the whole time, the migration, then a row-for-row comparison of the
// swapped table with what the writers committed.
func TestMigrations(t *testing.T) {
	forEachScenario(t, "migrations", func(t *testing.T, read func(string) string) {
		var exp expectation
		if err := json.Unmarshal([]byte(read("expect.json")), &exp); err != nil {
			t.Fatalf("expect.json: %v", err)
		}
		runScenario(t, read("alter.sql"), exp)
	})
}

// forEachScenario runs fn as a subtest for every folder of testdata/<kind>;
// read returns one of the folder's files, trimmed.
func forEachScenario(t *testing.T, kind string, fn func(t *testing.T, read func(string) string)) {
	dirs, err := filepath.Glob(filepath.Join("..", "testdata", kind, "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no %s scenarios: %v", kind, err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			fn(t, func(name string) string {
				b, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				return strings.TrimSpace(string(b))
			})
		})
	}
}

// workloadTable creates the workload's table t with rows rows (drawn with
// seed) and returns its model.
func workloadTable(ctx context.Context, t *testing.T, sb *sandboxtest.Sandbox, rows int, seed int64) *workload.Model {
	t.Helper()
	if err := workload.Create(ctx, sb.DB, "t"); err != nil {
		t.Fatal(err)
	}
	model, err := workload.Load(ctx, sb.DB, "t", rows, seed)
	if err != nil {
		t.Fatal(err)
	}
	return model
}

func runScenario(t *testing.T, alter string, exp expectation) {
	sb := sandboxtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	model := workloadTable(ctx, t, sb, scenarioRows(), 1)
	run := workload.Start(ctx, sb.DB, "t", model, workload.Options{Writers: 4, Rate: 400, Frozen: exp.Frozen, Seed: 2})
	time.Sleep(300 * time.Millisecond) // writes before the migration starts too

	opt := options(sb, "t", alter)
	opt.AllowDropData = exp.AllowDropData
	sum, err := migrate.Run(ctx, opt)
	time.Sleep(300 * time.Millisecond) // and after the swap, into the new table
	stats, werr := run.Stop()
	if err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if werr != nil {
		t.Fatalf("writers: %v", werr)
	}
	t.Log(stats.Locks())
	if err := stats.NoLockConflicts(); err != nil {
		t.Fatal(err)
	}
	if stats.Inserts == 0 || stats.Updates == 0 || stats.Deletes == 0 || stats.KeyUpdates == 0 {
		t.Fatalf("the writers did not exercise every kind of change: %+v", stats)
	}
	t.Logf("rows %d, copied %d, binlog changes %d, re-applied %d, cut-over stall %s (attempt %d); writers %d ins %d upd %d del %d key-moves, max latency %s",
		model.Len(), sum.Rows, sum.Changes, sum.Applied, sum.CutoverStall, sum.CutoverAttempts,
		stats.Inserts, stats.Updates, stats.Deletes, stats.KeyUpdates, stats.MaxLatency)

	if exp.AllowDropData != (len(sum.Warnings) > 0) {
		t.Fatalf("allow_drop_data %v but warnings %q", exp.AllowDropData, sum.Warnings)
	}
	if sum.ChecksumRows == 0 || sum.ChecksumRepairs != 0 {
		t.Fatalf("checksum compared %d rows and repaired %d chunks; a clean run compares all and repairs none", sum.ChecksumRows, sum.ChecksumRepairs)
	}
	want := workload.Expect{Rename: exp.Rename, Skip: exp.Skip, Added: map[string]*string{}}
	for c, v := range exp.Added {
		want.Added[c] = &v
	}
	if err := model.Compare(ctx, sb.DB, "t", want); err != nil {
		t.Fatalf("the migrated table differs from what the writers committed: %v", err)
	}
	if got := tables(t, sb); strings.Join(got, ",") != "_t_old,t" {
		t.Fatalf("tables after the migration: %v, want [_t_old t]", got)
	}
}

// TestDropOld checks that --drop-old leaves only the new table.
func TestDropOld(t *testing.T) {
	sb := sandboxtest.New(t)
	ctx := context.Background()
	sb.Exec(t, "CREATE TABLE t (id INT NOT NULL PRIMARY KEY, a VARCHAR(10))")
	sb.Exec(t, "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')")
	opt := options(sb, "t", "MODIFY a VARCHAR(20)")
	opt.DropOld = true
	sum, err := migrate.Run(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !sum.OldDropped || sum.Rows != 3 {
		t.Fatalf("summary %+v", sum)
	}
	if got := tables(t, sb); strings.Join(got, ",") != "t" {
		t.Fatalf("tables: %v, want only t", got)
	}
	var typ string
	if err := sb.DB.QueryRow("SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 't' AND COLUMN_NAME = 'a'").Scan(&typ); err != nil || typ != "varchar(20)" {
		t.Fatalf("column a is %q (%v), want varchar(20)", typ, err)
	}
}

// TestRefusals runs every folder of testdata/refusals: its setup.sql, the
// ALTER, and the refusal message expected; nothing may be created.
func TestRefusals(t *testing.T) {
	forEachScenario(t, "refusals", func(t *testing.T, read func(string) string) {
		sb := sandboxtest.New(t)
		runSetup(t, sb, read("setup.sql"))
		before := tables(t, sb)
		_, err := migrate.Run(context.Background(), options(sb, "t", read("alter.sql")))
		if err == nil {
			t.Fatal("migrate succeeded, want a refusal")
		}
		if !migrate.IsRefusal(err) {
			t.Errorf("error is not a refusal: %v", err)
		}
		if want := read("expect.txt"); !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
		t.Logf("message: %v", err)
		if after := tables(t, sb); strings.Join(after, ",") != strings.Join(before, ",") {
			t.Errorf("tables changed: before %v, after %v", before, after)
		}
	})
}

func tables(t *testing.T, sb *sandboxtest.Sandbox) []string { return sb.Tables(t) }
