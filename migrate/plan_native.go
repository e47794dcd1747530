package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/tableinfo"
	"github.com/godwit-db/godwit/migrate/alter"
)

// plan_native.go says, per ALTER clause, what the server itself could do:
// change only metadata (INSTANT), work in place without rebuilding the
// table (MariaDB's NOCOPY; building an index reads the table), rebuild the
// table in place while writes go on, or copy it with writes blocked.
//
// The rules come from the servers' documentation:
//
//	MariaDB: InnoDB Online DDL Operations with the INSTANT / NOCOPY / INPLACE
//	Alter Algorithm
//	  https://mariadb.com/kb/en/innodb-online-ddl-operations-with-the-instant-alter-algorithm/
//	  https://mariadb.com/kb/en/innodb-online-ddl-operations-with-the-nocopy-alter-algorithm/
//	  https://mariadb.com/kb/en/innodb-online-ddl-operations-with-the-inplace-alter-algorithm/
//	MariaDB 10.4 (instant DROP COLUMN, reordering, utf8mb3 -> utf8mb4,
//	collation changes): https://mariadb.com/resources/blog/alter-table-improvements-in-mariadb-server-10-4/
//	MariaDB 11.2 (ALGORITHM=COPY with LOCK=NONE):
//	  https://mariadb.com/docs/server/reference/sql-statements/data-definition/alter/alter-table/online-schema-change
//	MySQL 8.0 / 8.4: Online DDL Operations
//	  https://dev.mysql.com/doc/refman/8.0/en/innodb-online-ddl-operations.html
//	  https://dev.mysql.com/doc/refman/8.4/en/innodb-online-ddl-operations.html
//
// and from trying each situation on a scratch table
// (TestPlanNativeRulesOnServer keeps them honest). MariaDB 10.11 was tried
// with ALGORITHM=INSTANT, then NOCOPY, then INPLACE. What that showed
// beyond the pages: dropping a column that is part of an index is NOCOPY
// (single-column indexes) or a rebuild (multi-column ones); utf8mb3 ->
// utf8mb4 is instant even when indexed; and adding, dropping or moving a
// column in the same ALTER as building an index rebuilds the table.
//
// MySQL 9.7 was tried with ALGORITHM=INSTANT, then INPLACE (it has no
// NOCOPY, and INSTANT takes no LOCK clause), and whether INPLACE rebuilt
// the table read off InnoDB's table id. What that showed beyond the pages:
// a column's character set (utf8mb3 -> utf8mb4) or collation changes in
// place, without a rebuild, when no index uses it (WL#11605), and the
// length bytes of a CHAR or VARCHAR stay the same; so does the table's
// default character set; ENUM and SET change character set instantly;
// instant ADD/DROP COLUMN counts row versions (64, 255 from 9.1) and
// reordering a column still rebuilds; a table with a FULLTEXT index is
// never rebuilt in place (InnoDB "supports one FULLTEXT index creation at
// a time"), so what would rebuild it copies it; an in-place change of a
// CHAR or TEXT column's character set or collation blocks writes once the
// ALTER also rebuilds the table or changes a table option; and adding a
// VIRTUAL column in place combines with nothing but index changes.

// NativeClass is what the server could do natively, cheapest first.
type NativeClass string

// The classes, in increasing cost.
const (
	NativeInstant NativeClass = "instant"         // metadata only: milliseconds, whatever the size
	NativeInplace NativeClass = "inplace"         // no table rebuild, writes go on (MariaDB NOCOPY); an index build reads the table
	NativeRebuild NativeClass = "inplace-rebuild" // rebuilds the whole table in place; writes go on
	NativeCopy    NativeClass = "copy"            // copies the table; writes blocked (MariaDB 11.2+: LOCK=NONE possible)
	NativeUnknown NativeClass = "unknown"         // not in godwit's rule table
)

func (c NativeClass) rank() int {
	return map[NativeClass]int{NativeInstant: 0, NativeInplace: 1, NativeRebuild: 2, NativeCopy: 3, NativeUnknown: 4}[c]
}

// Native is what the server could do with one clause, or the whole ALTER.
type Native struct {
	Class  NativeClass `json:"class"`
	Lock   string      `json:"lock"` // "none": writes go on; "shared": writes blocked while it runs
	Reason string      `json:"reason"`
	Source string      `json:"source,omitempty"` // the documentation the rule comes from
	// Statement is, for the whole ALTER, the native statement to run when
	// it is a good idea; ALGORITHM= makes the server refuse rather than
	// fall back to something slower.
	Statement string `json:"statement,omitempty"`

	rowFormat   bool // changes the row format instantly (add, drop or move a column)
	buildsIndex bool // builds or rebuilds a secondary index
	// MySQL only: what makes the combination of clauses costlier than
	// the costliest clause.
	typeInPlace bool // a CHAR or TEXT column's charset or collation changes in place
	tableOption bool // a table option (COMMENT, AUTO_INCREMENT, default charset, ...) changes
	virtual     bool // adds a VIRTUAL column
}

const (
	docMariaInstant = "https://mariadb.com/kb/en/innodb-online-ddl-operations-with-the-instant-alter-algorithm/"
	docMariaNocopy  = "https://mariadb.com/kb/en/innodb-online-ddl-operations-with-the-nocopy-alter-algorithm/"
	docMariaInplace = "https://mariadb.com/kb/en/innodb-online-ddl-operations-with-the-inplace-alter-algorithm/"
	docMaria104     = "https://mariadb.com/resources/blog/alter-table-improvements-in-mariadb-server-10-4/"
	docMariaCopy    = "https://mariadb.com/docs/server/reference/sql-statements/data-definition/alter/alter-table/online-schema-change"
	docMySQL80      = "https://dev.mysql.com/doc/refman/8.0/en/innodb-online-ddl-operations.html"
	docMySQL84      = "https://dev.mysql.com/doc/refman/8.4/en/innodb-online-ddl-operations.html"
	docMySQLCharset = "https://dev.mysql.com/worklog/task/?id=11605"
)

