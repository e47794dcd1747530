// Command godwit changes the schema of a live MySQL or MariaDB table
// without blocking its writers. See the README for the command line.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/godwit-db/godwit/migrate"
)

// Exit codes; scripts depend on them (documented in the README).
const (
	exitOK      = 0
	exitFailed  = 1 // the migration failed while working; the original table is intact
	exitUsage   = 2 // bad flags
	exitRefused = 3 // refused before anything was created
)

// usageError marks errors in the command line itself.
type usageError struct{ error }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := newRoot().ExecuteContext(ctx)
	os.Exit(exitCode(err))
}

func exitCode(err error) int {
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintln(os.Stderr, "godwit:", err)
		return exitUsage
	case migrate.IsRefusal(err):
		fmt.Fprintln(os.Stderr, "godwit:", err)
		return exitRefused
	default:
		fmt.Fprintln(os.Stderr, "godwit:", err)
		return exitFailed
	}
}
