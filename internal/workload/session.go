package workload

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"time"
)

const sessionTimeout = 30 * time.Second

// session pins one connection of the caller's pool and sets what the model
// relies on, so the caller's DSN does not matter: UTC (TIMESTAMP reads back
// as written, no DST gaps), strict mode (a value the server would truncate
// fails instead of silently diverging from the model), autocommit (each
// statement is its own transaction), and lock waits that end in an error the
// writer can retry rather than in a client timeout whose outcome is unknown.
func session(ctx context.Context, db *sql.DB, lockWait time.Duration) (*sql.Conn, error) {
	// Bounded: a pool at its MaxOpenConns would otherwise make us wait forever.
	ctx, cancel := context.WithTimeout(ctx, sessionTimeout)
	defer cancel()
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	secs := max(1, int(lockWait/time.Second))
	_, err = conn.ExecContext(ctx, fmt.Sprintf(tag+"SET SESSION time_zone = '+00:00', autocommit = 1, "+
		"sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION', "+
		"lock_wait_timeout = %d, innodb_lock_wait_timeout = %d", secs, secs))
	if err != nil {
		discard(conn)
		return nil, err
	}
	return conn, nil
}

// discard closes conn instead of returning it to the pool, where its session
// settings would leak to the caller's other statements.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = conn.Close()
}
