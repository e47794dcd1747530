package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/migrate"
	"github.com/godwit-db/godwit/migrate/pipeline"
)

func newApplyCmd() *cobra.Command {
	var (
		conn     connFlags
		opt      pipeline.Options
		output   string
		replicas []string
	)
	cmd := &cobra.Command{
		Use:   "apply DIR --database D",
		Short: "Apply the pending migration files of a directory, in name order (a release pipeline's step)",
		Long: `apply runs the *.sql files of DIR that have not run yet, in name order
(byte order: zero-pad the numbers, 0001_add_email.sql). The history table
_godwit_migrations in --database records each file: its name, the sha256
of its text, when it started and finished, its outcome and the paths its
statements took. A rerun applies only what is pending; an applied file
whose text has changed refuses the whole run before anything runs.

Each statement, as the TiDB SQL parser splits the file, is routed:
  ALTER TABLE          godwit migrate: instantly when the server can, else
                       an online copy (every check of migrate applies)
  CREATE INDEX         directly on an empty table, else through migrate
                       as ALTER TABLE ... ADD INDEX
  DROP INDEX PRIMARY   through migrate, as ALTER TABLE ... DROP PRIMARY KEY
  CREATE TABLE, CREATE/DROP VIEW, DROP INDEX, RENAME TABLE, ALTER DATABASE
                       directly, the lock wait bounded by
                       --cutover-lock-timeout and retried like a cut-over
  DROP TABLE, TRUNCATE only with --allow-drop-table
  anything else        refused: INSERT/UPDATE/DELETE (apply changes
                       schemas, not rows), SET, USE, CREATE ... SELECT,
                       CREATE/DROP DATABASE, statements on other databases
A column dropped with its data needs --allow-drop-data, as with migrate.

Every file is read, split and routed before anything runs: a file the
parser cannot read, or a statement refused as above, refuses the run.
Statements within a file are not one transaction (DDL never is): a file
that stops at statement 3 keeps statements 1 and 2, and the history says
so; the next run resumes it at statement 3. Until it has been applied, a
file may be changed after the statements that ran, not in them.

--dry-run writes nothing, not even the history table: it prints godwit
plan's report for each pending ALTER and the route of every statement,
and exits with plan's codes. A statement whose table an earlier pending
statement changes is "not planned" (its plan would describe the table as
it is now); it is checked when it runs.

Output: text by default; --output json prints one JSON document on stdout
at the end (also on failure). Migration progress and logs go to stderr.

Exit codes:
  0  every pending file was applied (dry run: every statement is safe)
  1  a statement failed while running; its table is intact, the files
     before it stay applied, the history records where it stopped
  2  usage error (bad or missing flags, DIR unreadable or without *.sql)
  3  refused: before anything ran (a changed applied file, an unreadable
     file, a refused statement, another apply running, --database does
     not exist), or at a statement
     that a check stopped before it changed anything
  4  dry run only: a statement needs an explicit flag (--allow-drop-table,
     --allow-drop-data)
  5  an online migration stopped before its swap, keeping its copy and
     checkpoint: the next apply resumes it`,
		Args: applyArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := conn.configNoTable(cmd.Flags())
			if err != nil {
				return err
			}
			if output != "text" && output != "json" {
				return usageError{fmt.Errorf("--output must be text or json, not %q", output)}
			}
			if err := checkMigrateFlags(opt.Migrate); err != nil {
				return usageError{err}
			}
			if opt.Migrate.Replicas, err = replicaConfigs(replicas, cfg); err != nil {
				return usageError{err}
			}
			if opt.Files, err = pipeline.LoadDir(args[0]); err != nil {
				if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
					return usageError{fmt.Errorf("DIR: %w", err)}
				}
				return usageError{err}
			}
			opt.Dir, opt.Conn = args[0], cfg

			// Stdout carries the report; migration progress and logs go
			// to stderr, as JSON lines with --output json.
			// In text, each progress line names its file and statement.
			pw := &indented{w: cmd.ErrOrStderr()}
			progress, err := newOutput(output, cmd.ErrOrStderr(), pw)
			if err != nil {
				return usageError{err}
			}
			opt.Log = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
			if output == "json" {
				opt.Log = progress.logger()
			}
			opt.Progress = func(f *pipeline.FileReport, s *pipeline.StatementReport, e migrate.Event) {
				if output == "text" {
					pw.prefix = fmt.Sprintf("%s statement %d: ", f.Name, s.Index)
				}
				progress.event(e)
			}
			out := cmd.OutOrStdout()
			tw := &applyText{w: out, dry: opt.DryRun, printed: map[string]bool{}}
			if output == "text" {
				opt.OnStart, opt.OnFile, opt.OnStatement = tw.start, tw.file, tw.statement
			}
			rep, err := pipeline.Apply(cmd.Context(), opt)
			err = conn.explain(err)
			if rep != nil {
				rep.ExitCode = exitCode(err)
				if err != nil {
					rep.Error = err.Error()
				}
				if output == "json" {
					enc := json.NewEncoder(out)
					enc.SetEscapeHTML(false)
					enc.SetIndent("", "  ")
					if jerr := enc.Encode(rep); jerr != nil && err == nil {
						err = jerr
					}
				} else {
					tw.end(rep)
				}
			}
			return err
		},
	}
	flags := cmd.Flags()
	conn.registerNoTable(flags)
	flags.Lookup("database").Usage = "database the files change (their statements may name no other); it holds the history table _godwit_migrations (required)"
	flags.BoolVar(&opt.DryRun, "dry-run", false, "plan every pending statement and change nothing (not even the history table); exits with plan's codes")
	flags.StringVar(&output, "output", "text", "text (for people) or json (one JSON document on stdout)")
	flags.BoolVar(&opt.AllowDropTable, "allow-drop-table", false, "let the files drop or truncate tables (DROP TABLE, TRUNCATE): refused otherwise")
	flags.BoolVar(&opt.Migrate.AllowDropData, "allow-drop-data", false, "let an ALTER drop a column that holds data (refused otherwise, with the count and example rows)")
	flags.IntVar(&opt.SampleRows, "sample-rows", 20_000, "--dry-run: rows read (in key order) to time each copy's estimate")
	registerMigrationFlags(flags, &opt.Migrate, &replicas)
	flags.Lookup("cutover-lock-timeout").Usage += "; also the lock wait of each statement run directly"
	flags.Lookup("cutover-retries").Usage = "cut-over attempts, and attempts of a statement run directly, before giving up (nothing is changed)"
	return cmd
}

