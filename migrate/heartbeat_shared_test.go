package migrate_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/internal/workload"
	"github.com/godwit-db/godwit/migrate"
	"github.com/godwit-db/godwit/throttle"
)

// TestConcurrentMigrationsShareHeartbeat: two migrations of two tables of
// one schema run at once, both throttled by the replica's lag, under
// writers. The second is held (by its flag file) until the first has
// finished: the first must leave the second's heartbeat row in place, and
// the second must then copy on and finish, not stay throttled by a
// heartbeat it can no longer write. Both tables end equal to their model.
func TestConcurrentMigrationsShareHeartbeat(t *testing.T) {
	sb := sandboxtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	models := map[string]*workload.Model{}
	for i, name := range []string{"t1", "t2"} {
		if err := workload.Create(ctx, sb.DB, name); err != nil {
			t.Fatal(err)
		}
		m, err := workload.Load(ctx, sb.DB, name, 5_000, int64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		models[name] = m
	}
	writers := map[string]*workload.Run{}
	for i, name := range []string{"t1", "t2"} {
		writers[name] = workload.Start(ctx, sb.DB, name, models[name], workload.Options{Writers: 2, Rate: 100, Seed: int64(10 + i)})
	}
	replica := mysqlx.Config{Host: sb.Host, Port: sb.ReplicaPort, User: sb.User, Password: sb.Password, Database: sb.Database}
	flag := filepath.Join(t.TempDir(), "hold-t2")
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var lastReason string
	var chunksAtRelease, chunksAtEnd int64
	opt1 := options(sb, "t1", "MODIFY i32 BIGINT NULL")
	opt1.Replicas = []mysqlx.Config{replica}
	opt2 := options(sb, "t2", "MODIFY i32 BIGINT NULL")
	opt2.Replicas = []mysqlx.Config{replica}
	opt2.Throttle.FlagFile = flag
	opt2.MaxChunkRows = 50 // many chunks left to copy once released
	opt2.Report = func(e migrate.Event) {
		mu.Lock()
		defer mu.Unlock()
		if e.Throttled {
			lastReason = e.ThrottleReason
		}
		if e.Phase == migrate.PhaseCopy {
			chunksAtEnd = e.Progress.Chunks
		}
	}

	type result struct {
		sum *migrate.Summary
		err error
		at  time.Time
	}
	done2 := make(chan result, 1)
	go func() {
		sum, err := migrate.Run(ctx, opt2)
		done2 <- result{sum, err, time.Now()}
	}()
	sum1, err := migrate.Run(ctx, opt1)
	if err != nil {
		t.Fatalf("migrate t1: %v", err)
	}
	first := time.Now()
	// The first run removed its own row only: the second's is still there.
	rows := sb.Strings(t, "SELECT tbl FROM "+throttle.HeartbeatTable)
	if strings.Join(rows, ",") != "t2" {
		t.Fatalf("heartbeat rows after the first run finished: %v, want [t2]", rows)
	}
	select {
	case r := <-done2:
		t.Fatalf("the second run ended before it was released: %v", r.err)
	case <-time.After(2 * time.Second): // the second run's heartbeat and probes go on meanwhile
	}
	mu.Lock()
	chunksAtRelease = chunksAtEnd
	mu.Unlock()
	os.Remove(flag)
	released := time.Now()
	var r result
	select {
	case r = <-done2:
	case <-time.After(90 * time.Second):
		mu.Lock()
		reason := lastReason
		mu.Unlock()
		t.Fatalf("the second run is still running 90s after it was released (last throttle reason %q)", reason)
	}
	if r.err != nil {
		t.Fatalf("migrate t2: %v", r.err)
	}
	mu.Lock()
	copied := chunksAtEnd - chunksAtRelease
	mu.Unlock()
	if copied < 10 {
		t.Fatalf("the second run copied %d chunks after the first finished: the test proves nothing", copied)
	}
	t.Logf("t1 done in %s; t2 released %s later, copied %d chunks and finished %s after its release (throttled %s in all, last reason %q)",
		sum1.Total.Round(time.Millisecond), released.Sub(first).Round(time.Millisecond), copied,
		r.at.Sub(released).Round(time.Millisecond), r.sum.Throttled.Round(time.Millisecond), lastReason)
	for _, name := range []string{"t1", "t2"} {
		stats, err := writers[name].Stop()
		if err != nil {
			t.Fatalf("writers of %s: %v", name, err)
		}
		if err := models[name].Compare(ctx, sb.DB, name, workload.Expect{}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%s equals its model after %d writer statements", name, stats.Statements())
	}
	if got := strings.Join(tables(t, sb), ","); got != "_t1_old,_t2_old,t1,t2" {
		t.Fatalf("tables: %s (the heartbeat table must be gone once both finished)", got)
	}
}
