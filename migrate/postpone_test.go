package migrate_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/migrate"
)

func TestWindow(t *testing.T) {
	at := func(hm string) time.Time {
		tm, err := time.Parse("15:04", hm)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	for _, c := range []struct {
		window, now string
		in          bool
	}{
		{"02:00-04:00", "02:00", true},
		{"02:00-04:00", "03:59", true},
		{"02:00-04:00", "04:00", false},
		{"02:00-04:00", "01:59", false},
		{"23:00-01:00", "23:30", true},
		{"23:00-01:00", "00:30", true},
		{"23:00-01:00", "01:00", false},
		{"23:00-01:00", "12:00", false},
	} {
		w, err := migrate.ParseWindow(c.window)
		if err != nil {
			t.Fatal(err)
		}
		if got := w.Contains(at(c.now)); got != c.in {
			t.Errorf("%s contains %s = %v, want %v", c.window, c.now, got, c.in)
		}
	}
	for _, bad := range []string{"", "02:00", "2-4", "25:00-26:00", "02:00-02:00", "02:00-04:00-05:00"} {
		if _, err := migrate.ParseWindow(bad); err == nil {
			t.Errorf("ParseWindow(%q) accepted", bad)
		}
	}
}

// TestPostponeCutoverFile: while the file exists the migration stays ready
// and keeps the shadow in sync; removing the file lets it swap.
func TestPostponeCutoverFile(t *testing.T) {
	sb := sandboxtest.New(t)
	smallTable(t, sb, 2000)
	flag := filepath.Join(t.TempDir(), "hold")
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	opt := options(sb, "t", "MODIFY a VARCHAR(40)")
	opt.PostponeCutoverFile = flag
	var waits int
	opt.Report = func(e migrate.Event) {
		if !strings.Contains(e.Message, "postponed while") {
			return
		}
		waits++
		if waits == 2 {
			// Ready but held: the original still serves and takes writes.
			if got := strings.Join(tables(t, sb), ","); got != "_t_ckpt,_t_new,t" {
				t.Errorf("tables while postponed: %s", got)
			}
			sb.Exec(t, "INSERT INTO t VALUES (9001, 'while postponed', 1)")
		}
		if waits == 3 {
			os.Remove(flag)
		}
	}
	sum, err := migrate.Run(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	if waits < 3 || sum.Postponed < 2*time.Second || !sum.Swapped {
		t.Fatalf("waits %d, postponed %s, swapped %v", waits, sum.Postponed, sum.Swapped)
	}
	if n := sb.Strings(t, "SELECT a FROM t WHERE id = 9001"); len(n) != 1 || n[0] != "while postponed" {
		t.Fatalf("the row written while postponed: %q", n)
	}
}
