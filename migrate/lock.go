package migrate

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// The migration of a table holds a server-side named lock for as long as
// it runs, on a connection of its own. A second godwit for the same table
// is refused instead of racing the first for the shadow; `godwit abort`
// refuses to remove the tables of a migration that still runs; and when
// the process dies, the server drops the connection and the lock with it.

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
	m.tableLock = conn
	return nil
}

// releaseTableLock ends the lock's connection, which releases the lock.
func (m *migration) releaseTableLock() {
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
