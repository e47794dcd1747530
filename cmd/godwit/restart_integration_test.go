package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/internal/workload"
)

// TestRestartPrimaryMidCopy restarts MariaDB in the middle of a copy, with
// writers going on throughout: godwit must stop with a message that says
// the checkpoint is kept (or, if it rode the restart out, finish), a rerun
// of the same command must resume from that checkpoint and swap, and the
// table must then hold exactly what the writers committed, row for row.
//
// The restart would break every other test using the shared sandbox at
// that moment (the packages' tests run in parallel), so this test starts a
// private one: its own state directory, env file and ports.
func TestRestartPrimaryMidCopy(t *testing.T) {
	sb, restartPrimary := privateSandbox(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	if err := workload.Create(ctx, sb.DB, "t"); err != nil {
		t.Fatal(err)
	}
	const rows = 200_000
	loaded := time.Now()
	model, err := workload.Load(ctx, sb.DB, "t", rows, 11)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded %d rows in %v", rows, time.Since(loaded).Round(time.Millisecond))

	// The writers wait the restart out and replay what the lost
	// connections may or may not have committed, as an application would.
	writers := workload.Start(ctx, sb.DB, "t", model, workload.Options{Writers: 4, Rate: 400, Seed: 11, RideOut: time.Minute})
	defer writers.Stop() // on a failed test
	args := append(connArgs(sb), "--alter", "MODIFY i32 BIGINT NULL", "--force-copy", "--chunk-time", "50ms", "--output", "json")

	cmd, out, stderr := startGodwit(ctx, t, pwdEnv(sb), args...)
	var stdout bytes.Buffer
	lines := make(chan string, 1000)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(io.TeeReader(out, &stdout))
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()

	waitMidCopy(t, ctx, sb, lines, rows)
	restartStart := time.Now()
	restartPrimary(3 * time.Second)
	t.Logf("primary restarted (down ~3s) in %v", time.Since(restartStart).Round(time.Millisecond))

	go func() {
		for range lines { // keep the pipe drained
		}
	}()
	waitErr := cmd.Wait()
	code := 0
	var ee *exec.ExitError
	switch {
	case waitErr == nil:
	case errors.As(waitErr, &ee) && ee.Exited():
		code = ee.ExitCode()
	default:
		t.Fatalf("godwit: %v\nstderr:\n%s", waitErr, stderr.String())
	}
	t.Logf("first run: exit %d\nstderr:\n%s", code, stderr.String())
	switch {
	case code == exitOK:
		t.Log("godwit rode the restart out and finished")
	case code == exitKept && strings.Contains(stderr.String(), "lost the server during copy") &&
		strings.Contains(stderr.String(), "the copy and its checkpoint are kept: rerun the same command to resume"):
		if got := strings.Join(tables(t, sb), ","); got != "_t_ckpt,_t_new,t" {
			t.Fatalf("tables after the lost run: %s, want the checkpoint and the shadow kept", got)
		}
		res := runGodwit(t, pwdEnv(sb), args...)
		if res.code != exitOK {
			t.Fatalf("rerun after the restart exited %d:\n%s", res.code, res.stderr)
		}
		sum := checkJSONOutput(t, res)
		if sum["resumed"] != true || !strings.Contains(res.stderr, "resuming an interrupted run") {
			t.Fatalf("the rerun did not resume from the checkpoint: summary %v", sum)
		}
		t.Logf("the rerun resumed and swapped: %v rows copied in total, %v binlog changes", sum["rows_copied"], sum["binlog_row_changes"])
	default:
		t.Fatalf("godwit exited %d without saying the checkpoint is kept; stdout:\n%s", code, stdout.String())
	}

	time.Sleep(300 * time.Millisecond) // the writers go on after the swap
	stats, err := writers.Stop()
	t.Logf("writers: %v", stats)
	if err != nil {
		t.Fatalf("writers: %v", err)
	}
	t.Log(stats.Locks())
	if err := stats.NoLockConflicts(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tables(t, sb), ","); got != "_t_old,t" {
		t.Fatalf("tables after the swap: %s, want _t_old,t", got)
	}
	if err := model.Compare(ctx, sb.DB, "t", workload.Expect{}); err != nil {
		t.Fatalf("the migrated table differs from what the writers committed: %v", err)
	}
	// The replica reconnected by itself and replicated the whole story.
	sb.WaitReplica(t)
}

// restartCheckpoint is the part of godwit's checkpoint this test reads.
type restartCheckpoint struct {
	File string `json:"file"`
	Pos  uint32 `json:"pos"`
	Rows int64  `json:"rows"`
	Done bool   `json:"done"`
}

// waitMidCopy waits until godwit has copied a fifth of the rows and
// checks its checkpoint then: the first is saved after the first chunk,
// the next ones every 5 s, so the shadow holds rows above the checkpoint's
// watermark that a resumed run must delete and copy again.
func waitMidCopy(t *testing.T, ctx context.Context, sb *sandboxtest.Sandbox, lines <-chan string, rows int64) {
	t.Helper()
	for {
		var line string
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("godwit ended before copying a fifth of the rows")
			}
			line = l
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
		var ev struct {
			Phase      string `json:"phase"`
			RowsCopied int64  `json:"rows_copied"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("stdout line %q: %v", line, err)
		}
		switch ev.Phase {
		case "preflight", "setup":
			continue
		case "copy":
		default:
			t.Fatalf("godwit reached %s before copying a fifth of the rows: make the copy slower", ev.Phase)
		}
		if ev.RowsCopied < rows/5 {
			continue
		}
		var state string
		if err := sb.DB.QueryRowContext(ctx, "SELECT state FROM _t_ckpt WHERE id = 1").Scan(&state); err != nil {
			t.Fatalf("read the checkpoint mid-copy: %v", err)
		}
		var cp restartCheckpoint
		if err := json.Unmarshal([]byte(state), &cp); err != nil {
			t.Fatalf("checkpoint %q: %v", state, err)
		}
		if cp.File == "" || cp.Rows == 0 || cp.Done {
			t.Fatalf("checkpoint mid-copy %s: want a binlog position and copied rows, copy not done", state)
		}
		t.Logf("mid-copy: %d rows copied, the checkpoint says %d (binlog %s:%d)", ev.RowsCopied, cp.Rows, cp.File, cp.Pos)
		return
	}
}

// privateSandbox starts a sandbox of the test's own (sandbox.sh with its
// own state directory and free ports), points sandboxtest at it for the
// test's duration and stops it at the end; extraEnv are more of sandbox.sh's
// settings (GODWIT_SANDBOX_LCTN=1). restart restarts its primary,
// down for the given time, and returns once the replica has reconnected.
//
// Like every integration test, it needs what the shared sandbox needs: it
// is skipped without one (or fails, in CI).
func privateSandbox(t *testing.T, extraEnv ...string) (sb *sandboxtest.Sandbox, restart func(down time.Duration)) {
	t.Helper()
	if os.Getenv(sandboxtest.EnvHost) == "" {
		msg := "integration tests need the sandbox: run make test (this test starts a private one next to it)"
		if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	script, err := filepath.Abs(filepath.Join("..", "..", "testdata", "sandbox", "sandbox.sh"))
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	var env []string
	run := func(args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, script, args...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		t.Logf("sandbox.sh %s:\n%s", strings.Join(args, " "), out)
		if err != nil {
			t.Fatalf("sandbox.sh %s: %v", strings.Join(args, " "), err)
		}
	}
	// A free port may be taken between the check and the server's bind:
	// then start fails at once, and another pair is tried.
	for attempt := 1; ; attempt++ {
		// This test's table takes under 1 GiB; the 4 GiB a start asks for
		// by default are for a whole test run, which shares this disk.
		env = []string{"GODWIT_SANDBOX_STATE=" + state, "GODWIT_SANDBOX_MIN_FREE_MIB=1536",
			"GODWIT_SANDBOX_PORT=" + strconv.Itoa(freePort(t)), "GODWIT_SANDBOX_REPLICA_PORT=" + strconv.Itoa(freePort(t))}
		env = append(env, extraEnv...)
		cmd := exec.Command(script, "start")
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		t.Logf("sandbox.sh start (%s):\n%s", strings.Join(env, " "), out)
		if err == nil {
			break
		}
		if attempt == 3 || !strings.Contains(string(out), "is in use") {
			t.Fatalf("start a private sandbox: %v", err)
		}
	}
	t.Cleanup(func() { run("stop", "--force") }) // after sandboxtest's own cleanup, which needs the server
	vars, err := readSandboxEnv(filepath.Join(state, "env"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{sandboxtest.EnvHost, sandboxtest.EnvPort, sandboxtest.EnvUser, sandboxtest.EnvPassword, sandboxtest.EnvReplicaPort} {
		t.Setenv(k, vars[k])
	}
	return sandboxtest.New(t), func(down time.Duration) {
		t.Helper()
		run("restart-primary", strconv.FormatFloat(down.Seconds(), 'f', -1, 64))
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// readSandboxEnv reads the "export NAME=value" lines sandbox.sh writes
// (values quoted with printf %q; the sandbox's need no unquoting beyond
// that of simple words).
func readSandboxEnv(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the private sandbox's env: %w", err)
	}
	vars := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if ok && !strings.HasPrefix(line, "#") {
			vars[k] = strings.Trim(v, `'"`)
		}
	}
	return vars, nil
}
