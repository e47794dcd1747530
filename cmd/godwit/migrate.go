package main

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/migrate"
)

func newMigrateCmd() *cobra.Command {
	var (
		conn     connFlags
		opt      migrate.Options
		output   string
		replicas []string
		window   string
		windowTZ string
		obs      observeFlags
	)
	cmd := &cobra.Command{
		Use:   "migrate --database D --table T --alter \"ADD COLUMN c INT\"",
		Short: "Change a table's schema online and swap it in",
		Long: `migrate copies the table into a shadow table with the new structure while
following the binlog, then swaps the two with one atomic RENAME TABLE.
The original table is kept as _<table>_old unless --drop-old is given.

The password comes from --password, else MYSQL_PWD, else the [client] or
[godwit] section of --defaults-file.

Output: with --output json (the default when stderr is not a terminal),
stdout carries JSON lines: "progress" events and a final "summary" event;
with --output text, human-readable progress lines and summary. Logs go to
stderr. On a terminal, a progress bar with ETA is drawn on stderr.

A copy, once begun, is never thrown away: a run stopped before its swap
(Ctrl-C or SIGTERM, a lost server, a cut-over or checksum that kept
failing, a critical throttle threshold) keeps the shadow and its
checkpoint; rerunning the same command resumes, godwit abort removes them.
A second Ctrl-C quits at once.

Exit codes:
  0  the table has been swapped (a failed step after the swap is a
     warning), or an earlier run had swapped it: this one finished its
     cleanup ("already done")
  1  failed before the copy began, or DDL on the table stopped it; the
     original table is intact and nothing is left behind
  2  usage error (bad or missing flags)
  3  refused before anything was created (unsupported or unsafe change,
     unsupported server version, a read-only server (a replica), server
     settings, privileges, table without a usable key, leftovers, no such
     database or table)
  5  stopped before the swap, keeping the copy and its checkpoint: the
     original table is intact; rerun the same command to resume`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := conn.config(cmd.Flags())
			if err != nil {
				return err
			}
			if opt.Alter == "" {
				return usageError{fmt.Errorf("--alter is required, e.g. --alter \"ADD COLUMN c INT\"")}
			}
			if err := checkMigrateFlags(opt); err != nil {
				return usageError{err}
			}
			out, err := newOutput(output, cmd.ErrOrStderr(), cmd.OutOrStdout())
			if err != nil {
				return usageError{err}
			}
			opt.Conn, opt.Table = cfg, conn.table
			if window != "" {
				w, err := migrate.ParseWindow(window)
				if err != nil {
					return usageError{err}
				}
				if windowTZ != "" {
					if w.Zone, err = time.LoadLocation(windowTZ); err != nil {
						return usageError{fmt.Errorf("--cutover-window-tz: %w", err)}
					}
				}
				opt.CutoverWindow = &w
			}
			if opt.Replicas, err = replicaConfigs(replicas, cfg); err != nil {
				return usageError{err}
			}
			opt.Log = out.logger()
			return runObserved(cmd.Context(), &obs, out, conn, opt, migrate.Run,
				"interrupted: stopping; a copy already begun is kept with its checkpoint for a rerun; press Ctrl-C again to quit at once")
		},
	}
	fs := cmd.Flags()
	conn.register(fs)
	registerMigrationFlags(fs, &opt, &replicas)
	fs.StringVar(&opt.Alter, "alter", "", "the change: the clause after ALTER TABLE t, or a whole ALTER TABLE statement (required)")
	fs.BoolVar(&opt.AllowDropData, "allow-drop-data", false, "proceed although a column the ALTER drops holds data (refused otherwise)")
	fs.StringVar(&opt.PostponeCutoverFile, "postpone-cutover-file", "", "while this file exists, stay ready to swap (the copy kept in sync) instead of swapping; an instant change waits the same way before it touches the table")
	fs.StringVar(&window, "cutover-window", "", "swap only inside this daily window, e.g. 02:00-04:00 (the server's time zone unless --cutover-window-tz)")
	fs.StringVar(&windowTZ, "cutover-window-tz", "", "time zone of --cutover-window, e.g. Europe/Paris")
	fs.BoolVar(&opt.CheckTable, "check-table", false, "run CHECK TABLE on the original first and refuse if the server reports damage (reads the whole table)")
	fs.BoolVar(&opt.SkipChecksum, "skip-checksum", false, "swap without first proving the copy equal to the original (not recommended)")
	obs.register(fs)
	fs.StringVar(&output, "output", "auto", "auto (progress bar on a terminal, else JSON lines), json (JSON lines on stdout) or text (human lines on stdout)")
	return cmd
}

