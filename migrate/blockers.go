package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// A cut-over attempt asks for an exclusive lock on the table. While that
// request waits, every writer of the table queues behind it: a transaction
// that has read the table and stays open turns each attempt into a stall
// of the application. So before each attempt godwit looks for what would
// block it, and waits while it is there, keeping the copy in sync and
// saying who blocks, instead of queueing the writers behind a lock that
// cannot be granted. The wait is bounded (Options.BlockerWait); past it
// the run stops and keeps its copy (keep.go). With KillBlockersAfter, a
// blocker whose transaction is older than that is killed instead.
//
// Who blocks. A session blocks the attempt when it holds a metadata lock on
// the table: it has touched the table in a transaction still open, or runs
// a statement on it. Where the server lists metadata locks, that is the
// rule, exactly:
//
//   - MySQL: performance_schema.metadata_locks, when the schema is on and
//     its mdl instrument enabled (both are by default);
//   - MariaDB: information_schema.METADATA_LOCK_INFO, when the
//     metadata_lock_info plugin is installed (INSTALL SONAME
//     'metadata_lock_info').
//
// Without either, only information_schema.INNODB_TRX is left, and it lists
// every open transaction, whichever tables it touched. Waiting for all of
// them would hold the cut-over hostage to any long transaction on the
// server (a report, a dump of another schema); ignoring them would queue
// the writers behind every attempt. So there an attempt is the probe: its
// lock wait is short (cutoverLockWait), and when it is not granted, the
// transactions already open when it began are the suspects. godwit waits
// until they have all ended (or kills them) before the next attempt. The
// price is one short stall per set of suspects.
//
// godwit's own sessions never count: the one asking, the one holding the
// migration's named lock, and any running a statement godwit tagged.

// cutoverLockWait is how long a cut-over attempt waits for its LOCK TABLES
// to be granted before it gives up: the application's writes queue behind
// the waiting request, so this is about the longest they wait for an
// attempt that cannot get the table. lock_wait_timeout counts whole
// seconds, so the waiting statement's connection is killed instead.
const cutoverLockWait = 500 * time.Millisecond

// blockerPoll is how often a wait for blockers looks again.
const blockerPoll = time.Second

// Blocker is a session that keeps the cut-over's lock from being granted.
type Blocker struct {
	ID         int64   `json:"id"`
	User       string  `json:"user"`
	Host       string  `json:"host"`
	AgeSeconds float64 `json:"age_seconds"` // of its transaction, or of its statement when it has none
	Statement  string  `json:"statement,omitempty"`
	// Evidence is how godwit knows: "metadata lock" (it holds one on the
	// table) or "open transaction" (it was open when an attempt's lock
	// was not granted, and the server lists no metadata locks).
	Evidence string `json:"evidence"`
}

func (b Blocker) String() string {
	s := fmt.Sprintf("connection %d (%s@%s), transaction open %s, %s", b.ID, b.User, b.Host, ageString(b.AgeSeconds), b.Evidence)
	if b.Statement != "" {
		s += ", running: " + truncate(b.Statement, 120)
	} else {
		s += ", idle"
	}
	return s
}

func ageString(secs float64) string {
	return (time.Duration(secs) * time.Second).String()
}

func truncate(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// errBlockersOutlasted ends a cut-over whose blockers stayed longer than
// Options.BlockerWait.
var errBlockersOutlasted = errors.New("the cut-over waited for blocking transactions longer than its limit")

// lockNotGranted is the error of an attempt whose LOCK TABLES was not
// granted within cutoverLockWait; the next wait for blockers takes the
// transactions open since before began as suspects.
type lockNotGranted struct {
	began time.Time
	wait  time.Duration
	err   error
}

func (e *lockNotGranted) Error() string {
	return fmt.Sprintf("lock tables not granted within %s (a transaction holds the table): %v", e.wait, e.err)
}

func (e *lockNotGranted) Unwrap() error { return e.err }

// waitForBlockers returns once nothing is seen that would block the next
// cut-over attempt; last is the previous attempt's error, if any. The time
// it waits, over the whole run, is bounded by Options.BlockerWait.
func (m *migration) waitForBlockers(ctx context.Context, last error) error {
	src, err := m.lockSource(ctx)
	if err != nil {
		return err
	}
	var suspectsSince time.Time // the fallback's evidence: an attempt not granted
	if lng := (*lockNotGranted)(nil); src == "" && errors.As(last, &lng) {
		suspectsSince = lng.began
	} else if src == "" {
		return nil
	}
	defer m.status.setBlockers(nil)
	var began time.Time // of the wait, once there is one
	defer func() {
		if !began.IsZero() {
			m.summary.BlockerWait += time.Since(began)
		}
	}()
	var reported string
	for {
		blockers, err := m.holdingBlockers(ctx, src, suspectsSince)
		if err != nil {
			return err
		}
		if len(blockers) == 0 {
			if !began.IsZero() {
				m.log.Info("the cut-over's blockers are gone; attempting", "waited", time.Since(began).Round(time.Millisecond).String())
				m.emit(Event{Message: "the cut-over's blockers are gone"})
			}
			return nil
		}
		if began.IsZero() {
			began = time.Now()
		}
		m.status.setBlockers(blockers)
		blockers = m.killOldBlockers(ctx, blockers)
		if len(blockers) > 0 {
			waited := m.summary.BlockerWait + time.Since(began)
			if waited >= m.opt.BlockerWait {
				return fmt.Errorf("%w (%s): still blocked by %s; end that transaction, or rerun with --kill-blockers-after, or a longer --cutover-blocker-wait",
					errBlockersOutlasted, m.opt.BlockerWait, describeBlockers(blockers))
			}
			msg := "cut-over waits for " + describeBlockers(blockers)
			if ids := blockerIDs(blockers); ids != reported {
				reported = ids
				args := []any{"waited", waited.Round(time.Second).String(), "limit", m.opt.BlockerWait.String()}
				for _, b := range blockers {
					args = append(args, "blocker", b.String())
				}
				m.log.Warn("the cut-over waits: a transaction holds the table and would queue the application's writes behind the lock", args...)
			}
			m.emit(Event{Message: msg})
		}
		if err := m.catchUp(ctx); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(blockerPoll):
		}
	}
}

