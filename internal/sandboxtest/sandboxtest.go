// Package sandboxtest connects integration tests to the local sandbox
// (testdata/sandbox/sandbox.sh): a primary and a replica of MariaDB or
// MySQL, whose settings arrive in GODWIT_TEST_* environment variables.
//
// Each test gets a database of its own on the primary, dropped when the
// test ends, so tests of different packages can share one sandbox.
//
//	func TestCopy(t *testing.T) {
//		sb := sandboxtest.New(t)
//		sb.Exec(t, "CREATE TABLE t (id INT PRIMARY KEY)")
//		...
//	}
package sandboxtest

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Environment variables written to .sandbox/env by the sandbox script.
const (
	EnvHost        = "GODWIT_TEST_HOST"
	EnvPort        = "GODWIT_TEST_PORT"
	EnvUser        = "GODWIT_TEST_USER"
	EnvPassword    = "GODWIT_TEST_PASSWORD"
	EnvReplicaPort = "GODWIT_TEST_REPLICA_PORT"
	EnvFlavor      = "GODWIT_TEST_FLAVOR"
)

// DefaultFlavor is the sandbox's server when EnvFlavor is not set: the
// host's own MariaDB.
const DefaultFlavor = "mariadb-10.11"

// Flavor names the sandbox's server, as the sandbox script does:
// mariadb-10.11, mariadb-11.8 or mysql-9.7. Tests that depend on the
// server's family rather than its version use Sandbox.IsMySQL, which asks
// the server.
func Flavor() string {
	if f := os.Getenv(EnvFlavor); f != "" {
		return f
	}
	return DefaultFlavor
}

const missingHint = "integration tests need the sandbox: run make test " +
	"(or make sandbox-start && . .sandbox/env)"

// replicaWait bounds WaitReplica.
const replicaWait = 30 * time.Second

// Sandbox is one test's view of the sandbox: a fresh database on the
// primary and the means to look at the replica.
type Sandbox struct {
	DB          *sql.DB // connected to Database on the primary
	Host        string
	Port        int
	User        string
	Password    string
	Database    string
	ReplicaPort int

	mysql bool // the server is MySQL, not MariaDB

	mu      sync.Mutex
	replica *sql.DB
}

// IsMySQL says whether the sandbox runs MySQL rather than MariaDB, as the
// server's VERSION() says.
func (s *Sandbox) IsMySQL() bool { return s.mysql }

