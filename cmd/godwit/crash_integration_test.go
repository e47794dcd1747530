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

// TestKillNineThenRerun kills godwit with SIGKILL at random moments of a
// migration (copy, index build, catch-up, checksum, cut-over) while
// writers keep writing. Whatever the moment, the table keeps its name,
// keeps serving the writers and holds exactly what they committed.
// Rerunning the same command, writers still going, resumes from the
// checkpoint, after a kill in the cut-over too; after a kill past the swap
// it finishes the cleanup and says the change is already done. The table
// ends equal to the writers' model.
func TestKillNineThenRerun(t *testing.T) {
	sb := sandboxtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := workload.Create(ctx, sb.DB, "t"); err != nil {
		t.Fatal(err)
	}
	model, err := workload.Load(ctx, sb.DB, "t", 30_000, 7)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 7))
	resumed, resumedCutover, afterSwap := 0, 0, 0
	for round := 0; round < 12; round++ {
		run := workload.Start(ctx, sb.DB, "t", model, workload.Options{Writers: 3, Rate: 300, Seed: int64(round)})
		args := append(connArgs(sb), "--alter", "MODIFY i32 BIGINT NULL", "--force-copy", "--chunk-time", "50ms", "--output", "json")
		cmd, out, _ := startGodwit(ctx, t, pwdEnv(sb), args...)
		// Kill a random moment after the round's phase begins.
		phase := []string{"copy", "catch-up", "verify", "cut-over", "indexes", "cut-over"}[round%6]
		after := time.Duration(r.IntN(40)) * time.Millisecond
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
		time.Sleep(300 * time.Millisecond) // the writers go on after the kill
		stats, werr := run.Stop()
		if werr != nil {
			t.Fatalf("round %d (killed after %s): writers failed: %v", round, after, werr)
		}
		t.Log(stats.Locks())
		if err := stats.NoLockConflicts(); err != nil {
			t.Fatal(err)
		}
		left := tables(t, sb)
		t.Logf("round %d: killed %s into %s (%s), tables %v, writers %d statements", round, after, phase, state, left, stats.Statements())
		if !slices.Contains(left, "t") {
			t.Fatalf("round %d: the table is gone: %v", round, left)
		}
		if err := model.Compare(ctx, sb.DB, "t", workload.Expect{}); err != nil {
			t.Fatalf("round %d: the table differs from what the writers committed: %v", round, err)
		}
		if !state.Success() && swappedBeforeKill(left) {
			// Killed after the swap: the change is made. While its
			// checkpoint or sentry is left, the same command again finishes
			// the cleanup and says the change is already done.
			if slices.Contains(left, "_t_ckpt") || slices.Contains(left, "t_godwit_old") {
				res := runGodwit(t, pwdEnv(sb), args...)
				if res.code != exitOK {
					t.Fatalf("round %d: rerun after a kill past the swap (tables %v) exited %d, want 0:\n%s", round, left, res.code, res.stderr)
				}
				if sum := checkJSONOutput(t, res); sum["already_done"] != true || sum["swapped"] != true {
					t.Fatalf("round %d: rerun after a kill past the swap: summary %v, want already_done and swapped", round, sum)
				}
				afterSwap++
			}
		} else if !state.Success() {
			// The same command again, writers going: it resumes.
			run := workload.Start(ctx, sb.DB, "t", model, workload.Options{Writers: 3, Rate: 300, Seed: int64(100 + round)})
			res := runGodwit(t, pwdEnv(sb), args...)
			stats, werr := run.Stop()
			if werr != nil {
				t.Fatalf("round %d: writers during the rerun: %v", round, werr)
			}
			t.Log(stats.Locks())
			if err := stats.NoLockConflicts(); err != nil {
				t.Fatal(err)
			}
			if res.code != exitOK {
				t.Fatalf("round %d: rerun after the kill (tables %v) exited %d:\n%s", round, left, res.code, res.stderr)
			}
			if sum := checkJSONOutput(t, res); sum["resumed"] == true {
				resumed++
				if phase == "cut-over" {
					resumedCutover++
				}
				t.Logf("round %d: resumed, %v rows copied in total", round, sum["rows_copied"])
			}
			if err := model.Compare(ctx, sb.DB, "t", workload.Expect{}); err != nil {
				t.Fatalf("round %d: after the rerun the table differs from what the writers committed: %v", round, err)
			}
		}
		if got := strings.Join(tables(t, sb), ","); got != "_t_old,t" {
			t.Fatalf("round %d: tables %s, want _t_old,t", round, got)
		}
		sb.Exec(t, "DROP TABLE _t_old")
	}
	if resumed < 3 || resumedCutover < 1 {
		t.Fatalf("only %d of 12 killed runs were resumed, %d of them killed in the cut-over", resumed, resumedCutover)
	}
	t.Logf("%d killed runs resumed (%d in the cut-over), %d finished after the swap", resumed, resumedCutover, afterSwap)
}

// swappedBeforeKill says, from the tables a killed run left, whether it
// had swapped: the original is then _t_old, or still t_godwit_old with no
// t_godwit_new left to swap in (before the swap t_godwit_old is the empty
// sentry, next to t_godwit_new).
func swappedBeforeKill(tables []string) bool {
	return slices.Contains(tables, "_t_old") || (slices.Contains(tables, "t_godwit_old") && !slices.Contains(tables, "t_godwit_new"))
}
