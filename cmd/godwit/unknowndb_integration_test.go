package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/godwit-db/godwit/internal/sandboxtest"
)

// TestUnknownDatabaseRefused runs every command that takes --database
// with one the server does not have: each must refuse (exit 3) saying
// which database is missing, as for a missing table, and create nothing.
func TestUnknownDatabaseRefused(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.New(t)
	createTable(t, sb)
	missing := sb.Database + "_missing"
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "0001_add_c.sql"), []byte("ALTER TABLE t ADD COLUMN c INT;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	conn := []string{"--host", sb.Host, "--port", strconv.Itoa(sb.Port), "--user", sb.User, "--database", missing}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"migrate", []string{"migrate", "--table", "t", "--alter", "ADD COLUMN c INT", "--output", "json"}},
		{"plan", []string{"plan", "--table", "t", "--alter", "ADD COLUMN c INT"}},
		{"plan json", []string{"plan", "--table", "t", "--alter", "ADD COLUMN c INT", "--output", "json"}},
		{"apply", []string{"apply", dir}},
		{"apply dry run", []string{"apply", dir, "--dry-run"}},
		{"abort", []string{"abort", "--table", "t"}},
		{"status", []string{"status", "--table", "t"}},
		{"status json", []string{"status", "--table", "t", "--output", "json"}},
		{"pause", []string{"pause", "--table", "t"}},
		{"resume", []string{"resume", "--table", "t"}},
		{"cutover", []string{"cutover", "--table", "t"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runGodwit(t, pwdEnv(sb), append(tc.args, conn...)...)
			if res.code != exitRefused {
				t.Errorf("exit %d, want %d (refused)", res.code, exitRefused)
			}
			want := "refused (database): database " + missing + " does not exist"
			if tc.args[0] == "status" {
				// status reports no migration, as for a missing table.
				want = "database " + missing + " does not exist"
				if !strings.Contains(res.stdout, want) {
					t.Errorf("the report does not say %q:\n%s", want, res.stdout)
				}
			}
			if !strings.Contains(res.stderr, want) || !strings.Contains(strings.ToLower(res.stderr), "check --database") {
				t.Errorf("stderr does not say %q and what to check:\n%s", want, res.stderr)
			}
		})
	}
	if got := sb.Strings(t, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", missing); len(got) != 0 {
		t.Errorf("database %s was created", missing)
	}
	if got := columns(t, sb, "t"); len(got) != 2 {
		t.Errorf("t changed: columns %v", got)
	}
}
