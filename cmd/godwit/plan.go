package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/godwit-db/godwit/migrate"
)

// exitNeedsFlag is plan's exit code when the change needs an explicit
// flag such as --allow-drop-data.
const exitNeedsFlag = 4

// planExit ends `godwit plan` with its own exit code (4, needs a flag),
// which main's exitCode reads through ExitCode. The plan itself is
// already printed.
type planExit struct {
	code int
	err  error
}

func (e planExit) Error() string { return e.err.Error() }
func (e planExit) Unwrap() error { return e.err }

// ExitCode is the process exit code.
func (e planExit) ExitCode() int { return e.code }

func newPlanCmd() *cobra.Command {
	var (
		conn     connFlags
		opt      migrate.PlanOptions
		output   string
		replicas []string
	)
	cmd := &cobra.Command{
		Use:   "plan --database D --table T --alter \"ADD COLUMN c INT\"",
		Short: "Say what a migration would do, how long it may take and what could stop it; change nothing",
		Long: `plan is a dry run of godwit migrate. It writes nothing and creates nothing:
it reads the table's structure and size, predicts the new structure from
the ALTER, and reports

  - for each clause, what kind of change it is and what this server could
    do natively (instant, in place, in place with a table rebuild, or a
    copy that blocks writes), from godwit's rule table for the server's
    flavor and version;
  - what godwit migrate would do: let the server make an instant change
    (ALGORITHM=INSTANT), or copy online;
  - the table's rows and size, the disk a copy needs (the new table plus
    the binlog it writes) and the free space where the server reports it
    (MariaDB's DISKS plugin); the server's statistics are checked against
    godwit's own cheap measure (the key's range probed, or a bounded
    count, and the sample's bytes per row), and set aside with a warning
    where it contradicts them, as right after a bulk load;
  - an estimate of the copy and checksum time from a timed sample read,
    with its basis;
  - the checks migrate runs before it creates anything: a supported server
    version, binlog settings, a writable server (not a replica), privileges,
    a primary key where the server requires one, engine, triggers, foreign
    keys, leftovers, a usable key,
    and the data checks (duplicates under a new unique key, values that do
    not fit, NULLs under NOT NULL, lossy charset conversion, ENUM/SET
    members in use, dropped columns that hold data), plus replica lag now
    (--replica) and the size of a copy chunk.

The data checks read the whole table once (and group it once per new
unique key), as migrate does before it copies.

Output: human-readable by default; --output json prints one JSON document.

Exit codes:
  0  safe to run as is (an instant change or an online copy)
  4  needs an explicit flag, e.g. --allow-drop-data (the plan names it)
  3  refused: godwit migrate would refuse it (the plan says why and what to do)
  2  usage error (bad or missing flags)
  1  could not plan (connection failed, a query failed)`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := conn.config(cmd.Flags())
			if err != nil {
				return err
			}
			if opt.Alter == "" {
				return usageError{fmt.Errorf("--alter is required, e.g. --alter \"ADD COLUMN c INT\"")}
			}
			if output != "text" && output != "json" {
				return usageError{fmt.Errorf("--output must be text or json, not %q", output)}
			}
			if opt.ChunkTime <= 0 {
				return usageError{fmt.Errorf("--chunk-time must be positive, e.g. 500ms, not %s", opt.ChunkTime)}
			}
			if opt.SampleRows < 1 {
				return usageError{fmt.Errorf("--sample-rows must be at least 1, not %d", opt.SampleRows)}
			}
			opt.Conn, opt.Table = cfg, conn.table
			if opt.Replicas, err = replicaConfigs(replicas, cfg); err != nil {
				return usageError{err}
			}
			opt.Log = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
			p, err := migrate.NewPlan(cmd.Context(), opt)
			if err != nil {
				return conn.explain(fmt.Errorf("could not plan: %w", err))
			}
			if output == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetEscapeHTML(false)
				enc.SetIndent("", "  ")
				if err := enc.Encode(p); err != nil {
					return err
				}
			} else {
				writePlan(cmd.OutOrStdout(), p)
			}
			return planOutcome(cmd, p)
		},
	}
	fs := cmd.Flags()
	conn.register(fs)
	fs.Lookup("table").Usage = "table to plan the change of; plan changes nothing (required)"
	fs.StringVar(&opt.Alter, "alter", "", "the change: the clause after ALTER TABLE t, or a whole ALTER TABLE statement (required)")
	fs.BoolVar(&opt.AllowDropData, "allow-drop-data", false, "plan as migrate --allow-drop-data: a dropped column that holds data is a warning, not a stop")
	fs.BoolVar(&opt.ForceCopy, "force-copy", false, "plan as migrate --force-copy: copy even when the server could make the change instantly")
	fs.BoolVar(&opt.SkipChecksum, "skip-checksum", false, "plan as migrate --skip-checksum: no checksum time in the estimate")
	fs.BoolVar(&opt.DeferIndexes, "defer-indexes", true, "plan as migrate --defer-indexes: weigh building the secondary indexes after the copy against the redo log")
	fs.BoolVar(&opt.FullChecksum, "full-checksum", false, "plan as migrate --full-checksum: the whole table compared again after the copy")
	fs.DurationVar(&opt.ChunkTime, "chunk-time", 250*time.Millisecond, "migrate's target duration of one copy chunk (for the chunk size check)")
	fs.StringSliceVar(&replicas, "replica", nil, "host:port of a replica whose lag to report (repeatable; same user and password)")
	fs.DurationVar(&opt.Throttle.MaxLag, "max-lag", 2*time.Second, "migrate's --max-lag: a replica lagging more now is reported")
	registerSQLMode(fs, &opt.SQLMode)
	fs.IntVar(&opt.SampleRows, "sample-rows", 20_000, "rows read (in key order) to time the estimate")
	fs.StringVar(&output, "output", "text", "text (for people) or json (one JSON document)")
	return cmd
}

