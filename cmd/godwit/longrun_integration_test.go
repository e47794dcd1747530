//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/internal/workload"
)

// envLongRows opts in to TestLongRun and says how many rows to load. The
// run takes from minutes to hours, so the normal suite never runs it; use
// make longrun ROWS=N, which gives it a private sandbox.
const envLongRows = "GODWIT_LONG_ROWS"

// TestLongRun migrates a large table under writes with three interruptions
// in the middle of its copy: a SIGTERM at about 20% of the copy, a restart
// of the server at about 50% and a SIGTERM at about 80%. Each interrupted
// run must stop keeping its copy (exit 5), each rerun of the same command
// must resume from the checkpoint, the last one must swap, and the table
// must then hold exactly what the writers committed, row for row. Together
// the runs must copy each chunk about once: a rerun after a SIGTERM
// resumes exactly where its run stopped, and one after the restart from
// no earlier than the checkpoint saved before the restart; the rows copied
// twice are the ones copied since that checkpoint.
//
// It logs the wall time, each run's rows and the rows copied twice; see
// docs/longrun.md.
func TestLongRun(t *testing.T) {
	asked := longRows(t)
	state := os.Getenv("GODWIT_SANDBOX_STATE")
	if state == "" {
		t.Fatalf("%s is set but GODWIT_SANDBOX_STATE is not: this test restarts the server, so it needs a sandbox of its own; run make longrun ROWS=%d", envLongRows, asked)
	}
	sb := sandboxtest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	if d, ok := t.Deadline(); ok {
		ctx, cancel = context.WithDeadline(context.Background(), d.Add(-time.Minute))
	}
	defer cancel()
	rows := fitRows(ctx, t, sb, asked)

	if err := workload.Create(ctx, sb.DB, "t"); err != nil {
		t.Fatal(err)
	}
	loadStart := time.Now()
	model, err := workload.LoadLean(ctx, sb.DB, "t", rows, 41)
	if err != nil {
		t.Fatal(err)
	}
	loadTime := time.Since(loadStart)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("loaded %d rows in %v (%.0f rows/s); the test's heap with the model: %d MiB",
		rows, loadTime.Round(time.Second), float64(rows)/loadTime.Seconds(), ms.HeapAlloc>>20)

	// The writers ride the restart out, as an application would.
	writers := workload.Start(ctx, sb.DB, "t", model, workload.Options{Writers: 4, Rate: 400, Seed: 42, RideOut: time.Minute})
	defer writers.Stop() // on a failed test
	args := append(connArgs(sb), "--alter", "MODIFY i32 BIGINT NULL", "--force-copy", "--output", "json")
	restart := func() {
		cmd := exec.CommandContext(ctx, sandboxScript(t), "restart-primary", "3")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("sandbox.sh restart-primary: %v\n%s", err, out)
		}
	}
	sigterm := func(cmd *exec.Cmd) {
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	}

	start := time.Now()
	runs := []longRunResult{
		longRunOnce(ctx, t, sb, args, rows, 0.2, "SIGTERM", sigterm),
		longRunOnce(ctx, t, sb, args, rows, 0.5, "server restart", func(*exec.Cmd) { restart() }),
		longRunOnce(ctx, t, sb, args, rows, 0.8, "SIGTERM", sigterm),
		longRunOnce(ctx, t, sb, args, rows, 0, "", nil),
	}
	wall := time.Since(start)

	time.Sleep(300 * time.Millisecond) // the writers go on after the swap
	stats, err := writers.Stop()
	t.Logf("writers: %v", stats)
	if err != nil {
		t.Fatalf("writers: %v", err)
	}

	for i, r := range runs {
		last := i == len(runs)-1
		switch {
		case !last && (r.code != exitKept || !strings.Contains(r.stderr, "the copy and its checkpoint are kept")):
			t.Fatalf("run %d, stopped by a %s, exited %d without keeping its copy:\n%s", i+1, r.stop, r.code, r.stderr)
		case last && r.code != exitOK:
			t.Fatalf("the last run exited %d:\n%s", r.code, r.stderr)
		case i > 0 && r.summary["resumed"] != true:
			t.Fatalf("run %d did not resume from the checkpoint: summary %v", i+1, r.summary)
		}
	}
	if got := strings.Join(tables(t, sb), ","); got != "_t_old,t" {
		t.Fatalf("tables after the swap: %s, want _t_old,t", got)
	}
	compareStart := time.Now()
	if err := model.Compare(ctx, sb.DB, "t", workload.Expect{}); err != nil {
		t.Fatalf("the migrated table differs from what the writers committed: %v", err)
	}
	t.Logf("row-for-row compare of %d rows with the writers' model: equal (%v)", model.Len(), time.Since(compareStart).Round(time.Second))

	// A run copies the rows from its checkpoint's count to its own; what
	// one run copied past the checkpoint the next resumed from is copied
	// twice. The last run's count is one pass over the table.
	var copied int64
	for i, r := range runs {
		copied += r.end - r.begin
		t.Logf("run %d: stopped by %-14s exit %d, wall %v, resumed from %d rows, copied %d rows (to %d)",
			i+1, orDash(r.stop), r.code, r.wall.Round(time.Second), r.begin, r.end-r.begin, r.end)
	}
	once := runs[len(runs)-1].end
	twice := copied - once
	t.Logf("LONGRUN flavor=%s rows=%d load=%v wall=%v copied=%d one_pass=%d twice=%d (%.2f%% of the table) final_rows=%d",
		sandboxtest.Flavor(), rows, loadTime.Round(time.Second), wall.Round(time.Second), copied, once, twice, 100*float64(twice)/float64(rows), model.Len())

	// Each rerun resumes where its run could save its place: a SIGTERMed
	// run saves a last checkpoint on its way out, so its rerun copies
	// nothing again; a run that lost its server cannot, and its rerun
	// starts from the last periodic checkpoint, which is at least the one
	// saved before the restart.
	for i, r := range runs[:len(runs)-1] {
		next := runs[i+1].begin
		switch {
		case r.stop == "SIGTERM" && next != r.end:
			t.Errorf("run %d: stopped by SIGTERM at %d rows, but the rerun resumed from %d: the last checkpoint was not saved", i+1, r.end, next)
		case next > r.end || next < r.ckptAtStop:
			t.Errorf("run %d: stopped by %s at %d rows with a checkpoint at %d, but the rerun resumed from %d", i+1, r.stop, r.end, r.ckptAtStop, next)
		}
	}
}