// New connects to the sandbox and creates a database for the test; both
// go away at the end of the test. Without the sandbox the test is skipped,
// or fails when CI is true: in CI an integration test never silently skips.
func New(t testing.TB) *Sandbox {
	t.Helper()
	s, missing, err := fromEnv()
	if len(missing) > 0 {
		msg := fmt.Sprintf("%s (%s not set)", missingHint, strings.Join(missing, ", "))
		if inCI() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if err != nil {
		t.Fatalf("sandboxtest: %v", err)
	}

	admin := s.open(t, "")
	defer admin.Close()
	var version string
	if err := admin.QueryRow("SELECT VERSION()").Scan(&version); err != nil {
		t.Fatalf("sandboxtest: cannot reach the sandbox primary at %s: %v (is it running? make sandbox-start)",
			net.JoinHostPort(s.Host, strconv.Itoa(s.Port)), err)
	}
	s.mysql = !strings.Contains(version, "MariaDB")
	s.Database = dbName(t.Name())
	if _, err := admin.Exec("CREATE DATABASE " + quoteIdent(s.Database)); err != nil {
		t.Fatalf("sandboxtest: create database %s: %v", s.Database, err)
	}
	s.DB = s.open(t, s.Database)
	t.Cleanup(func() { s.cleanup(t) })
	return s
}

// DSN returns a go-sql-driver DSN for database on the primary ("" for
// none), with the session settings every test connection uses.
func (s *Sandbox) DSN(database string) string {
	return s.config(s.Port, database).FormatDSN()
}

// ReplicaDSN is DSN for the replica.
func (s *Sandbox) ReplicaDSN(database string) string {
	return s.config(s.ReplicaPort, database).FormatDSN()
}

// Replica returns a connection to the test's database on the replica. The
// first call waits for the replica to catch up, so that the database exists
// there; later calls return the same *sql.DB at once. It is closed at
// cleanup.
func (s *Sandbox) Replica(t testing.TB) *sql.DB {
	t.Helper()
	if s.ReplicaPort == 0 {
		t.Fatalf("sandboxtest: no replica configured (%s not set)", EnvReplicaPort)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.replica == nil {
		s.WaitReplica(t)
		db, err := sql.Open("mysql", s.ReplicaDSN(s.Database))
		if err != nil {
			t.Fatalf("sandboxtest: open replica: %v", err)
		}
		s.replica = db
	}
	return s.replica
}

// Exec runs query on the test's database and fails the test on error.
// MariaDB's sequence tables in it (seq_1_to_N) work on MySQL too (see
// Portable).
// Like t.Fatal, call it from the test's goroutine only.
func (s *Sandbox) Exec(t testing.TB, query string, args ...any) sql.Result {
	t.Helper()
	res, err := s.DB.Exec(Portable(query, s.mysql), args...)
	if err != nil {
		t.Fatalf("sandboxtest: %s: %v", query, err)
	}
	return res
}

// WaitReplica waits until the replica has applied everything the primary
// has written so far (all tests' writes, not only this one's). It fails the
// test after 30 s, or at once if the replica's SQL thread stopped on an
// error. The sandbox is shared by the tests of all packages: a test that
// stops replication must restart it before it ends.
func (s *Sandbox) WaitReplica(t testing.TB) {
	t.Helper()
	if err := s.waitReplica(replicaWait); err != nil {
		t.Fatalf("sandboxtest: %v", err)
	}
}

// How each family names a GTID position and waits for one: the wait
// returns 0 once the replica has applied pos, else 1 on MySQL, -1 on MariaDB.
type gtidQueries struct{ primaryPos, wait, replicaPos string }

var (
	mariadbGTID = gtidQueries{"SELECT @@gtid_binlog_pos", "SELECT MASTER_GTID_WAIT(?, 1)", "SELECT @@gtid_slave_pos"}
	mysqlGTID   = gtidQueries{"SELECT @@GLOBAL.gtid_executed", "SELECT WAIT_FOR_EXECUTED_GTID_SET(?, 1)", "SELECT @@GLOBAL.gtid_executed"}
)

func (s *Sandbox) waitReplica(limit time.Duration) error {
	q := mariadbGTID
	if s.mysql {
		q = mysqlGTID
	}
	var pos string
	if err := s.DB.QueryRow(q.primaryPos).Scan(&pos); err != nil {
		return fmt.Errorf("read the primary's GTID position (%s): %w", q.primaryPos, err)
	}
	// Not s.Replica: the test's database may not exist there yet.
	replica, err := sql.Open("mysql", s.ReplicaDSN(""))
	if err != nil {
		return err
	}
	defer replica.Close()
	replica.SetMaxOpenConns(1)

	deadline := time.Now().Add(limit)
	for {
		// A second at a time, to notice broken replication early.
		var res sql.NullInt64
		if err := replica.QueryRow(q.wait, pos).Scan(&res); err != nil {
			return fmt.Errorf("wait for the replica to reach %s: %w", pos, err)
		}
		if res.Valid && res.Int64 == 0 {
			return nil
		}
		// Stopped threads may be another test's doing, undone soon; an
		// SQL thread error stays until someone repairs it.
		state, broken := replicationState(replica, s.mysql)
		if broken || time.Now().After(deadline) {
			var at string
			_ = replica.QueryRow(q.replicaPos).Scan(&at)
			why := "did not reach it within " + limit.String()
			if broken {
				why = "cannot reach it: replication is broken"
			}
			return fmt.Errorf("replica at GTID %q, primary at %q: the replica %s: %s", at, pos, why, state)
		}
	}
}

// replicationState describes the replica's threads and errors; broken
// means the SQL thread stopped on an error. MySQL has dropped SHOW SLAVE
// STATUS and names the fields Replica_*; MariaDB's SHOW REPLICA STATUS
// still says Slave_*.
func replicationState(db *sql.DB, mysql bool) (state string, broken bool) {
	stmt, thread := "SHOW SLAVE STATUS", "Slave"
	if mysql {
		stmt, thread = "SHOW REPLICA STATUS", "Replica"
	}
	rows, err := db.Query(stmt)
	if err != nil {
		return stmt + ": " + err.Error(), false
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err.Error(), false
	}
	if !rows.Next() {
		return "replication is not configured (" + stmt + " is empty)", true
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return err.Error(), false
	}
	st := map[string]string{}
	for i, c := range cols {
		st[c] = vals[i].String
	}
	io, sqlThread := thread+"_IO_Running", thread+"_SQL_Running"
	return fmt.Sprintf("%s=%s %s=%s Last_IO_Error=%q Last_SQL_Error=%q",
			io, st[io], sqlThread, st[sqlThread], st["Last_IO_Error"], st["Last_SQL_Error"]),
		st[sqlThread] != "Yes" && st["Last_SQL_Error"] != ""
}

func (s *Sandbox) cleanup(t testing.TB) {
	s.mu.Lock()
	if s.replica != nil {
		s.replica.Close()
	}
	s.mu.Unlock()
	s.DB.Close()

	admin := s.open(t, "")
	defer admin.Close()
	// A short lock wait: a lock leaked by the test must not hang the run.
	if _, err := admin.Exec("SET SESSION lock_wait_timeout = 30"); err != nil {
		t.Errorf("sandboxtest: cleanup: %v", err)
		return
	}
	if _, err := admin.Exec("DROP DATABASE IF EXISTS " + quoteIdent(s.Database)); err != nil {
		t.Errorf("sandboxtest: drop database %s (a connection of the test still holds a lock?): %v",
			s.Database, err)
	}
}

// open returns a pool on the primary, failing the test on a bad DSN.
func (s *Sandbox) open(t testing.TB, database string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", s.DSN(database))
	if err != nil {
		t.Fatalf("sandboxtest: open %s: %v", database, err)
	}
	return db
}

func (s *Sandbox) config(port int, database string) *mysql.Config {
	c := mysql.NewConfig()
	c.User = s.User
	c.Passwd = s.Password
	c.Net = "tcp"
	c.Addr = net.JoinHostPort(s.Host, strconv.Itoa(port))
	c.DBName = database
	c.ParseTime = false
	c.InterpolateParams = true
	c.MultiStatements = false
	c.Timeout = 10 * time.Second
	// Timestamps compare equal across sessions and with the binlog stream.
	c.Params = map[string]string{"time_zone": "'+00:00'"}
	return c
}

// fromEnv reads the GODWIT_TEST_* variables; missing lists the required
// ones that are not set.
func fromEnv() (s *Sandbox, missing []string, err error) {
	get := func(name string, required bool) string {
		v := os.Getenv(name)
		if v == "" && required {
			missing = append(missing, name)
		}
		return v
	}
	host, port := get(EnvHost, true), get(EnvPort, true)
	user, password := get(EnvUser, true), get(EnvPassword, false)
	replicaPort := get(EnvReplicaPort, false)
	if len(missing) > 0 {
		return nil, missing, nil
	}
	s = &Sandbox{Host: host, User: user, Password: password}
	if s.Port, err = strconv.Atoi(port); err != nil {
		return nil, nil, fmt.Errorf("%s=%q is not a port number", EnvPort, port)
	}
	if replicaPort != "" {
		if s.ReplicaPort, err = strconv.Atoi(replicaPort); err != nil {
			return nil, nil, fmt.Errorf("%s=%q is not a port number", EnvReplicaPort, replicaPort)
		}
	}
	return s, nil, nil
}

func inCI() bool {
	ci, err := strconv.ParseBool(os.Getenv("CI"))
	return err == nil && ci
}

// dbName makes a unique database name that says which test made it:
// gw_<test name>_<random>, within MariaDB's 64-character limit.
func dbName(testName string) string {
	var b strings.Builder
	underscore := false
	for _, r := range strings.ToLower(testName) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			underscore = false
		} else if !underscore {
			b.WriteByte('_')
			underscore = true
		}
	}
	suffix := fmt.Sprintf("_%08x", rand.Uint32())
	name := strings.Trim(b.String(), "_")
	if name == "" {
		name = "test"
	}
	if limit := 64 - len("gw_") - len(suffix); len(name) > limit {
		name = strings.TrimRight(name[:limit], "_")
	}
	return "gw_" + name + suffix
}

func quoteIdent(s string) string {
	return "`" + strings.ReplaceAll(s, "`", "``") + "`"
}

// Strings runs a query returning one column and fails the test on error.
func (s *Sandbox) Strings(t testing.TB, query string, args ...any) []string {
	t.Helper()
	rows, err := s.DB.Query(query, args...)
	if err != nil {
		t.Fatalf("sandboxtest: %s: %v", query, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v sql.NullString
		if err := rows.Scan(&v); err != nil {
			t.Fatalf("sandboxtest: %s: %v", query, err)
		}
		out = append(out, v.String)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("sandboxtest: %s: %v", query, err)
	}
	return out
}

// Tables lists the tables of the test's database in byte order, without
// _godwit_revert: every swap records its revert point there and the
// table stays by design, while the lists say what a run left of the
// tables it made for itself. A test of revert points reads it directly.
func (s *Sandbox) Tables(t testing.TB) []string {
	t.Helper()
	names := s.Strings(t, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME <> '_godwit_revert'", s.Database)
	slices.Sort(names)
	return names
}
