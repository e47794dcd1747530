package migrate_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/migrate"
)

// TestOneMigrationPerTable: while a migration of t runs, a second one and
// abort are refused, and nothing of the first is disturbed; once it is
// done, abort keeps the _t_old it leaves.
func TestOneMigrationPerTable(t *testing.T) {
	sb := sandboxtest.New(t)
	smallTable(t, sb, 1000)
	hold := filepath.Join(t.TempDir(), "hold")
	if err := os.WriteFile(hold, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	first := options(sb, "t", "MODIFY a VARCHAR(40)")
	first.PostponeCutoverFile = hold
	ready := make(chan struct{})
	var once bool
	first.Report = func(e migrate.Event) {
		if strings.Contains(e.Message, "postponed") && !once {
			once = true
			close(ready)
		}
	}
	done := make(chan error, 1)
	go func() { _, err := migrate.Run(context.Background(), first); done <- err }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("the first migration ended early: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("the first migration never got ready")
	}

	_, err := migrate.Run(context.Background(), options(sb, "t", "ADD COLUMN z INT"))
	if !migrate.IsRefusal(err) || !strings.Contains(err.Error(), "another godwit is migrating") {
		t.Errorf("second migration: %v, want a refusal", err)
	}
	_, err = migrate.Abort(context.Background(), options(sb, "t", "").Conn, "t", nil)
	if !migrate.IsRefusal(err) || !strings.Contains(err.Error(), "is running") {
		t.Errorf("abort during the migration: %v, want a refusal", err)
	}
	if got := strings.Join(tables(t, sb), ","); got != "_t_ckpt,_t_new,t" {
		t.Errorf("tables while the first runs: %s", got)
	}

	os.Remove(hold)
	if err := <-done; err != nil {
		t.Fatalf("first migration: %v", err)
	}
	res, err := migrate.Abort(context.Background(), options(sb, "t", "").Conn, "t", nil)
	if err != nil || len(res.Dropped) != 0 || len(res.Kept) != 1 {
		t.Fatalf("abort after the migration: %+v, %v", res, err)
	}
	if got := strings.Join(tables(t, sb), ","); got != "_t_old,t" {
		t.Errorf("tables after abort: %s", got)
	}
}

// TestAbortSentryAndSwappedOriginal: abort drops the empty sentry, but an
// original table under the sentry's name (a crash right after the swap)
// becomes _t_old instead.
func TestAbortSentryAndSwappedOriginal(t *testing.T) {
	sb := sandboxtest.New(t)
	smallTable(t, sb, 10)
	sb.Exec(t, "CREATE TABLE _t_new (id INT)")
	sb.Exec(t, "CREATE TABLE t_godwit_old (id INT) COMMENT='godwit cut-over sentry'")
	res, err := migrate.Abort(context.Background(), options(sb, "t", "").Conn, "t", nil)
	if err != nil || strings.Join(res.Dropped, ",") != "_t_new,t_godwit_old" {
		t.Fatalf("abort: %+v, %v", res, err)
	}
	sb.Exec(t, "CREATE TABLE t_godwit_old (id INT PRIMARY KEY, a VARCHAR(20), b INT)")
	sb.Exec(t, "INSERT INTO t_godwit_old VALUES (1, 'original', 1)")
	res, err = migrate.Abort(context.Background(), options(sb, "t", "").Conn, "t", nil)
	if err != nil || len(res.Dropped) != 0 || strings.Join(res.Renamed, ",") != "t_godwit_old -> _t_old" {
		t.Fatalf("abort: %+v, %v", res, err)
	}
	if got := strings.Join(tables(t, sb), ","); got != "_t_old,t" {
		t.Fatalf("tables: %s", got)
	}
}