// longRunResult is what one run of godwit did.
type longRunResult struct {
	stop       string // what stopped it; "" for the run left to finish
	code       int
	wall       time.Duration
	begin, end int64 // rows counted as copied when it began (its checkpoint's) and when it ended
	ckptAtStop int64 // rows the checkpoint counted when the run was stopped
	summary    map[string]any
	stderr     string
}

// longRunOnce runs godwit once; with a stop, it calls stop once the copy
// has counted the given fraction of rows, and lets the run end by itself.
func longRunOnce(ctx context.Context, t *testing.T, sb *sandboxtest.Sandbox, args []string, rows int, at float64, stop string, stopFn func(*exec.Cmd)) longRunResult {
	t.Helper()
	r := longRunResult{stop: stop, begin: checkpointRows(ctx, t, sb)}
	began := time.Now()
	cmd, out, stderr := startGodwit(ctx, t, pwdEnv(sb), args...)
	var stdout bytes.Buffer
	lines := make(chan string, 1000)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(io.TeeReader(out, &stdout))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	stopped := stopFn == nil
	for line := range lines {
		if stopped {
			continue // keep the pipe drained
		}
		var ev struct {
			Event      string `json:"event"`
			Phase      string `json:"phase"`
			RowsCopied int64  `json:"rows_copied"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("stdout line %q: %v", line, err)
		}
		if ev.Event != "progress" || ev.Phase == "preflight" || ev.Phase == "setup" {
			continue
		}
		if ev.Phase != "copy" {
			t.Fatalf("godwit reached %s before copying %.0f%% of the rows", ev.Phase, 100*at)
		}
		if ev.RowsCopied >= int64(at*float64(rows)) {
			r.ckptAtStop = checkpointRows(ctx, t, sb)
			t.Logf("%s at %d rows copied (%.0f%%), %v into the run; the checkpoint then counts %d", stop, ev.RowsCopied, 100*float64(ev.RowsCopied)/float64(rows), time.Since(began).Round(time.Second), r.ckptAtStop)
			stopFn(cmd)
			stopped = true
		}
	}
	waitErr := cmd.Wait()
	r.wall = time.Since(began)
	var ee *exec.ExitError
	switch {
	case waitErr == nil:
	case errors.As(waitErr, &ee) && ee.Exited():
		r.code = ee.ExitCode()
	default:
		t.Fatalf("godwit: %v\nstderr:\n%s", waitErr, stderr.String())
	}
	r.stderr = stderr.String()
	t.Logf("run stopped by %s: exit %d, log (its end):\n%s", orDash(stop), r.code, tail(r.stderr, 8000))
	if !stopped {
		t.Fatalf("godwit ended (exit %d) before copying %.0f%% of the rows:\n%s", r.code, 100*at, r.stderr)
	}
	r.summary = checkJSONOutput(t, result{code: r.code, stdout: stdout.String(), stderr: r.stderr})
	n, ok := r.summary["rows_copied"].(float64)
	if !ok {
		t.Fatalf("summary without rows_copied: %v", r.summary)
	}
	r.end = int64(n)
	return r
}

// checkpointRows is the rows the checkpoint counts as copied, 0 before the
// first run made one.
func checkpointRows(ctx context.Context, t *testing.T, sb *sandboxtest.Sandbox) int64 {
	t.Helper()
	var state string
	err := sb.DB.QueryRowContext(ctx, "SELECT state FROM _t_ckpt WHERE id = 1").Scan(&state)
	if err != nil {
		if strings.Contains(err.Error(), "1146") { // no such table: no run yet
			return 0
		}
		t.Fatalf("read the checkpoint: %v", err)
	}
	var cp restartCheckpoint
	if err := json.Unmarshal([]byte(state), &cp); err != nil {
		t.Fatalf("checkpoint %q: %v", state, err)
	}
	return cp.Rows
}

// longRows reads envLongRows, skipping the test when it is unset.
func longRows(t *testing.T) int {
	t.Helper()
	v := os.Getenv(envLongRows)
	if v == "" {
		t.Skipf("a long run: set %s=N (or run make longrun ROWS=N) to run it", envLongRows)
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 100_000 {
		t.Fatalf("%s=%q: want a number of rows, at least 100000 (interruptions at 20%% steps need a copy of some seconds)", envLongRows, v)
	}
	return n
}

func sandboxScript(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "testdata", "sandbox", "sandbox.sh"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// fmtMiB formats bytes as MiB for the sizing log.
func fmtMiB(b int64) string { return fmt.Sprintf("%d MiB", b>>20) }

// tail is the end of a long log.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
