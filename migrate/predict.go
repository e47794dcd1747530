package migrate

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/godwit-db/godwit/internal/tableinfo"
	"github.com/godwit-db/godwit/migrate/alter"
)

// predict.go predicts the structure of the new table from the source's
// structure and the parsed ALTER, without creating anything: the planner
// must not create the shadow table that migrate builds, yet the data
// checks (datacheck*.go) need the new columns and keys. The prediction
// follows what MariaDB prints in information_schema (int(11), utf8mb4,
// text promoted to mediumtext by CONVERT TO, ...); TestPlanPredictMatchesServer
// holds it against the real server. Whatever it cannot predict with
// confidence it leaves as in the source and reports as "not checked".

// predictEnv is what the prediction needs to know of the server.
type predictEnv struct {
	server   serverVersion
	charsets *charsetInfo
	// explicitTimestamp is @@explicit_defaults_for_timestamp: when off,
	// a TIMESTAMP column without NULL is NOT NULL.
	explicitTimestamp bool
}

// charsetInfo is the server's character sets and collations.
type charsetInfo struct {
	defaultCollation map[string]string // charset -> its default collation
	charsetOf        map[string]string // collation -> charset
	maxLen           map[string]int64  // charset -> bytes per character at most
}

// normCharset and normCollation resolve the alias utf8 (utf8mb3 on
// MariaDB 10.6+ with the default old_mode, and on MySQL 8).
func normCharset(cs string) string {
	cs = strings.ToLower(cs)
	if cs == "utf8" {
		return "utf8mb3"
	}
	return cs
}

func normCollation(c string) string {
	c = strings.ToLower(c)
	if strings.HasPrefix(c, "utf8_") {
		return "utf8mb3_" + strings.TrimPrefix(c, "utf8_")
	}
	return c
}

func (ci *charsetInfo) charset(collation string) string {
	if cs, ok := ci.charsetOf[collation]; ok {
		return cs
	}
	cs, _, _ := strings.Cut(collation, "_") // every MariaDB and MySQL collation starts with its charset
	return cs
}

func (ci *charsetInfo) mbMaxLen(cs string) int64 {
	if n, ok := ci.maxLen[cs]; ok {
		return n
	}
	return 4 // the widest common charset: errs toward longer byte lengths
}

// predicted is one column of the new table while it is being built:
// orig is the source column it comes from ("" for an added column).
type predicted struct {
	col  tableinfo.Column
	orig string
}

type predictor struct {
	env       predictEnv
	cols      []predicted
	indexes   []predictedIndex
	charset   string // the table's default charset and collation
	collation string
	notes     []string
}

// predictedIndex is an index of the new table; orig holds, for each of
// its columns, the source column it named before the ALTER ("" for a
// column an index of this ALTER names by its new name).
type predictedIndex struct {
	ix   tableinfo.Index
	orig []string
}

// predictTable returns the predicted new table and what it could not
// predict. Columns it cannot predict keep their source definition (so no
// data check fires on them) and are named in the notes.
func predictTable(src *tableinfo.Table, ch *alter.Change, env predictEnv) (*tableinfo.Table, []string) {
	p := &predictor{env: env, collation: src.Collation, charset: env.charsets.charset(src.Collation)}
	for _, c := range src.Columns {
		p.cols = append(p.cols, predicted{col: c, orig: c.Name})
	}
	for _, ix := range src.Indexes {
		ix.Columns = slices.Clone(ix.Columns)
		p.indexes = append(p.indexes, predictedIndex{ix: ix, orig: slices.Clone(ix.Columns)})
	}
	// The table's own options apply before the columns are defined: a
	// column added in the same ALTER gets the new default charset.
	for _, s := range ch.Specs {
		if s.Kind == alter.TableOption {
			p.tableOptions(s.AST)
		}
	}
	for _, s := range ch.Specs {
		p.apply(s)
	}
	t := *src
	t.Collation = p.collation
	t.Columns = nil
	for i, c := range p.cols {
		c.col.Position = i
		t.Columns = append(t.Columns, c.col)
	}
	t.Indexes = nil
	for _, ix := range p.indexes {
		t.Indexes = append(t.Indexes, ix.ix)
	}
	t.Indexes = sortIndexes(t.Indexes)
	return &t, p.notes
}

