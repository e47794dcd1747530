package migrate

import (
	"context"
	"fmt"
	"strings"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// Database-level privileges, and what needs them: the copy and the
// checkpoint and status rows (SELECT, INSERT, UPDATE, DELETE), the shadow
// and helper tables (CREATE, DROP, ALTER), the checksum's and the
// cut-over's locks (LOCK TABLES). The heartbeat table written for
// --replica lives in the same database and needs CREATE, INSERT, UPDATE,
// DELETE and DROP, which the list already holds.
var tablePrivileges = []string{"SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "LOCK TABLES"}

// checkPrivileges refuses before anything is created when the user lacks
// a privilege a later phase needs; finding out at cut-over would waste the
// whole copy. Privileges are read from information_schema for the current
// user; grants through roles are not resolved, so with an active role a
// gap is only logged.
func (m *migration) checkPrivileges(ctx context.Context) error {
	const grantee = `CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')`
	rows, err := m.db.QueryContext(ctx, mysqlx.Tag+`SELECT PRIVILEGE_TYPE, 'global' FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = `+grantee+`
		UNION SELECT PRIVILEGE_TYPE, 'schema' FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = `+grantee+` AND ? LIKE TABLE_SCHEMA`,
		m.opt.Conn.Database)
	if err != nil {
		return fmt.Errorf("read privileges: %w", err)
	}
	defer rows.Close()
	global, schema := map[string]bool{}, map[string]bool{}
	for rows.Next() {
		var p, level string
		if err := rows.Scan(&p, &level); err != nil {
			return fmt.Errorf("read privileges: %w", err)
		}
		if level == "global" {
			global[p] = true
		}
		schema[p] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read privileges: %w", err)
	}
	var missing []string
	for _, p := range tablePrivileges {
		if !schema[p] {
			missing = append(missing, p)
		}
	}
	if !global["REPLICATION SLAVE"] {
		missing = append(missing, "REPLICATION SLAVE")
	}
	if !global["REPLICATION CLIENT"] && !global["BINLOG MONITOR"] && !global["SUPER"] {
		missing = append(missing, "REPLICATION CLIENT (BINLOG MONITOR on MariaDB)")
	}
	// The history list length probe reads information_schema.INNODB_METRICS,
	// or SHOW ENGINE INNODB STATUS: both need PROCESS. (The lock waits
	// probe falls back to a status counter without it.)
	if m.opt.Throttle.MaxHistoryLength >= 0 && !global["PROCESS"] {
		missing = append(missing, "PROCESS (for the history list length probe; --max-history-length -1 turns it off)")
	}
	if len(missing) == 0 {
		return nil
	}
	// MariaDB lists one NULL row when no role is enabled.
	var roles int
	_ = m.db.QueryRowContext(ctx, mysqlx.Tag+"SELECT COUNT(ROLE_NAME) FROM information_schema.ENABLED_ROLES").Scan(&roles)
	if roles > 0 {
		m.log.Warn("privileges may come from a role; not verified", "missing", missing)
		return nil
	}
	return refuse("privileges",
		fmt.Sprintf("Grant them, e.g. GRANT %s ON %s.* TO <user>; and GRANT REPLICATION SLAVE, REPLICATION CLIENT, PROCESS ON *.* TO <user>.",
			strings.Join(tablePrivileges, ", "), mysqlx.Q(m.opt.Conn.Database)),
		"the user lacks %s", strings.Join(missing, ", "))
}
