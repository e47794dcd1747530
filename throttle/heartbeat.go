package throttle

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// HeartbeatTable is the table the heartbeats are written to, in the
// migrated database on the primary. Every run owns one row of it, keyed by
// the table it migrates, so that runs in one schema never disturb each
// other; the last run to finish drops the table.
const HeartbeatTable = "_godwit_heartbeat"

// errNoSuchDatabase is ER_BAD_DB_ERROR: the schema has not replicated yet.
const errNoSuchDatabase = 1049

// errBadField is ER_BAD_FIELD_ERROR: the table has an older layout.
const errBadField = 1054

// heartbeatComment names the table's owner for a DBA reading the schema.
const heartbeatComment = "godwit replica lag heartbeat: one row per running migration"

// Heartbeat writes the primary's clock into its row of HeartbeatTable; a
// replica's lag is how far the value it has applied is behind the
// primary's clock now. Only the primary's clock is used (read back when
// writing and advanced by this process's monotonic clock), so clock skew
// between the hosts does not matter.
type Heartbeat struct {
	db     *sql.DB
	schema string
	key    string // the row's key: the migrated table

	mu     sync.Mutex
	first  int64     // the first value written by this process, µs since the epoch (UTC)
	last   int64     // the last value written
	lastAt time.Time // when it was written, by the local monotonic clock
	err    error     // the last write's error
}

// NewHeartbeat returns a heartbeat written through db, the primary, into
// the row key (the migrated table's name) of schema.HeartbeatTable. It
// writes nothing until Beat.
func NewHeartbeat(db *sql.DB, schema, key string) *Heartbeat {
	return &Heartbeat{db: db, schema: schema, key: key}
}

func (h *Heartbeat) table() string { return mysqlx.QT(h.schema, HeartbeatTable) }

// Check refuses a heartbeat table of an older layout (one shared row),
// which this version cannot write to. It writes nothing. One statement
// asks: another run may create or drop the table at any moment.
func (h *Heartbeat) Check(ctx context.Context) error {
	rows, err := h.db.QueryContext(ctx, mysqlx.Tag+"SELECT tbl FROM "+h.table()+" LIMIT 0")
	switch code := mysqlx.ErrCode(err); {
	case err == nil:
		return rows.Close()
	case code == mysqlx.ErrNoSuchTable:
		return nil
	case code == errBadField:
		return h.oldLayout()
	default:
		return fmt.Errorf("look up the heartbeat table %s: %w", h.table(), err)
	}
}

func (h *Heartbeat) oldLayout() error {
	return fmt.Errorf("the heartbeat table %s has an older godwit's layout (no column tbl): once no older godwit runs in %s, drop it (DROP TABLE %s) and rerun",
		h.table(), h.schema, h.table())
}

// Beat writes the primary's current time into this run's row, creating
// the table when it is missing.
func (h *Heartbeat) Beat(ctx context.Context) error {
	err := h.beat(ctx)
	h.mu.Lock()
	h.err = err
	h.mu.Unlock()
	return err
}

func (h *Heartbeat) beat(ctx context.Context) error {
	var now int64
	q := mysqlx.Tag + "SELECT TIMESTAMPDIFF(MICROSECOND, '1970-01-01', UTC_TIMESTAMP(6))"
	if err := h.db.QueryRowContext(ctx, q).Scan(&now); err != nil {
		return fmt.Errorf("read the primary's clock: %w", err)
	}
	at := time.Now()
	ts := time.UnixMicro(now).UTC().Format("2006-01-02 15:04:05.000000")
	// GREATEST: a rerun of a killed run takes over its row; time never
	// goes back in it.
	q = mysqlx.Tag + "INSERT INTO " + h.table() + " (tbl, ts) VALUES (?, ?) ON DUPLICATE KEY UPDATE ts = GREATEST(ts, ?)"
	_, err := h.db.ExecContext(ctx, q, h.key, ts, ts)
	if mysqlx.ErrCode(err) == mysqlx.ErrNoSuchTable {
		// Not created yet, or dropped by the last other run to finish
		// between its check and this write: (re)create it.
		if err := h.create(ctx); err != nil {
			return err
		}
		_, err = h.db.ExecContext(ctx, q, h.key, ts, ts)
	}
	switch {
	case mysqlx.ErrCode(err) == errBadField:
		return h.oldLayout()
	case err != nil:
		return fmt.Errorf("write heartbeat to %s: %w", h.table(), err)
	}
	h.mu.Lock()
	if h.first == 0 {
		h.first = now
	}
	h.last, h.lastAt = now, at
	h.mu.Unlock()
	return nil
}

