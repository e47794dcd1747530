package migrate_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/internal/workload"
	"github.com/godwit-db/godwit/migrate"
)

// TestInstantPath: a change the server can make as metadata only is made
// natively, under the writers, with nothing copied and nothing left behind.
func TestInstantPath(t *testing.T) {
	sb := sandboxtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	model := workloadTable(ctx, t, sb, 20_000, 5)
	run := workload.Start(ctx, sb.DB, "t", model, workload.Options{Writers: 2, Rate: 200, Seed: 6})
	time.Sleep(200 * time.Millisecond)
	opt := options(sb, "t", "ADD COLUMN note VARCHAR(20) NOT NULL DEFAULT 'fresh'")
	opt.ForceCopy = false
	sum, err := migrate.Run(ctx, opt)
	time.Sleep(200 * time.Millisecond)
	stats, werr := run.Stop()
	if werr != nil || err != nil {
		t.Fatalf("migrate: %v; writers: %v", err, werr)
	}
	t.Log(stats.Locks())
	if err := stats.NoLockConflicts(); err != nil {
		t.Fatal(err)
	}
	if sum.Path != migrate.PathInstant || !sum.Swapped || sum.Rows != 0 {
		t.Fatalf("path %q swapped %v rows %d, want an instant change", sum.Path, sum.Swapped, sum.Rows)
	}
	fresh := "fresh"
	if err := model.Compare(ctx, sb.DB, "t", workload.Expect{Added: map[string]*string{"note": &fresh}}); err != nil {
		t.Fatal(err)
	}
	if got := tables(t, sb); strings.Join(got, ",") != "t" {
		t.Fatalf("tables: %v, want only t", got)
	}
}

// TestForceCopyAndNonInstant: the same change with ForceCopy, and a type
// change the server cannot make instantly, both take the online copy.
func TestForceCopyAndNonInstant(t *testing.T) {
	for _, c := range []struct {
		alter string
		force bool
	}{
		{"ADD COLUMN c INT", true},
		{"MODIFY b BIGINT", false},
	} {
		t.Run(c.alter, func(t *testing.T) {
			sb := sandboxtest.New(t)
			smallTable(t, sb, 100)
			opt := options(sb, "t", c.alter)
			opt.ForceCopy = c.force
			sum, err := migrate.Run(context.Background(), opt)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Path != migrate.PathCopy || sum.Rows != 100 {
				t.Fatalf("path %q rows %d, want the online copy of 100 rows", sum.Path, sum.Rows)
			}
		})
	}
}
