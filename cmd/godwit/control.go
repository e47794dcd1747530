package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/migrate"
)

// godwit status, pause, resume and cutover act on a running migration
// through the database (migrate/control.go), so they work from any host
// that can reach the server, not only the one running godwit migrate.

// Exit codes of godwit status besides 0 (running), 1 (could not tell) and
// 2 (usage). "No migration" is not 1: a script polling status must not
// take a lost connection for a finished migration.
const (
	exitNoMigration = 3 // as the control commands' refusal: nothing to act on
	exitStopped     = 4 // a run stopped without finishing and left its checkpoint
)

// statusExit ends godwit status with its own exit code, which main's
// exitCode reads through ExitCode; the report is already printed.
type statusExit struct {
	code int
	err  error
}

func (e statusExit) Error() string { return e.err.Error() }
func (e statusExit) Unwrap() error { return e.err }

// ExitCode is the process exit code.
func (e statusExit) ExitCode() int { return e.code }

func checkOutputFlag(output string) error {
	if output != "text" && output != "json" {
		return usageError{fmt.Errorf("--output must be text or json, not %q", output)}
	}
	return nil
}

func writeIndentedJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newStatusCmd() *cobra.Command {
	var (
		conn   connFlags
		output string
	)
	cmd := &cobra.Command{
		Use:   "status --database D --table T",
		Short: "Show the migration of a table: running or stopped, phase, progress, pause and cut-over requests",
		Long: `status reads, from the database, what a godwit migrate of the table
publishes about itself (from any host, not only the one running it):
whether it runs (the connection holding its lock), its phase, rows copied
of the estimated total and an ETA, binlog changes applied and pending,
whether the copy is throttled or paused and why, why a ready cut-over
waits, the host and pid running it, and how old that report is (it is
rewritten every second: an old one means the process is stuck or gone).
It also shows the flags godwit pause and godwit cutover set.

A migration publishes its status once its copy is set up, or, for an
instant change, once it waits for its release (--postpone-cutover,
--postpone-cutover-file, --cutover-window); before that (and for an
instant change that does not wait) status only says that it runs.

Output: text by default; --output json prints one JSON document.

Exit codes:
  0  a migration of the table is running
  1  could not tell (connection failed, a query failed)
  2  usage error (bad or missing flags)
  3  no migration: none runs and none left a checkpoint (or the table or
     the database does not exist)
  4  stopped: a run ended without finishing and left its checkpoint;
     rerun the same godwit migrate to resume it, or godwit abort`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := controlConfig(cmd, &conn, output)
			if err != nil {
				return err
			}
			ts, err := migrate.ReadStatus(cmd.Context(), cfg, conn.table)
			if err != nil {
				err = conn.explain(fmt.Errorf("status: %w", err))
				// As for a missing table: no migration, said in the
				// report a script reads (exit 3).
				if r := (*migrate.Refusal)(nil); !errors.As(err, &r) || r.Check != checkDatabase {
					return err
				}
				ts = &migrate.TableStatus{Database: conn.database, Table: conn.table, State: migrate.StateNone,
					Advice: fmt.Sprintf("database %s does not exist (check --database)", conn.database)}
			}
			if output == "json" {
				if err := writeIndentedJSON(cmd.OutOrStdout(), ts); err != nil {
					return err
				}
			} else {
				writeStatus(cmd.OutOrStdout(), ts)
			}
			switch ts.State {
			case migrate.StateStopped:
				return statusExit{exitStopped, fmt.Errorf("the migration of %s.%s is stopped (not running, checkpoint left)", ts.Database, ts.Table)}
			case migrate.StateNone:
				return statusExit{exitNoMigration, fmt.Errorf("status: %s", ts.Advice)}
			}
			return nil
		},
	}
	fs := cmd.Flags()
	conn.register(fs)
	fs.Lookup("table").Usage = "table whose migration to show (required)"
	fs.StringVar(&output, "output", "text", "text (for people) or json (one JSON document)")
	return cmd
}

