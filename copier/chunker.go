package copier

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// Chunk is the key range (Lower, Upper]; a nil Lower is the start of the
// table and a nil Upper its end.
type Chunk struct {
	Lower, Upper []any
}

// where renders the chunk's range condition on the source and its arguments.
func (p *Plan) where(c Chunk) (string, []any) { return p.whereOn(c, false) }

// whereOn renders the chunk's range on the source, or on the shadow under
// the key's new column names.
func (p *Plan) whereOn(c Chunk, shadow bool) (string, []any) {
	cond, args := "1=1", []any(nil)
	if c.Lower != nil {
		cond, args = p.Key.cond(shadow, ">", c.Lower)
	}
	if c.Upper != nil {
		upper, a := p.Key.cond(shadow, "<=", c.Upper)
		cond += " AND " + upper
		args = append(args, a...)
	}
	return cond, args
}

// rowQuerier is a pool, a connection or a transaction.
type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// nextChunk finds the chunk of at most size rows after lower by walking
// the key index (keyset pagination): the boundary is the size-th key.
// When fewer rows remain, the chunk is open-ended so that rows appended
// while copying are copied too.
func (p *Plan) nextChunk(ctx context.Context, db rowQuerier, lower []any, size int) (Chunk, error) {
	return p.nextChunkWithin(ctx, db, Chunk{}, lower, size)
}

// nextChunkWithin is nextChunk inside the chunk within: the piece after
// lower ends at within's upper bound at the latest.
func (p *Plan) nextChunkWithin(ctx context.Context, db rowQuerier, within Chunk, lower []any, size int) (Chunk, error) {
	cond, args := p.where(Chunk{Lower: lower, Upper: within.Upper})
	q := fmt.Sprintf("%sSELECT %s FROM %s FORCE INDEX (%s) WHERE %s ORDER BY %s LIMIT 1 OFFSET %d",
		mysqlx.Tag, mysqlx.QList(p.Key.names(false)), p.source(), mysqlx.Q(p.Key.Index), cond,
		mysqlx.QList(p.Key.names(false)), size-1)
	raw := make([]any, len(p.Key.Columns))
	ptrs := make([]any, len(raw))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	err := db.QueryRowContext(ctx, q, args...).Scan(ptrs...)
	if errors.Is(err, sql.ErrNoRows) {
		return Chunk{Lower: lower, Upper: within.Upper}, nil
	}
	if err != nil {
		return Chunk{}, fmt.Errorf("find chunk boundary: %w", err)
	}
	upper, err := p.Key.fromSQL(raw)
	if err != nil {
		return Chunk{}, fmt.Errorf("find chunk boundary: %w", err)
	}
	return Chunk{Lower: lower, Upper: upper}, nil
}

// copyChunk copies one chunk in a READ COMMITTED transaction: the source
// rows are read from a snapshot without locks, so application writers are
// never blocked by the copy. This is safe because every change committed
// after the snapshot reaches the shadow through the binlog, applied only
// once the chunk is done (see Copier).
//
// Chunks copied at once insert into the same shadow indexes, where the
// server may pick one as a deadlock victim; it rolled back, so copying the
// chunk again is safe.
//
// A chunk's row may hold a unique value that a row copied before still
// holds in the shadow: the source moved the value between the two reads.
// Which of the two is stale depends on which read was older, so the chunk
// is copied again from the rows as committed (a locking read, as the apply
// of changes makes), replacing the shadow's row: that one is then the
// stale one, and its own change, still to be applied, copies it back. The
// locks last only that one chunk's transaction, and only on this rare path.
// (A value the source really holds twice, which only a new unique key can
// meet, is the checksum's to find: the shadow then lacks a row.)
func (p *Plan) copyChunk(ctx context.Context, db *sql.DB, c Chunk) (int64, error) {
	n, err := p.retry(ctx, "copy chunk", retryAttempts, func() (int64, error) { return p.copyChunkOnce(ctx, db, c, false) })
	if !duplicate(err) {
		return n, err
	}
	p.log().Info("copying a chunk again from its committed rows, replacing rows whose unique values the source has moved to them", "err", err)
	return p.retry(ctx, "copy chunk", retryAttempts, func() (int64, error) { return p.copyChunkOnce(ctx, db, c, true) })
}

func (p *Plan) copyChunkOnce(ctx context.Context, db *sql.DB, c Chunk, replace bool) (int64, error) {
	cond, args := p.where(c)
	tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var n int64
	if replace {
		n, err = p.replaceRows(ctx, tx, " WHERE "+cond+" LOCK IN SHARE MODE", args)
	} else {
		var res sql.Result
		if res, err = tx.ExecContext(ctx, p.insertSelect()+" WHERE "+cond, args...); err == nil {
			n, _ = res.RowsAffected()
		}
	}
	if err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return n, nil
}

// Above renders the shadow rows whose key is above v, with its arguments.
func (p *Plan) Above(v []any) (string, []any) {
	return p.Key.cond(true, ">", v)
}
