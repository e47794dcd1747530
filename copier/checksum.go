package copier

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// checksumChunkRows is how many rows one checksum query covers.
const checksumChunkRows = 25_000

// ChecksumResult is the outcome of comparing source and shadow.
type ChecksumResult struct {
	Chunks         int64
	Rows           int64
	Keys           int64 // keys compared one by one (ChecksumRest)
	Mismatched     []Chunk
	MismatchedKeys [][]any
	Examples       []string // the first differing keys, for the report
	Counts         [2]int64 // rows of source and shadow (ChecksumRest)

	// Where ChecksumRest spent its time: comparing keys, counting rows.
	KeysTook, CountTook time.Duration
}

// rowHash renders one row of a side for hashing: its checksum
// expressions joined, as bytes. ISNULL keeps NULL apart from the empty string, which
// CONCAT_WS would merge; it asks the column, not the expression, because a
// conversion is what the checksum pays for per row, and only where either
// side may hold NULL.
func (p *Plan) rowHash(shadow bool) string {
	parts := make([]string, 0, 2*len(p.Compared))
	for _, c := range p.Compared {
		e, col := c.SourceExpr, c.Source
		if shadow {
			e, col = c.ShadowExpr, c.Shadow
		}
		// Each value as its bytes: text of two collations in one CONCAT_WS
		// makes MariaDB 11 convert the binary values beside it to text
		// ('?' for every invalid byte), on one side only.
		parts = append(parts, "CAST("+e+" AS BINARY)")
		if !c.NotNull {
			parts = append(parts, "ISNULL("+mysqlx.Q(col)+")")
		}
	}
	return "CONCAT_WS('#', " + strings.Join(parts, ", ") + ")"
}

// table is the source or the shadow, quoted.
func (p *Plan) table(shadow bool) string {
	if shadow {
		return p.shadow()
	}
	return p.source()
}

func (p *Plan) checksumQuery(shadow bool, c Chunk) (string, []any) {
	cond, args := p.whereOn(c, shadow)
	return p.checksumWhere(shadow, cond), args
}

// checksumWhere sums the rows of one side that match cond: their count
// and the sum of their hashes.
func (p *Plan) checksumWhere(shadow bool, cond string) string {
	return fmt.Sprintf("%sSELECT COUNT(*), COALESCE(SUM(%s), 0) FROM %s WHERE %s",
		mysqlx.Tag, p.hash(p.rowHash(shadow)), p.table(shadow), cond)
}

// hash is a row's hash. It is summed, not XORed: CRC32 and CRC32C are
// linear, so the XOR of the hashes of two rows changed by the same bytes
// at the same place would not move, where their sum does. One hash only:
// rendering the row is most of the checksum's cost, and the server renders
// it again for every expression that names it.
func (p *Plan) hash(h string) string {
	if p.CRC32C {
		return "CRC32C(" + h + ")"
	}
	return "CRC32(" + h + ")"
}

// sums is a side's answer to checksumWhere.
type sums [2]string

func (s sums) rows() int64 {
	var n int64
	fmt.Sscan(s[0], &n)
	return n
}

// compareSides runs query(shadow) on both sides at once, source through
// q[0] and shadow through q[1]: the closer in time the two reads, the
// fewer differences a change in flight between them can make.
func compareSides(ctx context.Context, q [2]rowQuerier, query func(shadow bool) (string, []any)) ([2]sums, error) {
	var out [2]sums
	var errs [2]error
	var wg sync.WaitGroup
	for i, shadow := range []bool{false, true} {
		wg.Go(func() {
			sql, args := query(shadow)
			errs[i] = q[i].QueryRowContext(ctx, sql, args...).Scan(&out[i][0], &out[i][1])
		})
	}
	wg.Wait()
	return out, errors.Join(errs[:]...)
}

// StepRunner runs one step of a checksum: a query on the snapshots, which
// may take a second on a table larger than the buffer pool. The checksum
// reads while the application goes on writing, so the caller backs off
// before a step when the server struggles, as the copy does, and applies
// the changes coming in while the step runs: applied only between steps,
// they would wait for each. nil runs the step alone.
type StepRunner func(ctx context.Context, step func(context.Context) error) error

func (r StepRunner) run(ctx context.Context, step func(context.Context) error) error {
	if r == nil {
		return step(ctx)
	}
	return r(ctx, step)
}

