package migrate_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/migrate"
)

// enumLabels are the members the writers use; the table's ENUM has one
// more, "d", that no row holds, so an ALTER may remove it.
var enumLabels = []string{"zz", "b", "a", "c"}

// TestEnumKey migrates tables whose primary key holds an ENUM, walked by
// member number, while writers insert, update, delete and move rows
// between keys (the ENUM's member and the id); the swapped table is then
// compared row for row with what they committed. The ENUM's members are
// not in label order, so a walk by label would skip rows.
func TestEnumKey(t *testing.T) {
	const enum = "ENUM('zz','b','a','c','d') NOT NULL"
	for _, tc := range []struct {
		name, key, alter string
		want             []string // the members after the ALTER
	}{
		{"leading", "e, id", "ADD COLUMN w INT NOT NULL DEFAULT 7", nil},
		{"after-another-column", "g, e, id", "MODIFY e ENUM('zz','b','a','c','d','new') NOT NULL", []string{"zz", "b", "a", "c", "d", "new"}},
		{"last", "id, e", "MODIFY v BIGINT NOT NULL", nil},
		{"reordered", "e, id", "MODIFY e ENUM('d','c','a','b','zz') NOT NULL", []string{"d", "c", "a", "b", "zz"}},
		{"unused-member-removed", "e, id", "MODIFY e ENUM('zz','b','a','c') NOT NULL", []string{"zz", "b", "a", "c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := sandboxtest.New(t)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			sb.Exec(t, fmt.Sprintf("CREATE TABLE t (g INT NOT NULL, e %s, id INT NOT NULL, v INT NOT NULL, PRIMARY KEY (%s), KEY by_id (id))", enum, tc.key))
			w := newEnumWriters(sb.DB, 4, 8000)
			if err := w.load(ctx); err != nil {
				t.Fatal(err)
			}
			w.start(ctx)
			time.Sleep(300 * time.Millisecond)
			opt := options(sb, "t", tc.alter)
			opt.MaxChunkRows = 300 // many chunks, each bounded by an ENUM value
			sum, err := migrate.Run(ctx, opt)
			time.Sleep(300 * time.Millisecond)
			stats, werr := w.stop()
			if err != nil {
				t.Fatalf("migrate: %v", err)
			}
			if werr != nil {
				t.Fatalf("writers: %v", werr)
			}
			t.Logf("copied %d rows, %d binlog changes, %d re-applied; writers: %s", sum.Rows, sum.Changes, sum.Applied, stats)
			if stats.inserts == 0 || stats.updates == 0 || stats.deletes == 0 || stats.enumMoves == 0 || stats.idMoves == 0 {
				t.Fatalf("the writers did not make every kind of change: %s", stats)
			}
			if sum.ChecksumRows == 0 || sum.ChecksumRepairs != 0 {
				t.Fatalf("checksum compared %d rows and repaired %d chunks; a clean run compares all and repairs none", sum.ChecksumRows, sum.ChecksumRepairs)
			}
			if err := w.compare(ctx, "t"); err != nil {
				t.Fatal(err)
			}
			if tc.want != nil {
				var typ string
				if err := sb.DB.QueryRow("SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 't' AND COLUMN_NAME = 'e'").Scan(&typ); err != nil {
					t.Fatal(err)
				}
				if want := "enum('" + strings.Join(tc.want, "','") + "')"; typ != want {
					t.Fatalf("column e is %s, want %s", typ, want)
				}
			}
		})
	}
}

