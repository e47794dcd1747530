package copier

import (
	"fmt"
	"reflect"
	"sort"
	"sync"
	"testing"
)

func TestChangesKeepsLastPerKey(t *testing.T) {
	c := NewChanges()
	first := []any{"abc", uint64(1)}
	last := []any{"abc", uint64(1)}
	c.Add(first)
	c.Add([]any{"ABC", uint64(1)}) // another row to re-read, even if the collation says equal
	c.Add([]any{int64(1)})
	c.Add([]any{"1"})
	c.Add(last)
	if got, want := c.Len(), 4; got != want {
		t.Fatalf("Len = %d, want %d", got, want)
	}
	if got := c.Seen(); got != 5 {
		t.Errorf("Seen = %d, want 5 (every Add counts)", got)
	}
	keys := c.Take()
	if len(keys) != 4 {
		t.Fatalf("Take returned %d keys, want 4: %v", len(keys), keys)
	}
	var text []string
	for _, k := range keys {
		text = append(text, fmt.Sprintf("%#v", k))
		if reflect.DeepEqual(k, last) && &k[0] != &last[0] {
			t.Errorf("the pending value for %v is not the last one added", k)
		}
	}
	sort.Strings(text)
	want := []string{
		`[]interface {}{"1"}`,
		`[]interface {}{"ABC", 0x1}`,
		`[]interface {}{"abc", 0x1}`,
		`[]interface {}{1}`,
	}
	if !reflect.DeepEqual(text, want) {
		t.Errorf("Take = %v, want %v", text, want)
	}
}

func TestChangesTakeEmpties(t *testing.T) {
	c := NewChanges()
	if got := c.Take(); got == nil || len(got) != 0 {
		t.Fatalf("Take on an empty set = %#v, want an empty non-nil slice", got)
	}
	c.Add([]any{int64(1)})
	c.Add([]any{int64(2)})
	if got := c.Take(); len(got) != 2 {
		t.Fatalf("Take = %v, want 2 keys", got)
	}
	if c.Len() != 0 {
		t.Errorf("Len after Take = %d, want 0", c.Len())
	}
	if got := c.Take(); len(got) != 0 {
		t.Errorf("second Take = %v, want nothing", got)
	}
	if c.Seen() != 2 {
		t.Errorf("Seen = %d after Take, want 2 (it counts, it is not emptied)", c.Seen())
	}
	// A key taken and changed again is pending again.
	c.Add([]any{int64(1)})
	if got := c.Take(); !reflect.DeepEqual(got, [][]any{{int64(1)}}) {
		t.Errorf("Take = %v, want [[1]]", got)
	}
}

// TestChangesConcurrent: the stream adds while the copier takes (run with
// -race to check the locking).
func TestChangesConcurrent(t *testing.T) {
	c := NewChanges()
	const writers, each = 4, 500
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				c.Add([]any{int64(w), int64(i)})
			}
		}()
	}
	got := map[string]bool{}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
		}
		for _, k := range c.Take() {
			got[mapKey(k)] = true
		}
		_ = c.Len()
	}
	if len(got) != writers*each {
		t.Errorf("took %d distinct keys, want %d", len(got), writers*each)
	}
	if c.Seen() != writers*each {
		t.Errorf("Seen = %d, want %d", c.Seen(), writers*each)
	}
}

func TestChangesTakeIf(t *testing.T) {
	c := NewChanges()
	for _, v := range []int64{5, 1, 9, 3} {
		c.Add([]any{v})
	}
	got := c.TakeIf(func(v []any) bool { return v[0].(int64) <= 5 })
	if fmt.Sprint(got) != "[[1] [3] [5]]" {
		t.Errorf("TakeIf = %v, want [[1] [3] [5]] in key order", got)
	}
	if rest := c.Take(); fmt.Sprint(rest) != "[[9]]" {
		t.Errorf("left pending: %v, want [[9]]", rest)
	}
}
