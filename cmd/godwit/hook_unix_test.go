//go:build unix

package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godwit-db/godwit/migrate"
)

// TestHooksTimeout: a hook that outlives --hook-timeout is killed, with
// its children, and the migration's reporter never waits for it.
func TestHooksTimeout(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "events")
	log, logs := testLogger()
	const timeout = 500 * time.Millisecond
	// The loop runs in a subshell, a child of sh holding stderr open: killing only
	// sh would leave it ticking (and finish waiting on the pipe).
	ticks := filepath.Join(dir, "ticks")
	h, err := startHooks([]string{"cat >> " + file + "; echo going to sleep >&2; (while :; do echo tick >> " + ticks + "; sleep 0.05; done)"},
		timeout, "shop", "orders", log)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for _, p := range []migrate.Phase{migrate.PhasePreflight, migrate.PhaseSetup, migrate.PhaseCopy} {
		h.event(migrate.Event{Time: time.Now(), Phase: p})
	}
	if took := time.Since(start); took > 100*time.Millisecond {
		t.Errorf("reporting three phase changes took %s: the reporter waited for the hooks", took)
	}
	h.finish(&migrate.Summary{Table: "orders"}, errors.New("boom"))
	took := time.Since(start)
	// Four events, each killed at the timeout (plus process start-up).
	if took < 4*timeout || took > 4*timeout+5*time.Second {
		t.Errorf("finish returned after %s, want about %s", took, 4*timeout)
	}
	got := readEvents(t, file)
	var kinds []string
	for _, e := range got {
		kinds = append(kinds, e["event"].(string)+":"+e["phase"].(string))
	}
	if want := "phase:preflight phase:setup phase:copy failure:copy"; strings.Join(kinds, " ") != want {
		t.Errorf("the hook saw %v, want %s", kinds, want)
	}
	w := warnings(t, logs.String())
	if len(w) != 4 {
		t.Fatalf("%d warnings, want one per killed hook:\n%s", len(w), logs.String())
	}
	for _, rec := range w {
		if !strings.Contains(rec["err"].(string), "killed after --hook-timeout 500ms") || rec["stderr"] != "going to sleep" {
			t.Errorf("warning %v: want the timeout and the stderr tail", rec)
		}
	}
	// Had a child of a hook survived the kill, its loop would still be
	// ticking.
	before, _ := os.ReadFile(ticks)
	time.Sleep(500 * time.Millisecond)
	after, _ := os.ReadFile(ticks)
	if len(after) != len(before) {
		t.Errorf("a killed hook's child is still running: ticks went from %d to %d", len(before), len(after))
	}
}
