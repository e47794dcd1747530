package copier

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// Verifier compares each copied chunk of the shadow with the source while
// the copy goes on, so that the checksum before the cut-over compares
// again only the rows changed since the copy began (Plan.ChecksumRest),
// not the whole table.
//
// Why that is enough: a key the binlog has not carried since the stream
// started, before the first chunk, has the same row in the source as when
// its chunk was verified, and nothing but the copy wrote it in the shadow
// (applying and recopying write only the keys they are given). Every key
// the binlog did carry is in Changes.Touched and compared again, by key,
// in the final snapshot.
//
// Under writes a chunk would often differ when checked, because a change
// is on its way through the binlog: the check leaves out the keys that are
// changed but not applied yet (wait can let the stream catch up first, so
// that they are known). A chunk that differs all the same is compared row
// by row, and the keys that differ are added to the touched set: compared
// again at the end like the changed ones, they need not be explained now.
//
// Verified chunks must cover the table in order from its start; a copy
// resumed half way, or a verifier that stopped on an error, reports itself
// incomplete and the whole table is compared instead.
type Verifier struct {
	plan    *Plan
	db      *sql.DB
	changes *Changes
	wait    func(ctx context.Context) error

	mu     sync.Mutex
	queue  []Chunk
	closed bool
	wake   chan struct{}

	cancel context.CancelFunc
	done   chan struct{}
	res    Verified // the goroutine's until done is closed
	err    error
}

// Verified is what a Verifier found.
type Verified struct {
	Complete bool // the chunks covered the table from start to end, in order
	Chunks   int64
	Rows     int64
	Differed int64 // chunks that differed when checked
	Suspects int64 // keys of those that differed, added to the touched set
	// Splits are chunk upper bounds about countRangeRows rows apart, in
	// key order: ChecksumRest counts the ranges between them one by one.
	Splits [][]any
}

// StartVerifier starts checking the chunks given to Add, in order, through
// db; it adds the keys of rows that differ to changes' touched set, which
// must be tracked from before the copy began. wait runs before every
// chunk, so the checks back off with the copy.
func StartVerifier(ctx context.Context, p *Plan, db *sql.DB, changes *Changes, wait func(context.Context) error) *Verifier {
	ctx, cancel := context.WithCancel(ctx)
	v := &Verifier{plan: p, db: db, changes: changes, wait: wait, wake: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	go v.run(ctx)
	return v
}

// Add queues a round of copied chunks. It never blocks: the copy does not
// wait for the checks, and a queue of chunk bounds is small.
func (v *Verifier) Add(chunks []Chunk) {
	v.mu.Lock()
	v.queue = append(v.queue, chunks...)
	v.mu.Unlock()
	v.signal()
}

func (v *Verifier) signal() {
	select {
	case v.wake <- struct{}{}:
	default:
	}
}

// Finish waits until every queued chunk is checked and returns the result.
func (v *Verifier) Finish(ctx context.Context) (Verified, error) {
	v.mu.Lock()
	v.closed = true
	v.mu.Unlock()
	v.signal()
	select {
	case <-v.done:
		return v.res, v.err
	case <-ctx.Done():
		v.Stop()
		return Verified{}, ctx.Err()
	}
}

// Stop abandons the checks.
func (v *Verifier) Stop() {
	v.cancel()
	<-v.done
}

func (v *Verifier) take() (Chunk, bool, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.queue) > 0 {
		c := v.queue[0]
		v.queue = v.queue[1:]
		return c, true, false
	}
	return Chunk{}, false, v.closed
}

func (v *Verifier) run(ctx context.Context) {
	defer close(v.done)
	// next is the lower bound the next chunk must start at for the chunks
	// to cover the table: the start of the table at first.
	var next []any
	started, ended := false, false
	var splitRows int64 // v.res.Rows at the last split
	for {
		c, ok, closed := v.take()
		if !ok {
			if closed {
				v.res.Complete = started && ended
				return
			}
			select {
			case <-v.wake:
				continue
			case <-ctx.Done():
				v.err = ctx.Err()
				return
			}
		}
		if (!started && c.Lower != nil) || (started && (ended || mapKey(c.Lower) != mapKey(next))) {
			v.err = fmt.Errorf("verify during the copy: chunk %v..%v does not follow %v", c.Lower, c.Upper, next)
			return
		}
		started, next, ended = true, c.Upper, c.Upper == nil
		if v.wait != nil {
			if err := v.wait(ctx); err != nil {
				v.err = err
				return
			}
		}
		where := v.plan.chunkWithout(c, v.inFlight())
		got, err := compareSides(ctx, [2]rowQuerier{v.db, v.db}, func(shadow bool) (string, []any) {
			cond, args := where(shadow)
			return v.plan.checksumWhere(shadow, cond), args
		})
		if err != nil {
			v.err = fmt.Errorf("verify chunk %d during the copy: %w", v.res.Chunks+1, err)
			return
		}
		v.res.Chunks++
		v.res.Rows += got[0].rows()
		if c.Upper != nil && v.res.Rows-splitRows >= countRangeRows {
			v.res.Splits = append(v.res.Splits, c.Upper)
			splitRows = v.res.Rows
		}
		if got[0] == got[1] {
			continue
		}
		keys, err := v.plan.differingKeysSplit(ctx, v.db, c, v.inFlight())
		if err != nil {
			v.err = fmt.Errorf("verify chunk %d during the copy row by row: %w", v.res.Chunks, err)
			return
		}
		v.res.Differed++
		v.res.Suspects += int64(len(keys))
		v.changes.Touch(keys)
	}
}

