package tableinfo

import "strings"

// Members reads the member list of an enum('a','b') or set(...) column
// type as information_schema prints it: quoted, with ” for a quote.
func Members(columnType string) []string {
	var out []string
	open := strings.IndexByte(columnType, '(')
	if open < 0 {
		return nil
	}
	var cur strings.Builder
	in := false
	for i := open + 1; i < len(columnType); i++ {
		c := columnType[i]
		switch {
		case !in && c == '\'':
			in = true
		case in && c == '\'' && i+1 < len(columnType) && columnType[i+1] == '\'':
			cur.WriteByte('\'')
			i++
		case in && c == '\'':
			in = false
			out = append(out, cur.String())
			cur.Reset()
		case in:
			cur.WriteByte(c)
		}
	}
	return out
}
