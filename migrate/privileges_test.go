package migrate_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/migrate"
)

// TestPreflightPrivileges gives a user every privilege a migration with
// --replica needs but one, in turn: each run is refused in its preflight
// with the missing privilege named, and leaves nothing behind (no shadow,
// no checkpoint, no heartbeat table). With all of them the same migration
// runs to its swap: the list is what a run needs, no less.
func TestPreflightPrivileges(t *testing.T) {
	sb := sandboxtest.New(t)
	sb.Exec(t, "CREATE TABLE t (id INT NOT NULL PRIMARY KEY, a VARCHAR(20))")
	sb.Exec(t, "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')")
	schema := []string{"SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "LOCK TABLES"}
	global := []string{"REPLICATION SLAVE", "REPLICATION CLIENT", "PROCESS"}
	// The replica's status: MariaDB 10.5 moved it from REPLICATION CLIENT
	// to REPLICA MONITOR. Only the replica lag probe reads it.
	replicaStatus := "REPLICATION CLIENT"
	if !sb.IsMySQL() {
		global = append(global, "REPLICA MONITOR")
		replicaStatus = "REPLICA MONITOR"
	}
	type testCase struct {
		name, without, throttleQuery string
		want                         []string // in the refusal; none: the run must swap
	}
	var cases []testCase
	for _, p := range append(slices.Clone(schema), global...) {
		want := []string{p}
		if p == replicaStatus && !sb.IsMySQL() {
			// Refused by the replica lag probe, in the server's words,
			// which use the privilege's other name.
			want = []string{"throttle probe replica", "SLAVE MONITOR"}
		}
		cases = append(cases, testCase{name: "without " + p, without: p, want: want})
	}
	cases = append(cases,
		testCase{name: "bad throttle query", throttleQuery: "SELECT no_such_column FROM t", want: []string{"throttle query", "no_such_column"}},
		testCase{name: "all of them"})

	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			user := fmt.Sprintf("gw_priv_%d_%d", i, rand.Uint32()%1_000_000)
			sb.Exec(t, fmt.Sprintf("CREATE USER '%s'@'127.0.0.1' IDENTIFIED BY 'pw'", user))
			t.Cleanup(func() { sb.DB.Exec(fmt.Sprintf("DROP USER '%s'@'127.0.0.1'", user)) })
			grant := func(privs []string, on string) {
				privs = slices.DeleteFunc(slices.Clone(privs), func(p string) bool { return p == c.without })
				if len(privs) > 0 {
					sb.Exec(t, fmt.Sprintf("GRANT %s ON %s TO '%s'@'127.0.0.1'", strings.Join(privs, ", "), on, user))
				}
			}
			grant(schema, mysqlx.Q(sb.Database)+".*")
			grant(global, "*.*")
			sb.WaitReplica(t) // the user exists on the replica too

			opt := options(sb, "t", "MODIFY a VARCHAR(30)")
			opt.Conn.User, opt.Conn.Password = user, "pw"
			replica := opt.Conn
			replica.Port = sb.ReplicaPort
			opt.Replicas = []mysqlx.Config{replica}
			opt.Throttle.Query = c.throttleQuery
			sum, err := migrate.Run(context.Background(), opt)
			got := strings.Join(tables(t, sb), ",")
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("with every privilege: %v", err)
				}
				if got != "_t_old,t" || !sum.Swapped {
					t.Fatalf("with every privilege: swapped %v, tables %s, want _t_old,t", sum.Swapped, got)
				}
				return
			}
			if !migrate.IsRefusal(err) {
				t.Fatalf("got %v, want a refusal", err)
			}
			t.Logf("refusal: %v", err)
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the refusal does not name %s: %v", w, err)
				}
			}
			if got != "t" {
				t.Fatalf("tables after the refusal: %s, want only t", got)
			}
			if _, ok := sum.Phases[migrate.PhaseSetup]; ok {
				t.Fatalf("phases %v: the run reached its setup before the refusal", sum.Phases)
			}
		})
	}
}
