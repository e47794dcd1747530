package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/internal/workload"
	"github.com/godwit-db/godwit/migrate"
)

// controlArgs are cmd (status, pause, ...) with the flags naming the
// sandbox's table t.
func controlArgs(sb *sandboxtest.Sandbox, cmd string, extra ...string) []string {
	return append(append([]string{cmd}, connArgs(sb)[1:]...), extra...)
}

// onTable is args with --table t replaced by --table table.
func onTable(args []string, table string) []string {
	args = slices.Clone(args)
	args[slices.Index(args, "--table")+1] = table
	return args
}

// bigTable names the table of the long test. Not "t": the binlog stream
// takes any DDL the SQL parser cannot read (CREATE TRIGGER, say) that
// contains the table's name for a DDL on the table, whatever its database,
// and tests of other packages sharing the sandbox run such DDL on tables
// named t (see the report on copier/binlog.go's touches).
const bigTable = "ctl_orders"

// statusJSON runs godwit status --output json on table without logging it
// (tests poll it) and decodes the document; any exit code but 0, 3 and 4,
// or stdout that is not the document, fails the test.
func statusJSON(t *testing.T, sb *sandboxtest.Sandbox, table string) (int, *migrate.TableStatus) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, godwitBinary(t), onTable(controlArgs(sb, "status", "--output", "json"), table)...)
	cmd.Env = pwdEnv(sb)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.Exited() {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("godwit status: %v\n%s", err, stderr.String())
	}
	var ts migrate.TableStatus
	if jerr := json.Unmarshal(stdout.Bytes(), &ts); jerr != nil || !slices.Contains([]int{exitOK, exitNoMigration, exitStopped}, code) {
		t.Fatalf("godwit status: exit %d, %v\nstdout:\n%s\nstderr:\n%s", code, jerr, stdout.String(), stderr.String())
	}
	return code, &ts
}

