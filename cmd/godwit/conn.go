package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/spf13/pflag"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/migrate"
)

// connFlags are the connection flags every command shares.
type connFlags struct {
	host, user, password, database, table, defaultsFile string
	sslMode, sslCA, sslCert, sslKey, socket             string
	port                                                int

	// passwordFrom says where config found the password, for error
	// messages: "--password", "MYSQL_PWD", "--defaults-file F" or "".
	passwordFrom string
	// tls says whether config asked for TLS, for error messages.
	tls bool
}

func (c *connFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&c.host, "host", "127.0.0.1", "server host; a --defaults-file can set it")
	fs.IntVar(&c.port, "port", 3306, "server TCP port; a --defaults-file can set it")
	fs.StringVar(&c.user, "user", "", "user (default: from --defaults-file, else root)")
	fs.StringVar(&c.password, "password", "", "password; without it, MYSQL_PWD, else the --defaults-file's (prefer those two: argv is visible to other users)")
	fs.StringVar(&c.defaultsFile, "defaults-file", "", "my.cnf-style file whose [client] and [godwit] sections give user, password, host, port, socket, ssl-mode, ssl-ca, ssl-cert, ssl-key; flags win, and a non-empty MYSQL_PWD over its password")
	fs.StringVar(&c.database, "database", "", "database (schema) of the table (required)")
	fs.StringVar(&c.table, "table", "", "table to change (required)")
	fs.StringVar(&c.socket, "socket", "", "unix socket file to connect through instead of --host and --port (the binlog stream too); a --defaults-file's is used when it names no other host than localhost")
	fs.StringVar(&c.sslMode, "ssl-mode", "DISABLED", "TLS, as the mysql client's: DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY; unset, --ssl-ca means VERIFY_CA and --ssl-cert REQUIRED; a --defaults-file can set it")
	fs.StringVar(&c.sslCA, "ssl-ca", "", "PEM file of the CA that signed the server's certificate (VERIFY_CA, VERIFY_IDENTITY)")
	fs.StringVar(&c.sslCert, "ssl-cert", "", "PEM file of the client certificate, for users created with REQUIRE X509 or SUBJECT (needs --ssl-key)")
	fs.StringVar(&c.sslKey, "ssl-key", "", "PEM file of the client certificate's private key (needs --ssl-cert)")
}

