package workload

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/godwit-db/godwit/internal/mysqlx"
)

// Options shape the write load.
type Options struct {
	Writers int // goroutines, default 4; each pins one connection of the pool
	Rate    int // statements per second across all writers; 0 = as fast as possible
	// Frozen columns are never written: the ALTER under test drops or
	// renames them. Inserts leave them to their default (NULL).
	Frozen []string
	Seed   int64
	// StatementTimeout bounds one attempt of one statement (default 30 s).
	// The sessions' lock wait timeouts are a third of it, so a statement
	// blocked by a lock normally fails with a retryable error, whose outcome
	// is known, long before the client abandons it, whose outcome is not.
	StatementTimeout time.Duration
	// RideOut lets the writers live through a server restart: for up to
	// this long per statement, a lost server (connection refused, reset or
	// ended, ER_SERVER_SHUTDOWN, ER_CONNECTION_KILLED) is waited out instead
	// of ending the writer. A statement whose connection died under it may
	// or may not have committed; it is sent again once the server is back,
	// which is safe because every statement is idempotent for the writer
	// that owns its ids (see exec). 0, the default, keeps such a loss fatal
	// (ErrUncertain), as a test that expects no outage wants.
	RideOut time.Duration
	// NoKeyMoves leaves every row its id (updates instead): for a table
	// whose rows are followed by id alone, as godwit revert follows the
	// values of a column only the old table has.
	NoKeyMoves bool
}

// ErrUncertain is wrapped by Stop's error when a statement may or may not
// have committed (the connection died or the client gave up mid-statement):
// the model can no longer be trusted.
var ErrUncertain = errors.New("outcome unknown, the model is uncertain")

// errStopped ends a writer between statements or between retries, when no
// statement is in flight.
var errStopped = errors.New("stopped")

// errSession: the writer could not open a connection; nothing was sent.
var errSession = errors.New("open session")

// Run is a running set of writers.
type Run struct {
	model    *Model
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
	mu       sync.Mutex
	stats    Stats
	errs     []error // in the order the writers hit them
}

// Start starts writers on table name. Writer w owns the ids ≡ w (mod
// Writers), both those already in m and the new ones it inserts, so no two
// writers touch the same row and the model needs no ordering between them.
// Each statement autocommits, and the model changes only after it succeeded.
func Start(ctx context.Context, db *sql.DB, name string, m *Model, o Options) *Run {
	run := &Run{stop: make(chan struct{})}
	if o.Writers <= 0 {
		o.Writers = 4
	}
	if o.StatementTimeout <= 0 {
		o.StatementTimeout = 30 * time.Second
	}
	writable, err := writableColumns(o.Frozen)
	if err == nil {
		err = m.claim()
	}
	if err != nil {
		run.errs = append(run.errs, fmt.Errorf("workload: %w", err))
		return run
	}
	run.model = m
	for i := range o.Writers {
		w := &writer{
			ctx: ctx, db: db, table: name, m: m, o: o,
			writable: writable,
			insertQ:  insertSQL(name, writable, 1),
			r:        rand.New(rand.NewPCG(uint64(o.Seed), ^uint64(i))),
			stop:     run.stop,
		}
		w.owned, w.next = m.ids(i, o.Writers)
		run.wg.Go(func() {
			err := w.run()
			if w.conn != nil {
				discard(w.conn)
			}
			run.mu.Lock()
			defer run.mu.Unlock()
			run.stats.add(w.stats)
			if err != nil {
				run.errs = append(run.errs, fmt.Errorf("workload: writer %d: %w", i, err))
			}
		})
	}
	return run
}