// serverVersion is the flavor and version number read from the server.
type serverVersion struct {
	flavor              string // "mariadb" or "mysql"
	major, minor, patch int
}

func parseServerVersion(s Server) serverVersion {
	v := serverVersion{flavor: s.Flavor}
	num, _, _ := strings.Cut(s.Version, "-")
	parts := strings.SplitN(num, ".", 3)
	dst := []*int{&v.major, &v.minor, &v.patch}
	for i, p := range parts {
		n, _ := strconv.Atoi(strings.TrimFunc(p, func(r rune) bool { return r < '0' || r > '9' }))
		*dst[i] = n
	}
	return v
}

func (v serverVersion) atLeast(major, minor, patch int) bool {
	switch {
	case v.major != major:
		return v.major > major
	case v.minor != minor:
		return v.minor > minor
	}
	return v.patch >= patch
}

func (v serverVersion) String() string {
	name := "MySQL"
	if v.flavor == "mariadb" {
		name = "MariaDB"
	}
	return fmt.Sprintf("%s %d.%d.%d", name, v.major, v.minor, v.patch)
}

// known says whether the rule table covers the server at all.
func (v serverVersion) known() bool {
	if v.flavor == "mariadb" {
		return v.atLeast(10, 3, 7)
	}
	return v.atLeast(8, 0, 0)
}

// nativeInput is what the rules look at.
type nativeInput struct {
	server      serverVersion
	src, dst    *tableinfo.Table
	change      *alter.Change
	charsets    *charsetInfo
	rowFormat   string // lower case: dynamic, compact, redundant, compressed
	hasFulltext bool
	// rowVersions is MySQL's INNODB_TABLES.TOTAL_ROW_VERSIONS: instant
	// ADD/DROP COLUMNs the table has had since its last rebuild; -1 when
	// unknown or not MySQL.
	rowVersions int64
	schema      string
}

func (in nativeInput) maria() bool { return in.server.flavor == "mariadb" }

// maxRowVersions is how many instant ADD/DROP COLUMN statements a MySQL
// table takes before the next one must rebuild it (0: none are instant).
func (v serverVersion) maxRowVersions() int64 {
	switch {
	case v.flavor == "mariadb" || !v.atLeast(8, 0, 29):
		return 0
	case v.atLeast(9, 1, 0):
		return 255
	}
	return 64
}

func (in nativeInput) doc() string {
	if in.maria() {
		return docMariaInstant
	}
	if in.server.atLeast(8, 4, 0) {
		return docMySQL84
	}
	return docMySQL80
}

func (in nativeInput) verdict(c NativeClass, reason, source string) Native {
	lock := "none"
	if c == NativeCopy {
		lock = "shared"
		if in.maria() && in.server.atLeast(11, 2, 0) {
			lock, source = "none", docMariaCopy
			reason += " (MariaDB 11.2+ copies with LOCK=NONE: writes go on, but the table is rebuilt)"
		}
	}
	if source == "" {
		source = in.doc()
	}
	return Native{Class: c, Lock: lock, Reason: reason, Source: source}
}

// nativePlan classifies every clause and the ALTER as a whole.
func nativePlan(in nativeInput) ([]Native, Native) {
	var per []Native
	for _, s := range in.change.Specs {
		if !in.server.known() {
			per = append(per, Native{Class: NativeUnknown, Lock: "shared", Reason: fmt.Sprintf("%s is older than godwit's rule table (MariaDB 10.3.7+, MySQL 8.0+)", in.server)})
			continue
		}
		per = append(per, in.clause(s))
	}
	return per, in.whole(per)
}

func (in nativeInput) whole(per []Native) Native {
	w := Native{Class: NativeInstant, Lock: "none"}
	rowFormat, buildsIndex := false, false
	var why []string
	for _, n := range per {
		if n.Class.rank() > w.Class.rank() {
			w.Class = n.Class
		}
		if n.Lock == "shared" {
			w.Lock = "shared"
		}
		rowFormat = rowFormat || (n.rowFormat && n.Class.rank() <= NativeInplace.rank())
		buildsIndex = buildsIndex || n.buildsIndex
	}
	switch {
	case in.maria() && rowFormat && buildsIndex && w.Class.rank() < NativeRebuild.rank():
		// Verified on 10.11: ADD COLUMN n INT, ADD INDEX (e) needs INPLACE.
		w.Class = NativeRebuild
		why = append(why, "adding, dropping or moving a column in the same ALTER as building an index rebuilds the table")
	case !in.maria():
		why = in.wholeMySQL(&w, per, rowFormat)
	}
	w.rowFormat = rowFormat && w.Class == NativeInstant
	w.Reason = wholeReason(w, why)
	w.Statement = in.statement(w)
	return w
}

