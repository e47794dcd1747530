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
}

// NewChanges returns an empty set.
func NewChanges() *Changes { return &Changes{pending: map[string][]any{}} }

// Add records that the row with key value v changed.
func (c *Changes) Add(v []any) {
	c.mu.Lock()
	c.pending[mapKey(v)] = v
	c.seen++
	c.mu.Unlock()
}

// Take removes and returns every pending key.
func (c *Changes) Take() [][]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([][]any, 0, len(c.pending))
	for _, v := range c.pending {
		out = append(out, v)
	}
	clear(c.pending)
	return out
}

// Len is the number of keys waiting to be applied.
func (c *Changes) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
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
