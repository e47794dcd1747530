package pipeline

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// runDirect sends a cheap DDL statement (CREATE TABLE, DROP INDEX,
// RENAME TABLE, ...) as written. Cheap for the server is not harmless for
// the application: every DDL first needs the table's metadata lock, and
// while it waits behind a long transaction the application's queries
// queue behind it. So the lock wait is bounded by the cut-over budget,
// and a timed-out attempt, which changed nothing, is retried like a
// cut-over.
//
// An interruption (ctx) stops the retries but not a running attempt: a
// DDL the client gives up on may still complete on the server, and the
// history must say what happened. Each attempt is bounded by the lock
// wait and the statement's own (short) work.
func runDirect(ctx context.Context, db *sql.DB, text, sqlMode string, lockTimeout time.Duration, retries int, log *slog.Logger) (attempts int, err error) {
	run := context.WithoutCancel(ctx)
	conn, err := db.Conn(run)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	secs := max(1, int(math.Ceil(lockTimeout.Seconds())))
	if _, err := conn.ExecContext(run, fmt.Sprintf("%sSET SESSION lock_wait_timeout = %d", mysqlx.Tag, secs)); err != nil {
		return 0, err
	}
	// As natively: a table the application's sessions could not make,
	// godwit does not make either.
	restore, err := mysqlx.SetSQLMode(run, conn, sqlMode)
	if err != nil {
		return 0, err
	}
	defer restore()
	for attempt := 1; ; attempt++ {
		_, err := conn.ExecContext(run, mysqlx.Tag+text)
		if err == nil {
			return attempt, nil
		}
		if mysqlx.ErrCode(err) != mysqlx.ErrLockWaitTimeout {
			return attempt, err
		}
		if attempt >= retries {
			return attempt, fmt.Errorf("the table stayed locked by other sessions through %d attempts of %ds each, "+
				"nothing was changed: %w", attempt, secs, err)
		}
		log.Warn("statement waited too long for its table's lock; retrying", "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			return attempt, ctx.Err()
		case <-time.After(time.Duration(min(attempt, 5)) * time.Second):
		}
	}
}

// tableEmpty says whether the table holds no row (reading at most one).
func tableEmpty(ctx context.Context, db *sql.DB, schema, table string) (bool, error) {
	var one int
	err := db.QueryRowContext(ctx, mysqlx.Tag+"SELECT 1 FROM "+mysqlx.QT(schema, table)+" LIMIT 1").Scan(&one)
	switch {
	case err == sql.ErrNoRows:
		return true, nil
	case err != nil:
		return false, err
	}
	return false, nil
}
