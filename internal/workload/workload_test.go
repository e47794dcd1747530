package workload

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/godwit-db/godwit/internal/sandboxtest"
)

// setup creates table t holding n loaded rows and returns its model.
func setup(t *testing.T, sb *sandboxtest.Sandbox, n int) *Model {
	return setupModel(t, sb, n, Load)
}

func setupModel(t *testing.T, sb *sandboxtest.Sandbox, n int, load func(context.Context, *sql.DB, string, int, int64) (*Model, error)) *Model {
	t.Helper()
	if err := Create(t.Context(), sb.DB, "t"); err != nil {
		t.Fatal(err)
	}
	m, err := load(t.Context(), sb.DB, "t", n, 1)
	if err != nil {
		t.Fatal(err)
	}
	if m.Len() != n {
		t.Fatalf("model has %d rows after loading %d", m.Len(), n)
	}
	return m
}

// write runs writers for d (with during, if any, run after d/3) and fails the
// test if a writer failed or a kind of statement never ran.
func write(t *testing.T, db *sql.DB, m *Model, o Options, d time.Duration, during func()) Stats {
	t.Helper()
	run := Start(t.Context(), db, "t", m, o)
	defer run.Stop() // if during fails the test
	time.Sleep(d / 3)
	if during != nil {
		during()
	}
	time.Sleep(d - d/3)
	st, err := run.Stop()
	t.Logf("writers: %v; model now %d rows", st, m.Len())
	if err != nil {
		t.Fatal(err)
	}
	if st.Inserts == 0 || st.Updates == 0 || st.Deletes == 0 || st.KeyUpdates == 0 {
		t.Fatalf("some kind of statement never ran: %v", st)
	}
	return st
}

// TestWritersMatchModel runs with both models: a lean one must catch the
// same differences as a full one, though it can show only the table's side.
func TestWritersMatchModel(t *testing.T) {
	for _, tc := range []struct {
		name string
		load func(context.Context, *sql.DB, string, int, int64) (*Model, error)
		want string // what a differing value's report shows of the model
	}{
		{"full", Load, "vc: want "},
		{"lean", LoadLean, "vc: want <hash "},
	} {
		t.Run(tc.name, func(t *testing.T) { writersMatchModel(t, tc.load, tc.want) })
	}
}

