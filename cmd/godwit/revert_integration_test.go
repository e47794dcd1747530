package main

import (
	"bufio"
	"context"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/internal/workload"
)

// TestRevertKillNineThenRerun migrates t under writers, then kills godwit
// revert with SIGKILL at a random moment of a phase (setup, catch-up,
// checksum, cut-over, cleanup) while the writers go on. Whatever the
// moment, t keeps serving; the same revert command run again (writers
// still going) finishes, and t, back in its old structure, equals what
// the writers committed, with the migrated table kept as _t_old.
func TestRevertKillNineThenRerun(t *testing.T) {
	sb := sandboxtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	if err := workload.Create(ctx, sb.DB, "t"); err != nil {
		t.Fatal(err)
	}
	model, err := workload.Load(ctx, sb.DB, "t", 20_000, 11)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(11, 11))
	migrateArgs := append(connArgs(sb), "--alter", "ADD COLUMN note INT NULL, MODIFY vc VARCHAR(150) NULL", "--force-copy", "--chunk-time", "50ms", "--output", "json")
	revertArgs := append([]string{"revert"}, connArgs(sb)[1:]...)
	revertArgs = append(revertArgs, "--output", "json")
	killed := 0
	for round, phase := range []string{"setup", "catch-up", "verify", "cut-over", "cut-over", "cleanup"} {
		run := workload.Start(ctx, sb.DB, "t", model, workload.Options{Writers: 3, Rate: 300, Seed: int64(round)})
		if res := runGodwit(t, pwdEnv(sb), migrateArgs...); res.code != exitOK {
			run.Stop()
			t.Fatalf("round %d: migrate exited %d:\n%s", round, res.code, res.stderr)
		}
		time.Sleep(300 * time.Millisecond)
		cmd, out, _ := startGodwit(ctx, t, pwdEnv(sb), revertArgs...)
		after := time.Duration(r.IntN(30)) * time.Millisecond
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), `"phase":"`+phase+`"`) {
				time.Sleep(after)
				break
			}
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
		go io.Copy(io.Discard, out)
		state, _ := cmd.Process.Wait()
		left := tables(t, sb)
		if !slices.Contains(left, "t") {
			run.Stop()
			t.Fatalf("round %d: the table is gone after the kill: %v", round, left)
		}
		if !state.Success() {
			killed++
			time.Sleep(200 * time.Millisecond) // the writers go on after the kill
			res := runGodwit(t, pwdEnv(sb), revertArgs...)
			if res.code != exitOK {
				run.Stop()
				t.Fatalf("round %d: revert rerun after a kill in %s (tables %v) exited %d:\n%s", round, phase, left, res.code, res.stderr)
			}
		}
		time.Sleep(200 * time.Millisecond)
		stats, werr := run.Stop()
		if werr != nil {
			t.Fatalf("round %d: writers: %v", round, werr)
		}
		t.Logf("round %d: killed %s into %s (%s), tables then %v; writers %s", round, after, phase, state, left, stats)
		if err := model.Compare(ctx, sb.DB, "t", workload.Expect{}); err != nil {
			t.Fatalf("round %d: after the revert the table differs from what the writers committed: %v", round, err)
		}
		if got := strings.Join(tables(t, sb), ","); got != "_t_old,t" {
			t.Fatalf("round %d: tables %s, want _t_old,t", round, got)
		}
		// The revert recorded its own swap: a second revert would swap back.
		if n := queryInt(t, sb, "SELECT COUNT(*) FROM _godwit_revert WHERE table_name = 't' AND state LIKE '%\"alter\":\"revert: %'"); n != 1 {
			t.Fatalf("round %d: %d revert points of the revert, want 1", round, n)
		}
		sb.Exec(t, "DROP TABLE _t_old")
	}
	if killed < 4 {
		t.Fatalf("only %d of 6 reverts were killed before they finished", killed)
	}
}

// TestRevertDryRunExitCodes: godwit revert --dry-run answers with plan's
// exit codes (3 refused, 0 can run) and changes nothing; godwit abort
// after a revert stopped before its swap gives _t_old its name back.
func TestRevertDryRunExitCodes(t *testing.T) {
	sb := sandboxtest.New(t)
	createTable(t, sb)
	revert := append([]string{"revert"}, connArgs(sb)[1:]...)
	dry := append(slices.Clone(revert), "--dry-run", "--output", "text")
	if res := runGodwit(t, pwdEnv(sb), dry...); res.code != exitRefused || !strings.Contains(res.stderr, "nothing to revert") {
		t.Fatalf("dry run without a swap: exit %d, want %d saying nothing to revert:\n%s", res.code, exitRefused, res.stderr)
	}
	if res := runGodwit(t, pwdEnv(sb), append(connArgs(sb), "--alter", "MODIFY a VARCHAR(40) NULL", "--force-copy", "--output", "json")...); res.code != exitOK {
		t.Fatalf("migrate exited %d:\n%s", res.code, res.stderr)
	}
	before := strings.Join(tables(t, sb), ",")
	if res := runGodwit(t, pwdEnv(sb), dry...); res.code != exitOK || !strings.Contains(res.stdout, "can run") {
		t.Fatalf("dry run after the swap: exit %d, want 0 saying it can run:\n%s", res.code, res.stdout)
	}
	if after := strings.Join(tables(t, sb), ","); after != before {
		t.Fatalf("the dry run changed the tables: %s, then %s", before, after)
	}
	// A revert stopped before its swap (here: postponed, then killed)
	// keeps the old table as its shadow; abort gives it its name back.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd, out, _ := startGodwit(ctx, t, pwdEnv(sb), append(slices.Clone(revert), "--postpone-cutover", "--output", "json")...)
	sc := bufio.NewScanner(out)
	// Every progress line has a "postponed" field: wait for the ready
	// phase's message.
	for sc.Scan() && !strings.Contains(sc.Text(), "cut-over postponed") {
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	go io.Copy(io.Discard, out)
	cmd.Process.Wait()
	abort := append([]string{"abort"}, connArgs(sb)[1:]...)
	if res := runGodwit(t, pwdEnv(sb), abort...); res.code != exitOK || !strings.Contains(res.stdout, "_t_new -> _t_old") {
		t.Fatalf("abort after a stopped revert: exit %d, want 0 renaming _t_new back to _t_old:\n%s", res.code, res.stdout)
	}
	if got := strings.Join(tables(t, sb), ","); got != before {
		t.Fatalf("tables after the abort: %s, want %s", got, before)
	}
}
