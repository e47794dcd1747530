package copier

import (
	"context"
	"database/sql"
	"fmt"

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
// the others are neither deleted nor copied.
func (p *Plan) applyRange(ctx context.Context, ex execer, keys [][]any, lower, upto []any) (int64, error) {
	var applied int64
	for start := 0; start < len(keys); start += applyBatch {
		batch := keys[start:min(start+applyBatch, len(keys))]
		var args []any
		for _, k := range batch {
			args = append(args, k...)
		}
		del := fmt.Sprintf("%sDELETE FROM %s WHERE %s", mysqlx.Tag, p.shadow(), p.Key.in(true, len(batch)))
		ins := p.insertSelect() + " WHERE " + p.Key.in(false, len(batch))
		if lower != nil {
			args = append(args, p.Key.compareArgs(lower)...)
			del += " AND " + p.Key.compare(true, ">")
			ins += " AND " + p.Key.compare(false, ">")
		}
		if _, err := ex.ExecContext(ctx, del, args...); err != nil {
			return applied, fmt.Errorf("apply %d changes (delete): %w", len(batch), err)
		}
		if upto != nil {
			ins += " AND " + p.Key.compare(false, "<=")
			args = append(args, p.Key.compareArgs(upto)...)
		}
		// MariaDB sends a transaction's events before its commit is visible;
		// a locking read waits for that commit instead of reading the row
		// as it was.
		ins += " LOCK IN SHARE MODE"
		res, err := ex.ExecContext(ctx, ins, args...)
		if err != nil {
			return applied, fmt.Errorf("apply %d changes (insert): %w", len(batch), err)
		}
		n, _ := res.RowsAffected()
		applied += n
	}
	return applied, nil
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
