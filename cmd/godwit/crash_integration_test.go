package main

import (
	"bufio"
	"context"
	"io"
	"math/rand/v2"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/internal/workload"
)

// TestKillNineLeavesTableIntact kills godwit with SIGKILL at random moments
// of a migration (copy, checksum, cut-over) while writers keep writing.
// Whatever the moment, the table keeps its name, keeps serving the writers
// and holds exactly what they committed; a rerun refuses on the leftovers
// instead of touching anything.
func TestKillNineLeavesTableIntact(t *testing.T) {
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
	for round := 0; round < 12; round++ {
		run := workload.Start(ctx, sb.DB, "t", model, workload.Options{Writers: 3, Rate: 300, Seed: int64(round)})
		args := append(connArgs(sb), "--alter", "MODIFY i32 BIGINT NULL", "--force-copy", "--chunk-time", "50ms", "--output", "json")
		cmd := exec.Command(godwitBinary(t), args...)
		cmd.Env = pwdEnv(sb)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill a random moment after the round's phase begins.
		phase := []string{"copy", "catch-up", "verify", "cut-over", "copy", "cut-over"}[round%6]
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
		left := tables(t, sb)
		t.Logf("round %d: killed %s into %s (%s), tables %v, writers %d statements", round, after, phase, state, left, stats.Statements())
		if err := model.Compare(ctx, sb.DB, "t", workload.Expect{}); err != nil {
			t.Fatalf("round %d: the table differs from what the writers committed: %v", round, err)
		}
		if len(left) > 1 && !state.Success() {
			res := runGodwit(t, pwdEnv(sb), append(connArgs(sb), "--alter", "MODIFY i32 BIGINT NULL", "--force-copy", "--output", "json")...)
			if res.code != exitRefused || !strings.Contains(res.stderr, "already exists") {
				t.Fatalf("round %d: rerun with leftovers %v exited %d, want %d (refused):\n%s", round, left, res.code, exitRefused, res.stderr)
			}
		}
		// abort clears what the killed run left; _t_old of a finished run stays.
		abortArgs := append([]string{"abort"}, connArgs(sb)[1:]...)
		if res := runGodwit(t, pwdEnv(sb), abortArgs...); res.code != exitOK {
			t.Fatalf("round %d: abort exited %d:\n%s", round, res.code, res.stderr)
		}
		for _, name := range tables(t, sb) {
			switch name {
			case "t":
			case "_t_old":
				sb.Exec(t, "DROP TABLE _t_old")
			default:
				t.Fatalf("round %d: abort left %s (had %v)", round, name, left)
			}
		}
	}
}
