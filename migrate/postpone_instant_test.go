package migrate_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/internal/workload"
	"github.com/godwit-db/godwit/migrate"
)

// columnNames lists the columns of table in the sandbox's database.
func columnNames(t *testing.T, sb *sandboxtest.Sandbox, table string) []string {
	t.Helper()
	return sb.Strings(t, "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '"+table+"' ORDER BY ORDINAL_POSITION")
}

// TestPostponedInstantWaits: an instant change postponed by a file does
// not touch the table while the file exists, under writers; godwit status
// sees it waiting in the ready phase, and removing the file lets it go.
func TestPostponedInstantWaits(t *testing.T) {
	sb := sandboxtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	model := workloadTable(ctx, t, sb, 5_000, 21)
	run := workload.Start(ctx, sb.DB, "t", model, workload.Options{Writers: 2, Rate: 200, Seed: 22})
	flag := filepath.Join(t.TempDir(), "hold")
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	opt := options(sb, "t", "ADD COLUMN w INT")
	opt.ForceCopy = false
	opt.PostponeCutoverFile = flag
	var waits int
	opt.Report = func(e migrate.Event) {
		if !strings.Contains(e.Message, "cut-over postponed while "+flag+" exists") {
			return
		}
		waits++
		if e.Phase != migrate.PhaseReady || e.Postponed != e.Message {
			t.Errorf("wait event: phase %s, postponed %q", e.Phase, e.Postponed)
		}
		if waits == 2 {
			if cols := columnNames(t, sb, "t"); slices.Contains(cols, "w") {
				t.Errorf("column w added while postponed: %v", cols)
			}
			if got := strings.Join(tables(t, sb), ","); got != "_t_ckpt,t" {
				t.Errorf("tables while postponed: %s", got)
			}
			ts, err := migrate.ReadStatus(ctx, opt.Conn, "t")
			if err != nil {
				t.Errorf("status: %v", err)
			} else if ts.State != migrate.StateRunning || !ts.HasControl || ts.Status == nil ||
				ts.Status.Phase != migrate.PhaseReady || !strings.Contains(ts.Status.Postponed, "postponed while") {
				t.Errorf("status while postponed: %+v %+v", ts, ts.Status)
			}
		}
		if waits == 3 {
			os.Remove(flag)
		}
	}
	sum, err := migrate.Run(ctx, opt)
	time.Sleep(200 * time.Millisecond)
	stats, werr := run.Stop()
	if err != nil || werr != nil {
		t.Fatalf("migrate: %v; writers: %v", err, werr)
	}
	if err := stats.NoLockConflicts(); err != nil {
		t.Fatal(err)
	}
	if waits < 3 || sum.Path != migrate.PathInstant || !sum.Swapped || sum.Postponed < 2*time.Second || sum.Phases[migrate.PhaseReady] < 2*time.Second {
		t.Fatalf("waits %d, path %q, swapped %v, postponed %s, phases %v", waits, sum.Path, sum.Swapped, sum.Postponed, sum.Phases)
	}
	if err := model.Compare(ctx, sb.DB, "t", workload.Expect{Added: map[string]*string{"w": nil}}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tables(t, sb), ","); got != "t" {
		t.Fatalf("tables after: %s, want only t", got)
	}
}

