package migrate

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/mysql"

	"github.com/godwit-db/godwit/internal/tableinfo"
)

// lobType is one of the TEXT or BLOB types: its rank among its family
// and its capacity in bytes (what information_schema shows as
// CHARACTER_MAXIMUM_LENGTH on MariaDB).
type lobType struct {
	rank  int
	bytes int64
}

var textTypes = map[string]lobType{
	"tinytext": {0, 255}, "text": {1, 65535}, "mediumtext": {2, 16777215}, "longtext": {3, 4294967295},
}

var blobTypes = map[string]lobType{
	"tinyblob": {0, 255}, "blob": {1, 65535}, "mediumblob": {2, 16777215}, "longblob": {3, 4294967295},
}

var lobOrder = map[bool][]string{
	false: {"tinytext", "text", "mediumtext", "longtext"},
	true:  {"tinyblob", "blob", "mediumblob", "longblob"},
}

// textTypeFor is the smallest TEXT type of at least minRank that holds bytes.
func textTypeFor(bytes int64, minRank int) string { return lobFor(false, bytes, minRank) }

func lobFor(binary bool, bytes int64, minRank int) string {
	types := textTypes
	if binary {
		types = blobTypes
	}
	names := lobOrder[binary]
	for _, n := range names[minRank:] {
		if types[n].bytes >= bytes {
			return n
		}
	}
	return names[len(names)-1]
}

// intType describes an integer type as MariaDB prints it: the display
// width it gets by default, and its NUMERIC_PRECISION.
type intType struct {
	name                       string
	width, widthUnsigned       int
	precision, precisionUnsign int64
}

var intTypes = map[byte]intType{
	mysql.TypeTiny:     {"tinyint", 4, 3, 3, 3},
	mysql.TypeShort:    {"smallint", 6, 5, 5, 5},
	mysql.TypeInt24:    {"mediumint", 9, 8, 7, 8},
	mysql.TypeLong:     {"int", 11, 10, 10, 10},
	mysql.TypeLonglong: {"bigint", 20, 20, 19, 20},
}

// column predicts one column definition as information_schema will show
// it. ok is false for a type it does not know well enough; the reason is
// added to the notes.
func (p *predictor) column(d *ast.ColumnDef) (tableinfo.Column, bool) {
	c := tableinfo.Column{Name: d.Name.Name.O, Nullable: true}
	tp := d.Tp
	if tp == nil {
		p.note("column %s: no type given; its checks were skipped", c.Name)
		return c, false
	}
	flag := tp.GetFlag()
	zerofill := mysql.HasZerofillFlag(flag)
	c.Unsigned = mysql.HasUnsignedFlag(flag) || zerofill
	explicitNull := false
	optCollate := ""
	for _, o := range d.Options {
		switch o.Tp {
		case ast.ColumnOptionNotNull, ast.ColumnOptionPrimaryKey:
			c.Nullable = false
		case ast.ColumnOptionNull:
			c.Nullable, explicitNull = true, true
		case ast.ColumnOptionGenerated:
			c.Generated = true
		case ast.ColumnOptionCollate:
			optCollate = o.StrValue
		}
	}
	suffix := ""
	if c.Unsigned {
		suffix += " unsigned"
	}
	if zerofill {
		suffix += " zerofill"
	}
	flen, dec := tp.GetFlen(), tp.GetDecimal()
	mysql8 := p.env.server.flavor == "mysql" && p.env.server.atLeast(8, 0, 19)

	switch t := tp.GetType(); t {
	case mysql.TypeTiny, mysql.TypeShort, mysql.TypeInt24, mysql.TypeLong, mysql.TypeLonglong:
		it := intTypes[t]
		width, prec := it.width, it.precision
		if c.Unsigned {
			width, prec = it.widthUnsigned, it.precisionUnsign
		}
		if flen > 0 {
			width = flen
		}
		if t == mysql.TypeInt24 && p.env.server.flavor == "mysql" {
			prec = it.precision // MySQL says 7 digits for MEDIUMINT UNSIGNED too, MariaDB 8
		}
		c.DataType, c.Precision = it.name, prec
		c.ColumnType = fmt.Sprintf("%s(%d)%s", it.name, width, suffix)
		if mysql8 && !zerofill && !(t == mysql.TypeTiny && flen == 1) {
			c.ColumnType = it.name + suffix // MySQL 8.0.19+ hides display widths
		}
	case mysql.TypeNewDecimal:
		if flen < 0 {
			flen = 10
		}
		if dec < 0 {
			dec = 0
		}
		c.DataType, c.Precision, c.Scale = "decimal", int64(flen), int64(dec)
		c.ColumnType = fmt.Sprintf("decimal(%d,%d)%s", flen, dec, suffix)
	case mysql.TypeFloat, mysql.TypeDouble:
		c.DataType, c.Precision = "float", 12
		if t == mysql.TypeDouble {
			c.DataType, c.Precision = "double", 22
		}
		c.ColumnType = c.DataType + suffix
		if flen > 0 && dec >= 0 {
			c.Precision, c.Scale = int64(flen), int64(dec)
			c.ColumnType = fmt.Sprintf("%s(%d,%d)%s", c.DataType, flen, dec, suffix)
		} else if flen > 0 {
			p.note("column %s: %s(%d) is not predicted; its checks were skipped", c.Name, c.DataType, flen)
			return c, false
		}
	case mysql.TypeBit:
		if flen < 0 {
			flen = 1
		}
		c.DataType, c.Precision = "bit", int64(flen)
		c.ColumnType = fmt.Sprintf("bit(%d)", flen)
	case mysql.TypeDate:
		c.DataType, c.ColumnType = "date", "date"
	case mysql.TypeDuration, mysql.TypeDatetime, mysql.TypeTimestamp:
		c.DataType = map[byte]string{mysql.TypeDuration: "time", mysql.TypeDatetime: "datetime", mysql.TypeTimestamp: "timestamp"}[t]
		c.ColumnType = c.DataType
		if dec > 0 {
			c.ColumnType = fmt.Sprintf("%s(%d)", c.DataType, dec)
		}
		if t == mysql.TypeTimestamp && !p.env.explicitTimestamp && !explicitNull {
			c.Nullable = false
		}
	case mysql.TypeYear:
		c.DataType, c.ColumnType = "year", "year(4)"
		if mysql8 {
			c.ColumnType = "year"
		}
	case mysql.TypeJSON:
		if p.env.server.flavor == "mysql" {
			c.DataType, c.ColumnType = "json", "json"
			break
		}
		// MariaDB: JSON is LONGTEXT in utf8mb4_bin with a json_valid CHECK.
		c.DataType, c.ColumnType, c.MaxLength = "longtext", "longtext", textTypes["longtext"].bytes
		c.Charset, c.Collation = "utf8mb4", "utf8mb4_bin"
	case mysql.TypeString, mysql.TypeVarchar, mysql.TypeVarString, mysql.TypeTinyBlob, mysql.TypeBlob,
		mysql.TypeMediumBlob, mysql.TypeLongBlob, mysql.TypeEnum, mysql.TypeSet:
		return p.stringColumn(c, d, optCollate)
	default:
		p.note("column %s: type %s is not predicted; its checks were skipped", c.Name, tp.String())
		return c, false
	}
	return c, true
}

