package pipeline

import (
	"context"
	"fmt"
	"strings"

	"github.com/godwit-db/godwit/migrate"
)

// touch is what an earlier pending statement of a dry run does to a
// table: the plans are made against the tables as they are now, so a
// later statement on the same table cannot be planned truthfully.
type touch struct {
	by      string // "0001_x.sql statement 2"
	created bool   // it creates the table (empty when the later statement runs)
	copies  bool   // it copies the table online and keeps _<table>_old
}

// dryRun plans every pending statement without changing anything: the
// verdicts of godwit plan for the statements migrate runs, safe for the
// cheap DDL run directly, refused or needs-flag for the rest.
func (a *applier) dryRun(ctx context.Context) error {
	verdict := migrate.VerdictSafe
	for _, pf := range a.pending {
		if a.opt.OnFile != nil {
			a.opt.OnFile(pf.rep, false)
		}
		for i := pf.from; i < len(pf.stmts); i++ {
			sr := pf.rep.Statements[i]
			if err := a.planStatement(ctx, pf, i); err != nil {
				sr.Error = err.Error()
				return fmt.Errorf("could not plan %s statement %d (line %d): %w", pf.file.Name, sr.Index, sr.Line, err)
			}
			verdict = worse(verdict, sr.Verdict)
			if sr.Verdict == migrate.VerdictNeedsFlag && sr.Status != StatementRefused { // the statically refused are counted already
				a.flags = appendNew(a.flags, sr.Flag)
			}
			if sr.Verdict == migrate.VerdictRefused && pf.rep.Status == FilePending {
				pf.rep.Status = FileRefused
			}
			if a.opt.OnStatement != nil {
				a.opt.OnStatement(pf.rep, sr)
			}
		}
		if a.opt.OnFile != nil {
			a.opt.OnFile(pf.rep, true)
		}
	}
	if len(a.flagged) > 0 {
		verdict = worse(verdict, migrate.VerdictNeedsFlag)
	}
	if len(a.refused) > 0 {
		verdict = migrate.VerdictRefused
	}
	a.rep.Verdict = verdict
	switch verdict {
	case migrate.VerdictRefused:
		var why []string
		for _, pf := range a.pending {
			for _, sr := range pf.rep.Statements {
				if sr.Verdict == migrate.VerdictRefused && sr.Status != StatementRefused { // the statically refused are in a.refused
					why = append(why, fmt.Sprintf("%s statement %d (line %d): %s", pf.file.Name, sr.Index, sr.Line, sr.Error))
				}
			}
		}
		return &migrate.Refusal{Check: "dry-run", Reason: "the run would be refused: " + strings.Join(append(a.refused, why...), "; ")}
	case migrate.VerdictNeedsFlag:
		return &NeedsFlagError{Flags: a.flags}
	}
	return nil
}

// planStatement sets the verdict of statement i, and records what it
// does to its tables for the statements after it.
func (a *applier) planStatement(ctx context.Context, pf *pendingFile, i int) error {
	r, sr := pf.routes[i], pf.rep.Statements[i]
	here := fmt.Sprintf("%s statement %d", pf.file.Name, sr.Index)
	defer func() {
		for _, t := range r.Changes {
			// A table created in this run stays empty whatever else
			// changes it; its creator is the one to name.
			if !a.touched[t].created {
				a.touched[t] = touch{by: here}
			}
		}
		for _, t := range r.Creates {
			a.touched[t] = touch{by: here, created: true}
		}
		if r.Table != "" && sr.Path == migrate.PathCopy && !a.opt.Migrate.DropOld {
			a.touched[r.Table] = touch{by: here, copies: true}
		}
	}()
	if r.Route == RouteRefused {
		return nil // verdict set by readFile
	}
	dep, depends := a.touched[r.Table]
	if r.Route == routeIfEmpty {
		empty := dep.created
		if !depends {
			var err error
			if empty, err = tableEmpty(ctx, a.db, a.opt.Conn.Database, r.Table); err != nil {
				return err
			}
		}
		switch {
		case empty:
			r.Route = RouteDirect
			if dep.created {
				sr.Note = "the table is created earlier in this run, so it is empty"
			}
		case depends:
			r.Route = RouteMigrate
		default:
			r.Route = RouteMigrate
			sr.Note = "the table holds rows: built online as " + r.Alter
		}
		sr.Route = r.Route
	}
	switch r.Route {
	case RouteDirect:
		sr.Verdict, sr.Path = migrate.VerdictSafe, RouteDirect
		return nil
	case RouteMigrate:
		switch {
		case depends && dep.copies:
			sr.Verdict = migrate.VerdictRefused
			sr.Error = fmt.Sprintf("%s copies %s online and keeps the original as _%s_old; this statement would then be "+
				"refused for that leftover. Pass --drop-old, or apply the two in separate runs and drop _%s_old between them",
				dep.by, r.Table, r.Table, r.Table)
			return nil
		case depends:
			sr.Verdict = VerdictNotPlanned
			what := "changed"
			if dep.created {
				what = "created"
			}
			sr.Note = fmt.Sprintf("%s is %s earlier in this run, by %s; checked when it runs", r.Table, what, dep.by)
			return nil
		}
		p, err := migrate.NewPlan(ctx, migrate.PlanOptions{Options: a.migrateOptions(pf, i, r), SampleRows: a.opt.SampleRows})
		if err != nil {
			return err
		}
		sr.Plan, sr.Verdict, sr.Path = p, p.Verdict, p.Path
		if p.Verdict != migrate.VerdictSafe {
			sr.Error = planProblems(p)
		}
		if p.Verdict == migrate.VerdictNeedsFlag {
			for _, c := range p.Checks {
				if c.Status == migrate.CheckNeedsFlag {
					sr.Flag = c.Flag
				}
			}
		}
	}
	return nil
}

// planProblems is what stops a plan, on one line.
func planProblems(p *migrate.Plan) string {
	var out []string
	for _, c := range p.Checks {
		if c.Status == migrate.CheckRefused || c.Status == migrate.CheckNeedsFlag {
			s := c.Check + ": " + c.Message
			switch {
			case c.Rows > 0 && c.Check == "unique":
				s += fmt.Sprintf(" (%d duplicated values)", c.Rows)
			case c.Rows > 0:
				s += fmt.Sprintf(" (%d rows)", c.Rows)
			}
			if len(c.Examples) > 0 {
				s += " (e.g. " + strings.Join(c.Examples, "; ") + ")"
			}
			if c.Fix != "" {
				s += ". " + c.Fix
			}
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return p.Reason
	}
	return strings.Join(out, "; ")
}
