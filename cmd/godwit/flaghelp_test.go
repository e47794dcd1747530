package main

import (
	"strings"
	"testing"
)

// TestFlagHelpFitsItsCommand: the connection flags are registered once
// for every command, so their texts are easily left saying what another
// command does with them ("table to change" on abort, which changes no
// table). Each command's --table and --database must say what that
// command does with them, and two commands that do different things must
// not share the text. A new command fails here until its texts are
// written.
func TestFlagHelpFitsItsCommand(t *testing.T) {
	// A phrase each command's text must hold, and phrases it must not.
	type text struct {
		has   string
		lacks []string
	}
	want := map[string]map[string]text{
		"migrate": {"table": {has: "table to change"}, "database": {has: "of the table"}},
		"plan":    {"table": {has: "plan changes nothing"}, "database": {has: "of the table"}},
		"abort":   {"table": {has: "leftovers to remove", lacks: []string{"to change"}}, "database": {has: "of the table"}},
		"status":  {"table": {has: "to show", lacks: []string{"to change"}}, "database": {has: "of the table"}},
		"pause":   {"table": {has: "to pause", lacks: []string{"to change"}}, "database": {has: "of the table"}},
		"resume":  {"table": {has: "to resume", lacks: []string{"to change"}}, "database": {has: "of the table"}},
		"cutover": {"table": {has: "to cut over", lacks: []string{"to change"}}, "database": {has: "of the table"}},
		"revert":  {"table": {has: "to undo", lacks: []string{"to change"}}, "database": {has: "of the table"}},
		// apply has no --table: its files name their tables.
		"apply": {"database": {has: "_godwit_migrations", lacks: []string{"of the table"}}},
	}
	byText := map[string]string{} // "flag: usage" -> the first command with it
	for _, cmd := range newRoot().Commands() {
		name := cmd.Name()
		flags, ok := want[name]
		if !ok {
			t.Errorf("command %s: no expectation for its --table and --database texts here", name)
			continue
		}
		for _, flag := range []string{"table", "database"} {
			f := cmd.Flags().Lookup(flag)
			w, expected := flags[flag]
			switch {
			case f == nil && expected:
				t.Errorf("%s has no --%s", name, flag)
				continue
			case f == nil:
				continue
			case !expected:
				t.Errorf("%s --%s: %q, and no expectation for it here", name, flag, f.Usage)
				continue
			}
			if !strings.Contains(f.Usage, w.has) {
				t.Errorf("%s --%s: %q, want it to say %q", name, flag, f.Usage, w.has)
			}
			for _, bad := range w.lacks {
				if strings.Contains(f.Usage, bad) {
					t.Errorf("%s --%s: %q says %q, which is another command's", name, flag, f.Usage, bad)
				}
			}
			if flag == "table" {
				key := flag + ": " + f.Usage
				if other, dup := byText[key]; dup {
					t.Errorf("%s --%s has the text of %s --%s: %q", name, flag, other, flag, f.Usage)
				}
				byText[key] = name
			}
		}
	}
}
