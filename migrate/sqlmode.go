package migrate

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// The ALTER is judged under the sql_mode a native ALTER would get, not
// under godwit's own sessions' (mysqlx.SessionSQLMode): with the server's
// NO_ZERO_DATE, a native "MODIFY dt DATETIME DEFAULT '1970-00-00'" fails,
// and godwit must never make a table the application's sessions could
// not have made. Only the statements that define a table run under it:
// the copy keeps godwit's mode, which accepts the values already in the
// table.

// ddlSQLMode is the mode the user named (--sql-mode), or else the
// server's global one, which every new session starts with.
func ddlSQLMode(ctx context.Context, db *sql.DB, named *string) (string, error) {
	if named != nil {
		if err := mysqlx.CheckSQLMode(*named); err != nil {
			return "", refuse("sql-mode", "Pass --sql-mode as the server spells it, e.g. --sql-mode STRICT_TRANS_TABLES,NO_ZERO_DATE, or leave it out for the server's global one.", "%v", err)
		}
		return *named, nil
	}
	return mysqlx.GlobalSQLMode(ctx, db)
}

// refuseAlter is the refusal of an ALTER the server rejected on an empty
// copy of the table (where: the shadow, or the planner's trial); it names
// the sql_mode, often the reason.
func (m *migration) refuseAlter(where string, err error) *Refusal {
	source := "the server's global sql_mode, which a native ALTER gets"
	if m.opt.SQLMode != nil {
		source = "the sql_mode given with --sql-mode"
	}
	return refuse("alter", "Fix the ALTER (or pass --sql-mode with the mode your application's sessions use); nothing was changed on the original table.",
		"the server rejected the ALTER on %s under sql_mode '%s' (%s): %v", where, m.ddlMode, source, err)
}

// trialAlter is the planner's dry run of the ALTER: on an empty TEMPORARY
// copy of the table, which no other session sees and no binlog carries,
// under the mode the ALTER will meet. A temporary table refuses some
// things a real one takes (partitions; FULLTEXT on MySQL), so a failure
// counts only when the same ALTER passes under godwit's own sessions'
// mode: then the mode alone refuses it, and migrate would. It returns
// whether it could tell.
func (m *migration) trialAlter(ctx context.Context) (told bool, err error) {
	conn, err := m.db.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	// The session goes, and its temporary table with it, whatever happens.
	defer func() { _ = conn.Raw(func(any) error { return driver.ErrBadConn }) }()
	trial := mysqlx.QT(m.opt.Conn.Database, "_"+m.opt.Table+"_plan")
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("%sCREATE TEMPORARY TABLE %s LIKE %s", mysqlx.Tag, trial, mysqlx.QT(m.opt.Conn.Database, m.opt.Table))); err != nil {
		return false, nil // no CREATE TEMPORARY TABLES privilege, say: not told
	}
	try := func(mode string) error {
		restore, err := mysqlx.SetSQLMode(ctx, conn, mode)
		if err != nil {
			return err
		}
		defer restore()
		_, err = conn.ExecContext(ctx, fmt.Sprintf("%sALTER TABLE %s %s", mysqlx.Tag, trial, m.change.Clause))
		return err
	}
	modeErr := try(m.ddlMode)
	if modeErr == nil {
		return true, nil
	}
	if mysqlx.ErrCode(modeErr) == 0 {
		return false, modeErr // not the server's answer
	}
	if try(mysqlx.SessionSQLMode) != nil {
		return false, nil
	}
	return true, m.refuseAlter("an empty temporary copy of the table", modeErr)
}
