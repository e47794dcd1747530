package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/spf13/pflag"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/migrate"
)

// writeFile writes content to name in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadDefaultsFile(t *testing.T) {
	for _, tc := range []struct {
		name, content string
		want          map[string]string
	}{
		{
			name: "client section",
			content: `[client]
user = dba
password = s3cret
host = db1.example.com
port = 3307
`,
			want: map[string]string{"user": "dba", "password": "s3cret", "host": "db1.example.com", "port": "3307"},
		},
		{
			name: "other sections are ignored",
			content: `[mysqld]
port = 3306
user = mysql
[mysqldump]
password = dumppw
[client]
user = dba
`,
			want: map[string]string{"user": "dba"},
		},
		{
			name: "godwit section, later values win",
			content: `[client]
user = dba
password = clientpw
[godwit]
password = godwitpw
`,
			want: map[string]string{"user": "dba", "password": "godwitpw"},
		},
		{
			name: "section names ignore case and spaces",
			content: `[ CLIENT ]
user=dba
`,
			want: map[string]string{"user": "dba"},
		},
		{
			name: "quotes",
			content: `[client]
password = "a b c"
user = 'dba'
host = "unbalanced'
`,
			want: map[string]string{"password": "a b c", "user": "dba", "host": `"unbalanced'`},
		},
		{
			name: "comments",
			content: `# a comment
; another
[client] # the client section
   # indented comment
user = dba # who
password = "pw#1" # the hash inside quotes is kept
host = h;not-a-comment
`,
			want: map[string]string{"user": "dba", "password": "pw#1", "host": "h;not-a-comment"},
		},
		{
			name: "escapes",
			content: `[client]
password = a\\b\sc\"d\q
`,
			want: map[string]string{"password": `a\b c"d\q`},
		},
		{
			name: "dashes and underscores are the same, names ignore case",
			content: `[client]
Default-Character-Set = utf8mb4
ssl_mode = REQUIRED
`,
			want: map[string]string{"default_character_set": "utf8mb4", "ssl_mode": "REQUIRED"},
		},
		{
			name: "option without value, empty value, spaces around =",
			content: `[client]
skip-ssl
password=
user   =   dba  
`,
			want: map[string]string{"skip_ssl": "", "password": "", "user": "dba"},
		},
		{
			name:    "byte order mark and CRLF line ends",
			content: "\ufeff[client]\r\nuser = dba\r\npassword = pw\r\n",
			want:    map[string]string{"user": "dba", "password": "pw"},
		},
		{
			name:    "no client section",
			content: "[mysqld]\nuser = mysql\n",
			want:    map[string]string{},
		},
		{
			name:    "empty file",
			content: "",
			want:    map[string]string{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, t.TempDir(), "my.cnf", tc.content)
			got, err := readDefaultsFile(p)
			if err != nil {
				t.Fatalf("readDefaultsFile: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestReadDefaultsFileInclude(t *testing.T) {
	dir := t.TempDir()
	confd := filepath.Join(dir, "conf.d")
	if err := os.Mkdir(confd, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, confd, "10-user.cnf", "[client]\nuser = fromdir\nhost = h1\n")
	writeFile(t, confd, "20-host.cnf", "[client]\nhost = h2\n")
	writeFile(t, confd, "30-ignored.txt", "[client]\nhost = h3\n")
	inc := writeFile(t, dir, "pw.cnf", "[client]\npassword = frominclude\n")
	main := writeFile(t, dir, "my.cnf", fmt.Sprintf("[client]\nuser = main\n!include %s\n!includedir %s\n!includedir %s\n",
		inc, confd, filepath.Join(dir, "missing.d")))

	got, err := readDefaultsFile(main)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"user": "fromdir", "password": "frominclude", "host": "h2"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}

	loop := writeFile(t, dir, "loop.cnf", "!include loop.cnf\n")
	if _, err := readDefaultsFile(loop); err == nil || !strings.Contains(err.Error(), "nested") {
		t.Errorf("an !include loop: err = %v, want a nesting error", err)
	}
}

func TestReadDefaultsFileErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, path, want string
	}{
		{"missing file", filepath.Join(dir, "nope.cnf"), "no such file"},
		{"unclosed section", writeFile(t, dir, "bad.cnf", "[client\nuser = x\n"), "line 1"},
		{"unknown directive", writeFile(t, dir, "dir.cnf", "!frobnicate x\n"), "unknown directive"},
		{"missing include", writeFile(t, dir, "inc.cnf", "!include /nonexistent/x.cnf\n"), "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readDefaultsFile(tc.path)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "--defaults-file") {
				t.Errorf("error %q should name --defaults-file and contain %q", err, tc.want)
			}
		})
	}
}

