package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/godwit-db/godwit/copier"
	"github.com/godwit-db/godwit/migrate"
)

func TestNewOutputMode(t *testing.T) {
	pipeR, pipeW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pipeR.Close()
	defer pipeW.Close()
	for _, tc := range []struct {
		mode   string
		stderr io.Writer
		want   string
	}{
		{"json", &bytes.Buffer{}, "json"},
		{"text", &bytes.Buffer{}, "text"},
		{"auto", &bytes.Buffer{}, "json"},
		{"auto", pipeW, "json"}, // a file, but not a terminal
	} {
		o, err := newOutput(tc.mode, tc.stderr, &bytes.Buffer{})
		if err != nil {
			t.Fatalf("newOutput(%q): %v", tc.mode, err)
		}
		if o.mode != tc.want {
			t.Errorf("newOutput(%q) to %T: mode %q, want %q", tc.mode, tc.stderr, o.mode, tc.want)
		}
	}
	for _, bad := range []string{"", "yaml", "JSON", "bar"} {
		if _, err := newOutput(bad, &bytes.Buffer{}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "--output") {
			t.Errorf("newOutput(%q): err = %v, want an error naming --output", bad, err)
		}
	}
}

func sampleSummary() *migrate.Summary {
	return &migrate.Summary{
		Table: "t", Rows: 300, Applied: 2, Changes: 5,
		Phases:       map[migrate.Phase]time.Duration{migrate.PhasePreflight: 30 * time.Millisecond, migrate.PhaseCopy: time.Second},
		CutoverStall: 20 * time.Millisecond, CutoverAttempts: 1, OldTable: "_t_old", Swapped: true, Total: 2 * time.Second,
	}
}

func TestOutputJSON(t *testing.T) {
	var stdout, stderr bytes.Buffer
	o, err := newOutput("json", &stderr, &stdout)
	if err != nil {
		t.Fatal(err)
	}
	o.logger().Info("phase", "phase", "copy")
	now := time.Now()
	o.event(migrate.Event{Time: now, Phase: migrate.PhaseCopy, Message: "phase copy", RowsTotal: 300})
	// Within a second and in the same phase: throttled.
	o.event(migrate.Event{Time: now, Phase: migrate.PhaseCopy, RowsTotal: 300, Progress: copier.Progress{RowsCopied: 100}})
	o.event(migrate.Event{Time: now, Phase: migrate.PhaseCutover, Message: "phase cut-over", RowsTotal: 300, Progress: copier.Progress{RowsCopied: 300}})
	o.finish(sampleSummary(), nil)

	lines := jsonLines(t, stdout.String())
	if len(lines) != 3 {
		t.Fatalf("%d JSON lines on stdout, want 2 progress and 1 summary:\n%s", len(lines), stdout.String())
	}
	for _, l := range lines[:2] {
		if l["event"] != "progress" {
			t.Errorf("line %v: want event=progress", l)
		}
	}
	if lines[1]["phase"] != "cut-over" || lines[1]["rows_copied"] != float64(300) {
		t.Errorf("second progress line %v", lines[1])
	}
	sum := lines[2]
	for k, want := range map[string]any{"event": "summary", "swapped": true, "rows_copied": float64(300), "old_table": "_t_old", "old_dropped": false} {
		if sum[k] != want {
			t.Errorf("summary %s = %v, want %v", k, sum[k], want)
		}
	}
	if _, ok := sum["error"]; ok {
		t.Errorf("summary of a success has an error: %v", sum)
	}
	// Logs are JSON on stderr, never on stdout.
	if l := jsonLines(t, stderr.String()); len(l) != 1 || l[0]["msg"] != "phase" {
		t.Errorf("stderr: %q, want one JSON log line", stderr.String())
	}
}

func TestOutputJSONFailure(t *testing.T) {
	for _, tc := range []struct {
		name        string
		sum         *migrate.Summary
		wantSwapped bool
	}{
		{"before the swap", &migrate.Summary{Table: "t", Phases: map[migrate.Phase]time.Duration{}}, false},
		{"after the swap", sampleSummary(), true}, // e.g. --drop-old failed
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout bytes.Buffer
			o, _ := newOutput("json", &bytes.Buffer{}, &stdout)
			o.finish(tc.sum, errors.New("boom"))
			lines := jsonLines(t, stdout.String())
			if len(lines) != 1 {
				t.Fatalf("stdout %q, want one summary line", stdout.String())
			}
			if lines[0]["swapped"] != tc.wantSwapped || lines[0]["error"] != "boom" {
				t.Errorf("summary %v, want swapped=%v error=boom", lines[0], tc.wantSwapped)
			}
		})
	}
}

func TestOutputText(t *testing.T) {
	var stdout, stderr bytes.Buffer
	o, err := newOutput("text", &stderr, &stdout)
	if err != nil {
		t.Fatal(err)
	}
	o.logger().Info("phase", "phase", "copy")
	o.event(migrate.Event{Time: time.Now(), Phase: migrate.PhaseCopy, RowsTotal: 300, Progress: copier.Progress{RowsCopied: 100}})
	sum := sampleSummary()
	sum.Phases[migrate.PhaseVerify] = 5 * time.Millisecond // listed in run order, between copy and cut-over
	o.finish(sum, nil)
	out := stdout.String()
	for _, want := range []string{"copy      rows 100/~300", "swapped t in 2s: 300 rows copied",
		"  preflight 30ms\n  copy      1s\n  verify    5ms\n", "old table kept as _t_old"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout does not contain %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "{") || strings.Contains(out, "level=") {
		t.Errorf("stdout has JSON or log lines:\n%s", out)
	}
	if !strings.Contains(stderr.String(), "level=INFO msg=phase") {
		t.Errorf("stderr %q, want the text log line", stderr.String())
	}

	stdout.Reset()
	o.finish(&migrate.Summary{Table: "t"}, errors.New("boom"))
	if stdout.Len() != 0 {
		t.Errorf("a failure before the swap printed on stdout: %q", stdout.String())
	}
}

func jsonLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}
