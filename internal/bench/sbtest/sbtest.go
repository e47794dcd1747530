// Package sbtest fills the sysbench-like table that the bench and the demo
// migrate, server-side, on MariaDB and MySQL alike, and tells the two
// apart.
package sbtest

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// Server is the family and version of the server, as it says itself.
type Server struct {
	Version string // VERSION()
	MariaDB bool   // else MySQL
}

// Detect asks the server what it is: MariaDB's VERSION() says MariaDB,
// MySQL's is a bare number.
func Detect(ctx context.Context, db *sql.DB) (Server, error) {
	var s Server
	if err := db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&s.Version); err != nil {
		return s, fmt.Errorf("server version: %w", err)
	}
	s.MariaDB = strings.Contains(strings.ToLower(s.Version), "mariadb")
	return s, nil
}

// Family is mariadb or mysql, as the sandbox's flavors name them.
func (s Server) Family() string {
	if s.MariaDB {
		return "mariadb"
	}
	return "mysql"
}

// String names the server for a report: "MariaDB 10.11.6-MariaDB-0+deb12u1",
// "MySQL 9.7.4-2".
func (s Server) String() string {
	if s.MariaDB {
		return "MariaDB " + s.Version
	}
	return "MySQL " + s.Version
}

// Batch is the rows one INSERT ... SELECT of the fill writes.
const Batch = 100_000

// Row is the row Fill makes for id, computed in Go, for the writers'
// models of the bench and the demo.
func Row(id int64) (k int64, c, pad string) {
	return id * 7919 % 1000003, strings.Repeat("c", 100) + "-" + strconv.FormatInt(id, 10), strings.Repeat("p", 60)
}

// row is Row in SQL, for the id in expression n.
func row(n string) string {
	return fmt.Sprintf("%[1]s, (%[1]s * 7919) %% 1000003, CONCAT(REPEAT('c', 100), '-', %[1]s), REPEAT('p', 60)", n)
}

// selectRows is the statement that generates rows lo..hi. MariaDB's sequence
// engine is the fastest generator there (its seq_1_to_N tables need no
// recursion); MySQL has none, so there a recursive CTE counts, with the
// recursion limit raised for the one statement (insertHint), since a
// session setting would follow the pooled connection into later
// statements. Both produce the ids in order, so the primary key is
// appended to, never split.
func selectRows(s Server, lo, hi int) string {
	if s.MariaDB {
		return fmt.Sprintf("SELECT %s FROM seq_%d_to_%d", row("seq"), lo, hi)
	}
	return fmt.Sprintf("SELECT %s FROM (WITH RECURSIVE s (n) AS (SELECT CAST(%d AS SIGNED) UNION ALL SELECT n + 1 FROM s WHERE n < %d) SELECT n FROM s) AS g",
		row("n"), lo, hi)
}

// insertHint goes after INSERT: on MySQL it raises the limit of CTE
// recursion (1,000 by default) to what a batch needs, for this statement
// only. MariaDB's sequence engine needs none.
func insertHint(s Server) string {
	if s.MariaDB {
		return ""
	}
	return fmt.Sprintf("/*+ SET_VAR(cte_max_recursion_depth = %d) */ ", Batch+1)
}

// Fill inserts rows 1..n into table (which has the columns id, k, c, pad
// and is empty), in batches of Batch rows; tag prefixes each statement.
func Fill(ctx context.Context, db *sql.DB, s Server, table string, n int, tag string) error {
	for lo := 1; lo <= n; lo += Batch {
		hi := min(lo+Batch-1, n)
		q := tag + "INSERT " + insertHint(s) + "INTO " + mysqlx.Q(table) + " (id, k, c, pad) " + selectRows(s, lo, hi)
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("fill rows %d..%d: %w", lo, hi, err)
		}
	}
	return nil
}
