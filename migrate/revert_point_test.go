package migrate

import (
	"slices"
	"testing"
)

// TestIsSwapRename: the revert's stream reads past the cut-over's own
// RENAME of the table, and only past that one: any other statement that
// renames the table is DDL on it and stops the run.
func TestIsSwapRename(t *testing.T) {
	for _, tc := range []struct {
		schema, query string
		want          bool
	}{
		{"db", "/* godwit */ RENAME TABLE `db`.`t` TO `db`.`t_godwit_old`, `db`.`t_godwit_new` TO `db`.`t`", true},
		{"other", "RENAME TABLE `db`.`t` TO `db`.`t_godwit_old`, `db`.`t_godwit_new` TO `db`.`t`", true},
		{"db", "RENAME TABLE t TO t_godwit_old, t_godwit_new TO t", true},
		{"other", "RENAME TABLE t TO t_godwit_old, t_godwit_new TO t", false}, // another schema's t
		{"db", "RENAME TABLE `db`.`t` TO `db`.`t_godwit_old`", false},
		{"db", "RENAME TABLE `db`.`t` TO `db`.`t_x`, `db`.`t_godwit_new` TO `db`.`t`", false},
		{"db", "RENAME TABLE `db`.`t_godwit_new` TO `db`.`t`, `db`.`t` TO `db`.`t_godwit_old`", false},
		{"db", "ALTER TABLE `db`.`t` ADD COLUMN c INT", false},
		{"db", "RENAME TABLE `db`.`t_godwit_old` TO `db`.`_t_old`", false},
		{"db", "not sql at all", false},
	} {
		if got := isSwapRename(tc.schema, tc.query, "db", "t"); got != tc.want {
			t.Errorf("isSwapRename(%q, %q) = %v, want %v", tc.schema, tc.query, got, tc.want)
		}
	}
}

// TestRevertPointReverse: the revert's mapping undoes the ALTER's, and
// the revert of a revert maps as the ALTER did.
func TestRevertPointReverse(t *testing.T) {
	p := &revertPoint{Alter: "CHANGE a b INT, ADD COLUMN n INT, DROP COLUMN d", Renamed: map[string]string{"a": "b"},
		Added: []string{"n"}, Dropped: []string{"d"}, Modified: []string{"b"}}
	r := p.reverse()
	for newName, want := range map[string]string{"a": "b", "c": "c"} {
		if got, ok := r.OldName(newName); !ok || got != want {
			t.Errorf("revert: %s comes from %q (%v), want %q", newName, got, ok, want)
		}
	}
	if _, ok := r.OldName("d"); ok {
		t.Errorf("revert: the dropped column d must not come from the new table: it keeps its own values")
	}
	if _, ok := r.NewName("n"); ok {
		t.Errorf("revert: the added column n must be dropped")
	}
	if !slices.Equal(r.Modified, []string{"a"}) {
		t.Errorf("revert: modified %q, want [a]", r.Modified)
	}
	again := (&revertPoint{Alter: r.Clause, Renamed: r.Renamed, Added: r.Added, Dropped: r.Dropped, Modified: r.Modified}).reverse()
	if got, ok := again.OldName("b"); !ok || got != "a" {
		t.Errorf("revert of the revert: b comes from %q (%v), want a", got, ok)
	}
	if _, ok := again.OldName("n"); ok {
		t.Errorf("revert of the revert: n is the ALTER's new column again, filled with its default")
	}
}
