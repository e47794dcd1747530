package migrate

import (
	"time"

	"github.com/godwit-db/godwit/copier"
)

// Phase is a step of the migration.
type Phase string

// The phases, in order.
const (
	PhasePreflight Phase = "preflight"
	PhaseSetup     Phase = "setup"
	PhaseInstant   Phase = "instant"
	PhaseCopy      Phase = "copy"
	PhaseIndexes   Phase = "indexes" // the shadow's deferred indexes are built
	PhaseCatchUp   Phase = "catch-up"
	PhaseVerify    Phase = "verify"
	// PhaseReady: the change is ready (copied and verified, or instant)
	// and the cut-over waits for its release: a postponement or a pause.
	PhaseReady   Phase = "ready"
	PhaseCutover Phase = "cut-over"
	PhaseCleanup Phase = "cleanup"
	PhaseDone    Phase = "done"
)

// PhaseOrder lists the phases in the order they run.
var PhaseOrder = []Phase{PhasePreflight, PhaseSetup, PhaseInstant, PhaseCopy, PhaseIndexes, PhaseCatchUp, PhaseVerify, PhaseReady, PhaseCutover, PhaseCleanup, PhaseDone}

// Event is a progress report: a phase change, or progress within one.
type Event struct {
	Time      time.Time
	Phase     Phase
	Message   string
	RowsTotal int64 // the server's estimate of the table's rows
	Progress  copier.Progress
	Checksum  copier.ChecksumResult // during verify

	Throttled      bool   // the copy is held back by the server's load
	ThrottleReason string // which probe, its value and threshold
	Paused         bool   // the copy is held by godwit pause
	PauseReason    string // who paused it, from where
	// Postponed says why the ready cut-over waits (PhaseReady), "" when
	// it does not.
	Postponed string
}

// Summary is what a finished migration reports.
type Summary struct {
	Table          string
	Swapped        bool   // the new table serves under the original name
	Resumed        bool   // the run picked up an interrupted one's copy
	ResumedFrom    string // where: "copy at row 12000", "copy done", "the cut-over"
	AlreadyDone    bool   // an earlier run had swapped the tables; this one finished its cleanup
	Path           string // PathInstant or PathCopy
	Rows           int64  // rows copied
	Applied        int64  // rows re-applied from binlog changes
	Changes        int64  // row changes seen in the binlog
	Phases         map[Phase]time.Duration
	ChecksumChunks int64 // chunks compared by the last checksum pass
	ChecksumRows   int64 // source rows compared (during the copy, when it verified)
	// ChecksumRechecked is the rows compared again before the swap, after
	// the copy verified its chunks: those that changed and those of chunks
	// that differed.
	ChecksumRechecked int64
	ChecksumRepairs   int           // chunks recopied and keys re-applied because they differed
	Throttled         time.Duration // time the copy waited for the server's load
	Paused            time.Duration // time godwit pause held the copy, the checksum or the cut-over
	Postponed         time.Duration // time the ready cut-over waited for its release (file, window, godwit cutover)
	ReplicaWait       time.Duration // time the cut-over waited for the replicas (lag, stopped replication)
	CutoverStall      time.Duration // how long writes were held back by the successful attempt
	CutoverStallMax   time.Duration // the longest hold of any attempt, failed ones included
	CutoverAttempts   int
	CutoverApplied    int64         // rows applied while holding the lock
	BlockerWait       time.Duration // time the cut-over waited for transactions holding the table
	Warnings          []string      // findings allowed by a flag, e.g. dropped data
	OldTable          string
	OldDropped        bool
	Total             time.Duration
}
