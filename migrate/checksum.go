package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/godwit-db/godwit/copier"
	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/tableinfo"
)

// maxRepairs is how often a differing chunk is recopied and checked again
// before godwit refuses to swap.
const maxRepairs = 3

// checksumExprs renders a column the same way on both sides. An unchanged
// column is compared as stored; a changed type is cast to the new type's
// family so that a faithful conversion (INT to BIGINT, DECIMAL(10,2) to
// DECIMAL(12,4), latin1 to utf8mb4) compares equal. Text that keeps its
// character set (CHAR to VARCHAR, a new length or collation) has the same
// bytes on both sides and is compared as stored: converting it costs more
// than the rest of the checksum.
func checksumExprs(src, dst tableinfo.Column) (string, string) {
	s, d := mysqlx.Q(src.Name), mysqlx.Q(dst.Name)
	if src.ColumnType == dst.ColumnType && src.Charset == dst.Charset && src.Collation == dst.Collation {
		return s, d
	}
	if src.Charset != "" && src.Charset == dst.Charset && isText(src.DataType) && isText(dst.DataType) {
		return s, d
	}
	var f string
	switch dst.DataType {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint", "year":
		f = "CAST(%s AS SIGNED)"
		if dst.Unsigned {
			f = "CAST(%s AS UNSIGNED)"
		}
	case "decimal", "numeric":
		f = fmt.Sprintf("CAST(%%s AS DECIMAL(%d,%d))", dst.Precision, dst.Scale)
	case "float", "double", "real":
		f = "CAST(%s AS DOUBLE)"
	case "date":
		f = "CAST(%s AS DATE)"
	case "datetime", "timestamp":
		f = "CAST(%s AS DATETIME(" + fsp(dst.ColumnType) + "))"
	case "time":
		f = "CAST(%s AS TIME(" + fsp(dst.ColumnType) + "))"
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "bit":
		f = "CAST(%s AS BINARY)"
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set", "json":
		f = "CONVERT(%s USING utf8mb4)"
	default:
		f = "CONVERT(CAST(%s AS CHAR) USING utf8mb4)"
	}
	return fmt.Sprintf(f, s), fmt.Sprintf(f, d)
}

var fspRE = regexp.MustCompile(`\((\d)\)`)

func fsp(columnType string) string {
	if m := fspRE.FindStringSubmatch(columnType); m != nil {
		return m[1]
	}
	return "0"
}

// touchedLimit is how many changed keys the checksum before the swap
// compares one by one. Past it the keys are dropped, so memory stays
// bounded (about 100 bytes a key), and the whole table is compared.
const touchedLimit = 200_000

