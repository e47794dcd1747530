package copier

import "regexp"

// storedProgram matches the head of a statement that creates, alters or
// drops an event, a stored procedure or function (a UDF too) or a MariaDB
// package: what the statement is, read from its first words only, up to
// the object's keyword. The TiDB parser reads none of these (but CREATE
// and DROP PROCEDURE), and they never change a table's definition, even
// when the program has the table's name (a common habit for archiving
// events) or its body names the table: the body's statements reach the
// binlog on their own when they run. Anything else, a trigger included,
// does not match.
var storedProgram = regexp.MustCompile(`(?is)^` +
	`(?:\s+|/\*[^!].*?\*/|#[^\n]*\n|--\s[^\n]*\n)*` + // comments, such as godwit's tag; not /*! ... */
	`(?:CREATE(?:\s+OR\s+REPLACE)?|ALTER|DROP)\s+` +
	`(?:DEFINER\s*=\s*` + account + `\s+)?` +
	`(?:AGGREGATE\s+)?` +
	`(?:EVENT|PROCEDURE|FUNCTION|PACKAGE(?:\s+BODY)?)` +
	"(?:\\s|`|$)")

// account is a DEFINER's value as the servers log it (`u`@`h`) or as a
// user may write it (u@h, 'u'@'%', CURRENT_USER, CURRENT_USER()).
const account = `(?:CURRENT_USER(?:\s*\(\s*\))?|` + accountPart + `(?:\s*@\s*` + accountPart + `)?)`

const accountPart = "(?:`(?:[^`]|``)*`|'(?:[^'\\\\]|\\\\.|'')*'|\"(?:[^\"\\\\]|\\\\.|\"\")*\"|[A-Za-z0-9_$.%:-]+)"

// isStoredProgram says whether query creates, alters or drops a stored
// program (see storedProgram).
func isStoredProgram(query string) bool {
	return storedProgram.MatchString(query)
}
