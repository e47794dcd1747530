package migrate

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/sqlparse"
	"github.com/godwit-db/godwit/internal/tableinfo"
	"github.com/godwit-db/godwit/migrate/alter"
)

// plan.go is the dry-run planner behind `godwit plan`: what the ALTER
// does clause by clause, what the server could do natively, how big the
// copy is and how long it may take, and what would stop `godwit migrate`
// or needs an explicit flag. It only reads: no table, no row, no
// variable is written, and nothing is created (the new structure is
// predicted, see predict.go, instead of built as a shadow table).
//
// It runs the same checks migrate runs (preflight_*.go, key.go,
// datacheck*.go) on a migration value whose shadow is the prediction.

// PlanOptions are the inputs of a plan: migrate's own options (the same
// flags) and the size of the timing sample.
type PlanOptions struct {
	Options
	SampleRows int // rows read to time the copy; 0 means 20,000
}

// Verdict is the plan's answer.
type Verdict string

// The verdicts and their exit codes (see ExitCode).
const (
	VerdictSafe      Verdict = "safe"       // godwit migrate can run it as is
	VerdictNeedsFlag Verdict = "needs-flag" // it needs an explicit flag, e.g. --allow-drop-data
	VerdictRefused   Verdict = "refused"    // godwit migrate would refuse it
)

// ExitCode is the documented exit code of `godwit plan` for the verdict:
// 0 safe, 4 needs an explicit flag, 3 refused.
func (v Verdict) ExitCode() int {
	switch v {
	case VerdictSafe:
		return 0
	case VerdictNeedsFlag:
		return 4
	}
	return 3
}

// CheckStatus is the outcome of one check.
type CheckStatus string

// The statuses.
const (
	CheckOK         CheckStatus = "ok"
	CheckRefused    CheckStatus = "refused"     // migrate would refuse
	CheckNeedsFlag  CheckStatus = "needs-flag"  // migrate needs Flag to go on
	CheckWarning    CheckStatus = "warning"     // migrate would run, but look at this
	CheckNotChecked CheckStatus = "not-checked" // the planner could not tell
)

// PlanCheck is one check and its outcome.
type PlanCheck struct {
	Check    string      `json:"check"`
	Status   CheckStatus `json:"status"`
	Message  string      `json:"message,omitempty"`
	Fix      string      `json:"fix,omitempty"`
	Flag     string      `json:"flag,omitempty"` // for needs-flag: the flag that allows it
	Rows     int64       `json:"rows,omitempty"`
	Examples []string    `json:"examples,omitempty"`
}

// PlanClause is one specification of the ALTER.
type PlanClause struct {
	Text    string     `json:"text"`
	Kind    alter.Kind `json:"kind"`
	Columns []string   `json:"columns,omitempty"`
	Index   string     `json:"index,omitempty"`
	Change  string     `json:"change,omitempty"` // a column's definition before -> after, as predicted
	Native  Native     `json:"native"`
}

// Plan is what `godwit plan` reports.
type Plan struct {
	Database string       `json:"database"`
	Table    string       `json:"table"`
	Alter    string       `json:"alter"`
	Server   string       `json:"server,omitempty"` // e.g. "MariaDB 10.11.19"
	Version  string       `json:"server_version,omitempty"`
	Clauses  []PlanClause `json:"clauses"`
	// Native is what the server could do with the whole ALTER.
	Native *Native `json:"native,omitempty"`
	// Path is what godwit migrate would do: "instant" (it lets the server
	// make the change with ALGORITHM=INSTANT) or "online-copy".
	Path       string        `json:"path,omitempty"`
	Size       *PlanSize     `json:"size,omitempty"`
	Disk       *PlanDisk     `json:"disk,omitempty"`
	Estimate   *PlanEstimate `json:"estimate,omitempty"`
	Checks     []PlanCheck   `json:"checks"`
	NotChecked []string      `json:"not_checked,omitempty"`
	Verdict    Verdict       `json:"verdict"`
	ExitCode   int           `json:"exit_code"`
	Reason     string        `json:"reason"`
}