// inFlight returns the keys changed but not applied yet, which the chunk
// check leaves out: they are in the touched set, compared again before the
// swap, and would only make the chunk differ now. Too many of them make
// too long a condition; the chunk is then checked whole.
func (v *Verifier) inFlight() [][]any {
	limit := 2000
	if len(v.plan.Key.Columns) > 1 {
		limit = 100 // a composite key's list is a chain of ORs
	}
	keys, ok := v.changes.Pending(limit)
	if !ok {
		return nil
	}
	return keys
}

// chunkWithout is chunk c's condition on a side, leaving keys out.
func (p *Plan) chunkWithout(c Chunk, keys [][]any) func(shadow bool) (string, []any) {
	return func(shadow bool) (string, []any) {
		cond, args := p.whereOn(c, shadow)
		if len(keys) == 0 {
			return cond, args
		}
		in, a := p.Key.inKeys(shadow, keys)
		return cond + " AND NOT (" + in + ")", append(args, a...)
	}
}

// diffRows is how many rows differingKeys compares at once at most:
// one side's keys and hashes of that many rows are held in memory.
const diffRows = 10_000

// differingKeysSplit finds the rows of chunk c that differ, leaving out
// the keys skip. A large chunk is split into pieces of diffRows rows: the
// pieces that sum equal (most, as a chunk differs by a few changes in
// flight) need no comparison row by row, and memory stays bounded.
func (p *Plan) differingKeysSplit(ctx context.Context, db *sql.DB, c Chunk, skip [][]any) ([][]any, error) {
	var out [][]any
	lower := c.Lower
	for {
		piece, err := p.nextChunkWithin(ctx, db, c, lower, diffRows)
		if err != nil {
			return nil, err
		}
		where := p.chunkWithout(piece, skip)
		got, err := compareSides(ctx, [2]rowQuerier{db, db}, func(shadow bool) (string, []any) {
			cond, args := where(shadow)
			return p.checksumWhere(shadow, cond), args
		})
		if err != nil {
			return nil, err
		}
		if got[0] != got[1] {
			keys, err := p.differingKeys(ctx, db, where)
			if err != nil {
				return nil, err
			}
			out = append(out, keys...)
		}
		if sameKey(piece.Upper, c.Upper) {
			return out, nil
		}
		lower = piece.Upper
	}
}

func sameKey(a, b []any) bool {
	return (a == nil) == (b == nil) && mapKey(a) == mapKey(b)
}

// differingKeys compares the rows matching where row by row and returns
// the keys whose rows differ or are on one side only. It holds one side's
// keys and hashes in memory: callers bound the rows (diffRows).
func (p *Plan) differingKeys(ctx context.Context, db *sql.DB, where func(shadow bool) (string, []any)) ([][]any, error) {
	type row struct {
		key  []any
		hash string
	}
	read := func(shadow bool, each func(row)) error {
		cond, args := where(shadow)
		q := fmt.Sprintf("%sSELECT %s, %s FROM %s WHERE %s",
			mysqlx.Tag, mysqlx.QList(p.Key.names(shadow)), p.hash(p.rowHash(shadow)), p.table(shadow), cond)
		rs, err := db.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rs.Close()
		raw := make([]any, len(p.Key.Columns)+1)
		ptrs := make([]any, len(raw))
		for i := range raw {
			ptrs[i] = &raw[i]
		}
		for rs.Next() {
			if err := rs.Scan(ptrs...); err != nil {
				return err
			}
			key, err := p.Key.fromSQL(raw[:len(raw)-1])
			if err != nil {
				return err
			}
			// Text or binary protocol: bytes or an integer.
			hash := fmt.Sprint(raw[len(raw)-1])
			if b, ok := raw[len(raw)-1].([]byte); ok {
				hash = string(b)
			}
			each(row{key, hash})
		}
		return rs.Err()
	}
	shadow := map[string]row{}
	if err := read(true, func(r row) { shadow[mapKey(r.key)] = r }); err != nil {
		return nil, err
	}
	var out [][]any
	err := read(false, func(r row) {
		k := mapKey(r.key)
		if d, ok := shadow[k]; !ok || d.hash != r.hash {
			out = append(out, r.key)
		}
		delete(shadow, k)
	})
	for _, r := range shadow {
		out = append(out, r.key)
	}
	return out, err
}