// TestPostponedInstantControl: an instant change waiting for godwit
// cutover is controlled like a copy: a pause holds it past the cutover
// request, resume lets it go, and the summary tells the pause from the
// postponement.
func TestPostponedInstantControl(t *testing.T) {
	sb := sandboxtest.New(t)
	controlTable(t, sb, 100)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opt := options(sb, ctlTable, "ADD COLUMN w INT")
	opt.ForceCopy = false
	opt.PostponeCutover = true
	control := controller(ctx, t, opt)
	var waits, held int
	opt.Report = func(e migrate.Event) {
		switch {
		case strings.Contains(e.Message, "cut-over postponed until godwit cutover"):
			if waits++; waits == 2 {
				if res := control(migrate.ActionPause); !res.Changed || !res.AtCutover() {
					t.Errorf("pause: %+v", res)
				}
			}
		case strings.Contains(e.Message, "cut-over held: paused by godwit pause from "):
			held++
			switch held {
			case 1:
				control(migrate.ActionCutover)
			case 3:
				if slices.Contains(columnNames(t, sb, ctlTable), "w") {
					t.Errorf("column w added while paused")
				}
				control(migrate.ActionResume)
			}
		}
	}
	sum, err := migrate.Run(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	if waits != 2 || held != 3 || sum.Path != migrate.PathInstant || sum.Postponed < time.Second || sum.Paused < 2*time.Second {
		t.Fatalf("waits %d, held %d (want 2 and 3), path %q, postponed %s, paused %s", waits, held, sum.Path, sum.Postponed, sum.Paused)
	}
	if !slices.Contains(columnNames(t, sb, ctlTable), "w") {
		t.Fatal("column w missing after the release")
	}
	if got := strings.Join(tables(t, sb), ","); got != ctlTable {
		t.Fatalf("tables after: %s", got)
	}
}

// TestPauseLabelEndsWithResume: a resume and a cutover given together
// (within the throttler's interval) must not leave the pause's label on
// the cut-over's and cleanup's events; the summary counts the pause as
// paused, not throttled, and the wait in the ready phase, not in verify.
func TestPauseLabelEndsWithResume(t *testing.T) {
	sb := sandboxtest.New(t)
	controlTable(t, sb, 2000)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opt := options(sb, ctlTable, "MODIFY a VARCHAR(40)")
	opt.PostponeCutover = true
	// A slow probe (it never holds the copy) makes each of the
	// throttler's rounds last 1.5s: the wait sees the release before the
	// throttler has measured the pause lifted, as a busy server would.
	opt.Throttle.Query = "SELECT SLEEP(1.5)"
	control := controller(ctx, t, opt)
	var held int
	var stale []string
	opt.Report = func(e migrate.Event) {
		switch {
		case e.Phase == migrate.PhaseReady && strings.Contains(e.Message, "cut-over postponed until godwit cutover") && held == 0:
			control(migrate.ActionPause)
		case strings.Contains(e.Message, "cut-over held: paused by godwit pause from "):
			if held++; held == 3 {
				control(migrate.ActionResume)
				control(migrate.ActionCutover)
			}
		case e.Phase == migrate.PhaseCutover || e.Phase == migrate.PhaseCleanup || e.Phase == migrate.PhaseDone:
			if e.Paused || e.Throttled || e.Postponed != "" {
				stale = append(stale, string(e.Phase)+": "+e.PauseReason+e.ThrottleReason+e.Postponed)
			}
		}
	}
	sum, err := migrate.Run(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(stale) > 0 {
		t.Errorf("labels after the resume: %q", stale)
	}
	wait := sum.Phases[migrate.PhaseReady]
	if held < 3 || !sum.Swapped || sum.Paused < 2*time.Second || sum.Throttled >= time.Second ||
		wait < sum.Paused || sum.Phases[migrate.PhaseVerify] >= time.Second {
		t.Fatalf("held %d, swapped %v, paused %s, throttled %s, phases %v", held, sum.Swapped, sum.Paused, sum.Throttled, sum.Phases)
	}
}

// TestOldTableLeftover: _t_old of an earlier run does not stop a change
// that needs no copy, and stays untouched; a copy is refused before
// anything is made, saying what to do.
func TestOldTableLeftover(t *testing.T) {
	sb := sandboxtest.New(t)
	controlTable(t, sb, 100)
	old := "_" + ctlTable + "_old"
	sb.Exec(t, "CREATE TABLE "+old+" (id INT PRIMARY KEY)")
	sb.Exec(t, "INSERT INTO "+old+" VALUES (7)")
	ctx := context.Background()

	// godwit plan predicts the same: the instant change is safe, the copy
	// refused for the name.
	for _, c := range []struct {
		alter   string
		verdict migrate.Verdict
	}{{"ADD COLUMN w INT", migrate.VerdictSafe}, {"MODIFY a VARCHAR(40)", migrate.VerdictRefused}} {
		popt := options(sb, ctlTable, c.alter)
		popt.ForceCopy = c.verdict == migrate.VerdictRefused
		p, err := migrate.NewPlan(ctx, migrate.PlanOptions{Options: popt})
		if err != nil || p.Verdict != c.verdict {
			t.Fatalf("plan of %s beside %s: %v, verdict %q (%s), want %q", c.alter, old, err, p.Verdict, p.Reason, c.verdict)
		}
	}

	opt := options(sb, ctlTable, "ADD COLUMN w INT")
	opt.ForceCopy = false
	sum, err := migrate.Run(ctx, opt)
	if err != nil || sum.Path != migrate.PathInstant {
		t.Fatalf("instant change beside %s: %v (path %q)", old, err, sum.Path)
	}
	if got := sb.Strings(t, "SELECT id FROM "+old); len(got) != 1 || got[0] != "7" {
		t.Fatalf("%s changed: %v", old, got)
	}

	opt = options(sb, ctlTable, "MODIFY a VARCHAR(40)")
	_, err = migrate.Run(ctx, opt)
	if !migrate.IsRefusal(err) || !migrate.RefusedOutside(err) {
		t.Fatalf("copy beside %s: %v, want a refusal outside the statement", old, err)
	}
	for _, want := range []string{old + " already exists", "needs an online copy", "DROP TABLE", "RENAME TABLE", "run the same command again"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal does not say %q: %v", want, err)
		}
	}
	if got := strings.Join(tables(t, sb), ","); got != old+","+ctlTable {
		t.Fatalf("tables after the refusal: %s", got)
	}
}

// TestInstantOutsideWindow: an instant change outside its cut-over window
// waits, saying when the window opens; stopped meanwhile, it leaves the
// table and the schema as they were.
func TestInstantOutsideWindow(t *testing.T) {
	sb := sandboxtest.New(t)
	controlTable(t, sb, 100)
	opens := time.Now().UTC().Add(2 * time.Hour)
	w, err := migrate.ParseWindow(opens.Format("15:04") + "-" + opens.Add(time.Hour).Format("15:04"))
	if err != nil {
		t.Fatal(err)
	}
	w.Zone = time.UTC
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	opt := options(sb, ctlTable, "ADD COLUMN w INT")
	opt.ForceCopy = false
	opt.CutoverWindow = &w
	var waits int
	want := "cut-over postponed until the window opens at " + opens.Format("15:04")
	opt.Report = func(e migrate.Event) {
		if e.Phase == migrate.PhaseReady && strings.HasPrefix(e.Postponed, want) {
			if waits++; waits == 2 {
				cancel()
			}
		}
	}
	sum, err := migrate.Run(ctx, opt)
	if waits != 2 || err == nil || errors.Is(err, migrate.ErrKept) || sum.Swapped {
		t.Fatalf("waits %d, err %v, swapped %v: want it stopped while waiting, keeping nothing", waits, err, sum.Swapped)
	}
	if slices.Contains(columnNames(t, sb, ctlTable), "w") {
		t.Fatal("column w added outside the window")
	}
	if got := strings.Join(tables(t, sb), ","); got != ctlTable {
		t.Fatalf("tables after the stop: %s", got)
	}
}