// Stop stops the writers, waits for the statements in flight, and returns
// the counts and the first error a writer hit. If any writer lost track of a
// statement's outcome, the error wraps ErrUncertain even when it was not first.
func (run *Run) Stop() (Stats, error) {
	run.stopOnce.Do(func() {
		close(run.stop)
		run.wg.Wait()
		if run.model != nil {
			run.model.release()
		}
	})
	run.mu.Lock()
	defer run.mu.Unlock()
	if len(run.errs) == 0 {
		return run.stats, nil
	}
	first := run.errs[0]
	if !errors.Is(first, ErrUncertain) {
		for _, err := range run.errs[1:] {
			if errors.Is(err, ErrUncertain) {
				return run.stats, errors.Join(first, err)
			}
		}
	}
	return run.stats, first
}

func writableColumns(frozen []string) ([]int, error) {
	skip := make(map[int]bool)
	for _, name := range frozen {
		i := columnIndex(name)
		switch {
		case i < 0:
			return nil, fmt.Errorf("frozen column %q is not a workload column", name)
		case columns[i].name == keyColumn:
			return nil, fmt.Errorf("column %s is NOT NULL without a default: inserts must write it, it cannot be frozen", keyColumn)
		case strings.Contains(columns[i].typ, "DEFAULT CURRENT_TIMESTAMP"):
			return nil, fmt.Errorf("column %s defaults to the time of the write, which the model cannot know: it cannot be frozen", name)
		}
		skip[i] = true
	}
	var idx []int
	for i := range columns {
		if !skip[i] {
			idx = append(idx, i)
		}
	}
	return idx, nil
}

type writer struct {
	ctx      context.Context
	db       *sql.DB
	table    string
	m        *Model
	o        Options
	writable []int
	insertQ  string
	r        *rand.Rand
	stop     <-chan struct{}

	conn  *sql.Conn // nil until first use and after the connection broke
	owned []int64   // ids of this writer's partition that are in the table
	next  int64     // next unused id of the partition
	stats Stats
}

func (w *writer) run() error {
	var interval time.Duration
	if w.o.Rate > 0 {
		interval = time.Second * time.Duration(w.o.Writers) / time.Duration(w.o.Rate)
	}
	due := time.Now()
	for {
		due = due.Add(interval)
		if now := time.Now(); due.Before(now.Add(-interval)) {
			due = now // after a stall (a cut-over), resume the rate rather than burst to catch up
		}
		if !w.sleep(time.Until(due)) {
			return nil
		}
		if err := w.step(); err != nil {
			if errors.Is(err, errStopped) {
				return nil
			}
			return err
		}
	}
}

// sleep waits d and reports whether the writer should go on.
func (w *writer) sleep(d time.Duration) bool {
	t := time.NewTimer(max(d, 0))
	defer t.Stop()
	select {
	case <-t.C:
		return w.ctx.Err() == nil
	case <-w.stop:
		return false
	case <-w.ctx.Done():
		return false
	}
}

// step runs one statement. The mix keeps the table's size roughly stable
// while it churns through every kind of row event a migration must replay.
func (w *writer) step() error {
	switch p := w.r.IntN(100); {
	case len(w.owned) == 0 || p < 30:
		return w.insert()
	case p < 70:
		return w.update()
	case p < 85:
		return w.delete()
	case w.o.NoKeyMoves:
		return w.update()
	default:
		return w.moveKey()
	}
}

func (w *writer) newID() int64 {
	id := w.next
	w.next += int64(w.o.Writers)
	w.m.reserve(id)
	return id
}

func (w *writer) insert() error {
	id := w.newID()
	args := []any{id}
	vals := make([]sql.NullString, len(columns)) // frozen columns stay NULL
	for _, i := range w.writable {
		var arg any
		arg, vals[i] = value(w.r, i)
		args = append(args, arg)
	}
	if err := w.exec(1, w.insertQ, args...); err != nil {
		return fmt.Errorf("insert id %d: %w", id, err)
	}
	w.m.insert(id, vals)
	w.owned = append(w.owned, id)
	w.stats.Inserts++
	return nil
}

