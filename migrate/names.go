package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// foldNames returns the database and table names as the server stores and
// logs them. With lower_case_table_names=1 the server folds every name to
// lower case: --table Orders is the table orders, and the binlog names it
// orders, so the stream's filter, the helper tables' names and the
// migration's lock must all use the folded name, or the changes made
// during the copy would go unseen. (With 2, names are stored as created
// and only compared folded: not handled, as on the servers godwit runs on
// it is only macOS's default.)
func foldNames(ctx context.Context, db *sql.DB, schema, table string) (string, string, error) {
	var lctn int
	if err := db.QueryRowContext(ctx, mysqlx.Tag+"SELECT @@lower_case_table_names").Scan(&lctn); err != nil {
		return "", "", fmt.Errorf("read lower_case_table_names: %w", err)
	}
	if lctn != 1 {
		return schema, table, nil
	}
	return strings.ToLower(schema), strings.ToLower(table), nil
}