func TestConnConfig(t *testing.T) {
	dir := t.TempDir()
	full := writeFile(t, dir, "full.cnf", "[client]\nuser = fileuser\npassword = filepw\nhost = filehost\nport = 3307\n")
	noPW := writeFile(t, dir, "nopw.cnf", "[client]\nuser = fileuser\n")
	badPort := writeFile(t, dir, "badport.cnf", "[client]\nport = 33o6\n")
	req := []string{"--database", "d", "--table", "t"}

	for _, tc := range []struct {
		name     string
		args     []string
		env      *string // MYSQL_PWD; nil: unset
		want     mysqlx.Config
		wantFrom string
	}{
		{
			name: "defaults without anything",
			args: req,
			want: mysqlx.Config{Host: "127.0.0.1", Port: 3306, User: "root", Database: "d"},
		},
		{
			name:     "flags only",
			args:     append([]string{"--host", "h", "--port", "3310", "--user", "u", "--password", "flagpw"}, req...),
			want:     mysqlx.Config{Host: "h", Port: 3310, User: "u", Password: "flagpw", Database: "d"},
			wantFrom: "--password",
		},
		{
			name:     "flag beats MYSQL_PWD and the defaults file",
			args:     append([]string{"--password", "flagpw", "--defaults-file", full}, req...),
			env:      ptr("envpw"),
			want:     mysqlx.Config{Host: "filehost", Port: 3307, User: "fileuser", Password: "flagpw", Database: "d"},
			wantFrom: "--password",
		},
		{
			name:     "an empty --password given explicitly still wins",
			args:     append([]string{"--password=", "--defaults-file", full}, req...),
			env:      ptr("envpw"),
			want:     mysqlx.Config{Host: "filehost", Port: 3307, User: "fileuser", Password: "", Database: "d"},
			wantFrom: "--password",
		},
		{
			name:     "MYSQL_PWD beats the defaults file",
			args:     append([]string{"--defaults-file", full}, req...),
			env:      ptr("envpw"),
			want:     mysqlx.Config{Host: "filehost", Port: 3307, User: "fileuser", Password: "envpw", Database: "d"},
			wantFrom: "MYSQL_PWD",
		},
		{
			name:     "an empty MYSQL_PWD does not hide the defaults file",
			args:     append([]string{"--defaults-file", full}, req...),
			env:      ptr(""),
			want:     mysqlx.Config{Host: "filehost", Port: 3307, User: "fileuser", Password: "filepw", Database: "d"},
			wantFrom: "--defaults-file " + full,
		},
		{
			name:     "MYSQL_PWD alone",
			args:     req,
			env:      ptr("envpw"),
			want:     mysqlx.Config{Host: "127.0.0.1", Port: 3306, User: "root", Password: "envpw", Database: "d"},
			wantFrom: "MYSQL_PWD",
		},
		{
			name:     "defaults file alone",
			args:     append([]string{"--defaults-file", full}, req...),
			want:     mysqlx.Config{Host: "filehost", Port: 3307, User: "fileuser", Password: "filepw", Database: "d"},
			wantFrom: "--defaults-file " + full,
		},
		{
			name:     "flags beat the defaults file for user, host and port",
			args:     append([]string{"--defaults-file", full, "--user", "u", "--host", "h", "--port", "3310"}, req...),
			want:     mysqlx.Config{Host: "h", Port: 3310, User: "u", Password: "filepw", Database: "d"},
			wantFrom: "--defaults-file " + full,
		},
		{
			name:     "a flag equal to its default still beats the defaults file",
			args:     append([]string{"--defaults-file", full, "--host", "127.0.0.1", "--port", "3306"}, req...),
			want:     mysqlx.Config{Host: "127.0.0.1", Port: 3306, User: "fileuser", Password: "filepw", Database: "d"},
			wantFrom: "--defaults-file " + full,
		},
		{
			name: "defaults file without a password",
			args: append([]string{"--defaults-file", noPW}, req...),
			want: mysqlx.Config{Host: "127.0.0.1", Port: 3306, User: "fileuser", Database: "d"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setPwdEnv(t, tc.env)
			c, fs := parseConnFlags(t, tc.args...)
			got, err := c.config(fs)
			if err != nil {
				t.Fatalf("config: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("config = %+v\nwant     %+v", got, tc.want)
			}
			if c.passwordFrom != tc.wantFrom {
				t.Errorf("passwordFrom = %q, want %q", c.passwordFrom, tc.wantFrom)
			}
		})
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no database", []string{"--table", "t"}, "--database is required"},
		{"no table", []string{"--database", "d"}, "--table is required"},
		{"neither", nil, "--database and --table are required"},
		{"missing defaults file", append([]string{"--defaults-file", filepath.Join(dir, "nope.cnf")}, req...), "no such file"},
		{"bad port in the defaults file", append([]string{"--defaults-file", badPort}, req...), `port = "33o6" is not a port number`},
	} {
		t.Run("usage error/"+tc.name, func(t *testing.T) {
			setPwdEnv(t, nil)
			c, fs := parseConnFlags(t, tc.args...)
			_, err := c.config(fs)
			var ue usageError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v (%T), want a usageError", err, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %q, want it to contain %q", err, tc.want)
			}
			if exitCode(err) != exitUsage {
				t.Errorf("exit code %d, want %d", exitCode(err), exitUsage)
			}
		})
	}
}