// Querier is a connection or transaction that reads.
type Querier interface {
	rowQuerier
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Checksum compares the source and the shadow chunk by chunk. snap[0]
// reads the source and snap[1] the shadow, in parallel; both must be
// consistent snapshots opened while the two tables were equal, so that
// concurrent writes neither raise false alarms nor hide differences.
//
// The chunk boundaries are found ahead, through bounds (the pool), while
// the snapshots compare the chunk before: any increasing boundaries ending
// open cover every key, so they need not come from the snapshot.
//
// run runs every chunk's comparison (see StepRunner).
func (p *Plan) Checksum(ctx context.Context, snap [2]Querier, bounds Querier, run StepRunner, report func(ChecksumResult)) (ChecksumResult, error) {
	var res ChecksumResult
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunks := p.chunksAhead(ctx, bounds, checksumChunkRows)
	for {
		next, ok := <-chunks
		c, err := next.chunk, next.err
		if !ok {
			err = context.Cause(ctx)
		}
		if err != nil {
			return res, fmt.Errorf("checksum chunk %d: %w", res.Chunks+1, err)
		}
		var differs bool
		err = run.run(ctx, func(ctx context.Context) (err error) {
			differs, err = p.compareRows(ctx, &res, snap, func(shadow bool) (string, []any) { return p.whereOn(c, shadow) })
			return err
		})
		if err != nil {
			return res, fmt.Errorf("checksum chunk %d: %w", res.Chunks+1, err)
		}
		res.Chunks++
		if differs {
			res.Mismatched = append(res.Mismatched, c)
		}
		if report != nil {
			report(res)
		}
		if c.Upper == nil {
			return res, nil
		}
	}
}

// compareRows compares the rows matching where on both sides of snap,
// counts the source's into res.Rows, and when they differ adds the first
// differing keys to res.Examples.
func (p *Plan) compareRows(ctx context.Context, res *ChecksumResult, snap [2]Querier, where func(shadow bool) (string, []any)) (bool, error) {
	got, err := compareSides(ctx, [2]rowQuerier{snap[0], snap[1]}, func(shadow bool) (string, []any) {
		cond, args := where(shadow)
		return p.checksumWhere(shadow, cond), args
	})
	if err != nil {
		return false, err
	}
	res.Rows += got[0].rows()
	if got[0] == got[1] {
		return false, nil
	}
	if len(res.Examples) < 5 {
		ex, err := p.diffRows(ctx, snap, where, 5-len(res.Examples))
		if err != nil {
			return true, err
		}
		res.Examples = append(res.Examples, ex...)
	}
	return true, nil
}

type chunkOrErr struct {
	chunk Chunk
	err   error
}

// chunksAhead finds the chunks of size rows from the start of the table to
// its end, one ahead of the reader; the channel ends after the open last
// chunk or an error. Cancel ctx to stop it early.
func (p *Plan) chunksAhead(ctx context.Context, db rowQuerier, size int) <-chan chunkOrErr {
	out := make(chan chunkOrErr, 1)
	go func() {
		defer close(out)
		var lower []any
		for {
			c, err := p.nextChunk(ctx, db, lower, size)
			select {
			case out <- chunkOrErr{c, err}:
			case <-ctx.Done():
				return
			}
			if err != nil || c.Upper == nil {
				return
			}
			lower = c.Upper
		}
	}()
	return out
}

// diffChunk finds up to max keys whose rows differ within a chunk.
func (p *Plan) diffChunk(ctx context.Context, snap [2]Querier, c Chunk, max int) ([]string, error) {
	return p.diffRows(ctx, snap, func(shadow bool) (string, []any) { return p.whereOn(c, shadow) }, max)
}

// diffRows finds up to max keys whose rows differ among those matching
// where on each side.
func (p *Plan) diffRows(ctx context.Context, snap [2]Querier, where func(shadow bool) (string, []any), max int) ([]string, error) {
	rowsOf := func(shadow bool) (map[string]string, []string, error) {
		tx := snap[0]
		if shadow {
			tx = snap[1]
		}
		names := p.Key.names(shadow)
		cond, args := where(shadow)
		keyText := make([]string, len(names))
		for i, n := range names {
			keyText[i] = "QUOTE(" + mysqlx.Q(n) + ")"
		}
		q := fmt.Sprintf("%sSELECT CONCAT_WS(', ', %s), %s FROM %s WHERE %s ORDER BY %s",
			mysqlx.Tag, strings.Join(keyText, ", "), p.hash(p.rowHash(shadow)), p.table(shadow), cond, mysqlx.QList(names))
		rs, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, nil, fmt.Errorf("find differing rows: %w", err)
		}
		defer rs.Close()
		m, order := map[string]string{}, []string(nil)
		for rs.Next() {
			var k, h string
			if err := rs.Scan(&k, &h); err != nil {
				return nil, nil, err
			}
			m[k] = h
			order = append(order, k)
		}
		return m, order, rs.Err()
	}
	src, srcOrder, err := rowsOf(false)
	if err != nil {
		return nil, err
	}
	dst, dstOrder, err := rowsOf(true)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, k := range srcOrder {
		if h, ok := dst[k]; !ok {
			out = append(out, "missing in shadow: ("+k+")")
		} else if h != src[k] {
			out = append(out, "differs: ("+k+")")
		}
	}
	for _, k := range dstOrder {
		if _, ok := src[k]; !ok {
			out = append(out, "extra in shadow: ("+k+")")
		}
	}
	return out[:min(len(out), max)], nil
}

// Recopy replaces a chunk of the shadow with the source's rows; later
// changes reach it through the binlog as usual.
func (p *Plan) Recopy(ctx context.Context, db *sql.DB, c Chunk) error {
	_, err := p.retry(ctx, "recopy chunk", retryAttempts, func() (int64, error) { return 0, p.recopyOnce(ctx, db, c) })
	return err
}

func (p *Plan) recopyOnce(ctx context.Context, db *sql.DB, c Chunk) error {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	cond, args := p.whereOn(c, true)
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("%sDELETE FROM %s WHERE %s", mysqlx.Tag, p.shadow(), cond), args...); err != nil {
		return fmt.Errorf("recopy chunk: %w", err)
	}
	cond, args = p.whereOn(c, false)
	if _, err := tx.ExecContext(ctx, p.insertSelect()+" WHERE "+cond, args...); err != nil {
		return fmt.Errorf("recopy chunk: %w", err)
	}
	return tx.Commit()
}
