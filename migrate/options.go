package migrate

import (
	"log/slog"
	"time"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/throttle"
)

// Options are the inputs of one migration.
type Options struct {
	Conn  mysqlx.Config // Database is the table's schema
	Table string
	Alter string // the clause after ALTER TABLE t, or a whole ALTER TABLE statement

	DropOld            bool          // drop _<table>_old after a successful swap
	SkipChecksum       bool          // swap without proving the copy equal first
	FullChecksum       bool          // compare the whole table before the swap, not only what changed since the copy checked it
	ForceCopy          bool          // copy even when the server could make the change instantly
	CheckTable         bool          // run CHECK TABLE on the source first and refuse on damage
	AllowDropData      bool          // proceed although a dropped column holds data
	DeferIndexes       bool          // build the non-unique secondary indexes after the copy (indexes.go); --defer-indexes sets it by default
	ChunkTime          time.Duration // target duration of one copy chunk
	MaxChunkRows       int           // upper bound of the adaptive chunk size (0: 200,000)
	Threads            int           // chunks copied at once (0: 1)
	CutoverLockTimeout time.Duration // longest the application's writes may be held back per attempt
	CutoverRetries     int
	// BlockerWait bounds the time, over the whole run, the cut-over waits
	// for transactions that hold the table (blockers.go) before the run
	// stops and keeps its copy (0: 10 minutes).
	BlockerWait time.Duration
	// KillBlockersAfter, when positive, kills a blocker of the cut-over
	// whose transaction is older than this, instead of waiting for it.
	KillBlockersAfter time.Duration
	// The cut-over waits while PostponeCutoverFile exists and outside
	// CutoverWindow, the shadow kept in sync meanwhile.
	PostponeCutoverFile string
	CutoverWindow       *Window
	// PostponeCutover keeps the ready migration in sync until `godwit
	// cutover` asks for the swap (control.go), which also releases the
	// file and the window.
	PostponeCutover bool

	Throttle throttle.Settings // thresholds; zero values mean the defaults
	Replicas []mysqlx.Config   // replicas whose lag throttles the copy
	// DiscoverReplicas adds the replicas the primary lists (SHOW REPLICAS)
	// to Replicas, each verified by its server id (replicas_discover.go).
	DiscoverReplicas bool

	// SQLMode is the sql_mode the ALTER is judged under, on the shadow
	// and in an instant change: nil for the server's global one, which a
	// native ALTER from a new session gets (sqlmode.go).
	SQLMode *string

	Log    *slog.Logger
	Report func(Event) // progress and phase changes; nil is quiet

	revert, revertDryRun bool // set by Revert and CheckRevert (revert.go)
}

// DefaultBlockerWait is the default of Options.BlockerWait.
const DefaultBlockerWait = 10 * time.Minute

func (o *Options) defaults() {
	if o.ChunkTime <= 0 {
		o.ChunkTime = 250 * time.Millisecond
	}
	if o.CutoverLockTimeout <= 0 {
		o.CutoverLockTimeout = 3 * time.Second
	}
	if o.BlockerWait <= 0 {
		o.BlockerWait = DefaultBlockerWait
	}
	if o.CutoverRetries <= 0 {
		o.CutoverRetries = 10
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
}