// wholeMySQL applies what MySQL 9.7 showed about clauses combined: each
// rule raises the class or the lock of w and says why.
func (in nativeInput) wholeMySQL(w *Native, per []Native, rowFormat bool) []string {
	var why []string
	typeInPlace, tableOption, virtual, otherWork := false, false, false, false
	for i, n := range per {
		typeInPlace = typeInPlace || n.typeInPlace
		tableOption = tableOption || n.tableOption
		virtual = virtual || n.virtual
		switch in.change.Specs[i].Kind {
		case alter.AddIndex, alter.AddUniqueKey, alter.DropIndex:
		default:
			otherWork = otherWork || n.Class.rank() > NativeInstant.rank()
		}
	}
	switch {
	case rowFormat && w.Class.rank() > NativeInstant.rank() && w.Class.rank() < NativeRebuild.rank():
		w.Class = NativeRebuild
		why = append(why, "an instant ADD/DROP COLUMN combined with a clause that is not instant falls back to a rebuild")
	case rowFormat && w.Class == NativeInstant && in.server.maxRowVersions() > 0 && in.rowVersions >= in.server.maxRowVersions():
		// Error 4092 with ALGORITHM=INSTANT; without it MySQL rebuilds
		// (which starts the count again).
		w.Class = NativeRebuild
		why = append(why, fmt.Sprintf("the table has had %d instant ADD/DROP COLUMNs since its last rebuild, the most %s allows (INFORMATION_SCHEMA.INNODB_TABLES.TOTAL_ROW_VERSIONS)",
			in.rowVersions, in.server))
	}
	if virtual && otherWork && w.Class.rank() < NativeCopy.rank() {
		// "INPLACE ADD or DROP of virtual columns cannot be combined with
		// other ALTER TABLE actions": only index changes may join it.
		w.Class, w.Lock = NativeCopy, "shared"
		why = append(why, "adding a VIRTUAL column in place combines with index changes only")
	}
	if virtual && in.indexesNewVirtual() && w.Class.rank() < NativeCopy.rank() {
		w.Lock = "shared"
		why = append(why, "indexing a VIRTUAL column added by the same ALTER blocks writes")
	}
	if typeInPlace && w.Class.rank() < NativeCopy.rank() && (w.Class == NativeRebuild || tableOption) {
		w.Class, w.Lock = NativeRebuild, "shared"
		why = append(why, "a CHAR or TEXT column's character set or collation changed in place, in an ALTER that also rebuilds the table or changes a table option, rebuilds it with writes blocked")
	}
	if in.hasFulltext && w.Class == NativeRebuild {
		w.Class, w.Lock = NativeCopy, "shared"
		why = append(why, "InnoDB cannot rebuild a table with a FULLTEXT index in place")
	}
	return why
}

// indexesNewVirtual says whether the ALTER indexes a VIRTUAL column that
// it also adds.
func (in nativeInput) indexesNewVirtual() bool {
	added := map[string]bool{}
	for _, s := range in.change.Specs {
		if s.Kind != alter.AddColumn {
			continue
		}
		for _, d := range s.AST.NewColumns {
			for _, o := range d.Options {
				if o.Tp == ast.ColumnOptionGenerated && !o.Stored {
					added[strings.ToLower(d.Name.Name.O)] = true
				}
			}
		}
	}
	for _, s := range in.change.Specs {
		if s.Kind != alter.AddIndex && s.Kind != alter.AddUniqueKey {
			continue
		}
		for _, c := range s.Columns {
			if added[strings.ToLower(c)] {
				return true
			}
		}
	}
	return false
}

func wholeReason(w Native, why []string) string {
	base := map[NativeClass]string{
		NativeInstant: "every clause changes metadata only",
		NativeInplace: "no table rebuild; building an index still reads the whole table, and replicas run the ALTER only after the primary finished it (they lag meanwhile)",
		NativeRebuild: "the server would rebuild the whole table in place: as long as a copy on the primary, then again on every replica, which lags meanwhile",
		NativeCopy:    "the server would copy the table with writes blocked for the whole copy",
		NativeUnknown: "a clause is outside godwit's rule table",
	}[w.Class]
	if w.Lock == "shared" && w.Class != NativeCopy {
		base += "; it blocks writes (LOCK=SHARED) while it runs"
	}
	if w.Class == NativeCopy && w.Lock == "none" {
		base = "the server would copy the table (online with LOCK=NONE on MariaDB 11.2+), then again on every replica"
	}
	if len(why) > 0 {
		base += " (" + strings.Join(why, "; ") + ")"
	}
	return base
}

// statement is the native ALTER worth running instead of a copy: only
// for instant changes, and for in-place ones that need no lock. The
// ALGORITHM clause makes the server refuse rather than do something
// slower: MariaDB's NOCOPY refuses a rebuild; MySQL has no NOCOPY (its
// INPLACE would rebuild silently if the rules were wrong) and takes no
// LOCK clause with INSTANT.
func (in nativeInput) statement(w Native) string {
	if w.Lock != "none" {
		return ""
	}
	var algo string
	switch {
	case w.Class == NativeInstant:
		algo = "ALGORITHM=INSTANT"
	case w.Class == NativeInplace && in.maria():
		algo = "ALGORITHM=NOCOPY, LOCK=NONE"
	case w.Class == NativeInplace:
		algo = "ALGORITHM=INPLACE, LOCK=NONE"
	default:
		return ""
	}
	return fmt.Sprintf("ALTER TABLE %s %s, %s", mysqlx.QT(in.schema, in.src.Name), in.change.Clause, algo)
}

func (in nativeInput) clause(s alter.Spec) Native {
	n := in.clauseRule(s)
	if !in.maria() && in.hasFulltext && n.Class == NativeRebuild {
		// The server's refusal: "InnoDB presently supports one FULLTEXT
		// index creation at a time", for any rebuild of such a table.
		n.Class, n.Lock = NativeCopy, "shared"
		n.Reason += "; InnoDB cannot rebuild a table with a FULLTEXT index in place, so it copies it"
	}
	return n
}

