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
// and, for MariaDB 10.11, from trying each situation on a scratch table
// with ALGORITHM=INSTANT, then NOCOPY, then INPLACE (TestPlanNativeRulesOnServer
// keeps them honest). What that showed beyond the pages: dropping a
// column that is part of an index is NOCOPY (single-column indexes) or a
// rebuild (multi-column ones); utf8mb3 -> utf8mb4 is instant even when
// indexed; and adding, dropping or moving a column in the same ALTER as
// building an index rebuilds the table. The MySQL rules are from the
// documentation only: no MySQL server was available to verify them.

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
}

const (
	docMariaInstant = "https://mariadb.com/kb/en/innodb-online-ddl-operations-with-the-instant-alter-algorithm/"
	docMariaNocopy  = "https://mariadb.com/kb/en/innodb-online-ddl-operations-with-the-nocopy-alter-algorithm/"
	docMariaInplace = "https://mariadb.com/kb/en/innodb-online-ddl-operations-with-the-inplace-alter-algorithm/"
	docMaria104     = "https://mariadb.com/resources/blog/alter-table-improvements-in-mariadb-server-10-4/"
	docMariaCopy    = "https://mariadb.com/docs/server/reference/sql-statements/data-definition/alter/alter-table/online-schema-change"
	docMySQL80      = "https://dev.mysql.com/doc/refman/8.0/en/innodb-online-ddl-operations.html"
	docMySQL84      = "https://dev.mysql.com/doc/refman/8.4/en/innodb-online-ddl-operations.html"
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
	schema      string
}

func (in nativeInput) maria() bool { return in.server.flavor == "mariadb" }

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
	case !in.maria() && rowFormat && w.Class.rank() > NativeInstant.rank() && w.Class.rank() < NativeRebuild.rank():
		// MySQL: an instant ADD/DROP COLUMN cannot be combined with a
		// clause that is not instant; INPLACE then rebuilds.
		w.Class = NativeRebuild
		why = append(why, "an instant ADD/DROP COLUMN combined with a clause that is not instant falls back to a rebuild")
	}
	w.Reason = wholeReason(w, why)
	w.Statement = in.statement(w)
	return w
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
// for instant changes, and for in-place ones that need no lock.
func (in nativeInput) statement(w Native) string {
	algo := map[NativeClass]string{NativeInstant: "ALGORITHM=INSTANT", NativeInplace: "ALGORITHM=NOCOPY, LOCK=NONE"}[w.Class]
	if !in.maria() && w.Class == NativeInplace {
		algo = "ALGORITHM=INPLACE, LOCK=NONE"
	}
	if algo == "" || w.Lock != "none" {
		return ""
	}
	return fmt.Sprintf("ALTER TABLE %s %s, %s", mysqlx.QT(in.schema, in.src.Name), in.change.Clause, algo)
}

func (in nativeInput) clause(s alter.Spec) Native {
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
		if in.maria() {
			return in.verdict(NativeCopy, "a new CHECK constraint is validated by copying the table", "")
		}
		return in.verdict(NativeUnknown, "CHECK constraints are not in MySQL's online DDL tables", "")
	case alter.DropCheck:
		if in.maria() {
			return in.verdict(NativeInstant, "dropping a CHECK constraint is metadata only", "")
		}
		return in.verdict(NativeUnknown, "CHECK constraints are not in MySQL's online DDL tables", "")
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
		case autoInc:
			n := in.verdict(NativeRebuild, "an AUTO_INCREMENT column is filled by rebuilding the table with writes blocked", docMariaInplace)
			n.Lock = "shared"
			take(n)
		case pk:
			take(in.verdict(NativeRebuild, "a column with a new primary key rebuilds the table", docMariaInplace))
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
	switch {
	case src.Charset != dst.Charset && src.Charset != "" && dst.Charset != "":
		if maria104 && src.Charset == "utf8mb3" && dst.Charset == "utf8mb4" &&
			strings.TrimPrefix(src.Collation, "utf8mb3_") == strings.TrimPrefix(dst.Collation, "utf8mb4_") {
			add(in.verdict(NativeInstant, "utf8mb3 -> utf8mb4 is metadata only", docMaria104))
		} else {
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
		default:
			add(in.verdict(NativeCopy, "collation change", ""))
		}
	}
	switch {
	case src.Nullable && !dst.Nullable:
		add(in.verdict(NativeRebuild, "NOT NULL is enforced by rebuilding the table in place", docMariaInplace))
	case !src.Nullable && dst.Nullable:
		if in.maria() && in.server.atLeast(10, 4, 3) && redundant {
			add(in.verdict(NativeInstant, "NULL allowed: metadata only with ROW_FORMAT=REDUNDANT", ""))
		} else {
			add(in.verdict(NativeRebuild, "allowing NULL rebuilds the table in place (instant only with ROW_FORMAT=REDUNDANT)", docMariaInplace))
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
		reasons = append(reasons, n.Reason)
	}
	worst.Reason = strings.Join(reasons, "; ")
	return worst
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
	om, nm := members(src.ColumnType), members(dst.ColumnType)
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
	if !in.maria() {
		return in.verdict(NativeCopy, "CONVERT TO CHARACTER SET copies the table", "")
	}
	worst := in.verdict(NativeInstant, "no column changes: only the table default", "")
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
			worst = n
			worst.Reason = "column " + c.Name + ": " + n.Reason
		}
		worst.buildsIndex = worst.buildsIndex || n.buildsIndex
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
				take(in.verdict(NativeRebuild, "a new default character set may rebuild the table", ""))
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
	return worst
}

// native classifies the clauses and the ALTER for the plan.
func (p *Plan) native(ctx context.Context, m *migration, env predictEnv) error {
	var rowFormat sql.NullString
	var fulltext int
	err := m.db.QueryRowContext(ctx, mysqlx.Tag+`SELECT ROW_FORMAT,
		(SELECT COUNT(*) FROM information_schema.STATISTICS s WHERE s.TABLE_SCHEMA = t.TABLE_SCHEMA AND s.TABLE_NAME = t.TABLE_NAME AND s.INDEX_TYPE = 'FULLTEXT')
		FROM information_schema.TABLES t WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`, m.opt.Conn.Database, m.opt.Table).Scan(&rowFormat, &fulltext)
	if err != nil {
		return fmt.Errorf("read the table's row format: %w", err)
	}
	in := nativeInput{
		server: env.server, src: m.source, dst: m.shadow, change: m.change, charsets: env.charsets,
		rowFormat: strings.ToLower(rowFormat.String), hasFulltext: fulltext > 0, schema: m.opt.Conn.Database,
	}
	per, whole := nativePlan(in)
	for i, s := range m.change.Specs {
		p.Clauses = append(p.Clauses, PlanClause{
			Text: s.Text, Kind: s.Kind, Columns: s.Columns, Index: s.Index,
			Change: columnChangeText(m, s), Native: per[i],
		})
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
