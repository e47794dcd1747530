package migrate

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"slices"
	"syscall"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-sql-driver/mysql"

	"github.com/godwit-db/godwit/copier"
	"github.com/godwit-db/godwit/throttle"
)

// When the server goes away under a run (a restart, a crash, a killed
// connection), nothing is wrong with the copy made so far: the shadow and
// the checkpoint say where to pick it up, as after a kill -9. Dropping
// them, as any other failure does, would throw that work away, and against
// a server that is down the drop fails anyway. So a run that lost the
// server keeps its tables and says how to go on; every other failure still
// drops what the run created.

// ErrServerLost is wrapped by Run's error when the run stopped because the
// server went away, and kept its tables for a rerun (or godwit abort).
var ErrServerLost = errors.New("lost the server")

// Server errors that mean the session is gone, not that a statement was
// refused. 2006 and 2013 are client codes; go-sql-driver reports these
// cases as ErrInvalidConn, but other clients (go-mysql) may use them.
var lostServerCodes = []uint16{
	1053, // ER_SERVER_SHUTDOWN
	1927, // ER_CONNECTION_KILLED
	2006, // CR_SERVER_GONE_ERROR
	2013, // CR_SERVER_LOST
}

// lostServerErrs are the transport failures of a server that stopped or
// restarted: the connection ended mid-answer, was reset, or a new one was
// refused while the server was down.
var lostServerErrs = []error{
	driver.ErrBadConn,
	mysql.ErrInvalidConn,
	gomysql.ErrBadConn, // the binlog stream's client
	io.EOF,
	io.ErrUnexpectedEOF,
	syscall.ECONNREFUSED,
	syscall.ECONNRESET,
	syscall.ECONNABORTED,
	syscall.EPIPE,
}

// serverLost says whether err means the connection to the server, or the
// server itself, went away. A refusal, a DDL on the table, a critical
// throttle threshold or a cancelled context is never a lost server, even
// when a lost connection is also somewhere in the chain: those must end
// the run the way they always have.
func serverLost(err error) bool {
	if err == nil || IsRefusal(err) || errors.Is(err, copier.ErrTableDDL) || errors.Is(err, throttle.ErrCritical) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) && slices.Contains(lostServerCodes, me.Number) {
		return true
	}
	var ge *gomysql.MyError
	if errors.As(err, &ge) && slices.Contains(lostServerCodes, ge.Code) {
		return true
	}
	for _, target := range lostServerErrs {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// keptAfterLostServer decides, for a run that failed with err, whether it
// keeps its tables: only when it lost the server after its checkpoint table
// was created (the copy path), and not because the user cancelled it. It
// returns the error to report then, or nil when the tables must be dropped.
func (m *migration) keptAfterLostServer(ctx context.Context, err error) error {
	if ctx.Err() != nil || !serverLost(err) || !slices.Contains(m.created, checkpointName(m.opt.Table)) {
		return nil
	}
	abort := fmt.Sprintf("godwit abort --database %s --table %s", m.opt.Conn.Database, m.opt.Table)
	if m.phase == PhaseCutover {
		// A rerun refuses to resume a cut-over (detectResume); abort knows
		// whether the swap happened and which table holds the original rows.
		return fmt.Errorf("%w during %s; a cut-over cannot be resumed: run `%s` to clean up (it keeps the table holding the original rows, whatever its name), then rerun the same command if the table does not have the change yet: %w",
			ErrServerLost, m.phase, abort, err)
	}
	return fmt.Errorf("%w during %s; the checkpoint is kept: rerun the same command to resume (or `%s` to clean up); the original table is intact: %w",
		ErrServerLost, m.phase, abort, err)
}
