package copier

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// applyBatch is how many keys one pair of statements carries.
const applyBatch = 500

// execer is a pool, a transaction or the single connection that holds the
// cut-over locks.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// apply makes the shadow's rows for keys equal to the source's: delete them
// from the shadow, then copy them again from the source. A key the source
// no longer has stays deleted. With upto set, rows above it are left alone:
// the copy has not reached them yet and will read them itself.
func (p *Plan) apply(ctx context.Context, ex execer, keys [][]any, upto []any) (int64, error) {
	return p.applyJobsOn(ctx, ex, applyJobs(keys, nil, nil), upto, false)
}

// applyRange is apply for the keys above lower only (nil: all of them);
// the others are neither deleted nor copied.
func (p *Plan) applyRange(ctx context.Context, ex execer, keys [][]any, lower, upto []any) (int64, error) {
	return p.applyJobsOn(ctx, ex, applyJobs(nil, keys, lower), upto, false)
}

// applyJobsOn applies jobs through ex. Every batch is deleted before any
// is copied again: two keys that swapped the values of a unique index
// would otherwise meet in the shadow when they fall in different batches.
// With replace, rows are copied with REPLACE (see applyTx), through a
// transaction.
func (p *Plan) applyJobsOn(ctx context.Context, ex execer, jobs []applyJob, upto []any, replace bool) (int64, error) {
	if p.Upsert {
		return p.upsertJobs(ctx, ex, jobs, upto)
	}
	// keysOn is a job's keys on a side, above its lower bound when it has one.
	keysOn := func(j applyJob, shadow bool) (string, []any) {
		cond, args := p.Key.inKeys(shadow, j.keys)
		if j.lower != nil {
			above, a := p.Key.cond(shadow, ">", j.lower)
			cond, args = cond+" AND "+above, append(args, a...)
		}
		return cond, args
	}
	for _, j := range jobs {
		cond, args := keysOn(j, true)
		del := fmt.Sprintf("%sDELETE FROM %s WHERE %s", mysqlx.Tag, p.shadow(), cond)
		if _, err := ex.ExecContext(ctx, del, args...); err != nil {
			return 0, fmt.Errorf("apply %d changes (delete): %w", len(j.keys), err)
		}
	}
	var applied int64
	for _, j := range jobs {
		cond, a := keysOn(j, false)
		where := " WHERE " + cond
		if upto != nil {
			below, b := p.Key.cond(false, "<=", upto)
			where += " AND " + below
			a = append(a, b...)
		}
		// MariaDB sends a transaction's events before its commit is visible;
		// a locking read waits for that commit instead of reading the row
		// as it was.
		where += " LOCK IN SHARE MODE"
		if replace {
			n, err := p.replaceRows(ctx, ex, where, a)
			if err != nil {
				return applied, fmt.Errorf("apply %d changes (replace): %w", len(j.keys), err)
			}
			applied += n
			continue
		}
		res, err := ex.ExecContext(ctx, p.insertSelect()+where, a...)
		if err != nil {
			return applied, fmt.Errorf("apply %d changes (insert): %w", len(j.keys), err)
		}
		n, _ := res.RowsAffected()
		applied += n
	}
	return applied, nil
}

// applyParts is at most how many transactions apply one flush's keys at
// once, each of at least applyPartKeys keys. On a table larger than the
// buffer pool every key applied costs reads from disk, which a statement
// makes one after another; the disk serves several at once (measured here:
// 15k random 16 KiB reads/s one at a time, 41k four at a time).
const applyParts, applyPartKeys = 4, 100

// applyJob is one batch of keys, applied above lower only when lower is set.
type applyJob struct {
	keys  [][]any
	lower []any
}

// applyJobs splits keys, and again (above lower), into batches.
func applyJobs(keys, again [][]any, lower []any) []applyJob {
	var jobs []applyJob
	for start := 0; start < len(keys); start += applyBatch {
		jobs = append(jobs, applyJob{keys: keys[start:min(start+applyBatch, len(keys))]})
	}
	for start := 0; start < len(again); start += applyBatch {
		jobs = append(jobs, applyJob{keys: again[start:min(start+applyBatch, len(again))], lower: lower})
	}
	return jobs
}

