package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/godwit-db/godwit/migrate"
	"github.com/godwit-db/godwit/migrate/alter"
)

func TestExitCode(t *testing.T) {
	_, alterRefusal := alter.Parse("d", "t", "DROP TABLE t")
	if alterRefusal == nil {
		t.Fatal("alter.Parse accepted DROP TABLE")
	}
	refusal := &migrate.Refusal{Check: "key", Reason: "the table has no primary key", Fix: "Add one."}
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"success", nil, exitOK},
		{"usage error", usageError{errors.New("--alter is required")}, exitUsage},
		{"wrapped usage error", fmt.Errorf("migrate: %w", usageError{errors.New("bad flag")}), exitUsage},
		{"refusal", refusal, exitRefused},
		{"wrapped refusal", fmt.Errorf("preflight: %w", refusal), exitRefused},
		{"refusal of the ALTER parser", alterRefusal, exitRefused},
		{"failure while working", errors.New("copy: connection reset"), exitFailed},
		{"interrupted", fmt.Errorf("interrupted: %w", context.Canceled), exitFailed},
		{"swapped, then a cleanup failed", errors.New("the tables were swapped, but dropping _t_old failed"), exitFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := exitCode(tc.err); got != tc.want {
				t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
			}
		})
	}
}

// TestCommandLineUsage runs the command tree in-process on command lines
// that must be rejected before any connection is made.
func TestCommandLineUsage(t *testing.T) {
	t.Setenv("MYSQL_PWD", "")
	// Port 1: if a case wrongly got as far as connecting, it fails fast
	// instead of reaching a real server.
	conn := []string{"--host", "127.0.0.1", "--port", "1", "--database", "d", "--table", "t"}
	migrateWith := func(extra ...string) []string {
		return append(append([]string{"migrate"}, conn...), extra...)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string // in the error
	}{
		{"unknown command", []string{"migrat"}, `unknown command or argument "migrat"`},
		{"unknown flag", migrateWith("--alter", "ADD c INT", "--frobnicate"), "unknown flag: --frobnicate"},
		{"bad flag value", []string{"migrate", "--port", "abc"}, `invalid argument "abc" for "--port"`},
		{"stray argument", migrateWith("--alter", "ADD c INT", "extra"), `unknown command or argument "extra"`},
		{"unquoted ALTER", migrateWith("--alter", "ADD", "COLUMN", "c", "INT"), "quote the whole --alter value"},
		{"missing --alter", migrateWith(), "--alter is required"},
		{"missing --table", []string{"migrate", "--port", "1", "--database", "d", "--alter", "ADD c INT"}, "--table is required"},
		{"missing --database", []string{"migrate", "--port", "1", "--table", "t", "--alter", "ADD c INT"}, "--database is required"},
		{"bad --output", migrateWith("--alter", "ADD c INT", "--output", "yaml"), `--output must be auto, json or text, not "yaml"`},
		{"zero --chunk-time", migrateWith("--alter", "ADD c INT", "--chunk-time", "0s"), "--chunk-time must be positive"},
		{"zero --threads", migrateWith("--alter", "ADD c INT", "--threads", "0"), "--threads must be between 1 and 64"},
		{"zero --cutover-lock-timeout", migrateWith("--alter", "ADD c INT", "--cutover-lock-timeout", "0s"), "--cutover-lock-timeout must be positive"},
		{"zero --cutover-retries", migrateWith("--alter", "ADD c INT", "--cutover-retries", "0"), "--cutover-retries must be at least 1"},
		{"zero --cutover-blocker-wait", migrateWith("--alter", "ADD c INT", "--cutover-blocker-wait", "0s"), "--cutover-blocker-wait must be positive"},
		{"negative --kill-blockers-after", migrateWith("--alter", "ADD c INT", "--kill-blockers-after", "-1s"), "--kill-blockers-after must be positive (or 0: never kill)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, err := runInProcess(tc.args...)
			if got := exitCode(err); got != exitUsage {
				t.Fatalf("exit code %d (err %v), want %d", got, err, exitUsage)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
			if stdout != "" {
				t.Errorf("stdout should stay empty on a usage error, got %q", stdout)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{nil, {"--help"}, {"migrate", "--help"}} {
		out, err := runInProcess(args...)
		if err != nil {
			t.Errorf("%q: %v", args, err)
		}
		if !strings.Contains(out, "migrate") {
			t.Errorf("%q: help does not mention migrate:\n%s", args, out)
		}
	}
	out, _ := runInProcess("migrate", "--help")
	for _, want := range []string{"Exit codes", "MYSQL_PWD", "--defaults-file", "--alter", "--drop-old", "--output"} {
		if !strings.Contains(out, want) {
			t.Errorf("migrate --help does not mention %s:\n%s", want, out)
		}
	}
}

// runInProcess runs godwit's command tree with args and returns what it
// wrote to stdout (where cobra writes help).
func runInProcess(args ...string) (stdout string, err error) {
	root := newRoot()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err = root.ExecuteContext(context.Background())
	return out.String(), err
}