func (h *Heartbeat) create(ctx context.Context) error {
	// tbl compares bytes: table names are case-sensitive on most hosts.
	q := mysqlx.Tag + "CREATE TABLE IF NOT EXISTS " + h.table() +
		" (tbl VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL PRIMARY KEY, ts DATETIME(6) NOT NULL)" +
		" ENGINE=InnoDB COMMENT='" + heartbeatComment + "'"
	if _, err := h.db.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("create heartbeat table %s: %w", h.table(), err)
	}
	return nil
}

// primaryNow estimates the primary's clock now (µs since the epoch) and
// returns the first value this process wrote. ok is false before the
// first write. The last write's error, if any, is returned: a heartbeat
// that no longer advances would otherwise read as a growing lag.
func (h *Heartbeat) primaryNow() (now, first int64, ok bool, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		return 0, 0, false, h.err
	}
	if h.first == 0 {
		return 0, 0, false, nil
	}
	return h.last + time.Since(h.lastAt).Microseconds(), h.first, true, nil
}

// replicated reads the heartbeat value db (a replica) has applied to this
// run's row, in µs since the epoch; ok is false when the table or row is
// not there (yet, or for a moment after another run dropped the table).
func (h *Heartbeat) replicated(ctx context.Context, db *sql.DB) (ts int64, ok bool, err error) {
	q := mysqlx.Tag + "SELECT TIMESTAMPDIFF(MICROSECOND, '1970-01-01', ts) FROM " + h.table() + " WHERE tbl = ?"
	err = db.QueryRowContext(ctx, q, h.key).Scan(&ts)
	switch {
	case errors.Is(err, sql.ErrNoRows), mysqlx.ErrCode(err) == mysqlx.ErrNoSuchTable, mysqlx.ErrCode(err) == errNoSuchDatabase,
		mysqlx.ErrCode(err) == errBadField: // an older layout, not replaced on the replica yet
		return 0, false, nil
	case err != nil:
		return 0, false, err
	}
	return ts, true, nil
}

// Remove deletes this run's row, and the table once no row is left.
func (h *Heartbeat) Remove(ctx context.Context) error {
	_, err := RemoveHeartbeat(ctx, h.db, h.schema, h.key)
	return err
}

// RemoveHeartbeat deletes the heartbeat row of table key in schema (a run
// that finished, or that godwit abort clears after a kill) and drops the
// table when no other run's row is left. It says whether a row was there.
//
// The emptiness check and the drop happen under LOCK TABLES ... WRITE,
// so no other run writes a row in between; one that writes right after
// the drop finds no table and creates it again.
func RemoveHeartbeat(ctx context.Context, db *sql.DB, schema, key string) (removed bool, err error) {
	table := mysqlx.QT(schema, HeartbeatTable)
	res, err := db.ExecContext(ctx, mysqlx.Tag+"DELETE FROM "+table+" WHERE tbl = ?", key)
	switch code := mysqlx.ErrCode(err); {
	case code == mysqlx.ErrNoSuchTable:
		return false, nil
	case code == errBadField:
		return false, nil // an older layout: not this version's to clear
	case err != nil:
		return false, fmt.Errorf("delete the heartbeat row of %s from %s: %w", key, table, err)
	}
	n, _ := res.RowsAffected()
	removed = n > 0

	conn, err := db.Conn(ctx)
	if err != nil {
		return removed, fmt.Errorf("drop the heartbeat table %s: %w", table, err)
	}
	defer conn.Close()
	// Short: other runs' heartbeats wait for this lock.
	if _, err := conn.ExecContext(ctx, mysqlx.Tag+"SET SESSION lock_wait_timeout = 2"); err != nil {
		return removed, fmt.Errorf("drop the heartbeat table %s: %w", table, err)
	}
	if _, err := conn.ExecContext(ctx, mysqlx.Tag+"LOCK TABLES "+table+" WRITE"); err != nil {
		if mysqlx.ErrCode(err) == mysqlx.ErrNoSuchTable {
			return removed, nil
		}
		return removed, fmt.Errorf("lock the heartbeat table %s to drop it: %w", table, err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), mysqlx.Tag+"UNLOCK TABLES")
	var one int
	err = conn.QueryRowContext(ctx, mysqlx.Tag+"SELECT 1 FROM "+table+" LIMIT 1").Scan(&one)
	switch {
	case err == nil:
		return removed, nil // another run still beats
	case !errors.Is(err, sql.ErrNoRows):
		return removed, fmt.Errorf("read the heartbeat table %s: %w", table, err)
	}
	if _, err := conn.ExecContext(ctx, mysqlx.Tag+"DROP TABLE "+table); err != nil {
		return removed, fmt.Errorf("drop the heartbeat table %s: %w", table, err)
	}
	return removed, nil
}