// Check returns the checks of that name.
func (p *Plan) Check(name string) []PlanCheck {
	var out []PlanCheck
	for _, c := range p.Checks {
		if c.Check == name {
			out = append(out, c)
		}
	}
	return out
}

func (p *Plan) add(c PlanCheck) { p.Checks = append(p.Checks, c) }

// addErr records a check's error: a refusal becomes a refused check,
// anything else is returned (the plan cannot be made).
func (p *Plan) addErr(name string, err error) error {
	if err == nil {
		p.add(PlanCheck{Check: name, Status: CheckOK})
		return nil
	}
	var r *Refusal
	if errors.As(err, &r) {
		p.add(PlanCheck{Check: r.Check, Status: CheckRefused, Message: r.Reason, Fix: r.Fix})
		return nil
	}
	var a *alter.RefusedError
	if errors.As(err, &a) {
		p.add(PlanCheck{Check: "alter", Status: CheckRefused, Message: a.Reason})
		return nil
	}
	return err
}

// NewPlan plans the migration without changing anything. The error is
// for a plan that could not be made (connection, a query that failed);
// refusals are part of the plan (Verdict refused).
func NewPlan(ctx context.Context, opt PlanOptions) (*Plan, error) {
	opt.defaults()
	if opt.SampleRows <= 0 {
		opt.SampleRows = 20_000
	}
	if opt.MaxChunkRows <= 0 {
		opt.MaxChunkRows = 200_000
	}
	p := &Plan{Database: opt.Conn.Database, Table: opt.Table, Alter: strings.TrimSpace(opt.Alter), Clauses: []PlanClause{}}
	m := &migration{opt: opt.Options, log: opt.Log}
	var err error
	if m.db, err = mysqlx.Open(ctx, opt.Conn); err != nil {
		return nil, err
	}
	defer m.db.Close()
	// The ALTER may name any charset or collation the server has.
	if err := sqlparse.Register(ctx, m.db); err != nil {
		return nil, err
	}
	if m.change, err = alter.Parse(opt.Conn.Database, opt.Table, opt.Alter); err != nil {
		if err := p.addErr("alter", err); err != nil {
			return nil, err
		}
		return p.finish(), nil
	}
	p.Alter = m.change.Clause
	if opt.Conn.Database, opt.Table, err = foldNames(ctx, m.db, opt.Conn.Database, opt.Table); err != nil {
		return nil, err
	}
	m.opt.Conn.Database, m.opt.Table = opt.Conn.Database, opt.Table
	if m.server, err = readServer(ctx, m.db); err != nil {
		return nil, err
	}
	env, err := loadPredictEnv(ctx, m.db, m.server)
	if err != nil {
		return nil, err
	}
	p.Server, p.Version = env.server.String(), m.server.Version
	m.source, err = tableinfo.Load(ctx, m.db, opt.Conn.Database, opt.Table)
	if errors.Is(err, tableinfo.ErrNotFound) {
		p.add(PlanCheck{Check: "table", Status: CheckRefused, Message: fmt.Sprintf("table %s.%s does not exist", opt.Conn.Database, opt.Table), Fix: "Check --database and --table."})
		return p.finish(), nil
	}
	if err != nil {
		return nil, err
	}
	if err := p.structural(ctx, m); err != nil {
		return nil, err
	}
	if err := p.sqlMode(ctx, m); err != nil {
		return nil, err
	}
	var notes []string
	m.shadow, notes = predictTable(m.source, m.change, env)
	m.shadowPredicted = true
	p.NotChecked = append(p.NotChecked, notes...)
	if err := p.newKey(m); err != nil {
		return nil, err
	}
	if err := p.native(ctx, m, env); err != nil {
		return nil, err
	}
	p.Path = PathCopy
	if p.Native.Class == NativeInstant && !opt.ForceCopy && !repartitions(m.change) {
		p.Path = PathInstant
	} else if err := m.checkOldFree(ctx); err != nil {
		if err := p.addErr("old-table", err); err != nil {
			return nil, err
		}
	}
	key, keyErr := chooseKey(m.source, nil, m.change)
	sample, err := p.measure(ctx, m, opt, key, keyErr == nil)
	if err != nil {
		return nil, err
	}
	if err := p.data(ctx, m, opt); err != nil {
		return nil, err
	}
	if err := p.indexBuild(ctx, m); err != nil {
		return nil, err
	}
	if err := p.replicas(ctx, opt); err != nil {
		return nil, err
	}
	if err := p.chunks(ctx, m, opt, sample); err != nil {
		return nil, err
	}
	return p.finish(), nil
}

