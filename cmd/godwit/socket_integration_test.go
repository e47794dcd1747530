package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/internal/workload"
)

// TestMigrateOverSocket: a user that exists only @localhost, which the
// server lets in only through its unix socket, migrates under writers with
// --socket, then with the socket of a --defaults-file. Any session over
// TCP, the binlog stream's included, would be refused; the server's
// processlist shows the stream's session coming from localhost.
func TestMigrateOverSocket(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.New(t)
	sock := os.Getenv("GODWIT_TEST_SOCKET")
	if sock == "" {
		t.Fatal("GODWIT_TEST_SOCKET is not set: source the sandbox's env file")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := workload.Create(ctx, sb.DB, "t"); err != nil {
		t.Fatal(err)
	}
	model, err := workload.Load(ctx, sb.DB, "t", 20_000, 8)
	if err != nil {
		t.Fatal(err)
	}
	user := fmt.Sprintf("gw_sock_%d", time.Now().UnixNano()%1_000_000)
	sb.Exec(t, fmt.Sprintf("CREATE USER '%s'@'localhost' IDENTIFIED BY 'sock-pw'", user))
	t.Cleanup(func() { sb.DB.Exec(fmt.Sprintf("DROP USER '%s'@'localhost'", user)) })
	sb.Exec(t, fmt.Sprintf("GRANT ALL PRIVILEGES ON *.* TO '%s'@'localhost'", user))

	cnf := writeFile(t, t.TempDir(), "my.cnf", fmt.Sprintf("[client]\nhost = localhost\nsocket = %s\nuser = %s\npassword = sock-pw\n", sock, user))
	for _, tc := range []struct {
		name string
		args []string
		env  []string
		// transport is the binlog stream's CONNECTION_TYPE on MySQL:
		// PREFERRED stays in the clear over a socket, as the mysql
		// client does, REQUIRED encrypts even there.
		transport string
	}{
		{"--socket", []string{"--socket", sock, "--user", user}, []string{"MYSQL_PWD=sock-pw"}, "Socket"},
		{"socket of the defaults file", []string{"--defaults-file", cnf}, nil, "Socket"},
		{"--socket and PREFERRED", []string{"--defaults-file", cnf, "--ssl-mode", "PREFERRED"}, nil, "Socket"},
		{"--socket and REQUIRED", []string{"--defaults-file", cnf, "--ssl-mode", "REQUIRED"}, nil, "SSL/TLS"},
	} {
		args := append([]string{"migrate", "--database", sb.Database, "--table", "t", "--alter", "MODIFY i32 BIGINT NULL",
			"--force-copy", "--chunk-time", "50ms", "--output", "json"}, tc.args...)
		hosts := watchSessions(ctx, sb.DB, "SELECT HOST FROM "+sb.Processlist()+" WHERE USER = ? AND COMMAND LIKE 'Binlog Dump%'", user)
		var transports func() []string
		if sb.IsMySQL() {
			transports = watchSessions(ctx, sb.DB, "SELECT CONNECTION_TYPE FROM performance_schema.threads"+
				" WHERE PROCESSLIST_USER = ? AND PROCESSLIST_COMMAND LIKE 'Binlog Dump%'", user)
		}
		res := migrateUnderWriters(t, ctx, sb.DB, model, tc.env, args...)
		seen := hosts()
		if res.code != exitOK {
			t.Fatalf("%s: exit %d, want 0; stderr:\n%s", tc.name, res.code, res.stderr)
		}
		if transports != nil {
			types := transports()
			if len(types) == 0 || slices.ContainsFunc(types, func(s string) bool { return s != tc.transport }) {
				t.Fatalf("%s: the binlog stream's transports: %v, want %s only", tc.name, types, tc.transport)
			}
			t.Logf("%s: %d samples of performance_schema.threads show the binlog stream over %s", tc.name, len(types), tc.transport)
		}
		if len(seen) == 0 {
			t.Fatalf("%s: the processlist never showed godwit's binlog stream", tc.name)
		}
		for _, h := range seen {
			if h != "localhost" {
				t.Fatalf("%s: godwit's binlog stream came from %q, want localhost (the socket)", tc.name, h)
			}
		}
		t.Logf("%s: %d samples of the processlist show the binlog stream's session, all from localhost", tc.name, len(seen))
		sb.Exec(t, "DROP TABLE _t_old")
	}
}

// watchSessions runs query, which lists one string a session, every 50 ms
// until the returned function is called, which returns all it listed.
func watchSessions(ctx context.Context, db *sql.DB, query string, args ...any) func() []string {
	ctx, cancel := context.WithCancel(ctx)
	var mu sync.Mutex
	var seen []string
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			rows, err := db.QueryContext(ctx, query, args...)
			if err == nil {
				for rows.Next() {
					var v string
					if rows.Scan(&v) == nil {
						mu.Lock()
						seen = append(seen, v)
						mu.Unlock()
					}
				}
				rows.Close()
			}
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return func() []string {
		cancel()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return seen
	}
}