func (w *writer) update() error {
	id := w.owned[w.r.IntN(len(w.owned))]
	pick := w.r.Perm(len(w.writable))[:1+w.r.IntN(min(4, len(w.writable)))]
	if p := slices.Index(w.writable, columnIndex(onUpdateColumn)); p >= 0 && !slices.Contains(pick, p) {
		pick = append(pick, p)
	}
	idx := make([]int, len(pick))
	vals := make([]sql.NullString, len(pick))
	var args []any
	var set []string
	for j, p := range pick {
		idx[j] = w.writable[p]
		var arg any
		arg, vals[j] = value(w.r, idx[j])
		args = append(args, arg)
		set = append(set, mysqlx.Q(columns[idx[j]].name)+" = ?")
	}
	args = append(args, id)
	q := tag + "UPDATE " + mysqlx.Q(w.table) + " SET " + strings.Join(set, ", ") + " WHERE `id` = ?"
	// The server counts only rows it changed (unless the DSN asks for found
	// rows), so an update that changes nothing may report 0.
	want := int64(-1)
	if w.m.wouldChange(id, idx, vals) {
		want = 1
	}
	if err := w.exec(want, q, args...); err != nil {
		return fmt.Errorf("update id %d: %w", id, err)
	}
	w.m.update(id, idx, vals)
	w.stats.Updates++
	return nil
}

func (w *writer) delete() error {
	pos := w.r.IntN(len(w.owned))
	id := w.owned[pos]
	if err := w.exec(1, tag+"DELETE FROM "+mysqlx.Q(w.table)+" WHERE `id` = ?", id); err != nil {
		return fmt.Errorf("delete id %d: %w", id, err)
	}
	w.m.delete(id)
	w.owned[pos] = w.owned[len(w.owned)-1]
	w.owned = w.owned[:len(w.owned)-1]
	w.stats.Deletes++
	return nil
}

// moveKey changes a row's primary key: a binlog update whose before and
// after images name different rows.
func (w *writer) moveKey() error {
	pos := w.r.IntN(len(w.owned))
	old, id := w.owned[pos], w.newID()
	// Setting the ON UPDATE column to itself keeps the server from setting
	// it to the time of the move.
	keep := mysqlx.Q(onUpdateColumn) + " = " + mysqlx.Q(onUpdateColumn)
	if err := w.exec(1, tag+"UPDATE "+mysqlx.Q(w.table)+" SET `id` = ?, "+keep+" WHERE `id` = ?", id, old); err != nil {
		return fmt.Errorf("move id %d to %d: %w", old, id, err)
	}
	w.m.move(old, id)
	w.owned[pos] = id
	w.stats.KeyUpdates++
	return nil
}

