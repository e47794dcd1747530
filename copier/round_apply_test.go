package copier

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/sandboxtest"
)

// TestApplyWhileRoundsCopy copies a table keyed by BIGINT UNSIGNED (values
// from the binlog arrive as int64, the watermark as uint64) while a writer
// inserts, updates, deletes and moves keys across the whole key space, and
// changes are applied every millisecond while rounds copy: some must be,
// and after catch-up the shadow must equal the source row for row.
func TestApplyWhileRoundsCopy(t *testing.T) {
	sb := sandboxtest.New(t)
	sb.Exec(t, "CREATE TABLE src (id BIGINT UNSIGNED NOT NULL PRIMARY KEY, v VARCHAR(40) NOT NULL, n INT NOT NULL DEFAULT 0)")
	sb.Exec(t, "CREATE TABLE `_src_new` LIKE src")
	// Keys spread over the unsigned range, above 2^63 too.
	sb.Exec(t, "INSERT INTO src (id, v) SELECT seq * 3074457345618258, CONCAT('row ', seq) FROM seq_1_to_6000")
	const space = 6000 * 3074457345618258

	db := openGodwit(t, sb)
	p := planFor(t, sb, "src", "_src_new", "PRIMARY")
	changes := NewChanges()
	stream := startStream(t, sb, db, p, changes)

	stop := make(chan struct{})
	var written atomic.Int64
	var writerErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		w := rand.New(rand.NewPCG(rand.Uint64(), 3))
		key := func() uint64 { return w.Uint64N(space) }
		for {
			select {
			case <-stop:
				return
			default:
			}
			var err error
			switch w.IntN(4) {
			case 0:
				_, err = sb.DB.Exec("INSERT IGNORE INTO src (id, v) VALUES (?, 'new')", key())
			case 1:
				_, err = sb.DB.Exec("UPDATE src SET v = CONCAT('upd ', n), n = n + 1 WHERE id >= ? ORDER BY id LIMIT 1", key())
			case 2:
				_, err = sb.DB.Exec("DELETE FROM src WHERE id >= ? ORDER BY id LIMIT 1", key())
			case 3:
				_, err = sb.DB.Exec("UPDATE IGNORE src SET id = ? WHERE id >= ? ORDER BY id LIMIT 1", key(), key())
			}
			if code := mysqlx.ErrCode(err); code == mysqlx.ErrDeadlock || code == mysqlx.ErrLockWaitTimeout {
				continue
			}
			if err != nil {
				writerErr = fmt.Errorf("writer: %w", err)
				return
			}
			written.Add(1)
		}
	})

	c := &Copier{DB: db, Plan: p, Changes: changes, ChunkTime: 20 * time.Millisecond, MinChunk: 1, MaxChunk: 200, Threads: 2,
		ApplyDuring: time.Millisecond}
	c.defaults()
	c.progress.ChunkSize = 100
	err := c.Run(t.Context())
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("copy: %v", err)
	}
	if writerErr != nil {
		t.Fatal(writerErr)
	}
	catchUp(t, db, stream, c)
	pr := c.Progress()
	t.Logf("copied %d rows in %d chunks; applied %d, %d of them while rounds copied; %d writes", pr.RowsCopied, pr.Chunks, pr.RowsApplied, pr.AppliedWhileCopying, written.Load())
	if pr.AppliedWhileCopying == 0 {
		t.Errorf("no change was applied while a round copied (progress %+v)", pr)
	}
	sameRows(t, db, p)
}
