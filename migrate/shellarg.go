package migrate

import (
	"fmt"
	"strings"
)

// shellArg writes a database or table name as one shell word, so that a
// command godwit suggests (godwit abort --table ...) can be pasted as is
// whatever the name holds: a quote, a space, a backtick.
func shellArg(s string) string {
	plain := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_-.,:/@%+=", r)) {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// tableFlags is the --database and --table flags naming a migration.
func tableFlags(schema, table string) string {
	return fmt.Sprintf("--database %s --table %s", shellArg(schema), shellArg(table))
}
