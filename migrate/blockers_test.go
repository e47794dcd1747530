package migrate_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/internal/workload"
	"github.com/godwit-db/godwit/migrate"
)

// blockerHold is how long the blocking transaction of
// TestCutoverWaitsForBlocker stays open once the cut-over is ready.
// GODWIT_TEST_BLOCKER_HOLD (a duration) shortens it for a quick run.
const blockerHold = 60 * time.Second

// writerLatencyLimit is the longest any writer's statement may take while
// a blocker holds the table through the cut-over: the attempt's lock wait
// (cutoverLockWait, 500 ms) plus scheduling on a loaded machine.
const writerLatencyLimit = time.Second

func blockerHoldFor(t *testing.T) time.Duration {
	if s := os.Getenv("GODWIT_TEST_BLOCKER_HOLD"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("GODWIT_TEST_BLOCKER_HOLD: %v", err)
		}
		return d
	}
	return blockerHold
}

// blockerTest is a migration under writers whose cut-over finds a
// transaction that has read the table and stays open.
type blockerTest struct {
	sb      *sandboxtest.Sandbox
	model   *workload.Model
	run     *workload.Run
	opt     migrate.Options
	blocker *sql.Tx
	id      int64 // the blocker's connection id
	opened  time.Time

	mu       sync.Mutex
	messages []string
	statuses []migrate.Blocker // every blocker godwit status showed
}

// startBlockerTest loads the table, starts the writers, and prepares a
// migration whose cut-over is postponed until the blocker is open.
func startBlockerTest(t *testing.T, ctx context.Context, seed int64) *blockerTest {
	bt := &blockerTest{sb: sandboxtest.New(t)}
	bt.model = workloadTable(ctx, t, bt.sb, 20_000, seed)
	bt.run = workload.Start(ctx, bt.sb.DB, "t", bt.model, workload.Options{Writers: 4, Rate: 300, Seed: seed + 1})
	t.Cleanup(func() { bt.run.Stop() })

	hold := filepath.Join(t.TempDir(), "hold")
	if err := os.WriteFile(hold, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	conn, err := bt.sb.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&bt.id); err != nil {
		t.Fatal(err)
	}
	bt.opt = options(bt.sb, "t", "ADD COLUMN w INT NOT NULL DEFAULT 7")
	bt.opt.CutoverLockTimeout = 3 * time.Second // the default: the lock wait must not depend on it
	bt.opt.PostponeCutoverFile = hold
	bt.opt.Report = func(e migrate.Event) {
		if bt.blocker == nil && strings.Contains(e.Message, "postponed while") {
			// Opened once the copy and checksum are done: their snapshots
			// would wait behind it first.
			if bt.blocker, err = conn.BeginTx(ctx, nil); err != nil {
				t.Error(err)
				return
			}
			var n int
			if err := bt.blocker.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n); err != nil {
				t.Error(err)
			}
			bt.opened = time.Now()
			if err := os.Remove(hold); err != nil {
				t.Error(err)
			}
		}
		if e.Phase == migrate.PhaseCutover {
			bt.mu.Lock()
			bt.messages = append(bt.messages, e.Message)
			bt.mu.Unlock()
		}
	}
	return bt
}

// watchStatus records the blockers godwit status shows until ctx ends.
func (bt *blockerTest) watchStatus(ctx context.Context, t *testing.T) (wait func()) {
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			if st, err := migrate.ReadStatus(ctx, bt.opt.Conn, "t"); err == nil && st.Status != nil {
				bt.mu.Lock()
				bt.statuses = append(bt.statuses, st.Status.BlockedBy...)
				bt.mu.Unlock()
			}
			select {
			case <-ctx.Done():
			case <-time.After(500 * time.Millisecond):
			}
		}
	})
	return wg.Wait
}

