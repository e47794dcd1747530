// Package pipeline applies a directory of migration files, in name
// order, as one release step: `godwit apply DIR`. Each file runs once; a
// history table in the database says which ran, with which text, and how
// far a failed one got, so that a rerun applies only what is pending and
// resumes a failed file at its first statement not yet run.
//
// Each statement is routed by what it is (see route.go): ALTER TABLE
// through migrate (instantly when the server can, else an online copy),
// cheap DDL directly under a short lock wait, and the rest refused. See
// README.md.
package pipeline

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/sqlparse"
	"github.com/godwit-db/godwit/migrate"
)

// Options are the inputs of one run.
type Options struct {
	Dir   string // for the report
	Files []File // from LoadDir, in name order
	Conn  mysqlx.Config
	// DryRun plans every pending statement and changes nothing, not even
	// the history table.
	DryRun         bool
	AllowDropTable bool // let files drop or truncate tables
	// Migrate holds the settings of every migration (chunk time,
	// cut-over budget, throttle, replicas, ForceCopy, DropOld,
	// AllowDropData); Conn, Table, Alter, Log and Report are set per
	// statement. Its CutoverLockTimeout and CutoverRetries also bound the
	// lock waits of direct statements.
	Migrate    migrate.Options
	SampleRows int // a dry run's plans: rows read to time a copy (0: the planner's default)
	Log        *slog.Logger

	// Progress receives each migration's events. OnStart is called once
	// the files have been read against the history, before anything
	// runs; OnFile when a file starts (done false) and ends; OnStatement
	// when a statement has run, failed, been refused or been planned. All
	// may be nil.
	Progress    func(f *FileReport, s *StatementReport, e migrate.Event)
	OnStart     func(r *Report)
	OnFile      func(f *FileReport, done bool)
	OnStatement func(f *FileReport, s *StatementReport)
}

// NeedsFlagError ends a dry run whose worst verdict is needs-flag.
type NeedsFlagError struct{ Flags []string }

func (e *NeedsFlagError) Error() string {
	return "dry run: some statements need " + strings.Join(e.Flags, " and ")
}

// ExitCode is plan's code for a change that needs a flag.
func (e *NeedsFlagError) ExitCode() int { return migrate.VerdictNeedsFlag.ExitCode() }

// pendingFile is a file this run applies (or plans), from statement from.
type pendingFile struct {
	file   File
	rep    *FileReport
	stmts  []Statement
	routes []routing
	from   int    // 0-based: the first statement not yet run
	paths  string // paths taken by its statements so far
}

type applier struct {
	opt     Options
	rep     *Report
	db      *sql.DB
	hist    *history
	pending []*pendingFile
	refused []string // why the run is refused before anything runs: one line each
	flagged []string // statements refused only for a missing flag: one line each
	flags   []string // the flags they need
	touched map[string]touch
	sqlMode string // what statements run directly run under: --sql-mode, or the server's global one
}

// Apply applies the pending files, or plans them with DryRun. The
// report is returned also with an error; a *migrate.Refusal means a
// check stopped the run (before anything ran when no file is applied by
// it, else at the file and statement it names, with nothing of that
// statement changed).
func Apply(ctx context.Context, opt Options) (*Report, error) {
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	start := time.Now()
	a := &applier{opt: opt, rep: &Report{Database: opt.Conn.Database, Dir: opt.Dir, DryRun: opt.DryRun, Files: []*FileReport{}},
		touched: map[string]touch{}}
	err := a.run(ctx)
	a.rep.Seconds = time.Since(start).Seconds()
	a.count()
	if err != nil {
		a.rep.Error = err.Error()
	}
	return a.rep, err
}

// count sets the report's totals from its files.
func (a *applier) count() {
	a.rep.Applied, a.rep.AlreadyApplied, a.rep.Pending = 0, 0, 0
	for _, f := range a.rep.Files {
		switch {
		case f.appliedBefore:
			a.rep.AlreadyApplied++
		case f.Status == FileApplied:
			a.rep.Applied++
		default:
			a.rep.Pending++
		}
	}
}

