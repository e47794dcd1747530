package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/godwit-db/godwit/copier"
	"github.com/godwit-db/godwit/migrate"
)

const pausedBy = "paused by godwit pause from host/42 at 2026-01-02 03:04:05 UTC (godwit resume goes on)"

// TestOutputTextWaits: the text lines say what holds the migration, each
// in its own words, at once when it changes, and nothing once it ends.
func TestOutputTextWaits(t *testing.T) {
	var stdout bytes.Buffer
	o, _ := newOutput("text", &bytes.Buffer{}, &stdout)
	now := time.Now()
	copyAt := func(rows int64) migrate.Event {
		return migrate.Event{Time: now, Phase: migrate.PhaseCopy, RowsTotal: 300, Progress: copier.Progress{RowsCopied: rows}}
	}
	o.event(copyAt(100))
	e := copyAt(100)
	e.Paused, e.PauseReason = true, pausedBy
	o.event(e) // within 5s: shown because the label changed
	o.event(copyAt(150))
	ready := migrate.Event{Time: now, Phase: migrate.PhaseReady, RowsTotal: 300, Progress: copier.Progress{RowsCopied: 300},
		Postponed: "cut-over postponed until the window opens at 02:00 (window 02:00-04:00, now 17:10)"}
	o.event(ready)
	ready.Postponed = "cut-over held: " + pausedBy
	ready.Paused, ready.PauseReason = true, pausedBy
	o.event(ready)
	o.event(migrate.Event{Time: now, Phase: migrate.PhaseCutover, RowsTotal: 300})
	out := stdout.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := []string{
		"copy      rows 100/~300",
		"copy      rows 100/~300",
		"copy      " + pausedBy,
		"copy      rows 150/~300",
		"ready     rows 300/~300",
		"ready     cut-over postponed until the window opens at 02:00",
		"ready     rows 300/~300",
		"ready     cut-over held: " + pausedBy,
		"cut-over  rows 0/~300",
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), out)
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("line %d %q, want %q", i+1, lines[i], w)
		}
	}
	if strings.Contains(out, "throttled") {
		t.Errorf("a pause or postponement called throttling:\n%s", out)
	}
}

// TestOutputBarWaits: the bar's description carries the same labels.
func TestOutputBarWaits(t *testing.T) {
	var stderr bytes.Buffer
	o := &output{mode: "bar", stderr: &stderr, stdout: &bytes.Buffer{}}
	o.event(migrate.Event{Time: time.Now(), Phase: migrate.PhaseReady, RowsTotal: 300, Progress: copier.Progress{RowsCopied: 300},
		Postponed: "cut-over postponed until godwit cutover --database d --table t"})
	if !strings.Contains(o.bar.String(), "ready") || !strings.Contains(stderr.String()+o.bar.String(), "cut-over postponed until godwit cutover") {
		t.Errorf("bar: %q", stderr.String())
	}
}

// TestOutputSummaryWaits: the summary puts each wait where it belongs and
// says that the run resumed, and from where.
func TestOutputSummaryWaits(t *testing.T) {
	var stdout bytes.Buffer
	o, _ := newOutput("text", &bytes.Buffer{}, &stdout)
	sum := sampleSummary()
	sum.Phases[migrate.PhaseVerify] = 5 * time.Millisecond
	sum.Phases[migrate.PhaseReady] = 9 * time.Second
	sum.Phases[migrate.PhaseCutover] = 50 * time.Millisecond
	sum.Postponed, sum.Paused, sum.Throttled = 6*time.Second, 3*time.Second, 1500*time.Millisecond
	sum.Resumed, sum.ResumedFrom = true, "row 1200 of its copy"
	o.finish(sum, nil)
	out := stdout.String()
	for _, want := range []string{
		"  verify    5ms\n  ready     9s\n  cut-over  50ms\n",
		"  resumed an interrupted run from row 1200 of its copy\n",
		"  cut-over postponed 6s until its release",
		"  paused 3s by godwit pause\n",
		"  copy paused 1.5s for the server's load\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}

// TestLogDurationsOneUnit: a duration logged as such reads as the ones
// logged as text, in JSON too.
func TestLogDurationsOneUnit(t *testing.T) {
	var stderr bytes.Buffer
	o, _ := newOutput("json", &stderr, &bytes.Buffer{})
	o.logger().Info("built", "took", 1817*time.Millisecond, "other", (5 * time.Millisecond).String())
	l := jsonLines(t, stderr.String())
	if len(l) != 1 || l[0]["took"] != "1.817s" || l[0]["other"] != "5ms" {
		t.Fatalf("log line %s", stderr.String())
	}
}