// finish stops the writers and checks what every blocker test must hold:
// no writer's statement waited long, nothing was lost, the tables swapped.
func (bt *blockerTest) finish(ctx context.Context, t *testing.T) workload.Stats {
	time.Sleep(300 * time.Millisecond) // writes into the new table too
	stats, err := bt.run.Stop()
	if err != nil {
		t.Fatalf("writers: %v", err)
	}
	t.Logf("writers: %s", stats)
	if stats.MaxLatency >= writerLatencyLimit {
		t.Errorf("a writer's statement took %v, limit %v: the writers queued behind the cut-over", stats.MaxLatency, writerLatencyLimit)
	}
	if err := bt.model.Compare(ctx, bt.sb.DB, "t", workload.Expect{Added: map[string]*string{"w": ptr("7")}}); err != nil {
		t.Errorf("the migrated table differs from what the writers committed: %v", err)
	}
	if got := strings.Join(tables(t, bt.sb), ","); got != "_t_old,t" {
		t.Errorf("tables %s, want _t_old,t", got)
	}
	return stats
}

// TestCutoverWaitsForBlocker: a transaction that has read the table stays
// open while godwit reaches its cut-over under writers. godwit waits for
// it instead of queueing the writers behind a lock it cannot get, says
// who blocks (progress and godwit status), and swaps once it ends; no
// writer's statement waits as long as a second, and nothing is lost.
//
// MySQL lists the metadata locks; MariaDB without its metadata_lock_info
// plugin does not, and one attempt (a stall of 500 ms) makes the open
// transaction a suspect. TestCutoverWaitsForBlockerByMetadataLockInfo
// runs MariaDB with the plugin.
func TestCutoverWaitsForBlocker(t *testing.T) {
	sb := sandboxtest.New(t)
	var plugin int
	if !sb.IsMySQL() {
		if err := sb.DB.QueryRow("SELECT COUNT(*) FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'METADATA_LOCK_INFO'").Scan(&plugin); err != nil {
			t.Fatal(err)
		}
	}
	testCutoverWaitsForBlocker(t, sb.IsMySQL() || plugin > 0)
}

// TestCutoverWaitsForBlockerByMetadataLockInfo: the same on MariaDB with
// the metadata_lock_info plugin, which names the blocker before any
// attempt.
func TestCutoverWaitsForBlockerByMetadataLockInfo(t *testing.T) {
	sb := sandboxtest.New(t)
	if sb.IsMySQL() {
		t.Skip("MySQL lists metadata locks in performance_schema: TestCutoverWaitsForBlocker covers it")
	}
	metadataLockInfo(t, sb)
	testCutoverWaitsForBlocker(t, true)
}

// metadataLockInfo installs MariaDB's metadata_lock_info plugin for the
// test when it is not there, so that the server lists who holds a table.
func metadataLockInfo(t *testing.T, sb *sandboxtest.Sandbox) {
	t.Helper()
	if metadataLockInfoInstalled(t, sb) {
		return
	}
	if _, err := sb.DB.Exec("INSTALL SONAME 'metadata_lock_info'"); err != nil {
		t.Skipf("the metadata_lock_info plugin cannot be installed here: %v", err)
	}
	t.Cleanup(func() { sb.DB.Exec("UNINSTALL SONAME 'metadata_lock_info'") })
}

func metadataLockInfoInstalled(t *testing.T, sb *sandboxtest.Sandbox) bool {
	t.Helper()
	var installed int
	if err := sb.DB.QueryRow("SELECT COUNT(*) FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'METADATA_LOCK_INFO'").Scan(&installed); err != nil {
		t.Fatal(err)
	}
	return installed > 0
}

