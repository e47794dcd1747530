package migrate

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// pauseProbe makes `godwit pause` a throttle probe: it measures 1 while
// the control row says paused (its Max is 0). Going through the
// throttler, a pause holds the copy and the checksum exactly where the
// server's load would, binlog changes keep being applied meanwhile, and
// the pause shows in the progress reason and the summary's throttled
// time without code of its own.
type pauseProbe struct {
	db            *sql.DB
	schema, table string

	mu   sync.Mutex
	last Control // the last reading, for Describe
}

func newPauseProbe(db *sql.DB, schema, table string) *pauseProbe {
	return &pauseProbe{db: db, schema: schema, table: table}
}

// Name is what the throttler's logs call it.
func (p *pauseProbe) Name() string { return "godwit pause" }

// Measure reads the control row.
func (p *pauseProbe) Measure(ctx context.Context) (float64, error) {
	c, err := readControl(ctx, p.db, p.schema, p.table)
	if mysqlx.ErrCode(err) == mysqlx.ErrNoSuchTable {
		// The run's cleanup dropped the checkpoint table before the
		// throttler stopped: no table, no pause (and no warning).
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	p.mu.Lock()
	p.last = c
	p.mu.Unlock()
	if c.Paused {
		return 1, nil
	}
	return 0, nil
}

// Describe says who paused the migration, and how to go on.
func (p *pauseProbe) Describe(value, limit float64) string {
	p.mu.Lock()
	c := p.last
	p.mu.Unlock()
	return pausedReason(c)
}

// pausedReason words a pause for the progress and godwit status.
func pausedReason(c Control) string {
	s := "paused by godwit pause"
	if c.By != "" {
		s += " from " + c.By
	}
	if !c.At.IsZero() {
		s += " at " + c.At.UTC().Format(time.DateTime) + " UTC"
	}
	return s + " (godwit resume goes on)"
}
