package copier

import (
	"math/rand/v2"
	"testing"
	"time"
)

func tuned(min, max, size int, target time.Duration) *Copier {
	c := &Copier{ChunkTime: target, MinChunk: min, MaxChunk: max, Changes: NewChanges()}
	c.defaults()
	c.progress.ChunkSize = size
	return c
}

func TestTuneMovesTowardTarget(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int
		took time.Duration
		want int
	}{
		// next = size/2 + ideal/2, ideal = size * target / took
		{"on target", 1000, 100 * time.Millisecond, 1000},
		{"twice as fast", 1000, 50 * time.Millisecond, 1500},
		{"twice as slow", 1000, 200 * time.Millisecond, 750},
		{"ten times slower: damped", 1000, time.Second, 550},
		{"much faster: at most 4x", 1000, time.Microsecond, 4000},
		{"zero duration counts as 1ms", 1000, 0, 4000},
		{"negative duration counts as 1ms", 200, -time.Second, 800},
		{"slow clamps to MinChunk", 120, time.Hour, 100},
		{"fast clamps to MaxChunk", 9000, time.Millisecond, 10000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tuned(100, 10000, tc.size, 100*time.Millisecond)
			c.tune(tc.took)
			if got := c.progress.ChunkSize; got != tc.want {
				t.Errorf("tune(%v) from %d = %d, want %d", tc.took, tc.size, got, tc.want)
			}
		})
	}
}

// TestTuneConverges: with a server whose chunk time is proportional to
// the chunk size, the size settles at the one that meets the target.
func TestTuneConverges(t *testing.T) {
	for _, start := range []int{100, 1000, 50000} {
		c := tuned(10, 200000, start, 200*time.Millisecond)
		perRow := 100 * time.Microsecond // so the ideal size is 2000
		for range 40 {
			c.tune(time.Duration(c.progress.ChunkSize) * perRow)
		}
		if got := c.progress.ChunkSize; got < 1990 || got > 2010 {
			t.Errorf("from %d: settled at %d, want about 2000", start, got)
		}
	}
}

// TestTuneStaysInBounds feeds random durations and checks every size.
func TestTuneStaysInBounds(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, b := range []struct{ min, max int }{{100, 200000}, {1, 7}, {7, 7}, {50, 60}, {1, 1 << 30}} {
		start := min(max(1000, b.min), b.max)
		c := tuned(b.min, b.max, start, 500*time.Millisecond)
		for i := range 2000 {
			var took time.Duration
			switch r.IntN(4) {
			case 0:
				took = time.Duration(r.Int64N(int64(time.Millisecond)))
			case 1:
				took = time.Duration(r.Int64N(int64(time.Minute)))
			case 2:
				took = 500 * time.Millisecond
			default:
				took = time.Duration(r.Int64N(int64(2 * time.Second)))
			}
			prev := c.progress.ChunkSize
			c.tune(took)
			got := c.progress.ChunkSize
			if got < b.min || got > b.max {
				t.Fatalf("bounds [%d, %d], step %d: tune(%v) from %d gave %d", b.min, b.max, i, took, prev, got)
			}
			if got > 4*prev {
				t.Fatalf("step %d: grew from %d to %d, more than 4x", i, prev, got)
			}
			// Never away from the target: faster than the target grows or
			// keeps the size, slower shrinks or keeps it.
			switch {
			case took > 0 && took < c.ChunkTime && got < prev:
				t.Fatalf("step %d: took %v < target, size shrank %d -> %d", i, took, prev, got)
			case took > c.ChunkTime && got > prev:
				t.Fatalf("step %d: took %v > target, size grew %d -> %d", i, took, prev, got)
			}
		}
	}
}

func TestCopierDefaults(t *testing.T) {
	c := &Copier{Changes: NewChanges()}
	c.defaults()
	if c.ChunkTime != 250*time.Millisecond || c.MinChunk != 100 || c.MaxChunk != 200_000 || c.Log == nil {
		t.Errorf("defaults: ChunkTime %v MinChunk %d MaxChunk %d Log %v", c.ChunkTime, c.MinChunk, c.MaxChunk, c.Log)
	}
	if got := c.Progress().ChunkSize; got != 1000 {
		t.Errorf("first chunk size %d, want 1000", got)
	}
}

// TestFirstChunkWithinBounds: the first chunk, before any tune, must obey
// MinChunk and MaxChunk too.
func TestFirstChunkWithinBounds(t *testing.T) {
	for _, b := range []struct{ min, max int }{{1, 7}, {5000, 200000}} {
		c := &Copier{MinChunk: b.min, MaxChunk: b.max, ChunkTime: time.Second, Changes: NewChanges()}
		c.defaults()
		if got := c.Progress().ChunkSize; got < b.min || got > b.max {
			t.Errorf("MinChunk %d MaxChunk %d: first chunk has %d rows", b.min, b.max, got)
		}
		c.tune(time.Second)
		if got := c.Progress().ChunkSize; got < b.min || got > b.max {
			t.Errorf("MinChunk %d MaxChunk %d: after one on-target chunk, %d rows", b.min, b.max, got)
		}
	}
}

// TestFlushBeforeCopyDropsChanges: before the first chunk every change
// is above the watermark, so Flush drops it without touching the server
// (DB is nil here: any query would panic).
func TestFlushBeforeCopyDropsChanges(t *testing.T) {
	var reports []Progress
	c := &Copier{Changes: NewChanges(), Plan: &Plan{}, Report: func(p Progress) { reports = append(reports, p) }}
	c.Changes.Add([]any{int64(1)})
	c.Changes.Add([]any{int64(2)})
	n, err := c.Flush(t.Context())
	if err != nil || n != 0 {
		t.Fatalf("Flush = %d, %v", n, err)
	}
	if c.Changes.Len() != 0 {
		t.Errorf("%d changes still pending", c.Changes.Len())
	}
	if len(reports) != 1 || reports[0].Pending != 0 || reports[0].Done {
		t.Errorf("reports = %+v", reports)
	}
	if _, err := c.FlushOn(t.Context(), nil); err == nil {
		t.Error("FlushOn before the copy is done: no error")
	}
}
