package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/migrate"
)

// background runs the binary until it exits; wait returns its exit code,
// failing the test when it has not exited within limit.
type background struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	exited         chan struct{}
	err            error
}

func startBackground(t *testing.T, sb *sandboxtest.Sandbox, args ...string) *background {
	t.Helper()
	b := &background{exited: make(chan struct{})}
	b.cmd = exec.Command(godwitBinary(t), args...)
	b.cmd.Env = godwitEnv(pwdEnv(sb))
	b.cmd.Stdout, b.cmd.Stderr = &b.stdout, &b.stderr
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { b.err = b.cmd.Wait(); close(b.exited) }()
	t.Cleanup(func() {
		select {
		case <-b.exited:
		default:
			b.cmd.Process.Kill()
			<-b.exited
		}
	})
	return b
}

func (b *background) running() bool {
	select {
	case <-b.exited:
		return false
	default:
		return true
	}
}

func (b *background) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case <-b.exited:
	case <-time.After(limit):
		t.Fatalf("still running after %s\nstderr:\n%s", limit, b.stderr.String())
	}
	var ee *exec.ExitError
	if errors.As(b.err, &ee) {
		return ee.ExitCode()
	}
	if b.err != nil {
		t.Fatal(b.err)
	}
	return 0
}

// waitReady polls godwit status until the migration of table waits in
// its ready phase for the reason want, failing if the run exits first.
func waitReady(t *testing.T, sb *sandboxtest.Sandbox, b *background, table, want string) *migrate.TableStatus {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		if !b.running() {
			t.Fatalf("exited before its release: %v\nstdout:\n%s\nstderr:\n%s", b.err, b.stdout.String(), b.stderr.String())
		}
		_, ts := statusJSON(t, sb, table)
		// This run's status: a killed run's row may say the same.
		if ts.Status != nil && ts.Status.PID == b.cmd.Process.Pid && ts.State == migrate.StateRunning &&
			ts.Status.Phase == migrate.PhaseReady && strings.Contains(ts.Status.Postponed, want) {
			return ts
		}
		if time.Now().After(deadline) {
			t.Fatalf("not waiting for %q within a minute: %+v %+v", want, ts, ts.Status)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestMigratePostponedInstant: godwit migrate of an instant change with
// --postpone-cutover-file leaves the table as it is while the file
// exists, says so on its text lines and in godwit status, and makes the
// change once the file is gone.
func TestMigratePostponedInstant(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.New(t)
	createTable(t, sb)
	flag := filepath.Join(t.TempDir(), "hold")
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	b := startBackground(t, sb, append(connArgs(sb), "--alter", "ADD COLUMN w INT", "--postpone-cutover-file", flag, "--output", "text")...)
	waitReady(t, sb, b, "t", "cut-over postponed while "+flag+" exists")
	time.Sleep(1500 * time.Millisecond)
	if !b.running() {
		t.Fatalf("exited while %s exists: %v\n%s", flag, b.err, b.stdout.String())
	}
	if got := columns(t, sb, "t"); !slices.Equal(got, []string{"id", "a"}) {
		t.Fatalf("columns while postponed: %v", got)
	}
	os.Remove(flag)
	if code := b.wait(t, time.Minute); code != exitOK {
		t.Fatalf("exit %d\nstderr:\n%s", code, b.stderr.String())
	}
	if got := columns(t, sb, "t"); !slices.Equal(got, []string{"id", "a", "w"}) {
		t.Fatalf("columns after the release: %v", got)
	}
	out := b.stdout.String()
	t.Logf("stdout:\n%s", out)
	for _, want := range []string{"ready     cut-over postponed while " + flag + " exists", "changed t instantly", "cut-over postponed "} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if got := tables(t, sb); !slices.Equal(got, []string{"t"}) {
		t.Errorf("tables after: %v", got)
	}
}

// TestApplyPostponedInstant: godwit apply --postpone-cutover holds an
// instant statement until godwit cutover.
func TestApplyPostponedInstant(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.New(t)
	createTable(t, sb)
	dir := filepath.Join(t.TempDir(), "migrations")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "0001_w.sql", "ALTER TABLE t ADD COLUMN w INT;\n")
	b := startBackground(t, sb, append(applyConnArgs(sb, dir), "--postpone-cutover")...)
	waitReady(t, sb, b, "t", "cut-over postponed until godwit cutover")
	if got := columns(t, sb, "t"); !slices.Equal(got, []string{"id", "a"}) {
		t.Fatalf("columns while postponed: %v", got)
	}
	if res := runGodwit(t, pwdEnv(sb), controlArgs(sb, "cutover")...); res.code != exitOK || !strings.Contains(res.stdout, "was waiting at its cut-over") {
		t.Fatalf("cutover: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if code := b.wait(t, time.Minute); code != exitOK {
		t.Fatalf("apply: exit %d\n%s\n%s", code, b.stdout.String(), b.stderr.String())
	}
	if got := columns(t, sb, "t"); !slices.Equal(got, []string{"id", "a", "w"}) {
		t.Fatalf("columns after godwit cutover: %v", got)
	}
	if !strings.Contains(b.stdout.String(), "migrate -> instant in ") {
		t.Errorf("stdout:\n%s", b.stdout.String())
	}
}

// TestApplyOldTableLeftover: an earlier run's _t_old lets an instant
// statement through; the copy after it is refused, and apply says that
// the file is fine.
func TestApplyOldTableLeftover(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.New(t)
	createTable(t, sb)
	sb.Exec(t, "CREATE TABLE _t_old (id INT PRIMARY KEY)")
	dir := filepath.Join(t.TempDir(), "migrations")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "0001_w.sql", "ALTER TABLE t ADD COLUMN w INT;\nALTER TABLE t MODIFY id BIGINT NOT NULL;\n")
	res := runGodwit(t, pwdEnv(sb), applyConnArgs(sb, dir)...)
	if res.code != exitRefused {
		t.Fatalf("exit %d, want %d\n%s\n%s", res.code, exitRefused, res.stdout, res.stderr)
	}
	t.Logf("stdout:\n%s", res.stdout)
	for _, want := range []string{"migrate -> instant in ", "_t_old already exists", "The file is fine", "DROP TABLE"} {
		if !strings.Contains(res.stdout+res.stderr, want) {
			t.Errorf("output lacks %q:\n%s\n%s", want, res.stdout, res.stderr)
		}
	}
	if strings.Contains(res.stdout, "Fix the file") {
		t.Errorf("apply blames the file:\n%s", res.stdout)
	}
	if got := columns(t, sb, "t"); !slices.Equal(got, []string{"id", "a", "w"}) {
		t.Fatalf("columns: %v", got)
	}
}

// TestKilledInstantWaitRerun: a postponed instant change killed while it
// waits leaves only its control table; the same command run again takes
// it over, the pause made of the killed run included, and goes on once
// resumed and released.
func TestKilledInstantWaitRerun(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.New(t)
	createTable(t, sb)
	args := append(connArgs(sb), "--alter", "ADD COLUMN w INT", "--postpone-cutover", "--output", "text")
	first := startBackground(t, sb, args...)
	waitReady(t, sb, first, "t", "cut-over postponed until godwit cutover")
	if res := runGodwit(t, pwdEnv(sb), controlArgs(sb, "pause")...); res.code != exitOK {
		t.Fatalf("pause: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	waitReady(t, sb, first, "t", "cut-over held: paused by godwit pause from ")
	first.cmd.Process.Kill()
	first.wait(t, 10*time.Second)
	if got := tables(t, sb); !slices.Equal(got, []string{"_t_ckpt", "t"}) {
		t.Fatalf("tables after the kill: %v", got)
	}

	second := startBackground(t, sb, args...)
	waitReady(t, sb, second, "t", "cut-over held: paused by godwit pause from ")
	if got := columns(t, sb, "t"); !slices.Equal(got, []string{"id", "a"}) {
		t.Fatalf("columns while the rerun is paused: %v", got)
	}
	for _, c := range []string{"resume", "cutover"} {
		if res := runGodwit(t, pwdEnv(sb), controlArgs(sb, c)...); res.code != exitOK {
			t.Fatalf("%s: exit %d\n%s%s", c, res.code, res.stdout, res.stderr)
		}
	}
	if code := second.wait(t, time.Minute); code != exitOK {
		t.Fatalf("rerun: exit %d\n%s", code, second.stderr.String())
	}
	if got := columns(t, sb, "t"); !slices.Equal(got, []string{"id", "a", "w"}) {
		t.Fatalf("columns after the release: %v", got)
	}
	if got := tables(t, sb); !slices.Equal(got, []string{"t"}) {
		t.Fatalf("tables after the rerun: %v", got)
	}
	out := second.stdout.String()
	for _, want := range []string{"changed t instantly", "paused "} {
		if !strings.Contains(out, want) {
			t.Errorf("rerun stdout lacks %q:\n%s", want, out)
		}
	}
}
