package migrate_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/migrate"
)

// TestChecksumRepairsCorruptedShadow changes a row of the shadow behind
// godwit's back during the copy: the checksum finds it, the chunk is
// recopied, and the swapped table is right.
func TestChecksumRepairsCorruptedShadow(t *testing.T) {
	sb := sandboxtest.New(t)
	smallTable(t, sb, 50_000)
	opt := options(sb, "t", "MODIFY a VARCHAR(40)")
	corrupted := false
	opt.Report = func(e migrate.Event) {
		if e.Phase == migrate.PhaseCopy && e.Progress.Chunks >= 1 && !corrupted {
			corrupted = true
			sb.Exec(t, "UPDATE _t_new SET a = 'corrupt' WHERE id = 1")
		}
	}
	sum, err := migrate.Run(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	if !corrupted || sum.ChecksumRepairs != 1 {
		t.Fatalf("corrupted %v, checksum repairs %d, want 1", corrupted, sum.ChecksumRepairs)
	}
	if sum.ChecksumRows != 50_000 {
		t.Fatalf("checksum compared %d rows, want 50000", sum.ChecksumRows)
	}
	var a string
	if err := sb.DB.QueryRow("SELECT a FROM t WHERE id = 1").Scan(&a); err != nil || a != "row1" {
		t.Fatalf("row 1 after the swap: %q (%v)", a, err)
	}
}

// TestChecksumRefusesPersistentDifference corrupts the shadow again after
// every repair: godwit refuses to swap, names the row, and leaves the
// original table alone, keeping its copy for a rerun (or godwit abort).
func TestChecksumRefusesPersistentDifference(t *testing.T) {
	sb := sandboxtest.New(t)
	smallTable(t, sb, 5_000)
	opt := options(sb, "t", "ADD COLUMN c INT")
	corruptNext := true
	opt.Report = func(e migrate.Event) {
		if e.Phase == migrate.PhaseVerify && strings.Contains(e.Message, "recopying") {
			corruptNext = true // after the recopy, before the next snapshot
			return
		}
		if corruptNext && (e.Phase == migrate.PhaseCatchUp || (e.Phase == migrate.PhaseVerify && e.Message == "" && e.Checksum.Chunks == 0)) {
			corruptNext = false
			sb.Exec(t, "DELETE FROM _t_new WHERE id = 4321")
		}
	}
	_, err := migrate.Run(context.Background(), opt)
	if err == nil {
		t.Fatal("migrate swapped a shadow that differs")
	}
	for _, want := range []string{"refusing to swap", "missing in shadow: ('4321')"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if !errors.Is(err, migrate.ErrKept) {
		t.Errorf("error %q does not say the copy is kept", err)
	}
	if got := tables(t, sb); strings.Join(got, ",") != "_t_ckpt,_t_new,t" {
		t.Fatalf("tables: %v, want the original with the kept copy and checkpoint", got)
	}
	var n int
	if err := sb.DB.QueryRow("SELECT COUNT(*) FROM t").Scan(&n); err != nil || n != 5_000 {
		t.Fatalf("original has %d rows (%v)", n, err)
	}
}

// TestFullChecksumCatchesUnloggedUpdate changes a row of the shadow after
// its chunk was compared during the copy, by a write the source's binlog
// does not carry: only comparing the whole table again can see that, and
// --full-checksum does, and repairs it.
func TestFullChecksumCatchesUnloggedUpdate(t *testing.T) {
	sb := sandboxtest.New(t)
	smallTable(t, sb, 20_000)
	opt := options(sb, "t", "MODIFY a VARCHAR(40)")
	opt.FullChecksum = true
	corrupted := false
	opt.Report = func(e migrate.Event) {
		if e.Phase == migrate.PhaseCatchUp && !corrupted {
			corrupted = true
			sb.Exec(t, "UPDATE _t_new SET a = 'corrupt' WHERE id = 10")
		}
	}
	sum, err := migrate.Run(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	if !corrupted || sum.ChecksumRepairs != 1 || sum.ChecksumRows != 20_000 || sum.ChecksumRechecked != 0 {
		t.Fatalf("corrupted %v, summary %+v: want one repair over a whole-table comparison of 20000 rows", corrupted, sum)
	}
	var a string
	if err := sb.DB.QueryRow("SELECT a FROM t WHERE id = 10").Scan(&a); err != nil || a != "row10" {
		t.Fatalf("row 10 after the swap: %q (%v)", a, err)
	}
}