// verify proves the shadow equal to the source before the swap. It takes a
// consistent snapshot at an instant when both are equal: session A holds
// the source read-locked (writers wait, readers do not) while the last
// changes are applied, session B opens its snapshot, A unlocks. B then
// compares while the application goes on writing.
//
// What B compares: when the Verifier checked every chunk during the copy,
// only the rows of every key the binlog carried since the copy began or
// the Verifier found different, and the row counts (copier.ChecksumRest);
// when the counts differ, or without the Verifier, the whole table. What
// differs is recopied and the check runs again, at most maxRepairs times;
// then godwit refuses to swap.
func (m *migration) verify(ctx context.Context) error {
	ahead, incremental := m.verifiedDuringCopy(ctx)
	for repairs := 0; ; {
		var keys [][]any
		if incremental {
			keys, incremental = m.changes.Touched()
			if !incremental {
				m.log.Info("more keys changed than the checksum compares one by one; comparing the whole table", "limit", touchedLimit)
			}
		}
		start := time.Now()
		res, err := m.checksumOnce(ctx, func(snap [2]copier.Querier, report func(copier.ChecksumResult)) (copier.ChecksumResult, error) {
			if incremental {
				return m.copier.Plan.ChecksumRest(ctx, snap, keys, ahead.Splits, m.checksumStep, report)
			}
			return m.copier.Plan.Checksum(ctx, snap, m.db, m.checksumStep, report)
		})
		if err != nil {
			return err
		}
		m.summary.ChecksumChunks, m.summary.ChecksumRows, m.summary.ChecksumRechecked = res.Chunks, res.Rows, 0
		if incremental {
			m.summary.ChecksumChunks, m.summary.ChecksumRows, m.summary.ChecksumRechecked = ahead.Chunks+res.Chunks, ahead.Rows, res.Rows
			if res.Counts[0] != res.Counts[1] && len(res.Mismatched)+len(res.MismatchedKeys) == 0 {
				msg := fmt.Sprintf("checksum: the source has %d rows and the shadow %d, though every changed row compares equal; comparing the whole table", res.Counts[0], res.Counts[1])
				m.log.Warn(msg)
				m.emit(Event{Phase: PhaseVerify, Message: msg})
				incremental = false
				continue
			}
		}
		if len(res.Mismatched)+len(res.MismatchedKeys) == 0 {
			m.log.Info("checksum: the tables are equal", "incremental", incremental, "chunks", m.summary.ChecksumChunks, "rows", m.summary.ChecksumRows,
				"chunks_differing_during_copy", ahead.Differed, "keys_compared_again", res.Keys, "rows_compared_again", m.summary.ChecksumRechecked,
				"keys_took", res.KeysTook.Round(time.Millisecond).String(), "count_took", res.CountTook.Round(time.Millisecond).String(), "took", time.Since(start).Round(time.Millisecond).String())
			return nil
		}
		m.summary.ChecksumRepairs += len(res.Mismatched) + len(res.MismatchedKeys)
		var what []string
		if len(res.Mismatched) > 0 {
			what = append(what, fmt.Sprintf("%d of %d chunks differ", len(res.Mismatched), res.Chunks))
		}
		if len(res.MismatchedKeys) > 0 {
			what = append(what, fmt.Sprintf("rows among %d of %d changed keys differ", len(res.MismatchedKeys), res.Keys))
		}
		msg := fmt.Sprintf("checksum: %s (first: %s)", strings.Join(what, ", and "), strings.Join(res.Examples, "; "))
		if repairs >= maxRepairs {
			return fmt.Errorf("%s; still different after %d repairs: refusing to swap, the original table is intact and serving", msg, maxRepairs)
		}
		repairs++
		m.log.Warn(msg + "; recopying them")
		m.emit(Event{Phase: PhaseVerify, Message: msg + "; recopying"})
		for _, c := range res.Mismatched {
			if err := m.copier.Plan.Recopy(ctx, m.db, c); err != nil {
				return err
			}
		}
		if err := m.copier.Plan.Reapply(ctx, m.db, res.MismatchedKeys); err != nil {
			return fmt.Errorf("checksum: reapply differing keys: %w", err)
		}
		if err := m.catchUp(ctx); err != nil {
			return err
		}
	}
}

// checksumStep runs each step of the checksum before the swap: it waits
// like the copy, then applies the changes coming in every applyEvery while
// the step reads. The checksum reads snapshots, so the shadow may move
// under it; not applying would leave the shadow behind by the whole
// checksum, and applying only between steps by a step (a fraction of a
// second each, more under a long snapshot's purge backlog).
func (m *migration) checksumStep(ctx context.Context, step func(context.Context) error) error {
	if err := m.copyWait(ctx); err != nil {
		return err
	}
	if err := m.applyBacklog(ctx); err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- step(sctx) }()
	work, err := m.applyWhile(ctx, done, func() error { cancel(); return <-done }, true)
	if err != nil {
		return err
	}
	return work
}

// backlogKeys is how many changes may wait when a checksum step starts.
// Where the disk serves only so many reads, the steps' reads and the
// applies share them, and the applies are what cannot wait: with every
// step started regardless, under a cap of 4,000 reads/s (4M rows, 1,000
// writes/s) the backlog grew to 14,000 keys, 13 s behind, and kept growing.
const backlogKeys = 250

// applyBacklog applies changes until fewer than backlogKeys wait, for at
// most a few rounds: when the writes outpace applying even so, the step
// runs anyway, and the catch-up before the swap reports it.
func (m *migration) applyBacklog(ctx context.Context) error {
	for range 10 {
		if m.changes.Len() < backlogKeys {
			return nil
		}
		if _, err := m.copier.Flush(ctx); err != nil {
			return err
		}
	}
	return nil
}

// verifiedDuringCopy waits for the Verifier's last chunks; it reports
// false when the final checksum must compare the whole table.
func (m *migration) verifiedDuringCopy(ctx context.Context) (copier.Verified, bool) {
	if m.verifier == nil {
		return copier.Verified{}, false
	}
	start := time.Now()
	v, err := m.verifier.Finish(ctx)
	m.log.Info("the checks during the copy are done", "waited", time.Since(start).Round(time.Millisecond).String(), "chunks", v.Chunks, "differed", v.Differed, "keys", v.Suspects)
	switch {
	case err != nil:
		m.log.Warn("the checks during the copy stopped; comparing the whole table", "err", err)
		return v, false
	case !v.Complete:
		m.log.Info("the copy was resumed: comparing the whole table")
		return v, false
	}
	return v, true
}

