package migrate_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/migrate"
)

// TestDuplicatesMadeDuringCopyStopTheSwap: the data check finds no
// duplicates for the new UNIQUE key, then the application makes one while
// the copy runs. The copy gets past the rows that clash (it takes them for
// a value moved between rows), but the checksum finds the row missing and
// the run stops before the swap, naming the duplicate, with the original
// table intact.
func TestDuplicatesMadeDuringCopyStopTheSwap(t *testing.T) {
	sb := sandboxtest.New(t)
	ctx := context.Background()
	sb.Exec(t, "CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, a INT NOT NULL, v VARCHAR(20) NOT NULL)")
	for start := 1; start <= 20000; start += 1000 {
		var vals []string
		for id := start; id < start+1000; id++ {
			vals = append(vals, fmt.Sprintf("(%d, %d, 'v0')", id, id))
		}
		sb.Exec(t, "INSERT INTO t VALUES "+strings.Join(vals, ","))
	}
	opt := options(sb, "t", "ADD UNIQUE KEY ua (a)")
	var once sync.Once
	opt.Report = func(e migrate.Event) {
		if e.Phase == migrate.PhaseCopy {
			// Row 15000 takes row 100's value, far ahead of the copy.
			once.Do(func() { sb.Exec(t, "UPDATE t SET a = 100 WHERE id = 15000") })
		}
	}
	sum, err := migrate.Run(ctx, opt)
	t.Logf("error: %v", err)
	if err == nil || sum != nil && sum.Swapped {
		t.Fatal("the migration swapped a table whose new unique key meets a duplicate")
	}
	if !strings.Contains(err.Error(), "Duplicate entry '100'") {
		t.Errorf("the error does not name the duplicated value: %v", err)
	}
	if got := tables(t, sb); !strings.Contains(","+strings.Join(got, ",")+",", ",t,") {
		t.Fatalf("the original table is gone: %v", got)
	}
	if n := sb.Strings(t, "SELECT COUNT(*) FROM t"); n[0] != "20000" {
		t.Fatalf("the original table holds %s rows, want 20000", n[0])
	}
}
