package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/godwit-db/godwit/migrate"
)

func newRevertCmd() *cobra.Command {
	var (
		conn     connFlags
		opt      migrate.Options
		output   string
		replicas []string
		obs      observeFlags
		dryRun   bool
	)
	cmd := &cobra.Command{
		Use:   "revert --database D --table T",
		Short: "Swap back the table a migration replaced, with every write made since",
		Long: `revert undoes the last swap godwit made of the table: the table it replaced,
kept as _<table>_old, is brought up to date and swapped back in. Every
write made to the table since the swap is carried into _<table>_old
first, from the binlog, starting at the position the migration recorded
in the database (table _godwit_revert) and through the reverse column
mapping: a column the ALTER added is dropped, one it dropped keeps its
old value on old rows and gets its default on new ones. Then the same
checksum and the same cut-over as a migration. The table with the new
structure is kept as _<table>_old: a second revert swaps back.

Before changing anything, revert checks the rows against the old
structure (values too long or out of range for the old types, NULLs in
old NOT NULL columns, duplicates under an old unique key, new rows
without a value for a dropped NOT NULL column that has no default) and
refuses with counts and example keys rather than truncate anything. It
needs the binlog since the swap, and says so when the server has purged
it. --dry-run makes these checks only.

Exit codes:
  0  reverted (with --dry-run: the revert can run)
  1  failed (with --dry-run: could not check)
  2  usage error
  3  refused, nothing changed: nothing to revert, the old table or the
     binlog since the swap is gone, or the data does not fit
  5  stopped before the swap, keeping its state: the old table is intact;
     rerun the same command to resume, or godwit abort gives
     _<table>_old its name back`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := conn.config(cmd.Flags())
			if err != nil {
				return err
			}
			if err := checkMigrateFlags(opt); err != nil {
				return usageError{err}
			}
			out, err := newOutput(output, cmd.ErrOrStderr(), cmd.OutOrStdout())
			if err != nil {
				return usageError{err}
			}
			opt.Conn, opt.Table = cfg, conn.table
			if opt.Replicas, err = replicaConfigs(replicas, cfg); err != nil {
				return usageError{err}
			}
			opt.Log = out.logger()
			if dryRun {
				return printRevertCheck(cmd, out, opt, conn)
			}
			return runObserved(cmd.Context(), &obs, out, conn, opt, migrate.Revert,
				"interrupted: stopping; the revert keeps its state for a rerun; press Ctrl-C again to quit at once")
		},
	}
	fs := cmd.Flags()
	conn.register(fs)
	fs.Lookup("table").Usage = "table whose last migration to undo: its _<table>_old comes back (required)"
	registerMigrationFlags(fs, &opt, &replicas)
	// A revert copies nothing and always compares the whole table.
	for _, name := range []string{"force-copy", "defer-indexes", "threads", "chunk-time", "full-checksum"} {
		_ = fs.MarkHidden(name)
	}
	fs.BoolVar(&dryRun, "dry-run", false, "make every check the revert makes first, the data checks included, and change nothing (exit 0: it can run, 3: refused, 1: could not check)")
	fs.StringVar(&opt.PostponeCutoverFile, "postpone-cutover-file", "", "while this file exists, stay ready to swap back (kept in sync) instead of swapping")
	obs.register(fs)
	fs.StringVar(&output, "output", "auto", "auto (progress bar on a terminal, else JSON lines), json (JSON lines on stdout) or text (human lines on stdout)")
	return cmd
}

// printRevertCheck runs godwit revert --dry-run.
func printRevertCheck(cmd *cobra.Command, out *output, opt migrate.Options, conn connFlags) error {
	res, err := migrate.CheckRevert(cmd.Context(), opt)
	if err != nil {
		return conn.explain(err)
	}
	w := cmd.OutOrStdout()
	if out.mode == "json" {
		b, _ := json.Marshal(map[string]any{"event": "revert-check", "table": res.Table, "old": res.Old, "alter": res.Alter,
			"from": res.From, "swapped_at": res.SwappedAt.Format(time.RFC3339), "rows_estimate": res.Rows, "ok": true})
		fmt.Fprintln(w, string(b))
		return nil
	}
	fmt.Fprintf(w, "revert of %s can run: %s comes back (undoing %q, swapped %s); the writes since, from binlog %s, are carried into it first\n",
		res.Table, res.Old, res.Alter, res.SwappedAt.Format(time.RFC3339), res.From)
	return nil
}
