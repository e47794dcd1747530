package migrate_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/godwit-db/godwit/copier"
	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/migrate"
)

// smallTable creates t with n rows (MariaDB's sequence engine makes them).
func smallTable(t *testing.T, sb *sandboxtest.Sandbox, n int) {
	sb.Exec(t, "CREATE TABLE t (id INT NOT NULL PRIMARY KEY, a VARCHAR(20), b INT)")
	sb.Exec(t, fmt.Sprintf("INSERT INTO t SELECT seq, CONCAT('row', seq), seq %% 7 FROM seq_1_to_%d", n))
}

// TestRefusesMissingPrivileges: a user without REPLICATION SLAVE and
// without ALTER is refused with the list of what is missing.
func TestRefusesMissingPrivileges(t *testing.T) {
	sb := sandboxtest.New(t)
	smallTable(t, sb, 10)
	user := "gw_limited_" + fmt.Sprint(time.Now().UnixNano()%1_000_000)
	sb.Exec(t, fmt.Sprintf("CREATE USER '%s'@'127.0.0.1' IDENTIFIED BY 'pw'", user))
	t.Cleanup(func() { sb.DB.Exec(fmt.Sprintf("DROP USER '%s'@'127.0.0.1'", user)) })
	sb.Exec(t, fmt.Sprintf("GRANT SELECT, INSERT, DELETE, CREATE, DROP ON %s.* TO '%s'@'127.0.0.1'", mysqlx.Q(sb.Database), user))

	opt := options(sb, "t", "ADD COLUMN c INT")
	opt.Conn.User, opt.Conn.Password = user, "pw"
	_, err := migrate.Run(context.Background(), opt)
	if err == nil || !migrate.IsRefusal(err) {
		t.Fatalf("want a privileges refusal, got %v", err)
	}
	for _, want := range []string{"ALTER", "LOCK TABLES", "REPLICATION SLAVE", "GRANT"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not mention %s", err, want)
		}
	}
	if got := tables(t, sb); strings.Join(got, ",") != "t" {
		t.Errorf("tables: %v", got)
	}
}

// TestRefusesStatementBinlog runs against the replica, whose global
// binlog settings the test may change without disturbing other tests.
func TestRefusesBinlogSettings(t *testing.T) {
	sb := sandboxtest.New(t)
	smallTable(t, sb, 10)
	sb.WaitReplica(t)
	replica := sb.Replica(t)
	for _, c := range []struct{ variable, value, want string }{
		{"binlog_format", "STATEMENT", "binlog_format"},
		{"binlog_row_image", "MINIMAL", "binlog_row_image"},
	} {
		t.Run(c.variable, func(t *testing.T) {
			var old string
			if err := replica.QueryRow("SELECT @@GLOBAL." + c.variable).Scan(&old); err != nil {
				t.Fatal(err)
			}
			set := func(value string) error {
				// MySQL refuses a new binlog_format while the replica's
				// applier runs (error 3747): pause it for the change.
				if sb.IsMySQL() && c.variable == "binlog_format" {
					if _, err := replica.Exec("STOP REPLICA SQL_THREAD"); err != nil {
						return err
					}
					defer replica.Exec("START REPLICA SQL_THREAD")
				}
				_, err := replica.Exec(fmt.Sprintf("SET GLOBAL %s = '%s'", c.variable, value))
				return err
			}
			if err := set(c.value); err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := set(old); err != nil {
					t.Errorf("restore @@%s on the replica: %v", c.variable, err)
				}
			}()
			opt := options(sb, "t", "ADD COLUMN c INT")
			opt.Conn.Port = sb.ReplicaPort
			_, err := migrate.Run(context.Background(), opt)
			if err == nil || !migrate.IsRefusal(err) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want a binlog refusal naming %s, got %v", c.want, err)
			}
		})
	}
}

// TestDDLDuringMigrationAborts: someone alters the table while godwit
// copies it; godwit stops, drops its shadow and leaves the table alone.
func TestDDLDuringMigrationAborts(t *testing.T) {
	sb := sandboxtest.New(t)
	smallTable(t, sb, 200_000)
	opt := options(sb, "t", "MODIFY a VARCHAR(40)")
	opt.ChunkTime = 20 * time.Millisecond
	started := make(chan struct{})
	var once bool
	opt.Report = func(e migrate.Event) {
		if e.Phase == migrate.PhaseCopy && e.Progress.Chunks > 0 && !once {
			once = true
			close(started)
		}
	}
	done := make(chan error, 1)
	go func() { _, err := migrate.Run(context.Background(), opt); done <- err }()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("migration ended before the DDL: %v", err)
	}
	sb.Exec(t, "ALTER TABLE t ADD COLUMN z INT")
	err := <-done
	if !errors.Is(err, copier.ErrTableDDL) {
		t.Fatalf("want ErrTableDDL, got %v", err)
	}
	if got := tables(t, sb); strings.Join(got, ",") != "t" {
		t.Fatalf("tables after the abort: %v, want only t", got)
	}
	var n int
	if err := sb.DB.QueryRow("SELECT COUNT(*) FROM t").Scan(&n); err != nil || n != 200_000 {
		t.Fatalf("original table has %d rows (%v)", n, err)
	}
}

