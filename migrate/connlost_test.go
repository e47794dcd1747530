package migrate

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
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

// TestKeep: once the checkpoint table exists, every failure keeps the
// copy and says how to go on, except a refusal and DDL on the table; a
// failure before it drops what the run made.
func TestKeep(t *testing.T) {
	lost := fmt.Errorf("copy chunk 3: %w", mysql.ErrInvalidConn)
	withCheckpoint := []string{"_t_new", "_t_ckpt"}
	const rest = "; the original table is intact and serving; the copy and its checkpoint are kept: rerun the same command to resume, or run `godwit abort --database d --table t` to remove them"
	for _, tc := range []struct {
		name    string
		phase   Phase
		created []string
		err     error
		cause   error // the run's context was cancelled with it
		want    string
		isLost  bool
	}{
		{"lost in the copy", PhaseCopy, withCheckpoint, lost, nil, "lost the server during copy: copy chunk 3: invalid connection" + rest, true},
		{"lost in the cut-over", PhaseCutover, []string{"t_godwit_new", "_t_ckpt"}, lost, nil, "lost the server during cut-over: copy chunk 3: invalid connection" + rest, true},
		{"cut-over retries exhausted", PhaseCutover, withCheckpoint, errors.New("cut-over failed 10 times"), nil, "failed during cut-over: cut-over failed 10 times" + rest, false},
		{"repairs exhausted", PhaseVerify, withCheckpoint, errors.New("chunk 3 differs after 3 repairs"), nil, "failed during verify: chunk 3 differs after 3 repairs" + rest, false},
		{"critical threshold", PhaseCopy, withCheckpoint, fmt.Errorf("stopped: %w", throttle.ErrCritical), nil, "failed during copy: stopped: " + throttle.ErrCritical.Error() + rest, false},
		{"interrupted", PhaseCopy, withCheckpoint, fmt.Errorf("copy chunk 2: %w", context.Canceled), context.Canceled, "interrupted during copy: copy chunk 2: context canceled" + rest, false},
		{"interrupted with a broken connection", PhaseCopy, withCheckpoint, lost, context.Canceled, "interrupted during copy: copy chunk 3: invalid connection" + rest, false},
		{"named lock lost", PhaseCopy, withCheckpoint, fmt.Errorf("copy chunk 2: %w", context.Canceled), errLockLost, "lost the migration's named lock (its connection ended) during copy, so the run stopped at once: copy chunk 2: context canceled" + rest, false},
		{"before the checkpoint", PhaseSetup, []string{"_t_new"}, lost, nil, "", false},
		{"refusal", PhaseCopy, withCheckpoint, refuse("throttle", "Fix it.", "bad probe"), nil, "", false},
		{"DDL on the table", PhaseCopy, withCheckpoint, fmt.Errorf("%w: ALTER TABLE t", copier.ErrTableDDL), nil, "", false},
	} {
		m := &migration{opt: Options{Table: "t"}, phase: tc.phase, created: tc.created}
		m.opt.Conn.Database = "d"
		ctx, cancel := context.WithCancelCause(context.Background())
		if tc.cause != nil {
			cancel(tc.cause)
		}
		got := m.keep(ctx, tc.err)
		cancel(nil)
		switch {
		case tc.want == "" && got != nil:
			t.Errorf("%s: kept the tables: %v", tc.name, got)
		case tc.want != "" && got == nil:
			t.Errorf("%s: would drop the tables", tc.name)
		case tc.want != "" && (got.Error() != tc.want || !errors.Is(got, ErrKept) || !errors.Is(got, tc.err) || errors.Is(got, ErrServerLost) != tc.isLost):
			t.Errorf("%s: error\n%q\nwant\n%q, wrapping ErrKept and the cause (and ErrServerLost: %v)", tc.name, got, tc.want, tc.isLost)
		}
	}
}