func (p *predictor) note(format string, args ...any) {
	p.notes = append(p.notes, fmt.Sprintf(format, args...))
}

func (p *predictor) apply(s alter.Spec) {
	a := s.AST
	switch s.Kind {
	case alter.AddColumn:
		for i, d := range a.NewColumns {
			pos := a.Position
			if i > 0 || len(a.NewColumns) > 1 {
				pos = nil // ADD (a INT, b INT) appends in order
			}
			c, ok := p.column(d)
			if !ok {
				c = tableinfo.Column{Name: d.Name.Name.O, DataType: "unknown", ColumnType: "unknown", Nullable: true}
			}
			p.insert(predicted{col: c}, pos)
			p.inlineKeys(d)
		}
		for _, k := range a.NewConstraints {
			p.addConstraint(k)
		}
	case alter.DropColumn:
		if i := p.byOrig(a.OldColumnName.Name.O); i >= 0 {
			p.cols = slices.Delete(p.cols, i, i+1)
			p.dropFromIndexes(a.OldColumnName.Name.O)
		}
	case alter.ModifyColumn, alter.ChangeColumn:
		d := a.NewColumns[0]
		old := d.Name.Name.O
		if a.OldColumnName != nil {
			old = a.OldColumnName.Name.O
		}
		i := p.byOrig(old)
		if i < 0 {
			p.note("column %s: not found in the table, so its new definition was not predicted", old)
			return
		}
		cur := p.cols[i]
		c, ok := p.column(d)
		if !ok {
			c = cur.col // keep the old definition: no check fires on it
			c.Name = d.Name.Name.O
		}
		p.renameInIndexes(cur.orig, c.Name)
		p.cols = slices.Delete(p.cols, i, i+1)
		if a.Position == nil || a.Position.Tp == ast.ColumnPositionNone {
			p.cols = slices.Insert(p.cols, i, predicted{col: c, orig: cur.orig})
		} else {
			p.insert(predicted{col: c, orig: cur.orig}, a.Position)
		}
		p.inlineKeys(d)
	case alter.RenameColumn:
		if i := p.byOrig(a.OldColumnName.Name.O); i >= 0 {
			p.cols[i].col.Name = a.NewColumnName.Name.O
			p.renameInIndexes(p.cols[i].orig, a.NewColumnName.Name.O)
		}
	case alter.AddIndex, alter.AddUniqueKey, alter.AddPrimaryKey, alter.AddFulltextIndex:
		p.addConstraint(a.Constraint)
	case alter.DropIndex:
		p.indexes = slices.DeleteFunc(p.indexes, func(ix predictedIndex) bool { return strings.EqualFold(ix.ix.Name, a.Name) })
	case alter.DropPrimaryKey:
		p.indexes = slices.DeleteFunc(p.indexes, func(ix predictedIndex) bool { return ix.ix.Name == "PRIMARY" })
	case alter.RenameIndex:
		for i := range p.indexes {
			if strings.EqualFold(p.indexes[i].ix.Name, a.FromKey.O) {
				p.indexes[i].ix.Name = a.ToKey.O
			}
		}
	case alter.ConvertCharset:
		p.convert(a)
	}
}

// byOrig finds the column that comes from the source column name: every
// spec of one ALTER names the columns of the original table.
func (p *predictor) byOrig(name string) int {
	for i, c := range p.cols {
		if c.orig != "" && strings.EqualFold(c.orig, name) {
			return i
		}
	}
	return -1
}