// writeStatus prints a status for a human.
func writeStatus(w io.Writer, ts *migrate.TableStatus) {
	name := ts.Database + "." + ts.Table
	line := func(label, format string, args ...any) {
		fmt.Fprintf(w, "  %-10s %s\n", label, fmt.Sprintf(format, args...))
	}
	switch ts.State {
	case migrate.StateNone:
		fmt.Fprintln(w, ts.Advice)
		return
	case migrate.StateRunning:
		fmt.Fprintf(w, "godwit migration of %s: running (its lock is held by connection %d)\n", name, ts.LockConnection)
		if ts.Status == nil {
			line("status", "none yet: the migration is starting (or making an instant change that does not wait, which publishes none)")
		}
	case migrate.StateStopped:
		fmt.Fprintf(w, "godwit migration of %s: stopped (no godwit holds its lock)\n", name)
	}
	if s := ts.Status; s != nil {
		age := ageText(ts.StatusAgeSeconds)
		if ts.State == migrate.StateStopped {
			fmt.Fprintf(w, "  its last status, written %s ago:\n", age)
		}
		line("run", "%s pid %d, started %s UTC", s.Host, s.PID, s.StartedAt.UTC().Format(time.DateTime))
		line("alter", "%s", s.Alter)
		phase := string(s.Phase)
		if ts.State == migrate.StateRunning {
			phase += ", for " + ageText(s.InPhaseSeconds+ts.StatusAgeSeconds)
		}
		if s.Resumed {
			phase += " (resumed from a checkpoint"
			if s.ResumedFrom != "" {
				phase += ": " + s.ResumedFrom
			}
			phase += ")"
		}
		line("phase", "%s", phase)
		copied := fmt.Sprintf("%d of ~%d rows", s.RowsCopied, s.RowsTotal)
		if s.RowsTotal > 0 {
			copied += fmt.Sprintf(" (%d%%)", min(100, s.RowsCopied*100/s.RowsTotal))
		}
		if s.Phase == migrate.PhaseCopy && s.ETASeconds > 0 {
			copied += ", about " + ageText(s.ETASeconds) + " left"
		}
		line("copied", "%s", copied)
		line("applied", "%d rows from the binlog, %d changes pending", s.RowsApplied, s.Pending)
		if s.Phase == migrate.PhaseVerify && s.ChecksumRows > 0 {
			cs := fmt.Sprintf("%d rows compared", s.ChecksumRows)
			if s.ETASeconds > 0 {
				cs += ", about " + ageText(s.ETASeconds) + " left"
			}
			line("checksum", "%s", cs)
		}
		if s.Paused && s.Postponed == "" { // at the cut-over, its line says so
			line("paused", "%s", s.PauseReason)
		}
		if s.Throttled {
			line("throttled", "%s", s.ThrottleReason)
		}
		if s.Postponed != "" {
			line("cut-over", "%s", s.Postponed)
		}
		for _, b := range s.BlockedBy {
			line("blocked by", "%s", b)
		}
		if s.Message != "" && !strings.HasPrefix(s.Message, "phase ") && s.Message != s.Postponed {
			line("last", "%s", s.Message)
		}
		if ts.State == migrate.StateRunning {
			line("status", "written %s ago", age)
		}
	}
	if c := ts.Checkpoint; c != nil && ts.State == migrate.StateStopped {
		done := ""
		if c.CopyDone {
			done = ", copy done"
		}
		line("checkpoint", "%d rows copied%s, saved %s ago", c.RowsCopied, done, ageText(c.AgeSeconds))
	}
	if c := ts.Control; c.Paused || c.Cutover {
		var asked []string
		if c.Paused {
			asked = append(asked, "paused")
		}
		if c.Cutover {
			asked = append(asked, "cut-over requested")
		}
		line("control", "%s (last change by %s at %s UTC)", strings.Join(asked, ", "), c.By, c.At.UTC().Format(time.DateTime))
	}
	if ts.Advice != "" {
		fmt.Fprintln(w, ts.Advice)
	}
}

