package throttle

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/sandboxtest"
)

// TestHeartbeatOldLayout: a heartbeat table left by an older godwit (one
// shared row, no tbl column) is refused by the preflight Check and by a
// beat, with the statement that clears it.
func TestHeartbeatOldLayout(t *testing.T) {
	sb := sandboxtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hb := NewHeartbeat(sb.DB, sb.Database, "t")
	if err := hb.Check(ctx); err != nil {
		t.Fatalf("Check without a table: %v", err)
	}
	sb.Exec(t, "CREATE TABLE "+HeartbeatTable+" (id INT PRIMARY KEY, ts DATETIME(6) NOT NULL)")
	for what, err := range map[string]error{"Check": hb.Check(ctx), "Beat": hb.Beat(ctx)} {
		if err == nil || !strings.Contains(err.Error(), "older godwit's layout") || !strings.Contains(err.Error(), "DROP TABLE") {
			t.Errorf("%s with an old heartbeat table: %v", what, err)
		}
	}
	sb.Exec(t, "DROP TABLE "+HeartbeatTable)
	if err := hb.Beat(ctx); err != nil {
		t.Fatalf("Beat once the old table is gone: %v", err)
	}
	if err := hb.Check(ctx); err != nil {
		t.Fatalf("Check of this version's table: %v", err)
	}
}
