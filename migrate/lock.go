package migrate

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// The migration of a table holds a server-side named lock for as long as
// it runs, on a connection of its own. A second godwit for the same table
// is refused instead of racing the first for the shadow; `godwit abort`
// refuses to remove the tables of a migration that still runs; and when
// the process dies, the server drops the connection and the lock with it.

// The lock's connection idles for the whole run, hours on a large table,
// and a server closes a connection idle past its wait_timeout (8 hours by
// default): the lock would go with it, silently, and a second run or
// godwit abort could take over the shadow of a run that still copies. So
// the connection raises its own wait_timeout, and a keepalive checks every
// lockKeepalive that it still holds the lock; when it does not, the run is
// stopped at once, keeping its checkpoint (keep.go).

// lockKeepalive is how often the lock is checked; the run learns of a
// lost lock within this.
const lockKeepalive = 5 * time.Second

// lockWaitTimeout is the lock connection's wait_timeout: a year, the
// largest both servers accept.
const lockWaitTimeout = 31536000

// lockName is the GET_LOCK name for a table; names are limited to 64
// characters, so long ones are hashed.
func lockName(schema, table string) string {
	name := "godwit:" + schema + "." + table
	if len(name) <= 64 {
		return name
	}
	sum := sha256.Sum256([]byte(schema + "." + table))
	return "godwit:" + hex.EncodeToString(sum[:])[:57]
}

// takeTableLock takes the table's lock or refuses because another
// migration holds it.
func (m *migration) takeTableLock(ctx context.Context) error {
	conn, err := m.db.Conn(ctx)
	if err != nil {
		return err
	}
	var got sql.NullInt64
	name := lockName(m.opt.Conn.Database, m.opt.Table)
	if err := conn.QueryRowContext(ctx, mysqlx.Tag+"SELECT GET_LOCK(?, 0)", name).Scan(&got); err != nil {
		conn.Close()
		return fmt.Errorf("take the migration lock: %w", err)
	}
	if got.Int64 != 1 {
		conn.Close()
		holder, _ := lockHolder(ctx, m.db, name)
		return refuse("running", "Wait for it to finish, or stop it (Ctrl-C, or KILL that connection) and run godwit abort.",
			"another godwit is migrating %s.%s (connection %d)", m.opt.Conn.Database, m.opt.Table, holder)
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("%sSET SESSION wait_timeout = %d", mysqlx.Tag, lockWaitTimeout)); err != nil {
		conn.Close()
		return fmt.Errorf("keep the migration lock's connection open: %w", err)
	}
	m.tableLock = conn
	m.startLockKeepalive(name)
	return nil
}

// startLockKeepalive checks the lock every lockKeepalive until
// stopLockKeepalive, and stops the run when it is gone.
func (m *migration) startLockKeepalive(name string) {
	done, stopped := make(chan struct{}), make(chan struct{})
	m.stopKeepalive = sync.OnceFunc(func() { close(done); <-stopped })
	go func() {
		defer close(stopped)
		tick := time.NewTicker(lockKeepalive)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			if err := m.checkLockHeld(name); err != nil {
				m.log.Error("the migration's named lock is gone; stopping at once, keeping the checkpoint", "lock", name, "err", err)
				if m.stopRun != nil {
					m.stopRun(fmt.Errorf("%w: %w", errLockLost, err))
				}
				return
			}
		}
	}()
}

// checkLockHeld asks, on the lock's own connection, whether it still
// holds the lock.
func (m *migration) checkLockHeld(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var mine sql.NullBool
	if err := m.tableLock.QueryRowContext(ctx, mysqlx.Tag+"SELECT IS_USED_LOCK(?) = CONNECTION_ID()", name).Scan(&mine); err != nil {
		return err
	}
	if !mine.Bool {
		return errors.New("another connection holds it, or none does")
	}
	return nil
}

// stopLockKeepalive ends the keepalive; the lock's connection is then
// free to release it.
func (m *migration) stopLockKeepalive() {
	if m.stopKeepalive != nil {
		m.stopKeepalive()
	}
}

// releaseTableLock ends the lock's connection, which releases the lock.
func (m *migration) releaseTableLock() {
	m.stopLockKeepalive()
	if m.tableLock != nil {
		m.tableLock.ExecContext(context.Background(), mysqlx.Tag+"DO RELEASE_LOCK(?)", lockName(m.opt.Conn.Database, m.opt.Table))
		m.tableLock.Close()
		m.tableLock = nil
	}
}

// lockHolder is the connection id holding a migration's lock, or 0.
func lockHolder(ctx context.Context, db *sql.DB, name string) (int64, error) {
	var id sql.NullInt64
	err := db.QueryRowContext(ctx, mysqlx.Tag+"SELECT IS_USED_LOCK(?)", name).Scan(&id)
	return id.Int64, err
}