func (in nativeInput) clauseRule(s alter.Spec) Native {
	a := s.AST
	switch s.Kind {
	case alter.AddColumn:
		return in.addColumn(a)
	case alter.DropColumn:
		return in.dropColumn(a.OldColumnName.Name.O)
	case alter.ModifyColumn, alter.ChangeColumn:
		old := a.NewColumns[0].Name.Name.O
		if a.OldColumnName != nil {
			old = a.OldColumnName.Name.O
		}
		moved := a.Position != nil && a.Position.Tp != ast.ColumnPositionNone
		if moved && !in.maria() {
			// MySQL takes a position that changes nothing as no move.
			moved = in.positionChanged(old, a.NewColumns[0].Name.Name.O)
		}
		n := in.columnChange(old, a.NewColumns[0].Name.Name.O, moved)
		if s.Kind == alter.ChangeColumn && !strings.EqualFold(old, a.NewColumns[0].Name.Name.O) && n.Class == NativeInstant {
			n.Reason = "rename; " + n.Reason
		}
		return n
	case alter.RenameColumn:
		return in.rename()
	case alter.AlterColumnDefault:
		if !in.maria() && !in.server.atLeast(8, 0, 12) {
			return in.verdict(NativeInplace, "a column default is metadata (in place before MySQL 8.0.12)", "")
		}
		return in.verdict(NativeInstant, "a column default is metadata only", "")
	case alter.AddIndex, alter.AddUniqueKey:
		n := in.verdict(NativeInplace, "a secondary index is built in place, reading the table; writes go on", docMariaNocopy)
		n.buildsIndex = true
		return n
	case alter.AddFulltextIndex:
		if in.hasFulltext {
			n := in.verdict(NativeInplace, "another FULLTEXT index is built in place with writes blocked", docMariaNocopy)
			n.Lock, n.buildsIndex = "shared", true
			return n
		}
		n := in.verdict(NativeRebuild, "the first FULLTEXT index rebuilds the table (hidden FTS_DOC_ID) with writes blocked", docMariaInplace)
		n.Lock, n.buildsIndex = "shared", true
		return n
	case alter.AddPrimaryKey:
		return in.verdict(NativeRebuild, "a new primary key reorganizes the whole table", docMariaInplace)
	case alter.DropPrimaryKey:
		if in.addsPrimaryKey() {
			return in.verdict(NativeRebuild, "dropping the primary key and adding another in the same ALTER rebuilds the table in place", docMariaInplace)
		}
		return in.verdict(NativeCopy, "dropping the primary key without adding another needs ALGORITHM=COPY", docMariaInplace)
	case alter.DropIndex:
		return in.verdict(NativeInplace, "dropping an index changes metadata and frees its pages", docMariaNocopy)
	case alter.RenameIndex:
		if in.maria() {
			if !in.server.atLeast(10, 5, 2) {
				return in.verdict(NativeUnknown, "RENAME INDEX needs MariaDB 10.5.2 or later", "")
			}
			return in.verdict(NativeInstant, "renaming an index is metadata only", "")
		}
		return in.verdict(NativeInplace, "renaming an index is metadata only (in place)", "")
	case alter.IndexVisibility:
		if in.maria() {
			return in.verdict(NativeUnknown, "MariaDB has no index visibility (it has IGNORED indexes)", "")
		}
		return in.verdict(NativeInplace, "index visibility is metadata only (in place)", "")
	case alter.ConvertCharset:
		return in.convert()
	case alter.TableOption:
		return in.tableOptions(a)
	case alter.Force:
		return in.verdict(NativeRebuild, "FORCE rebuilds the table", docMariaInplace)
	case alter.AddCheck:
		switch {
		case in.maria():
			return in.verdict(NativeCopy, "a new CHECK constraint is validated by copying the table", "")
		case !in.server.atLeast(8, 0, 16):
			return in.verdict(NativeUnknown, "MySQL enforces CHECK constraints from 8.0.16 only", "")
		case !a.Constraint.Enforced:
			return in.verdict(NativeInstant, "a CHECK constraint NOT ENFORCED is metadata only", "")
		}
		return in.verdict(NativeCopy, "a new CHECK constraint is validated by copying the table", "")
	case alter.DropCheck:
		if in.maria() || in.server.atLeast(8, 0, 16) {
			return in.verdict(NativeInstant, "dropping a CHECK constraint is metadata only", "")
		}
		return in.verdict(NativeUnknown, "MySQL enforces CHECK constraints from 8.0.16 only", "")
	case alter.AlterCheck:
		switch {
		case in.maria() || !in.server.atLeast(8, 0, 16):
			return in.verdict(NativeUnknown, "ALTER CHECK is MySQL 8.0.16+ syntax", "")
		case !a.Constraint.Enforced:
			return in.verdict(NativeInstant, "NOT ENFORCED is metadata only", "")
		}
		// Instant when it is enforced already; the rules do not read that.
		return in.verdict(NativeCopy, "ENFORCED validates the rows by copying the table", "")
	case alter.PartitionBy, alter.RemovePartitioning:
		return in.verdict(NativeCopy, "repartitioning copies the table", "")
	}
	return in.verdict(NativeUnknown, fmt.Sprintf("%s is not in godwit's rule table", s.Kind), "")
}

// addsPrimaryKey says whether the ALTER adds a primary key, by ADD
// PRIMARY KEY or inline on a column.
func (in nativeInput) addsPrimaryKey() bool {
	for _, s := range in.change.Specs {
		if s.Kind == alter.AddPrimaryKey {
			return true
		}
		for _, d := range s.AST.NewColumns {
			for _, o := range d.Options {
				if o.Tp == ast.ColumnOptionPrimaryKey {
					return true
				}
			}
		}
	}
	return false
}

