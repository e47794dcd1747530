package migrate

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"slices"
	"syscall"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-sql-driver/mysql"

	"github.com/godwit-db/godwit/copier"
	"github.com/godwit-db/godwit/throttle"
)

// When the server goes away under a run (a restart, a crash, a killed
// connection), nothing is wrong with the copy made so far; the run keeps
// it like any other failure (keep.go), but says that the server was lost,
// and does not try to write a last checkpoint to a server that is gone.

// ErrServerLost is wrapped by Run's error when the run stopped because the
// server went away.
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
