package migrate_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/migrate"
	"github.com/godwit-db/godwit/throttle"
)

// TestAbortRemovesOnlyItsHeartbeatRow: killed migrations of t and u left
// their heartbeat rows. godwit abort of t removes t's row only, keeping
// the table for u; abort of u then removes the emptied table too.
func TestAbortRemovesOnlyItsHeartbeatRow(t *testing.T) {
	sb := sandboxtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, name := range []string{"t", "u"} {
		sb.Exec(t, "CREATE TABLE "+name+" (id INT PRIMARY KEY)")
		if err := throttle.NewHeartbeat(sb.DB, sb.Database, name).Beat(ctx); err != nil {
			t.Fatal(err)
		}
	}
	conn := options(sb, "t", "").Conn
	res, err := migrate.Abort(ctx, conn, "t", nil)
	if err != nil || !slices.Contains(res.Dropped, throttle.HeartbeatTable+" row of t") {
		t.Fatalf("abort t: %+v, %v", res, err)
	}
	if rows := sb.Strings(t, "SELECT tbl FROM "+throttle.HeartbeatTable); strings.Join(rows, ",") != "u" {
		t.Fatalf("heartbeat rows after abort of t: %v, want [u]", rows)
	}
	if _, err := migrate.Abort(ctx, conn, "u", nil); err != nil {
		t.Fatalf("abort u: %v", err)
	}
	if got := strings.Join(tables(t, sb), ","); got != "t,u" {
		t.Fatalf("tables after both aborts: %s (the emptied heartbeat table must be gone)", got)
	}
}
