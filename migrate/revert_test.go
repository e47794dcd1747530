package migrate_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/internal/workload"
	"github.com/godwit-db/godwit/migrate"
)

// TestRevert migrates a table under writers, keeps writing, reverts, keeps
// writing, and reverts the revert: after each step the table, in the
// structure it then has, equals what the writers committed, row for row.
// Covered: a column added (dropped again by the revert), one dropped (its
// values back on the rows it had, the default on new ones), a widened
// type, a renamed column. With a dropped column the writers keep every
// row's id: a row whose key changed since the swap is a new row to the
// revert (see revert.go).
func TestRevert(t *testing.T) {
	sb := sandboxtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	x := "x"
	for _, tc := range []struct {
		name, alter string
		frozen      []string
		allowDrop   bool
		migrated    workload.Expect // the model on the migrated table
	}{
		{name: "add", alter: "ADD COLUMN note VARCHAR(32) NOT NULL DEFAULT 'x'", migrated: workload.Expect{Added: map[string]*string{"note": &x}}},
		{name: "drop", alter: "DROP COLUMN vc", frozen: []string{"vc"}, allowDrop: true, migrated: workload.Expect{Skip: []string{"vc"}}},
		{name: "widen", alter: "MODIFY vc VARCHAR(200) NULL"},
		{name: "rename", alter: "RENAME COLUMN i32 TO i32r", frozen: []string{"i32"}, migrated: workload.Expect{Rename: map[string]string{"i32": "i32r"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			table := "rv_" + tc.name
			if err := workload.Create(ctx, sb.DB, table); err != nil {
				t.Fatal(err)
			}
			model, err := workload.Load(ctx, sb.DB, table, 5_000, 3)
			if err != nil {
				t.Fatal(err)
			}
			run := workload.Start(ctx, sb.DB, table, model, workload.Options{Writers: 3, Rate: 300, Seed: 4, Frozen: tc.frozen, NoKeyMoves: len(tc.frozen) > 0 && tc.allowDrop})
			stopped := false
			defer func() {
				if !stopped {
					run.Stop()
				}
			}()
			opt := options(sb, table, tc.alter)
			opt.AllowDropData = tc.allowDrop
			if _, err := migrate.Run(ctx, opt); err != nil {
				t.Fatalf("migrate: %v", err)
			}
			steps := []workload.Expect{{}, tc.migrated} // after the revert, after the revert of the revert
			for i, want := range steps {
				time.Sleep(500 * time.Millisecond) // the writers go on on the swapped table
				sum, err := migrate.Revert(ctx, options(sb, table, ""))
				if err != nil {
					t.Fatalf("revert %d: %v", i+1, err)
				}
				if !sum.Swapped || sum.OldTable != "_"+table+"_old" {
					t.Fatalf("revert %d: swapped %v, old table %q", i+1, sum.Swapped, sum.OldTable)
				}
				time.Sleep(300 * time.Millisecond)
				if i == len(steps)-1 {
					stats, werr := run.Stop()
					stopped = true
					if werr != nil {
						t.Fatalf("writers: %v", werr)
					}
					t.Logf("writers %s; last revert applied %d rows, %d binlog changes", stats, sum.Applied, sum.Changes)
				} else {
					// Compare while writing would race: pause by stopping and restarting.
					stats, werr := run.Stop()
					if werr != nil {
						t.Fatalf("writers: %v", werr)
					}
					if stats.Statements() == 0 {
						t.Fatal("the writers wrote nothing")
					}
				}
				if err := model.Compare(ctx, sb.DB, table, want); err != nil {
					t.Fatalf("after revert %d the table differs from what the writers committed: %v", i+1, err)
				}
				if i < len(steps)-1 {
					run = workload.Start(ctx, sb.DB, table, model, workload.Options{Writers: 3, Rate: 300, Seed: 5, Frozen: tc.frozen, NoKeyMoves: len(tc.frozen) > 0 && tc.allowDrop})
				}
			}
		})
	}
}

// TestRevertRefusals: a revert that would truncate a value written since
// the swap refuses, naming the key, and so does its dry run; nothing is
// changed. Without a revert point, and with the binlog since the swap
// purged, it refuses too, saying what to do.
func TestRevertRefusals(t *testing.T) {
	sb := sandboxtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sb.Exec(t, "CREATE TABLE narrow (id INT NOT NULL PRIMARY KEY, name VARCHAR(10) NOT NULL)")
	sb.Exec(t, "INSERT INTO narrow VALUES (1, 'short'), (2, 'tiny')")

	refused := func(err error, check string, want ...string) {
		t.Helper()
		var r *migrate.Refusal
		if !errors.As(err, &r) || r.Check != check {
			t.Fatalf("want a %s refusal, got %v", check, err)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Fatalf("the refusal does not say %q: %v", w, err)
			}
		}
	}
	_, err := migrate.Revert(ctx, options(sb, "narrow", ""))
	refused(err, "nothing-to-revert", "nothing to revert")

	if _, err := migrate.Run(ctx, options(sb, "narrow", "MODIFY name VARCHAR(50) NOT NULL")); err != nil {
		t.Fatal(err)
	}
	sb.Exec(t, "INSERT INTO narrow VALUES (7, 'a value of thirty characters!!')")
	_, err = migrate.CheckRevert(ctx, options(sb, "narrow", ""))
	refused(err, "data", "id='7'", "longer than 10")
	_, err = migrate.Revert(ctx, options(sb, "narrow", ""))
	refused(err, "data", "id='7'", "longer than 10")
	var typ string
	if err := sb.DB.QueryRow("SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '_narrow_old' AND COLUMN_NAME = 'name'").Scan(&typ); err != nil || typ != "varchar(10)" {
		t.Fatalf("_narrow_old.name after the refusal: %q (%v), want the old table untouched", typ, err)
	}

	sb.Exec(t, "UPDATE narrow SET name = 'fits' WHERE id = 7")
	if _, err := migrate.CheckRevert(ctx, options(sb, "narrow", "")); err != nil {
		t.Fatalf("dry run once the row fits: %v", err)
	}
	// A column the ALTER dropped, NOT NULL without a default: rows new
	// since the swap have no value for it in the old structure.
	sb.Exec(t, "CREATE TABLE nodef (id INT NOT NULL PRIMARY KEY, code VARCHAR(5) NOT NULL, v INT NULL)")
	sb.Exec(t, "INSERT INTO nodef VALUES (1, 'a', 1), (2, 'b', 2)")
	dropOpt := options(sb, "nodef", "DROP COLUMN code")
	dropOpt.AllowDropData = true
	if _, err := migrate.Run(ctx, dropOpt); err != nil {
		t.Fatal(err)
	}
	sb.Exec(t, "UPDATE nodef SET v = 10 WHERE id = 1")
	if _, err := migrate.CheckRevert(ctx, options(sb, "nodef", "")); err != nil {
		t.Fatalf("dry run with old rows only: %v", err)
	}
	sb.Exec(t, "INSERT INTO nodef VALUES (3, 30)")
	_, err = migrate.Revert(ctx, options(sb, "nodef", ""))
	refused(err, "data", "id='3'", "code")

	purgeBinlogs(t, sb)
	_, err = migrate.Revert(ctx, options(sb, "narrow", ""))
	refused(err, "binlog", "purged", "Keep binlogs longer", "reverse ALTER")
}

// purgeBinlogs rotates the binlog and purges every file before the new
// one; a file a reader (the replica) still has open is purged once it
// moves on.
func purgeBinlogs(t *testing.T, sb *sandboxtest.Sandbox) {
	t.Helper()
	sb.Exec(t, "FLUSH BINARY LOGS")
	logs := func() []string {
		rows, err := sb.DB.Query("SHOW BINARY LOGS")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		var names []string
		for rows.Next() {
			var name string
			dest := make([]any, len(cols))
			dest[0] = &name
			for i := 1; i < len(dest); i++ {
				dest[i] = new(any)
			}
			if err := rows.Scan(dest...); err != nil {
				t.Fatal(err)
			}
			names = append(names, name)
		}
		return names
	}
	names := logs()
	last := names[len(names)-1]
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		sb.Exec(t, "PURGE BINARY LOGS TO '"+last+"'")
		if names = logs(); len(names) == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("binlogs %q still there after PURGE BINARY LOGS TO '%s'", names, last)
		}
	}
}
