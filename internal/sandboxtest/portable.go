package sandboxtest

import (
	"github.com/godwit-db/godwit/internal/mysqlx"

	"fmt"
	"regexp"
	"strconv"
)

// seqTable matches MariaDB's sequence engine tables, seq_1_to_1000 and
// seq_0_to_99 (the form the fixtures use: no step, no alias).
var seqTable = regexp.MustCompile(`\bseq_(\d+)_to_(\d+)\b`)

// Portable rewrites what in query is MariaDB-only into what MySQL runs the
// same way, when mysql is true. The fixtures generate rows with MariaDB's
// sequence tables (seq_1_to_N), which MySQL lacks: there each becomes a
// recursive CTE yielding the same column seq. (The
// sandbox raises the recursion limit, 1000 by default, on every flavor.)
func Portable(query string, mysql bool) string {
	if !mysql {
		return query
	}
	return seqTable.ReplaceAllStringFunc(query, func(name string) string {
		m := seqTable.FindStringSubmatch(name)
		lo, _ := strconv.ParseInt(m[1], 10, 64)
		hi, _ := strconv.ParseInt(m[2], 10, 64)
		// The alias differs from the name, so that a query rewritten
		// twice is rewritten once.
		return fmt.Sprintf("(WITH RECURSIVE gen(seq) AS (SELECT CAST(%d AS UNSIGNED) UNION ALL SELECT seq + 1 FROM gen WHERE seq < %d) SELECT seq FROM gen) AS gen_%d_to_%d",
			lo, hi, lo, hi)
	})
}

// Processlist names the table that lists the server's sessions (see
// mysqlx.Processlist: MySQL's information_schema one fails while any
// statement holds a 4-byte character).
func (s *Sandbox) Processlist() string {
	if s.mysql {
		return mysqlx.Processlist("mysql")
	}
	return mysqlx.Processlist("mariadb")
}
