package main

import (
	"os"
	"strings"
	"testing"

	"github.com/godwit-db/godwit/internal/sandboxtest"
)

// TestSandboxDefaultsFile: the option file make sandbox-start writes is
// all godwit needs to reach the sandbox's primary (no --host, --port,
// --user or password elsewhere), and it is private to its owner.
func TestSandboxDefaultsFile(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.New(t)
	cnf := os.Getenv("GODWIT_SANDBOX_DEFAULTS_FILE")
	switch {
	case cnf == "" && os.Getenv("GODWIT_SANDBOX_DIR") == "":
		t.Skip("the servers are not a sandbox of testdata/sandbox/sandbox.sh (no GODWIT_SANDBOX_DIR), which writes the option file")
	case cnf == "":
		t.Fatal("the sandbox's env file names no option file (GODWIT_SANDBOX_DEFAULTS_FILE): sandbox.sh start writes one, restart the sandbox")
	}
	fi, err := os.Stat(cnf)
	if err != nil {
		t.Fatalf("the sandbox's option file: %v", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("%s has mode %v: it holds a password, others must not read it", cnf, fi.Mode().Perm())
	}
	createTable(t, sb)
	res := runGodwit(t, nil, "plan", "--defaults-file", cnf, "--database", sb.Database, "--table", "t", "--alter", "ADD COLUMN c INT")
	if res.code != exitOK {
		t.Fatalf("godwit plan --defaults-file %s: exit %d, want 0\n%s", cnf, res.code, res.stderr)
	}
	if want := "Plan for " + sb.Database + ".t"; !strings.Contains(res.stdout, want) {
		t.Errorf("plan does not say %q:\n%s", want, res.stdout)
	}
}