func (a *applier) run(ctx context.Context) error {
	var err error
	if a.db, err = mysqlx.Open(ctx, a.opt.Conn); err != nil {
		return err
	}
	defer a.db.Close()
	// The files may name any charset or collation the server has.
	if err := sqlparse.Register(ctx, a.db); err != nil {
		return err
	}
	if a.opt.Migrate.SQLMode != nil {
		a.sqlMode = *a.opt.Migrate.SQLMode
	} else if a.sqlMode, err = mysqlx.GlobalSQLMode(ctx, a.db); err != nil {
		return err
	}
	a.hist = &history{db: a.db, schema: a.opt.Conn.Database}
	if !a.opt.DryRun {
		release, err := lock(ctx, a.db, a.opt.Conn.Database)
		if err != nil {
			return err
		}
		defer release()
	}
	rows, _, err := a.hist.read(ctx)
	if err != nil {
		return err
	}
	a.sort(rows)
	a.count()
	if a.opt.OnStart != nil {
		a.opt.OnStart(a.rep)
	}
	if a.opt.DryRun {
		return a.dryRun(ctx)
	}
	if why := append(slices.Clone(a.refused), a.flagged...); len(why) > 0 {
		for _, pf := range a.pending {
			if pf.rep.Status == FilePending {
				pf.rep.Message = "not run: the run was refused before anything ran"
			}
		}
		fix := "Fix the files named, then rerun."
		if len(a.refused) == 0 {
			fix = "Pass " + strings.Join(a.flags, " and ") + " if that is what you mean, then rerun."
		}
		return &migrate.Refusal{Check: "apply", Reason: "nothing was run: " + strings.Join(why, "; "), Fix: fix}
	}
	if len(a.pending) == 0 {
		return nil
	}
	if err := a.hist.ensure(ctx); err != nil {
		return err
	}
	for i, pf := range a.pending {
		if err := a.applyFile(ctx, pf); err != nil {
			for _, later := range a.pending[i+1:] {
				later.rep.Message = "not run: the run stopped at " + pf.file.Name
			}
			return err
		}
	}
	return nil
}

// sort reads the directory against the history: which files ran, which
// are pending and from where, and whatever must stop the run before it
// starts (an applied file whose text changed, a file the parser cannot
// read, a statement godwit will not run).
func (a *applier) sort(rows map[string]historyRow) {
	inDir := map[string]bool{}
	lastApplied := ""
	for _, f := range a.opt.Files {
		inDir[f.Name] = true
	}
	names := make([]string, 0, len(rows))
	for name := range rows {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		r := rows[name]
		if !inDir[r.Name] {
			a.rep.Warnings = append(a.rep.Warnings, fmt.Sprintf("%s is recorded in %s as %s but is not in %s", r.Name, HistoryTable, r.Outcome, a.opt.Dir))
		}
		if r.Outcome == OutcomeApplied && r.Name > lastApplied {
			lastApplied = r.Name
		}
	}
	for _, f := range a.opt.Files {
		fr := &FileReport{Name: f.Name, Checksum: f.Checksum, Status: FilePending, Statements: []*StatementReport{}}
		a.rep.Files = append(a.rep.Files, fr)
		row, ok := rows[f.Name]
		if ok && row.Outcome == OutcomeApplied {
			fr.Status, fr.Path, fr.StartedAt, fr.FinishedAt = FileAlreadyApplied, row.Path, serverTime(row.StartedAt), serverTime(row.FinishedAt)
			fr.appliedBefore = true
			if row.Checksum != f.Checksum {
				fr.Status = FileRefused
				fr.Message = fmt.Sprintf("its text changed after it was applied (at %s UTC): checksum %s, applied %s", row.FinishedAt, short(f.Checksum), short(row.Checksum))
				a.refuse(fmt.Sprintf("%s was applied (at %s UTC) and its text has changed since; an applied file must not change: "+
					"restore it, and put the new change in a new file", f.Name, row.FinishedAt))
			}
			continue
		}
		if !ok {
			for _, name := range names {
				other := rows[name]
				if other.Outcome == OutcomeApplied && other.Checksum == f.Checksum && !inDir[other.Name] {
					fr.Status = FileRefused
					fr.Message = "it has the text of " + other.Name + ", applied, no longer in the directory"
					a.refuse(fmt.Sprintf("%s has exactly the text of %s, which was applied (at %s UTC) and is no longer in %s: "+
						"if the file was renamed, give it back its name", f.Name, other.Name, other.FinishedAt, a.opt.Dir))
				}
			}
			if f.Name < lastApplied {
				a.rep.Warnings = append(a.rep.Warnings, fmt.Sprintf("%s is pending but sorts before %s, already applied: it runs now, after it", f.Name, lastApplied))
			}
		}
		pf := &pendingFile{file: f, rep: fr}
		if err := a.readFile(pf, row, ok); err != nil {
			fr.Status, fr.Message = FileRefused, err.Error()
			a.refuse(err.Error())
			continue
		}
		a.pending = append(a.pending, pf)
	}
}

