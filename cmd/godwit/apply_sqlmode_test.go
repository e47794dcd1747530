package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/godwit-db/godwit/internal/sandboxtest"
)

// TestApplyCharsetsAndSQLMode: a migration file may name any charset the
// server has, and what it runs directly meets --sql-mode as it would
// natively: a default NO_ZERO_IN_DATE forbids fails, nothing made.
func TestApplyCharsetsAndSQLMode(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.New(t)
	work := t.TempDir()
	writeFile(t, work, "0001_latin2.sql", "CREATE TABLE c (id INT PRIMARY KEY, s VARCHAR(10) CHARACTER SET latin2 COLLATE latin2_czech_cs);\n")
	writeFile(t, work, "0002_zero_in_date.sql", "CREATE TABLE z (id INT PRIMARY KEY, dt DATETIME NOT NULL DEFAULT '1970-00-00 00:00:00');\n")
	args := append(applyConnArgs(sb, work), "--sql-mode", "STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE", "--output", "json")
	res := runGodwit(t, pwdEnv(sb), args...)
	if res.code != exitFailed || !strings.Contains(res.stderr, "0002_zero_in_date.sql statement 1 (line 1) failed") || !strings.Contains(res.stderr, "Invalid default value") {
		t.Fatalf("apply under a strict --sql-mode: exit %d, stderr %q", res.code, res.stderr)
	}
	if got := sb.Strings(t, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME IN ('c', 'z') ORDER BY 1", sb.Database); !slices.Equal(got, []string{"c"}) {
		t.Errorf("tables made: %q, want only c", got)
	}
	if got := sb.Strings(t, "SELECT COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'c' AND COLUMN_NAME = 's'", sb.Database); !slices.Equal(got, []string{"latin2_czech_cs"}) {
		t.Errorf("collation of c.s: %q", got)
	}
	args = append(applyConnArgs(sb, work), "--sql-mode", "NO_ENGINE_SUBSTITUTION", "--output", "json")
	if res := runGodwit(t, pwdEnv(sb), args...); res.code != 0 {
		t.Fatalf("apply under a permissive --sql-mode: exit %d, stderr %q", res.code, res.stderr)
	}
}
