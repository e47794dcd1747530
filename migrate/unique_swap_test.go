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

// TestMigrateUniqueSwaps migrates a table with a UNIQUE key while writers
// keep swapping its values between rows far apart, in three commits each
// (x takes a value no row holds, y takes x's, x takes y's): a row's new
// value is often still held in the shadow by a row whose change another
// parallel apply part, another batch or the next flush brings. The
// migration must not fail with a duplicate key, the table must end equal
// to what the writers committed, and the writers must never lose a
// statement to godwit's locks.
func TestMigrateUniqueSwaps(t *testing.T) {
	sb := sandboxtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const rows, writers = 20_000, 4
	sb.Exec(t, "CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, a INT NOT NULL, v VARCHAR(20) NOT NULL, UNIQUE KEY a (a))")
	model := make(map[int64]swapRow, rows)
	for start := int64(1); start <= rows; start += 1000 {
		var vals []string
		for id := start; id < start+1000; id++ {
			vals = append(vals, fmt.Sprintf("(%d, %d, 'v0')", id, id))
			model[id] = swapRow{a: id, v: "v0"}
		}
		sb.Exec(t, "INSERT INTO t VALUES "+strings.Join(vals, ","))
	}

	var wg sync.WaitGroup
	stop := make(chan struct{})
	stats := make([]swapStats, writers)
	errs := make([]error, writers)
	models := make([]map[int64]swapRow, writers)
	for w := range writers {
		// Writer w owns the ids ≡ w (mod writers): no two touch one row.
		models[w] = map[int64]swapRow{}
		for id, r := range model {
			if id%writers == int64(w) {
				models[w][id] = r
			}
		}
		wg.Go(func() { errs[w] = swapWriter(ctx, sb.DB, w, writers, rows, models[w], &stats[w], stop) })
	}
	time.Sleep(300 * time.Millisecond)
	opt := options(sb, "t", "MODIFY v VARCHAR(40) NOT NULL")
	sum, err := migrate.Run(ctx, opt)
	time.Sleep(300 * time.Millisecond) // and into the new table
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("migrate: %v", err)
	}
	var total swapStats
	for w := range writers {
		if errs[w] != nil {
			t.Fatalf("writer %d: %v", w, errs[w])
		}
		total.statements += stats[w].statements
		total.swaps += stats[w].swaps
		total.deadlocks += stats[w].deadlocks
		total.lockWaits += stats[w].lockWaits
		for id, r := range models[w] {
			model[id] = r
		}
	}
	t.Logf("rows %d, %d swaps; binlog changes %d, re-applied %d, checksum repairs %d; writers: %d statements, %d deadlocks, %d lock-wait timeouts",
		sum.Rows, total.swaps, sum.Changes, sum.Applied, sum.ChecksumRepairs, total.statements, total.deadlocks, total.lockWaits)
	if total.swaps < 100 {
		t.Fatalf("only %d swaps during the migration: the test did not test anything", total.swaps)
	}
	if total.deadlocks != 0 || total.lockWaits != 0 {
		t.Fatalf("the writers lost statements to locks: %d deadlocks, %d lock-wait timeouts", total.deadlocks, total.lockWaits)
	}
	if sum.Rows != rows {
		t.Fatalf("copied %d rows of %d: the rows copied again under a moved unique value were counted twice or not at all", sum.Rows, rows)
	}
	if sum.ChecksumRepairs != 0 {
		t.Fatalf("the checksum repaired %d chunks; the copy must be right the first time", sum.ChecksumRepairs)
	}
	rs, err := sb.DB.QueryContext(ctx, "SELECT id, a, v FROM t ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	seen := 0
	for rs.Next() {
		var id int64
		var r swapRow
		if err := rs.Scan(&id, &r.a, &r.v); err != nil {
			t.Fatal(err)
		}
		if want, ok := model[id]; !ok || want != r {
			t.Fatalf("row %d is %+v, the writers committed %+v (present %v)", id, r, want, ok)
		}
		seen++
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	if seen != len(model) {
		t.Fatalf("the table holds %d rows, the writers committed %d", seen, len(model))
	}
}

type swapRow struct {
	a int64
	v string
}

type swapStats struct{ statements, swaps, deadlocks, lockWaits int64 }

// swapWriter swaps the unique values of one of its rows in the lower half
// of the ids with one in the upper half, over and over, until stop.
func swapWriter(ctx context.Context, db *sql.DB, w, writers, rows int, m map[int64]swapRow, st *swapStats, stop <-chan struct{}) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SET SESSION innodb_lock_wait_timeout = 10, autocommit = 1"); err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(uint64(w), 7))
	pick := func(lo int) int64 { return int64((lo+r.IntN(rows/2))/writers*writers + w) }
	exec := func(q string, args ...any) error {
		for {
			_, err := conn.ExecContext(ctx, q, args...)
			var me *mysql.MySQLError
			if errors.As(err, &me) && (me.Number == 1213 || me.Number == 1205) {
				if me.Number == 1213 {
					st.deadlocks++
				} else {
					st.lockWaits++
				}
				continue
			}
			if err == nil {
				st.statements++
			}
			return err
		}
	}
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		x, y := pick(0), pick(rows/2)
		rx, ok1 := m[x]
		ry, ok2 := m[y]
		if !ok1 || !ok2 { // not this writer's rows
			continue
		}
		v := fmt.Sprintf("s%d", r.IntN(1_000_000))
		if err := exec("UPDATE t SET a = -a, v = ? WHERE id = ?", v, x); err != nil {
			return fmt.Errorf("park %d: %w", x, err)
		}
		if err := exec("UPDATE t SET a = ? WHERE id = ?", rx.a, y); err != nil {
			return fmt.Errorf("move %d's value to %d: %w", x, y, err)
		}
		if err := exec("UPDATE t SET a = ? WHERE id = ?", ry.a, x); err != nil {
			return fmt.Errorf("move %d's value to %d: %w", y, x, err)
		}
		m[x], m[y] = swapRow{a: ry.a, v: v}, swapRow{a: rx.a, v: ry.v}
		st.swaps++
	}
}