// ageText prints a duration given in seconds, rounded for a human.
func ageText(s float64) string {
	d := time.Duration(s * float64(time.Second))
	if d < time.Minute {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func newPauseCmd() *cobra.Command {
	return newControlCmd(migrate.ActionPause, "Pause the copy of a running migration; binlog changes keep being applied",
		`pause holds a running godwit migrate of the table, from any host: the
copy and the checksum stop within a second, while changes from the binlog
keep being applied to the shadow, so it never falls behind; a cut-over
that has not begun waits too. The progress and godwit status say
"paused by godwit pause from HOST/PID", and the summary counts the time
as paused, apart from the server's throttling. An instant change that
waits for its release (--postpone-cutover and the like) waits for
godwit resume too. godwit resume lets it go on.

The request is a flag in the migration's checkpoint table (_<table>_ckpt):
it holds until godwit resume, also for the rerun that resumes a stopped
migration.`)
}

func newResumeCmd() *cobra.Command {
	return newControlCmd(migrate.ActionResume, "Let a paused migration go on (lifts godwit pause)",
		`resume lifts godwit pause: the copy (or checksum, or cut-over) of the
table's running migration goes on within a second.

This is not how a migration that stopped (killed, crashed, Ctrl-C) is
resumed: for that, rerun the same godwit migrate command, which picks the
copy up from its checkpoint (godwit status says when a migration is
stopped).`)
}

func newCutoverCmd() *cobra.Command {
	return newControlCmd(migrate.ActionCutover, "Let a migration swap as soon as it is ready, releasing any postponement",
		`cutover asks the table's migration to swap as soon as it is ready,
releasing every postponement: --postpone-cutover (which waits for this
command), --postpone-cutover-file and --cutover-window. A migration
waiting at its cut-over swaps within a second or two; one still copying
or verifying records the request and honours it when it gets there (it
then does not wait). It does not undo godwit pause: a paused migration
swaps after godwit resume. Watch the swap with godwit status; godwit
migrate itself reports the outcome and exits.`)
}

// newControlCmd builds pause, resume and cutover, which differ only in
// the flag they set.
func newControlCmd(action migrate.ControlAction, short, long string) *cobra.Command {
	var (
		conn   connFlags
		output string
	)
	cmd := &cobra.Command{
		Use:   string(action) + " --database D --table T",
		Short: short,
		Long: long + `

Nothing is created: a table with no migration running and no checkpoint
left is refused.

Output: one line of text by default; --output json prints one JSON
document (the flags now and the migration's status before the request).

Exit codes:
  0  recorded (also when the flag was already so)
  1  failed (connection, a query)
  2  usage error (bad or missing flags)
  3  refused: no migration of the table to act on (none runs and none
     left a checkpoint, the table or the database does not exist, or the
     migration is still starting and has no checkpoint table yet)`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := controlConfig(cmd, &conn, output)
			if err != nil {
				return err
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
			res, err := migrate.ControlMigration(cmd.Context(), cfg, conn.table, action, log)
			if err != nil {
				return conn.explain(err)
			}
			msg := controlMessage(res)
			if output == "json" {
				return writeIndentedJSON(cmd.OutOrStdout(), struct {
					*migrate.ControlResult
					Message string `json:"message"`
				}{res, msg})
			}
			fmt.Fprintln(cmd.OutOrStdout(), msg)
			return nil
		},
	}
	fs := cmd.Flags()
	conn.register(fs)
	verb := map[migrate.ControlAction]string{migrate.ActionPause: "pause", migrate.ActionResume: "resume", migrate.ActionCutover: "cut over"}[action]
	fs.Lookup("table").Usage = "table whose migration to " + verb + " (required)"
	fs.StringVar(&output, "output", "text", "text (one line) or json (one JSON document)")
	return cmd
}

// controlMessage says what a request did and when it takes effect.
func controlMessage(res *migrate.ControlResult) string {
	ts := res.Before
	name := ts.Database + "." + ts.Table
	c := res.Control
	by := func() string {
		return fmt.Sprintf("by %s at %s UTC", c.By, c.At.UTC().Format(time.DateTime))
	}
	phase := migrate.Phase("")
	if ts.Status != nil {
		phase = ts.Status.Phase
	}
	swapping := phase == migrate.PhaseCutover || phase == migrate.PhaseCleanup || phase == migrate.PhaseDone
	stopped := ts.State == migrate.StateStopped
	switch res.Action {
	case migrate.ActionPause:
		switch {
		case !res.Changed:
			return fmt.Sprintf("the migration of %s was already paused (%s): nothing changed", name, by())
		case stopped:
			return fmt.Sprintf("paused: no godwit runs the migration of %s now; the rerun of the same godwit migrate that resumes it starts paused (godwit resume lifts it)", name)
		case swapping:
			return fmt.Sprintf("recorded, but the migration of %s is already in its %s: it finishes regardless", name, phase)
		}
		return fmt.Sprintf("paused the migration of %s%s: its copy and checksum stop within a second, binlog changes keep being applied, and its cut-over waits; godwit resume lets it go on",
			name, inPhase(phase))
	case migrate.ActionResume:
		switch {
		case !res.Changed:
			return fmt.Sprintf("the migration of %s was not paused: nothing changed", name)
		case stopped:
			return fmt.Sprintf("no longer paused; but no godwit runs the migration of %s now: rerun the same godwit migrate to resume it from its checkpoint", name)
		}
		return fmt.Sprintf("resumed the migration of %s%s: it goes on within a second", name, inPhase(phase))
	}
	// cutover
	var msg string
	switch {
	case stopped:
		msg = fmt.Sprintf("cut-over requested: no godwit runs the migration of %s now; the rerun of the same godwit migrate that resumes it swaps as soon as it is ready", name)
	case swapping:
		msg = fmt.Sprintf("the migration of %s is already in its %s", name, phase)
	case !res.Changed:
		msg = fmt.Sprintf("the cut-over of %s was already requested (%s)", name, by())
	case res.AtCutover() && !c.Paused:
		msg = fmt.Sprintf("cut-over of %s requested: the migration was waiting at its cut-over and swaps within a second or two (watch it with godwit status)", name)
	default:
		where := "the migration is not at its cut-over yet"
		if phase != "" {
			where = fmt.Sprintf("the migration is in phase %s, not at its cut-over yet", phase)
		}
		msg = fmt.Sprintf("cut-over of %s requested: %s; the request is recorded and honoured when it gets there (it will not wait for --postpone-cutover, the postpone file or the cut-over window)",
			name, where)
	}
	if c.Paused && !swapping {
		msg += "; it is paused: it gets there only after godwit resume"
	}
	return msg
}

func inPhase(p migrate.Phase) string {
	if p == "" {
		return ""
	}
	return " (in phase " + string(p) + ")"
}

// controlConfig checks the flags every control command shares and returns
// the connection they name.
func controlConfig(cmd *cobra.Command, conn *connFlags, output string) (mysqlx.Config, error) {
	cfg, err := conn.config(cmd.Flags())
	if err != nil {
		return cfg, err
	}
	return cfg, checkOutputFlag(output)
}