// config resolves the connection: flags win, then MYSQL_PWD for the
// password, then the defaults file.
func (c *connFlags) config(fs *pflag.FlagSet) (mysqlx.Config, error) {
	var missing []string
	if c.database == "" {
		missing = append(missing, "--database")
	}
	if c.table == "" {
		missing = append(missing, "--table")
	}
	if len(missing) > 0 {
		verb := "is"
		if len(missing) > 1 {
			verb = "are"
		}
		return mysqlx.Config{}, usageError{fmt.Errorf("%s %s required", strings.Join(missing, " and "), verb)}
	}
	cfg := mysqlx.Config{Host: c.host, Port: c.port, User: c.user, Password: c.password, Database: c.database, Socket: c.socket}
	if fs.Changed("socket") && (fs.Changed("host") || fs.Changed("port")) {
		return cfg, usageError{errors.New("--socket connects through a unix socket, --host and --port over TCP: give one or the other")}
	}
	if fs.Changed("socket") && c.socket == "" {
		return cfg, usageError{errors.New("--socket needs the path of the server's unix socket file")}
	}
	tlsOpt := tlsOptions{mode: c.sslMode, modeSet: fs.Changed("ssl-mode"), ca: c.sslCA, cert: c.sslCert, key: c.sslKey}
	c.passwordFrom = ""
	if fs.Changed("password") {
		c.passwordFrom = "--password"
	}
	if c.defaultsFile != "" {
		vals, err := readDefaultsFile(c.defaultsFile)
		if err != nil {
			return cfg, usageError{err}
		}
		if !fs.Changed("user") && vals["user"] != "" {
			cfg.User = vals["user"]
		}
		if !fs.Changed("password") && vals["password"] != "" {
			cfg.Password = vals["password"]
			c.passwordFrom = "--defaults-file " + c.defaultsFile
		}
		if !fs.Changed("host") && vals["host"] != "" {
			cfg.Host = vals["host"]
		}
		// As the mysql client, the file's socket serves local connections
		// only: a host given anywhere else than localhost means TCP.
		if s := vals["socket"]; s != "" && !fs.Changed("socket") && !fs.Changed("host") && !fs.Changed("port") &&
			(vals["host"] == "" || vals["host"] == "localhost") {
			cfg.Socket = s
		}
		if !fs.Changed("ssl-mode") && vals["ssl_mode"] != "" {
			tlsOpt.mode, tlsOpt.modeSet = vals["ssl_mode"], true
			tlsOpt.modeFromSource = "ssl-mode in --defaults-file " + c.defaultsFile
		}
		// --ssl-mode DISABLED on the command line turns TLS off for this
		// run; the file's certificates, there for other clients, then
		// stay unused instead of being an error.
		if !(fs.Changed("ssl-mode") && strings.EqualFold(c.sslMode, "DISABLED")) {
			for _, o := range []struct {
				flag string
				dst  *string
			}{{"ssl-ca", &tlsOpt.ca}, {"ssl-cert", &tlsOpt.cert}, {"ssl-key", &tlsOpt.key}} {
				if v := vals[strings.ReplaceAll(o.flag, "-", "_")]; !fs.Changed(o.flag) && v != "" {
					*o.dst = v
				}
			}
		}
		if p := vals["port"]; !fs.Changed("port") && p != "" {
			n, err := strconv.Atoi(p)
			if err != nil || n <= 0 || n > 65535 {
				return cfg, usageError{fmt.Errorf("--defaults-file %s: port = %q is not a port number", c.defaultsFile, p)}
			}
			cfg.Port = n
		}
	}
	// An empty MYSQL_PWD (exported by habit, or cleared with MYSQL_PWD=)
	// must not hide the defaults file's password.
	if pw := os.Getenv("MYSQL_PWD"); !fs.Changed("password") && pw != "" {
		cfg.Password = pw
		c.passwordFrom = "MYSQL_PWD"
	}
	if cfg.User == "" {
		cfg.User = "root"
	}
	if cfg.Socket != "" {
		from := "--socket"
		if !fs.Changed("socket") {
			from = "socket in --defaults-file " + c.defaultsFile
		}
		const hint = "the server names its socket file in SELECT @@socket"
		if fi, err := os.Stat(cfg.Socket); err != nil {
			return cfg, usageError{fmt.Errorf("%s: %w (%s)", from, err, hint)}
		} else if fi.Mode()&os.ModeSocket == 0 {
			return cfg, usageError{fmt.Errorf("%s: %s is not a unix socket (%s)", from, cfg.Socket, hint)}
		}
	}
	tlsOpt.host = cfg.Host
	var err error
	if cfg.TLS, cfg.TLSPreferred, err = tlsConfig(tlsOpt); err != nil {
		return cfg, usageError{err}
	}
	c.tls = cfg.TLS != nil
	return cfg, nil
}

// explain adds to a connection error where the password came from: at
// 3 a.m. "access denied" is far quicker to fix knowing that an old
// MYSQL_PWD overrode the defaults file. A refusal that may be the server
// insisting on TLS says which flag helps: MariaDB answers a connection in
// the clear under require_secure_transport, or from a user created with
// REQUIRE SSL, with a plain "access denied".
func (c *connFlags) explain(err error) error {
	if err == nil {
		return err
	}
	switch {
	case mysqlx.ErrCode(err) == mysqlx.ErrNoSuchDatabase && !errors.Is(err, migrate.ErrKept):
		return c.unknownDatabase(err)
	case mysqlx.ErrCode(err) == 3159: // ER_SECURE_TRANSPORT_REQUIRED (MySQL)
		return fmt.Errorf("%w (the server accepts only TLS connections: use --ssl-mode REQUIRED, VERIFY_CA or VERIFY_IDENTITY)", err)
	case errors.Is(err, mysql.ErrNoTLS) || strings.Contains(err.Error(), "does not support TLS"):
		return fmt.Errorf("%w (the server offers no TLS: use --ssl-mode PREFERRED or DISABLED, or give the server a certificate)", err)
	case mysqlx.ErrCode(err) != 1045: // ER_ACCESS_DENIED_ERROR
		return err
	}
	var hints []string
	if c.passwordFrom == "" {
		hints = append(hints, "no password given: none in --password, MYSQL_PWD or --defaults-file")
	} else {
		hints = append(hints, "password from "+c.passwordFrom)
	}
	if !c.tls {
		hints = append(hints, "connected in the clear: if the user or the server requires TLS (REQUIRE SSL or X509, require_secure_transport), use --ssl-mode REQUIRED")
	}
	return fmt.Errorf("%w (%s)", err, strings.Join(hints, "; "))
}

// checkDatabase names the refusal of a database the server does not have.
const checkDatabase = "database"

