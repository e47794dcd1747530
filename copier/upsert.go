package copier

import (
	"context"
	"fmt"
	"strings"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// upsertJobs is apply for a shadow that already holds the rows and has
// columns the source lacks (godwit revert: the old table, whose dropped
// columns must keep their values). A key the source still has is updated
// in place through the shared columns, or inserted with the shadow's
// defaults for the others; a key the source no longer has is deleted.
//
// A locking read of the keys comes first: MariaDB logs a transaction's
// rows before its commit is visible, and the lock waits for that commit,
// so the statements after it see the row as committed. In a transaction
// (applyTx) the read also keeps the rows as they are until the commit.
//
// A unique value that two keys swapped between batches makes the upsert
// fail with a duplicate-key error rather than overwrite another row: the
// run stops keeping its state, and a rerun applies the keys again.
func (p *Plan) upsertJobs(ctx context.Context, ex execer, jobs []applyJob, upto []any) (int64, error) {
	if upto != nil {
		return 0, fmt.Errorf("apply changes: an upsert applies changes only once the copy is done")
	}
	q, ok := ex.(rowQuerier)
	if !ok {
		return 0, fmt.Errorf("apply changes: %T cannot read rows", ex)
	}
	var applied int64
	for _, j := range jobs {
		if j.lower != nil {
			return applied, fmt.Errorf("apply changes: an upsert applies changes only once the copy is done")
		}
		// An ENUM key's member numbers differ between the sides when the
		// ALTER changed its members: each side gets its own.
		inSource, sourceArgs := p.Key.inKeys(false, j.keys)
		inShadow, shadowArgs := p.Key.inKeys(true, j.keys)
		var n int64
		lock := fmt.Sprintf("%sSELECT COUNT(*) FROM %s FORCE INDEX (%s) WHERE %s LOCK IN SHARE MODE", mysqlx.Tag, p.source(), mysqlx.Q(p.Key.Index), inSource)
		if err := q.QueryRowContext(ctx, lock, sourceArgs...).Scan(&n); err != nil {
			return applied, fmt.Errorf("apply %d changes (lock): %w", len(j.keys), err)
		}
		if _, err := ex.ExecContext(ctx, p.deleteGone(inShadow), shadowArgs...); err != nil {
			return applied, fmt.Errorf("apply %d changes (delete): %w", len(j.keys), err)
		}
		if _, err := ex.ExecContext(ctx, p.upsertSelect(inSource), sourceArgs...); err != nil {
			return applied, fmt.Errorf("apply %d changes (upsert): %w", len(j.keys), err)
		}
		applied += n
	}
	return applied, nil
}

// deleteGone deletes the shadow rows matching inShadow (its keys) that
// the source no longer has. Tables are named in full, never aliased: under the cut-over's
// LOCK TABLES an alias would be a table that was not locked.
func (p *Plan) deleteGone(inShadow string) string {
	var on []string
	for _, c := range p.Key.Columns {
		on = append(on, fmt.Sprintf("%s.%s = %s.%s", p.source(), mysqlx.Q(c.Name), p.shadow(), mysqlx.Q(c.ShadowName)))
	}
	return fmt.Sprintf("%sDELETE FROM %s WHERE %s AND NOT EXISTS (SELECT 1 FROM %s WHERE %s)",
		mysqlx.Tag, p.shadow(), inShadow, p.source(), strings.Join(on, " AND "))
}

// upsertSelect copies the source's rows matching inSource into the shadow, updating
// the shared columns of a row the shadow has; its key columns stay.
func (p *Plan) upsertSelect(inSource string) string {
	key := map[string]bool{}
	for _, c := range p.Key.Columns {
		key[strings.ToLower(c.ShadowName)] = true
	}
	var src, set []string
	for i, c := range p.SourceCols {
		col := p.source() + "." + mysqlx.Q(c)
		src = append(src, col)
		if !key[strings.ToLower(p.ShadowCols[i])] {
			set = append(set, fmt.Sprintf("%s = %s", mysqlx.Q(p.ShadowCols[i]), col))
		}
	}
	if len(set) == 0 {
		first := mysqlx.Q(p.ShadowCols[0])
		set = append(set, first+" = "+first)
	}
	return fmt.Sprintf("%sINSERT INTO %s (%s) SELECT %s FROM %s FORCE INDEX (%s) WHERE %s ON DUPLICATE KEY UPDATE %s",
		mysqlx.Tag, p.shadow(), mysqlx.QList(p.ShadowCols), strings.Join(src, ", "), p.source(), mysqlx.Q(p.Key.Index),
		inSource, strings.Join(set, ", "))
}