func (in nativeInput) addColumn(a *ast.AlterTableSpec) Native {
	moved := a.Position != nil && a.Position.Tp != ast.ColumnPositionNone
	var worst *Native
	take := func(n Native) {
		if worst == nil || n.Class.rank() > worst.Class.rank() || (n.Class == worst.Class && n.Lock == "shared") {
			n.rowFormat = n.rowFormat || (worst != nil && worst.rowFormat)
			n.buildsIndex = n.buildsIndex || (worst != nil && worst.buildsIndex)
			worst = &n
		}
	}
	for _, d := range a.NewColumns {
		stored, virtual, autoInc, pk, uniq := false, false, false, false, false
		for _, o := range d.Options {
			switch o.Tp {
			case ast.ColumnOptionGenerated:
				stored, virtual = o.Stored, !o.Stored
			case ast.ColumnOptionAutoIncrement:
				autoInc = true
			case ast.ColumnOptionPrimaryKey:
				pk = true
			case ast.ColumnOptionUniqKey:
				uniq = true
			}
		}
		switch {
		case stored:
			take(in.verdict(NativeCopy, "a STORED generated column is computed by copying the table", ""))
		case !in.maria() && virtual && !uniq && len(a.NewConstraints) == 0:
			// Before the FULLTEXT rule: MySQL adds it instantly even there.
			n := in.verdict(NativeInstant, "a VIRTUAL column is metadata only", "")
			n.virtual = true
			take(n)
		case autoInc:
			n := in.verdict(NativeRebuild, "an AUTO_INCREMENT column is filled by rebuilding the table with writes blocked", docMariaInplace)
			n.Lock = "shared"
			take(n)
		case pk:
			take(in.verdict(NativeRebuild, "a column with a new primary key rebuilds the table", docMariaInplace))
		case in.hasFulltext && !in.maria():
			take(in.verdict(NativeRebuild, "the table has a FULLTEXT index: adding a column is not instant", ""))
		case in.hasFulltext:
			n := in.verdict(NativeRebuild, "the table has a FULLTEXT index (hidden FTS_DOC_ID): adding a column rebuilds it with writes blocked", docMariaInstant)
			n.Lock = "shared"
			take(n)
		case uniq || len(a.NewConstraints) > 0:
			n := in.verdict(NativeRebuild, "a new column with its own index rebuilds the table", "")
			n.buildsIndex = true
			take(n)
		case virtual:
			take(in.verdict(NativeInstant, "a VIRTUAL column is metadata only", ""))
		case in.maria() && moved && !in.server.atLeast(10, 4, 0):
			take(in.verdict(NativeRebuild, "before MariaDB 10.4 only a column added last is instant", ""))
		case !in.maria() && !in.server.atLeast(8, 0, 12):
			take(in.verdict(NativeRebuild, "before MySQL 8.0.12 adding a column rebuilds the table", ""))
		case !in.maria() && moved && !in.server.atLeast(8, 0, 29):
			take(in.verdict(NativeRebuild, "before MySQL 8.0.29 only a column added last is instant", ""))
		case !in.maria() && in.rowFormat == "compressed":
			take(in.verdict(NativeRebuild, "ROW_FORMAT=COMPRESSED takes no instant ADD COLUMN", ""))
		default:
			n := in.verdict(NativeInstant, "adding a column is metadata only", "")
			n.rowFormat = true
			take(n)
		}
	}
	return *worst
}

// indexesWith lists the source indexes that contain column name.
func (in nativeInput) indexesWith(name string) []tableinfo.Index {
	var out []tableinfo.Index
	for _, ix := range in.src.Indexes {
		if slices.ContainsFunc(ix.Columns, func(c string) bool { return strings.EqualFold(c, name) }) {
			out = append(out, ix)
		}
	}
	return out
}

func (in nativeInput) dropColumn(name string) Native {
	ixs := in.indexesWith(name)
	rebuild := slices.ContainsFunc(ixs, func(ix tableinfo.Index) bool { return ix.Name == "PRIMARY" || len(ix.Columns) > 1 })
	switch {
	case in.maria() && !in.server.atLeast(10, 4, 0):
		return in.verdict(NativeRebuild, "before MariaDB 10.4 dropping a column rebuilds the table", docMariaInplace)
	case !in.maria() && !in.server.atLeast(8, 0, 29):
		return in.verdict(NativeRebuild, "before MySQL 8.0.29 dropping a column rebuilds the table", "")
	case !in.maria() && in.rowFormat == "compressed":
		return in.verdict(NativeRebuild, "ROW_FORMAT=COMPRESSED takes no instant DROP COLUMN", "")
	case !in.maria() && in.hasFulltext:
		return in.verdict(NativeRebuild, "the table has a FULLTEXT index: dropping a column is not instant", "")
	case rebuild:
		return in.verdict(NativeRebuild, "the column is part of a multi-column index or of the primary key, which must be rebuilt", "")
	case len(ixs) > 0 && in.maria():
		n := in.verdict(NativeInplace, "the column's own indexes are dropped with it (no table rebuild)", docMariaNocopy)
		n.rowFormat = true
		return n
	case len(ixs) > 0:
		return in.verdict(NativeRebuild, "the column is indexed (MySQL's instant DROP COLUMN is not assumed for indexed columns)", "")
	}
	n := in.verdict(NativeInstant, "dropping a column is metadata only", "")
	n.rowFormat = true
	return n
}

func (in nativeInput) rename() Native {
	if !in.maria() && !in.server.atLeast(8, 0, 28) {
		return in.verdict(NativeInplace, "renaming a column is metadata only (in place before MySQL 8.0.28)", "")
	}
	return in.verdict(NativeInstant, "renaming a column is metadata only", "")
}

// columnChange classifies MODIFY / CHANGE by comparing the column before
// and after (as predicted).
func (in nativeInput) columnChange(oldName, newName string, moved bool) Native {
	src, ok := in.src.Column(oldName)
	dst, ok2 := in.dst.Column(newName)
	if !ok || !ok2 {
		return in.verdict(NativeUnknown, "the column's new definition was not predicted", "")
	}
	indexed := len(in.indexesWith(oldName)) > 0
	return in.columnDiff(*src, *dst, indexed, moved)
}

