package mysqlx

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"regexp"
)

// sqlModeWords is what an sql_mode value is made of: mode names separated
// by commas. Anything else would be SQL in a SET statement.
var sqlModeWords = regexp.MustCompile(`^(?:[A-Za-z0-9_]+(?:\s*,\s*[A-Za-z0-9_]+)*)?$`)

// CheckSQLMode refuses a value that is not a list of mode names, such as
// "STRICT_TRANS_TABLES,NO_ZERO_DATE" ("" is the empty mode).
func CheckSQLMode(mode string) error {
	if !sqlModeWords.MatchString(mode) {
		return fmt.Errorf("sql_mode %q: want mode names separated by commas, e.g. STRICT_TRANS_TABLES,NO_ZERO_DATE", mode)
	}
	return nil
}

// GlobalSQLMode is the server's global sql_mode: the one a new session,
// and so the application's native ALTER, starts with.
func GlobalSQLMode(ctx context.Context, db *sql.DB) (string, error) {
	var mode string
	if err := db.QueryRowContext(ctx, Tag+"SELECT @@GLOBAL.sql_mode").Scan(&mode); err != nil {
		return "", fmt.Errorf("read the server's sql_mode: %w", err)
	}
	return mode, nil
}

// ExecUnderSQLMode runs query on a session of db whose sql_mode is mode
// for that one statement: DDL that must be judged as the application's
// own sessions would judge it (a default value NO_ZERO_DATE forbids).
func ExecUnderSQLMode(ctx context.Context, db *sql.DB, mode, query string) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	restore, err := SetSQLMode(ctx, conn, mode)
	if err != nil {
		return err
	}
	defer restore()
	_, err = conn.ExecContext(ctx, query)
	return err
}

// SetSQLMode gives conn's session the sql_mode mode; restore gives it its
// own back before the session returns to the pool, or discards a session
// that cannot have it back.
func SetSQLMode(ctx context.Context, conn *sql.Conn, mode string) (restore func(), err error) {
	if err := CheckSQLMode(mode); err != nil {
		return nil, err
	}
	var own string
	if err := conn.QueryRowContext(ctx, Tag+"SELECT @@SESSION.sql_mode").Scan(&own); err != nil {
		return nil, fmt.Errorf("read the session's sql_mode: %w", err)
	}
	if _, err := conn.ExecContext(ctx, Tag+"SET SESSION sql_mode = ?", mode); err != nil {
		return nil, fmt.Errorf("set sql_mode %q: %w", mode, err)
	}
	return func() {
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), Tag+"SET SESSION sql_mode = ?", own); err != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}, nil
}