// TestCutoverRetriesBehindLongTransaction: an open transaction on the
// table holds the cut-over back; godwit waits for it (blockers.go), keeps
// the original serving, and swaps once the transaction ends.
func TestCutoverRetriesBehindLongTransaction(t *testing.T) {
	sb := sandboxtest.New(t)
	smallTable(t, sb, 1000)
	tx, err := sb.DB.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("UPDATE t SET b = b + 1 WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	opt := options(sb, "t", "ADD COLUMN c INT")
	opt.CutoverLockTimeout = time.Second
	opt.SkipChecksum = true // its snapshot lock would wait behind the transaction first
	var waits int
	opt.Report = func(e migrate.Event) {
		if e.Phase == migrate.PhaseCutover && strings.Contains(e.Message, "cut-over waits for connection") {
			waits++
			if waits == 2 {
				// Meanwhile the application still reads and writes t.
				if _, err := sb.DB.Exec("INSERT INTO t VALUES (5000, 'during', 1)"); err != nil {
					t.Errorf("write during the cut-over retries: %v", err)
				}
				tx.Commit()
			}
		}
	}
	sum, err := migrate.Run(context.Background(), opt)
	if err != nil {
		tx.Rollback()
		t.Fatal(err)
	}
	if waits < 2 || sum.BlockerWait <= 0 || sum.CutoverAttempts > 2 {
		t.Fatalf("the cut-over said %d times that it waited, waited %v, and took %d attempts; want it to wait rather than retry", waits, sum.BlockerWait, sum.CutoverAttempts)
	}
	var b int
	var c sql.NullInt64
	if err := sb.DB.QueryRow("SELECT b, c FROM t WHERE id = 1").Scan(&b, &c); err != nil || b != 2 || c.Valid {
		t.Fatalf("row 1: b=%d c=%v (%v), want the committed update", b, c, err)
	}
	var n int
	if err := sb.DB.QueryRow("SELECT COUNT(*) FROM t WHERE id = 5000").Scan(&n); err != nil || n != 1 {
		t.Fatalf("the row written during the retries is missing (%v)", err)
	}
}

// TestRefusesPaddingChanges: CHAR strips trailing spaces and BINARY pads
// with zero bytes. godwit refuses before copying, leaves nothing behind,
// and the fix it names makes the same change go through.
func TestRefusesPaddingChanges(t *testing.T) {
	for _, tc := range []struct {
		name, create, insert, alter, want, fix string
	}{
		{"varchar to char", "a VARCHAR(20)", "('x '), ('y'), (NULL)", "MODIFY a CHAR(20)", "end in spaces", "UPDATE t SET a = RTRIM(a)"},
		{"text to char", "a TEXT", "('x  '), ('y')", "MODIFY a CHAR(20)", "end in spaces", "UPDATE t SET a = RTRIM(a)"},
		{"varbinary to binary", "a VARBINARY(4)", "(x'0102'), (x'01020304')", "MODIFY a BINARY(4)", "pads with zero bytes", "UPDATE t SET a = RPAD(a, 4, x'00')"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := sandboxtest.New(t)
			sb.Exec(t, "CREATE TABLE t (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, "+tc.create+")")
			sb.Exec(t, "INSERT INTO t (a) VALUES "+tc.insert)
			opt := options(sb, "t", tc.alter)
			_, err := migrate.Run(context.Background(), opt)
			if err == nil || !migrate.IsRefusal(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want a refusal saying %q, got %v", tc.want, err)
			}
			if got := tables(t, sb); strings.Join(got, ",") != "t" {
				t.Errorf("tables after the refusal: %v", got)
			}
			sb.Exec(t, tc.fix)
			if _, err := migrate.Run(context.Background(), opt); err != nil {
				t.Fatalf("after %s: %v", tc.fix, err)
			}
		})
	}
}
