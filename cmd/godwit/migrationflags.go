package main

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/migrate"
)

// registerMigrationFlags registers the settings of a migration that the
// commands running migrations share (migrate, apply): replicas and the
// throttle, the chunk time, the cut-over budget and retries,
// --postpone-cutover, --force-copy, --defer-indexes, --drop-old and
// --sql-mode.
// checkMigrateFlags validates them.
func registerMigrationFlags(fs *pflag.FlagSet, opt *migrate.Options, replicas *[]string) {
	fs.StringSliceVar(replicas, "replica", nil, "host:port of a replica whose lag throttles the copy (repeatable; same user and password)")
	fs.BoolVar(&opt.DiscoverReplicas, "discover-replicas", false, "also watch every replica the primary lists (SHOW REPLICAS / SHOW SLAVE HOSTS), each reached at its report_host and verified by its server id; "+
		"a listed replica that cannot be reached stops the run before anything is created (pass it with --replica); a replica disconnected at that moment is not listed")
	th := &opt.Throttle
	fs.DurationVar(&th.MaxLag, "max-lag", 2*time.Second, "pause the copy while a replica lags more (heartbeat-measured)")
	fs.DurationVar(&th.CriticalLag, "critical-lag", 0, "abort cleanly when a replica lags more (0: never)")
	fs.Float64Var(&th.MaxThreadsRunning, "max-threads-running", 50, "pause the copy while Threads_running exceeds this (negative: off)")
	fs.Float64Var(&th.CriticalThreadsRunning, "critical-threads-running", 0, "abort cleanly above this Threads_running (0: never)")
	fs.Float64Var(&th.MaxHistoryLength, "max-history-length", 1_000_000, "pause the copy while the InnoDB history list (purge lag) is longer (negative: off)")
	fs.Float64Var(&th.MaxLockWaits, "max-lock-waits", 20, "pause the copy while more InnoDB lock waits are pending (negative: off)")
	fs.StringVar(&th.Query, "throttle-query", "", "a query returning one number; the copy pauses while it is above 0")
	fs.StringVar(&th.FlagFile, "throttle-flag-file", "", "the copy pauses while this file exists")
	fs.BoolVar(&opt.DropOld, "drop-old", false, "drop _<table>_old after a successful swap (default: keep it)")
	fs.BoolVar(&opt.ForceCopy, "force-copy", false, "copy online even when the server could make the change instantly")
	fs.BoolVar(&opt.DeferIndexes, "defer-indexes", true, "copy without the new table's non-unique secondary indexes and build them afterwards in one online ALTER of it: "+
		"a faster copy, changes applied meanwhile; a replica runs that ALTER in one go and lags by its duration once")
	fs.BoolVar(&opt.FullChecksum, "full-checksum", false, "before the swap, compare the whole table again instead of the chunks checked during the copy plus every row changed since: "+
		"also catches an update the binlog never carried (a session with sql_log_bin=0), at the cost of reading both tables once more")
	fs.DurationVar(&opt.ChunkTime, "chunk-time", 250*time.Millisecond, "target duration of one copy chunk; the chunk size adapts to it")
	fs.IntVar(&opt.Threads, "threads", 2, "chunks copied at once; each keeps one server core busy while it runs")
	fs.DurationVar(&opt.CutoverLockTimeout, "cutover-lock-timeout", 3*time.Second, "longest the application's writes may be held back by one cut-over attempt (whole seconds; rounded up)")
	fs.IntVar(&opt.CutoverRetries, "cutover-retries", 10, "cut-over attempts before giving up (the original table stays)")
	fs.DurationVar(&opt.BlockerWait, "cutover-blocker-wait", migrate.DefaultBlockerWait, "longest the cut-over waits, over the whole run, for transactions holding the table before the run stops and keeps its copy (exit 5)")
	fs.DurationVar(&opt.KillBlockersAfter, "kill-blockers-after", 0, "kill a session blocking the cut-over once its transaction is older than this, only one the server lists as holding the table, never a mere suspect (0: never; wait for it)")
	// Here rather than with migrate's other postponements: a release
	// pipeline (apply) may want each copy held for an operator too.
	registerSQLMode(fs, &opt.SQLMode)
	fs.BoolVar(&opt.PostponeCutover, "postpone-cutover", false, "copy, verify and keep in sync, then wait for godwit cutover (on that table) before swapping; an instant change waits the same way before it touches the table")
}

// registerSQLMode registers --sql-mode, which sets *dst; unset, the ALTER
// meets the server's global sql_mode.
func registerSQLMode(fs *pflag.FlagSet, dst **string) {
	fs.Var(sqlModeValue{dst}, "sql-mode", "the sql_mode the ALTER is judged under, as a native ALTER from your application's sessions would be, "+
		"e.g. STRICT_TRANS_TABLES,NO_ZERO_DATE (default: the server's global sql_mode); the copy itself keeps accepting the values already in the table")
}

// sqlModeValue is --sql-mode's value: mode names separated by commas.
type sqlModeValue struct{ dst **string }

func (v sqlModeValue) String() string {
	if v.dst == nil || *v.dst == nil {
		return ""
	}
	return **v.dst
}

func (v sqlModeValue) Set(s string) error {
	if err := mysqlx.CheckSQLMode(s); err != nil {
		return err
	}
	*v.dst = &s
	return nil
}

func (v sqlModeValue) Type() string { return "modes" }
