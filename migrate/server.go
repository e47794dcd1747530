package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// Server is what godwit learned of the server it talks to.
type Server struct {
	Version string
	Flavor  string // "mariadb" or "mysql", as go-mysql names them
	CRC32C  bool   // the server has the CRC32C() function
	// Identity tells this server from the others of its topology:
	// MySQL's server_uuid, or MariaDB's server_id (which has no uuid, and
	// whose replication requires the ids to differ).
	Identity string
}

func readServer(ctx context.Context, db *sql.DB) (Server, error) {
	var s Server
	if err := db.QueryRowContext(ctx, mysqlx.Tag+"SELECT VERSION()").Scan(&s.Version); err != nil {
		return s, fmt.Errorf("read server version: %w", err)
	}
	s.Flavor = "mysql"
	if strings.Contains(strings.ToLower(s.Version), "mariadb") {
		s.Flavor = "mariadb"
	}
	q := mysqlx.Tag + "SELECT CONCAT('server_uuid ', @@server_uuid)"
	if s.Flavor == "mariadb" {
		q = mysqlx.Tag + "SELECT CONCAT('server_id ', @@server_id)"
	}
	if err := db.QueryRowContext(ctx, q).Scan(&s.Identity); err != nil {
		return s, fmt.Errorf("read the server's identity: %w", err)
	}
	// Asked rather than read off the version: forks and backports differ.
	var crc sql.NullInt64
	s.CRC32C = db.QueryRowContext(ctx, mysqlx.Tag+"SELECT CRC32C('')").Scan(&crc) == nil
	return s, nil
}

// variable reads a global variable; ok is false when the server has none
// of that name (it differs between MySQL and MariaDB).
func variable(ctx context.Context, db *sql.DB, name string) (value string, ok bool, err error) {
	var n, v string
	err = db.QueryRowContext(ctx, mysqlx.Tag+"SHOW GLOBAL VARIABLES WHERE Variable_name = ?", name).Scan(&n, &v)
	if err == sql.ErrNoRows {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read @@%s: %w", name, err)
	}
	return v, true, nil
}