func TestConnExplain(t *testing.T) {
	denied := fmt.Errorf("connect: %w", &mysql.MySQLError{Number: 1045, Message: "Access denied for user 'u'@'h' (using password: YES)"})
	insecure := fmt.Errorf("connect: %w", &mysql.MySQLError{Number: 3159, Message: "Connections using insecure transport are prohibited while --require_secure_transport=ON."})
	noTLS := fmt.Errorf("connect: %w", mysql.ErrNoTLS)
	other := errors.New("connect: connection refused")
	for _, tc := range []struct {
		name, from string
		tls        bool
		err        error
		want       string // "" : err unchanged
	}{
		{"access denied over TLS, from MYSQL_PWD", "MYSQL_PWD", true, denied, "(password from MYSQL_PWD)"},
		{"access denied over TLS, no password", "", true, denied, "(no password given"},
		{"access denied in the clear", "MYSQL_PWD", false, denied, "(password from MYSQL_PWD; connected in the clear: if the user or the server requires TLS (REQUIRE SSL or X509, require_secure_transport), use --ssl-mode REQUIRED)"},
		{"insecure transport", "", false, insecure, "(the server accepts only TLS connections: use --ssl-mode REQUIRED"},
		{"no TLS on the server", "", true, noTLS, "(the server offers no TLS: use --ssl-mode PREFERRED or DISABLED"},
		{"no TLS on the server, binlog stream", "", true, errors.New("start binlog stream: the MySQL Server does not support TLS required by the client"), "(the server offers no TLS"},
		{"other errors are unchanged", "MYSQL_PWD", false, other, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &connFlags{passwordFrom: tc.from, tls: tc.tls}
			got := c.explain(tc.err)
			if tc.want == "" {
				if got != tc.err {
					t.Errorf("explain changed %v into %v", tc.err, got)
				}
				return
			}
			if !strings.Contains(got.Error(), tc.want) || !errors.Is(got, tc.err) {
				t.Errorf("explain = %q, want it to wrap the error and contain %q", got, tc.want)
			}
		})
	}
	if (&connFlags{}).explain(nil) != nil {
		t.Error("explain(nil) != nil")
	}
}

// TestConnExplainUnknownDatabase: a missing --database is a refusal
// (exit 3) naming it, unless a copy was already kept, whose exit 5 tells
// the operator to rerun.
func TestConnExplainUnknownDatabase(t *testing.T) {
	bad := fmt.Errorf("connect to h:3306 as u: %w", &mysql.MySQLError{Number: 1049, Message: "Unknown database 'shop'"})
	c := &connFlags{database: "shop"}
	got := c.explain(bad)
	if exitCode(got) != exitRefused || !strings.Contains(got.Error(), "database shop does not exist") || !strings.Contains(got.Error(), "h:3306") {
		t.Errorf("explain = %q (exit %d), want a refusal naming the database and the server", got, exitCode(got))
	}
	kept := fmt.Errorf("%w: %w", migrate.ErrKept, bad)
	if got := c.explain(kept); exitCode(got) != exitKept {
		t.Errorf("explain of a kept copy = %q (exit %d), want exit %d", got, exitCode(got), exitKept)
	}
}

func ptr(s string) *string { return &s }

// setPwdEnv sets MYSQL_PWD for the test, or unsets it for nil.
func setPwdEnv(t *testing.T, v *string) {
	t.Helper()
	t.Setenv("MYSQL_PWD", "") // restores the original value after the test
	if v == nil {
		os.Unsetenv("MYSQL_PWD")
		return
	}
	os.Setenv("MYSQL_PWD", *v)
}

func parseConnFlags(t *testing.T, args ...string) (*connFlags, *pflag.FlagSet) {
	t.Helper()
	var c connFlags
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	c.register(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	return &c, fs
}
