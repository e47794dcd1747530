package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/godwit-db/godwit/migrate"
)

// output renders progress for a human (a progress bar on a terminal, or
// text lines on stdout) or for a machine (JSON lines on stdout); logs go to
// stderr. The bar is shown only on a terminal: piped, it would write
// megabytes of redraws.
type output struct {
	mode     string // "bar", "json" or "text"
	stderr   io.Writer
	stdout   io.Writer
	mu       sync.Mutex
	bar      *progressbar.ProgressBar
	phase    migrate.Phase
	lastLine time.Time
	label    string // the last hold shown (waitLabel), so a change shows at once
}

func newOutput(mode string, stderr, stdout io.Writer) (*output, error) {
	switch mode {
	case "auto":
		mode = "json"
		if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			mode = "bar"
		}
	case "json", "text":
	default:
		return nil, fmt.Errorf("--output must be auto, json or text, not %q", mode)
	}
	return &output{mode: mode, stderr: stderr, stdout: stdout}, nil
}

func (o *output) logger() *slog.Logger {
	if o.mode == "json" {
		return slog.New(slog.NewJSONHandler(o.stderr, &slog.HandlerOptions{Level: slog.LevelInfo, ReplaceAttr: durationText}))
	}
	// Under the bar, only what needs a human's attention.
	level := slog.LevelInfo
	if o.mode == "bar" {
		level = slog.LevelWarn
	}
	return slog.New(slog.NewTextHandler(&barSafeWriter{o}, &slog.HandlerOptions{Level: level}))
}

// durationText writes a duration as the text handler does ("1.817s"):
// the JSON handler would write nanoseconds, a number that reads like
// milliseconds beside the durations logged as text.
func durationText(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.StringValue(a.Value.Duration().String())
	}
	return a
}

// barSafeWriter clears the bar before a log line so the two do not mix.
type barSafeWriter struct{ o *output }

func (w *barSafeWriter) Write(p []byte) (int, error) {
	w.o.mu.Lock()
	defer w.o.mu.Unlock()
	if w.o.bar != nil {
		w.o.bar.Clear()
	}
	return w.o.stderr.Write(p)
}

// waitLabel says what holds the migration, if anything: the cut-over's
// postponement or pause, a pause of the copy, the server's load. It is
// taken from each event afresh, so it never outlives its cause.
func waitLabel(e migrate.Event) string {
	var parts []string
	switch {
	case e.Postponed != "":
		parts = append(parts, e.Postponed) // a pause at the cut-over says so itself
	case e.Paused:
		parts = append(parts, e.PauseReason)
	}
	if e.Throttled {
		parts = append(parts, "throttled: "+e.ThrottleReason)
	}
	return strings.Join(parts, "; ")
}

func (o *output) event(e migrate.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	label := waitLabel(e)
	phaseChange := e.Phase != o.phase || label != o.label
	o.phase, o.label = e.Phase, label
	switch o.mode {
	case "bar":
		o.drawBar(e)
	case "json":
		if phaseChange || time.Since(o.lastLine) >= time.Second {
			o.lastLine = time.Now()
			o.writeJSON(map[string]any{
				"time": e.Time.UTC().Format(time.RFC3339Nano), "event": "progress", "phase": e.Phase, "message": e.Message,
				"rows_copied": e.Progress.RowsCopied, "rows_total_estimate": e.RowsTotal, "rows_applied": e.Progress.RowsApplied,
				"pending_changes": e.Progress.Pending, "chunk_size": e.Progress.ChunkSize,
				"checksum_rows": e.Checksum.Rows, "checksum_chunks": e.Checksum.Chunks,
				"throttled": e.Throttled, "throttle_reason": e.ThrottleReason,
				"paused": e.Paused, "pause_reason": e.PauseReason, "postponed": e.Postponed,
			})
		}
	case "text":
		if phaseChange || time.Since(o.lastLine) >= 5*time.Second {
			o.lastLine = time.Now()
			fmt.Fprintf(o.stdout, "%s %-9s rows %d/~%d applied %d pending %d\n", e.Time.Format("15:04:05"), e.Phase,
				e.Progress.RowsCopied, e.RowsTotal, e.Progress.RowsApplied, e.Progress.Pending)
			if label != "" {
				fmt.Fprintf(o.stdout, "%s %-9s %s\n", e.Time.Format("15:04:05"), e.Phase, label)
			}
		}
	}
}

func (o *output) drawBar(e migrate.Event) {
	total := max(e.RowsTotal, e.Progress.RowsCopied, 1)
	if o.bar == nil {
		o.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(o.stderr),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("rows"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetWidth(30),
		)
	}
	if total > o.bar.GetMax64() {
		o.bar.ChangeMax64(total)
	}
	desc := fmt.Sprintf("%-9s", e.Phase)
	rows := e.Progress.RowsCopied
	switch {
	case e.Phase == migrate.PhaseVerify:
		desc += " checksum"
		rows = e.Checksum.Rows
	case e.Progress.Pending > 0 || e.Progress.RowsApplied > 0:
		desc += fmt.Sprintf(" applied %d pending %d", e.Progress.RowsApplied, e.Progress.Pending)
	}
	if label := waitLabel(e); label != "" {
		desc += " | " + label
	}
	o.bar.Describe(desc)
	_ = o.bar.Set64(rows)
}

