package main

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/sandboxtest"
)

// TestMigrateOverTLS: a user the server lets in only over TLS (REQUIRE
// SSL, as managed services do) migrates with --ssl-mode REQUIRED, the
// binlog stream included, and is turned away in the clear.
func TestMigrateOverTLS(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.New(t)
	probe, err := sql.Open("mysql", sb.DSN("")+"&tls=skip-verify")
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	if err := probe.Ping(); err != nil {
		// MySQL 8+ and MariaDB 11.4+ make their own certificate; MariaDB
		// 10.11 serves TLS only when given one, and the sandbox gives none.
		t.Skipf("the server offers no TLS (%v)", err)
	}
	createTable(t, sb)
	user := fmt.Sprintf("gw_tls_%d", time.Now().UnixNano()%1_000_000)
	sb.Exec(t, fmt.Sprintf("CREATE USER '%s'@'127.0.0.1' IDENTIFIED BY 'tls-pw' REQUIRE SSL", user))
	t.Cleanup(func() { sb.DB.Exec(fmt.Sprintf("DROP USER '%s'@'127.0.0.1'", user)) })
	sb.Exec(t, fmt.Sprintf("GRANT ALL PRIVILEGES ON *.* TO '%s'@'127.0.0.1'", user))

	args := func(mode string) []string {
		return []string{"migrate", "--host", sb.Host, "--port", fmt.Sprint(sb.Port), "--user", user,
			"--database", sb.Database, "--table", "t", "--alter", "ADD COLUMN c INT DEFAULT 5", "--force-copy",
			"--ssl-mode", mode, "--output", "json"}
	}
	env := []string{"MYSQL_PWD=tls-pw"}
	res := runGodwit(t, env, args("DISABLED")...)
	if res.code != exitFailed || !strings.Contains(res.stderr, "Access denied") {
		t.Fatalf("in the clear: exit %d, want %d and access denied; stderr:\n%s", res.code, exitFailed, res.stderr)
	}
	if got := tables(t, sb); !slices.Equal(got, []string{"t"}) {
		t.Fatalf("tables after the refused connection: %v, want only t", got)
	}
	res = runGodwit(t, env, args("REQUIRED")...)
	if res.code != 0 {
		t.Fatalf("over TLS: exit %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
	checkMigrated(t, sb, "_t_old")
}
