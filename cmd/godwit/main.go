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
	_ "time/tzdata" // --cutover-window-tz works on hosts without a zoneinfo database

	"github.com/godwit-db/godwit/migrate"
)

// Exit codes; scripts depend on them (documented in the README and in
// godwit migrate --help).
const (
	exitOK      = 0
	exitFailed  = 1 // failed while working; the original table is intact unless the error says it was swapped
	exitUsage   = 2 // bad flags
	exitRefused = 3 // refused before anything was created
	exitKept    = 5 // stopped before the swap, keeping the copy and its checkpoint: rerunning resumes
)

// usageError marks errors in the command line itself.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first Ctrl-C (or SIGTERM) stops the migration cleanly, keeping
	// its copy and checkpoint; after that the signals act as usual again,
	// so a second one quits at once, which is as safe as a kill -9: the
	// original table is never at risk and the checkpoint saved every few
	// seconds is kept.
	context.AfterFunc(ctx, stop)
	err := newRoot().ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "godwit:", err)
	}
	os.Exit(exitCode(err))
}

// exitCode maps the outcome of a command to the process exit code.
func exitCode(err error) int {
	var ue usageError
	var coded interface{ ExitCode() int }
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &coded):
		return coded.ExitCode()
	case errors.Is(err, migrate.ErrKept):
		return exitKept
	case migrate.IsRefusal(err):
		return exitRefused
	default:
		return exitFailed
	}
}
