package throttle

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// Query runs the user's --throttle-query: a query returning one number,
// which throttles the copy when above 0 (its Max is 0). No row or NULL
// reads as 0.
type Query struct {
	db    *sql.DB
	query string
}

// NewQuery runs query on db.
// A trailing semicolon is dropped.
func NewQuery(db *sql.DB, query string) *Query {
	return &Query{db: db, query: strings.TrimRight(strings.TrimSpace(query), "; \t\r\n")}
}

// Name is "throttle query".
func (p *Query) Name() string { return "throttle query" }

// Measure runs the query.
func (p *Query) Measure(ctx context.Context) (float64, error) {
	rows, err := p.db.QueryContext(ctx, mysqlx.Tag+p.query)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	if len(cols) != 1 {
		return 0, fmt.Errorf("returns %d columns; it must return one number", len(cols))
	}
	var v sql.NullString
	if rows.Next() {
		if err := rows.Scan(&v); err != nil {
			return 0, err
		}
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if !v.Valid {
		return 0, nil
	}
	n, err := strconv.ParseFloat(v.String, 64)
	if err != nil {
		return 0, fmt.Errorf("returned %q, not a number", v.String)
	}
	return n, nil
}

// Describe words the reason: "throttle query returned 5 > 0".
func (p *Query) Describe(value, limit float64) string {
	return "throttle query returned " + formatNumber(value) + " > " + formatNumber(limit)
}
