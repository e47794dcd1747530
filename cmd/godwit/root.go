package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "godwit",
		Short:         "Online schema changes for MySQL and MariaDB",
		Long:          "godwit changes the schema of a live table without blocking its writers: it copies the rows into a shadow table with the new structure while following the binlog, then swaps the tables atomically.",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newMigrateCmd())
	root.AddCommand(newPlanCmd())
	root.AddCommand(newApplyCmd())
	root.AddCommand(newAbortCmd())
	root.AddCommand(newRevertCmd())
	root.AddCommand(newStatusCmd())
	root.AddCommand(newPauseCmd())
	root.AddCommand(newResumeCmd())
	root.AddCommand(newCutoverCmd())
	return root
}

// noArgs refuses positional arguments as a usage error (exit 2), with
// cobra's suggestions for a mistyped command.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command or argument %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	} else if cmd.Flags().Changed("alter") {
		msg += "; if it is part of the change, quote the whole --alter value, e.g. --alter \"ADD COLUMN c INT\""
	}
	return usageError{fmt.Errorf("%s (see %s --help)", msg, cmd.CommandPath())}
}