// applyArgs wants exactly DIR.
func applyArgs(cmd *cobra.Command, args []string) error {
	switch {
	case len(args) == 0:
		return usageError{fmt.Errorf("DIR is required: godwit apply DIR --database D (see %s --help)", cmd.CommandPath())}
	case len(args) > 1:
		return usageError{fmt.Errorf("one DIR only, got %q (see %s --help)", args, cmd.CommandPath())}
	}
	return nil
}

// registerNoTable registers the connection flags but --table: the
// statements of apply's files name their tables.
func (c *connFlags) registerNoTable(fs *pflag.FlagSet) {
	all := pflag.NewFlagSet("connection", pflag.ContinueOnError)
	c.register(all)
	all.VisitAll(func(f *pflag.Flag) {
		if f.Name != "table" {
			fs.AddFlag(f)
		}
	})
}

// configNoTable is config for a command without --table.
func (c *connFlags) configNoTable(fs *pflag.FlagSet) (mysqlx.Config, error) {
	c.table = "-" // config requires --table, which apply does not have
	return c.config(fs)
}

// applyText prints apply's progress for people, a file and a statement
// at a time, as they finish.
type applyText struct {
	w       io.Writer
	dry     bool
	printed map[string]bool // the files printed as they ran
}

func (t *applyText) start(rep *pipeline.Report) {
	what := "apply"
	if rep.DryRun {
		what = "dry run (nothing is changed)"
	}
	fmt.Fprintf(t.w, "godwit %s: %s on database %s: %s, %d applied before, %d pending\n",
		what, rep.Dir, rep.Database, plural(len(rep.Files), "file"), rep.AlreadyApplied, rep.Pending)
}

func (t *applyText) file(f *pipeline.FileReport, done bool) {
	t.printed[f.Name] = true
	if !done {
		what := ""
		if f.ResumedAt > 0 {
			what = fmt.Sprintf(" (resumed at statement %d: an earlier run stopped there)", f.ResumedAt)
		}
		fmt.Fprintf(t.w, "%s%s\n", f.Name, what)
		return
	}
	if f.Status == pipeline.FileApplied {
		fmt.Fprintf(t.w, "  applied in %s\n", seconds(f.Seconds))
		return
	}
	if t.dry || (f.Status != pipeline.FileFailed && f.Status != pipeline.FileRefused) {
		return
	}
	for _, s := range f.Statements {
		if s.Status == pipeline.StatementFailed || s.Status == pipeline.StatementRefused {
			ran := "nothing of the file ran"
			switch s.Index {
			case 1:
			case 2:
				ran = "statement 1 ran and stays"
			default:
				ran = fmt.Sprintf("statements 1-%d ran and stay", s.Index-1)
			}
			fix := fmt.Sprintf("Fix the file from statement %d on and rerun", s.Index)
			if s.StatementOK {
				fix = "The file is fine: do what the refusal says, then rerun"
			}
			wrap(t.w, "  ", fmt.Sprintf("STOPPED at statement %d (%s); %s. %s: godwit apply resumes it there", s.Index, s.Status, ran, fix))
			return
		}
	}
}