func blockerIDs(bs []Blocker) string {
	ids := make([]string, len(bs))
	for i, b := range bs {
		ids[i] = strconv.FormatInt(b.ID, 10)
	}
	return strings.Join(ids, ",")
}

func describeBlockers(bs []Blocker) string {
	parts := make([]string, len(bs))
	for i, b := range bs {
		parts[i] = b.String()
	}
	return strings.Join(parts, "; ")
}

// holdingBlockers finds the blockers. The application's own statements
// hold the table's metadata lock for a moment all the time, and an
// attempt's lock waits them out. So by the metadata locks, a blocker is a
// session that holds the table at two looks cutoverLockWait apart, in a
// transaction (or statement) at least a second old at the first and no
// younger at the second: longer than an attempt would wait for it. (A
// second, because MariaDB counts ages in whole seconds.)
func (m *migration) holdingBlockers(ctx context.Context, src string, suspectsSince time.Time) ([]Blocker, error) {
	first, err := m.findBlockers(ctx, src, suspectsSince)
	if err != nil || len(first) == 0 || src == "" {
		return first, err
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(cutoverLockWait):
	}
	second, err := m.findBlockers(ctx, src, suspectsSince)
	if err != nil {
		return nil, err
	}
	var held []Blocker
	for _, b := range second {
		for _, f := range first {
			if f.ID == b.ID && f.AgeSeconds >= 1 && b.AgeSeconds >= f.AgeSeconds {
				held = append(held, b)
			}
		}
	}
	return held, nil
}

// lockSource says where the server lists metadata locks: "mysql" or
// "mariadb", or "" when it does not.
func (m *migration) lockSource(ctx context.Context) (string, error) {
	if m.server.Flavor == "mysql" {
		var on int
		err := m.db.QueryRowContext(ctx, mysqlx.Tag+"SELECT @@performance_schema AND "+
			"EXISTS (SELECT 1 FROM performance_schema.setup_instruments WHERE NAME = 'wait/lock/metadata/sql/mdl' AND ENABLED = 'YES')").Scan(&on)
		if err != nil {
			// A user without access to performance_schema: godwit can
			// still find suspects, as on a server without the list.
			m.log.Warn("cannot read performance_schema's metadata locks; blockers of the cut-over are found by a failed attempt instead", "err", err)
			return "", nil
		}
		if on == 1 {
			return "mysql", nil
		}
		return "", nil
	}
	var n int
	err := m.db.QueryRowContext(ctx, mysqlx.Tag+"SELECT COUNT(*) FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'METADATA_LOCK_INFO' AND PLUGIN_STATUS = 'ACTIVE'").Scan(&n)
	if err != nil {
		return "", fmt.Errorf("look for blocking transactions: %w", err)
	}
	if n > 0 {
		return "mariadb", nil
	}
	return "", nil
}