// planOutcome turns the verdict into the command's result: nil (exit 0),
// a refusal (exit 3), or exit 4 for a needed flag.
func planOutcome(cmd *cobra.Command, p *migrate.Plan) error {
	switch p.Verdict {
	case migrate.VerdictSafe:
		return nil
	case migrate.VerdictNeedsFlag:
		return planExit{code: exitNeedsFlag, err: fmt.Errorf("plan: %s", p.Reason)}
	}
	var reasons, fixes []string
	for _, c := range p.Checks {
		if c.Status == migrate.CheckRefused {
			reasons = append(reasons, c.Check+": "+c.Message)
			if c.Fix != "" && !containsString(fixes, c.Fix) {
				fixes = append(fixes, c.Fix)
			}
		}
	}
	return &migrate.Refusal{Check: "plan", Reason: strings.Join(reasons, "; "), Fix: strings.Join(fixes, " ")}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// writePlan prints the plan for a person: the change, native capability
// per clause, size and disk, the estimate, the checks, the verdict.
func writePlan(w io.Writer, p *migrate.Plan) {
	pf := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	server := ""
	if p.Server != "" {
		server = " on " + p.Server
	}
	pf("Plan for %s.%s%s\n", p.Database, p.Table, server)
	pf("ALTER: %s\n", p.Alter)

	if len(p.Clauses) > 0 {
		pf("\nChange, clause by clause (what the server could do natively):\n")
		for i, c := range p.Clauses {
			pf("  %d. %-40s %-24s %s\n", i+1, c.Text, nativeLabel(c.Native), c.Native.Reason)
			what := c.Kind.String()
			if c.Change != "" {
				what += ": " + c.Change
			}
			pf("     %s\n", what)
		}
	}
	if p.Native != nil {
		pf("  Whole ALTER: %s: %s\n", nativeLabel(*p.Native), p.Native.Reason)
		switch p.Path {
		case migrate.PathInstant:
			pf("  godwit migrate: lets the server make it with ALGORITHM=INSTANT (no copy; --force-copy copies instead)\n")
		case migrate.PathCopy:
			pf("  godwit migrate: copies online into _%s_new and swaps\n", p.Table)
		}
		if p.Native.Statement != "" {
			pf("  Natively: %s\n", p.Native.Statement)
		}
	}

	if p.Size != nil {
		pf("\nSize and disk:\n")
		basis := p.Size.RowsBasis
		if basis == "" {
			basis = "the server's estimate"
		}
		pf("  rows ≈ %d (%s), data %s, indexes %s\n", p.Size.RowsEstimate, basis, migrate.FormatBytes(p.Size.DataBytes), migrate.FormatBytes(p.Size.IndexBytes))
		if st := p.Size.Stale; st != nil {
			pf("  the server's statistics say %d rows, data %s, indexes %s: stale, not used (see the statistics check)\n",
				st.Rows, migrate.FormatBytes(st.DataBytes), migrate.FormatBytes(st.IndexBytes))
		}
	}
	if d := p.Disk; d != nil {
		pf("  a copy needs ≈ %s: %s for the new table + %s of binlog\n", migrate.FormatBytes(d.NeededBytes), migrate.FormatBytes(d.ShadowBytes), migrate.FormatBytes(d.BinlogBytes))
		for _, f := range d.Free {
			pf("  free: %s of %s on %s (%s), holds the %s; needs ≈ %s there\n", migrate.FormatBytes(f.AvailableBytes), migrate.FormatBytes(f.TotalBytes), f.Path, f.Disk, strings.Join(f.Holds, " and "), migrate.FormatBytes(f.NeededBytes))
		}
		if d.FreeUnknown != "" {
			pf("  free: unknown: %s\n", d.FreeUnknown)
		}
		wrap(w, "  basis: ", d.Basis)
	}

	if e := p.Estimate; e != nil {
		pf("\nEstimate:\n")
		if p.Path == migrate.PathInstant {
			pf("  instant: no copy. A copy (fallback or --force-copy) ≈ %s, checksum ≈ %s\n", migrate.FormatSeconds(e.CopySeconds), migrate.FormatSeconds(e.ChecksumSeconds))
		} else {
			pf("  copy ≈ %s, checksum ≈ %s, total ≈ %s\n", migrate.FormatSeconds(e.CopySeconds), migrate.FormatSeconds(e.ChecksumSeconds), migrate.FormatSeconds(e.TotalSeconds))
		}
		wrap(w, "  basis: ", e.Basis)
	}

	pf("\nChecks:\n")
	var ok []string
	checks := slices.Clone(p.Checks)
	severity := map[migrate.CheckStatus]int{migrate.CheckRefused: 0, migrate.CheckNeedsFlag: 1, migrate.CheckWarning: 2, migrate.CheckNotChecked: 3, migrate.CheckOK: 4}
	slices.SortStableFunc(checks, func(a, b migrate.PlanCheck) int { return severity[a.Status] - severity[b.Status] })
	for _, c := range checks {
		if c.Status == migrate.CheckOK && c.Message == "" {
			ok = append(ok, c.Check)
			continue
		}
		label := map[migrate.CheckStatus]string{
			migrate.CheckOK: "ok", migrate.CheckRefused: "REFUSED", migrate.CheckNeedsFlag: "NEEDS FLAG",
			migrate.CheckWarning: "WARNING", migrate.CheckNotChecked: "not checked",
		}[c.Status]
		msg := c.Message
		if c.Rows > 0 {
			msg += fmt.Sprintf(": %d rows", c.Rows)
			if c.Check == "unique" {
				msg = fmt.Sprintf("%s: %d duplicated values", c.Message, c.Rows)
			}
		}
		if len(c.Examples) > 0 {
			msg += " (e.g. " + strings.Join(c.Examples, "; ") + ")"
		}
		wrap(w, fmt.Sprintf("  %-12s %s: ", label, c.Check), msg)
		if c.Fix != "" && c.Status != migrate.CheckOK {
			wrap(w, "  "+strings.Repeat(" ", 13)+"fix: ", c.Fix)
		}
	}
	if len(ok) > 0 {
		pf("  %-12s %s\n", "ok", strings.Join(ok, ", "))
	}
	if len(p.NotChecked) > 0 {
		pf("\nNot checked:\n")
		for _, n := range p.NotChecked {
			wrap(w, "  - ", n)
		}
	}
	verdict := map[migrate.Verdict]string{migrate.VerdictSafe: "SAFE", migrate.VerdictNeedsFlag: "NEEDS A FLAG", migrate.VerdictRefused: "REFUSED"}[p.Verdict]
	pf("\nVerdict: %s (exit %d): %s\n", verdict, p.ExitCode, p.Reason)
}

func nativeLabel(n migrate.Native) string {
	if n.Lock == "shared" {
		return string(n.Class) + " (writes blocked)"
	}
	return string(n.Class)
}

// wrap prints prefix+text, folding the text at about 100 columns with
// the continuation lines indented under it.
func wrap(w io.Writer, prefix, text string) {
	const width = 100
	indent := strings.Repeat(" ", len([]rune(prefix)))
	line := prefix
	used := len([]rune(line))
	for i, word := range strings.Fields(text) {
		n := len([]rune(word))
		if i > 0 && used+1+n > width {
			fmt.Fprintln(w, line)
			line, used = indent+word, len([]rune(indent))+n
			continue
		}
		if i > 0 {
			line += " "
			used++
		}
		line += word
		used += n
	}
	fmt.Fprintln(w, line)
}
