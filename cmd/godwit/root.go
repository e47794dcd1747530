package main

import (
	"github.com/spf13/cobra"
)

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "godwit",
		Short:         "Online schema changes for MySQL and MariaDB",
		Long:          "godwit changes the schema of a live table without blocking its writers: it copies the rows into a shadow table with the new structure while following the binlog, then swaps the tables atomically.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newMigrateCmd())
	return root
}