// findBlockers lists the sessions that would block an attempt: by their
// metadata locks on the table (src "mysql" or "mariadb"), or else the
// transactions open since before suspectsSince.
func (m *migration) findBlockers(ctx context.Context, src string, suspectsSince time.Time) ([]Blocker, error) {
	schema, table := m.opt.Conn.Database, m.opt.Table
	pl := mysqlx.Processlist(m.server.Flavor)
	// The transaction's age when it has one (an idle session's TIME says
	// how long it has been idle, not how long its locks are held), else
	// the running statement's.
	cols := "p.ID, p.USER, p.HOST, COALESCE(TIMESTAMPDIFF(SECOND, x.trx_started, NOW()), p.TIME), p.INFO"
	if m.server.Flavor == "mysql" {
		// MySQL's INNODB_TRX fails on every read (error 3854) while any
		// transaction runs a statement with a 4-byte UTF-8 character;
		// performance_schema times an active transaction to now instead.
		cols = "p.ID, p.USER, p.HOST, COALESCE(x.TIMER_WAIT / 1e12, p.TIME), p.INFO"
	}
	own := "p.ID <> CONNECTION_ID() AND p.ID <> COALESCE(IS_USED_LOCK(?), 0) AND (p.INFO IS NULL OR p.INFO NOT LIKE '/* godwit */%')"
	var q, evidence string
	args := []any{lockName(schema, table)}
	switch src {
	case "mysql":
		evidence = evidenceLock
		q = "SELECT DISTINCT " + cols + " FROM performance_schema.metadata_locks l " +
			"JOIN performance_schema.threads th ON th.THREAD_ID = l.OWNER_THREAD_ID " +
			"JOIN " + pl + " p ON p.ID = th.PROCESSLIST_ID " +
			"LEFT JOIN performance_schema.events_transactions_current x ON x.THREAD_ID = th.THREAD_ID AND x.STATE = 'ACTIVE' " +
			"WHERE l.OBJECT_TYPE = 'TABLE' AND l.OBJECT_SCHEMA = ? AND l.OBJECT_NAME = ? AND l.LOCK_STATUS = 'GRANTED' AND " + own
		args = []any{schema, table, lockName(schema, table)}
	case "mariadb":
		evidence = evidenceLock
		q = "SELECT DISTINCT " + cols + " FROM information_schema.METADATA_LOCK_INFO l " +
			"JOIN " + pl + " p ON p.ID = l.THREAD_ID " +
			"LEFT JOIN information_schema.INNODB_TRX x ON x.trx_mysql_thread_id = p.ID " +
			"WHERE l.TABLE_SCHEMA = ? AND l.TABLE_NAME = ? AND " + own
		args = []any{schema, table, lockName(schema, table)}
	default:
		evidence = evidenceSuspect
		// A duration, so that the two clocks need not agree. trx_started
		// drops the fraction of its second, which only makes a transaction
		// look older: every one begun before the attempt is a suspect, and
		// so is one begun up to a second after it. The application's short
		// transactions are not: the attempt waited and backed off for more
		// than a second since.
		q = "SELECT " + cols + " FROM information_schema.INNODB_TRX x JOIN " + pl + " p ON p.ID = x.trx_mysql_thread_id " +
			"WHERE TIMESTAMPDIFF(MICROSECOND, x.trx_started, NOW(6)) >= ? AND " + own
		args = []any{time.Since(suspectsSince).Microseconds(), lockName(schema, table)}
	}
	rows, err := m.db.QueryContext(ctx, mysqlx.Tag+q, args...)
	if err != nil {
		return nil, fmt.Errorf("look for blocking transactions: %w", err)
	}
	defer rows.Close()
	var bs []Blocker
	for rows.Next() {
		var b Blocker
		var user, host, info sql.NullString
		var age sql.NullFloat64
		if err := rows.Scan(&b.ID, &user, &host, &age, &info); err != nil {
			return nil, fmt.Errorf("look for blocking transactions: %w", err)
		}
		b.User, b.Host, b.AgeSeconds, b.Statement, b.Evidence = user.String, host.String, age.Float64, info.String, evidence
		bs = append(bs, b)
	}
	return bs, rows.Err()
}

// Blocker.Evidence values.
const (
	evidenceLock    = "metadata lock"
	evidenceSuspect = "open transaction"
)

// killOldBlockers kills, with KillBlockersAfter set, the blockers whose
// transaction is older than that, and returns those left. Only a session
// the server lists as holding the table is killed: a suspect (an open
// transaction where the server lists no metadata locks) may be working on
// any other table, and killing it would hurt an innocent application.
func (m *migration) killOldBlockers(ctx context.Context, bs []Blocker) []Blocker {
	after := m.opt.KillBlockersAfter
	if after <= 0 {
		return bs
	}
	var left []Blocker
	for _, b := range bs {
		if b.AgeSeconds < after.Seconds() {
			left = append(left, b)
			continue
		}
		if b.Evidence != evidenceLock {
			if !m.suspectKillWarned {
				m.suspectKillWarned = true
				m.warn(fmt.Sprintf("--kill-blockers-after kills only sessions the server lists as holding the table; connection %d (%s@%s) is only suspected (an open transaction) and is left alone. On MariaDB, INSTALL SONAME 'metadata_lock_info' lets godwit see who holds the table",
					b.ID, b.User, b.Host))
			}
			left = append(left, b)
			continue
		}
		if _, err := m.db.ExecContext(ctx, mysqlx.Tag+"KILL "+strconv.FormatInt(b.ID, 10)); err != nil && mysqlx.ErrCode(err) != errNoSuchThread {
			m.log.Error("kill a blocker of the cut-over", "id", b.ID, "err", err)
			left = append(left, b)
			continue
		}
		m.warn(fmt.Sprintf("killed connection %d (%s@%s), whose transaction had been open %s and blocked the cut-over (--kill-blockers-after %s)",
			b.ID, b.User, b.Host, ageString(b.AgeSeconds), after))
	}
	return left
}

// errNoSuchThread: the connection to kill has ended meanwhile.
const errNoSuchThread = 1094
