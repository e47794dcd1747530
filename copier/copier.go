// Package copier moves rows from the source table to the shadow: a keyset
// chunker feeding server-side INSERT ... SELECT, and the binlog stream whose
// changed keys are re-applied from the source between chunks.
package copier

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Progress is a snapshot of the copy for progress reports.
type Progress struct {
	RowsCopied  int64
	RowsApplied int64
	// AppliedWhileCopying is the part of RowsApplied applied while a
	// round copied (see copyRound).
	AppliedWhileCopying int64
	Chunks              int64
	ChunkSize           int
	Pending             int
	Done                bool
}

// Copier copies Plan's source into its shadow.
//
// Correctness rests on one ordering: changes are applied only for keys at
// or below the watermark (the upper bound of the last copied chunk), after
// a round of chunks or, for keys Go can place, while a round copies above
// the watermark. A change above the watermark is dropped because
// the copy has not read that row yet and will read its latest version. A
// change at or below it re-copies the row from the source. So every row
// ends equal to the source whatever the interleaving of copy and writes.
type Copier struct {
	DB      *sql.DB
	Plan    *Plan
	Changes *Changes
	Log     *slog.Logger

	ChunkTime time.Duration // target time of one chunk; the size adapts
	MinChunk  int
	MaxChunk  int
	// Threads is how many chunks are copied at once (0: 1). The server
	// does the copying, and one INSERT ... SELECT keeps one of its cores
	// busy: more threads use more of them.
	Threads int
	// Wait blocks while the server is too busy to copy; nil never waits.
	Wait func(ctx context.Context) error
	// Report receives progress after every chunk; nil is quiet.
	Report func(Progress)
	// Boundary, when set, is where the binlog stream could restart (see
	// Stream.Boundary); the copier remembers it at each flush for Resumable.
	Boundary func() Point
	// AfterFlush runs after every successful flush (to save a checkpoint).
	AfterFlush func(ctx context.Context) error
	// Copied, when set, receives every round's chunks once they are copied
	// and the changes that came in meanwhile applied (see Verifier).
	Copied func(chunks []Chunk)
	// ApplyDuring is how often changes below the watermark are applied
	// while a round copies (see copyRound); 0 means 100 ms.
	ApplyDuring time.Duration

	watermark    []any
	done         bool
	progress     Progress
	previous     [][]any // the keys of the last flush, applied once more above previousUpto (see Flush)
	previousUpto []any
	// taken[1] is the stream's boundary when the last flush took its keys,
	// taken[0] the one before.
	taken [2]Point
}

