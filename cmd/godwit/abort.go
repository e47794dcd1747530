package main

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/godwit-db/godwit/migrate"
)

func newAbortCmd() *cobra.Command {
	var conn connFlags
	cmd := &cobra.Command{
		Use:   "abort --database D --table T",
		Short: "Remove what an interrupted migration of a table left behind",
		Long: `abort removes what a migration that stopped without finishing left of
godwit's: its shadow tables (_<table>_new, <table>_godwit_new), its
checkpoint table (_<table>_ckpt, which also holds its status and the
pause and cut-over requests), the table's row of _godwit_heartbeat (the
heartbeat table itself once no other migration of the database uses it)
and the empty cut-over sentry, so that the next migrate starts clean
instead of resuming. It never touches the table itself, refuses while a
migration of the table is still running, and keeps any table that may
hold the original rows: _<table>_old stays for you to drop, and an
original left as <table>_godwit_old by a crash right after the swap is
renamed to _<table>_old. After a godwit revert that stopped before its
swap, the old table (the revert's shadow) is renamed back to
_<table>_old, never dropped.

Exit codes: 0 done (also when there was nothing to remove), 1 failed,
2 usage error, 3 refused (a migration of the table is running, or
--database does not exist).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := conn.config(cmd.Flags())
			if err != nil {
				return err
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
			res, err := migrate.Abort(cmd.Context(), cfg, conn.table, log)
			if err != nil {
				return conn.explain(err)
			}
			out := cmd.OutOrStdout()
			if len(res.Dropped)+len(res.Renamed) == 0 {
				fmt.Fprintf(out, "nothing to remove for %s.%s\n", cfg.Database, conn.table)
			}
			if len(res.Dropped) > 0 {
				fmt.Fprintf(out, "dropped %s\n", strings.Join(res.Dropped, ", "))
			}
			for _, r := range res.Renamed {
				fmt.Fprintf(out, "renamed %s\n", r)
			}
			for _, k := range res.Kept {
				fmt.Fprintf(out, "kept %s\n", k)
			}
			return nil
		},
	}
	conn.register(cmd.Flags())
	cmd.Flags().Lookup("table").Usage = "table whose interrupted migration's leftovers to remove; the table itself is never touched (required)"
	return cmd
}
