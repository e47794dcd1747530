package pipeline

import (
	"time"

	"github.com/godwit-db/godwit/migrate"
)

// File statuses in a report.
const (
	FileAlreadyApplied = "already-applied" // by an earlier run, with the same text
	FileApplied        = "applied"         // by this run
	FilePending        = "pending"         // not run (a dry run, or after the file a run stopped at)
	FileFailed         = "failed"          // this run stopped here: a statement failed while running
	FileRefused        = "refused"         // a check stopped it (or the whole run) before it changed anything
)

// Statement statuses in a report.
const (
	StatementDoneBefore = "done-before" // ran in an earlier run of this (resumed) file
	StatementApplied    = "applied"
	StatementFailed     = "failed"
	StatementRefused    = "refused"
	StatementPending    = "pending"
)

// VerdictNotPlanned is a dry run's verdict for a statement whose table an
// earlier pending statement creates or changes: the plan would describe
// a table that will not be the one it runs on.
const VerdictNotPlanned migrate.Verdict = "not-planned"

// Report is what apply did, or in a dry run would do: one document a
// pipeline can keep.
type Report struct {
	Database string        `json:"database"`
	Dir      string        `json:"dir"`
	DryRun   bool          `json:"dry_run"`
	Files    []*FileReport `json:"files"`
	// Applied counts the files this run applied, AlreadyApplied those of
	// earlier runs, Pending those still to apply after this run (for a
	// dry run: the files it would apply).
	Applied        int `json:"applied"`
	AlreadyApplied int `json:"already_applied"`
	Pending        int `json:"pending"`
	// Verdict is a dry run's overall verdict: the worst of its statements'.
	Verdict  migrate.Verdict `json:"verdict,omitempty"`
	Warnings []string        `json:"warnings,omitempty"`
	Seconds  float64         `json:"seconds"`
	ExitCode int             `json:"exit_code"` // set by the command
	Error    string          `json:"error,omitempty"`
}

// FileReport is one migration file.
type FileReport struct {
	Name     string `json:"name"`
	Checksum string `json:"checksum"`
	Status   string `json:"status"`
	// ResumedAt is the statement (1-based) a file that an earlier run left
	// failed or running is resumed at; 0 when it starts from the top.
	ResumedAt  int                `json:"resumed_at,omitempty"`
	StartedAt  *time.Time         `json:"started_at,omitempty"`
	FinishedAt *time.Time         `json:"finished_at,omitempty"`
	Seconds    float64            `json:"seconds,omitempty"`
	Path       string             `json:"path,omitempty"` // the paths its statements took: direct, instant, online-copy
	Message    string             `json:"message,omitempty"`
	Statements []*StatementReport `json:"statements"`

	appliedBefore bool // the history says applied (its text may have changed since)
}

// StatementReport is one statement of a file.
type StatementReport struct {
	Index   int    `json:"index"` // 1-based, in the file
	Line    int    `json:"line"`
	SQL     string `json:"sql"` // verbatim
	Display string `json:"-"`   // on one line, for people
	Kind    string `json:"kind"`
	Table   string `json:"table,omitempty"`
	// Route is how it runs: migrate, direct or refused (a CREATE INDEX is
	// direct on an empty table, migrate otherwise).
	Route string `json:"route"`
	// Path is the path taken (direct, instant or online-copy), or in a dry
	// run the one planned.
	Path string `json:"path,omitempty"`
	// Verdict is safe, needs-flag or refused (for a dry run also
	// not-planned): whether it can run as is.
	Verdict  migrate.Verdict `json:"verdict,omitempty"`
	Flag     string          `json:"flag,omitempty"` // for needs-flag
	Status   string          `json:"status"`
	Seconds  float64         `json:"seconds,omitempty"`
	Rows     int64           `json:"rows_copied,omitempty"`
	OldTable string          `json:"old_table,omitempty"` // an online copy's original, kept
	Note     string          `json:"note,omitempty"`
	Error    string          `json:"error,omitempty"`
	// StatementOK: it was refused for something outside it (a table an
	// earlier run left); the file needs no change.
	StatementOK bool          `json:"statement_ok,omitempty"`
	Plan        *migrate.Plan `json:"plan,omitempty"` // a dry run's plan of a migrate statement
}

// worse orders verdicts: refused, then needs-flag, then the rest.
func worse(a, b migrate.Verdict) migrate.Verdict {
	rank := func(v migrate.Verdict) int {
		switch v {
		case migrate.VerdictRefused:
			return 2
		case migrate.VerdictNeedsFlag:
			return 1
		}
		return 0
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}
