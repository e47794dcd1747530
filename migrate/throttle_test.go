package migrate_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/internal/workload"
	"github.com/godwit-db/godwit/migrate"
)

// TestThrottleFlagFileHoldsCopyButNotApply: while the flag file exists the
// copy waits, yet the writers' changes keep reaching the shadow; removing
// the file lets the migration finish, and nothing is lost.
func TestThrottleFlagFileHoldsCopyButNotApply(t *testing.T) {
	sb := sandboxtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	model := workloadTable(ctx, t, sb, 20_000, 3)
	flag := filepath.Join(t.TempDir(), "pause")
	run := workload.Start(ctx, sb.DB, "t", model, workload.Options{Writers: 2, Rate: 200, Seed: 4})

	opt := options(sb, "t", "MODIFY i32 BIGINT NULL")
	opt.ChunkTime = 20 * time.Millisecond
	opt.MaxChunkRows = 40 // many chunks, so the pause lands mid-copy
	opt.Throttle.FlagFile = flag
	opt.Replicas = []mysqlx.Config{{Host: sb.Host, Port: sb.ReplicaPort, User: sb.User, Password: sb.Password, Database: sb.Database}}
	var throttledApplied []int64
	var reason string
	var since time.Time
	created := false
	opt.Report = func(e migrate.Event) {
		if e.Phase == migrate.PhaseCopy && e.Progress.Chunks >= 1 && !created {
			created = true // pause after the first chunk, once changes have somewhere to go
			if err := os.WriteFile(flag, nil, 0o644); err != nil {
				t.Error(err)
			}
		}
		if e.Throttled {
			reason = e.ThrottleReason
			throttledApplied = append(throttledApplied, e.Progress.RowsApplied)
			if since.IsZero() {
				since = time.Now()
			}
			if time.Since(since) > 3*time.Second {
				os.Remove(flag) // held long enough to see changes applied meanwhile
			}
		}
	}
	sum, err := migrate.Run(ctx, opt)
	stats, werr := run.Stop()
	if err != nil || werr != nil {
		t.Fatalf("migrate: %v; writers: %v", err, werr)
	}
	t.Log(stats.Locks())
	if err := stats.NoLockConflicts(); err != nil {
		t.Fatal(err)
	}
	if len(throttledApplied) < 4 || !strings.Contains(reason, "flag file") {
		t.Fatalf("saw %d throttled reports (reason %q)", len(throttledApplied), reason)
	}
	if first, last := throttledApplied[0], throttledApplied[len(throttledApplied)-1]; last <= first {
		t.Fatalf("no change was applied while the copy was throttled: applied %d then %d", first, last)
	}
	if sum.Throttled < time.Second {
		t.Fatalf("summary says the copy waited %s", sum.Throttled)
	}
	t.Logf("throttled %s by %q; writers %d statements", sum.Throttled, reason, stats.Statements())
	if err := model.Compare(ctx, sb.DB, "t", workload.Expect{}); err != nil {
		t.Fatal(err)
	}
	if got := tables(t, sb); strings.Join(got, ",") != "_t_old,t" {
		t.Fatalf("tables: %v (the heartbeat table must be gone)", got)
	}
}
