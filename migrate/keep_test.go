package migrate_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/internal/workload"
	"github.com/godwit-db/godwit/migrate"
)

// TestInterruptedRunKeepsCopy: a run interrupted in its copy (a Ctrl-C or
// SIGTERM cancels its context) keeps the shadow and the checkpoint, says
// so, and leaves godwit status saying why; the same command then resumes
// the copy, and the table equals what the writers committed across both
// runs.
func TestInterruptedRunKeepsCopy(t *testing.T) {
	sb := sandboxtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	rows := scenarioRows()
	model := workloadTable(ctx, t, sb, rows, 11)
	run := workload.Start(ctx, sb.DB, "t", model, workload.Options{Writers: 4, Rate: 400, Seed: 12})
	defer run.Stop()

	opt := options(sb, "t", "ADD COLUMN w INT NOT NULL DEFAULT 7")
	opt.MaxChunkRows = 2000 // a copy of many chunks, to interrupt half way
	first, interrupt := context.WithCancel(ctx)
	var atInterrupt atomic.Int64
	opt.Report = func(e migrate.Event) {
		if e.Phase == migrate.PhaseCopy && e.Progress.RowsCopied >= int64(rows)/3 && atInterrupt.CompareAndSwap(0, e.Progress.RowsCopied) {
			interrupt()
		}
	}
	_, err := migrate.Run(first, opt)
	interrupt()
	if !errors.Is(err, migrate.ErrKept) || !strings.Contains(err.Error(), "interrupted during copy") || !strings.Contains(err.Error(), "rerun the same command to resume") {
		t.Fatalf("interrupted run: %v, want it to keep its copy and say how to go on", err)
	}
	if got := strings.Join(tables(t, sb), ","); got != "_t_ckpt,_t_new,t" {
		t.Fatalf("tables after the interrupted run: %s, want _t_ckpt,_t_new,t", got)
	}
	st, err := migrate.ReadStatus(ctx, opt.Conn, "t")
	if err != nil {
		t.Fatal(err)
	}
	if st.State != migrate.StateStopped || st.Status == nil || !strings.HasPrefix(st.Status.Message, "stopped: interrupted during copy") || st.Checkpoint == nil {
		t.Fatalf("godwit status after the interrupted run: %+v (status %+v)", st, st.Status)
	}
	saved := st.Checkpoint.RowsCopied

	opt.Report = nil
	sum, err := migrate.Run(ctx, opt)
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	time.Sleep(300 * time.Millisecond) // writes into the new table too
	stats, werr := run.Stop()
	if werr != nil {
		t.Fatalf("writers: %v", werr)
	}
	t.Log(stats.Locks())
	if err := stats.NoLockConflicts(); err != nil {
		t.Fatal(err)
	}
	if !sum.Resumed || sum.Rows < saved {
		t.Fatalf("rerun: resumed %v, rows %d; want it to resume from the %d rows saved", sum.Resumed, sum.Rows, saved)
	}
	if want := fmt.Sprintf("row %d of its copy", saved); sum.ResumedFrom != want {
		t.Fatalf("rerun says it resumed from %q, want %q", sum.ResumedFrom, want)
	}
	// The final checkpoint of the interrupted run is what the rerun skips:
	// only rows copied after it are copied twice.
	t.Logf("interrupted at %d rows copied, checkpoint kept %d (copied again at most %d); rerun copied %d more; writers %s",
		atInterrupt.Load(), saved, atInterrupt.Load()-saved, sum.Rows-saved, stats)
	if err := model.Compare(ctx, sb.DB, "t", workload.Expect{Added: map[string]*string{"w": ptr("7")}}); err != nil {
		t.Fatalf("the migrated table differs from what the writers committed: %v", err)
	}
	if got := strings.Join(tables(t, sb), ","); got != "_t_old,t" {
		t.Fatalf("tables after the rerun: %s, want _t_old,t", got)
	}
}

func ptr(s string) *string { return &s }

// TestNamedLockKeptAliveAndLost: the run's named lock outlives a short
// wait_timeout on an idle connection, and when it is lost anyway (its
// connection killed) the run stops at once, keeping its copy, and the same
// command resumes it.
func TestNamedLockKeptAliveAndLost(t *testing.T) {
	sb := sandboxtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	model := workloadTable(ctx, t, sb, 20_000, 21)
	run := workload.Start(ctx, sb.DB, "t", model, workload.Options{Writers: 2, Rate: 200, Seed: 22})
	defer run.Stop()

	hold := filepath.Join(t.TempDir(), "hold")
	if err := os.WriteFile(hold, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	opt := options(sb, "t", "ADD COLUMN w INT")
	opt.PostponeCutoverFile = hold
	// Every godwit session would be closed after 3 idle seconds; the
	// lock's connection idles for the whole run.
	opt.Conn.SessionVars = map[string]string{"wait_timeout": "3"}
	ready := make(chan struct{})
	var once atomic.Bool
	opt.Report = func(e migrate.Event) {
		if strings.Contains(e.Message, "postponed") && once.CompareAndSwap(false, true) {
			close(ready)
		}
	}
	done := make(chan error, 1)
	go func() { _, err := migrate.Run(ctx, opt); done <- err }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("the migration ended before its cut-over: %v", err)
	case <-time.After(3 * time.Minute):
		t.Fatal("the migration never got to its cut-over")
	}
	lock := "godwit:" + sb.Database + ".t"
	holder := func() int64 {
		var id *int64
		if err := sb.DB.QueryRowContext(ctx, "SELECT IS_USED_LOCK(?)", lock).Scan(&id); err != nil {
			t.Fatal(err)
		}
		if id == nil {
			return 0
		}
		return *id
	}
	first := holder()
	time.Sleep(8 * time.Second) // well past the sessions' wait_timeout
	if id := holder(); id == 0 || id != first {
		t.Fatalf("after 8 idle seconds the lock is held by connection %d, want %d still", id, first)
	}

	killed := time.Now()
	sb.Exec(t, "KILL ?", first)
	var err error
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		t.Fatal("the run went on for a minute without its lock")
	}
	t.Logf("the run stopped %s after its lock's connection was killed: %v", time.Since(killed).Round(time.Millisecond), err)
	if !errors.Is(err, migrate.ErrKept) || !strings.Contains(err.Error(), "lost the migration's named lock") {
		t.Fatalf("run without its lock: %v, want it to stop and keep its copy", err)
	}
	if got := strings.Join(tables(t, sb), ","); got != "_t_ckpt,_t_new,t" {
		t.Fatalf("tables after the lock was lost: %s", got)
	}

	opt.PostponeCutoverFile, opt.Report, opt.Conn.SessionVars = "", nil, nil
	sum, err := migrate.Run(ctx, opt)
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	stats, werr := run.Stop()
	if werr != nil {
		t.Fatalf("writers: %v", werr)
	}
	t.Log(stats.Locks())
	if err := stats.NoLockConflicts(); err != nil {
		t.Fatal(err)
	}
	if !sum.Resumed {
		t.Fatal("the rerun did not resume the kept copy")
	}
	t.Logf("writers %s", stats)
	if err := model.Compare(ctx, sb.DB, "t", workload.Expect{Added: map[string]*string{"w": nil}}); err != nil {
		t.Fatalf("the migrated table differs from what the writers committed: %v", err)
	}
}