func (o *output) writeJSON(v any) {
	b, _ := json.Marshal(v)
	fmt.Fprintln(o.stdout, string(b))
}

// finish prints the summary: JSON in json mode, lines for a human otherwise.
func (o *output) finish(s *migrate.Summary, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.bar != nil {
		if err == nil {
			_ = o.bar.Finish()
		}
		fmt.Fprintln(o.stderr)
	}
	if s == nil {
		return
	}
	swapped := s.Swapped // a failure after the swap (dropping the old table) leaves it swapped
	phases := phaseDurations(s)
	if o.mode == "json" {
		res := summaryFields(s)
		res["event"], res["table"], res["swapped"] = "summary", s.Table, swapped
		if err != nil {
			res["error"] = err.Error()
		}
		o.writeJSON(res)
		return
	}
	if !swapped {
		return // the error itself goes to stderr
	}
	if s.AlreadyDone {
		fmt.Fprintf(o.stdout, "already done: an earlier run swapped %s; this one finished its cleanup (old table %s)\n", s.Table, s.OldTable)
		for _, w := range s.Warnings {
			fmt.Fprintf(o.stdout, "  warning: %s\n", w)
		}
		return
	}
	if s.Path == migrate.PathInstant {
		fmt.Fprintf(o.stdout, "changed %s instantly in %s (ALGORITHM=INSTANT, metadata only: nothing copied; writes waited %s)\n",
			s.Table, s.Total.Round(time.Millisecond), s.CutoverStall.Round(time.Millisecond))
		o.holds(s)
		return
	}
	fmt.Fprintf(o.stdout, "swapped %s in %s: %d rows copied, %d binlog row changes, %d rows re-applied\n",
		s.Table, s.Total.Round(time.Millisecond), s.Rows, s.Changes, s.Applied)
	for _, p := range phaseOrder(s.Phases) {
		fmt.Fprintf(o.stdout, "  %-9s %s\n", p, phases[string(p)])
	}
	if s.Resumed {
		fmt.Fprintf(o.stdout, "  resumed an interrupted run from %s\n", s.ResumedFrom)
	}
	o.holds(s)
	if s.ReplicaWait > 0 {
		fmt.Fprintf(o.stdout, "  cut-over waited %s for the replicas (lag or stopped replication)\n", s.ReplicaWait.Round(time.Second))
	}
	if s.BlockerWait > 0 {
		fmt.Fprintf(o.stdout, "  cut-over waited %s for transactions holding the table\n", s.BlockerWait.Round(time.Second))
	}
	if s.Throttled > 0 {
		fmt.Fprintf(o.stdout, "  copy paused %s for the server's load\n", s.Throttled.Round(time.Millisecond))
	}
	if s.ChecksumRows > 0 {
		fmt.Fprintf(o.stdout, "  checksum: %d rows in %d chunks equal", s.ChecksumRows, s.ChecksumChunks)
		if s.ChecksumRechecked > 0 {
			fmt.Fprintf(o.stdout, ", %d changed rows compared again before the swap", s.ChecksumRechecked)
		}
		if s.ChecksumRepairs > 0 {
			fmt.Fprintf(o.stdout, " after repairing %d differing chunks or keys", s.ChecksumRepairs)
		}
		fmt.Fprintln(o.stdout)
	}
	for _, w := range s.Warnings {
		fmt.Fprintf(o.stdout, "  warning: %s\n", w)
	}
	fmt.Fprintf(o.stdout, "  cut-over held writes for %s (attempt %d, %d rows applied under lock)\n",
		s.CutoverStall.Round(time.Millisecond), s.CutoverAttempts, s.CutoverApplied)
	if s.OldDropped {
		fmt.Fprintf(o.stdout, "  old table dropped\n")
	} else {
		fmt.Fprintf(o.stdout, "  old table kept as %s (drop it when you no longer need it)\n", s.OldTable)
	}
}

// holds prints what a person held the change for: a postponed release
// and godwit pause, each apart from the server's throttling.
func (o *output) holds(s *migrate.Summary) {
	if s.Postponed > 0 {
		fmt.Fprintf(o.stdout, "  cut-over postponed %s until its release (postpone file, window or godwit cutover)\n", s.Postponed.Round(time.Second))
	}
	if s.Paused > 0 {
		fmt.Fprintf(o.stdout, "  paused %s by godwit pause\n", s.Paused.Round(time.Second))
	}
}

// phaseOrder lists the phases of a summary in the order they run.
func phaseOrder(m map[migrate.Phase]time.Duration) []migrate.Phase {
	var out []migrate.Phase
	for _, p := range migrate.PhaseOrder {
		if _, ok := m[p]; ok {
			out = append(out, p)
		}
	}
	return out
}