func (in nativeInput) columnDiff(src, dst tableinfo.Column, indexed, moved bool) Native {
	if src.Generated || dst.Generated {
		return in.verdict(NativeUnknown, "changes to generated columns are not in godwit's rule table", "")
	}
	var parts []Native
	add := func(n Native) { parts = append(parts, n) }
	maria104 := in.maria() && in.server.atLeast(10, 4, 0)
	redundant := in.rowFormat == "redundant"

	if src.DataType != dst.DataType || storageType(src) != storageType(dst) {
		switch {
		case src.DataType == dst.DataType && (src.DataType == "varchar" || src.DataType == "varbinary"):
			add(in.varcharChange(src, dst))
		case src.DataType == dst.DataType && (src.DataType == "enum" || src.DataType == "set"):
			if appended(src, dst) {
				add(in.verdict(NativeInstant, "members appended at the end without changing the storage size", ""))
			} else {
				add(in.verdict(NativeCopy, fmt.Sprintf("%s -> %s reorders, removes or outgrows the members", src.ColumnType, dst.ColumnType), ""))
			}
		default:
			add(in.verdict(NativeCopy, fmt.Sprintf("type change %s -> %s", src.ColumnType, dst.ColumnType), ""))
		}
	}
	enumSet := src.DataType == dst.DataType && (src.DataType == "enum" || src.DataType == "set")
	switch {
	case !in.maria() && enumSet && (src.Charset != dst.Charset || src.Collation != dst.Collation):
		// Verified on 9.7, indexed or not, even latin1 <-> utf8mb3.
		add(in.verdict(NativeInstant, "ENUM and SET store member numbers: the members' character set or collation is metadata only", ""))
	case src.Charset != dst.Charset && src.Charset != "" && dst.Charset != "":
		switch {
		case maria104 && src.Charset == "utf8mb3" && dst.Charset == "utf8mb4" &&
			strings.TrimPrefix(src.Collation, "utf8mb3_") == strings.TrimPrefix(dst.Collation, "utf8mb4_"):
			add(in.verdict(NativeInstant, "utf8mb3 -> utf8mb4 is metadata only", docMaria104))
		case !in.maria() && src.Charset == "utf8mb3" && dst.Charset == "utf8mb4":
			add(in.charsetInPlace(src, dst, indexed, "utf8mb3 -> utf8mb4"))
		default:
			add(in.verdict(NativeCopy, fmt.Sprintf("character set %s -> %s converts every value", src.Charset, dst.Charset), ""))
		}
	case src.Collation != dst.Collation:
		switch {
		case maria104 && indexed:
			n := in.verdict(NativeInplace, "collation change: the column's indexes are rebuilt in the new order (no table rebuild)", docMaria104)
			n.buildsIndex = true
			add(n)
		case maria104:
			add(in.verdict(NativeInstant, "collation change of a column no index uses is metadata only", docMaria104))
		case !in.maria():
			add(in.charsetInPlace(src, dst, indexed, "collation change"))
		default:
			add(in.verdict(NativeCopy, "collation change", ""))
		}
	}
	switch {
	case src.Nullable && !dst.Nullable:
		add(in.verdict(NativeRebuild, "NOT NULL is enforced by rebuilding the table in place", docMariaInplace))
	case !src.Nullable && dst.Nullable:
		switch {
		case in.maria() && in.server.atLeast(10, 4, 3) && redundant:
			add(in.verdict(NativeInstant, "NULL allowed: metadata only with ROW_FORMAT=REDUNDANT", ""))
		case in.maria():
			add(in.verdict(NativeRebuild, "allowing NULL rebuilds the table in place (instant only with ROW_FORMAT=REDUNDANT)", docMariaInplace))
		default:
			add(in.verdict(NativeRebuild, "allowing NULL rebuilds the table in place", ""))
		}
	}
	if moved {
		if maria104 {
			n := in.verdict(NativeInstant, "moving a column is metadata only", "")
			n.rowFormat = true
			add(n)
		} else {
			add(in.verdict(NativeRebuild, "moving a column rebuilds the table", ""))
		}
	}
	if len(parts) == 0 {
		return in.verdict(NativeInstant, "same type: only attributes such as the default or comment change", "")
	}
	worst := parts[0]
	reasons := []string{}
	for _, n := range parts {
		if n.Class.rank() > worst.Class.rank() {
			worst = n
		}
		worst.rowFormat = worst.rowFormat || n.rowFormat
		worst.buildsIndex = worst.buildsIndex || n.buildsIndex
		worst.typeInPlace = worst.typeInPlace || n.typeInPlace
		reasons = append(reasons, n.Reason)
	}
	worst.Reason = strings.Join(reasons, "; ")
	return worst
}

// charsetInPlace is MySQL's in-place change of a column's character set
// (a superset: utf8mb3 -> utf8mb4) or collation (WL#11605): metadata
// only, unless an index orders by the column or the longer encoding moves
// a CHAR or VARCHAR's length past 255 bytes (one length byte to two).
func (in nativeInput) charsetInPlace(src, dst tableinfo.Column, indexed bool, what string) Native {
	if indexed {
		return in.verdict(NativeCopy, what+" of a column an index uses copies the table", "")
	}
	if src.DataType == "char" || src.DataType == "varchar" {
		ob, nb := src.MaxLength*in.charsets.mbMaxLen(src.Charset), dst.MaxLength*in.charsets.mbMaxLen(dst.Charset)
		if (ob <= 255) != (nb <= 255) {
			return in.verdict(NativeCopy, fmt.Sprintf("%s takes the column from %d to %d bytes, across 255 (the length bytes change)", what, ob, nb), "")
		}
	}
	n := in.verdict(NativeInplace, what+" of a column no index uses is metadata only (in place)", docMySQLCharset)
	n.typeInPlace = src.DataType == "char" || strings.HasSuffix(src.DataType, "text")
	return n
}

// positionChanged says whether the column is preceded by another column
// in the new table than in the old one: FIRST or AFTER that repeat where
// the column is are no move. Conservative: a column added or renamed
// right before it counts as a move.
func (in nativeInput) positionChanged(oldName, newName string) bool {
	before := func(cols []tableinfo.Column, name string) (string, bool) {
		for i, c := range cols {
			if strings.EqualFold(c.Name, name) {
				if i == 0 {
					return "", true
				}
				return strings.ToLower(cols[i-1].Name), true
			}
		}
		return "", false
	}
	was, ok := before(in.src.Columns, oldName)
	now, ok2 := before(in.dst.Columns, newName)
	return !ok || !ok2 || was != now
}

