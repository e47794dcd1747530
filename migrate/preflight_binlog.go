package migrate

import (
	"context"
	"database/sql"
	"strings"
)

// checkBinlog refuses a server whose binlog cannot carry every row change
// in full: godwit follows the binlog to see concurrent writes.
func checkBinlog(ctx context.Context, db *sql.DB) error {
	want := []struct{ name, value, fix string }{
		{"log_bin", "ON", "Start the server with log_bin (binary logging is off)."},
		{"binlog_format", "ROW", "Run SET GLOBAL binlog_format = 'ROW' (and put it in my.cnf); sessions started before keep their format, so reconnect the applications."},
		{"binlog_row_image", "FULL", "Run SET GLOBAL binlog_row_image = 'FULL' (and put it in my.cnf)."},
	}
	for _, w := range want {
		v, ok, err := variable(ctx, db, w.name)
		if err != nil {
			return err
		}
		if !ok || !strings.EqualFold(v, w.value) {
			return refuse("binlog", w.fix, "@@%s is %q, godwit needs %s", w.name, v, w.value)
		}
	}
	// MySQL 8 can log partial JSON updates, which carry no full row image.
	if v, ok, err := variable(ctx, db, "binlog_row_value_options"); err != nil {
		return err
	} else if ok && v != "" {
		return refuse("binlog", "Run SET GLOBAL binlog_row_value_options = ''.", "@@binlog_row_value_options is %q: partial JSON updates leave rows out of the binlog", v)
	}
	return nil
}
