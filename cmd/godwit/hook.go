package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/godwit-db/godwit/migrate"
)

// The event field of a hook's JSON.
const (
	hookPhase   = "phase"
	hookSuccess = "success"
	hookFailure = "failure"
)

// hookStderrTail is how much of a failing hook's stderr the warning quotes.
const hookStderrTail = 2048

// hooks runs the --hook commands on each phase change and on the
// migration's success or failure, with the event as JSON on stdin. The
// migration never waits for them: events are queued and one goroutine
// runs them in order, each command under sh -c and killed (with its
// children) after the timeout. A failing hook is a warning, never a
// failure of the migration. All methods are safe on a nil *hooks (no
// --hook).
type hooks struct {
	cmds            []string
	timeout         time.Duration
	database, table string
	log             *slog.Logger

	mu     sync.Mutex
	phase  migrate.Phase // the last phase reported
	queue  [][]byte      // JSON payloads not yet run
	closed bool
	wake   chan struct{} // signalled when the queue grows or closes
	done   chan struct{} // closed when the runner has drained the queue
}

// startHooks starts the runner; it returns nil when there is no hook.
func startHooks(cmds []string, timeout time.Duration, database, table string, log *slog.Logger) (*hooks, error) {
	if len(cmds) == 0 {
		return nil, nil
	}
	if timeout <= 0 {
		return nil, fmt.Errorf("--hook-timeout must be positive, e.g. 30s, not %s", timeout)
	}
	for _, c := range cmds {
		if strings.TrimSpace(c) == "" {
			return nil, errors.New("--hook must not be empty")
		}
	}
	h := &hooks{cmds: cmds, timeout: timeout, database: database, table: table, log: log,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	go h.run()
	return h, nil
}

// event queues a "phase" hook when e starts a new phase. It never blocks
// on a hook.
func (h *hooks) event(e migrate.Event) {
	if h == nil || e.Phase == "" {
		return
	}
	h.mu.Lock()
	if e.Phase == h.phase {
		h.mu.Unlock()
		return
	}
	h.phase = e.Phase
	h.mu.Unlock()
	h.enqueue(h.payload(hookPhase, e.Phase, e.Time, e.Message, nil))
}

// finish queues the "success" or "failure" hook, then waits until every
// queued hook has run; each is bounded by the timeout, so the wait is too.
func (h *hooks) finish(s *migrate.Summary, err error) {
	if h == nil {
		return
	}
	h.mu.Lock()
	phase := h.phase
	h.mu.Unlock()
	kind, msg := hookSuccess, "migration succeeded"
	if s != nil && s.Swapped {
		msg = "swapped " + s.Table
	}
	extra := map[string]any{}
	if s != nil {
		extra = summaryFields(s)
	}
	if err != nil {
		kind, msg = hookFailure, err.Error()
		extra["error"] = err.Error()
	}
	h.enqueue(h.payload(kind, phase, time.Now(), msg, extra))
	h.close()
	h.wait()
}

func (h *hooks) payload(kind string, phase migrate.Phase, at time.Time, msg string, extra map[string]any) []byte {
	if at.IsZero() {
		at = time.Now()
	}
	m := map[string]any{}
	for k, v := range extra {
		m[k] = v
	}
	m["event"], m["phase"], m["database"], m["table"] = kind, string(phase), h.database, h.table
	m["time"], m["message"] = at.UTC().Format(time.RFC3339Nano), msg
	b, _ := json.Marshal(m)
	return b
}

func phaseDurations(s *migrate.Summary) map[string]string {
	phases := map[string]string{}
	for p, d := range s.Phases {
		phases[string(p)] = d.Round(time.Millisecond).String()
	}
	return phases
}

// summaryFields are the summary's fields, under the names of the JSON
// output's summary event.
func summaryFields(s *migrate.Summary) map[string]any {
	return map[string]any{
		"swapped": s.Swapped, "path": s.Path, "resumed": s.Resumed, "already_done": s.AlreadyDone, "rows_copied": s.Rows, "rows_applied": s.Applied, "binlog_row_changes": s.Changes,
		"phases": phaseDurations(s), "cutover_stall_ms": s.CutoverStall.Milliseconds(), "cutover_attempts": s.CutoverAttempts,
		"old_table": s.OldTable, "old_dropped": s.OldDropped, "total_ms": s.Total.Milliseconds(),
		"checksum_rows": s.ChecksumRows, "checksum_chunks": s.ChecksumChunks, "checksum_rechecked": s.ChecksumRechecked, "checksum_repairs": s.ChecksumRepairs,
		"warnings": s.Warnings, "throttled_ms": s.Throttled.Milliseconds(), "paused_ms": s.Paused.Milliseconds(), "resumed_from": s.ResumedFrom,
		"postponed_ms": s.Postponed.Milliseconds(), "replica_wait_ms": s.ReplicaWait.Milliseconds(), "cutover_blocker_wait_ms": s.BlockerWait.Milliseconds(),
	}
}

func (h *hooks) enqueue(b []byte) {
	h.mu.Lock()
	if !h.closed {
		h.queue = append(h.queue, b)
	}
	h.mu.Unlock()
	h.signal()
}

func (h *hooks) close() {
	if h == nil {
		return
	}
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.signal()
}

func (h *hooks) signal() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

func (h *hooks) wait() {
	if h != nil {
		<-h.done
	}
}

// run drains the queue in order until it is closed and empty.
func (h *hooks) run() {
	defer close(h.done)
	for {
		h.mu.Lock()
		if len(h.queue) == 0 {
			closed := h.closed
			h.mu.Unlock()
			if closed {
				return
			}
			<-h.wake
			continue
		}
		b := h.queue[0]
		h.queue = h.queue[1:]
		h.mu.Unlock()
		for _, c := range h.cmds {
			h.runOne(c, b)
		}
	}
}

// runOne runs one hook command with payload on stdin and logs a warning
// when it fails or runs out of time.
func (h *hooks) runOne(command string, payload []byte) {
	var ev struct{ Event, Phase string }
	_ = json.Unmarshal(payload, &ev)
	ctx, cancel := context.WithTimeout(context.Background(), h.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	killGroup(cmd)              // the timeout kills the command's children too
	cmd.WaitDelay = time.Second // and stops waiting on pipes they inherited
	cmd.Stdin = bytes.NewReader(append(payload, '\n'))
	// The hook gets godwit's environment less the password: a chat
	// notifier has no business with it.
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "MYSQL_PWD=") })
	cmd.Env = append(env, "GODWIT_EVENT="+ev.Event, "GODWIT_PHASE="+ev.Phase,
		"GODWIT_DATABASE="+h.database, "GODWIT_TABLE="+h.table)
	stderr := &tailBuffer{max: hookStderrTail}
	cmd.Stderr = stderr
	start := time.Now()
	err := cmd.Run()
	if err == nil {
		h.log.Debug("hook ran", "hook", command, "event", ev.Event, "phase", ev.Phase, "took", time.Since(start).Round(time.Millisecond).String())
		return
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("killed after --hook-timeout %s", h.timeout)
	}
	h.log.Warn("hook failed; the migration goes on", "hook", command, "event", ev.Event, "phase", ev.Phase,
		"err", err, "stderr", stderr.String())
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
	cut bool
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
		t.cut = true
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.b))
	if t.cut {
		s = "..." + s
	}
	return s
}