// checksumKeyBatch is how many keys one comparison of ChecksumRest covers.
const checksumKeyBatch = 500

// countRangeRows is about how many rows of each table ChecksumRest counts
// between two waits. Whole tables counted at once, with the changes
// applied beside the counts, left the applies fighting two table scans for
// the disk: with a table four times the buffer pool, a key took a
// millisecond to apply and the shadow fell 5.3 s behind (2.3 s in ranges).
var countRangeRows int64 = 50_000 // a variable for the tests

// ChecksumRest is the checksum before the cut-over once a Verifier has
// checked every chunk during the copy: in the snapshots snap (source,
// shadow) it compares the rows of keys, which must hold every key the
// binlog carried since the copy began and every key the Verifier found
// different (Changes.Touched). Last it counts both tables' rows, in the
// ranges between splits (Verified.Splits; with no keys, at once): a row
// lost or added where no key says so (a write the binlog did not carry,
// into either table) shows there, and the caller then compares the whole
// table. run runs every step (see StepRunner).
func (p *Plan) ChecksumRest(ctx context.Context, snap [2]Querier, keys, splits [][]any, run StepRunner, report func(ChecksumResult)) (ChecksumResult, error) {
	var res ChecksumResult
	start := time.Now()
	for start := 0; start < len(keys); start += checksumKeyBatch {
		batch := keys[start:min(start+checksumKeyBatch, len(keys))]
		where := func(shadow bool) (string, []any) { return p.Key.inKeys(shadow, batch) }
		var differs bool
		err := run.run(ctx, func(ctx context.Context) (err error) {
			differs, err = p.compareRows(ctx, &res, snap, where)
			return err
		})
		if err != nil {
			return res, fmt.Errorf("checksum changed keys %d-%d: %w", start+1, start+len(batch), err)
		}
		res.Keys += int64(len(batch))
		if differs {
			res.MismatchedKeys = append(res.MismatchedKeys, batch...)
		}
		if report != nil {
			report(res)
		}
	}
	res.KeysTook = time.Since(start)
	// A snapshot reads a secondary index page changed since it began only
	// by looking every row up in the clustered index: under writes, a
	// count over the smallest index (the server's choice) became 1M random
	// lookups and took 18 s where the primary key's scan takes 0.6 s. With
	// no key changed, most likely nothing is written meanwhile either: one
	// count a table, over the smallest index, is then the cheapest.
	hint := ""
	switch {
	case len(keys) == 0:
		splits = nil
	case p.Key.Index == "PRIMARY":
		hint = " FORCE INDEX (PRIMARY)"
	}
	var lower []any
	for i := 0; i <= len(splits); i++ {
		r := Chunk{Lower: lower}
		if i < len(splits) {
			r.Upper = splits[i]
		}
		var n [2]int64
		err := run.run(ctx, func(ctx context.Context) (err error) {
			n, err = p.countRange(ctx, snap, r, hint)
			return err
		})
		if err != nil {
			return res, fmt.Errorf("count rows in range %d of %d: %w", i+1, len(splits)+1, err)
		}
		res.Counts[0] += n[0]
		res.Counts[1] += n[1]
		lower = r.Upper
	}
	res.CountTook = time.Since(start) - res.KeysTook
	return res, nil
}

// countRange counts the rows of range r in both snapshots at once.
func (p *Plan) countRange(ctx context.Context, snap [2]Querier, r Chunk, hint string) ([2]int64, error) {
	var n [2]int64
	var errs [2]error
	var wg sync.WaitGroup
	for i, shadow := range []bool{false, true} {
		wg.Go(func() {
			cond, args := p.whereOn(r, shadow)
			errs[i] = snap[i].QueryRowContext(ctx, mysqlx.Tag+"SELECT COUNT(*) FROM "+p.table(shadow)+hint+" WHERE "+cond, args...).Scan(&n[i])
		})
	}
	wg.Wait()
	return n, errors.Join(errs[:]...)
}