// structural runs migrate's preflight checks, each on its own so that
// the plan lists every problem, not only the first.
func (p *Plan) structural(ctx context.Context, m *migration) error {
	if warning, err := checkServerVersion(m.server); err != nil {
		if err := p.addErr("server", err); err != nil {
			return err
		}
	} else if warning != "" {
		p.add(PlanCheck{Check: "server", Status: CheckWarning, Message: warning})
	} else {
		p.add(PlanCheck{Check: "server", Status: CheckOK})
	}
	if err := p.addErr("primary-key", checkPrimaryKeyRequired(ctx, m.db, m.source, m.change)); err != nil {
		return err
	}
	if err := p.addErr("binlog", checkBinlog(ctx, m.db)); err != nil {
		return err
	}
	if err := p.addErr("writable", checkWritable(ctx, m.db)); err != nil {
		return err
	}
	if err := p.addErr("privileges", m.checkPrivileges(ctx)); err != nil {
		return err
	}
	// checkTable checks, in order, the engine and helper names ("table"),
	// triggers and foreign keys, and stops at the first refusal.
	order := []string{"table", "triggers", "foreign-keys"}
	err := m.checkTable(ctx)
	var r *Refusal
	if err != nil && !errors.As(err, &r) {
		return err
	}
	stop := len(order)
	if r != nil {
		for i, name := range order {
			if name == r.Check {
				stop = i
			}
		}
	}
	for i, name := range order {
		switch {
		case i < stop:
			p.add(PlanCheck{Check: name, Status: CheckOK})
		case i == stop:
			p.add(PlanCheck{Check: r.Check, Status: CheckRefused, Message: r.Reason, Fix: r.Fix})
		default:
			p.add(PlanCheck{Check: name, Status: CheckNotChecked, Message: "checked only once the " + r.Check + " refusal is fixed"})
		}
	}
	// migrate picks up a killed run of this same change: its shadow and
	// checkpoint are no leftovers.
	if err := m.detectResume(ctx); err != nil {
		if err := p.addErr("resume", err); err != nil {
			return err
		}
	} else if m.resume != nil {
		p.add(PlanCheck{Check: "resume", Status: CheckOK,
			Message: "an interrupted run of this change left its copy: migrate resumes it (the estimates below are for a whole copy)"})
	}
	if err := p.addErr("leftovers", m.checkLeftovers(ctx)); err != nil {
		return err
	}
	_, err = chooseKey(m.source, nil, m.change)
	return p.addErr("key", err)
}

// newKey checks the chosen key against the predicted new table, as
// migrate does against the shadow: the key's columns must still be
// indexed there as a leading prefix. It reports only when the preflight
// key check passed.
func (p *Plan) newKey(m *migration) error {
	for _, c := range p.Check("key") {
		if c.Status != CheckOK {
			return nil
		}
	}
	_, err := chooseKey(m.source, m.shadow, m.change)
	if err == nil {
		return nil
	}
	var r *Refusal
	if !errors.As(err, &r) {
		return err
	}
	// Replace the preflight's "ok" with the refusal.
	for i, c := range p.Checks {
		if c.Check == "key" {
			p.Checks = append(p.Checks[:i], p.Checks[i+1:]...)
			break
		}
	}
	p.add(PlanCheck{Check: r.Check, Status: CheckRefused, Message: r.Reason + " (in the new table as predicted)", Fix: r.Fix})
	return nil
}

