package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// connFlags are the connection flags every command shares.
type connFlags struct {
	host, user, password, database, table, defaultsFile string
	port                                                int
}

func (c *connFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&c.host, "host", "127.0.0.1", "server host")
	fs.IntVar(&c.port, "port", 3306, "server port")
	fs.StringVar(&c.user, "user", "", "user (default: from --defaults-file, else root)")
	fs.StringVar(&c.password, "password", "", "password (prefer MYSQL_PWD or --defaults-file: argv is visible to other users)")
	fs.StringVar(&c.defaultsFile, "defaults-file", "", "my.cnf-style file whose [client] section gives user, password, host, port")
	fs.StringVar(&c.database, "database", "", "database of the table (required)")
	fs.StringVar(&c.table, "table", "", "table to change (required)")
}

// config resolves the connection: flags win, then MYSQL_PWD for the
// password, then the defaults file.
func (c *connFlags) config(fs *pflag.FlagSet) (mysqlx.Config, error) {
	if c.database == "" || c.table == "" {
		return mysqlx.Config{}, usageError{fmt.Errorf("--database and --table are required")}
	}
	cfg := mysqlx.Config{Host: c.host, Port: c.port, User: c.user, Password: c.password, Database: c.database}
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
		}
		if !fs.Changed("host") && vals["host"] != "" {
			cfg.Host = vals["host"]
		}
		if p, err := strconv.Atoi(vals["port"]); !fs.Changed("port") && err == nil {
			cfg.Port = p
		}
	}
	if !fs.Changed("password") {
		if pw, ok := os.LookupEnv("MYSQL_PWD"); ok {
			cfg.Password = pw
		}
	}
	if cfg.User == "" {
		cfg.User = "root"
	}
	return cfg, nil
}

// readDefaultsFile reads the [client] (and [godwit]) sections of a my.cnf
// file: key = value lines, optionally quoted values, # and ; comments.
func readDefaultsFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--defaults-file: %w", err)
	}
	defer f.Close()
	vals := map[string]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
			continue
		case line[0] == '[':
			section = strings.ToLower(strings.Trim(line, "[] "))
			continue
		}
		if section != "client" && section != "godwit" {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		k = strings.ReplaceAll(strings.ToLower(strings.TrimSpace(k)), "-", "_")
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		vals[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--defaults-file %s: %w", path, err)
	}
	return vals, nil
}