// varcharChange applies the length-byte rule: a VARCHAR stores its length
// in one byte up to 255 bytes and in two above.
func (in nativeInput) varcharChange(src, dst tableinfo.Column) Native {
	bytes := func(c tableinfo.Column) int64 {
		if c.Charset == "" {
			return c.MaxLength
		}
		return c.MaxLength * in.charsets.mbMaxLen(c.Charset)
	}
	ob, nb := bytes(src), bytes(dst)
	what := fmt.Sprintf("%s -> %s (%d -> %d bytes)", src.ColumnType, dst.ColumnType, ob, nb)
	if nb < ob {
		return in.verdict(NativeCopy, "shortening "+what, "")
	}
	sameClass := (ob <= 255) == (nb <= 255)
	switch {
	case in.maria() && in.server.atLeast(10, 4, 3) && in.rowFormat == "redundant":
		return in.verdict(NativeInstant, "widening "+what+": metadata only with ROW_FORMAT=REDUNDANT", "")
	case in.maria() && in.server.atLeast(10, 4, 3):
		if ob >= 128 && ob <= 255 && nb >= 256 {
			return in.verdict(NativeCopy, "widening "+what+" from 128-255 bytes to 256 or more changes the row format", "")
		}
		return in.verdict(NativeInstant, "widening "+what+" is metadata only", "")
	case sameClass && in.maria():
		return in.verdict(NativeInstant, "widening "+what+" keeps the length in the same number of bytes", "")
	case sameClass:
		return in.verdict(NativeInplace, "widening "+what+" keeps the length in the same number of bytes (in place, metadata only)", "")
	}
	return in.verdict(NativeCopy, "widening "+what+" across 255 bytes changes the length bytes", "")
}

// appended says whether dst's ENUM/SET members are src's plus new ones at
// the end, with the same storage size.
func appended(src, dst tableinfo.Column) bool {
	om, nm := tableinfo.Members(src.ColumnType), tableinfo.Members(dst.ColumnType)
	if len(nm) < len(om) || !slices.Equal(om, nm[:len(om)]) {
		return false
	}
	size := func(n int) int {
		if src.DataType == "enum" {
			if n <= 255 {
				return 1
			}
			return 2
		}
		switch {
		case n <= 8:
			return 1
		case n <= 16:
			return 2
		case n <= 24:
			return 3
		case n <= 32:
			return 4
		}
		return 8
	}
	return size(len(om)) == size(len(nm))
}

func (in nativeInput) convert() Native {
	worst := in.verdict(NativeInstant, "no column changes: only the table default", "")
	if !in.maria() {
		// The table's default character set is a table option: in place.
		worst = in.verdict(NativeInplace, "no column changes: only the table default (in place)", "")
		worst.tableOption = true
	}
	for _, c := range in.src.Columns {
		if c.Charset == "" {
			continue
		}
		d, ok := in.dst.Column(c.Name)
		if !ok {
			continue
		}
		n := in.columnDiff(c, *d, len(in.indexesWith(c.Name)) > 0, false)
		if n.Class.rank() > worst.Class.rank() {
			n.tableOption = worst.tableOption
			n.typeInPlace = n.typeInPlace || worst.typeInPlace
			worst = n
			worst.Reason = "column " + c.Name + ": " + n.Reason
		}
		worst.buildsIndex = worst.buildsIndex || n.buildsIndex
		worst.typeInPlace = worst.typeInPlace || n.typeInPlace
	}
	return worst
}

func (in nativeInput) tableOptions(a *ast.AlterTableSpec) Native {
	worst := in.verdict(NativeInstant, "table options that are metadata only", "")
	take := func(n Native) {
		if n.Class.rank() > worst.Class.rank() {
			worst = n
		}
	}
	for _, o := range a.Options {
		switch o.Tp {
		case ast.TableOptionCharset, ast.TableOptionCollate:
			if !in.maria() {
				// The manual says it rebuilds when the encoding differs;
				// 9.7 keeps the table (its id) even for utf8mb4 -> latin1.
				take(in.verdict(NativeInplace, "the table's default character set is metadata only (in place)", ""))
			}
		case ast.TableOptionComment, ast.TableOptionAutoIncrement:
			if !in.maria() {
				take(in.verdict(NativeInplace, "metadata only (in place)", ""))
			}
		case ast.TableOptionEngine:
			if strings.EqualFold(o.StrValue, in.src.Engine) {
				take(in.verdict(NativeRebuild, "ENGINE="+o.StrValue+" rebuilds the table", docMariaInplace))
			} else {
				take(in.verdict(NativeCopy, "changing the engine copies the table", ""))
			}
		case ast.TableOptionRowFormat, ast.TableOptionKeyBlockSize:
			take(in.verdict(NativeRebuild, "the row format changes by rebuilding the table", docMariaInplace))
		default:
			take(in.verdict(NativeUnknown, "this table option is not in godwit's rule table", ""))
		}
	}
	worst.tableOption = !in.maria()
	return worst
}

// nativeTable is what the rules read of the table itself.
type nativeTable struct {
	rowFormat   string
	hasFulltext bool
	rowVersions int64 // -1: unknown, or not MySQL 8.0.29+
	// rowVersionsErr is why rowVersions could not be read (MySQL shows
	// INNODB_TABLES only to users with the PROCESS privilege).
	rowVersionsErr error
}

