package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/tableinfo"
	"github.com/godwit-db/godwit/migrate/alter"
)

// TestedServers names the servers godwit's test suite runs on; any other
// supported version runs with a warning that says so.
const TestedServers = "MariaDB 10.11 and 11.8, MySQL 9.7"

// checkServerVersion refuses servers godwit does not support and returns a
// warning for supported ones its tests do not run on. Which statements,
// binlog events and online DDL rules a server has differs by version;
// below these, godwit would be guessing.
func checkServerVersion(s Server) (warning string, err error) {
	v := parseServerVersion(s)
	const fix = "godwit supports MySQL 8.0 and later and MariaDB 10.6 and later (tested: " + TestedServers + "); run the change natively on this server"
	switch {
	case strings.Contains(strings.ToLower(s.Version), "tidb"):
		return "", refuse("server", fix, "the server is TiDB (%s), whose online DDL and binlog differ from MySQL's", s.Version)
	case v.flavor == "mariadb" && !v.atLeast(10, 6, 0), v.flavor == "mysql" && !v.atLeast(8, 0, 0):
		return "", refuse("server", fix, "%s is not supported", v)
	}
	tested := v.flavor == "mariadb" && (v.major == 10 && v.minor == 11 || v.major == 11 && v.minor == 8) ||
		v.flavor == "mysql" && v.major == 9 && v.minor == 7
	if !tested {
		return fmt.Sprintf("%s is supported but not among the servers godwit's tests run on (%s)", v, TestedServers), nil
	}
	return "", nil
}

// checkPrimaryKeyRequired refuses, before anything is created, a change
// whose shadow table the server would refuse to create: with MySQL's
// sql_require_primary_key or MariaDB's innodb_force_primary_key, every
// new table needs a primary key, and the shadow is created like the source.
// (godwit's own helper tables all have one.)
func checkPrimaryKeyRequired(ctx context.Context, db *sql.DB, source *tableinfo.Table, change *alter.Change) error {
	// An ALTER that adds or drops a primary key is left to the server: it
	// rejects it on the empty shadow, before anything is copied.
	if source.PrimaryKey() != nil || change.RebuildsPrimaryKey {
		return nil
	}
	// SHOW VARIABLES gives the session's value, the one godwit's statements
	// meet, and lists only the settings this server's family has.
	var setting, value string
	err := db.QueryRowContext(ctx, mysqlx.Tag+`SHOW VARIABLES WHERE Variable_name IN ('sql_require_primary_key', 'innodb_force_primary_key') AND Value = 'ON'`).Scan(&setting, &value)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("read sql_require_primary_key, innodb_force_primary_key: %w", err)
	}
	return refuse("primary-key", "Add a primary key to the table (in this ALTER, or natively first), or turn "+setting+" off for the migration.",
		"@@%s is ON and %s has no primary key: the server would refuse to create its shadow table", setting, source.Name)
}

// checkWritable refuses a read-only server. A primary is not read-only;
// a replica is, and a migration there (godwit's user may write through
// read_only) would change that one server alone, to be overwritten or to
// break replication when the primary's own change arrives.
func checkWritable(ctx context.Context, db *sql.DB) error {
	var readOnly int
	if err := db.QueryRowContext(ctx, mysqlx.Tag+"SELECT @@GLOBAL.read_only").Scan(&readOnly); err != nil {
		return fmt.Errorf("read @@read_only: %w", err)
	}
	if readOnly != 0 {
		return refuse("writable", "Point godwit at the primary; if this server is the primary, run SET GLOBAL read_only = OFF first.",
			"@@read_only is ON: this looks like a replica, and a change made there alone would diverge from the primary")
	}
	return nil
}