// TestEnumKeyMemberInUseRemoved: removing a member that rows of the key
// use is the data check's refusal, as for any ENUM column.
func TestEnumKeyMemberInUseRemoved(t *testing.T) {
	sb := sandboxtest.New(t)
	sb.Exec(t, "CREATE TABLE t (e ENUM('zz','b','a') NOT NULL, id INT NOT NULL, PRIMARY KEY (e, id))")
	sb.Exec(t, "INSERT INTO t VALUES ('zz', 1), ('b', 2), ('a', 3)")
	before := tables(t, sb)
	_, err := migrate.Run(context.Background(), options(sb, "t", "MODIFY e ENUM('zz','a') NOT NULL"))
	if !migrate.IsRefusal(err) || !strings.Contains(err.Error(), "not members of") {
		t.Fatalf("err = %v, want the data check's refusal of members in use", err)
	}
	if after := tables(t, sb); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Fatalf("tables changed: before %v, after %v", before, after)
	}
}

// enumRow is a row of the ENUM-keyed table; g is id % 3 and never changes.
type enumRow struct {
	e string
	v int
}

type enumStats struct{ inserts, updates, deletes, enumMoves, idMoves, retries int }

func (s enumStats) String() string {
	return fmt.Sprintf("%d inserts, %d updates, %d deletes, %d ENUM moves, %d id moves, %d retries after deadlocks",
		s.inserts, s.updates, s.deletes, s.enumMoves, s.idMoves, s.retries)
}

// enumWriters are the application of TestEnumKey: writer w owns the ids
// congruent to w, so the model of each row is exact.
type enumWriters struct {
	db      *sql.DB
	n, rows int
	mu      sync.Mutex
	model   map[int]enumRow
	stats   enumStats
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	errs    []error
}

func newEnumWriters(db *sql.DB, n, rows int) *enumWriters {
	return &enumWriters{db: db, n: n, rows: rows, model: map[int]enumRow{}}
}

func (w *enumWriters) load(ctx context.Context) error {
	r := rand.New(rand.NewPCG(1, 2))
	for start := 1; start <= w.rows; start += 500 {
		var vals []string
		for id := start; id < start+500 && id <= w.rows; id++ {
			row := enumRow{enumLabels[r.IntN(len(enumLabels))], r.IntN(1000)}
			w.model[id] = row
			vals = append(vals, fmt.Sprintf("(%d, '%s', %d, %d)", id%3, row.e, id, row.v))
		}
		if _, err := w.db.ExecContext(ctx, "INSERT INTO t (g, e, id, v) VALUES "+strings.Join(vals, ", ")); err != nil {
			return err
		}
	}
	return nil
}

func (w *enumWriters) start(ctx context.Context) {
	ctx, w.cancel = context.WithCancel(ctx)
	owned := make([][]int, w.n)
	for id := range w.model {
		owned[id%w.n] = append(owned[id%w.n], id)
	}
	for i := range w.n {
		w.wg.Go(func() {
			if err := w.run(ctx, i, owned[i]); err != nil {
				w.mu.Lock()
				w.errs = append(w.errs, fmt.Errorf("writer %d: %w", i, err))
				w.mu.Unlock()
			}
		})
	}
}

func (w *enumWriters) stop() (enumStats, error) {
	w.cancel()
	w.wg.Wait()
	return w.stats, errors.Join(w.errs...)
}

