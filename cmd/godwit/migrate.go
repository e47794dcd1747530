package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/godwit-db/godwit/migrate"
)

func newMigrateCmd() *cobra.Command {
	var (
		conn   connFlags
		opt    migrate.Options
		output string
	)
	cmd := &cobra.Command{
		Use:   "migrate --database D --table T --alter \"ADD COLUMN c INT\"",
		Short: "Change a table's schema online and swap it in",
		Long: `migrate copies the table into a shadow table with the new structure while
following the binlog, then swaps the two with one atomic RENAME TABLE.
It exits 0 only when the table has been swapped. The original table is
kept as _<table>_old unless --drop-old is given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := conn.config(cmd.Flags())
			if err != nil {
				return err
			}
			if opt.Alter == "" {
				return usageError{fmt.Errorf("--alter is required, e.g. --alter \"ADD COLUMN c INT\"")}
			}
			out, err := newOutput(output, cmd.ErrOrStderr(), cmd.OutOrStdout())
			if err != nil {
				return usageError{err}
			}
			opt.Conn, opt.Table = cfg, conn.table
			opt.Log = out.logger()
			opt.Report = out.event
			sum, err := migrate.Run(cmd.Context(), opt)
			out.finish(sum, err)
			return err
		},
	}
	fs := cmd.Flags()
	conn.register(fs)
	fs.StringVar(&opt.Alter, "alter", "", "the change: the clause after ALTER TABLE t, or a whole ALTER TABLE statement")
	fs.BoolVar(&opt.DropOld, "drop-old", false, "drop _<table>_old after a successful swap")
	fs.DurationVar(&opt.ChunkTime, "chunk-time", 500*time.Millisecond, "target duration of one copy chunk; the chunk size adapts to it")
	fs.DurationVar(&opt.CutoverLockTimeout, "cutover-lock-timeout", 3*time.Second, "longest the application's writes may be held back by one cut-over attempt")
	fs.IntVar(&opt.CutoverRetries, "cutover-retries", 10, "cut-over attempts before giving up (the original table stays)")
	fs.StringVar(&output, "output", "auto", "auto (progress bar on a terminal, JSON lines otherwise), json or text")
	return cmd
}
