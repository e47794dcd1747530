package migrate_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/migrate"
)

// TestCutoverStallBehindLongTransaction: a transaction that keeps the
// table's metadata lock (an uncommitted UPDATE of one row) makes every
// cut-over attempt wait for its lock. The application queues behind a
// waiting LOCK TABLES, so each attempt stalls the writers; godwit must
// give up each attempt within its budget (--cutover-lock-timeout), back
// off, retry, say why, and swap once the transaction ends. It ends half
// way through an attempt's wait, the hardest case for the budget: that
// attempt gets the lock late and must still finish, or give up, in time.
// The writers time every statement; none may stall much longer than the
// budget.
func TestCutoverStallBehindLongTransaction(t *testing.T) {
	const (
		rows         = 20_000
		budget       = time.Second
		failAttempts = 3                              // the transaction ends during the next attempt
		maxStall     = budget + 1500*time.Millisecond // the budget plus scheduling and the attempt's own statements
	)
	sb := sandboxtest.New(t)
	ctx := t.Context()
	smallTable(t, sb, rows)
	var sumBefore int64
	if err := sb.DB.QueryRowContext(ctx, "SELECT SUM(b) FROM t").Scan(&sumBefore); err != nil {
		t.Fatal(err)
	}

	// The transaction opens once the copy and the checksum are done (their
	// snapshots would wait behind it first); until then the cut-over is
	// postponed.
	hold := filepath.Join(t.TempDir(), "hold")
	if err := os.WriteFile(hold, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	longConn, err := sb.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer longConn.Close()
	var tx *sql.Tx
	defer func() {
		if tx != nil {
			tx.Rollback()
		}
	}()

	w := startStallWriters(t, sb.DB, 4, rows)
	defer w.stop()

	var logBuf stallLogBuffer
	opt := options(sb, "t", "ADD COLUMN c INT")
	opt.CutoverLockTimeout = budget
	opt.CutoverRetries = 10
	opt.PostponeCutoverFile = hold
	opt.Log = slog.New(slog.NewJSONHandler(&logBuf, nil))
	var (
		cutoverStart time.Time
		failures     []string
		failedAt     []time.Time
		released     = make(chan error, 1)
		releasedAt   time.Time // set before released is sent, read after
	)
	opt.Report = func(e migrate.Event) {
		switch {
		case tx == nil && strings.Contains(e.Message, "postponed while"):
			if tx, err = longConn.BeginTx(ctx, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := tx.ExecContext(ctx, "UPDATE t SET b = b + 1 WHERE id = 1"); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(hold); err != nil {
				t.Fatal(err)
			}
		case e.Phase == migrate.PhaseCutover && e.Message == "phase cut-over":
			cutoverStart = e.Time
		case e.Phase == migrate.PhaseCutover && strings.Contains(e.Message, "failed"):
			failures = append(failures, e.Message)
			failedAt = append(failedAt, e.Time)
			if len(failures) == failAttempts {
				long := tx
				tx = nil
				go func() {
					at, err := commitDuringLockWait(ctx, sb, long, budget/2)
					releasedAt = at
					released <- err
				}()
			}
		}
	}
	sum, err := migrate.Run(ctx, opt)
	cutoverEnd := time.Now()
	time.Sleep(200 * time.Millisecond) // the writers go on after the swap
	writes, updates, werr := w.stop()
	if err != nil {
		t.Fatalf("migration: %v\nlog:\n%s", err, logBuf.String())
	}
	if werr != nil {
		t.Fatalf("writers: %v", werr)
	}
	if len(failures) < failAttempts {
		t.Fatalf("the cut-over failed %d times, want at least %d: the transaction did not hold it up", len(failures), failAttempts)
	}
	if err := <-released; err != nil {
		t.Fatalf("end the transaction during an attempt: %v", err)
	}
	t.Logf("the transaction ended %v after the cut-over began, %v into attempt %d's lock wait",
		releasedAt.Sub(cutoverStart).Round(time.Millisecond), budget/2, failAttempts+1)

	// godwit retried, and said why each attempt failed.
	t.Logf("summary: swapped %v, %d attempts, stall of the successful attempt %v, longest hold of any attempt %v",
		sum.Swapped, sum.CutoverAttempts, sum.CutoverStall, sum.CutoverStallMax)
	for i, f := range failures {
		t.Logf("  %s after the cut-over began: %s", failedAt[i].Sub(cutoverStart).Round(time.Millisecond), f)
	}
	// The attempt the transaction ended in normally swaps with the half
	// budget it has left; on a slow machine it may give up, and the next
	// one swaps.
	if !sum.Swapped || sum.CutoverAttempts < failAttempts+1 || sum.CutoverAttempts > failAttempts+2 {
		t.Errorf("swapped %v after %d attempts, want a swap at attempt %d or %d", sum.Swapped, sum.CutoverAttempts, failAttempts+1, failAttempts+2)
	}
	for _, f := range failures[:failAttempts] {
		if !strings.Contains(f, "a long transaction may hold the table") || !strings.Contains(f, "Lock wait timeout exceeded") {
			t.Errorf("failed attempt reported as %q: it does not say that the table's lock could not be had in time", f)
		}
	}
	if n := strings.Count(logBuf.String(), "cut-over attempt failed; the original table is intact, retrying"); n != len(failures) {
		t.Errorf("the log has %d retry warnings, want %d:\n%s", n, len(failures), logBuf.String())
	}
	if sum.CutoverStallMax > maxStall {
		t.Errorf("an attempt held the writes back for %v by its own measure, budget %v", sum.CutoverStallMax, budget)
	}

	// The writers' view: no statement during the cut-over waited much
	// longer than the budget, though some did wait (else the test proves
	// nothing).
	var during []stallWrite
	for _, wr := range writes {
		if wr.start.Before(cutoverEnd) && wr.start.Add(wr.took).After(cutoverStart) {
			during = append(during, wr)
		}
	}
	slices.SortFunc(during, func(a, b stallWrite) int { return int(b.took - a.took) })
	if len(during) == 0 {
		t.Fatal("no write overlapped the cut-over")
	}
	var overall time.Duration
	for _, wr := range writes {
		overall = max(overall, wr.took)
	}
	t.Logf("writers: %d statements, %d during the cut-over (%v); max latency during it %v, over the whole run %v; budget %v, limit %v",
		len(writes), len(during), cutoverEnd.Sub(cutoverStart).Round(time.Millisecond), during[0].took.Round(time.Millisecond),
		overall.Round(time.Millisecond), budget, maxStall)
	for _, wr := range during[:min(8, len(during))] {
		t.Logf("  a write began %v after the cut-over began and took %v", wr.start.Sub(cutoverStart).Round(time.Millisecond), wr.took.Round(time.Millisecond))
	}
	if during[0].took > maxStall {
		t.Errorf("a write stalled %v during the cut-over, budget %v (limit %v)", during[0].took, budget, maxStall)
	}
	if during[0].took < budget/2 {
		t.Errorf("the longest write during the cut-over took %v: the writers never queued behind a waiting attempt, so the stall was not measured", during[0].took)
	}

	// Nothing the writers or the transaction committed was lost.
	var sumAfter int64
	var inserted int
	if err := sb.DB.QueryRowContext(ctx, "SELECT SUM(b), SUM(a = 'stall') FROM t").Scan(&sumAfter, &inserted); err != nil {
		t.Fatal(err)
	}
	wantInserted := 0
	for _, wr := range writes {
		if wr.insert {
			wantInserted++
		}
	}
	if sumAfter != sumBefore+updates+1 || inserted != wantInserted {
		t.Errorf("after the swap: SUM(b) %d, want %d (+%d updates, +1 by the transaction); %d inserted rows, want %d",
			sumAfter, sumBefore+updates+1, updates, inserted, wantInserted)
	}
	if got := strings.Join(tables(t, sb), ","); got != "_t_old,t" {
		t.Errorf("tables %s, want _t_old,t", got)
	}
}

// commitDuringLockWait waits until a cut-over attempt's LOCK TABLES on t
// waits for the table's metadata lock, lets it wait for after, then commits
// tx, and says when.
func commitDuringLockWait(ctx context.Context, sb *sandboxtest.Sandbox, tx *sql.Tx, after time.Duration) (time.Time, error) {
	// Other tests' migrations may wait too: only this database's table counts.
	like := "%LOCK TABLES " + mysqlx.QT(sb.Database, "t") + " WRITE%"
	deadline := time.Now().Add(time.Minute)
	for {
		var n int
		err := sb.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+sb.Processlist()+" WHERE INFO LIKE ? AND STATE LIKE '%metadata lock%'", like).Scan(&n)
		if err != nil {
			tx.Rollback()
			return time.Time{}, err
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			tx.Rollback()
			return time.Time{}, fmt.Errorf("no cut-over attempt waited for the lock within a minute")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(after)
	return time.Now(), tx.Commit()
}

// stallWrite is one statement of a writer: when it began and how long it
// took, as the application saw it.
type stallWrite struct {
	start  time.Time
	took   time.Duration
	insert bool
}

type stallWriters struct {
	mu      sync.Mutex
	writes  []stallWrite
	updates int64
	errs    []error
	quit    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once
}

// startStallWriters starts n writers, each on its own connection, that
// update b of its own rows (never row 1, which the test's transaction
// holds) and insert new rows, a statement every 10 ms, timing each. Their
// lock waits are long, so a stall shows as latency, not as an error.
func startStallWriters(t *testing.T, db *sql.DB, n, rows int) *stallWriters {
	t.Helper()
	w := &stallWriters{quit: make(chan struct{})}
	for i := range n {
		conn, err := db.Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.ExecContext(t.Context(), "SET SESSION lock_wait_timeout = 60, innodb_lock_wait_timeout = 60"); err != nil {
			t.Fatal(err)
		}
		w.wg.Go(func() {
			defer conn.Close()
			r := rand.New(rand.NewPCG(uint64(i), 42))
			next := 1_000_000 + i
			for {
				select {
				case <-w.quit:
					return
				case <-time.After(10 * time.Millisecond):
				}
				var q string
				var args []any
				insert := r.IntN(4) == 0
				if insert {
					q, args = "INSERT INTO t (id, a, b) VALUES (?, 'stall', 0)", []any{next}
					next += n
				} else {
					id := 2 + i + n*r.IntN((rows-2-i)/n) // the writer's own rows, never row 1
					q, args = "UPDATE t SET b = b + 1 WHERE id = ?", []any{id}
				}
				start := time.Now()
				res, err := conn.ExecContext(context.Background(), q, args...)
				took := time.Since(start)
				if err == nil {
					var affected int64
					if affected, err = res.RowsAffected(); err == nil && affected != 1 {
						err = fmt.Errorf("affected %d rows", affected)
					}
				}
				w.mu.Lock()
				if err != nil {
					w.errs = append(w.errs, fmt.Errorf("writer %d: %s %v: %w", i, q, args, err))
				} else {
					w.writes = append(w.writes, stallWrite{start: start, took: took, insert: insert})
					if !insert {
						w.updates++
					}
				}
				w.mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	return w
}

// stop stops the writers and returns what they did.
func (w *stallWriters) stop() ([]stallWrite, int64, error) {
	w.once.Do(func() { close(w.quit) })
	w.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.errs) > 0 {
		return w.writes, w.updates, w.errs[0]
	}
	return w.writes, w.updates, nil
}

// stallLogBuffer is a log destination for a handler written from several
// goroutines.
type stallLogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *stallLogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *stallLogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
