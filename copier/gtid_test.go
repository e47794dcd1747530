package copier

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"

	"github.com/godwit-db/godwit/internal/sandboxtest"
)

// TestStreamResumesFromGTIDSet: the GTID set of a stream's boundary,
// given to a new stream without a position (as after a failover, where
// the position means nothing), restarts it at the boundary's transaction:
// the keys of that transaction and of every later one arrive, none of the
// earlier ones.
func TestStreamResumesFromGTIDSet(t *testing.T) {
	sb := sandboxtest.New(t)
	sb.Exec(t, "CREATE TABLE t (id INT NOT NULL PRIMARY KEY, v INT)")
	db := openGodwit(t, sb)
	p := planFor(t, sb, "t", "t", "PRIMARY")
	first := startStream(t, sb, db, p, NewChanges())
	caughtUp := func(s *Stream) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		pos, err := MasterPosition(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.WaitFor(ctx, pos); err != nil {
			t.Fatal(err)
		}
	}
	for id := 1; id <= 3; id++ {
		sb.Exec(t, "INSERT INTO t VALUES (?, 0)", id)
	}
	caughtUp(first)
	at := first.Boundary()
	if at.GTID == "" {
		t.Fatalf("boundary %+v carries no GTID set; the sandbox logs GTIDs", at)
	}
	if executed := serverGTIDs(t, sb); !executed.Contain(mustGTIDSet(t, sb, at.GTID)) {
		t.Fatalf("the boundary's GTID set %q is not within the server's %q", at.GTID, executed)
	}
	for id := 4; id <= 5; id++ {
		sb.Exec(t, "INSERT INTO t VALUES (?, 0)", id)
	}

	changes := NewChanges()
	second, err := StartStream(t.Context(), StreamConfig{
		Conn: connConfig(sb), Flavor: flavor(sb), Schema: sb.Database, Table: "t", Key: p.Key,
	}, Point{GTID: at.GTID}, changes)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	caughtUp(second)
	var ids []int64
	for _, k := range changes.Take() {
		ids = append(ids, k[0].(int64))
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []int64{3, 4, 5}) {
		t.Fatalf("a stream started at the GTID set %q recorded keys %v, want [3 4 5]: the boundary's transaction and the later ones", at.GTID, ids)
	}
	if b := second.Boundary(); b.Name == "" || b.GTID == "" {
		t.Fatalf("the restarted stream's boundary %+v lacks a position or a GTID set", b)
	}
}

// serverGTIDs is the set of transactions the server logged.
func serverGTIDs(t *testing.T, sb *sandboxtest.Sandbox) gomysql.GTIDSet {
	t.Helper()
	q := "SELECT @@GLOBAL.gtid_binlog_pos"
	if sb.IsMySQL() {
		q = "SELECT @@GLOBAL.gtid_executed"
	}
	var s string
	if err := sb.DB.QueryRow(q).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return mustGTIDSet(t, sb, strings.ReplaceAll(s, "\n", ""))
}

func mustGTIDSet(t *testing.T, sb *sandboxtest.Sandbox, s string) gomysql.GTIDSet {
	t.Helper()
	set, err := gomysql.ParseGTIDSet(flavor(sb), s)
	if err != nil {
		t.Fatal(err)
	}
	return set
}
