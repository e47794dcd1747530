package migrate_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/internal/workload"
	"github.com/godwit-db/godwit/migrate"
)

// TestExpressionDefaultsAreCopied: columns whose default is an expression
// (CURRENT_TIMESTAMP, ON UPDATE, (uuid())) hold data like any other. MySQL
// marks them DEFAULT_GENERATED; a copy that took them for generated columns
// refilled every row with the time of the copy while its checksum, blind
// to what it skipped, said equal. Every row must keep its own values.
func TestExpressionDefaultsAreCopied(t *testing.T) {
	sb := sandboxtest.New(t)
	sb.Exec(t, `CREATE TABLE t (
		id INT NOT NULL PRIMARY KEY,
		note VARCHAR(64),
		created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
		updated_at DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
		token VARCHAR(36) DEFAULT (uuid()),
		doubled INT AS (id * 2) STORED)`)
	sb.Exec(t, `INSERT INTO t (id, note, created_at, updated_at, token)
		SELECT seq, CONCAT('n', seq), '2020-03-01 10:00:00' + INTERVAL seq MINUTE,
			'2021-01-01 00:00:00.123456' + INTERVAL seq SECOND, CONCAT('token-', seq) FROM seq_1_to_20000`)

	if _, err := migrate.Run(context.Background(), options(sb, "t", "MODIFY note VARCHAR(128)")); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	// Against the original rows, kept as _t_old, not through godwit's own
	// checksum: every row, every column.
	var total, same int
	if err := sb.DB.QueryRow(`SELECT (SELECT COUNT(*) FROM t), COUNT(*) FROM t JOIN _t_old o ON o.id = t.id
		AND o.note <=> t.note AND o.created_at <=> t.created_at AND o.updated_at <=> t.updated_at
		AND o.token <=> t.token AND o.doubled <=> t.doubled`).Scan(&total, &same); err != nil {
		t.Fatal(err)
	}
	if total != 20000 || same != 20000 {
		t.Fatalf("the migrated table has %d rows, %d of them equal to the original's in every column; want 20000 and 20000", total, same)
	}
	var created string
	if err := sb.DB.QueryRow("SELECT created_at FROM t WHERE id = 1").Scan(&created); err != nil || created != "2020-03-01 10:01:00" {
		t.Fatalf("row 1's created_at: %q (%v), want 2020-03-01 10:01:00 as inserted", created, err)
	}
}

// TestCompressedBinlogTransactions: with MySQL's
// binlog_transaction_compression, each transaction of the writers reaches
// the binlog as one compressed event holding its row events. Every one of
// those writes must reach the new table.
func TestCompressedBinlogTransactions(t *testing.T) {
	sb := sandboxtest.New(t)
	if !sb.IsMySQL() {
		t.Skip("binlog_transaction_compression is MySQL's (MariaDB's log_bin_compress is global only, and its events decode as ordinary row events)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	model := workloadTable(ctx, t, sb, 50_000, 1)
	compressed, err := sql.Open("mysql", sb.DSN(sb.Database)+"&binlog_transaction_compression=ON")
	if err != nil {
		t.Fatal(err)
	}
	defer compressed.Close()
	run := workload.Start(ctx, compressed, "t", model, workload.Options{Writers: 4, Rate: 400, Seed: 5})
	time.Sleep(300 * time.Millisecond)
	sum, err := migrate.Run(ctx, options(sb, "t", "MODIFY vc VARCHAR(120)"))
	time.Sleep(300 * time.Millisecond)
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
	t.Logf("binlog changes %d, re-applied %d; writers %d ins %d upd %d del %d key-moves",
		sum.Changes, sum.Applied, stats.Inserts, stats.Updates, stats.Deletes, stats.KeyUpdates)
	if sum.Changes == 0 {
		t.Fatal("the stream saw no change of the writers: the compressed transactions were not read")
	}
	if err := model.Compare(ctx, sb.DB, "t", workload.Expect{}); err != nil {
		t.Fatalf("the migrated table differs from what the writers committed: %v", err)
	}
}

// TestRequirePrimaryKey: under MySQL's sql_require_primary_key every table
// godwit creates must have a primary key (the cut-over's sentry once had
// none, and every attempt failed after the whole copy); and a table without
// one, whose shadow the server would refuse, is refused before anything is
// created.
func TestRequirePrimaryKey(t *testing.T) {
	sb := sandboxtest.New(t)
	if !sb.IsMySQL() {
		t.Skip("sql_require_primary_key is MySQL's; MariaDB's innodb_force_primary_key is global only, and would fail the other tests sharing the sandbox")
	}
	smallTable(t, sb, 2000)
	opt := options(sb, "t", "ADD COLUMN c INT NOT NULL DEFAULT 7")
	opt.Conn.SessionVars = map[string]string{"sql_require_primary_key": "1"}
	sum, err := migrate.Run(context.Background(), opt)
	if err != nil {
		t.Fatalf("migrate under sql_require_primary_key: %v", err)
	}
	if sum.CutoverAttempts != 1 {
		t.Errorf("swapped after %d cut-over attempts, want 1", sum.CutoverAttempts)
	}

	sb.Exec(t, "CREATE TABLE nopk (id INT NOT NULL, a INT, UNIQUE KEY (id))")
	sb.Exec(t, "INSERT INTO nopk SELECT seq, seq FROM seq_1_to_100")
	opt = options(sb, "nopk", "ADD COLUMN c INT")
	opt.Conn.SessionVars = map[string]string{"sql_require_primary_key": "1"}
	_, err = migrate.Run(context.Background(), opt)
	if err == nil || !migrate.IsRefusal(err) || !strings.Contains(err.Error(), "sql_require_primary_key") {
		t.Fatalf("want a refusal naming sql_require_primary_key, got %v", err)
	}
	if got := tables(t, sb); strings.Join(got, ",") != "_t_old,nopk,t" {
		t.Fatalf("tables after the refusal: %v, want [_t_old nopk t]", got)
	}
}

// TestRefusesReplica: pointed at a replica (read_only, as the sandbox's
// is), godwit refuses before creating anything there, where its user's
// privileges would have let it change that one server alone.
func TestRefusesReplica(t *testing.T) {
	sb := sandboxtest.New(t)
	smallTable(t, sb, 100)
	replica := sb.Replica(t) // waits until t is there
	opt := options(sb, "t", "ADD COLUMN c INT")
	opt.Conn.Port = sb.ReplicaPort
	_, err := migrate.Run(context.Background(), opt)
	if err == nil || !migrate.IsRefusal(err) || !strings.Contains(err.Error(), "read_only") {
		t.Fatalf("want a refusal naming read_only, got %v", err)
	}
	var n int
	if err := replica.QueryRow("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME <> 't'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d tables besides t on the replica (%v), want none", n, err)
	}
}
