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
	return p.applyRange(ctx, ex, keys, nil, upto)
}

// applyRange is apply for the keys above lower only (nil: all of them);
// the others are neither deleted nor copied. Every batch is deleted before
// any is copied again: two keys that swapped the values of a unique index
// would otherwise meet in the shadow when they fall in different batches.
func (p *Plan) applyRange(ctx context.Context, ex execer, keys [][]any, lower, upto []any) (int64, error) {
	type batch struct {
		n    int
		args []any
	}
	var batches []batch
	for start := 0; start < len(keys); start += applyBatch {
		b := batch{n: min(applyBatch, len(keys)-start)}
		for _, k := range keys[start : start+b.n] {
			b.args = append(b.args, k...)
		}
		if lower != nil {
			b.args = append(b.args, p.Key.compareArgs(lower)...)
		}
		batches = append(batches, b)
	}
	above := func(shadow bool) string {
		if lower == nil {
			return ""
		}
		return " AND " + p.Key.compare(shadow, ">")
	}
	for _, b := range batches {
		del := fmt.Sprintf("%sDELETE FROM %s WHERE %s%s", mysqlx.Tag, p.shadow(), p.Key.in(true, b.n), above(true))
		if _, err := ex.ExecContext(ctx, del, b.args...); err != nil {
			return 0, fmt.Errorf("apply %d changes (delete): %w", b.n, err)
		}
	}
	var applied int64
	for _, b := range batches {
		ins, args := p.insertSelect()+" WHERE "+p.Key.in(false, b.n)+above(false), b.args
		if upto != nil {
			ins += " AND " + p.Key.compare(false, "<=")
			args = append(args[:len(args):len(args)], p.Key.compareArgs(upto)...)
		}
		// MariaDB sends a transaction's events before its commit is visible;
		// a locking read waits for that commit instead of reading the row
		// as it was.
		ins += " LOCK IN SHARE MODE"
		res, err := ex.ExecContext(ctx, ins, args...)
		if err != nil {
			return applied, fmt.Errorf("apply %d changes (insert): %w", b.n, err)
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

// applyParallel is applyTx over up to applyParts runs of consecutive keys,
// each its own transaction, at once; the keys of again go with the first.
// Keys must be sorted, so that the parts hold disjoint ranges of the key
// and share clustered-index pages only at their edges (a secondary index
// they share throughout; a unique one may make two parts deadlock, and
// the victim runs again). A part that fails leaves the others applied:
// applying a key again is harmless.
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

// applyTx applies keys in one READ COMMITTED transaction, so the shadow
// never shows a deleted-but-not-yet-recopied row to the checksum. The
// keys of again are applied only above lower (see Copier.Flush). Its
// locking reads of the source may meet the application's transactions
// in a deadlock; rolled back, it is applied again.
func (p *Plan) applyTx(ctx context.Context, db *sql.DB, keys, again [][]any, lower, upto []any) (int64, error) {
	if len(keys)+len(again) == 0 {
		return 0, nil
	}
	return retryVictim(func() (int64, error) { return p.applyTxOnce(ctx, db, keys, again, lower, upto) })
}

func (p *Plan) applyTxOnce(ctx context.Context, db *sql.DB, keys, again [][]any, lower, upto []any) (int64, error) {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return 0, fmt.Errorf("apply changes: %w", err)
	}
	defer tx.Rollback()
	n, err := p.apply(ctx, tx, keys, upto)
	if err != nil {
		return 0, err
	}
	m, err := p.applyRange(ctx, tx, again, lower, upto)
	if err != nil {
		return 0, err
	}
	n += m
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("apply changes: commit: %w", err)
	}
	return n, nil
}

// Reapply makes the shadow's rows for keys equal to the source's again:
// the repair of keys the checksum found different.
func (p *Plan) Reapply(ctx context.Context, db *sql.DB, keys [][]any) error {
	_, err := p.applyTx(ctx, db, keys, nil, nil, nil)
	return err
}
