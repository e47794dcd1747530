package migrate

import (
	"fmt"
	"strings"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/tableinfo"
)

// columnConditions asks, for one column the ALTER changes, which rows the
// new definition cannot hold as they are.
func columnConditions(p columnPair) []condition {
	s, d := p.src, p.dst
	if s.ColumnType == d.ColumnType && s.Charset == d.Charset && s.Collation == d.Collation && s.Nullable == d.Nullable {
		return nil
	}
	x := mysqlx.Q(s.Name)
	var out []condition
	add := func(check, sql, detail, fix string) {
		out = append(out, condition{check: check, column: s.Name, sql: sql, detail: detail, fix: fix})
	}
	if s.Nullable && !d.Nullable {
		add("not-null", x+" IS NULL",
			fmt.Sprintf("column %s becomes NOT NULL but holds NULLs", d.Name),
			fmt.Sprintf("Set them first (UPDATE ... SET %s = <value> WHERE %s IS NULL) or keep the column nullable; the copy would not invent a value.", s.Name, s.Name))
	}
	narrow := func(sql, what string) {
		add("narrowing", sql, fmt.Sprintf("column %s %s -> %s: %s", s.Name, s.ColumnType, d.ColumnType, what),
			"Widen the new type, or fix those rows first.")
	}
	switch {
	case isIntegerType(d.DataType) && isNumericType(s.DataType):
		lo, hi := integerRange(d)
		narrow(fmt.Sprintf("(%s < %s OR %s > %s)", x, lo, x, hi), "values out of range")
		if !isIntegerType(s.DataType) {
			narrow(fmt.Sprintf("%s <> ROUND(%s)", x, x), "fractions would be rounded away")
		}
	case isDecimalType(d.DataType) && isNumericType(s.DataType):
		limit := "1" + strings.Repeat("0", int(d.Precision-d.Scale))
		narrow(fmt.Sprintf("ABS(%s) >= %s", x, limit), "values too large for the precision")
		if isFloatType(s.DataType) || s.Scale > d.Scale {
			narrow(fmt.Sprintf("%s <> ROUND(%s, %d)", x, x, d.Scale), fmt.Sprintf("digits beyond %d decimals would be rounded", d.Scale))
		}
	case isTextType(d.DataType) && d.MaxLength > 0 && (!isTextType(s.DataType) || s.MaxLength > d.MaxLength):
		narrow(fmt.Sprintf("CHAR_LENGTH(%s) > %d", x, d.MaxLength), fmt.Sprintf("values longer than %d characters", d.MaxLength))
	case isBinaryType(d.DataType) && d.MaxLength > 0 && (!isBinaryType(s.DataType) || s.MaxLength > d.MaxLength):
		narrow(fmt.Sprintf("LENGTH(%s) > %d", x, d.MaxLength), fmt.Sprintf("values longer than %d bytes", d.MaxLength))
	case isTemporalType(d.DataType) && isTemporalType(s.DataType) && fsp(d.ColumnType) < fsp(s.ColumnType):
		unit := "1" + strings.Repeat("0", 6-int(fsp(d.ColumnType)[0]-'0'))
		narrow(fmt.Sprintf("MICROSECOND(%s) %% %s <> 0", x, unit), "fractional seconds would be cut")
	}
	// CHAR strips trailing spaces and BINARY pads with zero bytes: the copy
	// would change those values, and the checksum would refuse the swap
	// only after the whole copy.
	if d.DataType == "char" && isTextType(s.DataType) && s.DataType != "char" {
		add("padding", x+" LIKE '% '", fmt.Sprintf("column %s %s -> %s: values end in spaces, which CHAR strips", s.Name, s.ColumnType, d.ColumnType),
			fmt.Sprintf("Trim them first (UPDATE ... SET %s = RTRIM(%s)), or keep a VARCHAR.", s.Name, s.Name))
	}
	if d.DataType == "binary" && isBinaryType(s.DataType) && s.DataType != "binary" {
		add("padding", fmt.Sprintf("LENGTH(%s) < %d", x, d.MaxLength), fmt.Sprintf("column %s %s -> %s: values shorter than %d bytes, which BINARY pads with zero bytes", s.Name, s.ColumnType, d.ColumnType, d.MaxLength),
			"Keep a VARBINARY, or pad those rows first.")
	}
	if isTextType(s.DataType) && isTextType(d.DataType) && s.Charset != d.Charset && s.Charset != "" && d.Charset != "" {
		add("charset", fmt.Sprintf("CAST(CONVERT(CONVERT(%s USING %s) USING %s) AS BINARY) <> CAST(%s AS BINARY)", x, d.Charset, s.Charset, x),
			fmt.Sprintf("column %s: characters %s cannot represent", s.Name, d.Charset),
			"Choose a character set that holds them (utf8mb4), or fix those rows first.")
	}
	if d.DataType == "enum" || d.DataType == "set" {
		if cond := removedMembers(s, d, x); cond != "" {
			add("enum", cond, fmt.Sprintf("column %s: values in use are not members of %s", s.Name, d.ColumnType),
				"Keep those members, or change the rows that use them first.")
		}
	}
	return out
}

// removedMembers is the condition for rows whose value the new ENUM/SET
// cannot hold.
func removedMembers(s, d tableinfo.Column, x string) string {
	keep := tableinfo.Members(d.ColumnType)
	if d.DataType == "enum" {
		q := make([]string, len(keep))
		for i, m := range keep {
			q[i] = quoteString(m)
		}
		return fmt.Sprintf("(%s <> '' AND BINARY %s NOT IN (%s))", x, x, strings.Join(q, ", "))
	}
	old := tableinfo.Members(s.ColumnType)
	if s.DataType != "set" {
		return ""
	}
	var conds []string
	for _, m := range old {
		found := false
		for _, k := range keep {
			found = found || k == m
		}
		if !found {
			conds = append(conds, fmt.Sprintf("FIND_IN_SET(%s, %s) > 0", quoteString(m), x))
		}
	}
	if len(conds) == 0 {
		return ""
	}
	return "(" + strings.Join(conds, " OR ") + ")"
}

func integerRange(c tableinfo.Column) (string, string) {
	type r struct{ lo, hi, uhi string }
	ranges := map[string]r{
		"tinyint":   {"-128", "127", "255"},
		"smallint":  {"-32768", "32767", "65535"},
		"mediumint": {"-8388608", "8388607", "16777215"},
		"int":       {"-2147483648", "2147483647", "4294967295"},
		"integer":   {"-2147483648", "2147483647", "4294967295"},
		"bigint":    {"-9223372036854775808", "9223372036854775807", "18446744073709551615"},
		"year":      {"1901", "2155", "2155"},
	}
	x := ranges[c.DataType]
	if c.Unsigned {
		return "0", x.uhi
	}
	return x.lo, x.hi
}

func isIntegerType(t string) bool {
	switch t {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint":
		return true
	}
	return false
}
func isDecimalType(t string) bool { return t == "decimal" || t == "numeric" }
func isFloatType(t string) bool   { return t == "float" || t == "double" || t == "real" }
func isNumericType(t string) bool { return isIntegerType(t) || isDecimalType(t) || isFloatType(t) }
func isTextType(t string) bool {
	switch t {
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext":
		return true
	}
	return false
}
func isBinaryType(t string) bool {
	switch t {
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		return true
	}
	return false
}
func isTemporalType(t string) bool { return t == "datetime" || t == "timestamp" || t == "time" }