// exec runs one statement until it succeeds, retrying what the server
// rejected without applying, and checks the affected row count: a count the
// model does not predict means the table lost (or gained) a row behind the
// writers' back. want -1 accepts 0 or 1.
//
// With RideOut, a statement whose connection died under it is replayed.
// Only its writer touches its ids, so a replay ends in the state the model
// expects whether or not the lost attempt committed: an UPDATE or DELETE
// by id finds its work done and affects 0 rows, a key move finds the old
// id gone, and an INSERT finds its id taken (ER_DUP_ENTRY). Those answers
// are accepted after a loss only; a row that really went missing still
// shows in Compare.
func (w *writer) exec(want int64, query string, args ...any) error {
	began := time.Now()
	replay := false // an attempt's outcome was lost with its connection
	for attempt := 0; ; attempt++ {
		if w.ctx.Err() != nil {
			return errStopped
		}
		n, err := w.try(query, args)
		if err != nil && replay && mysqlCode(err) == 1062 && strings.HasPrefix(query, tag+"INSERT ") { // ER_DUP_ENTRY
			n, err = 1, nil // the lost attempt inserted it
		}
		if err == nil {
			w.stats.latencies.add(time.Since(began))
			if replay && n == 0 {
				n = want // the lost attempt did the work
			}
			if n != want && (want != -1 || n > 1) {
				return fmt.Errorf("affected %d rows, the model expects %d: the table does not hold the row the model has", n, want)
			}
			return nil
		}
		// Counted before anything else: every refusal is time lost to locks.
		switch mysqlCode(err) {
		case 1213: // ER_LOCK_DEADLOCK
			w.stats.Deadlocks++
		case 1205: // ER_LOCK_WAIT_TIMEOUT
			w.stats.LockWaits++
		}
		switch {
		case w.o.RideOut > 0 && isServerLost(err):
			if time.Since(began) > w.o.RideOut {
				return fmt.Errorf("%w: the server was still unreachable after %v (RideOut): %w", ErrUncertain, time.Since(began).Round(time.Millisecond), err)
			}
			if !replay && (isUnknown(err) || !errors.Is(err, errSession) && mysqlCode(err) != 0) {
				// A server error here (shutdown, killed) may have come
				// after the commit: the outcome is as unknown as on EOF.
				replay = true
				w.stats.Replayed++
			}
			w.stats.Retries++
			if !w.sleep(100*time.Millisecond + rand.N(100*time.Millisecond)) {
				return errStopped
			}
			continue
		case isUnknown(err):
			return fmt.Errorf("%w: %w", ErrUncertain, err)
		case !isRetryable(err):
			return err
		case time.Since(began) > 2*w.o.StatementTimeout:
			return fmt.Errorf("still failing after %d attempts in %v: %w", attempt+1, time.Since(began).Round(time.Millisecond), err)
		}
		w.stats.Retries++
		backoff := min(time.Second, 10*time.Millisecond<<attempt)
		if !w.sleep(backoff/2 + rand.N(backoff/2+1)) {
			return errStopped
		}
	}
}

func (w *writer) try(query string, args []any) (int64, error) {
	if w.conn == nil {
		conn, err := session(w.ctx, w.db, w.o.StatementTimeout/3)
		if err != nil {
			return 0, fmt.Errorf("%w: %w", errSession, err)
		}
		w.conn = conn
	}
	ctx, cancel := context.WithTimeout(w.ctx, w.o.StatementTimeout)
	defer cancel()
	res, err := w.conn.ExecContext(ctx, query, args...)
	if err != nil {
		if errors.Is(err, driver.ErrBadConn) || isUnknown(err) || w.o.RideOut > 0 && isServerLost(err) {
			discard(w.conn)
			w.conn = nil
		}
		return 0, err
	}
	return res.RowsAffected()
}

// isRetryable: the server refused the statement as a whole (deadlock, lock
// wait timeout, a prepared statement invalidated by concurrent DDL such as
// the cut-over's RENAME), or the driver found the connection dead before
// sending anything. Applications retry these; so do the writers.
func isRetryable(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1213, 1205, 1615: // ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT, ER_NEED_REPREPARE
			return true
		}
		return false
	}
	return errors.Is(err, driver.ErrBadConn)
}

// isServerLost: the server went away or is going (a restart), as opposed to
// refusing a statement. Only RideOut waits these out.
func isServerLost(err error) bool {
	switch mysqlCode(err) {
	case 1053, 1927: // ER_SERVER_SHUTDOWN, ER_CONNECTION_KILLED
		return true
	case 0:
	default:
		return false
	}
	for _, target := range []error{driver.ErrBadConn, mysql.ErrInvalidConn, io.EOF, io.ErrUnexpectedEOF,
		syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.EPIPE} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

func mysqlCode(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

// isUnknown: no answer from the server for a statement that may have been
// sent (connection lost, client-side timeout or cancellation). A server
// error, or a session that could not even be opened, is a known outcome.
func isUnknown(err error) bool {
	var me *mysql.MySQLError
	return !errors.As(err, &me) && !errors.Is(err, driver.ErrBadConn) && !errors.Is(err, errSession)
}
