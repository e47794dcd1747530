package copier

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/sandboxtest"
)

// TestCopyChunkTakesNoSourceLocks: while a chunk's INSERT ... SELECT is
// open, the application updates, deletes and inserts rows of its range
// without waiting. The copy reads in READ COMMITTED, a consistent read;
// under REPEATABLE READ the same statement would lock every row it read
// (the contrast case, which shows the check can tell).
func TestCopyChunkTakesNoSourceLocks(t *testing.T) {
	sb := sandboxtest.New(t)
	ctx := t.Context()
	sb.Exec(t, "CREATE TABLE src (id INT NOT NULL PRIMARY KEY, u INT NOT NULL, v VARCHAR(20), UNIQUE KEY (u))")
	var vals []string
	for id := 1; id <= 1000; id++ {
		vals = append(vals, fmt.Sprintf("(%d, %d, 'v0')", id, id))
	}
	sb.Exec(t, "INSERT INTO src VALUES "+strings.Join(vals, ","))
	sb.Exec(t, "CREATE TABLE _src_new LIKE src")
	db, p := openGodwit(t, sb), planFor(t, sb, "src", "_src_new", "PRIMARY")
	app, err := sb.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	if _, err := app.ExecContext(ctx, "SET SESSION innodb_lock_wait_timeout = 1"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		iso   sql.IsolationLevel
		locks bool
	}{{sql.LevelReadCommitted, false}, {sql.LevelRepeatableRead, true}} {
		sb.Exec(t, "DELETE FROM _src_new")
		tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: tc.iso})
		if err != nil {
			t.Fatal(err)
		}
		cond, args := p.where(Chunk{Lower: []any{int64(100)}, Upper: []any{int64(900)}})
		if _, err := tx.ExecContext(ctx, p.insertSelect()+" WHERE "+cond, args...); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		var waited []string
		for _, q := range []string{
			"UPDATE src SET v = 'app' WHERE id = 500",
			"UPDATE src SET u = -u WHERE id = 501",
			"DELETE FROM src WHERE id = 502",
		} {
			if _, err := app.ExecContext(ctx, q); mysqlx.ErrCode(err) == mysqlx.ErrLockWaitTimeout {
				waited = append(waited, q)
			} else if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		took := time.Since(start)
		tx.Rollback()
		t.Logf("%v: the application's 3 statements took %v, %d timed out on the copy's locks", tc.iso, took.Round(time.Millisecond), len(waited))
		if tc.locks && len(waited) == 0 {
			t.Errorf("%v: no statement waited on the copy: the check cannot tell a locking copy", tc.iso)
		}
		if !tc.locks && (len(waited) > 0 || took > 500*time.Millisecond) {
			t.Errorf("%v: the copy made the application wait %v (%q timed out)", tc.iso, took, waited)
		}
		// Back as it was, for the other case.
		sb.Exec(t, "UPDATE src SET v = 'v0', u = id WHERE id IN (500, 501)")
		sb.Exec(t, "INSERT IGNORE INTO src VALUES (502, 502, 'v0')")
	}
}
