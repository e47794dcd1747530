package throttle

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// ErrReplicationStopped is wrapped by the ReplicaLag error when a
// replica's IO or SQL thread is not running: its lag is unknown and
// growing, so it counts as over any Max (the copy pauses) without
// aborting the migration.
var ErrReplicationStopped = errors.New("replication is not running")

// errParse is ER_PARSE_ERROR: an old server without SHOW REPLICA STATUS.
const errParse = 1064

// ReplicaLag measures a replica's lag in seconds: the primary's clock now
// minus the heartbeat value the replica has applied. Until the replica has
// applied a heartbeat this process wrote (or without a Heartbeat), it
// reads Seconds_Behind_Master. A stopped IO or SQL thread is an error
// wrapping ErrReplicationStopped.
type ReplicaLag struct {
	addr string
	db   *sql.DB
	hb   *Heartbeat

	mu       sync.Mutex
	legacy   bool   // the server only knows SHOW SLAVE STATUS
	lastFrom string // "heartbeat" or "Seconds_Behind_Master": where the last value came from
}

// NewReplicaLag watches the replica db, named addr (host:port) in reasons;
// hb is the heartbeat the Throttler writes on the primary, or nil.
func NewReplicaLag(addr string, db *sql.DB, hb *Heartbeat) *ReplicaLag {
	return &ReplicaLag{addr: addr, db: db, hb: hb}
}

// Name is "replica <addr> lag".
func (r *ReplicaLag) Name() string { return "replica " + r.addr + " lag" }

// Describe words the lag as durations: "replica h:p lag 3.2s > 2s".
func (r *ReplicaLag) Describe(value, limit float64) string {
	return r.Name() + " " + formatSeconds(value) + " > " + formatSeconds(limit)
}

// Measure returns the lag in seconds.
func (r *ReplicaLag) Measure(ctx context.Context) (float64, error) {
	status, err := r.status(ctx)
	if err != nil {
		return 0, err
	}
	if len(status) == 0 {
		return 0, errors.New("not a replica: SHOW REPLICA STATUS is empty")
	}
	sbm := 0.0
	for _, st := range status {
		for _, th := range []struct{ name, old, now string }{
			{"SQL", "Slave_SQL_Running", "Replica_SQL_Running"},
			{"IO", "Slave_IO_Running", "Replica_IO_Running"},
		} {
			v, _ := field(st, th.old, th.now)
			if v.String != "Yes" {
				why := ""
				if e, _ := field(st, "Last_"+th.name+"_Error"); e.String != "" {
					why = ": " + e.String
				}
				return 0, fmt.Errorf("%s thread not running (%s=%s%s): %w, lag counts as infinite",
					th.name, th.old, v.String, why, ErrReplicationStopped)
			}
		}
		v, _ := field(st, "Seconds_Behind_Master", "Seconds_Behind_Source")
		if !v.Valid {
			return 0, errors.New("Seconds_Behind_Master is NULL: lag unknown")
		}
		s, err := strconv.ParseFloat(v.String, 64)
		if err != nil {
			return 0, fmt.Errorf("Seconds_Behind_Master %q is not a number", v.String)
		}
		sbm = math.Max(sbm, s)
	}

	if r.hb != nil {
		now, first, ok, err := r.hb.primaryNow()
		if err != nil {
			return 0, fmt.Errorf("the heartbeat on the primary is failing, lag unknown: %w", err)
		}
		if ok {
			ts, seen, err := r.hb.replicated(ctx, r.db)
			if err != nil {
				return 0, fmt.Errorf("read heartbeat: %w", err)
			}
			if seen && ts >= first {
				r.setFrom("heartbeat")
				return math.Max(0, float64(now-ts)/1e6), nil
			}
		}
	}
	r.setFrom("Seconds_Behind_Master")
	return sbm, nil
}

// status runs SHOW REPLICA STATUS (SHOW SLAVE STATUS on old servers).
func (r *ReplicaLag) status(ctx context.Context) ([]map[string]sql.NullString, error) {
	r.mu.Lock()
	legacy := r.legacy
	r.mu.Unlock()
	if !legacy {
		rows, err := mysqlx.QueryMaps(ctx, r.db, "SHOW REPLICA STATUS")
		if mysqlx.ErrCode(err) != errParse {
			return rows, err
		}
		r.mu.Lock()
		r.legacy = true
		r.mu.Unlock()
	}
	return mysqlx.QueryMaps(ctx, r.db, "SHOW SLAVE STATUS")
}

func (r *ReplicaLag) setFrom(s string) {
	r.mu.Lock()
	r.lastFrom = s
	r.mu.Unlock()
}

// from says where the last value came from.
func (r *ReplicaLag) from() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastFrom
}

// formatSeconds prints seconds as a rounded duration: 3.2s, 250ms.
func formatSeconds(v float64) string {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return "unknown"
	}
	d := time.Duration(v * float64(time.Second))
	if d >= time.Second || d <= -time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Millisecond).String()
}
