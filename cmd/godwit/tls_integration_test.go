package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/internal/workload"
)

// TestMigrateOverTLS: a user the server lets in only over TLS (REQUIRE
// SSL, as managed services do) migrates with --ssl-mode REQUIRED, the
// binlog stream included, and is turned away in the clear.
func TestMigrateOverTLS(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.New(t)
	tlsDB(t, sb) // the sandbox gives every flavor a certificate
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

// tlsDB opens the test's database on the primary over TLS: the test's own
// sessions must outlive require_secure_transport too.
func tlsDB(t *testing.T, sb *sandboxtest.Sandbox) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", sb.DSN(sb.Database)+"&tls=skip-verify")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Ping(); err != nil {
		t.Fatalf("the sandbox serves no TLS (%v): restart it (make sandbox-stop sandbox-start) to give it its certificate", err)
	}
	return db
}

// migrateUnderWriters loads table t, runs godwit with args while writers
// change the table through db, and checks, when godwit succeeded, that
// the table holds exactly what the writers committed.
func migrateUnderWriters(t *testing.T, ctx context.Context, db *sql.DB, model *workload.Model, env []string, args ...string) result {
	t.Helper()
	run := workload.Start(ctx, db, "t", model, workload.Options{Writers: 3, Rate: 300, Seed: time.Now().UnixNano()})
	res := runGodwit(t, env, args...)
	stats, err := run.Stop()
	if err != nil {
		t.Fatalf("writers: %v", err)
	}
	t.Logf("writers: %d statements during the run", stats.Statements())
	if res.code == exitOK {
		if stats.Statements() == 0 {
			t.Fatal("the writers wrote nothing during the migration")
		}
		if err := model.Compare(ctx, db, "t", workload.Expect{}); err != nil {
			t.Fatalf("after the migration the table differs from what the writers committed: %v", err)
		}
	}
	return res
}

