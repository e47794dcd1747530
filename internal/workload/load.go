package workload

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

const (
	loadBatch   = 1000 // rows per INSERT: 21,000 placeholders, under the 65,535 limit
	loadWorkers = 4
	// loadTimeout bounds one INSERT, to catch a hung server. A batch
	// normally takes a fraction of a second, but a table many times the
	// buffer pool, loaded on busy cores, once needed over a minute.
	loadTimeout = 10 * time.Minute
)

// Load inserts rows 1..n into table name, which must be empty, and returns
// the model of what it inserted. The rows depend only on seed and n, not on
// which goroutine inserts which batch.
func Load(ctx context.Context, db *sql.DB, name string, n int, seed int64) (*Model, error) {
	return load(ctx, db, name, n, seed, false)
}

// LoadLean is Load with a lean model: it keeps a hash of each value instead
// of its text, about a fifth of the memory, and a mismatch it reports shows
// the table's value but only the model's hash.
func LoadLean(ctx context.Context, db *sql.DB, name string, n int, seed int64) (*Model, error) {
	return load(ctx, db, name, n, seed, true)
}

func load(ctx context.Context, db *sql.DB, name string, n int, seed int64, lean bool) (*Model, error) {
	m := newModel(lean)
	m.maxID = int64(n)
	batches := (n + loadBatch - 1) / loadBatch

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(loadWorkers, batches) {
		wg.Go(func() {
			conn, err := session(ctx, db, loadTimeout)
			if err != nil {
				cancel(err)
				return
			}
			defer discard(conn)
			for b := range jobs {
				if err := loadBatchRows(ctx, conn, name, m, b, n, seed); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
feed:
	for b := range batches {
		select {
		case jobs <- b:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, fmt.Errorf("workload: load %d rows into %s: %w", n, name, err)
	}
	return m, nil
}

// loadBatchRows inserts batch b with one statement, so it commits whole or not at all.
func loadBatchRows(ctx context.Context, conn *sql.Conn, name string, m *Model, b, n int, seed int64) error {
	r := rand.New(rand.NewPCG(uint64(seed), uint64(b)))
	first := int64(b*loadBatch + 1)
	rows := min(loadBatch, n-b*loadBatch)
	all := make([]int, len(columns))
	for i := range all {
		all[i] = i
	}
	args := make([]any, 0, rows*(len(columns)+1))
	vals := make([][]sql.NullString, rows)
	for j := range rows {
		args = append(args, first+int64(j))
		vals[j] = make([]sql.NullString, len(columns))
		for i := range columns {
			var arg any
			arg, vals[j][i] = value(r, i)
			args = append(args, arg)
		}
	}
	sctx, cancel := context.WithTimeout(ctx, loadTimeout)
	defer cancel()
	if _, err := conn.ExecContext(sctx, insertSQL(name, all, rows), args...); err != nil {
		return fmt.Errorf("insert ids %d..%d: %w", first, first+int64(rows)-1, err)
	}
	for j := range rows {
		m.insert(first+int64(j), vals[j])
	}
	return nil
}

// insertSQL inserts rows rows of id and the columns at idx.
func insertSQL(table string, idx []int, rows int) string {
	var b strings.Builder
	b.WriteString(tag + "INSERT INTO " + mysqlx.Q(table) + " (`id`")
	for _, i := range idx {
		b.WriteString(", " + mysqlx.Q(columns[i].name))
	}
	b.WriteString(") VALUES ")
	row := "(?" + strings.Repeat(", ?", len(idx)) + ")"
	for j := range rows {
		if j > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}
