package migrate_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/migrate"
)

// ctlTable is the table the migrations of these tests change. Not "t":
// the binlog stream takes DDL that its SQL parser cannot read (CREATE
// TRIGGER, say) and that contains the table's name for DDL on the table,
// whatever its database, and tests of other packages sharing the sandbox
// run such DDL on tables named t.
const ctlTable = "ctl_small"

func controlTable(t *testing.T, sb *sandboxtest.Sandbox, n int) {
	sb.Exec(t, "CREATE TABLE "+ctlTable+" (id INT NOT NULL PRIMARY KEY, a VARCHAR(20), b INT)")
	sb.Exec(t, fmt.Sprintf("INSERT INTO %s SELECT seq, CONCAT('row', seq), seq %% 7 FROM seq_1_to_%d", ctlTable, n))
}

var controlActions = []migrate.ControlAction{migrate.ActionPause, migrate.ActionResume, migrate.ActionCutover}

// TestControlWithoutMigration: with no migration of the table (nor of a
// table that does not exist), status says so and pause, resume and
// cutover refuse with what to do, creating nothing; a user's table that
// merely has the checkpoint's name is never written to.
func TestControlWithoutMigration(t *testing.T) {
	sb := sandboxtest.New(t)
	smallTable(t, sb, 10)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn := options(sb, "t", "").Conn

	ts, err := migrate.ReadStatus(ctx, conn, "t")
	if err != nil {
		t.Fatal(err)
	}
	if ts.State != migrate.StateNone || !ts.TableExists || ts.HasControl || ts.Status != nil || ts.LockConnection != 0 {
		t.Fatalf("status of a table without migration: %+v", ts)
	}
	if !strings.Contains(ts.Advice, "no godwit migration of "+sb.Database+".t") {
		t.Fatalf("advice %q", ts.Advice)
	}
	for _, a := range controlActions {
		_, err := migrate.ControlMigration(ctx, conn, "t", a, nil)
		if !migrate.IsRefusal(err) || !strings.Contains(err.Error(), "nothing to "+string(a)) || !strings.Contains(err.Error(), "godwit migrate") {
			t.Errorf("%s without migration: %v, want a refusal saying there is nothing to %s and how to start one", a, err, a)
		}
	}

	ts, err = migrate.ReadStatus(ctx, conn, "nope")
	if err != nil {
		t.Fatal(err)
	}
	if ts.State != migrate.StateNone || ts.TableExists || !strings.Contains(ts.Advice, "does not exist") {
		t.Fatalf("status of a missing table: %+v", ts)
	}
	for _, a := range controlActions {
		_, err := migrate.ControlMigration(ctx, conn, "nope", a, nil)
		if !migrate.IsRefusal(err) || !strings.Contains(err.Error(), "table "+sb.Database+".nope does not exist") {
			t.Errorf("%s on a missing table: %v", a, err)
		}
	}

	// A table of the user's named like a checkpoint (no godwit comment).
	sb.Exec(t, "CREATE TABLE _t_ckpt (id TINYINT NOT NULL PRIMARY KEY, state TEXT NOT NULL, updated_at DATETIME(6) NOT NULL)")
	if _, err := migrate.ControlMigration(ctx, conn, "t", migrate.ActionPause, nil); !migrate.IsRefusal(err) {
		t.Errorf("pause with a user's _t_ckpt: %v, want a refusal", err)
	}
	if n := sb.Strings(t, "SELECT COUNT(*) FROM _t_ckpt"); n[0] != "0" {
		t.Errorf("the user's _t_ckpt got %s rows", n[0])
	}
	if got := strings.Join(tables(t, sb), ","); got != "_t_ckpt,t" {
		t.Fatalf("tables %s: the commands must create nothing", got)
	}
}

// controller sends control actions to the migration of ctlTable that
// opt runs, failing the test (not stopping it) on an error.
func controller(ctx context.Context, t *testing.T, opt migrate.Options) func(migrate.ControlAction) *migrate.ControlResult {
	return func(a migrate.ControlAction) *migrate.ControlResult {
		res, err := migrate.ControlMigration(ctx, opt.Conn, ctlTable, a, nil)
		if err != nil {
			t.Errorf("%s: %v", a, err)
			return &migrate.ControlResult{}
		}
		return res
	}
}