// testCutoverWaitsForBlocker runs the test; byLocks says whether the
// server lists metadata locks.
func testCutoverWaitsForBlocker(t *testing.T, byLocks bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	hold := blockerHoldFor(t)
	bt := startBlockerTest(t, ctx, 41)
	committed := make(chan error, 1)
	var committedAt time.Time
	report := bt.opt.Report
	bt.opt.Report = func(e migrate.Event) {
		opening := bt.blocker == nil
		report(e)
		if opening && bt.blocker != nil {
			tx := bt.blocker
			go func() {
				time.Sleep(hold)
				committedAt = time.Now()
				committed <- tx.Commit()
			}()
		}
	}
	sctx, stopStatus := context.WithCancel(ctx)
	waitStatus := bt.watchStatus(sctx, t)
	sum, err := migrate.Run(ctx, bt.opt)
	swappedAt := time.Now()
	stopStatus()
	waitStatus()
	if err != nil {
		t.Fatalf("migration: %v", err)
	}
	if bt.blocker == nil {
		t.Fatal("the cut-over was never postponed: no blocker was opened")
	}
	if err := <-committed; err != nil {
		t.Fatalf("the blocker's commit: %v", err)
	}
	t.Logf("blocker (connection %d) open %v; swapped %v after it ended; %d attempts, waited for blockers %v, writes held %v",
		bt.id, committedAt.Sub(bt.opened).Round(time.Millisecond), swappedAt.Sub(committedAt).Round(time.Millisecond),
		sum.CutoverAttempts, sum.BlockerWait.Round(time.Millisecond), sum.CutoverStall)
	if !sum.Swapped || swappedAt.Before(committedAt) {
		t.Errorf("swapped %v, at %v, blocker ended at %v", sum.Swapped, swappedAt, committedAt)
	}
	// Without a list of metadata locks, one attempt is the probe that
	// makes the open transaction a suspect.
	wantAttempts, evidence := 2, "open transaction"
	if byLocks {
		wantAttempts, evidence = 1, "metadata lock"
	}
	if sum.CutoverAttempts != wantAttempts {
		t.Errorf("%d cut-over attempts, want %d", sum.CutoverAttempts, wantAttempts)
	}
	if sum.BlockerWait < hold-5*time.Second {
		t.Errorf("the cut-over waited %v for blockers, the blocker was open %v", sum.BlockerWait, hold)
	}
	bt.mu.Lock()
	named := ""
	for _, m := range bt.messages {
		if strings.Contains(m, fmt.Sprintf("cut-over waits for connection %d (%s@", bt.id, bt.sb.User)) && strings.Contains(m, evidence) {
			named = m
			break
		}
	}
	var shown *migrate.Blocker
	for i, b := range bt.statuses {
		if b.ID == bt.id && b.User == bt.sb.User && b.Host != "" {
			shown = &bt.statuses[i]
		}
	}
	bt.mu.Unlock()
	if named == "" {
		t.Errorf("no progress message named the blocker (connection %d): %q", bt.id, bt.messages)
	} else {
		t.Logf("progress: %s", named)
	}
	if shown == nil {
		t.Errorf("godwit status never showed the blocker (connection %d)", bt.id)
	} else {
		t.Logf("status: %+v", *shown)
	}
	bt.finish(ctx, t)
}

// TestCutoverKillsOldBlocker: with KillBlockersAfter, a blocker whose
// transaction is older than that is killed (its connection gets an
// error), the kill is reported, and the migration finishes.
func TestCutoverKillsOldBlocker(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bt := startBlockerTest(t, ctx, 51)
	if !bt.sb.IsMySQL() {
		metadataLockInfo(t, bt.sb) // only a session known to hold the table is killed
	}
	bt.opt.KillBlockersAfter = 5 * time.Second
	sum, err := migrate.Run(ctx, bt.opt)
	if err != nil {
		t.Fatalf("migration: %v", err)
	}
	if bt.blocker == nil {
		t.Fatal("the cut-over was never postponed: no blocker was opened")
	}
	var n int
	qerr := bt.blocker.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n)
	cerr := bt.blocker.Commit()
	t.Logf("blocker (connection %d) after the kill: query %v, commit %v", bt.id, qerr, cerr)
	if qerr == nil && cerr == nil {
		t.Errorf("the blocker's connection works on after the migration: it was not killed")
	}
	want := fmt.Sprintf("killed connection %d (%s@", bt.id, bt.sb.User)
	var warned string
	for _, w := range sum.Warnings {
		if strings.Contains(w, want) && strings.Contains(w, "--kill-blockers-after 5s") {
			warned = w
		}
	}
	if warned == "" {
		t.Errorf("no warning says %q: %q", want, sum.Warnings)
	} else {
		t.Logf("warning: %s", warned)
	}
	t.Logf("%d attempts, waited for blockers %v", sum.CutoverAttempts, sum.BlockerWait.Round(time.Millisecond))
	if !sum.Swapped || sum.BlockerWait > 30*time.Second {
		t.Errorf("swapped %v after waiting %v for blockers, want a swap soon after the kill", sum.Swapped, sum.BlockerWait)
	}
	bt.finish(ctx, t)
}