// TestMigrateRequireSecureTransport: with require_secure_transport=ON on
// the primary, a migration under writers succeeds with --ssl-mode REQUIRED
// and PREFERRED (the binlog stream connects over TCP too, so it cannot
// have gone in the clear), and one with DISABLED is refused with a hint.
//
// The setting is global: it would turn away every other test connecting
// in the clear meanwhile (the packages' tests run in parallel), so this
// test starts a private sandbox, and restores the setting at the end
// for the cleanup.
func TestMigrateRequireSecureTransport(t *testing.T) {
	sb, _ := privateSandbox(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	db := tlsDB(t, sb)
	if err := workload.Create(ctx, db, "t"); err != nil {
		t.Fatal(err)
	}
	model, err := workload.Load(ctx, db, "t", 20_000, 5)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("SET GLOBAL require_secure_transport = ON"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := db.Exec("SET GLOBAL require_secure_transport = OFF"); err != nil {
			t.Errorf("restore require_secure_transport: %v", err)
		}
	})
	plain, err := sql.Open("mysql", sb.DSN(sb.Database))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	perr := plain.Ping()
	if perr == nil {
		t.Fatal("a connection in the clear is accepted under require_secure_transport=ON")
	}
	t.Logf("in the clear, the server answers: %v", perr)

	args := func(mode string) []string {
		return append(connArgs(sb), "--alter", "MODIFY i32 BIGINT NULL", "--force-copy", "--chunk-time", "50ms",
			"--ssl-mode", mode, "--output", "json")
	}
	res := runGodwit(t, pwdEnv(sb), args("DISABLED")...)
	if res.code != exitFailed || !strings.Contains(res.stderr, "--ssl-mode REQUIRED") {
		t.Fatalf("--ssl-mode DISABLED: exit %d, want %d with a hint to use --ssl-mode REQUIRED; stderr:\n%s", res.code, exitFailed, res.stderr)
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME <> 't'", sb.Database).Scan(&n); err != nil || n != 0 {
		t.Fatalf("after the refused connection: %d tables other than t (%v), want none", n, err)
	}
	for _, mode := range []string{"REQUIRED", "PREFERRED"} {
		// MySQL shows each session's transport too: a second witness that
		// the stream itself is encrypted.
		var transports func() []string
		if sb.IsMySQL() {
			transports = watchSessions(ctx, db, "SELECT CONNECTION_TYPE FROM performance_schema.threads"+
				" WHERE PROCESSLIST_USER = ? AND PROCESSLIST_COMMAND LIKE 'Binlog Dump%'", sb.User)
		}
		res = migrateUnderWriters(t, ctx, db, model, pwdEnv(sb), args(mode)...)
		if res.code != exitOK {
			t.Fatalf("--ssl-mode %s: exit %d, want 0; stderr:\n%s", mode, res.code, res.stderr)
		}
		if transports != nil {
			seen := transports()
			// The sandbox's replica reads the binlog as another user.
			if len(seen) == 0 || slices.ContainsFunc(seen, func(s string) bool { return s != "SSL/TLS" }) {
				t.Fatalf("--ssl-mode %s: the binlog stream's transports: %v, want SSL/TLS only", mode, seen)
			}
			t.Logf("--ssl-mode %s: %d samples of performance_schema.threads show the binlog stream over SSL/TLS", mode, len(seen))
		}
		// The kept old table of the first run would be a leftover for
		// the second.
		if _, err := db.Exec("DROP TABLE IF EXISTS _t_old"); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMigrateWithClientCertificate: a user that the server lets in only
// with a client certificate of a given subject (REQUIRE SUBJECT) migrates
// with --ssl-cert and --ssl-key, the binlog stream included, all of it
// given through a --defaults-file; without the certificate it is refused.
func TestMigrateWithClientCertificate(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.New(t)
	caFile, caKey := os.Getenv("GODWIT_TEST_SSL_CA"), os.Getenv("GODWIT_TEST_SSL_CA_KEY")
	if caFile == "" || caKey == "" {
		t.Fatal("GODWIT_TEST_SSL_CA and GODWIT_TEST_SSL_CA_KEY are not set: restart the sandbox (make sandbox-stop sandbox-start) to give it a CA")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := workload.Create(ctx, sb.DB, "t"); err != nil {
		t.Fatal(err)
	}
	model, err := workload.Load(ctx, sb.DB, "t", 20_000, 6)
	if err != nil {
		t.Fatal(err)
	}
	user := fmt.Sprintf("gw_x509_%d", time.Now().UnixNano()%1_000_000)
	sb.Exec(t, fmt.Sprintf("CREATE USER '%s'@'127.0.0.1' IDENTIFIED BY 'x509-pw' REQUIRE SUBJECT '/CN=%s'", user, user))
	t.Cleanup(func() { sb.DB.Exec(fmt.Sprintf("DROP USER '%s'@'127.0.0.1'", user)) })
	sb.Exec(t, fmt.Sprintf("GRANT ALL PRIVILEGES ON *.* TO '%s'@'127.0.0.1'", user))

	dir := t.TempDir()
	ca := loadTestCA(t, caFile, caKey)
	cert, key := ca.issueClient(t, dir, user)
	wrongCert, wrongKey := ca.issueClient(t, dir, user+"_other")
	base := []string{"migrate", "--database", sb.Database, "--table", "t", "--alter", "MODIFY i32 BIGINT NULL",
		"--force-copy", "--chunk-time", "50ms", "--output", "json"}
	cnf := func(name, extra string) string {
		return writeFile(t, dir, name, fmt.Sprintf("[client]\nhost = %s\nport = %d\nuser = %s\npassword = x509-pw\n[godwit]\n%s",
			sb.Host, sb.Port, user, extra))
	}
	for _, tc := range []struct{ name, extra string }{
		{"no certificate", "ssl-mode = REQUIRED\n"},
		{"a certificate of another subject", fmt.Sprintf("ssl-mode = REQUIRED\nssl-cert = %s\nssl-key = %s\n", wrongCert, wrongKey)},
	} {
		res := runGodwit(t, nil, append(base, "--defaults-file", cnf("bad.cnf", tc.extra))...)
		if res.code != exitFailed || !strings.Contains(res.stderr, "Access denied") {
			t.Fatalf("%s: exit %d, want %d and access denied; stderr:\n%s", tc.name, res.code, exitFailed, res.stderr)
		}
	}
	if got := sb.Tables(t); !slices.Equal(got, []string{"t"}) {
		t.Fatalf("tables after the refused connections: %v, want only t", got)
	}
	good := cnf("good.cnf", fmt.Sprintf("ssl-mode = VERIFY_IDENTITY\nssl-ca = %s\nssl-cert = %s\nssl-key = %s\n", caFile, cert, key))
	res := migrateUnderWriters(t, ctx, sb.DB, model, nil, append(base, "--defaults-file", good)...)
	if res.code != exitOK {
		t.Fatalf("with the client certificate: exit %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
}

// TestMigratePreferredWithoutTLS: on a server that offers no TLS,
// --ssl-mode REQUIRED is refused with a hint and PREFERRED migrates under
// writers in the clear, its binlog stream included (which go-mysql cannot
// fall back to by itself).
//
// Only MySQL can stop serving TLS at runtime (MariaDB reads its
// certificates at startup, and the sandbox gives it one); the change is
// global: not parallel, and undone at the end.
func TestMigratePreferredWithoutTLS(t *testing.T) {
	sb := sandboxtest.New(t)
	if !sb.IsMySQL() {
		t.Skip("MariaDB cannot stop serving TLS at runtime; the fallback is the same code on every flavor")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := workload.Create(ctx, sb.DB, "t"); err != nil {
		t.Fatal(err)
	}
	model, err := workload.Load(ctx, sb.DB, "t", 20_000, 9)
	if err != nil {
		t.Fatal(err)
	}
	var cert string
	if err := sb.DB.QueryRow("SELECT @@GLOBAL.ssl_cert").Scan(&cert); err != nil {
		t.Fatal(err)
	}
	// A certificate that cannot be read leaves the server without TLS.
	sb.Exec(t, "SET GLOBAL ssl_cert = '/nonexistent/cert.pem'")
	sb.Exec(t, "ALTER INSTANCE RELOAD TLS NO ROLLBACK ON ERROR")
	t.Cleanup(func() {
		if _, err := sb.DB.Exec("SET GLOBAL ssl_cert = ?", cert); err != nil {
			t.Errorf("restore ssl_cert: %v", err)
		}
		if _, err := sb.DB.Exec("ALTER INSTANCE RELOAD TLS"); err != nil {
			t.Errorf("restore TLS: %v", err)
		}
	})
	probe, err := sql.Open("mysql", sb.DSN("")+"&tls=skip-verify")
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	if err := probe.Ping(); err == nil {
		t.Fatal("the server still offers TLS")
	}

	args := func(mode string) []string {
		return append(connArgs(sb), "--alter", "MODIFY i32 BIGINT NULL", "--force-copy", "--chunk-time", "50ms",
			"--ssl-mode", mode, "--output", "json")
	}
	res := runGodwit(t, pwdEnv(sb), args("REQUIRED")...)
	if res.code != exitFailed || !strings.Contains(res.stderr, "the server offers no TLS: use --ssl-mode PREFERRED") {
		t.Fatalf("--ssl-mode REQUIRED: exit %d, want %d with a hint to use PREFERRED; stderr:\n%s", res.code, exitFailed, res.stderr)
	}
	if got := sb.Tables(t); !slices.Equal(got, []string{"t"}) {
		t.Fatalf("tables after the refused connection: %v, want only t", got)
	}
	transports := watchSessions(ctx, sb.DB, "SELECT CONNECTION_TYPE FROM performance_schema.threads"+
		" WHERE PROCESSLIST_USER = ? AND PROCESSLIST_COMMAND LIKE 'Binlog Dump%'", sb.User)
	res = migrateUnderWriters(t, ctx, sb.DB, model, pwdEnv(sb), args("PREFERRED")...)
	seen := transports()
	if res.code != exitOK {
		t.Fatalf("--ssl-mode PREFERRED: exit %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
	if len(seen) == 0 || slices.ContainsFunc(seen, func(s string) bool { return s != "TCP/IP" }) {
		t.Fatalf("the binlog stream's transports: %v, want TCP/IP (in the clear) only", seen)
	}
	t.Logf("%d samples of performance_schema.threads show the binlog stream in the clear (TCP/IP)", len(seen))
}
