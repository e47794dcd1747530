package migrate

import (
	"context"
	"fmt"
	"time"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/migrate/alter"
)

// Paths a migration can take.
const (
	PathCopy    = "online-copy"
	PathInstant = "instant"
)

// tryInstant asks the server itself whether the change is metadata-only:
// it applies the ALTER with ALGORITHM=INSTANT to the freshly created,
// empty shadow. The server refuses when it would need to rebuild, so no
// rule table of versions can be out of date. (TEMPORARY tables ignore
// ALGORITHM, hence a real one.)
func (m *migration) tryInstant(ctx context.Context, shadow string) bool {
	if m.opt.ForceCopy {
		return false
	}
	for _, s := range m.change.Specs {
		if s.Kind == alter.PartitionBy || s.Kind == alter.RemovePartitioning {
			return false // a partition clause must come last; it never is instant
		}
	}
	err := mysqlx.ExecUnderSQLMode(ctx, m.db, m.ddlMode, fmt.Sprintf("%sALTER TABLE %s %s, ALGORITHM=INSTANT", mysqlx.Tag, shadow, m.change.Clause))
	if err != nil {
		m.log.Info("not an instant change; copying online", "reason", err)
	}
	return err == nil
}

// runInstant applies the change to the table natively with
// ALGORITHM=INSTANT. Its metadata lock waits at most the cut-over budget
// (the application queues behind a waiting DDL), and it is retried like
// the cut-over. It reports false when the table itself turns out not to
// allow it (an older row format, too many instant changes already), so
// that the caller copies instead.
func (m *migration) runInstant(ctx context.Context) (bool, error) {
	conn, err := m.db.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("%sSET SESSION lock_wait_timeout = %d", mysqlx.Tag, lockSeconds(m.opt.CutoverLockTimeout))); err != nil {
		return false, err
	}
	restore, err := mysqlx.SetSQLMode(ctx, conn, m.ddlMode)
	if err != nil {
		return false, err
	}
	defer restore()
	q := fmt.Sprintf("%sALTER TABLE %s %s, ALGORITHM=INSTANT", mysqlx.Tag, mysqlx.QT(m.opt.Conn.Database, m.opt.Table), m.change.Clause)
	for attempt := 1; ; attempt++ {
		start := time.Now()
		_, err := conn.ExecContext(ctx, q)
		if err == nil {
			m.summary.CutoverStall, m.summary.CutoverAttempts = time.Since(start), attempt
			return true, nil
		}
		if mysqlx.ErrCode(err) != mysqlx.ErrLockWaitTimeout {
			m.log.Warn("the table refused the instant change; copying online instead", "err", err)
			return false, nil
		}
		if attempt >= m.opt.CutoverRetries {
			return false, fmt.Errorf("instant ALTER: the table stayed locked by other sessions through %d attempts, nothing was changed: %w", attempt, err)
		}
		m.log.Warn("instant ALTER waited too long for the table; retrying", "attempt", attempt, "err", err)
		m.emit(Event{Message: fmt.Sprintf("instant attempt %d failed: %v", attempt, err)})
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(time.Duration(min(attempt, 5)) * time.Second):
		}
	}
}
