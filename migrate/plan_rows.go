package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/godwit-db/godwit/copier"
	"github.com/godwit-db/godwit/internal/mysqlx"
)

// plan_rows.go: the planner's own measure of the table's rows, against
// which it checks the server's statistics. information_schema.TABLES
// serves InnoDB's persistent statistics, which a bulk load leaves stale
// until they are recalculated: never with STATS_AUTO_RECALC=0 or
// innodb_stats_auto_recalc=OFF, and MySQL also caches them for
// information_schema_stats_expiry (a day). A plan made right after the
// load would then promise a copy of an empty table on an empty disk.

// Probes of the key-range estimate: probeSegments stretches of the key's
// range, each read up to probeKeys keys: at most 16,000 keys in key
// order, less than the sample reads (on a 1M-row table of the two-core
// sandbox, all 16 probes took under 0.1 s). A bulk load's keys, a range
// of AUTO_INCREMENT values, come out exactly.
const (
	probeSegments = 16
	probeKeys     = 1000
)

// staleFactor is how far the statistics may be from godwit's own figure
// before the plan calls them stale and uses its own: InnoDB's sampled
// estimate is often off by tens of percent, never by this much unless
// the table changed since.
const staleFactor = 2

// ownCount is the planner's own figure for the table's rows.
type ownCount struct {
	rows    int64
	exact   bool   // counted
	atLeast bool   // a lower bound: the table has at least rows
	how     string // for the plan's basis
}

// countRows measures the rows without the server's statistics: the
// sample when it read the whole table; else, for a single integer key,
// the density of keys at probeSegments places of its range; else a
// count bounded at five times the sample.
func countRows(ctx context.Context, db *sql.DB, schema, table string, key copier.Key, haveKey bool, s sample) (ownCount, error) {
	if s.complete {
		return ownCount{rows: s.rows, exact: true, how: "the sample read the whole table"}, nil
	}
	if haveKey && len(key.Columns) == 1 && integerType(key.Columns[0].DataType) {
		c, ok, err := keyRangeCount(ctx, db, schema, table, key.Columns[0].Name)
		if err != nil || ok {
			return c, err
		}
	}
	return boundedCount(ctx, db, schema, table, 5*max(s.rows, 1000))
}

func integerType(t string) bool {
	switch t {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint":
		return true
	}
	return false
}

// keyRangeCount estimates the rows from the key's range and its density
// in each of probeSegments equal stretches of it. ok is false when the
// key's values do not fit an int64 (an unsigned BIGINT past 2^63).
func keyRangeCount(ctx context.Context, db *sql.DB, schema, table, col string) (ownCount, bool, error) {
	src, qc := mysqlx.QT(schema, table), mysqlx.Q(col)
	var loS, hiS sql.NullString
	if err := db.QueryRowContext(ctx, fmt.Sprintf("%sSELECT MIN(%s), MAX(%s) FROM %s", mysqlx.Tag, qc, qc, src)).Scan(&loS, &hiS); err != nil {
		return ownCount{}, false, fmt.Errorf("read the range of %s: %w", col, err)
	}
	if !loS.Valid {
		return ownCount{exact: true, how: "the table is empty"}, true, nil
	}
	lo, err1 := strconv.ParseInt(loS.String, 10, 64)
	hi, err2 := strconv.ParseInt(hiS.String, 10, 64)
	if err1 != nil || err2 != nil {
		return ownCount{}, false, nil
	}
	// The span as uint64: hi-lo overflows an int64 for a key from
	// near MinInt64 to near MaxInt64.
	span := uint64(hi) - uint64(lo)
	step := span / probeSegments
	segments := uint64(probeSegments)
	if step == 0 {
		segments, step = 1, span
	}
	q := fmt.Sprintf("%sSELECT %s FROM %s WHERE %s >= ? AND %s <= ? ORDER BY %s LIMIT %d", mysqlx.Tag, qc, src, qc, qc, qc, probeKeys)
	var total float64
	exact := true
	for i := range segments {
		a := int64(uint64(lo) + i*step)
		b := hi // inclusive
		if i < segments-1 {
			b = int64(uint64(lo)+(i+1)*step) - 1
		}
		n, last, err := probe(ctx, db, q, a, b)
		if err != nil {
			return ownCount{}, false, fmt.Errorf("probe the keys of %s: %w", col, err)
		}
		if n < probeKeys {
			total += float64(n) // the whole stretch was read
			continue
		}
		exact = false
		density := float64(n) / (float64(uint64(last)-uint64(a)) + 1)
		total += density * (float64(uint64(b)-uint64(a)) + 1)
	}
	how := fmt.Sprintf("the density of %s between %d and %d, probed at %d places", col, lo, hi, segments)
	if exact {
		how = fmt.Sprintf("counted through %s", col)
	}
	return ownCount{rows: int64(math.Round(total)), exact: exact, how: how}, true, nil
}

