package migrate

import (
	"slices"
	"testing"

	"github.com/godwit-db/godwit/internal/tableinfo"
	"github.com/godwit-db/godwit/migrate/alter"
)

// TestComparedColumns: the checksum compares every column the two tables
// share, found from the tables themselves, so that a column the copy
// skipped (as MySQL's DEFAULT_GENERATED columns once were) cannot pass as
// equal. Only generated columns are left to the server.
func TestComparedColumns(t *testing.T) {
	change, err := alter.Parse("db", "t", "RENAME COLUMN a TO a2, ADD COLUMN fresh INT, DROP COLUMN gone")
	if err != nil {
		t.Fatal(err)
	}
	col := func(name string, generated bool) tableinfo.Column {
		return tableinfo.Column{Name: name, DataType: "int", ColumnType: "int", Generated: generated}
	}
	m := &migration{
		change: change,
		source: &tableinfo.Table{Name: "t", Columns: []tableinfo.Column{col("id", false), col("a", false), col("created", false), col("gone", false), col("g", true)}},
		shadow: &tableinfo.Table{Name: "_t_new", Columns: []tableinfo.Column{col("id", false), col("a2", false), col("created", false), col("g", true), col("fresh", false)}},
	}
	var got []string
	for _, c := range m.compared() {
		got = append(got, c.Source+">"+c.Shadow)
	}
	if want := []string{"id>id", "a>a2", "created>created"}; !slices.Equal(got, want) {
		t.Fatalf("compared %v, want %v", got, want)
	}
}
