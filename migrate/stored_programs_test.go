package migrate_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/godwit-db/godwit/copier"
	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/internal/workload"
	"github.com/godwit-db/godwit/migrate"
)

// storedProgramsNamedT create, alter and drop an event, a procedure and a
// function named like the table, whose bodies name it too.
var storedProgramsNamedT = []string{
	"CREATE EVENT t ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM t WHERE id < 0",
	"ALTER EVENT t DISABLE",
	"ALTER EVENT t ON SCHEDULE EVERY 2 DAY DO ALTER TABLE t COMMENT 'never run'",
	"DROP EVENT t",
	"CREATE PROCEDURE t() BEGIN UPDATE t SET id = id WHERE id < 0; END",
	"ALTER PROCEDURE t COMMENT 'archives t'",
	"DROP PROCEDURE t",
	"CREATE FUNCTION t() RETURNS INT DETERMINISTIC READS SQL DATA RETURN (SELECT COUNT(*) FROM t WHERE id < 0)",
	"ALTER FUNCTION t COMMENT 'counts t'",
	"DROP FUNCTION t",
}

// postponedRun starts a migration of t whose cut-over waits for a file,
// and returns once the copy is done and in sync: release lets it swap.
func postponedRun(ctx context.Context, t *testing.T, sb *sandboxtest.Sandbox, alter string) (release func(), done <-chan error) {
	t.Helper()
	hold := filepath.Join(t.TempDir(), "hold")
	if err := os.WriteFile(hold, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	opt := options(sb, "t", alter)
	opt.PostponeCutoverFile = hold
	ready := make(chan struct{})
	var once atomic.Bool
	opt.Report = func(e migrate.Event) {
		if strings.Contains(e.Message, "postponed") && once.CompareAndSwap(false, true) {
			close(ready)
		}
	}
	errc := make(chan error, 1)
	go func() { _, err := migrate.Run(ctx, opt); errc <- err }()
	select {
	case <-ready:
	case err := <-errc:
		t.Fatalf("the migration ended before its cut-over: %v", err)
	case <-time.After(3 * time.Minute):
		t.Fatal("the migration never got to its cut-over")
	}
	return func() {
		if err := os.Remove(hold); err != nil {
			t.Error(err)
		}
	}, errc
}

// TestStoredProgramsAreNotDDL: events, procedures and functions named
// like the table are created, altered and dropped while it migrates under
// writes; the migration finishes and the table holds what the writers
// committed. An ALTER TABLE among them still stops it.
func TestStoredProgramsAreNotDDL(t *testing.T) {
	sb := sandboxtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	model := workloadTable(ctx, t, sb, 20_000, 31)

	run := workload.Start(ctx, sb.DB, "t", model, workload.Options{Writers: 2, Rate: 200, Seed: 32})
	release, done := postponedRun(ctx, t, sb, "ADD COLUMN w INT")
	for _, stmt := range storedProgramsNamedT {
		sb.Exec(t, stmt)
	}
	time.Sleep(500 * time.Millisecond) // the stream reads them while the cut-over waits
	release()
	err := <-done
	time.Sleep(200 * time.Millisecond)
	stats, werr := run.Stop()
	if err != nil {
		t.Fatalf("migrate with stored programs named like the table: %v", err)
	}
	if werr != nil {
		t.Fatalf("writers: %v", werr)
	}
	if stats.Inserts == 0 || stats.Updates == 0 || stats.Deletes == 0 {
		t.Fatalf("the writers did not write: %+v", stats)
	}
	if err := model.Compare(ctx, sb.DB, "t", workload.Expect{Added: map[string]*string{"w": nil}}); err != nil {
		t.Fatalf("the migrated table differs from what the writers committed: %v", err)
	}
	sb.Exec(t, "DROP TABLE _t_old")

	release, done = postponedRun(ctx, t, sb, "ADD COLUMN v INT")
	sb.Exec(t, storedProgramsNamedT[0])
	sb.Exec(t, "ALTER TABLE t COMMENT 'changed during the migration'")
	sb.Exec(t, storedProgramsNamedT[3])
	release()
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		t.Fatal("the migration went on for a minute after an ALTER TABLE of its table")
	}
	if !errors.Is(err, copier.ErrTableDDL) {
		t.Fatalf("migrate with an ALTER TABLE during the run: %v, want ErrTableDDL", err)
	}
	if got := sb.Strings(t, "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 't' AND COLUMN_NAME = 'v'"); got[0] != "0" {
		t.Errorf("the stopped migration swapped its table in anyway")
	}
}
