package throttle

import (
	"database/sql"
	"time"
)

// Default thresholds of the standard probes.
const (
	DefaultMaxLag            = 2 * time.Second
	DefaultMaxThreadsRunning = 50
	DefaultMaxHistoryLength  = 1_000_000
	DefaultMaxLockWaits      = 20
)

// Replica is a replica to watch, named by Addr (host:port) in reasons.
type Replica struct {
	Addr string
	DB   *sql.DB
}

// Settings are the command line's thresholds. A zero Max takes the
// default, a negative one turns the probe off; a zero Critical means no
// abort. Query and FlagFile are off unless given; the query throttles
// when it returns more than 0, the flag file while it exists.
type Settings struct {
	MaxLag, CriticalLag                       time.Duration
	MaxThreadsRunning, CriticalThreadsRunning float64
	MaxHistoryLength, CriticalHistoryLength   float64
	MaxLockWaits, CriticalLockWaits           float64
	Query                                     string
	QueryCritical                             float64
	FlagFile                                  string
}

// Standard returns a Config with every probe the settings turn on: the
// lag of each replica (with a heartbeat in schema on primary, in the row
// of table, the migrated one, when there are replicas), and Threads_running, history list length, lock waits and
// the throttle query on primary. The caller adds Log and OnChange.
func Standard(primary *sql.DB, schema, table string, replicas []Replica, s Settings) Config {
	var cfg Config
	add := func(p Probe, max, def, critical float64) {
		if max < 0 {
			return
		}
		if max == 0 {
			max = def
		}
		cfg.Limits = append(cfg.Limits, Limit{Probe: p, Max: max, Critical: critical})
	}
	if len(replicas) > 0 && s.MaxLag >= 0 {
		cfg.Heartbeat = NewHeartbeat(primary, schema, table)
		for _, r := range replicas {
			add(NewReplicaLag(r.Addr, r.DB, cfg.Heartbeat),
				s.MaxLag.Seconds(), DefaultMaxLag.Seconds(), s.CriticalLag.Seconds())
		}
	}
	add(NewThreadsRunning(primary), s.MaxThreadsRunning, DefaultMaxThreadsRunning, s.CriticalThreadsRunning)
	add(NewHistoryLength(primary), s.MaxHistoryLength, DefaultMaxHistoryLength, s.CriticalHistoryLength)
	add(NewLockWaits(primary), s.MaxLockWaits, DefaultMaxLockWaits, s.CriticalLockWaits)
	if s.Query != "" {
		cfg.Limits = append(cfg.Limits, Limit{Probe: NewQuery(primary, s.Query), Critical: s.QueryCritical})
	}
	if s.FlagFile != "" {
		cfg.Limits = append(cfg.Limits, Limit{Probe: NewFlagFile(s.FlagFile)})
	}
	return cfg
}
