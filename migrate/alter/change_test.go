package alter

import (
	"maps"
	"slices"
	"testing"
)

func TestColumnMapping(t *testing.T) {
	type name struct {
		in   string
		want string // "" means the lookup reports false
	}
	tests := []struct {
		name     string
		clause   string
		renamed  map[string]string
		dropped  []string
		added    []string
		modified []string
		newNames []name // NewName(old)
		oldNames []name // OldName(new)
	}{
		{
			name:     "add drop modify",
			clause:   "ADD COLUMN email VARCHAR(255), DROP COLUMN fax, MODIFY age SMALLINT",
			renamed:  map[string]string{},
			dropped:  []string{"fax"},
			added:    []string{"email"},
			modified: []string{"age"},
			newNames: []name{{"fax", ""}, {"age", "age"}, {"untouched", "untouched"}},
			oldNames: []name{{"email", ""}, {"age", "age"}, {"fax", ""}, {"untouched", "untouched"}},
		},
		{
			name:     "change renames and modifies",
			clause:   "CHANGE a b BIGINT",
			renamed:  map[string]string{"a": "b"},
			modified: []string{"b"},
			newNames: []name{{"a", "b"}},
			oldNames: []name{{"b", "a"}, {"a", ""}},
		},
		{
			name:     "change to the same name only modifies",
			clause:   "CHANGE a a BIGINT",
			renamed:  map[string]string{},
			modified: []string{"a"},
			newNames: []name{{"a", "a"}},
			oldNames: []name{{"a", "a"}},
		},
		{
			name:     "rename column",
			clause:   "RENAME COLUMN a TO b",
			renamed:  map[string]string{"a": "b"},
			newNames: []name{{"a", "b"}, {"b", "b"}},
			oldNames: []name{{"b", "a"}, {"a", ""}},
		},
		{
			name:     "drop and add the same name: the new column is new",
			clause:   "DROP COLUMN c, ADD COLUMN c TEXT",
			renamed:  map[string]string{},
			dropped:  []string{"c"},
			added:    []string{"c"},
			newNames: []name{{"c", ""}},
			oldNames: []name{{"c", ""}},
		},
		{
			name:     "drop and add differ only in case",
			clause:   "DROP COLUMN Email, ADD COLUMN EMAIL TEXT",
			renamed:  map[string]string{},
			dropped:  []string{"Email"},
			added:    []string{"EMAIL"},
			newNames: []name{{"email", ""}},
			oldNames: []name{{"eMaIl", ""}},
		},
		{
			name:     "lookups ignore case",
			clause:   "CHANGE COLUMN UserName user_name VARCHAR(64), DROP COLUMN Fax",
			renamed:  map[string]string{"UserName": "user_name"},
			dropped:  []string{"Fax"},
			modified: []string{"user_name"},
			newNames: []name{{"username", "user_name"}, {"USERNAME", "user_name"}, {"fax", ""}},
			oldNames: []name{{"USER_NAME", "UserName"}, {"username", ""}, {"FAX", ""}},
		},
		{
			name:     "case-only rename is recorded",
			clause:   "CHANGE a A INT",
			renamed:  map[string]string{"a": "A"},
			modified: []string{"A"},
			newNames: []name{{"a", "A"}},
			oldNames: []name{{"A", "a"}, {"a", "a"}},
		},
		{
			name:     "swap two names",
			clause:   "RENAME COLUMN a TO b, RENAME COLUMN b TO a",
			renamed:  map[string]string{"a": "b", "b": "a"},
			newNames: []name{{"a", "b"}, {"b", "a"}},
			oldNames: []name{{"a", "b"}, {"b", "a"}},
		},
		{
			name:     "rename away then add the old name",
			clause:   "CHANGE a b INT, ADD COLUMN a INT",
			renamed:  map[string]string{"a": "b"},
			added:    []string{"a"},
			modified: []string{"b"},
			newNames: []name{{"a", "b"}},
			oldNames: []name{{"a", ""}, {"b", "a"}},
		},
		{
			name:     "drop then rename another column into the name",
			clause:   "DROP COLUMN a, CHANGE b a INT",
			renamed:  map[string]string{"b": "a"},
			dropped:  []string{"a"},
			modified: []string{"a"},
			newNames: []name{{"a", ""}, {"b", "a"}},
			oldNames: []name{{"a", "b"}, {"b", ""}},
		},
		{
			name:     "several columns in one ADD",
			clause:   "ADD COLUMN (x INT, y INT), ADD z INT FIRST",
			renamed:  map[string]string{},
			added:    []string{"x", "y", "z"},
			oldNames: []name{{"x", ""}, {"Y", ""}, {"z", ""}},
		},
		{
			name:     "index and default changes leave the mapping alone",
			clause:   "ADD INDEX (a), ALTER COLUMN b SET DEFAULT 1, RENAME INDEX i TO j",
			renamed:  map[string]string{},
			newNames: []name{{"a", "a"}, {"b", "b"}},
			oldNames: []name{{"a", "a"}, {"b", "b"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("d", "t", tt.clause)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(c.Renamed, tt.renamed) {
				t.Errorf("Renamed = %v, want %v", c.Renamed, tt.renamed)
			}
			if !slices.Equal(c.Dropped, tt.dropped) {
				t.Errorf("Dropped = %q, want %q", c.Dropped, tt.dropped)
			}
			if !slices.Equal(c.Added, tt.added) {
				t.Errorf("Added = %q, want %q", c.Added, tt.added)
			}
			if !slices.Equal(c.Modified, tt.modified) {
				t.Errorf("Modified = %q, want %q", c.Modified, tt.modified)
			}
			for _, n := range tt.newNames {
				got, ok := c.NewName(n.in)
				if ok != (n.want != "") || got != n.want {
					t.Errorf("NewName(%q) = %q, %v; want %q, %v", n.in, got, ok, n.want, n.want != "")
				}
			}
			for _, n := range tt.oldNames {
				got, ok := c.OldName(n.in)
				if ok != (n.want != "") || got != n.want {
					t.Errorf("OldName(%q) = %q, %v; want %q, %v", n.in, got, ok, n.want, n.want != "")
				}
			}
		})
	}
}

func TestTableWideFlags(t *testing.T) {
	tests := []struct {
		clause     string
		rebuildsPK bool
		charset    bool
	}{
		{"ADD COLUMN c INT", false, false},
		{"DROP PRIMARY KEY", true, false},
		{"ADD PRIMARY KEY (id)", true, false},
		{"DROP PRIMARY KEY, ADD PRIMARY KEY (id, c)", true, false},
		{"DROP INDEX `PRIMARY`", true, false},
		{"ADD COLUMN id2 BIGINT PRIMARY KEY", true, false},
		{"MODIFY id BIGINT NOT NULL PRIMARY KEY", true, false},
		{"ADD COLUMN (x INT, PRIMARY KEY (x))", true, false},
		{"ADD UNIQUE KEY (c)", false, false},
		{"CONVERT TO CHARACTER SET utf8mb4", false, true},
		{"DEFAULT CHARSET = utf8mb4", false, true},
		{"COLLATE = utf8mb4_bin", false, true},
		{"ENGINE = InnoDB", false, false},
		{"MODIFY c VARCHAR(10) CHARACTER SET latin1", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.clause, func(t *testing.T) {
			c, err := Parse("d", "t", tt.clause)
			if err != nil {
				t.Fatal(err)
			}
			if c.RebuildsPrimaryKey != tt.rebuildsPK {
				t.Errorf("RebuildsPrimaryKey = %v, want %v", c.RebuildsPrimaryKey, tt.rebuildsPK)
			}
			if c.ConvertsCharset != tt.charset {
				t.Errorf("ConvertsCharset = %v, want %v", c.ConvertsCharset, tt.charset)
			}
		})
	}
}