func (c *Copier) defaults() {
	if c.ChunkTime <= 0 {
		c.ChunkTime = 250 * time.Millisecond
	}
	if c.MinChunk <= 0 {
		c.MinChunk = 100
	}
	if c.MaxChunk <= 0 {
		c.MaxChunk = 200_000
	}
	if c.Threads <= 0 {
		c.Threads = 1
	}
	if c.ApplyDuring <= 0 {
		c.ApplyDuring = 100 * time.Millisecond
	}
	if c.progress.ChunkSize == 0 {
		c.progress.ChunkSize = min(max(1000, c.MinChunk), c.MaxChunk)
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
}

// Run copies every chunk and applies the changes that came in meanwhile.
//
// The chunks of a round are copied in parallel, and changes are applied
// only after the whole round: a round is one wide chunk as far as the
// watermark is concerned, so the ordering the Copier rests on holds. The
// next round's boundaries are found while a round copies: any boundaries
// will do, so they need not wait for the changes of this one.
func (c *Copier) Run(ctx context.Context) error {
	c.defaults()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var ahead <-chan round
	for !c.done {
		if c.Wait != nil {
			if err := c.Wait(ctx); err != nil {
				return err
			}
		}
		next := round{}
		if ahead != nil {
			next = <-ahead
		} else {
			next.chunks, next.err = c.nextRound(ctx, c.watermark, c.progress.ChunkSize)
		}
		chunks, err := next.chunks, next.err
		if err != nil {
			return err
		}
		ahead = nil
		if last := chunks[len(chunks)-1]; last.Upper != nil {
			ahead = c.roundAhead(ctx, last.Upper, c.progress.ChunkSize)
		}
		n, took, err := c.copyRound(ctx, chunks)
		if err != nil {
			return err
		}
		c.tune(took)
		last := chunks[len(chunks)-1]
		c.watermark, c.done = last.Upper, last.Upper == nil
		c.progress.Chunks += int64(len(chunks))
		c.progress.RowsCopied += n
		if _, err := c.Flush(ctx); err != nil {
			return err
		}
		if c.Copied != nil {
			c.Copied(chunks)
		}
	}
	return nil
}

type round struct {
	chunks []Chunk
	err    error
}

// roundAhead finds the round after lower in the background.
func (c *Copier) roundAhead(ctx context.Context, lower []any, size int) <-chan round {
	out := make(chan round, 1)
	go func() {
		chunks, err := c.nextRound(ctx, lower, size)
		out <- round{chunks, err}
	}()
	return out
}

// nextRound finds up to Threads consecutive chunks of size rows after
// lower; it stops early at the open-ended last chunk.
func (c *Copier) nextRound(ctx context.Context, lower []any, size int) ([]Chunk, error) {
	var chunks []Chunk
	for len(chunks) < c.Threads {
		chunk, err := c.Plan.nextChunk(ctx, c.DB, lower, size)
		if err != nil {
			return nil, fmt.Errorf("find chunk after %v: %w", lower, err)
		}
		chunks = append(chunks, chunk)
		if chunk.Upper == nil {
			break
		}
		lower = chunk.Upper
	}
	return chunks, nil
}

// copyRound copies the chunks at once and returns the rows copied and the
// slowest chunk's time, which the chunk size is tuned to.
//
// Meanwhile it applies, every ApplyDuring, the changes at or below the
// watermark, which the round's chunks (all above it) do not touch: the
// shadow then lags by that interval, not by a round. It takes only keys
// it can place against the watermark in Go (integer keys); the rest wait
// for the flush after the round, which handles what lies above.
func (c *Copier) copyRound(ctx context.Context, chunks []Chunk) (int64, time.Duration, error) {
	type result struct {
		n    int64
		took time.Duration
		err  error
	}
	results := make([]result, len(chunks))
	var wg sync.WaitGroup
	for i, chunk := range chunks {
		wg.Go(func() {
			start := time.Now()
			n, err := c.Plan.copyChunk(ctx, c.DB, chunk)
			if err != nil {
				err = fmt.Errorf("copy chunk %d: %w", c.progress.Chunks+int64(i)+1, err)
			}
			results[i] = result{n, time.Since(start), err}
		})
	}
	copied := make(chan struct{})
	go func() { wg.Wait(); close(copied) }()
	var applyErr error
	if c.watermark != nil && c.Plan.Key.integers() {
		tick := time.NewTicker(c.ApplyDuring)
	wait:
		for applyErr == nil {
			select {
			case <-copied:
				break wait
			case <-tick.C:
				var yielded bool
				if yielded, applyErr = c.applyBelowWatermark(ctx); yielded {
					break wait
				}
			}
		}
		tick.Stop()
	}
	<-copied
	var n int64
	var slowest time.Duration
	errs := []error{applyErr}
	for _, r := range results {
		n += r.n
		slowest = max(slowest, r.took)
		errs = append(errs, r.err)
	}
	return n, slowest, errors.Join(errs...)
}

// applyBelowWatermark applies the pending changes at or below the
// watermark (integer keys only, see copyRound). It yields when the server
// keeps picking it as a deadlock victim: the round's chunks insert into
// the same shadow indexes (a unique one checks its neighbours with locks),
// and being the smaller transaction it loses every time. Its keys then
// wait for the flush after the round, which nothing runs beside.
func (c *Copier) applyBelowWatermark(ctx context.Context) (yielded bool, err error) {
	upto := c.watermark
	keys := c.Changes.TakeIf(func(v []any) bool { return compareKeys(v, upto) <= 0 })
	if len(keys) == 0 {
		return false, nil
	}
	n, err := c.Plan.applyTx(ctx, c.DB, keys, nil, nil, upto)
	if err != nil {
		c.Changes.Restore(keys)
		if victim(err) {
			c.Log.Debug("applying while a round copies lost to its chunks; the flush after the round applies the keys", "keys", len(keys), "err", err)
			return true, nil
		}
		return false, fmt.Errorf("apply changes while a round copies: %w", err)
	}
	c.progress.RowsApplied += n
	c.progress.AppliedWhileCopying += n
	return false, nil
}

// tune moves the chunk size toward the target chunk time, damped so one
// slow chunk (a checkpoint, a cold page) does not collapse it.
func (c *Copier) tune(took time.Duration) {
	if took <= 0 {
		took = time.Millisecond
	}
	ideal := float64(c.progress.ChunkSize) * float64(c.ChunkTime) / float64(took)
	next := int(0.5*float64(c.progress.ChunkSize) + 0.5*ideal)
	next = min(max(next, c.MinChunk), c.MaxChunk, c.progress.ChunkSize*4)
	c.progress.ChunkSize = next
}

// Flush applies the pending changes below the watermark through the pool.
//
// A change above the watermark is left to the copy, which reads the row
// later from a snapshot. But MariaDB sends a transaction's events before
// its commit is visible, so the next chunk's snapshot might still miss it.
// Hence every flush applies the previous flush's keys that were above its
// watermark once more: by then the copy has moved on by a round, and a key
// it now covers is re-read with a locking read that waits for the commit.
// The previous keys at or below that watermark were applied by such a
// read already; the server skips them (it compares the keys, so no Go
// code has to know the key's collation).
func (c *Copier) Flush(ctx context.Context) (int64, error) {
	c.defaults()
	upto := c.watermark
	if c.done {
		upto = nil
	}
	taken := c.taken // a failed flush must leave Resumable where it was
	if c.Boundary != nil {
		c.taken = [2]Point{c.taken[1], c.Boundary()}
	}
	current := c.Changes.Take()
	again, lower := without(c.previous, current), c.previousUpto
	c.previous, c.previousUpto = nil, upto
	if !c.done {
		c.previous = current
	}
	if !c.done && upto == nil {
		// Nothing copied yet: every change is above the watermark.
		c.report()
		return 0, nil
	}
	start := time.Now()
	n, err := c.Plan.applyParallel(ctx, c.DB, current, again, lower, upto)
	if took := time.Since(start); took > slowApply {
		c.Log.Warn("applying changes was slow: the shadow lags by as much", "keys", len(current)+len(again), "took", took.Round(time.Millisecond).String())
	}
	if err != nil {
		c.Changes.Restore(append(current, again...))
		c.taken = taken
		return 0, err
	}
	c.progress.RowsApplied += n
	c.report()
	if c.AfterFlush != nil {
		if err := c.AfterFlush(ctx); err != nil {
			return n, err
		}
	}
	return n, nil
}

// slowApply is how long one flush may take before it is logged.
const slowApply = 500 * time.Millisecond

// Resumable is where a new run may pick this copy up: the binlog position
// to stream from and the watermark to copy on from. It is the boundary of
// the flush before the last one, because the last flush applied that
// flush's keys once more (see Flush); every change before it is in the
// shadow, or above the watermark and left to the copy.
func (c *Copier) Resumable() (from Point, watermark []any, done bool) {
	return c.taken[0], c.watermark, c.done
}

// Resume starts the copier where Resumable left an earlier one: rows above
// watermark are copied, and rowsCopied carries over into the progress.
func (c *Copier) Resume(from Point, watermark []any, done bool, rowsCopied int64) {
	c.watermark, c.done = watermark, done
	c.taken = [2]Point{from, from}
	c.progress.RowsCopied = rowsCopied
}

// without returns the keys of a that are not in b.
func without(a, b [][]any) [][]any {
	if len(a) == 0 {
		return nil
	}
	in := make(map[string]bool, len(b))
	for _, k := range b {
		in[mapKey(k)] = true
	}
	var out [][]any
	for _, k := range a {
		if !in[mapKey(k)] {
			out = append(out, k)
		}
	}
	return out
}

// FlushOn applies every pending change through ex, the connection that
// holds the cut-over locks; it requires the copy to be done.
func (c *Copier) FlushOn(ctx context.Context, ex execer) (int64, error) {
	if !c.done {
		return 0, fmt.Errorf("flush on cut-over connection before the copy is done")
	}
	keys := c.Changes.Take()
	n, err := c.Plan.apply(ctx, ex, keys, nil)
	c.progress.RowsApplied += n
	if err != nil {
		// Cut off part way (the lock budget ran out): none of these keys
		// may be lost, or the next attempt would swap without them.
		c.Changes.Restore(keys)
	}
	return n, err
}

func (c *Copier) report() {
	c.progress.Pending = c.Changes.Len()
	c.progress.Done = c.done
	if c.Report != nil {
		c.Report(c.progress)
	}
}

// Progress returns the counters so far.
func (c *Copier) Progress() Progress { return c.progress }