func (a *applier) refuse(why string) { a.refused = append(a.refused, why) }

// readFile splits and routes a pending file, and finds where a file an
// earlier run left failed or running resumes.
func (a *applier) readFile(pf *pendingFile, row historyRow, inHistory bool) error {
	stmts, err := Split(pf.file)
	if err != nil {
		return err
	}
	pf.stmts = stmts
	if inHistory && row.Done > 0 {
		switch {
		case row.Done > len(stmts):
			return fmt.Errorf("%s: an earlier run ran its first %d statements, and it now has %d: the statements that ran "+
				"must stay as they were; restore them and change only the ones after", pf.file.Name, row.Done, len(stmts))
		case prefixChecksum(stmts, row.Done) != row.DoneChecksum:
			return fmt.Errorf("%s: an earlier run ran its first %d statements, and they have changed since: restore them "+
				"and change only statements %d and later (which did not run)", pf.file.Name, row.Done, row.Done+1)
		}
		pf.from, pf.paths, pf.rep.ResumedAt = row.Done, row.Path, row.Done+1
	}
	for _, s := range stmts {
		sr := &StatementReport{Index: s.Index, Line: s.Line, SQL: s.Text, Display: s.Display(100), Status: StatementPending}
		r := route(s, a.opt.Conn.Database, a.opt.AllowDropTable)
		pf.routes = append(pf.routes, r)
		sr.Kind, sr.Table, sr.Route, sr.Flag = r.Kind, r.Table, r.Route, r.Flag
		if sr.Route == routeIfEmpty {
			sr.Route = RouteDirect // or migrate, once the table is seen to hold rows
		}
		pf.rep.Statements = append(pf.rep.Statements, sr)
		if s.Index <= pf.from {
			sr.Status, sr.Verdict = StatementDoneBefore, migrate.VerdictSafe
			continue
		}
		if r.Route == RouteRefused {
			sr.Status, sr.Verdict, sr.Error = StatementRefused, migrate.VerdictRefused, r.Refusal
			pf.rep.Status = FileRefused
			why := fmt.Sprintf("%s statement %d (line %d): %s", pf.file.Name, s.Index, s.Line, r.Refusal)
			if r.Flag != "" {
				sr.Verdict = migrate.VerdictNeedsFlag
				a.flags = appendNew(a.flags, r.Flag)
				a.flagged = append(a.flagged, why)
				continue
			}
			a.refuse(why)
		}
	}
	if pf.rep.Status == FileRefused {
		pf.rep.Message = "refused: a statement godwit will not run as is"
	}
	return nil
}

// applyFile runs a file's statements from its first not yet run,
// recording each in the history as it completes.
func (a *applier) applyFile(ctx context.Context, pf *pendingFile) error {
	f, fr := pf.file, pf.rep
	started := time.Now().UTC()
	fr.StartedAt = &started
	if err := a.hist.start(ctx, f, len(pf.stmts), pf.from, prefixChecksum(pf.stmts, pf.from)); err != nil {
		return err
	}
	if a.opt.OnFile != nil {
		a.opt.OnFile(fr, false)
	}
	fail := func(i int, err error) error {
		fr.Status = FileFailed
		stopped := "failed"
		if migrate.IsRefusal(err) {
			fr.Status, stopped = FileRefused, "was refused"
		}
		if ctx.Err() != nil {
			stopped = "was interrupted"
		}
		s := pf.stmts[i]
		err = fmt.Errorf("%s statement %d (line %d) %s: %w", f.Name, s.Index, s.Line, stopped, err)
		fr.Message = fmt.Sprintf("%s. %s. Fix what it says and rerun: godwit apply resumes %s at statement %d",
			strings.TrimRight(err.Error(), ". "), ranBefore(i), f.Name, s.Index)
		fr.Seconds = time.Since(started).Seconds()
		if herr := a.hist.finish(ctx, f.Name, OutcomeFailed, fr.Message); herr != nil {
			err = errors.Join(err, herr)
		}
		if a.opt.OnFile != nil {
			a.opt.OnFile(fr, true)
		}
		return err
	}
	for i := pf.from; i < len(pf.stmts); i++ {
		if err := ctx.Err(); err != nil {
			return fail(i, err)
		}
		sr := fr.Statements[i]
		t0 := time.Now()
		err := a.applyStatement(ctx, pf, i)
		sr.Seconds = time.Since(t0).Seconds()
		if err != nil {
			sr.Status, sr.Error = StatementFailed, err.Error()
			if migrate.IsRefusal(err) {
				sr.Status, sr.Verdict = StatementRefused, migrate.VerdictRefused
				sr.StatementOK = migrate.RefusedOutside(err)
			}
			if a.opt.OnStatement != nil {
				a.opt.OnStatement(fr, sr)
			}
			return fail(i, err)
		}
		sr.Status, sr.Verdict = StatementApplied, migrate.VerdictSafe
		pf.paths = addPath(pf.paths, sr.Path)
		fr.Path = pf.paths
		if a.opt.OnStatement != nil {
			a.opt.OnStatement(fr, sr)
		}
		if err := a.hist.statementDone(ctx, f.Name, i+1, prefixChecksum(pf.stmts, i+1), pf.paths); err != nil {
			return err
		}
	}
	if err := a.hist.finish(ctx, f.Name, OutcomeApplied, ""); err != nil {
		return err
	}
	finished := time.Now().UTC()
	fr.Status, fr.FinishedAt, fr.Seconds = FileApplied, &finished, finished.Sub(started).Seconds()
	if a.opt.OnFile != nil {
		a.opt.OnFile(fr, true)
	}
	return nil
}

