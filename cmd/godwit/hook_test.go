package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godwit-db/godwit/migrate"
)

// syncBuffer is a bytes.Buffer safe for the hook runner's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testLogger logs JSON lines into a buffer.
func testLogger() (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// warnings are the WARN records of a JSON log.
func warnings(t *testing.T, log string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["level"] == "WARN" {
			out = append(out, rec)
		}
	}
	return out
}

// readEvents reads the JSON lines a hook appended to path.
func readEvents(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for i, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %d of the hook's file is not JSON: %q: %v", i+1, line, err)
		}
		out = append(out, m)
	}
	return out
}

func TestHooksOrderAndPayload(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "events")
	envFile := filepath.Join(dir, "env")
	log, logs := testLogger()
	h, err := startHooks([]string{
		"cat >> " + file,
		`echo "$GODWIT_EVENT $GODWIT_PHASE $GODWIT_DATABASE.$GODWIT_TABLE" >> ` + envFile,
	}, 10*time.Second, "shop", "orders", log)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 5, 1, 2, 3, 4, 0, time.UTC)
	phases := []migrate.Phase{migrate.PhasePreflight, migrate.PhaseSetup, migrate.PhaseCopy, migrate.PhaseCatchUp,
		migrate.PhaseVerify, migrate.PhaseCutover, migrate.PhaseCleanup, migrate.PhaseDone}
	for i, p := range phases {
		at := t0.Add(time.Duration(i) * time.Second)
		h.event(migrate.Event{Time: at, Phase: p, Message: "phase " + string(p)})
		// Progress within a phase is not a phase change.
		h.event(migrate.Event{Time: at.Add(time.Millisecond), Phase: p})
	}
	sum := sampleSummary()
	sum.Table = "orders"
	h.finish(sum, nil)

	got := readEvents(t, file)
	if len(got) != len(phases)+1 {
		t.Fatalf("the hook ran %d times, want %d: %v", len(got), len(phases)+1, got)
	}
	for i, p := range phases {
		e := got[i]
		want := map[string]any{"event": "phase", "phase": string(p), "database": "shop", "table": "orders",
			"message": "phase " + string(p), "time": t0.Add(time.Duration(i) * time.Second).Format(time.RFC3339Nano)}
		for k, v := range want {
			if e[k] != v {
				t.Errorf("event %d: %s = %v, want %v", i, k, e[k], v)
			}
		}
		if _, ok := e["error"]; ok {
			t.Errorf("phase event %d has an error: %v", i, e)
		}
	}
	last := got[len(got)-1]
	for k, v := range map[string]any{"event": "success", "phase": "done", "table": "orders", "database": "shop",
		"swapped": true, "rows_copied": float64(300), "rows_applied": float64(2), "old_table": "_t_old",
		"cutover_attempts": float64(1), "total_ms": float64(2000), "message": "swapped orders"} {
		if last[k] != v {
			t.Errorf("success event: %s = %v, want %v", k, last[k], v)
		}
	}
	if ph, _ := last["phases"].(map[string]any); ph["copy"] != "1s" {
		t.Errorf("success event: phases %v, want copy 1s", last["phases"])
	}
	if _, ok := last["error"]; ok {
		t.Errorf("success event has an error: %v", last["error"])
	}
	if _, err := time.Parse(time.RFC3339Nano, last["time"].(string)); err != nil {
		t.Errorf("success event time: %v", err)
	}

	env, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(env)), "\n"); len(lines) != len(phases)+1 ||
		lines[0] != "phase preflight shop.orders" || lines[len(lines)-1] != "success done shop.orders" {
		t.Errorf("the second hook saw the environment:\n%s", env)
	}
	if w := warnings(t, logs.String()); len(w) > 0 {
		t.Errorf("warnings for hooks that succeeded: %v", w)
	}
}