func (p *predictor) byName(name string) int {
	for i, c := range p.cols {
		if strings.EqualFold(c.col.Name, name) {
			return i
		}
	}
	return -1
}

func (p *predictor) insert(c predicted, pos *ast.ColumnPosition) {
	switch {
	case pos == nil || pos.Tp == ast.ColumnPositionNone:
		p.cols = append(p.cols, c)
	case pos.Tp == ast.ColumnPositionFirst:
		p.cols = slices.Insert(p.cols, 0, c)
	default:
		i := p.byName(pos.RelativeColumn.Name.O)
		if i < 0 {
			p.note("column %s: AFTER %s names no column; placed last", c.col.Name, pos.RelativeColumn.Name.O)
			p.cols = append(p.cols, c)
			return
		}
		p.cols = slices.Insert(p.cols, i+1, c)
	}
}

// tableOptions applies DEFAULT CHARSET / COLLATE to the table default.
func (p *predictor) tableOptions(s *ast.AlterTableSpec) {
	cs, coll := "", ""
	for _, o := range s.Options {
		switch o.Tp {
		case ast.TableOptionCharset:
			cs = normCharset(o.StrValue)
		case ast.TableOptionCollate:
			coll = normCollation(o.StrValue)
		}
	}
	cs, coll = p.resolveCharset(cs, coll)
	if coll != "" {
		p.charset, p.collation = cs, coll
	}
}

// resolveCharset completes a charset/collation pair the way the server
// does: a charset alone takes its default collation, a collation alone
// names its charset.
func (p *predictor) resolveCharset(cs, coll string) (string, string) {
	switch {
	case cs == "" && coll == "":
		return "", ""
	case coll == "":
		return cs, p.env.charsets.defaultCollation[cs]
	case cs == "":
		return p.env.charsets.charset(coll), coll
	}
	return cs, coll
}

// convert applies CONVERT TO CHARACTER SET: every character column
// takes the new charset, and TEXT types grow so that they still hold as
// many characters as before.
func (p *predictor) convert(s *ast.AlterTableSpec) {
	cs, coll := "", ""
	for _, o := range s.Options {
		switch o.Tp {
		case ast.TableOptionCharset:
			cs = normCharset(o.StrValue)
		case ast.TableOptionCollate:
			coll = normCollation(o.StrValue)
		}
	}
	if cs == "binary" || cs == "default" || cs == "" {
		p.note("CONVERT TO CHARACTER SET %s: the new column types were not predicted", cs)
		return
	}
	cs, coll = p.resolveCharset(cs, coll)
	if coll == "" {
		p.note("CONVERT TO CHARACTER SET %s: charset unknown to the server; the new column types were not predicted", cs)
		return
	}
	p.charset, p.collation = cs, coll
	for i := range p.cols {
		c := &p.cols[i].col
		if c.Charset == "" || c.Charset == "binary" || c.Generated {
			continue
		}
		if t, ok := textTypes[c.DataType]; ok {
			chars := c.MaxLength / p.env.charsets.mbMaxLen(c.Charset)
			nt := textTypeFor(chars*p.env.charsets.mbMaxLen(cs), t.rank)
			c.DataType, c.ColumnType, c.MaxLength = nt, nt, textTypes[nt].bytes
		}
		c.Charset, c.Collation = cs, coll
	}
}

// inlineKeys adds the keys a column definition declares: PRIMARY KEY
// (which also makes the column NOT NULL) and UNIQUE.
func (p *predictor) inlineKeys(d *ast.ColumnDef) {
	name := d.Name.Name.O
	for _, o := range d.Options {
		switch o.Tp {
		case ast.ColumnOptionPrimaryKey:
			p.addIndex(tableinfo.Index{Name: "PRIMARY", Unique: true, Columns: []string{name}})
			p.setNotNull(name)
		case ast.ColumnOptionUniqKey:
			p.addIndex(tableinfo.Index{Name: p.indexName("", name), Unique: true, Columns: []string{name}})
		}
	}
}