// checkMigrateFlags refuses values the migration would otherwise replace
// silently with its defaults.
func checkMigrateFlags(opt migrate.Options) error {
	switch {
	case opt.ChunkTime <= 0:
		return fmt.Errorf("--chunk-time must be positive, e.g. 500ms, not %s", opt.ChunkTime)
	case opt.CutoverLockTimeout <= 0:
		return fmt.Errorf("--cutover-lock-timeout must be positive, e.g. 3s, not %s", opt.CutoverLockTimeout)
	case opt.Threads < 1 || opt.Threads > 64:
		return fmt.Errorf("--threads must be between 1 and 64, not %d", opt.Threads)
	case opt.CutoverRetries < 1:
		return fmt.Errorf("--cutover-retries must be at least 1, not %d", opt.CutoverRetries)
	case opt.BlockerWait <= 0:
		return fmt.Errorf("--cutover-blocker-wait must be positive, e.g. 10m, not %s", opt.BlockerWait)
	case opt.KillBlockersAfter < 0:
		return fmt.Errorf("--kill-blockers-after must be positive (or 0: never kill), e.g. 60s, not %s", opt.KillBlockersAfter)
	}
	return nil
}

// replicaConfigs turns --replica host:port values into connections with
// the primary's credentials.
func replicaConfigs(addrs []string, primary mysqlx.Config) ([]mysqlx.Config, error) {
	var out []mysqlx.Config
	for _, a := range addrs {
		host, port, err := net.SplitHostPort(a)
		if err != nil {
			return nil, fmt.Errorf("--replica %q: want host:port", a)
		}
		p, err := strconv.Atoi(port)
		if err != nil || p <= 0 || p > 65535 {
			return nil, fmt.Errorf("--replica %q: bad port", a)
		}
		r := primary
		r.Host, r.Port, r.Socket = host, p, "" // the primary's socket is its own
		if r.TLS != nil && r.TLS.ServerName != "" {
			r.TLS = r.TLS.Clone()
			r.TLS.ServerName = host // VERIFY_IDENTITY checks each server's own name
		}
		out = append(out, r)
	}
	return out, nil
}

// runObserved runs a migration (or a revert) with its progress shown by
// out and reported to the metrics and hooks of obs, saying interrupted
// when a signal cancels ctx.
func runObserved(ctx context.Context, obs *observeFlags, out *output, conn connFlags, opt migrate.Options,
	run func(context.Context, migrate.Options) (*migrate.Summary, error), interrupted string) error {
	metrics, hooks, err := obs.start(opt.Conn.Database, conn.table, opt.Log)
	if err != nil {
		return usageError{err}
	}
	defer metrics.stop()
	opt.Report = func(e migrate.Event) { out.event(e); metrics.event(e); hooks.event(e) }
	stopWatch := context.AfterFunc(ctx, func() { opt.Log.Warn(interrupted) })
	defer stopWatch()
	sum, err := run(ctx, opt)
	err = conn.explain(err)
	out.finish(sum, err)
	metrics.finish(sum, err)
	hooks.finish(sum, err) // waits for the queued hooks, each bounded by --hook-timeout
	return err
}