// readNativeTable reads the table's row format, whether it has a FULLTEXT
// index and, on MySQL, how many row versions instant ADD/DROP COLUMN used.
func readNativeTable(ctx context.Context, db *sql.DB, server serverVersion, schema, table string) (nativeTable, error) {
	nt := nativeTable{rowVersions: -1}
	var rowFormat sql.NullString
	var fulltext int
	err := db.QueryRowContext(ctx, mysqlx.Tag+`SELECT ROW_FORMAT,
		(SELECT COUNT(*) FROM information_schema.STATISTICS s WHERE s.TABLE_SCHEMA = t.TABLE_SCHEMA AND s.TABLE_NAME = t.TABLE_NAME AND s.INDEX_TYPE = 'FULLTEXT')
		FROM information_schema.TABLES t WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`, schema, table).Scan(&rowFormat, &fulltext)
	if err != nil {
		return nt, fmt.Errorf("read the table's row format: %w", err)
	}
	nt.rowFormat, nt.hasFulltext = strings.ToLower(rowFormat.String), fulltext > 0
	if server.maxRowVersions() == 0 {
		return nt, nil
	}
	name, ok := innodbName(schema, table)
	if !ok {
		nt.rowVersionsErr = fmt.Errorf("the name %s.%s is not plain ASCII, and godwit does not encode it as InnoDB does", schema, table)
		return nt, nil
	}
	// A partitioned table has a row per partition (t#p#p0, ...), each
	// counting on its own; the fullest one decides.
	like := strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(name) + "#p#%"
	var versions sql.NullInt64
	err = db.QueryRowContext(ctx, mysqlx.Tag+"SELECT MAX(TOTAL_ROW_VERSIONS) FROM information_schema.INNODB_TABLES WHERE NAME = ? OR NAME LIKE ?", name, like).Scan(&versions)
	switch {
	case err != nil:
		nt.rowVersionsErr = err
	case !versions.Valid:
		nt.rowVersionsErr = fmt.Errorf("information_schema.INNODB_TABLES has no %s", name)
	default:
		nt.rowVersions = versions.Int64
	}
	return nt, nil
}

// innodbName is the table's name in INNODB_TABLES: schema/table, each
// with the characters a file name cannot hold written @xxxx (MySQL's
// "filename" character set). Only ASCII is encoded here; beyond it the
// server's mapping is a table godwit does not carry.
func innodbName(schema, table string) (string, bool) {
	enc := func(s string) (string, bool) {
		var b strings.Builder
		for _, r := range s {
			switch {
			case r >= 0x80:
				return "", false
			case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
				b.WriteRune(r)
			default:
				fmt.Fprintf(&b, "@%04x", r)
			}
		}
		return b.String(), true
	}
	s, ok := enc(schema)
	t, ok2 := enc(table)
	return s + "/" + t, ok && ok2
}

// native classifies the clauses and the ALTER for the plan.
func (p *Plan) native(ctx context.Context, m *migration, env predictEnv) error {
	nt, err := readNativeTable(ctx, m.db, env.server, m.opt.Conn.Database, m.opt.Table)
	if err != nil {
		return err
	}
	in := nativeInput{
		server: env.server, src: m.source, dst: m.shadow, change: m.change, charsets: env.charsets,
		rowFormat: nt.rowFormat, hasFulltext: nt.hasFulltext, rowVersions: nt.rowVersions, schema: m.opt.Conn.Database,
	}
	per, whole := nativePlan(in)
	for i, s := range m.change.Specs {
		p.Clauses = append(p.Clauses, PlanClause{
			Text: s.Text, Kind: s.Kind, Columns: s.Columns, Index: s.Index,
			Change: columnChangeText(m, s), Native: per[i],
		})
	}
	if whole.rowFormat && nt.rowVersionsErr != nil {
		p.NotChecked = append(p.NotChecked, fmt.Sprintf("whether the table has row versions left for an instant ADD/DROP COLUMN (%s allows %d before a rebuild): %v",
			env.server, env.server.maxRowVersions(), nt.rowVersionsErr))
	}
	p.Native = &whole
	return nil
}

// columnChangeText shows a column's definition before and after the
// clause, as predicted: "varchar(10) -> varchar(20) NOT NULL".
func columnChangeText(m *migration, s alter.Spec) string {
	show := func(c *tableinfo.Column) string {
		out := c.ColumnType
		if !c.Nullable {
			out += " NOT NULL"
		}
		if c.Collation != "" {
			out += " " + c.Collation
		}
		return out
	}
	a := s.AST
	switch s.Kind {
	case alter.ModifyColumn, alter.ChangeColumn:
		old := a.NewColumns[0].Name.Name.O
		if a.OldColumnName != nil {
			old = a.OldColumnName.Name.O
		}
		src, ok := m.source.Column(old)
		dst, ok2 := m.shadow.Column(a.NewColumns[0].Name.Name.O)
		if ok && ok2 {
			return show(src) + " -> " + show(dst)
		}
	case alter.AddColumn:
		var parts []string
		for _, d := range a.NewColumns {
			if c, ok := m.shadow.Column(d.Name.Name.O); ok {
				parts = append(parts, c.Name+" "+show(c))
			}
		}
		return strings.Join(parts, ", ")
	case alter.DropColumn:
		if c, ok := m.source.Column(a.OldColumnName.Name.O); ok {
			return show(c) + " -> (dropped)"
		}
	}
	return ""
}

// storageType is a column type without what does not change storage:
// the display width of an integer (MySQL 8.0.19+ does not even print it).
func storageType(c tableinfo.Column) string {
	if !isIntegerType(c.DataType) {
		return c.ColumnType
	}
	t := c.ColumnType
	if i := strings.IndexByte(t, '('); i >= 0 {
		if j := strings.IndexByte(t[i:], ')'); j >= 0 {
			t = t[:i] + t[i+j+1:]
		}
	}
	return strings.TrimSuffix(strings.TrimSpace(strings.Replace(t, " zerofill", "", 1)), " ")
}