func (m *migration) checksumOnce(ctx context.Context, compare func(snap [2]copier.Querier, report func(copier.ChecksumResult)) (copier.ChecksumResult, error)) (copier.ChecksumResult, error) {
	snap, err := m.snapshotInSync(ctx)
	if err != nil {
		return copier.ChecksumResult{}, err
	}
	defer func() {
		for _, c := range snap {
			c.ExecContext(context.Background(), mysqlx.Tag+"ROLLBACK")
			c.Close()
		}
	}()
	return compare([2]copier.Querier{snap[0], snap[1]}, func(r copier.ChecksumResult) {
		m.emit(Event{Phase: PhaseVerify, Checksum: r})
	})
}

// snapshotInSync returns two connections, one to read each table, inside
// consistent-snapshot transactions opened while the shadow equalled the
// source. The read lock is taken with the cut-over
// budget and retried like the cut-over.
func (m *migration) snapshotInSync(ctx context.Context) ([2]*sql.Conn, error) {
	var last error
	for attempt := 1; attempt <= m.opt.CutoverRetries; attempt++ {
		tx, err := m.trySnapshot(ctx)
		if err == nil {
			return tx, nil
		}
		last = err
		m.log.Warn("checksum snapshot failed, retrying", "attempt", attempt, "err", err)
		m.emit(Event{Phase: PhaseVerify, Message: fmt.Sprintf("snapshot attempt %d failed: %v", attempt, err)})
		select {
		case <-ctx.Done():
			return [2]*sql.Conn{}, ctx.Err()
		case <-time.After(time.Duration(min(attempt, 5)) * time.Second):
		}
		// What piled up meanwhile is applied now, not under the next
		// attempt's lock.
		if err := m.catchUp(ctx); err != nil {
			return [2]*sql.Conn{}, err
		}
	}
	return [2]*sql.Conn{}, fmt.Errorf("checksum: could not take a consistent snapshot: %w", last)
}

func (m *migration) trySnapshot(ctx context.Context) (snap [2]*sql.Conn, err error) {
	schema, table := m.opt.Conn.Database, m.opt.Table
	a, err := m.db.Conn(ctx)
	if err != nil {
		return snap, err
	}
	defer a.Close()
	aID, err := connectionID(ctx, a)
	if err != nil {
		return snap, err
	}
	if _, err := a.ExecContext(ctx, fmt.Sprintf("%sSET SESSION lock_wait_timeout = %d", mysqlx.Tag, lockSeconds(m.opt.CutoverLockTimeout))); err != nil {
		return snap, err
	}
	if err := m.catchUpTo(ctx, lockBacklog, 5); err != nil {
		return snap, err
	}
	// Writers queue behind the lock from its request on: the budget counts
	// from there, as the cut-over's does.
	lockStart := time.Now()
	if _, err := a.ExecContext(ctx, fmt.Sprintf("%sLOCK TABLES %s READ, %s WRITE", mysqlx.Tag,
		mysqlx.QT(schema, table), mysqlx.QT(schema, m.copier.Plan.Shadow))); err != nil {
		return snap, fmt.Errorf("lock for the checksum snapshot: %w", err)
	}
	defer a.ExecContext(context.Background(), mysqlx.Tag+"UNLOCK TABLES")
	actx, cancel := context.WithDeadline(ctx, lockStart.Add(m.opt.CutoverLockTimeout))
	defer cancel()
	stop := m.killAtDeadline(actx, aID)
	defer stop()
	pos, err := copier.MasterPosition(actx, a)
	if err != nil {
		return snap, err
	}
	if err := m.stream.WaitFor(actx, pos); err != nil {
		return snap, fmt.Errorf("drain the binlog for the checksum snapshot: %w", err)
	}
	if _, err := m.copier.FlushOn(actx, a); err != nil {
		return snap, err
	}
	// Creating a read view reads no table, so it needs no lock of A's.
	// Both views see the same instant: nothing commits on the two tables
	// while A holds them.
	defer func() {
		if err != nil {
			for _, c := range snap {
				if c != nil {
					c.Close()
				}
			}
		}
	}()
	for i := range snap {
		if snap[i], err = m.db.Conn(ctx); err != nil {
			return snap, err
		}
		for _, q := range []string{"SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", "START TRANSACTION WITH CONSISTENT SNAPSHOT"} {
			if _, err = snap[i].ExecContext(ctx, mysqlx.Tag+q); err != nil {
				return snap, fmt.Errorf("checksum snapshot: %w", err)
			}
		}
	}
	if stop() {
		// A lost its lock before both views were open: they may not see
		// the same instant.
		err = fmt.Errorf("checksum snapshot: the read lock outlived its budget of %s; its connection was killed", m.opt.CutoverLockTimeout)
		return snap, err
	}
	return snap, nil
}

func isText(dataType string) bool {
	switch dataType {
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext":
		return true
	}
	return false
}
