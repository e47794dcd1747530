package migrate

import (
	"context"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/throttle"
)

// throttleFix is what to do about a probe that cannot measure.
const throttleFix = "Grant what the probe needs (the server's message names the privilege), " +
	"fix --replica or --throttle-query, or turn the probe off (e.g. --max-history-length -1, --max-lag -1), and rerun."

// checkThrottle connects to the replicas and measures every throttle probe
// once, before anything is created: an unreachable replica, a privilege a
// probe reads with (PROCESS for the history list length, a replica's
// status) or a throttle query that fails is refused now, not after the
// shadow has been built. The heartbeat is not written here: what it needs
// (CREATE, INSERT, UPDATE, DELETE, DROP in the database) checkPrivileges checks.
func (m *migration) checkThrottle(ctx context.Context) error {
	replicas, err := m.openReplicas(ctx)
	if err != nil {
		return err
	}
	cfg := throttle.Standard(m.db, m.opt.Conn.Database, m.opt.Table, replicas, m.opt.Throttle)
	cfg.Log = m.log
	th, err := throttle.New(cfg)
	if err != nil {
		return refuse("throttle", "Fix the throttle settings.", "%v", err)
	}
	if err := th.Check(ctx); err != nil {
		return refuse("throttle", throttleFix, "%v", err)
	}
	return nil
}

// openReplicas connects to every --replica once; the preflight and the
// throttler share the pools, which Run closes.
func (m *migration) openReplicas(ctx context.Context) ([]throttle.Replica, error) {
	if m.replicas != nil || len(m.opt.Replicas) == 0 {
		return m.replicas, nil
	}
	var out []throttle.Replica
	for _, r := range m.opt.Replicas {
		// Every query on a replica names its schema; selecting it would
		// refuse a schema created a moment ago and not replicated yet.
		r.Database = ""
		db, err := mysqlx.Open(ctx, r)
		if err != nil {
			return nil, refuse("throttle", "Check --replica, or leave the replica out.", "replica %s: %v", r.Addr(), err)
		}
		m.replicaDBs = append(m.replicaDBs, db)
		out = append(out, throttle.Replica{Addr: r.Addr(), DB: db})
	}
	m.replicas = out
	return out, nil
}

// closeReplicas closes the replicas' pools.
func (m *migration) closeReplicas() {
	for _, db := range m.replicaDBs {
		db.Close()
	}
	m.replicaDBs, m.replicas = nil, nil
}
