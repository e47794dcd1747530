package main

import (
	"context"
	"database/sql"
	"fmt"
	"hash/crc32"
	"strings"
	"time"

	"github.com/godwit-db/godwit/internal/bench/sbtest"
	"github.com/godwit-db/godwit/internal/mysqlx"
)

// tag names the bench in the processlist, as godwit's own tag names godwit.
const tag = "/* godwit-bench */ "

// table is the name every run migrates; each run gets a fresh one.
const table = "sbtest"

// checksumCols are the columns compared before and after the change.
var checksumCols = []string{"id", "k", "c", "pad"}

// createSQL is the sysbench table (oltp_common.lua), with a BIGINT id so
// that key updates can move rows beyond the filled range.
const createSQL = "CREATE TABLE `" + table + "` (id BIGINT NOT NULL PRIMARY KEY, k INT NOT NULL, " +
	"c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL, KEY k (k)) ENGINE=InnoDB"

// row is one row's k, c and pad, as the writers' model holds it.
type row struct {
	k      int64
	c, pad string
}

// initial computes in Go the row that the fill (sbtest.Fill) makes for id.
func initial(id int64) row {
	k, c, pad := sbtest.Row(id)
	return row{k: k, c: c, pad: pad}
}

// crc is CRC32(CONCAT_WS('#', id, k, c, pad)) as the server computes it.
func (r row) crc(id int64) uint32 {
	return crc32.ChecksumIEEE(fmt.Appendf(nil, "%d#%d#%s#%s", id, r.k, r.c, r.pad))
}

// sum is a table's row count and the XOR of its rows' CRC32: equal sums
// mean equal tables (short of a CRC collision), whatever the physical
// structure, which CHECKSUM TABLE cannot compare.
type sum struct {
	Rows int64  `json:"rows"`
	XOR  uint32 `json:"crc32_xor"`
}

func (s sum) String() string { return fmt.Sprintf("%d rows, crc32 xor %08x", s.Rows, s.XOR) }

// drop removes the table and anything a godwit run leaves behind.
func drop(ctx context.Context, db *sql.DB) error {
	for _, t := range []string{table, "_" + table + "_new", "_" + table + "_old", table + "_godwit_new", table + "_godwit_old"} {
		if _, err := db.ExecContext(ctx, tag+"DROP TABLE IF EXISTS "+mysqlx.Q(t)); err != nil {
			return fmt.Errorf("drop %s: %w", t, err)
		}
	}
	return nil
}

// fill creates a fresh table of n rows, server-side.
func fill(ctx context.Context, db *sql.DB, srv sbtest.Server, n int) error {
	if err := drop(ctx, db); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, tag+createSQL); err != nil {
		return fmt.Errorf("create %s: %w", table, err)
	}
	return sbtest.Fill(ctx, db, srv, table, n, tag)
}

// checksum reads the whole of table name.
func checksum(ctx context.Context, db *sql.DB, name string) (sum, error) {
	var s sum
	var x sql.NullInt64
	q := fmt.Sprintf("%sSELECT COUNT(*), BIT_XOR(CRC32(CONCAT_WS('#', %s))) FROM %s", tag, mysqlx.QList(checksumCols), mysqlx.Q(name))
	if err := db.QueryRowContext(ctx, q).Scan(&s.Rows, &x); err != nil {
		return s, fmt.Errorf("checksum %s: %w", name, err)
	}
	s.XOR = uint32(x.Int64)
	return s, nil
}

// initialSum is the sum of a freshly filled table of n rows, computed in
// Go: it proves the model's initial() agrees with the server's fill.
func initialSum(n int) sum {
	s := sum{Rows: int64(n)}
	for id := int64(1); id <= int64(n); id++ {
		s.XOR ^= initial(id).crc(id)
	}
	return s
}

// missingColumns lists the checksum columns the table no longer has.
func missingColumns(ctx context.Context, db *sql.DB, name string) ([]string, error) {
	rs, err := db.QueryContext(ctx, tag+"SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?", name)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	have := map[string]bool{}
	for rs.Next() {
		var c string
		if err := rs.Scan(&c); err != nil {
			return nil, err
		}
		have[strings.ToLower(c)] = true
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	var missing []string
	for _, c := range checksumCols {
		if !have[c] {
			missing = append(missing, c)
		}
	}
	return missing, nil
}

// tableExists says whether name is in the bench schema.
func tableExists(ctx context.Context, db *sql.DB, name string) (bool, error) {
	var n int
	err := db.QueryRowContext(ctx, tag+"SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?", name).Scan(&n)
	return n > 0, err
}

// replica waits for the sandbox replica to apply what the primary has
// written, so that one run's replication work does not slow the next, and
// measures how far behind a run left it.
type replica struct {
	primary, db *sql.DB
	mariadb     bool // the replica's family: MariaDB's statements, else MySQL's
}

// The -replica modes.
const (
	replicaDuring = "during"
	replicaAfter  = "after"
)

// sqlThread is the statement that stops or starts the replica's SQL thread;
// MySQL 9 has dropped the word SLAVE, MariaDB 10.5+ takes REPLICA too.
func sqlThread(verb string) string { return tag + verb + " REPLICA SQL_THREAD" }

// hold stops the replica's SQL thread, so that it applies nothing until
// release; its IO thread still fetches the binlog.
func (r *replica) hold(ctx context.Context) error {
	if r == nil || r.db == nil {
		return nil
	}
	if _, err := r.db.ExecContext(ctx, sqlThread("STOP")); err != nil {
		return fmt.Errorf("stop the replica's SQL thread: %w", err)
	}
	return nil
}

func (r *replica) release(ctx context.Context) error {
	if r == nil || r.db == nil {
		return nil
	}
	if _, err := r.db.ExecContext(ctx, sqlThread("START")); err != nil {
		return fmt.Errorf("start the replica's SQL thread: %w", err)
	}
	return nil
}

// catchUp waits until the replica has applied the primary's binlog as of
// now and returns how long that took; with no replica it returns 0. Both
// wait functions return 0 once there; on timeout MySQL's returns 1,
// MariaDB's -1.
func (r *replica) catchUp(ctx context.Context) (time.Duration, error) {
	if r == nil || r.db == nil {
		return 0, nil
	}
	start := time.Now()
	posQ, waitQ := "SELECT @@gtid_binlog_pos", "SELECT MASTER_GTID_WAIT(?, 900)"
	if !r.mariadb {
		posQ, waitQ = "SELECT @@GLOBAL.gtid_executed", "SELECT WAIT_FOR_EXECUTED_GTID_SET(?, 900)"
	}
	var pos string
	if err := r.primary.QueryRowContext(ctx, tag+posQ).Scan(&pos); err != nil {
		return 0, fmt.Errorf("primary gtid position: %w", err)
	}
	// MySQL writes a set of several server UUIDs with newlines.
	pos = strings.ReplaceAll(pos, "\n", "")
	var rc sql.NullInt64
	if err := r.db.QueryRowContext(ctx, tag+waitQ, pos).Scan(&rc); err != nil {
		return 0, fmt.Errorf("wait for the replica: %w", err)
	}
	if !rc.Valid || rc.Int64 != 0 {
		return time.Since(start), fmt.Errorf("the replica did not reach the primary's position %s within 900s (is replication running? testdata/sandbox/sandbox.sh status)", pos)
	}
	return time.Since(start), nil
}