func TestHooksFailureEvent(t *testing.T) {
	file := filepath.Join(t.TempDir(), "events")
	log, _ := testLogger()
	h, err := startHooks([]string{"cat >> " + file}, 10*time.Second, "shop", "orders", log)
	if err != nil {
		t.Fatal(err)
	}
	h.event(migrate.Event{Time: time.Now(), Phase: migrate.PhasePreflight})
	h.event(migrate.Event{Time: time.Now(), Phase: migrate.PhaseCopy})
	h.finish(&migrate.Summary{Table: "orders", Rows: 42}, errors.New("copy: connection reset"))
	got := readEvents(t, file)
	if len(got) != 3 {
		t.Fatalf("the hook ran %d times, want 3: %v", len(got), got)
	}
	for k, v := range map[string]any{"event": "failure", "phase": "copy", "error": "copy: connection reset",
		"message": "copy: connection reset", "swapped": false, "rows_copied": float64(42)} {
		if got[2][k] != v {
			t.Errorf("failure event: %s = %v, want %v", k, got[2][k], v)
		}
	}

	// A failure before any summary (nil) still runs the hook.
	file2 := filepath.Join(t.TempDir(), "events")
	h, err = startHooks([]string{"cat >> " + file2}, 10*time.Second, "shop", "orders", log)
	if err != nil {
		t.Fatal(err)
	}
	h.finish(nil, errors.New("connect: refused"))
	if got := readEvents(t, file2); len(got) != 1 || got[0]["event"] != "failure" || got[0]["error"] != "connect: refused" {
		t.Errorf("failure without a summary: %v", got)
	}
}

// TestHooksFailingIsAWarning: a hook exiting non-zero is logged with its
// stderr, and the next events' hooks still run.
func TestHooksFailingIsAWarning(t *testing.T) {
	file := filepath.Join(t.TempDir(), "events")
	log, logs := testLogger()
	h, err := startHooks([]string{
		"echo 'curl: (7) Failed to connect to hooks.example.com' >&2; exit 7",
		"cat >> " + file,
	}, 5*time.Second, "shop", "orders", log)
	if err != nil {
		t.Fatal(err)
	}
	h.event(migrate.Event{Time: time.Now(), Phase: migrate.PhasePreflight})
	h.finish(sampleSummary(), nil)
	if got := readEvents(t, file); len(got) != 2 || got[1]["event"] != "success" {
		t.Errorf("the second hook saw %v, want preflight and success", got)
	}
	w := warnings(t, logs.String())
	if len(w) != 2 {
		t.Fatalf("%d warnings, want 2:\n%s", len(w), logs.String())
	}
	for _, rec := range w {
		if rec["err"] != "exit status 7" || rec["stderr"] != "curl: (7) Failed to connect to hooks.example.com" ||
			!strings.HasPrefix(rec["hook"].(string), "echo 'curl") {
			t.Errorf("warning %v: want the exit status, the stderr tail and the hook", rec)
		}
	}
}

func TestHooksUsage(t *testing.T) {
	log, _ := testLogger()
	if h, err := startHooks(nil, time.Second, "d", "t", log); h != nil || err != nil {
		t.Errorf("no hooks: %v, %v; want nil, nil", h, err)
	}
	var none *hooks // no --hook: every method is a no-op
	none.event(migrate.Event{Phase: migrate.PhaseCopy})
	none.finish(nil, nil)
	for _, tc := range []struct {
		cmds    []string
		timeout time.Duration
		want    string
	}{
		{[]string{"true"}, 0, "--hook-timeout must be positive"},
		{[]string{"true", " "}, time.Second, "--hook must not be empty"},
	} {
		if _, err := startHooks(tc.cmds, tc.timeout, "d", "t", log); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("startHooks(%q, %s): %v, want %q", tc.cmds, tc.timeout, err, tc.want)
		}
	}
	t.Setenv("MYSQL_PWD", "")
	_, err := runInProcess("migrate", "--host", "127.0.0.1", "--port", "1", "--database", "d", "--table", "t",
		"--alter", "ADD c INT", "--hook", "true", "--hook-timeout", "0s")
	if exitCode(err) != exitUsage || !strings.Contains(err.Error(), "--hook-timeout must be positive") {
		t.Errorf("--hook-timeout 0s: %v, want a usage error", err)
	}
}

func TestTailBuffer(t *testing.T) {
	b := &tailBuffer{max: 10}
	b.Write([]byte("0123456789"))
	if b.String() != "0123456789" {
		t.Errorf("tail %q", b.String())
	}
	b.Write([]byte("abcdef\n"))
	if got := b.String(); got != "...789abcdef" {
		t.Errorf("tail %q, want ...789abcdef", got)
	}
}
