package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/godwit-db/godwit/copier"
	"github.com/godwit-db/godwit/internal/mysqlx"
)

// The cut-over swaps the tables with one atomic RENAME while the
// application's writes to the table are held back for a bounded time.
//
// MariaDB refuses RENAME TABLE under LOCK TABLES in the same session, and a
// two-step rename would let waiting writers see no table at all. So two
// sessions work together (MySQL 8.0.13+ could rename under its own lock,
// but one tested algorithm for both servers is worth more than one
// statement saved):
//
//   A: CREATE TABLE t_godwit_old (the sentry),
//      LOCK TABLES t, t_godwit_new, t_godwit_old WRITE
//   B: RENAME TABLE t TO t_godwit_old, t_godwit_new TO t -- queues behind A
//   A: waits until B is queued, reads the binlog up to the current position
//      and applies the last changes (A holds the locks, so A applies them)
//   A: DROP TABLE t_godwit_old, UNLOCK TABLES -- B's RENAME runs before the
//      queued writers, whose rows then land in the new table.
//   then RENAME TABLE t_godwit_old TO _t_old, outside the critical path.
//
// The names matter. A RENAME takes its metadata locks one table at a time
// in name order and waits at the first one held by A. Only while it waits
// on t itself does its pending exclusive lock keep the queued writers out
// when A unlocks. Measured on MariaDB 10.11: with the shadow and sentry
// named _t_new/_t_old (which sort before t) all 20 queued inserts ran on
// the old table after A unlocked, lost to the new one; with names that
// extend t (and so sort after it) none did. Hence the shadow is renamed
// from _t_new to t_godwit_new when the cut-over begins.
//
// If anything goes wrong, A unlocks WITHOUT dropping the sentry: B's RENAME
// then fails because t_godwit_old exists, and nothing is swapped. Whatever
// happens, the original name always holds a complete table.

// errSwappedAnyway: an attempt failed after its RENAME had gone through.
var errSwappedAnyway = errors.New("the tables were swapped although the cut-over reported an error")

// sentryComment marks the sentry table, so that abort can tell it from
// the original table under the same name after a swap.
const sentryComment = "godwit cut-over sentry"

// cutover tries the swap until it succeeds or the retries run out.
func (m *migration) cutover(ctx context.Context) error {
	if err := m.renameShadowForSwap(ctx); err != nil {
		return err
	}
	var last error
	for attempt := 1; attempt <= m.opt.CutoverRetries; attempt++ {
		if err := m.waitReplicasForCutover(ctx); err != nil {
			return err
		}
		if err := m.waitForBlockers(ctx, last); err != nil {
			return err
		}
		stall, err := m.cutoverOnce(ctx)
		m.summary.CutoverStallMax = max(m.summary.CutoverStallMax, stall)
		if err == nil {
			m.summary.CutoverStall = stall
			m.summary.CutoverAttempts = attempt
			return nil
		}
		last = err
		if ctx.Err() != nil || errors.Is(err, errSwappedAnyway) {
			return err
		}
		m.log.Warn("cut-over attempt failed; the original table is intact, retrying", "attempt", attempt, "err", err)
		m.emit(Event{Phase: PhaseCutover, Message: fmt.Sprintf("attempt %d failed: %v", attempt, err)})
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(min(attempt, 5)) * time.Second):
		}
		// Catch up again so the next attempt holds the lock briefly.
		if err := m.catchUp(ctx); err != nil {
			return err
		}
	}
	return fmt.Errorf("cut-over failed %d times, the original table is intact and serving: %w", m.opt.CutoverRetries, last)
}

// lockBacklog is how many changes may wait when a lock that holds the
// application's writes back is requested (cut-over, checksum snapshot).
const lockBacklog = 100

func lockSeconds(d time.Duration) int { return max(1, int(math.Ceil(d.Seconds()))) }