// TestControlPauseHoldsCutoverUntilResumed: with PostponeCutover the ready
// migration waits for godwit cutover, and godwit status sees it waiting,
// in sync, from its status row. A pause holds the cut-over, a cutover
// request does not undo the pause, and resume lets the requested swap go.
func TestControlPauseHoldsCutoverUntilResumed(t *testing.T) {
	sb := sandboxtest.New(t)
	controlTable(t, sb, 2000)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opt := options(sb, ctlTable, "MODIFY a VARCHAR(40)")
	opt.PostponeCutover = true
	control := controller(ctx, t, opt)
	var waits, held int
	opt.Report = func(e migrate.Event) {
		switch {
		case strings.Contains(e.Message, "cut-over postponed until godwit cutover --database "+sb.Database+" --table "+ctlTable):
			waits++
			if waits != 2 {
				return
			}
			ts, err := migrate.ReadStatus(ctx, opt.Conn, ctlTable)
			if err != nil {
				t.Errorf("status: %v", err)
				return
			}
			s := ts.Status
			if ts.State != migrate.StateRunning || ts.LockConnection == 0 || s == nil {
				t.Errorf("status while postponed: %+v", ts)
				return
			}
			if !strings.Contains(s.Postponed, "godwit cutover") || s.Phase != migrate.PhaseReady || s.RowsCopied != 2000 ||
				s.PID != os.Getpid() || s.Alter != opt.Alter || s.Throttled || ts.StatusAgeSeconds > 3 {
				t.Errorf("status row while postponed: %+v (age %.1fs)", s, ts.StatusAgeSeconds)
			}
			if res := control(migrate.ActionPause); !res.Changed || !res.AtCutover() || !res.Control.Paused {
				t.Errorf("pause at the cut-over: %+v", res)
			}
		case strings.Contains(e.Message, "cut-over held: paused by godwit pause from "):
			held++
			switch held {
			case 2:
				if res := control(migrate.ActionCutover); !res.Changed || !res.Control.Paused || !res.Control.Cutover {
					t.Errorf("cutover while paused: %+v", res)
				}
			case 4: // still held two rounds after the cutover request
				if res := control(migrate.ActionResume); !res.Changed || res.Control.Paused || !res.Control.Cutover {
					t.Errorf("resume: %+v", res)
				}
			}
		}
	}
	sum, err := migrate.Run(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	// The wait for godwit cutover is postponed time, the pause's paused
	// time: together what the cut-over waited.
	if waits != 2 || held != 4 || !sum.Swapped || sum.Postponed < time.Second || sum.Paused < 3*time.Second {
		t.Fatalf("waited for cutover %d times, held by the pause %d times (want 2 and 4), postponed %s, paused %s, swapped %v",
			waits, held, sum.Postponed, sum.Paused, sum.Swapped)
	}
	if got := strings.Join(tables(t, sb), ","); got != "_"+ctlTable+"_old,"+ctlTable {
		t.Fatalf("tables after the swap: %s", got)
	}
	ts, err := migrate.ReadStatus(ctx, opt.Conn, ctlTable)
	if err != nil || ts.State != migrate.StateNone {
		t.Fatalf("status after the swap: %+v, %v", ts, err)
	}
}

// TestControlCutoverRequestedEarly: a cutover requested during the copy
// is recorded, says the migration is not at its cut-over yet, and is
// honoured when it gets there: PostponeCutover does not wait at all.
func TestControlCutoverRequestedEarly(t *testing.T) {
	sb := sandboxtest.New(t)
	controlTable(t, sb, 20_000)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opt := options(sb, ctlTable, "MODIFY a VARCHAR(40)")
	opt.PostponeCutover = true
	opt.MaxChunkRows = 1000 // several chunks: the request lands mid-copy
	var res *migrate.ControlResult
	opt.Report = func(e migrate.Event) {
		if res != nil || e.Phase != migrate.PhaseCopy || e.Progress.Chunks < 1 {
			return
		}
		var err error
		if res, err = migrate.ControlMigration(ctx, opt.Conn, ctlTable, migrate.ActionCutover, nil); err != nil {
			t.Errorf("cutover during the copy: %v", err)
		}
	}
	sum, err := migrate.Run(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	if res == nil || !res.Changed || res.AtCutover() || res.Before.State != migrate.StateRunning || !res.Control.Cutover {
		t.Fatalf("cutover during the copy: %+v", res)
	}
	if !sum.Swapped || sum.Postponed != 0 {
		t.Fatalf("swapped %v, postponed %s: an early request must let the cut-over go at once", sum.Swapped, sum.Postponed)
	}
}
