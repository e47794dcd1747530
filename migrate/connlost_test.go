package migrate

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-sql-driver/mysql"

	"github.com/godwit-db/godwit/copier"
	"github.com/godwit-db/godwit/throttle"
)

// withStack stands for go-mysql's errors.Trace (pingcap/errors), which
// wraps with a stack and unwraps to the cause.
type withStack struct{ error }

func (w withStack) Unwrap() error { return w.error }

func traced(err error) error { return withStack{err} }

func TestServerLost(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	reset := &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	for _, tc := range []struct {
		name string
		err  error
		lost bool
	}{
		// What a restart looks like from each of godwit's connections.
		{"invalid connection mid-statement", fmt.Errorf("copy chunk 7: %w", mysql.ErrInvalidConn), true},
		{"bad connection before sending", fmt.Errorf("save checkpoint: %w", driver.ErrBadConn), true},
		{"server shutting down", fmt.Errorf("catch up: %w", &mysql.MySQLError{Number: 1053, Message: "Server shutdown in progress"}), true},
		{"connection killed", &mysql.MySQLError{Number: 1927, Message: "Connection was killed"}, true},
		{"server gone (client code)", &mysql.MySQLError{Number: 2006}, true},
		{"server lost (client code)", &mysql.MySQLError{Number: 2013}, true},
		{"connection refused while down", fmt.Errorf("SHOW MASTER STATUS: %w", refused), true},
		{"connection reset", reset, true},
		{"broken pipe", fmt.Errorf("write: %w", syscall.EPIPE), true},
		{"unexpected EOF", io.ErrUnexpectedEOF, true},
		{"binlog stream EOF", fmt.Errorf("read binlog after mariadb-bin.000001:4: %w", traced(io.EOF)), true},
		{"binlog stream reconnect refused", fmt.Errorf("read binlog after mariadb-bin.000001:4: %w", traced(refused)), true},
		{"binlog stream bad connection", fmt.Errorf("read binlog: %w", traced(gomysql.ErrBadConn)), true},
		{"binlog stream server shutdown", fmt.Errorf("read binlog: %w", &gomysql.MyError{Code: 1053, Message: "Server shutdown in progress"}), true},

		// The server answered: it refused, or the data is wrong. These end
		// the run as before, dropping what it created.
		{"nil", nil, false},
		{"access denied", &mysql.MySQLError{Number: 1045}, false},
		{"lock wait timeout", fmt.Errorf("lock tables: %w", &mysql.MySQLError{Number: 1205}), false},
		{"no such table", &mysql.MySQLError{Number: 1146}, false},
		{"binlog purged", fmt.Errorf("read binlog: %w", &gomysql.MyError{Code: 1236, Message: "Could not find first log file name in binary log index file"}), false},
		{"checksum mismatch", errors.New("chunk 3 differs; still different after 3 repairs: refusing to swap, the original table is intact and serving"), false},
		{"refusal", refuse("alter", "Fix the ALTER.", "the server rejected the ALTER on the shadow table: %v", mysql.ErrInvalidConn), false},
		{"refusal wrapping a lost connection", fmt.Errorf("preflight: %w", errors.Join(refuse("binlog", "", "binlog off"), io.EOF)), false},
		{"DDL on the table", fmt.Errorf("%w: ALTER TABLE t ...", copier.ErrTableDDL), false},
		{"critical threshold", fmt.Errorf("stopped by a critical threshold: %w", throttle.ErrCritical), false},
		{"cancelled", fmt.Errorf("copy chunk 2: %w", context.Canceled), false},
		{"cancelled with a broken connection", errors.Join(context.Canceled, mysql.ErrInvalidConn), false},
		{"timeout", fmt.Errorf("catch up with the binlog: %w", context.DeadlineExceeded), false},
		{"plain error", errors.New("catch up: the write rate outpaces applying changes (5000 pending)"), false},
	} {
		if got := serverLost(tc.err); got != tc.lost {
			t.Errorf("%s: serverLost(%v) = %v, want %v", tc.name, tc.err, got, tc.lost)
		}
	}
}

func TestKeptAfterLostServer(t *testing.T) {
	lost := fmt.Errorf("copy chunk 3: %w", mysql.ErrInvalidConn)
	withCheckpoint := []string{"_t_new", "_t_ckpt"}
	for _, tc := range []struct {
		name    string
		phase   Phase
		created []string
		err     error
		cancel  bool
		want    string // "" when the tables must be dropped
	}{
		{"copy", PhaseCopy, withCheckpoint, lost, false, "lost the server during copy; the checkpoint is kept: rerun the same command to resume (or `godwit abort --database d --table t` to clean up)"},
		{"verify", PhaseVerify, withCheckpoint, lost, false, "lost the server during verify; the checkpoint is kept"},
		{"cut-over", PhaseCutover, []string{"t_godwit_new", "_t_ckpt"}, lost, false, "lost the server during cut-over; a cut-over cannot be resumed: run `godwit abort --database d --table t`"},
		{"before the checkpoint", PhaseSetup, []string{"_t_new"}, lost, false, ""},
		{"not lost", PhaseCopy, withCheckpoint, errors.New("chunk 3 differs"), false, ""},
		{"cancelled by the user", PhaseCopy, withCheckpoint, lost, true, ""},
	} {
		m := &migration{opt: Options{Table: "t"}, phase: tc.phase, created: tc.created}
		m.opt.Conn.Database = "d"
		ctx, cancel := context.WithCancel(context.Background())
		if tc.cancel {
			cancel()
		}
		got := m.keptAfterLostServer(ctx, tc.err)
		cancel()
		switch {
		case tc.want == "" && got != nil:
			t.Errorf("%s: kept the tables: %v", tc.name, got)
		case tc.want != "" && got == nil:
			t.Errorf("%s: would drop the tables", tc.name)
		case tc.want != "" && (!strings.HasPrefix(got.Error(), tc.want) || !errors.Is(got, ErrServerLost) || !errors.Is(got, mysql.ErrInvalidConn)):
			t.Errorf("%s: error %q, want it to start with %q and wrap ErrServerLost and the cause", tc.name, got, tc.want)
		}
	}
}
