package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/sandboxtest"
)

// TestMigrateBlockedCutover: a transaction that has read the table stays
// open through the cut-over. godwit status names it while godwit migrate
// waits; past --cutover-blocker-wait the run exits 5 keeping its copy and
// naming the blocker; once the transaction ends, the same command swaps.
func TestMigrateBlockedCutover(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.New(t)
	createTable(t, sb)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	conn, err := sb.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var id int64
	if err := conn.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&id); err != nil {
		t.Fatal(err)
	}

	hold := filepath.Join(t.TempDir(), "hold")
	if err := os.WriteFile(hold, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	args := append(connArgs(sb), "--alter", "ADD COLUMN c INT DEFAULT 5", "--force-copy", "--output", "json",
		"--postpone-cutover-file", hold, "--cutover-blocker-wait", "6s")
	cmd, stdout, stderr := startGodwit(ctx, t, pwdEnv(sb), args...)
	var out strings.Builder
	var statusOut string
	named := fmt.Sprintf("connection %d (%s@", id, sb.User)
	sc := bufio.NewScanner(stdout)
	var tx interface{ Rollback() error }
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		var ev map[string]any
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue
		}
		msg, _ := ev["message"].(string)
		switch {
		case tx == nil && strings.Contains(msg, "postponed while"):
			btx, err := conn.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			tx = btx
			var n int
			if err := btx.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(hold); err != nil {
				t.Fatal(err)
			}
		// Other sessions may be listed first: the server may list no
		// metadata locks, and any transaction then open is a suspect.
		case statusOut == "" && strings.HasPrefix(msg, "cut-over waits for ") && strings.Contains(msg, named):
			res := runGodwit(t, pwdEnv(sb), controlArgs(sb, "status")...)
			statusOut = res.stdout
		}
	}
	err = cmd.Wait()
	t.Logf("godwit status while it waited:\n%s\nstderr of the run:\n%s", statusOut, stderr.String())
	if tx == nil {
		t.Fatalf("the cut-over was never postponed:\n%s", out.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitKept {
		t.Fatalf("with the blocker open: %v, want exit %d", err, exitKept)
	}
	if !strings.Contains(out.String(), `"cutover_blocker_wait_ms":`) {
		t.Errorf("the JSON output has no cutover_blocker_wait_ms:\n%s", out.String())
	}
	if !strings.Contains(statusOut, "blocked by") || !strings.Contains(statusOut, named) {
		t.Errorf("godwit status does not name the blocker (%s):\n%s", named, statusOut)
	}
	for _, want := range []string{"waited for blocking transactions longer than its limit (6s): still blocked by " + named, "the copy and its checkpoint are kept"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr does not say %q", want)
		}
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	res := runGodwit(t, pwdEnv(sb), append(connArgs(sb), "--alter", "ADD COLUMN c INT DEFAULT 5", "--force-copy", "--output", "text")...)
	if res.code != 0 || !strings.Contains(res.stdout, "swapped t") {
		t.Fatalf("rerun after the transaction ended: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if n := queryInt(t, sb, "SELECT COUNT(*) FROM t WHERE c = 5"); n != tableRows {
		t.Errorf("t has %d rows with the new column, want %d", n, tableRows)
	}
}
