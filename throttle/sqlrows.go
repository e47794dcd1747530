package throttle

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// field returns the first of names present in row (MySQL 8 renamed the
// replica status columns; MariaDB kept the old names).
func field(row map[string]sql.NullString, names ...string) (sql.NullString, bool) {
	for _, n := range names {
		if v, ok := row[n]; ok {
			return v, true
		}
	}
	return sql.NullString{}, false
}

// globalStatus reads one SHOW GLOBAL STATUS counter.
func globalStatus(ctx context.Context, db *sql.DB, name string) (float64, error) {
	var n, v string
	err := db.QueryRowContext(ctx, mysqlx.Tag+"SHOW GLOBAL STATUS LIKE ?", name).Scan(&n, &v)
	if err == sql.ErrNoRows {
		return 0, fmt.Errorf("the server has no status variable %s", name)
	}
	if err != nil {
		return 0, err
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, fmt.Errorf("status %s = %q is not a number", name, v)
	}
	return f, nil
}
