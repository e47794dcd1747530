package mysqlx

import (
	"context"
	"database/sql"
)

// QueryMaps runs a query whose columns differ between servers and
// versions (SHOW REPLICA STATUS, SHOW REPLICAS, INNODB_METRICS) and returns
// its rows by column name, as the server spells it.
func QueryMaps(ctx context.Context, db *sql.DB, query string, args ...any) ([]map[string]sql.NullString, error) {
	rows, err := db.QueryContext(ctx, Tag+query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []map[string]sql.NullString
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		m := make(map[string]sql.NullString, len(cols))
		for i, c := range cols {
			m[c] = vals[i]
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Rows runs a query and calls scan for each of its rows.
func Rows(ctx context.Context, db *sql.DB, scan func(*sql.Rows) error, query string, args ...any) error {
	rows, err := db.QueryContext(ctx, Tag+query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