func writersMatchModel(t *testing.T, load func(context.Context, *sql.DB, string, int, int64) (*Model, error), wantModel string) {
	sb := sandboxtest.New(t)
	ctx := t.Context()
	m := setupModel(t, sb, 5000, load)
	write(t, sb.DB, m, Options{Writers: 4, Rate: 400, Seed: 2}, 3*time.Second, func() {
		if err := m.Compare(ctx, sb.DB, "t", Expect{}); err == nil {
			t.Error("Compare while the writers run: no error")
		}
		if _, err := Start(ctx, sb.DB, "t", m, Options{}).Stop(); err == nil {
			t.Error("a second Run on the same model: no error")
		}
	})
	if err := m.Compare(ctx, sb.DB, "t", Expect{}); err != nil {
		t.Fatalf("table differs after a clean run: %v", err)
	}

	// Change the table behind the model's back: Compare must say so.
	var ids []int64
	for id := range m.rows {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	changed, deleted, extra := ids[10], ids[20], m.maxID+1000
	sb.Exec(t, "UPDATE t SET vc = 'tampered' WHERE id = ?", changed)
	sb.Exec(t, "DELETE FROM t WHERE id = ?", deleted)
	sb.Exec(t, "INSERT INTO t (id, k) VALUES (?, 1)", extra)
	err := m.Compare(ctx, sb.DB, "t", Expect{})
	t.Logf("after tampering: %v", err)
	var mm *Mismatch
	if !errors.As(err, &mm) {
		t.Fatalf("Compare = %v, want a *Mismatch", err)
	}
	if mm.Missing != 1 || mm.Extra != 1 || mm.Differing != 1 {
		t.Errorf("missing %d, extra %d, differing %d; want 1 each", mm.Missing, mm.Extra, mm.Differing)
	}
	for _, want := range []string{
		fmt.Sprintf("missing   id=%d: ", deleted),
		fmt.Sprintf("extra     id=%d: ", extra),
		fmt.Sprintf("differing id=%d: %s", changed, wantModel),
		`got "tampered"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q", want)
		}
	}
}

// The rows depend only on seed and n, and the values survive both ways of
// sending arguments: a table loaded with server-side prepared statements
// (binary protocol) matches the model of one loaded with interpolated text.
func TestBothProtocols(t *testing.T) {
	sb := sandboxtest.New(t)
	ctx := t.Context()
	m := setup(t, sb, 2500) // the sandbox's DSN interpolates
	cfg, err := mysql.ParseDSN(sb.DSN(sb.Database))
	if err != nil {
		t.Fatal(err)
	}
	cfg.InterpolateParams = false
	prepared, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer prepared.Close()

	if err := Create(ctx, prepared, "t2"); err != nil {
		t.Fatal(err)
	}
	m2, err := Load(ctx, prepared, "t2", 2500, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Compare(ctx, sb.DB, "t2", Expect{}); err != nil {
		t.Fatal(err)
	}
	run := Start(ctx, prepared, "t2", m2, Options{Writers: 2, Rate: 300, Seed: 5})
	time.Sleep(2 * time.Second)
	st, err := run.Stop()
	t.Logf("writers: %v", st)
	if err != nil {
		t.Fatal(err)
	}
	if err := m2.Compare(ctx, prepared, "t2", Expect{}); err != nil {
		t.Fatal(err)
	}
}

// The ALTERs godwit runs must leave every value's text unchanged, and
// Expect must describe renamed, dropped and added columns.
func TestCompareAfterAlter(t *testing.T) {
	sb := sandboxtest.New(t)
	ctx := t.Context()
	m := setup(t, sb, 2000)
	write(t, sb.DB, m, Options{Writers: 3, Rate: 300, Seed: 3, Frozen: []string{"vc", "bl"}}, 3*time.Second, func() {
		sb.Exec(t, "ALTER TABLE t RENAME COLUMN vc TO vc2, DROP COLUMN bl, "+
			"ADD COLUMN added INT NOT NULL DEFAULT 7, ADD COLUMN note VARCHAR(10) NULL")
		sb.Exec(t, "ALTER TABLE t MODIFY i32 BIGINT, MODIFY vc2 VARCHAR(200), ADD INDEX i8_idx (i8), "+
			"DROP PRIMARY KEY, ADD PRIMARY KEY (id, k), CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
	})

	if err := m.Compare(ctx, sb.DB, "t", Expect{}); err == nil || !strings.Contains(err.Error(), "Expect") {
		t.Errorf("Compare without Expect after the ALTER = %v, want an error naming Expect", err)
	}
	seven := "7"
	e := Expect{
		Rename: map[string]string{"vc": "vc2"},
		Skip:   []string{"bl"},
		Added:  map[string]*string{"added": &seven, "note": nil},
	}
	if err := m.Compare(ctx, sb.DB, "t", e); err != nil {
		t.Fatal(err)
	}
}

// A cut-over as godwit does it on MariaDB (FIELD-NOTES.md): the writers
// block on the lock, then continue on the new table without an error.
func TestWritersSurviveSwap(t *testing.T) {
	sb := sandboxtest.New(t)
	ctx := t.Context()
	m := setup(t, sb, 2000)
	const hold = 1500 * time.Millisecond
	st := write(t, sb.DB, m, Options{Writers: 4, Rate: 400, Seed: 4}, 4*time.Second, func() {
		sb.Exec(t, "CREATE TABLE t_new LIKE t")
		sb.Exec(t, "CREATE TABLE t_old (id INT)") // the sentry: the RENAME fails while it exists
		lock, err := sb.DB.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer lock.Close()
		for _, q := range []string{"SET SESSION lock_wait_timeout = 5", "LOCK TABLES t WRITE, t_new WRITE, t_old WRITE",
			"INSERT INTO t_new SELECT * FROM t"} {
			if _, err := lock.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		renamed := make(chan error, 1)
		go func() {
			_, err := sb.DB.ExecContext(ctx, "RENAME TABLE t TO t_old, t_new TO t")
			renamed <- err
		}()
		time.Sleep(hold)
		for _, q := range []string{"DROP TABLE t_old", "UNLOCK TABLES"} {
			if _, err := lock.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if err := <-renamed; err != nil {
			t.Fatalf("RENAME: %v", err)
		}
	})
	if st.MaxLatency < hold/2 {
		t.Errorf("max latency %v: the writers did not wait for the swap", st.MaxLatency)
	}
	if err := m.Compare(ctx, sb.DB, "t", Expect{}); err != nil {
		t.Fatal(err)
	}
	var old int
	if err := sb.DB.QueryRow("SELECT COUNT(*) FROM t_old").Scan(&old); err != nil {
		t.Fatal(err)
	}
	if old == m.Len() {
		t.Errorf("the old table has as many rows as the model: did the writers write after the swap?")
	}
}

// Lock wait timeouts end in a retry, not in a failed writer.
func TestWritersRetryLockWaits(t *testing.T) {
	sb := sandboxtest.New(t)
	ctx := t.Context()
	m := setup(t, sb, 500)
	// A 3 s statement timeout gives the sessions a 1 s lock wait timeout.
	st := write(t, sb.DB, m, Options{Writers: 2, Rate: 200, Seed: 6, StatementTimeout: 3 * time.Second}, 3*time.Second, func() {
		tx, err := sb.DB.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, "SELECT id FROM t FOR UPDATE"); err != nil { // every row and gap
			t.Fatal(err)
		}
		time.Sleep(2500 * time.Millisecond)
	})
	if st.Retries == 0 {
		t.Error("no retries: the writers never waited for the locked rows")
	}
	// Each of the two writers blocked for 2.5 s times out at least once.
	// The FOR UPDATE takes its locks row by row while the writers run, so
	// a writer that got in first may also meet it in a deadlock (seen on
	// MySQL 9.7); the writer retries that too.
	if st.LockWaits < 2 {
		t.Errorf("%s: want a lock-wait timeout per writer", st.Locks())
	}
	if st.NoLockConflicts() == nil {
		t.Error("NoLockConflicts says none after lock-wait timeouts")
	}
	if err := m.Compare(ctx, sb.DB, "t", Expect{}); err != nil {
		t.Fatal(err)
	}
}

// A statement the client abandons may still commit: Stop must say the
// model can no longer be trusted.
func TestAbandonedStatementMakesModelUncertain(t *testing.T) {
	sb := sandboxtest.New(t)
	ctx := t.Context()
	m := setup(t, sb, 100)
	lock, err := sb.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	// The sessions' lock wait timeout is at least 1 s, so a 300 ms
	// statement timeout abandons statements blocked by this lock.
	run := Start(ctx, sb.DB, "t", m, Options{Writers: 2, Rate: 100, StatementTimeout: 300 * time.Millisecond})
	time.Sleep(200 * time.Millisecond)
	if _, err := lock.ExecContext(ctx, "LOCK TABLES t WRITE"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	_, err = run.Stop()
	if _, uerr := lock.ExecContext(ctx, "UNLOCK TABLES"); uerr != nil {
		t.Fatal(uerr)
	}
	t.Logf("Stop: %v", err)
	if !errors.Is(err, ErrUncertain) {
		t.Fatalf("Stop = %v, want ErrUncertain", err)
	}
}

func TestStartRefusesBadFrozen(t *testing.T) {
	for _, frozen := range []string{"nope", "k", "id", "created", "modified"} {
		_, err := Start(t.Context(), nil, "t", newModel(false), Options{Frozen: []string{frozen}}).Stop()
		if err == nil {
			t.Errorf("Frozen %q: no error", frozen)
		}
	}
}

func TestErrorKinds(t *testing.T) {
	for _, tc := range []struct {
		err                error
		retryable, unknown bool
	}{
		{&mysql.MySQLError{Number: 1213}, true, false},
		{&mysql.MySQLError{Number: 1205}, true, false},
		{&mysql.MySQLError{Number: 1615}, true, false},
		{&mysql.MySQLError{Number: 1146}, false, false},
		{fmt.Errorf("x: %w", driver.ErrBadConn), true, false},
		{fmt.Errorf("%w: %w", errSession, errors.New("dial tcp: refused")), false, false},
		{mysql.ErrInvalidConn, false, true},
		{context.DeadlineExceeded, false, true},
	} {
		if got := isRetryable(tc.err); got != tc.retryable {
			t.Errorf("isRetryable(%v) = %v", tc.err, got)
		}
		if got := isUnknown(tc.err); got != tc.unknown {
			t.Errorf("isUnknown(%v) = %v", tc.err, got)
		}
	}
	for _, tc := range []struct {
		err  error
		lost bool
	}{
		{&mysql.MySQLError{Number: 1053}, true},
		{&mysql.MySQLError{Number: 1927}, true},
		{mysql.ErrInvalidConn, true},
		{fmt.Errorf("x: %w", driver.ErrBadConn), true},
		{fmt.Errorf("%w: %w", errSession, &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}), true},
		{io.ErrUnexpectedEOF, true},
		{&mysql.MySQLError{Number: 1205}, false},
		{&mysql.MySQLError{Number: 1045}, false}, // access denied: a refusal, not an outage
		{context.DeadlineExceeded, false},
		{errors.New("something else"), false},
	} {
		if got := isServerLost(tc.err); got != tc.lost {
			t.Errorf("isServerLost(%v) = %v", tc.err, got)
		}
	}
}

// With RideOut, writers whose connections are killed, between statements
// or in the middle of one, reconnect, replay what may not have committed,
// and the table still matches the model.
func TestWritersRideOutKilledConnections(t *testing.T) {
	sb := sandboxtest.New(t)
	ctx := t.Context()
	m := setup(t, sb, 2000)
	killer, err := sb.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer killer.Close()
	killed := 0
	// As fast as possible, so that a kill often lands mid-statement.
	st := write(t, sb.DB, m, Options{Writers: 4, Seed: 8, RideOut: 20 * time.Second}, 4*time.Second, func() {
		for range 10 {
			rows, err := killer.QueryContext(ctx, "SELECT ID FROM "+sb.Processlist()+" WHERE DB = ? AND ID <> CONNECTION_ID()", sb.Database)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, id)
			}
			rows.Close()
			for _, id := range ids {
				if _, err := killer.ExecContext(ctx, fmt.Sprintf("KILL CONNECTION %d", id)); err != nil && mysqlCode(err) != 1094 { // ER_NO_SUCH_THREAD: gone meanwhile
					t.Fatal(err)
				}
				killed++
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	t.Logf("killed %d connections; %d statements replayed", killed, st.Replayed)
	if killed == 0 {
		t.Fatal("no connection was killed")
	}
	if err := m.Compare(ctx, sb.DB, "t", Expect{}); err != nil {
		t.Fatal(err)
	}
}

func TestHistogram(t *testing.T) {
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.add(time.Duration(i) * time.Millisecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {1, time.Second}} {
		got := h.quantile(tc.q)
		if got < tc.want || float64(got) > float64(tc.want)*1.1 {
			t.Errorf("quantile(%v) = %v, want %v within 10%%", tc.q, got, tc.want)
		}
	}
}

// The time to load 100,000 rows: go test -run x -bench Load -benchtime 1x.
func BenchmarkLoad100k(b *testing.B) {
	sb := sandboxtest.New(b)
	for i := range b.N {
		name := fmt.Sprintf("t%d", i)
		if err := Create(b.Context(), sb.DB, name); err != nil {
			b.Fatal(err)
		}
		if _, err := Load(b.Context(), sb.DB, name, 100_000, 1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(100_000*b.N)/b.Elapsed().Seconds(), "rows/s")
}