// applyParallel is applyTx over up to applyParts runs of consecutive keys
// at once; the keys of again go with the first. Keys must be sorted, so
// that the parts hold disjoint ranges of the key and share
// clustered-index pages only at their edges (a secondary index they share
// throughout, where two parts may deadlock: the victim runs again). A part
// that fails leaves the others applied: applying a key again is harmless.
func (p *Plan) applyParallel(ctx context.Context, db *sql.DB, keys, again [][]any, lower, upto []any) (int64, error) {
	parts := min(applyParts, len(keys)/applyPartKeys)
	if parts <= 1 {
		return p.applyTx(ctx, db, keys, again, lower, upto)
	}
	var applied [applyParts]int64
	var errs [applyParts]error
	var wg sync.WaitGroup
	for i := range parts {
		part := keys[len(keys)*i/parts : len(keys)*(i+1)/parts]
		var with [][]any
		if i == 0 {
			with = again
		}
		wg.Go(func() { applied[i], errs[i] = p.applyTx(ctx, db, part, with, lower, upto) })
	}
	wg.Wait()
	var n int64
	for _, a := range applied {
		n += a
	}
	return n, errors.Join(errs[:]...)
}

// applyTx applies keys, and the keys of again above lower (see
// Copier.Flush), a batch per READ COMMITTED transaction: the shadow never
// shows a deleted-but-not-yet-recopied row to the checksum, and the
// source rows a batch reads with a locking read stay locked only while
// that one batch runs, so the application waits at most that long for
// them. A batch the server rolls back as a deadlock victim or after a
// lock wait timeout runs again (see retry).
//
// A batch's row may take a unique value that another row still holds in
// the shadow: the source moved the value over, and that row's change is in
// another batch, another part or a flush still to come. The batch then
// runs again replacing that row, which its own change copies back.
func (p *Plan) applyTx(ctx context.Context, db *sql.DB, keys, again [][]any, lower, upto []any) (int64, error) {
	return p.applyBatches(ctx, db, applyJobs(keys, again, lower), upto, true)
}

// applyBatches applies jobs a transaction each; with replace, a job that
// meets a duplicate key runs again with REPLACE (see applyTx).
func (p *Plan) applyBatches(ctx context.Context, db *sql.DB, jobs []applyJob, upto []any, replace bool) (int64, error) {
	var n int64
	for _, j := range jobs {
		m, err := p.retry(ctx, "apply changes", retryAttempts, func() (int64, error) { return p.applyJobTx(ctx, db, j, upto, false) })
		if replace && duplicate(err) {
			p.log().Debug("applying changes again, replacing rows whose unique values the source has moved to them", "keys", len(j.keys), "err", err)
			m, err = p.retry(ctx, "apply changes", retryAttempts, func() (int64, error) { return p.applyJobTx(ctx, db, j, upto, true) })
		}
		if err != nil {
			return n, err
		}
		n += m
	}
	return n, nil
}

// duplicate says err is a duplicate-key error.
func duplicate(err error) bool { return mysqlx.ErrCode(err) == mysqlx.ErrDupEntry }

// applyJobTx applies one batch in one READ COMMITTED transaction, with
// REPLACE rather than INSERT when replace is set.
func (p *Plan) applyJobTx(ctx context.Context, db *sql.DB, j applyJob, upto []any, replace bool) (int64, error) {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return 0, fmt.Errorf("apply changes: %w", err)
	}
	defer tx.Rollback()
	n, err := p.applyJobsOn(ctx, tx, []applyJob{j}, upto, replace)
	if err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("apply changes: commit: %w", err)
	}
	return n, nil
}

// Reapply makes the shadow's rows for keys equal to the source's again:
// the repair of keys the checksum found different.
//
// It never replaces: the checksum compared the tables after every change
// was applied, so a row still held by another in the shadow is a value
// the source holds twice (made while copying, under a new unique key),
// and the duplicate-key error says so.
func (p *Plan) Reapply(ctx context.Context, db *sql.DB, keys [][]any) error {
	_, err := p.applyBatches(ctx, db, applyJobs(keys, nil, nil), nil, false)
	return err
}

// replaceRows copies the source's rows under where, which must end in a
// locking read, with REPLACE, and returns how many it copied: REPLACE
// counts the rows it deleted too, so they are counted first, under the
// same locks, which keep them as they are until the commit.
func (p *Plan) replaceRows(ctx context.Context, ex execer, where string, args []any) (int64, error) {
	q, ok := ex.(rowQuerier)
	if !ok {
		return 0, fmt.Errorf("replace rows: %T cannot count them", ex)
	}
	var n int64
	if err := q.QueryRowContext(ctx, fmt.Sprintf("%sSELECT COUNT(*) FROM %s FORCE INDEX (%s)%s", mysqlx.Tag, p.source(), mysqlx.Q(p.Key.Index), where), args...).Scan(&n); err != nil {
		return 0, err
	}
	if _, err := ex.ExecContext(ctx, p.replaceSelect()+where, args...); err != nil {
		return 0, err
	}
	return n, nil
}