// run writes until ctx ends; a statement is only ever interrupted between
// two statements, so the model never holds an uncertain outcome.
func (w *enumWriters) run(ctx context.Context, i int, owned []int) error {
	r := rand.New(rand.NewPCG(uint64(i), 7))
	next := w.rows + 1 + i
	for next%w.n != i {
		next++
	}
	for ctx.Err() == nil {
		time.Sleep(time.Millisecond)
		k := r.IntN(len(owned))
		id := owned[k]
		w.mu.Lock()
		row := w.model[id]
		w.mu.Unlock()
		switch op := r.IntN(10); {
		case op < 3: // insert
			nr := enumRow{enumLabels[r.IntN(len(enumLabels))], r.IntN(1000)}
			if err := w.exec(ctx, "INSERT INTO t (g, e, id, v) VALUES (?, ?, ?, ?)", next%3, nr.e, next, nr.v); err != nil {
				return err
			}
			w.set(next, &nr, func(s *enumStats) { s.inserts++ })
			owned = append(owned, next)
			next += w.n
		case op < 5: // update a value
			row.v = r.IntN(1000)
			if err := w.exec(ctx, "UPDATE t SET v = ? WHERE id = ?", row.v, id); err != nil {
				return err
			}
			w.set(id, &row, func(s *enumStats) { s.updates++ })
		case op < 7: // move the row to another member
			row.e = enumLabels[r.IntN(len(enumLabels))]
			if err := w.exec(ctx, "UPDATE t SET e = ? WHERE id = ?", row.e, id); err != nil {
				return err
			}
			w.set(id, &row, func(s *enumStats) { s.enumMoves++ })
		case op < 8 && id%3 == next%3: // move the row to another id (g stays id % 3)
			if err := w.exec(ctx, "UPDATE t SET id = ? WHERE id = ?", next, id); err != nil {
				return err
			}
			w.set(id, nil, func(s *enumStats) { s.idMoves++ })
			w.set(next, &row, func(*enumStats) {})
			owned[k] = next
			next += w.n
		case len(owned) > 10: // delete
			if err := w.exec(ctx, "DELETE FROM t WHERE id = ?", id); err != nil {
				return err
			}
			w.set(id, nil, func(s *enumStats) { s.deletes++ })
			owned = append(owned[:k], owned[k+1:]...)
		}
	}
	return nil
}

// exec runs one autocommitted statement, again after a deadlock or a lock
// wait timeout (it rolled back); never under ctx, whose end would leave its
// outcome unknown.
func (w *enumWriters) exec(_ context.Context, q string, args ...any) error {
	for attempt := 0; ; attempt++ {
		res, err := w.db.ExecContext(context.Background(), q, args...)
		var me *mysql.MySQLError
		if errors.As(err, &me) && (me.Number == 1213 || me.Number == 1205) && attempt < 10 {
			w.mu.Lock()
			w.stats.retries++
			w.mu.Unlock()
			continue
		}
		if err != nil {
			return fmt.Errorf("%s %v: %w", q, args, err)
		}
		if n, _ := res.RowsAffected(); n != 1 && !strings.HasPrefix(q, "UPDATE t SET v") && !strings.HasPrefix(q, "UPDATE t SET e") {
			return fmt.Errorf("%s %v: %d rows affected, want 1", q, args, n)
		}
		return nil
	}
}

func (w *enumWriters) set(id int, row *enumRow, count func(*enumStats)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if row == nil {
		delete(w.model, id)
	} else {
		w.model[id] = *row
	}
	count(&w.stats)
}

// compare checks table row for row against the model.
func (w *enumWriters) compare(ctx context.Context, table string) error {
	rs, err := w.db.QueryContext(ctx, "SELECT g, e, id, v FROM "+table)
	if err != nil {
		return err
	}
	defer rs.Close()
	seen := map[int]bool{}
	var diffs []string
	for rs.Next() {
		var g, id, v int
		var e string
		if err := rs.Scan(&g, &e, &id, &v); err != nil {
			return err
		}
		seen[id] = true
		want, ok := w.model[id]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("id %d: extra row (%s, %d)", id, e, v))
		case want.e != e || want.v != v || g != id%3:
			diffs = append(diffs, fmt.Sprintf("id %d: (%d, %s, %d), want (%d, %s, %d)", id, g, e, v, id%3, want.e, want.v))
		}
	}
	if err := rs.Err(); err != nil {
		return err
	}
	for id := range w.model {
		if !seen[id] {
			diffs = append(diffs, fmt.Sprintf("id %d: missing", id))
		}
	}
	if len(diffs) > 0 {
		return fmt.Errorf("%d rows differ from what the writers committed: %s", len(diffs), strings.Join(diffs[:min(10, len(diffs))], "; "))
	}
	return nil
}