// probe reads up to probeKeys keys in [a, b] and returns how many it
// read and the last one.
func probe(ctx context.Context, db *sql.DB, q string, a, b int64) (int, int64, error) {
	rows, err := db.QueryContext(ctx, q, a, b)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	n, last := 0, a
	for rows.Next() {
		if err := rows.Scan(&last); err != nil {
			return 0, 0, err
		}
		n++
	}
	return n, last, rows.Err()
}

// boundedCount counts the rows up to limit, which bounds its cost on a
// large table: below it the count is exact, at it a lower bound.
func boundedCount(ctx context.Context, db *sql.DB, schema, table string, limit int64) (ownCount, error) {
	var n int64
	q := fmt.Sprintf("%sSELECT COUNT(*) FROM (SELECT 1 FROM %s LIMIT %d) AS godwit_bounded", mysqlx.Tag, mysqlx.QT(schema, table), limit)
	if err := db.QueryRowContext(ctx, q).Scan(&n); err != nil {
		return ownCount{}, fmt.Errorf("count the rows: %w", err)
	}
	if n < limit {
		return ownCount{rows: n, exact: true, how: "counted"}, nil
	}
	return ownCount{rows: n, atLeast: true, how: fmt.Sprintf("a count stopped at %d rows", limit)}, nil
}

// staleRows says whether the statistics' rows are off from godwit's own
// figure by more than staleFactor (and by more than a few pages' worth,
// which the server's estimate of a small table may well miss).
func staleRows(stats int64, own ownCount) bool {
	if own.atLeast {
		return stats < own.rows
	}
	lo, hi := min(stats, own.rows), max(stats, own.rows)
	return hi-lo > 1000 && hi > staleFactor*lo
}

// checkStatistics sets the plan's size from the statistics, or from
// godwit's own measures where they contradict them: the rows from own,
// the bytes from the sample's bytes per row (text as the client reads
// it: InnoDB stores about that or more, numbers and dates in fewer
// bytes, so only a gap of 2 × staleFactor counts). It returns the rows
// to plan for.
func (p *Plan) checkStatistics(table string, stats tableStats, own ownCount, s sample) int64 {
	size := &PlanSize{RowsEstimate: stats.rows, DataBytes: stats.data, IndexBytes: stats.index, RowsBasis: "the server's estimate"}
	p.Size = size
	rowsStale := staleRows(stats.rows, own)
	rows := max(stats.rows, s.rows) // the sample is a lower bound
	if rowsStale || own.exact {
		rows = own.rows
	}
	read := int64(s.avgRowBytes() * float64(rows))
	bytesStale := stats.data*2*staleFactor < read
	if !rowsStale && !bytesStale {
		if own.exact {
			size.RowsEstimate, size.RowsBasis = rows, own.how
		}
		p.add(PlanCheck{Check: "statistics", Status: CheckOK})
		return rows
	}
	// Data and indexes grow with the rows: scale both by the larger of
	// the two disagreements.
	scale := float64(read) / float64(max(stats.data, 1))
	if stats.rows > 0 && rowsStale {
		scale = max(scale, float64(rows)/float64(stats.rows))
	}
	size.Stale = &PlanStats{Rows: stats.rows, DataBytes: stats.data, IndexBytes: stats.index}
	size.RowsEstimate = rows
	size.DataBytes = int64(float64(stats.data) * scale)
	size.IndexBytes = int64(float64(stats.index) * scale)
	var what []string
	if rowsStale {
		size.RowsBasis = fmt.Sprintf("godwit's own measure, %s; the server's statistics said %d, stale", own.how, stats.rows)
		if own.atLeast {
			size.RowsBasis = fmt.Sprintf("at least: %s; the server's statistics said %d, stale", own.how, stats.rows)
		}
		found := "≈"
		if own.atLeast {
			found = "at least"
		}
		what = append(what, fmt.Sprintf("TABLE_ROWS says %d rows where godwit's own measure finds %s %d (%s)", stats.rows, found, rows, own.how))
	}
	if bytesStale {
		what = append(what, fmt.Sprintf("DATA_LENGTH says %s where the values of ≈ %d rows alone take ≈ %s (the sample's %.0f bytes a row)",
			FormatBytes(stats.data), rows, FormatBytes(read), s.avgRowBytes()))
	}
	p.add(PlanCheck{Check: "statistics", Status: CheckWarning,
		Message: fmt.Sprintf("the server's statistics of the table are stale: %s. This plan uses its own figures: rows ≈ %d, data ≈ %s, indexes ≈ %s (scaled as the data)",
			strings.Join(what, "; "), rows, FormatBytes(size.DataBytes), FormatBytes(size.IndexBytes)),
		Fix: fmt.Sprintf("Run ANALYZE TABLE %s to refresh them: a bulk load leaves them stale under STATS_AUTO_RECALC=0 or innodb_stats_auto_recalc=OFF, and MySQL caches them for information_schema_stats_expiry seconds.", table)})
	return rows
}

// tableStats is the size information_schema.TABLES reports.
type tableStats struct{ rows, data, index int64 }