func (t *applyText) statement(_ *pipeline.FileReport, s *pipeline.StatementReport) {
	fmt.Fprintf(t.w, "  %d. %s\n", s.Index, s.Display)
	what := s.Route // direct, migrate -> instant, migrate -> online-copy
	if s.Path != "" && s.Path != s.Route {
		what += " -> " + s.Path
	}
	var b strings.Builder
	switch {
	case t.dry:
		fmt.Fprintf(&b, "%s: %s", what, verdictLabel(s.Verdict))
		if s.Error != "" {
			b.WriteString(": " + s.Error)
		}
	case s.Status == pipeline.StatementApplied:
		fmt.Fprintf(&b, "%s in %s", what, seconds(s.Seconds))
		if s.Path == migrate.PathCopy {
			fmt.Fprintf(&b, ", %d rows copied", s.Rows)
		}
		if s.OldTable != "" {
			fmt.Fprintf(&b, "; old table kept as %s", s.OldTable)
		}
	default:
		fmt.Fprintf(&b, "%s: %s: %s", what, strings.ToUpper(s.Status), s.Error)
	}
	if s.Note != "" {
		b.WriteString(" (" + s.Note + ")")
	}
	wrap(t.w, "     ", b.String())
	if t.dry && s.Plan != nil {
		writePlan(&indented{w: t.w, prefix: "       | "}, s.Plan)
	}
}

// end prints the files refused before the run started, the warnings
// and the totals; nothing when the run stopped before reading the
// directory against the history (the error says why).
func (t *applyText) end(rep *pipeline.Report) {
	w := t.w
	if len(rep.Files) == 0 {
		return
	}
	for _, f := range rep.Files {
		if f.Status == pipeline.FileRefused && !t.printed[f.Name] {
			wrap(w, "", f.Name+": REFUSED: "+f.Message)
			for _, s := range f.Statements {
				if s.Status == pipeline.StatementRefused {
					wrap(w, "     ", fmt.Sprintf("%d. %s: %s", s.Index, s.Display, s.Error))
				}
			}
		}
	}
	for _, wn := range rep.Warnings {
		wrap(w, "warning: ", wn)
	}
	var kept []string
	for _, f := range rep.Files {
		for _, s := range f.Statements {
			if s.OldTable != "" {
				kept = append(kept, s.OldTable)
			}
		}
	}
	if len(kept) > 0 {
		wrap(w, "note: ", "original tables kept: "+strings.Join(kept, ", ")+". Drop them when you no longer need them: "+
			"until then a new online copy of the same table is refused (--drop-old drops them after each swap).")
	}
	if rep.DryRun {
		fmt.Fprintf(w, "dry run: %s pending; verdict %s (exit %d); nothing was changed\n",
			plural(rep.Pending, "file"), verdictLabel(rep.Verdict), rep.ExitCode)
		return
	}
	switch {
	case rep.ExitCode != 0:
		fmt.Fprintf(w, "stopped: applied %s, %d pending (exit %d)\n", plural(rep.Applied, "file"), rep.Pending, rep.ExitCode)
	case rep.Applied == 0:
		fmt.Fprintf(w, "nothing to apply: %s applied before\n", plural(rep.AlreadyApplied, "file"))
	default:
		fmt.Fprintf(w, "done: applied %s in %s, nothing pending\n", plural(rep.Applied, "file"), seconds(rep.Seconds))
	}
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func verdictLabel(v migrate.Verdict) string {
	switch v {
	case migrate.VerdictSafe:
		return "SAFE"
	case migrate.VerdictNeedsFlag:
		return "NEEDS A FLAG"
	case migrate.VerdictRefused:
		return "REFUSED"
	case pipeline.VerdictNotPlanned:
		return "NOT PLANNED"
	}
	return string(v)
}

func seconds(s float64) string {
	return (time.Duration(s * float64(time.Second))).Round(time.Millisecond).String()
}

// indented prefixes every line written through it (a blank line with
// the prefix's trailing spaces trimmed).
type indented struct {
	w      io.Writer
	prefix string
	mid    bool // within a line
}

func (i *indented) Write(p []byte) (int, error) {
	for _, line := range strings.SplitAfter(string(p), "\n") {
		if line == "" {
			continue
		}
		if !i.mid {
			prefix := i.prefix
			if line == "\n" {
				prefix = strings.TrimRight(prefix, " ")
			}
			if _, err := io.WriteString(i.w, prefix); err != nil {
				return 0, err
			}
		}
		if _, err := io.WriteString(i.w, line); err != nil {
			return 0, err
		}
		i.mid = !strings.HasSuffix(line, "\n")
	}
	return len(p), nil
}