// data runs migrate's data checks against the predicted new table.
func (p *Plan) data(ctx context.Context, m *migration, opt PlanOptions) error {
	findings, err := m.checkData(ctx)
	p.NotChecked = append(p.NotChecked, m.dataNotes...)
	if err != nil {
		var r *Refusal
		if errors.As(err, &r) {
			p.add(PlanCheck{Check: "data", Status: CheckNotChecked, Message: "the data checks need a usable key to name example rows: " + r.Reason})
			return nil
		}
		return err
	}
	if len(findings) == 0 {
		p.add(PlanCheck{Check: "data", Status: CheckOK,
			Message: "no row the new structure cannot hold (one pass over the table, one grouping per new unique key)"})
		return nil
	}
	for _, f := range findings {
		c := PlanCheck{Check: f.Check, Status: CheckRefused, Message: f.Detail, Fix: f.Fix, Rows: f.Rows, Examples: f.Examples}
		if f.Check == "dropped-data" {
			c.Status, c.Flag = CheckNeedsFlag, "--allow-drop-data"
			if opt.AllowDropData {
				c.Status, c.Message = CheckWarning, f.Detail+" (allowed by --allow-drop-data)"
			}
		}
		p.add(c)
	}
	return nil
}

// finish sets the verdict from the checks.
func (p *Plan) finish() *Plan {
	p.Verdict = VerdictSafe
	var refused, flags []string
	for _, c := range p.Checks {
		switch c.Status {
		case CheckRefused:
			refused = append(refused, c.Check)
		case CheckNeedsFlag:
			if !containsFold(flags, c.Flag) {
				flags = append(flags, c.Flag)
			}
		}
	}
	switch {
	case len(refused) > 0:
		p.Verdict = VerdictRefused
		p.Reason = "godwit migrate would refuse it (" + strings.Join(uniqueFold(refused), ", ") + ")"
	case len(flags) > 0:
		p.Verdict = VerdictNeedsFlag
		p.Reason = "it needs " + strings.Join(flags, " and ")
	case p.Path == PathInstant:
		p.Reason = "godwit migrate lets the server make this change instantly (ALGORITHM=INSTANT), without a copy"
	default:
		p.Reason = "godwit migrate can copy it online as is"
	}
	p.ExitCode = p.Verdict.ExitCode()
	return p
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func uniqueFold(list []string) []string {
	var out []string
	for _, s := range list {
		if !containsFold(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// repartitions says whether the ALTER has a partition clause, which
// migrate never tries instantly (see tryInstant).
func repartitions(ch *alter.Change) bool {
	for _, s := range ch.Specs {
		if s.Kind == alter.PartitionBy || s.Kind == alter.RemovePartitioning {
			return true
		}
	}
	return false
}

// sqlMode reports whether the server accepts the ALTER under the sql_mode
// it will meet (sqlmode.go), tried on an empty temporary copy of the
// table.
func (p *Plan) sqlMode(ctx context.Context, m *migration) error {
	var err error
	if m.ddlMode, err = ddlSQLMode(ctx, m.db, m.opt.SQLMode); err != nil {
		return p.addErr("sql-mode", err)
	}
	told, err := m.trialAlter(ctx)
	switch {
	case err != nil:
		return p.addErr("sql-mode", err)
	case !told:
		p.NotChecked = append(p.NotChecked, "whether the server accepts the ALTER: an empty temporary copy of the table could not tell "+
			"(migrate first applies it to an empty shadow table and stops if the server rejects it)")
	default:
		p.add(PlanCheck{Check: "sql-mode", Status: CheckOK, Message: fmt.Sprintf("the server accepts the ALTER on an empty temporary copy of the table under sql_mode '%s'", m.ddlMode)})
	}
	return nil
}
