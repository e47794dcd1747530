// Package mysqlx holds the small SQL helpers every godwit package shares:
// identifier quoting, the comment tag that names godwit in the processlist,
// and opening connections with the session settings godwit relies on.
package mysqlx

import (
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Tag prefixes every statement so a DBA reading the processlist or the slow
// log knows who sent it.
const Tag = "/* godwit */ "

// Q quotes an identifier with backquotes, doubling any backquote inside.
func Q(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// QT quotes a schema-qualified table name.
func QT(schema, table string) string {
	return Q(schema) + "." + Q(table)
}

// QList quotes and joins column names.
func QList(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = Q(c)
	}
	return strings.Join(q, ", ")
}

// Config says where to connect.
type Config struct {
	Host     string
	Port     int
	User     string
	Password string
	Database string
	// SessionVars are set on every session godwit opens, after its own
	// settings, e.g. {"sql_require_primary_key": "1"}: a DBA's
	// --set-vars, or a test reproducing a server's setting per session.
	SessionVars map[string]string
	// TLS encrypts every connection, the binlog stream's included; nil
	// connects in the clear (MySQL 9's caching_sha2_password then
	// exchanges the password under the server's RSA key).
	TLS *tls.Config
	// TLSPreferred lets a connection fall back to the clear when the
	// server offers no TLS (--ssl-mode PREFERRED; see ResolveTLS). As the
	// mysql client, it means the clear over a unix socket, which servers
	// count as secure transport already.
	TLSPreferred bool
	// Socket, when set, is the unix socket to connect through instead of
	// Host and Port.
	Socket string
}

// Addr is host:port, or the socket's path.
func (c Config) Addr() string {
	if c.Socket != "" {
		return c.Socket
	}
	return fmt.Sprintf("%s:%d", c.Host, c.Port)
}

// driverConfig is the go-sql-driver configuration with godwit's session
// settings: UTC timestamps (binlog TIMESTAMP values are rendered in UTC, so
// every writer session must agree), a short lock_wait_timeout (the server
// default of a day would let one godwit statement queue the application
// behind it), a short innodb_lock_wait_timeout (where godwit and the
// application want the same rows, godwit gives up first and retries its
// own statement: the application never waits long on godwit), and a strict sql_mode that still accepts zero dates already
// in the table and keeps explicit zeros in AUTO_INCREMENT columns.
func (c Config) driverConfig() *mysql.Config {
	mc := mysql.NewConfig()
	mc.Net = "tcp"
	if c.Socket != "" {
		mc.Net = "unix"
	}
	mc.Addr = c.Addr()
	mc.User = c.User
	mc.Passwd = c.Password
	mc.DBName = c.Database
	mc.InterpolateParams = true
	mc.Timeout = 10 * time.Second
	mc.TLS = c.TLS
	mc.AllowFallbackToPlaintext = c.TLS != nil && c.TLSPreferred
	if c.Socket != "" && c.TLSPreferred {
		mc.TLS = nil
	}
	mc.Params = map[string]string{
		"time_zone":         "'+00:00'",
		"lock_wait_timeout": "5",
		// Seconds: the longest godwit holds out for a row lock.
		"innodb_lock_wait_timeout": "3",
		"sql_mode":                 "'" + SessionSQLMode + "'",
	}
	maps.Copy(mc.Params, c.SessionVars)
	return mc
}

// SessionSQLMode is the sql_mode of godwit's sessions: strict, yet
// accepting the zero dates already in a table, and keeping explicit zeros
// in AUTO_INCREMENT columns. DDL that defines a table runs under the mode
// a native ALTER would get instead (ExecUnderSQLMode).
const SessionSQLMode = "STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION"

// Open opens a pool and checks that the server answers.
func Open(ctx context.Context, c Config) (*sql.DB, error) {
	conn, err := mysql.NewConnector(c.driverConfig())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", c.Addr(), err)
	}
	db := sql.OpenDB(conn)
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s as %s: %w", c.Addr(), c.User, err)
	}
	return db, nil
}

// ResolveTLS settles --ssl-mode PREFERRED for a connection that cannot
// fall back by itself (the binlog stream's): it asks the server whether a
// connection of the SQL driver, which falls back as the mysql client does,
// came in over TLS, and returns c with TLS required or off accordingly.
func ResolveTLS(ctx context.Context, c Config) (Config, error) {
	if c.TLS == nil || !c.TLSPreferred {
		return c, nil
	}
	if c.Socket != "" {
		c.TLS, c.TLSPreferred = nil, false
		return c, nil
	}
	db, err := Open(ctx, c)
	if err != nil {
		return c, err
	}
	defer db.Close()
	var name, cipher string
	if err := db.QueryRowContext(ctx, Tag+"SHOW SESSION STATUS LIKE 'Ssl_cipher'").Scan(&name, &cipher); err != nil {
		return c, fmt.Errorf("ask %s whether the connection uses TLS: %w", c.Addr(), err)
	}
	if cipher == "" {
		c.TLS = nil
	}
	c.TLSPreferred = false
	return c, nil
}

// ErrCode returns the MySQL error number of err, or 0.
func ErrCode(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

// Error numbers godwit reacts to.
const (
	ErrLockWaitTimeout = 1205
	ErrDeadlock        = 1213
	ErrNoSuchTable     = 1146
	ErrNoSuchDatabase  = 1049
	ErrDupEntry        = 1062
	ErrBadField        = 1054 // unknown column
)

// Processlist names the table that lists the server's sessions. MySQL's
// information_schema.PROCESSLIST fails on every read (error 3854) while any
// session runs a statement with a 4-byte UTF-8 character, as applications
// storing emoji do; performance_schema.processlist (8.0.22+) has the same
// columns without that flaw. MariaDB has only the former, and it works.
func Processlist(flavor string) string {
	if flavor == "mysql" {
		return "performance_schema.processlist"
	}
	return "information_schema.PROCESSLIST"
}

// QuoteString writes s as a string literal, for the places that take no
// placeholder (a table's COMMENT in DDL; with interpolated parameters the
// driver also counts a ? inside a quoted name as a placeholder). Quotes are
// doubled; a backslash is an escape character unless the session's
// sql_mode has NO_BACKSLASH_ESCAPES, which noBackslashEscapes says.
func QuoteString(s string, noBackslashEscapes bool) string {
	if !noBackslashEscapes {
		s = strings.ReplaceAll(s, `\`, `\\`)
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// NoBackslashEscapes says whether conn's sql_mode makes a backslash in a
// string literal an ordinary character, as QuoteString needs to know.
func NoBackslashEscapes(ctx context.Context, conn interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (bool, error) {
	var mode string
	if err := conn.QueryRowContext(ctx, Tag+"SELECT @@SESSION.sql_mode").Scan(&mode); err != nil {
		return false, fmt.Errorf("read sql_mode: %w", err)
	}
	return slices.Contains(strings.Split(strings.ToUpper(mode), ","), "NO_BACKSLASH_ESCAPES"), nil
}
