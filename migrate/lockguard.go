package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// A lock that holds the application's writes back must end with its
// budget. Cancelling a statement's context is not enough: the driver
// closes its socket, but the server goes on running the statement, and
// keeps the connection's table locks, until the statement ends. Killing
// the connection on the server ends both at once.

// connectionID is the server's id of conn.
func connectionID(ctx context.Context, conn *sql.Conn) (int64, error) {
	var id int64
	if err := conn.QueryRowContext(ctx, mysqlx.Tag+"SELECT CONNECTION_ID()").Scan(&id); err != nil {
		return 0, fmt.Errorf("read the connection id: %w", err)
	}
	return id, nil
}

// killAtDeadline kills connection id, through the pool, if ctx ends before
// stop is called. stop reports whether the kill was issued: the work done
// under the connection's locks then cannot be trusted to have held them.
// Calling stop again returns the same answer.
func (m *migration) killAtDeadline(ctx context.Context, id int64) (stop func() (killed bool)) {
	done := make(chan struct{})
	result := make(chan bool, 1)
	go func() {
		select {
		case <-done:
			result <- false
		case <-ctx.Done():
			kctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, err := m.db.ExecContext(kctx, mysqlx.Tag+"KILL "+strconv.FormatInt(id, 10)); err != nil {
				m.log.Warn("kill the connection holding the lock past its budget", "connection", id, "err", err)
			}
			result <- true
		}
	}()
	var once sync.Once
	var killed bool
	return func() bool {
		once.Do(func() {
			close(done)
			killed = <-result
		})
		return killed
	}
}
