package throttle

import (
	"context"
	"database/sql"
	"sync"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// LockWaits measures how many InnoDB transactions wait for a row lock now.
// The copy's INSERT ... SELECT takes shared locks on the rows it reads, so
// waits are the most direct sign that it gets in the application's way.
//
// It counts the waiting transactions in information_schema.INNODB_LOCK_WAITS
// (MariaDB) or performance_schema.data_lock_waits (MySQL 8 with the
// performance schema on), whichever the server has, and otherwise reads
// the status counter Innodb_row_lock_current_waits.
type LockWaits struct {
	db *sql.DB

	mu    sync.Mutex
	query string // chosen on the first measurement
}

// The ways to count lock waits, in order of preference.
const (
	lockWaitsMariaDB = "SELECT COUNT(DISTINCT requesting_trx_id) FROM information_schema.INNODB_LOCK_WAITS"
	lockWaitsMySQL   = "SELECT COUNT(DISTINCT REQUESTING_ENGINE_TRANSACTION_ID) FROM performance_schema.data_lock_waits"
	lockWaitsStatus  = "Innodb_row_lock_current_waits"
)

// NewLockWaits watches the server db is connected to.
func NewLockWaits(db *sql.DB) *LockWaits { return &LockWaits{db: db} }

// Name is "InnoDB lock waits".
func (p *LockWaits) Name() string { return "InnoDB lock waits" }

// Measure returns the number of waiting transactions.
func (p *LockWaits) Measure(ctx context.Context) (float64, error) {
	p.mu.Lock()
	q := p.query
	p.mu.Unlock()
	if q == "" {
		var err error
		if q, err = p.choose(ctx); err != nil {
			return 0, err
		}
		p.mu.Lock()
		p.query = q
		p.mu.Unlock()
	}
	if q == lockWaitsStatus {
		return globalStatus(ctx, p.db, lockWaitsStatus)
	}
	var n float64
	err := p.db.QueryRowContext(ctx, mysqlx.Tag+q).Scan(&n)
	return n, err
}

// choose picks the first way to count that the server has and lets this
// user read.
func (p *LockWaits) choose(ctx context.Context) (string, error) {
	var has struct{ is, ps bool }
	rows, err := p.db.QueryContext(ctx, mysqlx.Tag+"SELECT LOWER(TABLE_SCHEMA) FROM information_schema.TABLES"+
		" WHERE (TABLE_SCHEMA = 'information_schema' AND TABLE_NAME = 'INNODB_LOCK_WAITS')"+
		" OR (TABLE_SCHEMA = 'performance_schema' AND TABLE_NAME = 'data_lock_waits')")
	if err != nil {
		return "", err
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return "", err
		}
		has.is = has.is || s == "information_schema"
		has.ps = has.ps || s == "performance_schema"
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", err
	}
	var psOn bool
	if has.ps {
		// The tables exist, but stay empty, with the performance schema off.
		if err := p.db.QueryRowContext(ctx, mysqlx.Tag+"SELECT @@performance_schema").Scan(&psOn); err != nil {
			return "", err
		}
	}
	for _, c := range []struct {
		ok bool
		q  string
	}{{has.is, lockWaitsMariaDB}, {has.ps && psOn, lockWaitsMySQL}} {
		if !c.ok {
			continue
		}
		var n float64
		if err := p.db.QueryRowContext(ctx, mysqlx.Tag+c.q).Scan(&n); err == nil {
			return c.q, nil
		} else if ctx.Err() != nil {
			return "", err
		}
		// Most likely no PROCESS privilege: try the next way.
	}
	return lockWaitsStatus, nil
}