// TestCutoverSparesSuspects: where the server lists no metadata locks
// (MariaDB without metadata_lock_info), a blocker is only suspected from
// the open transactions, which may be working on other tables:
// KillBlockersAfter leaves it alone and says why, and the run stops at
// the wait's limit keeping its copy.
func TestCutoverSparesSuspects(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bt := startBlockerTest(t, ctx, 71)
	if bt.sb.IsMySQL() || metadataLockInfoInstalled(t, bt.sb) {
		bt.run.Stop()
		t.Skip("the server lists metadata locks: its blockers are known, not suspected")
	}
	bt.opt.KillBlockersAfter = time.Second
	bt.opt.BlockerWait = 4 * time.Second
	sum, err := migrate.Run(ctx, bt.opt)
	if _, werr := bt.run.Stop(); werr != nil {
		t.Fatalf("writers: %v", werr)
	}
	if bt.blocker == nil {
		t.Fatal("the cut-over was never postponed: no blocker was opened")
	}
	defer bt.blocker.Rollback()
	var n int
	if qerr := bt.blocker.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n); qerr != nil {
		t.Errorf("the suspected blocker's connection was harmed: %v", qerr)
	}
	if !errors.Is(err, migrate.ErrKept) || sum.Swapped {
		t.Fatalf("run: %v, swapped %v; want it to stop at the wait's limit keeping its copy", err, sum.Swapped)
	}
	var warned bool
	for _, w := range sum.Warnings {
		warned = warned || strings.Contains(w, fmt.Sprintf("connection %d (%s@", bt.id, bt.sb.User)) && strings.Contains(w, "only suspected")
	}
	if !warned {
		t.Errorf("no warning says the suspect was left alone: %q", sum.Warnings)
	}
}

// TestCutoverBlockerWaitLimit: a blocker that outlasts the limit on the
// wait for blockers stops the run, which keeps its copy and says who
// blocked; nothing was swapped.
func TestCutoverBlockerWaitLimit(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bt := startBlockerTest(t, ctx, 61)
	bt.opt.BlockerWait = 3 * time.Second
	sum, err := migrate.Run(ctx, bt.opt)
	stats, werr := bt.run.Stop()
	if werr != nil {
		t.Fatalf("writers: %v", werr)
	}
	if bt.blocker == nil {
		t.Fatal("the cut-over was never postponed: no blocker was opened")
	}
	defer bt.blocker.Rollback()
	t.Logf("run: %v; writers %s", err, stats)
	want := fmt.Sprintf("still blocked by connection %d (%s@", bt.id, bt.sb.User)
	if !errors.Is(err, migrate.ErrKept) || !strings.Contains(err.Error(), "waited for blocking transactions longer than its limit (3s)") || !strings.Contains(err.Error(), want) {
		t.Fatalf("run: %v; want it to stop keeping its copy and name the blocker (%q)", err, want)
	}
	if sum.Swapped || sum.BlockerWait < 3*time.Second {
		t.Errorf("swapped %v, waited %v for blockers", sum.Swapped, sum.BlockerWait)
	}
	if stats.MaxLatency >= writerLatencyLimit {
		t.Errorf("a writer's statement took %v, limit %v", stats.MaxLatency, writerLatencyLimit)
	}
	if got := strings.Join(tables(t, bt.sb), ","); got != "_t_ckpt,t,t_godwit_new" {
		t.Errorf("tables %s, want the original, the kept shadow and the checkpoint", got)
	}
	if err := bt.model.Compare(ctx, bt.sb.DB, "t", workload.Expect{}); err != nil {
		t.Errorf("the original table differs from what the writers committed: %v", err)
	}
}