func (p *predictor) addConstraint(k *ast.Constraint) {
	ix := tableinfo.Index{Name: k.Name}
	for _, part := range k.Keys {
		if part.Column == nil {
			ix.Columns = append(ix.Columns, "")
			ix.Prefix = true
			continue
		}
		name := part.Column.Name.O
		if i := p.byName(name); i >= 0 {
			name = p.cols[i].col.Name // the spelling of the table, as information_schema shows it
		}
		ix.Columns = append(ix.Columns, name)
		ix.Prefix = ix.Prefix || part.Length > 0
	}
	switch k.Tp {
	case ast.ConstraintPrimaryKey:
		ix.Name, ix.Unique = "PRIMARY", true
		for _, c := range ix.Columns {
			p.setNotNull(c)
		}
	case ast.ConstraintUniq, ast.ConstraintUniqKey, ast.ConstraintUniqIndex:
		ix.Unique = true
	case ast.ConstraintKey, ast.ConstraintIndex, ast.ConstraintFulltext:
	default:
		return // CHECK, FOREIGN KEY: no index of their own here
	}
	if ix.Name != "PRIMARY" {
		first := ""
		if len(ix.Columns) > 0 {
			first = ix.Columns[0]
		}
		ix.Name = p.indexName(ix.Name, first)
	}
	p.addIndex(ix)
}

// indexName is the name the server gives an index: its own name, or that
// of its first column, made unique with _2, _3, ...
func (p *predictor) indexName(name, firstColumn string) string {
	if name != "" {
		return name
	}
	taken := func(n string) bool {
		return slices.ContainsFunc(p.indexes, func(ix predictedIndex) bool { return strings.EqualFold(ix.ix.Name, n) })
	}
	if firstColumn != "" && !taken(firstColumn) && !strings.EqualFold(firstColumn, "PRIMARY") {
		return firstColumn
	}
	for i := 2; ; i++ {
		if n := fmt.Sprintf("%s_%d", firstColumn, i); !taken(n) {
			return n
		}
	}
}

func (p *predictor) addIndex(ix tableinfo.Index) {
	p.indexes = append(p.indexes, predictedIndex{ix: ix, orig: make([]string, len(ix.Columns))})
}

func (p *predictor) setNotNull(name string) {
	if i := p.byName(name); i >= 0 {
		p.cols[i].col.Nullable = false
	}
}

// dropFromIndexes removes a dropped source column from the indexes; an
// index left without columns goes with it.
func (p *predictor) dropFromIndexes(orig string) {
	for i := range p.indexes {
		ix := &p.indexes[i]
		for j := len(ix.orig) - 1; j >= 0; j-- {
			if strings.EqualFold(ix.orig[j], orig) {
				ix.orig = slices.Delete(ix.orig, j, j+1)
				ix.ix.Columns = slices.Delete(ix.ix.Columns, j, j+1)
			}
		}
	}
	p.indexes = slices.DeleteFunc(p.indexes, func(ix predictedIndex) bool { return len(ix.ix.Columns) == 0 })
}

// renameInIndexes gives the new name to every index column that named
// the source column orig.
func (p *predictor) renameInIndexes(orig, to string) {
	if orig == "" {
		return
	}
	for i := range p.indexes {
		for j, o := range p.indexes[i].orig {
			if strings.EqualFold(o, orig) {
				p.indexes[i].ix.Columns[j] = to
			}
		}
	}
}

// sortIndexes orders indexes like tableinfo.Load: PRIMARY first, then by name.
func sortIndexes(ixs []tableinfo.Index) []tableinfo.Index {
	out := slices.Clone(ixs)
	slices.SortStableFunc(out, func(a, b tableinfo.Index) int {
		if (a.Name == "PRIMARY") != (b.Name == "PRIMARY") {
			if a.Name == "PRIMARY" {
				return -1
			}
			return 1
		}
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	return out
}
