package throttle

import (
	"context"
	"database/sql"
)

// ThreadsRunning measures the server's Threads_running: sessions executing
// a statement now (not idle), including godwit's own.
type ThreadsRunning struct{ db *sql.DB }

// NewThreadsRunning watches the server db is connected to.
func NewThreadsRunning(db *sql.DB) *ThreadsRunning { return &ThreadsRunning{db: db} }

// Name is "Threads_running".
func (p *ThreadsRunning) Name() string { return "Threads_running" }

// Measure reads SHOW GLOBAL STATUS.
func (p *ThreadsRunning) Measure(ctx context.Context) (float64, error) {
	return globalStatus(ctx, p.db, "Threads_running")
}