// stringColumn predicts character and binary string types, ENUM and SET.
func (p *predictor) stringColumn(c tableinfo.Column, d *ast.ColumnDef, optCollate string) (tableinfo.Column, bool) {
	tp := d.Tp
	t, flen := tp.GetType(), tp.GetFlen()
	binary := strings.EqualFold(tp.GetCharset(), "binary")
	if !binary {
		cs, coll := normCharset(tp.GetCharset()), normCollation(tp.GetCollate())
		if coll == "" && optCollate != "" {
			coll = normCollation(optCollate)
		}
		if cs == "" && coll == "" {
			cs, coll = p.charset, p.collation
			if mysql.HasBinaryFlag(tp.GetFlag()) {
				coll = cs + "_bin"
			}
		} else if coll == "" && mysql.HasBinaryFlag(tp.GetFlag()) {
			coll = cs + "_bin"
		} else {
			cs, coll = p.resolveCharset(cs, coll)
		}
		if coll == "" {
			p.note("column %s: character set %s is unknown to the server; its checks were skipped", c.Name, cs)
			return c, false
		}
		c.Charset, c.Collation = cs, coll
	}
	mb := int64(1)
	if !binary {
		mb = p.env.charsets.mbMaxLen(c.Charset)
	}
	switch t {
	case mysql.TypeString, mysql.TypeVarchar, mysql.TypeVarString:
		if flen < 0 {
			flen = 1
		}
		name := "char"
		if t != mysql.TypeString {
			name = "varchar"
		}
		if binary {
			name = map[string]string{"char": "binary", "varchar": "varbinary"}[name]
		}
		c.DataType, c.MaxLength = name, int64(flen)
		c.ColumnType = fmt.Sprintf("%s(%d)", name, flen)
	case mysql.TypeTinyBlob, mysql.TypeBlob, mysql.TypeMediumBlob, mysql.TypeLongBlob:
		rank := map[byte]int{mysql.TypeTinyBlob: 0, mysql.TypeBlob: 1, mysql.TypeMediumBlob: 2, mysql.TypeLongBlob: 3}[t]
		name := lobOrder[binary][rank]
		if t == mysql.TypeBlob && flen > 0 {
			name = lobFor(binary, int64(flen)*mb, 0) // TEXT(n): the smallest type that holds n characters
		}
		c.DataType, c.ColumnType = name, name
		c.MaxLength = textTypes[name].bytes
		if binary {
			c.MaxLength = blobTypes[name].bytes
		}
	case mysql.TypeEnum, mysql.TypeSet:
		name := "enum"
		if t == mysql.TypeSet {
			name = "set"
		}
		quoted := make([]string, len(tp.GetElems()))
		var longest, total int64
		for i, e := range tp.GetElems() {
			quoted[i] = "'" + strings.ReplaceAll(e, "'", "''") + "'"
			n := int64(utf8.RuneCountInString(e))
			longest = max(longest, n)
			total += n
		}
		c.DataType = name
		c.ColumnType = name + "(" + strings.Join(quoted, ",") + ")"
		c.MaxLength = longest
		if t == mysql.TypeSet {
			c.MaxLength = total + int64(max(len(quoted)-1, 0))
		}
	}
	return c, true
}