// TestControlCommandsOnRunningMigration drives a migration of 200,000 rows
// under concurrent writes from outside, through the godwit binary, as an
// operator on another host would: status shows the copy's progress; pause
// stops the copied-row count while the writers' changes keep being
// applied; resume makes it grow again; with --postpone-cutover the ready
// migration waits, in sync, until cutover lets it swap; and the swapped
// table equals what the writers committed, row for row.
func TestControlCommandsOnRunningMigration(t *testing.T) {
	sb := sandboxtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	if err := workload.Create(ctx, sb.DB, bigTable); err != nil {
		t.Fatal(err)
	}
	model, err := workload.Load(ctx, sb.DB, bigTable, 200_000, 11)
	if err != nil {
		t.Fatal(err)
	}
	run := workload.Start(ctx, sb.DB, bigTable, model, workload.Options{Writers: 3, Rate: 300, Seed: 12})
	t.Cleanup(func() { run.Stop() }) // Stop is idempotent; this covers the failures

	started := time.Now().UTC()
	const alter = "MODIFY i32 BIGINT NULL"
	mig := exec.CommandContext(ctx, godwitBinary(t), append(onTable(connArgs(sb), bigTable), "--alter", alter, "--force-copy",
		"--chunk-time", "20ms", "--postpone-cutover", "--output", "json")...)
	mig.Env = pwdEnv(sb)
	var migOut, migErr bytes.Buffer
	mig.Stdout, mig.Stderr = &migOut, &migErr
	if err := mig.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{}) // closed once migErr and waitErr are final
	var waitErr error
	go func() { waitErr = mig.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			mig.Process.Kill()
			<-exited
			t.Logf("godwit migrate (killed at the end of the test)\nstderr:\n%s", migErr.String())
		}
	})
	// running reads the status of the running migration, failing when
	// there is none.
	running := func() *migrate.TableStatus {
		t.Helper()
		_, ts := statusJSON(t, sb, bigTable)
		if ts.State != migrate.StateRunning || ts.Status == nil {
			select {
			case <-exited:
				t.Fatalf("godwit migrate exited: %v\nstderr:\n%s", waitErr, migErr.String())
			default:
			}
			t.Fatalf("status of the running migration: %+v", ts)
		}
		return ts
	}
	// poll reads the status until ok says yes, failing when the migration
	// exits or limit passes.
	poll := func(what string, limit time.Duration, ok func(*migrate.TableStatus) bool) *migrate.TableStatus {
		t.Helper()
		deadline := time.Now().Add(limit)
		for {
			select {
			case <-exited:
				t.Fatalf("waiting for %s: godwit migrate exited: %v\nstderr:\n%s", what, waitErr, migErr.String())
			default:
			}
			_, ts := statusJSON(t, sb, bigTable)
			if ts.Status != nil && ok(ts) {
				return ts
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %s within %s; last status: %+v %+v", what, limit, ts, ts.Status)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	// status, mid-copy.
	s0 := poll("copy progress", time.Minute, func(ts *migrate.TableStatus) bool {
		return ts.Status != nil && ts.Status.Phase == migrate.PhaseCopy && ts.Status.RowsCopied >= 20_000
	})
	host, _ := os.Hostname()
	st := s0.Status
	switch {
	case s0.State != migrate.StateRunning || s0.LockConnection == 0 || !s0.HasControl:
		t.Fatalf("status mid-copy: %+v", s0)
	case st.PID != mig.Process.Pid || st.Host != host || st.Alter != alter:
		t.Fatalf("status names pid %d on %q running %q, want %d on %q running %q", st.PID, st.Host, st.Alter, mig.Process.Pid, host, alter)
	case st.StartedAt.Before(started.Add(-time.Second)) || st.StartedAt.After(time.Now()):
		t.Fatalf("status says started at %s; the test started it at %s", st.StartedAt, started)
	case st.RowsTotal < 100_000 || st.RowsCopied > st.RowsTotal*2:
		t.Fatalf("status: %d rows copied of an estimated %d, for 200000", st.RowsCopied, st.RowsTotal)
	case s0.StatusAgeSeconds > 3 || s0.Control.Paused || s0.Control.Cutover || st.Postponed != "":
		t.Fatalf("status mid-copy: age %.1fs, control %+v, postponed %q", s0.StatusAgeSeconds, s0.Control, st.Postponed)
	}
	if res := runGodwit(t, pwdEnv(sb), onTable(controlArgs(sb, "status"), bigTable)...); res.code != exitOK ||
		!strings.Contains(res.stdout, "godwit migration of "+sb.Database+"."+bigTable+": running") || !strings.Contains(res.stdout, "copied") {
		t.Fatalf("status as text: exit %d\n%s", res.code, res.stdout)
	}

	// pause: the copied-row count stops, changes keep being applied.
	if res := runGodwit(t, pwdEnv(sb), onTable(controlArgs(sb, "pause"), bigTable)...); res.code != exitOK || !strings.Contains(res.stdout, "paused the migration of") {
		t.Fatalf("pause: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	poll("the pause to take hold", 10*time.Second, func(ts *migrate.TableStatus) bool {
		return ts.Status.Paused && strings.Contains(ts.Status.PauseReason, "paused by godwit pause from ")
	})
	time.Sleep(1500 * time.Millisecond) // the chunk in flight when the pause came lands
	s1 := running()
	time.Sleep(2500 * time.Millisecond)
	s2 := running()
	switch {
	case s1.Status.Phase != migrate.PhaseCopy || s2.Status.Phase != migrate.PhaseCopy:
		t.Fatalf("phases %s then %s while paused: the copy must not get past the pause", s1.Status.Phase, s2.Status.Phase)
	case s2.Status.RowsCopied != s1.Status.RowsCopied:
		t.Fatalf("rows copied grew from %d to %d while paused", s1.Status.RowsCopied, s2.Status.RowsCopied)
	case s2.Status.RowsApplied <= s1.Status.RowsApplied:
		t.Fatalf("rows applied %d then %d while paused: the writers' changes must keep being applied", s1.Status.RowsApplied, s2.Status.RowsApplied)
	case !s2.Control.Paused || !s2.Status.Paused || s2.StatusAgeSeconds > 2.5:
		t.Fatalf("status while paused: control %+v, paused %v, age %.1fs", s2.Control, s2.Status.Paused, s2.StatusAgeSeconds)
	}
	t.Logf("paused at %d rows copied; %d rows applied meanwhile", s2.Status.RowsCopied, s2.Status.RowsApplied-s1.Status.RowsApplied)

	// resume: the copy goes on.
	if res := runGodwit(t, pwdEnv(sb), onTable(controlArgs(sb, "resume"), bigTable)...); res.code != exitOK || !strings.Contains(res.stdout, "resumed the migration of") {
		t.Fatalf("resume: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	poll("the copy to go on", 15*time.Second, func(ts *migrate.TableStatus) bool {
		return !ts.Control.Paused && ts.Status.RowsCopied > s2.Status.RowsCopied
	})

	// --postpone-cutover: ready, in sync, waiting.
	ready := poll("the migration to wait for godwit cutover", 4*time.Minute, func(ts *migrate.TableStatus) bool {
		return strings.Contains(ts.Status.Postponed, "cut-over postponed until godwit cutover")
	})
	time.Sleep(2 * time.Second)
	still := running()
	if still.State != migrate.StateRunning || still.Status.Postponed != ready.Status.Postponed || still.StatusAgeSeconds > 2.5 ||
		still.Status.RowsCopied < 200_000 {
		t.Fatalf("two seconds later: %+v %+v", still, still.Status)
	}
	if got := tables(t, sb); !slices.Contains(got, "_"+bigTable+"_new") || !slices.Contains(got, bigTable) {
		t.Fatalf("tables while waiting for cutover: %v", got)
	}

	// cutover: it swaps.
	res := runGodwit(t, pwdEnv(sb), onTable(controlArgs(sb, "cutover"), bigTable)...)
	if res.code != exitOK || !strings.Contains(res.stdout, "was waiting at its cut-over") {
		t.Fatalf("cutover: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	select {
	case <-exited:
		if waitErr != nil {
			t.Fatalf("godwit migrate: %v\nstderr:\n%s", waitErr, migErr.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("godwit migrate has not finished a minute after godwit cutover")
	}
	sum := checkJSONOutput(t, result{stdout: migOut.String()})
	if sum["swapped"] != true || sum["paused_ms"].(float64) < 3500 || sum["postponed_ms"].(float64) < 2000 {
		t.Fatalf("summary: swapped %v, paused_ms %v (the pause), postponed_ms %v", sum["swapped"], sum["paused_ms"], sum["postponed_ms"])
	}
	stats, werr := run.Stop()
	if werr != nil {
		t.Fatalf("writers: %v", werr)
	}
	t.Log(stats.Locks())
	if err := stats.NoLockConflicts(); err != nil {
		t.Fatal(err)
	}
	t.Logf("writers: %s", stats)
	if err := model.Compare(ctx, sb.DB, bigTable, workload.Expect{}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tables(t, sb), ","); got != "_"+bigTable+"_old,"+bigTable {
		t.Fatalf("tables after the swap: %s", got)
	}
	if code, ts := statusJSON(t, sb, bigTable); code != exitNoMigration || ts.State != migrate.StateNone {
		t.Fatalf("status after the swap: exit %d, %+v", code, ts)
	}
}

// TestControlCommandsWithoutMigration: the commands on a table without a
// migration, on a missing table, with bad flags, and on a migration that
// stopped and left its checkpoint. They create nothing.
func TestControlCommandsWithoutMigration(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.New(t)
	createTable(t, sb)
	env := pwdEnv(sb)
	name := sb.Database + ".t"

	res := runGodwit(t, env, controlArgs(sb, "status")...)
	if res.code != exitNoMigration || !strings.Contains(res.stdout, "no godwit migration of "+name+" is running, and none left a checkpoint") ||
		!strings.Contains(res.stderr, "godwit: status: no godwit migration") {
		t.Errorf("status without migration: exit %d, want %d and a message", res.code, exitNoMigration)
	}
	if code, ts := statusJSON(t, sb, "t"); code != exitNoMigration || ts.State != migrate.StateNone || !ts.TableExists {
		t.Errorf("status --output json without migration: exit %d, %+v", code, ts)
	}
	for _, c := range []string{"pause", "resume", "cutover"} {
		res := runGodwit(t, env, controlArgs(sb, c)...)
		if res.code != exitRefused || !strings.Contains(res.stderr, "no godwit migration of "+name+" is running") ||
			!strings.Contains(res.stderr, "nothing to "+c) || !strings.Contains(res.stderr, "godwit migrate --database") {
			t.Errorf("%s without migration: exit %d, want %d and what to do", c, res.code, exitRefused)
		}
	}
	nope := func(cmd string) []string { return onTable(controlArgs(sb, cmd), "nope") }
	for c, want := range map[string]int{"status": exitNoMigration, "pause": exitRefused} {
		res := runGodwit(t, env, nope(c)...)
		if res.code != want || !strings.Contains(res.stdout+res.stderr, "table "+sb.Database+".nope does not exist") {
			t.Errorf("%s on a missing table: exit %d, want %d and that it does not exist", c, res.code, want)
		}
	}
	noTable := controlArgs(sb, "pause")
	noTable = noTable[:len(noTable)-2] // without --table t
	if res := runGodwit(t, env, noTable...); res.code != exitUsage || !strings.Contains(res.stderr, "--table is required") {
		t.Errorf("pause without --table: exit %d, want %d", res.code, exitUsage)
	}
	if res := runGodwit(t, env, controlArgs(sb, "status", "--output", "yaml")...); res.code != exitUsage {
		t.Errorf("status --output yaml: exit %d, want %d", res.code, exitUsage)
	}
	if got := strings.Join(tables(t, sb), ","); got != "t" {
		t.Fatalf("tables %s: the commands must create nothing", got)
	}

	// What a killed run leaves: its checkpoint table, no lock holder.
	sb.Exec(t, "CREATE TABLE _t_ckpt (id TINYINT NOT NULL PRIMARY KEY, state TEXT NOT NULL, updated_at DATETIME(6) NOT NULL) COMMENT='godwit checkpoint of t'")
	sb.Exec(t, `INSERT INTO _t_ckpt VALUES (1, '{"alter_sha":"x","file":"","pos":0,"watermark":null,"done":false,"rows":120}', UTC_TIMESTAMP(6))`)
	res = runGodwit(t, env, controlArgs(sb, "status")...)
	if res.code != exitStopped || !strings.Contains(res.stdout, "stopped; rerun the same godwit migrate to resume, or godwit abort") ||
		!strings.Contains(res.stdout, "120 rows copied") {
		t.Errorf("status of a stopped migration: exit %d, want %d, the checkpoint and what to do", res.code, exitStopped)
	}
	res = runGodwit(t, env, controlArgs(sb, "pause", "--output", "json")...)
	var out struct {
		Changed bool            `json:"changed"`
		Control migrate.Control `json:"control"`
		Message string          `json:"message"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &out); err != nil || res.code != exitOK || !out.Changed || !out.Control.Paused ||
		!strings.Contains(out.Message, "starts paused") {
		t.Errorf("pause of a stopped migration: exit %d, %+v, %v", res.code, out, err)
	}
	if code, ts := statusJSON(t, sb, "t"); code != exitStopped || !ts.Control.Paused || ts.Checkpoint == nil || ts.Checkpoint.RowsCopied != 120 {
		t.Errorf("status after pausing a stopped migration: exit %d, %+v", code, ts)
	}
	if got := strings.Join(tables(t, sb), ","); got != "_t_ckpt,t" {
		t.Fatalf("tables %s: the commands must create nothing", got)
	}
	if res := runGodwit(t, env, controlArgs(sb, "abort")...); res.code != exitOK {
		t.Fatalf("abort: exit %d", res.code)
	}
	if code, _ := statusJSON(t, sb, "t"); code != exitNoMigration {
		t.Errorf("status after abort: exit %d, want %d", code, exitNoMigration)
	}
}