// unknownDatabase turns the server's "Unknown database" into a refusal
// (exit 3), as a missing table is: nothing was created, and the fix is
// the command line's. Every command connects with --database as the
// session's schema, so this is where each of them meets a misspelt one.
// The server's own words stay in the reason: they name the server (a
// --replica can lack a schema its primary has).
func (c *connFlags) unknownDatabase(err error) error {
	return &migrate.Refusal{
		Check:  checkDatabase,
		Reason: fmt.Sprintf("database %s does not exist (%v)", c.database, err),
		Fix:    "Check --database: SHOW DATABASES lists those the user can see.",
	}
}

// maxIncludeDepth bounds !include chains (and loops).
const maxIncludeDepth = 10

// readDefaultsFile reads the [client] and [godwit] sections of a my.cnf
// file the way the mysql client does: "key = value" or "key" lines, option
// names with dashes or underscores, values optionally in single or double
// quotes, the escapes \n \t \r \b \s \\ \" \', comments starting with # or
// ; on a line of their own and # anywhere outside quotes, and the
// !include FILE and !includedir DIR directives. Later values win.
func readDefaultsFile(path string) (map[string]string, error) {
	vals := map[string]string{}
	if err := readDefaults(path, vals, 0); err != nil {
		return nil, err
	}
	return vals, nil
}

func readDefaults(path string, vals map[string]string, depth int) error {
	if depth > maxIncludeDepth {
		return fmt.Errorf("--defaults-file: %s: !include nested more than %d deep (a loop?)", path, maxIncludeDepth)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("--defaults-file: %w", err)
	}
	defer f.Close()
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff") // a byte order mark from a Windows editor
		}
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '!' {
			if err := readDirective(path, n, line, vals, depth); err != nil {
				return err
			}
			continue
		}
		line = strings.TrimSpace(removeEndComment(line))
		if line[0] == '[' {
			end := strings.IndexByte(line, ']')
			if end < 0 {
				return fmt.Errorf("--defaults-file %s line %d: section header %q has no closing ]", path, n, line)
			}
			section = strings.ToLower(strings.TrimSpace(line[1:end]))
			continue
		}
		if section != "client" && section != "godwit" {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		k = strings.ReplaceAll(strings.ToLower(strings.TrimSpace(k)), "-", "_")
		vals[k] = unquoteOptionValue(strings.TrimSpace(v))
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("--defaults-file %s: %w", path, err)
	}
	return nil
}

// readDirective follows !include FILE and !includedir DIR (its *.cnf
// files in name order), as the mysql client does.
func readDirective(path string, n int, line string, vals map[string]string, depth int) error {
	directive, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimSpace(arg)
	if arg == "" {
		return fmt.Errorf("--defaults-file %s line %d: %s needs a path", path, n, directive)
	}
	if !filepath.IsAbs(arg) {
		arg = filepath.Join(filepath.Dir(path), arg)
	}
	switch directive {
	case "!include":
		return readDefaults(arg, vals, depth+1)
	case "!includedir":
		entries, err := os.ReadDir(arg)
		if errors.Is(err, os.ErrNotExist) {
			return nil // the mysql client skips a missing directory too
		}
		if err != nil {
			return fmt.Errorf("--defaults-file %s line %d: %w", path, n, err)
		}
		var names []string
		for _, e := range entries {
			if !e.IsDir() && strings.HasSuffix(e.Name(), ".cnf") {
				names = append(names, e.Name())
			}
		}
		sort.Strings(names)
		for _, name := range names {
			if err := readDefaults(filepath.Join(arg, name), vals, depth+1); err != nil {
				return err
			}
		}
		return nil
	default:
		return fmt.Errorf("--defaults-file %s line %d: unknown directive %s (expected !include or !includedir)", path, n, directive)
	}
}

// removeEndComment cuts a # comment that starts outside quotes.
func removeEndComment(s string) string {
	var quote byte
	escape := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if (ch == '\'' || ch == '"') && !escape {
			switch quote {
			case 0:
				quote = ch
			case ch:
				quote = 0
			}
		}
		if quote == 0 && ch == '#' {
			return s[:i]
		}
		escape = quote != 0 && ch == '\\' && !escape
	}
	return s
}

// unquoteOptionValue strips one pair of matching quotes and resolves the
// escapes of option files; an unknown escape stays as written.
func unquoteOptionValue(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		v = v[1 : len(v)-1]
	}
	if !strings.Contains(v, `\`) {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '\\' || i == len(v)-1 {
			b.WriteByte(v[i])
			continue
		}
		i++
		switch v[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'b':
			b.WriteByte('\b')
		case 's':
			b.WriteByte(' ')
		case '"', '\'', '\\':
			b.WriteByte(v[i])
		default:
			b.WriteByte('\\')
			b.WriteByte(v[i])
		}
	}
	return b.String()
}
