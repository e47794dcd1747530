package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/godwit-db/godwit/copier"
	"github.com/godwit-db/godwit/internal/mysqlx"
)

// --discover-replicas asks the primary for its replicas instead of a
// list of --replica flags:
//
//	SHOW REPLICAS (MySQL) / SHOW SLAVE HOSTS (MariaDB): server id, host, port
//	   │ host = the replica's report_host (MariaDB: else the address it
//	   │ connects from); MySQL lists a replica without report_host with no host
//	   ▼
//	connect to host:port, read @@server_id: it must be the listed one
//	   │ else: the hosts of the primary's Binlog Dump threads, at the
//	   │ listed port or the primary's, verified the same way
//	   ▼
//	a replica that cannot be verified refuses the run, naming it and the
//	--replica flag that would watch it: an unwatched replica is what the
//	checks before the swap are there to prevent.
//
// godwit's own binlog readers register too; copier.ReaderHost tells them.

// discoverTimeout bounds each connection attempt to a listed replica.
const discoverTimeout = 5 * time.Second

// listedReplica is a row of SHOW REPLICAS.
type listedReplica struct {
	serverID int64
	host     string
	port     int
}

func (l listedReplica) String() string {
	if l.host == "" {
		return fmt.Sprintf("server id %d (no report_host)", l.serverID)
	}
	return fmt.Sprintf("server id %d (listed as %s)", l.serverID, net.JoinHostPort(l.host, strconv.Itoa(l.port)))
}

// addDiscoveredReplicas is the preflight step of --discover-replicas: the
// replicas found join those given with --replica.
func (m *migration) addDiscoveredReplicas(ctx context.Context) error {
	if !m.opt.DiscoverReplicas {
		return nil
	}
	found, err := m.discoverReplicas(ctx)
	if err != nil {
		return err
	}
	for _, r := range found {
		if !slices.ContainsFunc(m.opt.Replicas, func(c mysqlx.Config) bool { return c.Addr() == r.Addr() }) {
			m.opt.Replicas = append(m.opt.Replicas, r)
		}
	}
	return nil
}

// discoverReplicas returns a connection setting for every replica the
// primary lists, each verified by its server id, or a refusal naming the
// ones it could not reach.
func (m *migration) discoverReplicas(ctx context.Context) ([]mysqlx.Config, error) {
	listed, err := listReplicas(ctx, m.db)
	if err != nil {
		return nil, refuse("replicas", "Pass the replicas with --replica host:port instead of --discover-replicas.", "discover replicas: %v", err)
	}
	dumpHosts, err := binlogDumpHosts(ctx, m.db, m.server.Flavor)
	if err != nil {
		return nil, refuse("replicas", "Pass the replicas with --replica host:port instead of --discover-replicas.", "discover replicas: %v", err)
	}
	var found []mysqlx.Config
	var failed []string
	for _, l := range listed {
		cfg, why := m.reachReplica(ctx, l, dumpHosts)
		if why != "" {
			failed = append(failed, why)
			continue
		}
		m.log.Info("replica discovered", "server_id", l.serverID, "addr", cfg.Addr())
		found = append(found, cfg)
	}
	if len(failed) > 0 {
		return nil, refuse("replicas",
			"Pass each replica with --replica host:port (the same user and password as the primary), or set report_host (and report_port) on the replica so that the primary lists where to reach it.",
			"--discover-replicas could not reach %s", strings.Join(failed, "; "))
	}
	if len(found) == 0 {
		m.warn("--discover-replicas: the primary lists no replica (one reconnecting right now is not listed either); no replica is watched")
	}
	return found, nil
}

