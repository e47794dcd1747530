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
// the position means nothing), restarts it no later than the boundary's
// position would: every key a restart at the position reads arrives, and
// none from before the boundary's last transaction.
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

	// From the GTID set alone, and from the boundary's position: the set
	// must never skip what the position reads. Other tests write to the
	// same server meanwhile, so the boundary may lie past transaction 3
	// (then neither reads it again) or within reach of it (both do).
	keysFrom := func(at Point) ([]int64, *Stream) {
		t.Helper()
		changes := NewChanges()
		s, err := StartStream(t.Context(), StreamConfig{
			Conn: connConfig(sb), Flavor: flavor(sb), Schema: sb.Database, Table: "t", Key: p.Key,
		}, at, changes)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		caughtUp(s)
		var ids []int64
		for _, k := range changes.Take() {
			ids = append(ids, k[0].(int64))
		}
		slices.Sort(ids)
		return ids, s
	}
	ids, second := keysFrom(Point{GTID: at.GTID})
	byPos, _ := keysFrom(Point{Position: at.Position})
	for _, id := range byPos {
		if !slices.Contains(ids, id) {
			t.Fatalf("a stream started at the GTID set %q recorded keys %v; one started at the position %v recorded %v: the set skips key %d", at.GTID, ids, at.Position, byPos, id)
		}
	}
	if !slices.Equal(ids, []int64{3, 4, 5}) && !slices.Equal(ids, []int64{4, 5}) {
		t.Fatalf("a stream started at the GTID set %q recorded keys %v, want [4 5], or [3 4 5] when the boundary is within transaction 3's reach", at.GTID, ids)
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
