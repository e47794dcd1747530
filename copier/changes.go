package copier

import "sync"

// Changes is the set of keys changed in the source since they were last
// applied to the shadow. Only the key is kept: applying a key re-reads the
// row from the source, so the last change per key wins by construction and
// no row value ever has to be decoded from the binlog.
type Changes struct {
	mu      sync.Mutex
	pending map[string][]any
	seen    int64

	// touched keeps every key ever added, up to touchedLimit keys, for the
	// checksum before the cut-over (see Verifier); nil when not tracked or
	// when it outgrew the limit.
	touched      map[string][]any
	touchedLimit int
	overflowed   bool
}

// NewChanges returns an empty set.
func NewChanges() *Changes { return &Changes{pending: map[string][]any{}} }

// Add records that the row with key value v changed.
func (c *Changes) Add(v []any) {
	c.mu.Lock()
	k := mapKey(v)
	c.pending[k] = v
	c.seen++
	if c.touched != nil {
		c.touched[k] = v
		if len(c.touched) > c.touchedLimit {
			c.touched, c.overflowed = nil, true
		}
	}
	c.mu.Unlock()
}

// TrackTouched makes the set remember every key added from now on, up to
// limit keys: past it, memory would grow with the write rate, and Touched
// reports the set lost.
func (c *Changes) TrackTouched(limit int) {
	c.mu.Lock()
	c.touched, c.touchedLimit, c.overflowed = map[string][]any{}, limit, false
	c.mu.Unlock()
}

// Touch adds keys to the touched set only: keys to compare again before
// the swap that need no applying.
func (c *Changes) Touch(keys [][]any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, v := range keys {
		if c.touched == nil {
			return
		}
		c.touched[mapKey(v)] = v
		if len(c.touched) > c.touchedLimit {
			c.touched, c.overflowed = nil, true
		}
	}
}

// Touched returns every key added since TrackTouched, or false when they
// were not tracked or outgrew the limit.
func (c *Changes) Touched() ([][]any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.touched == nil || c.overflowed {
		return nil, false
	}
	return keysOf(c.touched), true
}

// Take removes and returns every pending key.
func (c *Changes) Take() [][]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := keysOf(c.pending)
	clear(c.pending)
	return out
}

// TakeIf removes and returns the pending keys for which keep is true.
func (c *Changes) TakeIf(keep func(v []any) bool) [][]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out [][]any
	for k, v := range c.pending {
		if keep(v) {
			out = append(out, v)
			delete(c.pending, k)
		}
	}
	sortKeys(out)
	return out
}

// Len is the number of keys waiting to be applied.
func (c *Changes) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}

// Pending returns the keys waiting to be applied, or false when there are
// more than limit.
func (c *Changes) Pending(limit int) ([][]any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pending) > limit {
		return nil, false
	}
	return keysOf(c.pending), true
}

// Seen is the number of row changes recorded so far.
func (c *Changes) Seen() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen
}

// Restore puts back keys whose apply failed, so that a retry applies them;
// applying a key twice is harmless.
func (c *Changes) Restore(keys [][]any) {
	c.mu.Lock()
	for _, v := range keys {
		c.pending[mapKey(v)] = v
	}
	c.mu.Unlock()
}

// keysOf returns the key values of a set in key order (sortKeys): a batch
// of them then reads neighbouring rows, where map order would spread every
// batch over the whole table.
func keysOf(set map[string][]any) [][]any {
	out := make([][]any, 0, len(set))
	for _, v := range set {
		out = append(out, v)
	}
	sortKeys(out)
	return out
}
