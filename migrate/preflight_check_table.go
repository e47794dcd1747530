package migrate

import (
	"context"
	"fmt"
	"strings"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// checkTableIntegrity runs CHECK TABLE on the source (--check-table) and
// refuses when the server reports anything but OK: copying a corrupt table
// would carry the damage into the new one, or fail half way.
func (m *migration) checkTableIntegrity(ctx context.Context) error {
	if !m.opt.CheckTable {
		return nil
	}
	rows, err := m.db.QueryContext(ctx, mysqlx.Tag+"CHECK TABLE "+mysqlx.QT(m.opt.Conn.Database, m.opt.Table))
	if err != nil {
		return fmt.Errorf("check table: %w", err)
	}
	defer rows.Close()
	var messages [][2]string
	for rows.Next() {
		var table, op, msgType, msg string
		if err := rows.Scan(&table, &op, &msgType, &msg); err != nil {
			return fmt.Errorf("check table: %w", err)
		}
		messages = append(messages, [2]string{msgType, msg})
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("check table: %w", err)
	}
	if problems := checkTableProblems(messages); len(problems) > 0 {
		return refuse("check-table", "Repair the table first (see the server's error log; for InnoDB, rebuild it or restore it from a backup), then rerun.",
			"CHECK TABLE reports the table damaged: %s", strings.Join(problems, "; "))
	}
	return nil
}

// checkTableProblems reads CHECK TABLE's (Msg_type, Msg_text) rows: the
// table is sound only with a final "status OK" and no error or warning.
func checkTableProblems(messages [][2]string) []string {
	var problems []string
	ok := false
	for _, m := range messages {
		switch typ, msg := strings.ToLower(m[0]), m[1]; {
		case typ == "status" && strings.EqualFold(msg, "OK"):
			ok = true
		case typ == "note" || typ == "info":
		default:
			problems = append(problems, m[0]+": "+msg)
		}
	}
	if !ok && len(problems) == 0 {
		problems = append(problems, "no OK status")
	}
	return problems
}