// cutoverOnce makes one attempt; it returns how long the application's
// writes were held back.
func (m *migration) cutoverOnce(ctx context.Context) (time.Duration, error) {
	schema, table := m.opt.Conn.Database, m.opt.Table
	orig, shadow, sentry := mysqlx.QT(schema, table), mysqlx.QT(schema, swapShadowName(table)), mysqlx.QT(schema, sentryName(table))
	budget := m.opt.CutoverLockTimeout

	a, err := m.db.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("cut-over connection A: %w", err)
	}
	defer a.Close()
	b, err := m.db.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("cut-over connection B: %w", err)
	}
	defer b.Close()

	aID, err := connectionID(ctx, a)
	if err != nil {
		return 0, fmt.Errorf("cut-over connection A: %w", err)
	}
	if _, err := a.ExecContext(ctx, fmt.Sprintf("%sSET SESSION lock_wait_timeout = %d", mysqlx.Tag, lockSeconds(budget))); err != nil {
		return 0, fmt.Errorf("cut-over: %w", err)
	}
	if _, err := a.ExecContext(ctx, fmt.Sprintf("%sCREATE TABLE %s (id INT NOT NULL PRIMARY KEY) ENGINE=InnoDB COMMENT='%s'", mysqlx.Tag, sentry, sentryComment)); err != nil {
		return 0, fmt.Errorf("create cut-over sentry %s: %w", sentryName(table), err)
	}
	sentryDropped := false
	defer func() {
		if !sentryDropped {
			dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := m.db.ExecContext(dctx, mysqlx.Tag+"DROP TABLE IF EXISTS "+sentry); err != nil {
				m.log.Error("could not drop the cut-over sentry; drop it by hand", "table", sentryName(table), "err", err)
			}
		}
	}()

	// Whatever is still pending is applied under the lock, while the
	// application waits: bring it down first.
	if err := m.catchUpTo(ctx, lockBacklog, 5); err != nil {
		return 0, err
	}
	lockStart := time.Now()
	// The writers queue behind a waiting LOCK TABLES: it may wait only
	// briefly (blockers.go), and lock_wait_timeout counts whole seconds.
	lockWait := min(budget, cutoverLockWait)
	wctx, wcancel := context.WithDeadline(ctx, lockStart.Add(lockWait))
	stopWait := m.killAtDeadline(wctx, aID)
	_, err = a.ExecContext(ctx, fmt.Sprintf("%sLOCK TABLES %s WRITE, %s WRITE, %s WRITE", mysqlx.Tag, orig, shadow, sentry))
	killed := stopWait()
	wcancel()
	switch {
	case killed: // even if granted meanwhile: its locks went with A
		return time.Since(lockStart), &lockNotGranted{began: lockStart, wait: lockWait, err: errors.New("its connection was killed so that the writers queued behind it go on")}
	case mysqlx.ErrCode(err) == mysqlx.ErrLockWaitTimeout:
		return time.Since(lockStart), &lockNotGranted{began: lockStart, wait: lockWait, err: err}
	case err != nil:
		return time.Since(lockStart), fmt.Errorf("lock tables: %w", err)
	}
	locked := time.Now()
	unlocked := false
	unlock := func() {
		if !unlocked {
			unlocked = true
			if _, err := a.ExecContext(context.Background(), mysqlx.Tag+"UNLOCK TABLES"); err != nil {
				m.log.Error("unlock tables", "err", err)
			}
		}
	}
	defer unlock()

	bID, err := connectionID(ctx, b)
	if err != nil {
		return time.Since(lockStart), fmt.Errorf("cut-over connection B: %w", err)
	}
	// B waits behind A for at most the budget plus the time A needs to
	// finish; it must never outlive A's lock by long.
	if _, err := b.ExecContext(ctx, fmt.Sprintf("%sSET SESSION lock_wait_timeout = %d", mysqlx.Tag, 2*lockSeconds(budget)+5)); err != nil {
		return time.Since(lockStart), fmt.Errorf("cut-over connection B: %w", err)
	}
	renamed := make(chan error, 1)
	go func() {
		_, err := b.ExecContext(context.Background(), fmt.Sprintf("%sRENAME TABLE %s TO %s, %s TO %s", mysqlx.Tag, orig, sentry, shadow, orig))
		renamed <- err
	}()

	// The budget counts from when the application began to queue behind
	// the LOCK TABLES, not from when it was granted: a lock granted late in
	// its wait leaves little time, and the attempt gives up rather than
	// hold the writers back for the wait and a whole budget more. Past the
	// budget A is killed, its locks go with it, and the sentry it has not
	// dropped yet makes B's RENAME fail: nothing is swapped.
	actx, cancel := context.WithDeadline(ctx, lockStart.Add(budget))
	defer cancel()
	stop := m.killAtDeadline(actx, aID)
	fail := func(err error) (time.Duration, error) {
		stop()
		unlock() // the sentry still exists, so B's RENAME fails: nothing swapped
		if rerr := <-renamed; rerr == nil {
			// A's DROP of the sentry reached the server although A saw an
			// error (its connection was lost, or the run was cancelled), and
			// B's RENAME went through: the original table now has the
			// sentry's name, and the deferred drop must not touch it.
			sentryDropped = true
			return time.Since(lockStart), fmt.Errorf("%w: %s is the original table and %s the new one; run godwit abort, which gives the original its final name (the cut-over reported: %v)",
				errSwappedAnyway, sentryName(table), table, err)
		}
		return time.Since(lockStart), err
	}

	if err := waitRenameQueued(actx, a, m.server.Flavor, bID, renamed); err != nil {
		return fail(fmt.Errorf("wait for the rename to queue: %w", err))
	}
	queued := time.Now()
	point, err := copier.MasterStatus(actx, a)
	if err != nil {
		return fail(err)
	}
	pos := point.Position
	if err := m.stream.WaitFor(actx, pos); err != nil {
		return fail(fmt.Errorf("drain the binlog under lock: %w", err))
	}
	drained := time.Now()
	n, err := m.copier.FlushOn(actx, a)
	if err != nil {
		return fail(fmt.Errorf("apply the last changes under lock: %w", err))
	}
	m.summary.CutoverApplied = n
	if err := m.noteSwapPoint(actx, point); err != nil {
		return fail(err)
	}
	applied := time.Now()
	if stop() {
		return fail(fmt.Errorf("the lock outlived its budget of %s; connection A was killed", budget))
	}

	if _, err := a.ExecContext(ctx, mysqlx.Tag+"DROP TABLE "+sentry); err != nil {
		return fail(fmt.Errorf("drop cut-over sentry: %w", err))
	}
	sentryDropped = true
	dropped := time.Now()
	unlock()
	if err := <-renamed; err != nil {
		// The sentry is gone and the rename failed: still nothing swapped.
		return time.Since(lockStart), fmt.Errorf("rename: %w", err)
	}
	m.log.Info("tables swapped", "held", time.Since(locked).Round(time.Millisecond).String(),
		"rename_queued_after", queued.Sub(locked).Round(time.Millisecond).String(),
		"binlog_drained_after", drained.Sub(locked).Round(time.Millisecond).String(),
		"applied_after", applied.Sub(locked).Round(time.Millisecond).String(),
		"sentry_dropped_after", dropped.Sub(locked).Round(time.Millisecond).String(), "applied_under_lock", n)
	return time.Since(lockStart), nil
}

