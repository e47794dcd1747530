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

// HeartbeatTable is the table the heartbeat is written to, in the
// migrated database on the primary.
const HeartbeatTable = "_godwit_heartbeat"

// errNoSuchDatabase is ER_BAD_DB_ERROR: the schema has not replicated yet.
const errNoSuchDatabase = 1049

// Heartbeat writes the primary's clock into HeartbeatTable; a replica's
// lag is how far the value it has applied is behind the primary's clock
// now. Only the primary's clock is used (read back when writing and
// advanced by this process's monotonic clock), so clock skew between the
// hosts does not matter.
type Heartbeat struct {
	db     *sql.DB
	schema string

	mu      sync.Mutex
	created bool
	first   int64     // the first value written by this process, µs since the epoch (UTC)
	last    int64     // the last value written
	lastAt  time.Time // when it was written, by the local monotonic clock
	err     error     // the last write's error
}

// NewHeartbeat returns a heartbeat written through db, the primary, into
// schema.HeartbeatTable. It writes nothing until Beat.
func NewHeartbeat(db *sql.DB, schema string) *Heartbeat {
	return &Heartbeat{db: db, schema: schema}
}

func (h *Heartbeat) table() string { return mysqlx.QT(h.schema, HeartbeatTable) }

// Beat creates the table if needed and writes the primary's current time.
func (h *Heartbeat) Beat(ctx context.Context) error {
	err := h.beat(ctx)
	h.mu.Lock()
	h.err = err
	h.mu.Unlock()
	return err
}

func (h *Heartbeat) beat(ctx context.Context) error {
	h.mu.Lock()
	created := h.created
	h.mu.Unlock()
	if !created {
		q := mysqlx.Tag + "CREATE TABLE IF NOT EXISTS " + h.table() +
			" (id INT PRIMARY KEY, ts DATETIME(6) NOT NULL) ENGINE=InnoDB"
		if _, err := h.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("create heartbeat table %s: %w", h.table(), err)
		}
		h.mu.Lock()
		h.created = true
		h.mu.Unlock()
	}
	var now int64
	q := mysqlx.Tag + "SELECT TIMESTAMPDIFF(MICROSECOND, '1970-01-01', UTC_TIMESTAMP(6))"
	if err := h.db.QueryRowContext(ctx, q).Scan(&now); err != nil {
		return fmt.Errorf("read the primary's clock: %w", err)
	}
	at := time.Now()
	ts := time.UnixMicro(now).UTC().Format("2006-01-02 15:04:05.000000")
	// GREATEST: another godwit process may share the row; time never
	// goes back in it.
	q = mysqlx.Tag + "INSERT INTO " + h.table() + " (id, ts) VALUES (1, ?) ON DUPLICATE KEY UPDATE ts = GREATEST(ts, ?)"
	if _, err := h.db.ExecContext(ctx, q, ts, ts); err != nil {
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

// replicated reads the heartbeat value db (a replica) has applied, in µs
// since the epoch; ok is false when the table or row is not there yet.
func (h *Heartbeat) replicated(ctx context.Context, db *sql.DB) (ts int64, ok bool, err error) {
	q := mysqlx.Tag + "SELECT TIMESTAMPDIFF(MICROSECOND, '1970-01-01', ts) FROM " + h.table() + " WHERE id = 1"
	err = db.QueryRowContext(ctx, q).Scan(&ts)
	switch {
	case errors.Is(err, sql.ErrNoRows), mysqlx.ErrCode(err) == mysqlx.ErrNoSuchTable, mysqlx.ErrCode(err) == errNoSuchDatabase:
		return 0, false, nil
	case err != nil:
		return 0, false, err
	}
	return ts, true, nil
}

// Drop drops the heartbeat table.
func (h *Heartbeat) Drop(ctx context.Context) error {
	if _, err := h.db.ExecContext(ctx, mysqlx.Tag+"DROP TABLE IF EXISTS "+h.table()); err != nil {
		return fmt.Errorf("drop heartbeat table %s: %w", h.table(), err)
	}
	h.mu.Lock()
	h.created = false
	h.mu.Unlock()
	return nil
}
