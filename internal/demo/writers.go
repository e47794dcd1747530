package main

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/godwit-db/godwit/internal/bench/sbtest"
)

// row is what a writer committed for an id; nil means deleted.
type row struct {
	k int64
	c string
}

// initial is the row fill() made for an id.
func initial(id int64) row {
	k, c, _ := sbtest.Row(id)
	return row{k: k, c: c}
}

// model holds only the ids the writers touched; all others keep initial().
type model struct {
	mu      sync.Mutex
	rows    int64
	touched map[int64]*row
}

type stats struct {
	inserts, updates, deletes, moves int
	lat                              []time.Duration
}

func (s *stats) p(q int) time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	slices.Sort(s.lat)
	return s.lat[min(len(s.lat)-1, len(s.lat)*q/100)].Round(100 * time.Microsecond)
}

type writers struct {
	model  *model
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	st     stats
	err    error
}

// startWriters runs n writers at a combined rate; writer w owns the ids
// with id % n == w, so the model needs no cross-writer ordering.
func startWriters(ctx context.Context, db *sql.DB, rows, rate, n int) *writers {
	ctx, cancel := context.WithCancel(ctx)
	w := &writers{model: &model{rows: int64(rows), touched: map[int64]*row{}}, cancel: cancel}
	for i := 0; i < n; i++ {
		w.wg.Add(1)
		go w.run(ctx, db, int64(i), int64(n), time.Second*time.Duration(n)/time.Duration(rate))
	}
	return w
}

func (w *writers) run(ctx context.Context, db *sql.DB, me, n int64, every time.Duration) {
	defer w.wg.Done()
	r := rand.New(rand.NewPCG(uint64(me), 42))
	next := w.model.rows + 1 + me // fresh ids beyond the fill, in my residue class
	for next%n != me {
		next++
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		id := r.Int64N(w.model.rows/n)*n + me
		if id == 0 {
			id = n
		}
		var (
			q    string
			args []any
			kind = r.IntN(10)
			nr   = row{k: r.Int64N(1_000_000), c: fmt.Sprintf("w%d-%d", me, r.Int64())}
		)
		switch {
		case kind < 3:
			q, args = "INSERT INTO sbtest (id, k, c, pad) VALUES (?, ?, ?, 'new')", []any{next, nr.k, nr.c}
		case kind < 8:
			q, args = "UPDATE sbtest SET k = ?, c = ? WHERE id = ?", []any{nr.k, nr.c, id}
		case kind < 9:
			q, args = "DELETE FROM sbtest WHERE id = ?", []any{id}
		default:
			q, args = "UPDATE sbtest SET id = ? WHERE id = ?", []any{next, id}
		}
		start := time.Now()
		res, err := db.ExecContext(context.Background(), q, args...)
		took := time.Since(start)
		if err != nil {
			w.fail(fmt.Errorf("%s: %w", q, err))
			return
		}
		affected, _ := res.RowsAffected()
		w.record(kind, took, id, next, nr)
		if kind < 3 || (kind == 9 && affected > 0) {
			next += n
		}
	}
}

// record updates the model after a statement succeeded; a statement on an
// id that no longer exists changed nothing.
func (w *writers) record(kind int, took time.Duration, id, next int64, nr row) {
	m := w.model
	m.mu.Lock()
	cur := m.get(id)
	switch {
	case kind < 3:
		m.touched[next] = &nr
	case cur == nil:
	case kind < 8:
		m.touched[id] = &nr
	case kind < 9:
		m.touched[id] = nil
	default:
		m.touched[next] = cur
		m.touched[id] = nil
	}
	m.mu.Unlock()
	w.mu.Lock()
	w.st.lat = append(w.st.lat, took)
	switch {
	case kind < 3:
		w.st.inserts++
	case kind < 8:
		w.st.updates++
	case kind < 9:
		w.st.deletes++
	default:
		w.st.moves++
	}
	w.mu.Unlock()
}

func (m *model) get(id int64) *row {
	if r, ok := m.touched[id]; ok {
		return r
	}
	if id >= 1 && id <= m.rows {
		r := initial(id)
		return &r
	}
	return nil
}

func (w *writers) fail(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
}

func (w *writers) stop() (stats, error) {
	w.cancel()
	w.wg.Wait()
	return w.st, w.err
}

// verify reads the whole table in key order and compares every row with
// the model; it returns the number of rows compared.
func (m *model) verify(ctx context.Context, db *sql.DB) (int64, error) {
	rs, err := db.QueryContext(ctx, "SELECT id, k, c FROM sbtest ORDER BY id")
	if err != nil {
		return 0, err
	}
	defer rs.Close()
	seen := map[int64]bool{}
	var n int64
	for rs.Next() {
		var id int64
		var got row
		if err := rs.Scan(&id, &got.k, &got.c); err != nil {
			return n, err
		}
		want := m.get(id)
		if want == nil {
			return n, fmt.Errorf("verify: row %d should not exist", id)
		}
		if *want != got {
			return n, fmt.Errorf("verify: row %d is %+v, want %+v", id, got, *want)
		}
		seen[id] = true
		n++
	}
	if err := rs.Err(); err != nil {
		return n, err
	}
	for id := int64(1); id <= m.rows; id++ {
		if !seen[id] && m.get(id) != nil {
			return n, fmt.Errorf("verify: row %d is missing", id)
		}
	}
	for id, r := range m.touched {
		if r != nil && !seen[id] {
			return n, fmt.Errorf("verify: row %d is missing", id)
		}
	}
	return n, nil
}