// waitRenameQueued waits until session B's RENAME is waiting for A's lock,
// so that it runs before the application's queued writes once A unlocks.
func waitRenameQueued(ctx context.Context, a *sql.Conn, flavor string, bID int64, renamed chan error) error {
	for {
		var state, info sql.NullString
		err := a.QueryRowContext(ctx, mysqlx.Tag+"SELECT STATE, INFO FROM "+mysqlx.Processlist(flavor)+" WHERE ID = ?", bID).Scan(&state, &info)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if strings.Contains(strings.ToLower(state.String), "metadata lock") && strings.Contains(info.String, "RENAME TABLE") {
			return nil
		}
		select {
		case err := <-renamed:
			renamed <- err
			return fmt.Errorf("rename ended early: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// renameShadowForSwap gives the shadow a name that sorts after the table's
// (see above); the copier then applies changes under the new name.
func (m *migration) renameShadowForSwap(ctx context.Context) error {
	schema, table := m.opt.Conn.Database, m.opt.Table
	q := fmt.Sprintf("%sRENAME TABLE %s TO %s", mysqlx.Tag, mysqlx.QT(schema, shadowName(table)), mysqlx.QT(schema, swapShadowName(table)))
	if _, err := m.db.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("prepare cut-over: %w", err)
	}
	for i, name := range m.created {
		if name == shadowName(table) {
			m.created[i] = swapShadowName(table)
		}
	}
	m.copier.Plan.Shadow = swapShadowName(table)
	return nil
}

// renameOld gives the old table its documented name once the swap is done.
func (m *migration) renameOld(ctx context.Context) {
	schema, table := m.opt.Conn.Database, m.opt.Table
	q := fmt.Sprintf("%sRENAME TABLE %s TO %s", mysqlx.Tag, mysqlx.QT(schema, sentryName(table)), mysqlx.QT(schema, oldName(table)))
	if _, err := m.db.ExecContext(ctx, q); err != nil {
		m.warn(fmt.Sprintf("swapped; the old table keeps its cut-over name %s (godwit abort, or a rerun of the same command, gives it its final name %s): %v", sentryName(table), oldName(table), err))
		m.summary.OldTable = sentryName(table)
		return
	}
	m.summary.OldTable = oldName(table)
}