// ranBefore says what of the file is in place when statement i stopped.
func ranBefore(i int) string {
	switch i {
	case 0:
		return "Nothing of the file ran"
	case 1:
		return "Statement 1 of the file ran and stays"
	}
	return fmt.Sprintf("Statements 1-%d of the file ran and stay", i)
}

// applyStatement runs statement i by its route.
func (a *applier) applyStatement(ctx context.Context, pf *pendingFile, i int) error {
	r, sr := pf.routes[i], pf.rep.Statements[i]
	if r.Route == routeIfEmpty {
		empty, err := tableEmpty(ctx, a.db, a.opt.Conn.Database, r.Table)
		if err != nil {
			return err
		}
		r.Route = RouteDirect
		if !empty {
			r.Route = RouteMigrate
			sr.Note = "the table holds rows: built online as " + r.Alter
		}
		sr.Route = r.Route
	}
	switch r.Route {
	case RouteDirect:
		attempts, err := runDirect(ctx, a.db, pf.stmts[i].Text, a.sqlMode, a.opt.Migrate.CutoverLockTimeout, a.opt.Migrate.CutoverRetries, a.opt.Log)
		if attempts > 1 {
			sr.Note = fmt.Sprintf("ran at attempt %d (the table's lock was busy)", attempts)
		}
		if err != nil {
			return err
		}
		sr.Path = RouteDirect
		return nil
	case RouteMigrate:
		sum, err := migrate.Run(ctx, a.migrateOptions(pf, i, r))
		if sum != nil {
			sr.Path, sr.Rows = sum.Path, sum.Rows
			if sum.Swapped && sum.Path == migrate.PathCopy && !sum.OldDropped {
				sr.OldTable = sum.OldTable
			}
			if len(sum.Warnings) > 0 {
				sr.Note = strings.Join(append([]string{sr.Note}, sum.Warnings...), "; ")
				sr.Note = strings.TrimPrefix(sr.Note, "; ")
			}
		}
		if err != nil && sum != nil && sum.Swapped {
			// Swapped, then a cleanup failed: the change is made.
			a.opt.Log.Warn("the change is made, but its cleanup failed", "file", pf.file.Name, "statement", i+1, "err", err)
			sr.Note = strings.TrimPrefix(sr.Note+"; "+err.Error(), "; ")
			return nil
		}
		return err
	}
	return fmt.Errorf("statement %d: no route (%s)", i+1, r.Route)
}

// migrateOptions are the run's migration settings for one statement.
func (a *applier) migrateOptions(pf *pendingFile, i int, r routing) migrate.Options {
	o := a.opt.Migrate
	o.Conn, o.Table, o.Alter, o.Log = a.opt.Conn, r.Table, r.Alter, a.opt.Log
	o.Report = nil
	if a.opt.Progress != nil {
		fr, sr := pf.rep, pf.rep.Statements[i]
		o.Report = func(e migrate.Event) { a.opt.Progress(fr, sr, e) }
	}
	return o
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12]
	}
	return sum
}

func appendNew(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