// reachReplica connects to a listed replica and checks its server id;
// why says what failed, "" on success.
func (m *migration) reachReplica(ctx context.Context, l listedReplica, dumpHosts []string) (mysqlx.Config, string) {
	var tried []string
	if l.host != "" {
		port := l.port
		if port == 0 {
			port = m.opt.Conn.Port
		}
		cfg, err := m.verifyReplica(ctx, l.host, port, l.serverID)
		if err == nil {
			return cfg, ""
		}
		tried = append(tried, fmt.Sprintf("%s: %v", net.JoinHostPort(l.host, strconv.Itoa(port)), err))
	}
	// The hosts replicas connect from, at the listed port (MySQL lists
	// the replica's own port without report_host) or the primary's (hosts
	// often run one server each on the same port): guesses, kept only
	// when the server there has the listed id.
	ports := []int{m.opt.Conn.Port}
	if l.port != 0 && l.port != m.opt.Conn.Port {
		ports = []int{l.port, m.opt.Conn.Port}
	}
	for _, h := range dumpHosts {
		for _, port := range ports {
			if h == l.host && port == l.port {
				continue // tried above
			}
			cfg, err := m.verifyReplica(ctx, h, port, l.serverID)
			if err == nil {
				return cfg, ""
			}
			tried = append(tried, fmt.Sprintf("%s: %v", net.JoinHostPort(h, strconv.Itoa(port)), err))
		}
	}
	if len(tried) == 0 {
		return mysqlx.Config{}, fmt.Sprintf("replica %s: no address to try", l)
	}
	return mysqlx.Config{}, fmt.Sprintf("replica %s (tried %s)", l, strings.Join(tried, ", "))
}

// verifyReplica connects to host:port with the primary's credentials and
// checks that the server there has server id want.
func (m *migration) verifyReplica(ctx context.Context, host string, port int, want int64) (mysqlx.Config, error) {
	cfg := m.opt.Conn
	cfg.Host, cfg.Port = host, port
	if cfg.TLS != nil && cfg.TLS.ServerName != "" {
		cfg.TLS = cfg.TLS.Clone()
		cfg.TLS.ServerName = host // VERIFY_IDENTITY checks each server's own name
	}
	cctx, cancel := context.WithTimeout(ctx, discoverTimeout)
	defer cancel()
	// Without the database: whether the schema has replicated yet is not
	// the question here.
	probe := cfg
	probe.Database = ""
	db, err := mysqlx.Open(cctx, probe)
	if err != nil {
		return cfg, err
	}
	defer db.Close()
	var id int64
	if err := db.QueryRowContext(cctx, mysqlx.Tag+"SELECT @@server_id").Scan(&id); err != nil {
		return cfg, err
	}
	if id != want {
		return cfg, fmt.Errorf("the server there has server id %d", id)
	}
	return cfg, nil
}

// listReplicas reads SHOW REPLICAS, or SHOW SLAVE HOSTS where the server
// does not know it, leaving godwit's own binlog readers out.
func listReplicas(ctx context.Context, db *sql.DB) ([]listedReplica, error) {
	rows, err := showRows(ctx, db, "SHOW REPLICAS")
	if mysqlx.ErrCode(err) == errParseError {
		rows, err = showRows(ctx, db, "SHOW SLAVE HOSTS")
	}
	if err != nil {
		return nil, fmt.Errorf("list the primary's replicas: %w", err)
	}
	var out []listedReplica
	for _, r := range rows {
		if r["host"] == copier.ReaderHost {
			continue
		}
		id, err := strconv.ParseInt(r["server_id"], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("list the primary's replicas: Server_id %q", r["server_id"])
		}
		port, _ := strconv.Atoi(r["port"])
		out = append(out, listedReplica{serverID: id, host: r["host"], port: port})
	}
	return out, nil
}

// errParseError is ER_PARSE_ERROR: a statement this server does not know.
const errParseError = 1064

// binlogDumpHosts lists the hosts (without the port) the primary's binlog
// dump threads serve, in a stable order.
func binlogDumpHosts(ctx context.Context, db *sql.DB, flavor string) ([]string, error) {
	q := mysqlx.Tag + "SELECT HOST FROM " + mysqlx.Processlist(flavor) + " WHERE COMMAND LIKE 'Binlog Dump%'"
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list the binlog dump threads: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var h sql.NullString
		if err := rows.Scan(&h); err != nil {
			return nil, err
		}
		host := h.String
		if hh, _, err := net.SplitHostPort(host); err == nil {
			host = hh
		}
		if host != "" && !slices.Contains(out, host) {
			out = append(out, host)
		}
	}
	slices.Sort(out)
	return out, rows.Err()
}

// showRows runs a SHOW statement into maps of lower-case column name to
// text: MySQL says Server_Id, MariaDB Server_id.
func showRows(ctx context.Context, db *sql.DB, query string) ([]map[string]string, error) {
	rows, err := mysqlx.QueryMaps(ctx, db, query)
	var out []map[string]string
	for _, row := range rows {
		r := make(map[string]string, len(row))
		for c, v := range row {
			r[strings.ToLower(c)] = v.String
		}
		out = append(out, r)
	}
	return out, err
}
