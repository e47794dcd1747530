package main

import (
	"bufio"
	"context"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/workload"
)

// TestResumeAfterFailover stops a copy on the primary (SIGTERM, which
// keeps it), promotes the replica, as a failover does, and reruns the same
// command against the new primary: the checkpoint's binlog position means
// nothing there, but its GTID set says where to read on, so the copy is
// resumed rather than refused, and the table equals what the writers
// committed on both primaries, row for row.
//
// The promotion breaks replication for good, so the test has a private
// sandbox.
func TestResumeAfterFailover(t *testing.T) {
	sb, _ := privateSandbox(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	if err := workload.Create(ctx, sb.DB, "t"); err != nil {
		t.Fatal(err)
	}
	const rows = 100_000
	model, err := workload.Load(ctx, sb.DB, "t", rows, 31)
	if err != nil {
		t.Fatal(err)
	}
	writers := workload.Start(ctx, sb.DB, "t", model, workload.Options{Writers: 4, Rate: 400, Seed: 32})
	defer writers.Stop() // on a failed test
	args := []string{"--alter", "MODIFY i32 BIGINT NULL", "--force-copy", "--chunk-time", "50ms", "--output", "json"}

	cmd, out, stderr := startGodwit(ctx, t, pwdEnv(sb), append(connArgs(sb), args...)...)
	lines := make(chan string, 1000)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	waitMidCopy(t, ctx, sb, lines, rows)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	go func() {
		for range lines { // keep the pipe drained
		}
	}()
	var ee *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &ee) || ee.ExitCode() != exitKept {
		t.Fatalf("godwit after SIGTERM: %v, want exit %d\nstderr:\n%s", err, exitKept, stderr.String())
	}
	stats, err := writers.Stop()
	if err != nil {
		t.Fatalf("writers on the old primary: %v", err)
	}
	t.Log(stats.Locks())
	if err := stats.NoLockConflicts(); err != nil {
		t.Fatal(err)
	}
	t.Logf("writers on the old primary: %v", stats)

	// The failover: the replica, caught up, leaves replication and takes
	// writes.
	replica := sb.Replica(t)
	sb.WaitReplica(t)
	promote := []string{"STOP SLAVE", "RESET SLAVE ALL", "SET GLOBAL read_only = OFF"}
	if sb.IsMySQL() {
		promote = []string{"STOP REPLICA", "RESET REPLICA ALL", "SET GLOBAL super_read_only = OFF", "SET GLOBAL read_only = OFF"}
	}
	for _, q := range promote {
		if _, err := replica.ExecContext(ctx, q); err != nil {
			t.Fatalf("promote the replica: %s: %v", q, err)
		}
	}
	writers = workload.Start(ctx, replica, "t", model, workload.Options{Writers: 4, Rate: 400, Seed: 33})
	time.Sleep(300 * time.Millisecond) // writes on the new primary before godwit reruns

	onReplica := append(connArgs(sb), args...)
	for i, a := range onReplica {
		if a == "--port" {
			onReplica[i+1] = strconv.Itoa(sb.ReplicaPort)
		}
	}
	res := runGodwit(t, pwdEnv(sb), onReplica...)
	if res.code != exitOK {
		t.Fatalf("rerun on the new primary exited %d:\n%s", res.code, res.stderr)
	}
	sum := checkJSONOutput(t, res)
	if sum["resumed"] != true || !strings.Contains(res.stderr, "from its GTID set") {
		t.Fatalf("the rerun on the new primary did not resume from the GTID set: summary %v\nstderr:\n%s", sum, res.stderr)
	}
	time.Sleep(300 * time.Millisecond) // and after the swap
	stats, err = writers.Stop()
	if err != nil {
		t.Fatalf("writers on the new primary: %v", err)
	}
	t.Log(stats.Locks())
	if err := stats.NoLockConflicts(); err != nil {
		t.Fatal(err)
	}
	t.Logf("writers on the new primary: %v; the rerun copied %v rows in all", stats, sum["rows_copied"])
	if err := model.Compare(ctx, replica, "t", workload.Expect{}); err != nil {
		t.Fatalf("the migrated table differs from what the writers committed: %v", err)
	}
}
