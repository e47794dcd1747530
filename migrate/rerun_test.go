package migrate

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/migrate/alter"
)

// leaveCheckpoint writes the checkpoint table a stopped run of clause
// would have left, with cp's fields.
func leaveCheckpoint(t *testing.T, sb *sandboxtest.Sandbox, clause string, cp checkpoint) {
	t.Helper()
	change, err := alter.Parse(sb.Database, "t", clause)
	if err != nil {
		t.Fatal(err)
	}
	cp.AlterSHA = alterSHA(change.Clause)
	b, _ := json.Marshal(cp)
	sb.Exec(t, "CREATE TABLE _t_ckpt (id TINYINT NOT NULL PRIMARY KEY, state TEXT NOT NULL, updated_at DATETIME(6) NOT NULL) COMMENT='godwit checkpoint of t'")
	sb.Exec(t, "INSERT INTO _t_ckpt VALUES (1, ?, UTC_TIMESTAMP(6))", string(b))
}

// TestRerunAfterSwap: a run that swapped the tables and stopped before
// its cleanup (the original still under the sentry's name, or renamed and
// only the checkpoint left) is finished by a rerun of the same command,
// which says the change is already done, exits successfully and leaves
// the state of a finished migration.
func TestRerunAfterSwap(t *testing.T) {
	const clause = "ADD COLUMN z INT"
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, sb *sandboxtest.Sandbox)
	}{
		{"original under the sentry's name", func(t *testing.T, sb *sandboxtest.Sandbox) {
			sb.Exec(t, "RENAME TABLE _t_old TO t_godwit_old")
			leaveCheckpoint(t, sb, clause, checkpoint{Done: true})
		}},
		{"only the checkpoint left", func(t *testing.T, sb *sandboxtest.Sandbox) {
			leaveCheckpoint(t, sb, clause, checkpoint{Done: true, Swapped: true})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := sandboxtest.New(t)
			ctx := context.Background()
			sb.Exec(t, "CREATE TABLE t (id INT NOT NULL PRIMARY KEY, a VARCHAR(20))")
			sb.Exec(t, "INSERT INTO t VALUES (1, 'a'), (2, 'b')")
			opt := indexOptions(sb, true)
			opt.Alter = clause
			if _, err := Run(ctx, opt); err != nil {
				t.Fatal(err)
			}
			tc.setup(t, sb)
			sum, err := Run(ctx, opt)
			if err != nil {
				t.Fatalf("rerun after the swap: %v, want success", err)
			}
			if !sum.AlreadyDone || !sum.Swapped || sum.OldTable != "_t_old" || sum.Rows != 0 {
				t.Fatalf("rerun after the swap: %+v, want already done with the old table _t_old and nothing copied", sum)
			}
			if got := strings.Join(sb.Tables(t), ","); got != "_t_old,t" {
				t.Fatalf("tables after the rerun: %s, want _t_old,t", got)
			}
		})
	}
}

// TestCheckpointOfAnotherServer: a checkpoint made on another server (a
// failover since) is not resumed: its binlog positions mean nothing here.
func TestCheckpointOfAnotherServer(t *testing.T) {
	sb := sandboxtest.New(t)
	sb.Exec(t, "CREATE TABLE t (id INT NOT NULL PRIMARY KEY, a VARCHAR(20))")
	sb.Exec(t, "CREATE TABLE _t_new (id INT NOT NULL PRIMARY KEY, a VARCHAR(20), z INT)")
	const clause = "ADD COLUMN z INT"
	leaveCheckpoint(t, sb, clause, checkpoint{File: "binlog.000001", Pos: 4, Server: "server_id 424242"})
	opt := indexOptions(sb, true)
	opt.Alter = clause
	_, err := Run(context.Background(), opt)
	if !IsRefusal(err) || !strings.Contains(err.Error(), "made on another server (server_id 424242; this one is ") || !strings.Contains(err.Error(), "godwit abort") {
		t.Fatalf("resume on another server: %v, want a refusal that says so", err)
	}
	if got := strings.Join(sb.Tables(t), ","); got != "_t_ckpt,_t_new,t" {
		t.Fatalf("tables: %s, want the kept ones untouched", got)
	}
}
