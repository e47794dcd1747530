package workload

import (
	"database/sql"
	"hash/maphash"
	"strings"
	"testing"
)

func TestCells(t *testing.T) {
	jsonCol := -1
	for i, c := range columns {
		if c.typ == "JSON" {
			jsonCol = i
		}
	}
	if jsonCol < 0 {
		t.Fatal("no JSON column in the workload table")
	}
	// Lengths around the one-byte varint limit, NULL and the empty string.
	vals := make([]sql.NullString, len(columns))
	texts := []string{"", "a", strings.Repeat("x", 127), strings.Repeat("é", 64), strings.Repeat("\x00", 300)}
	for i := range vals {
		if i%6 != 5 {
			vals[i] = sql.NullString{String: texts[i%len(texts)], Valid: true}
		}
	}
	for _, lean := range []bool{false, true} {
		c := cellCodec{lean: lean, seed: maphash.MakeSeed()}
		cells := c.cells(c.row(vals))
		if len(cells) != len(columns) {
			t.Fatalf("lean=%v: %d cells, want %d", lean, len(cells), len(columns))
		}
		for i, v := range vals {
			if cells[i] != c.encode(i, v) {
				t.Errorf("lean=%v: cell %d does not split back to its encoding", lean, i)
			}
			got, ok := c.value(cells[i])
			if ok == lean || ok && got != v {
				t.Errorf("lean=%v: cell %d holds %v (ok %v), want %v", lean, i, got, ok, v)
			}
			other := sql.NullString{String: v.String + "?", Valid: true}
			if c.encode(i, other) == cells[i] {
				t.Errorf("lean=%v: %q and %q encode alike", lean, v.String, other.String)
			}
		}
		if c.encode(0, sql.NullString{}) == c.encode(0, sql.NullString{Valid: true}) {
			t.Errorf("lean=%v: NULL and the empty string encode alike", lean)
		}
		// MySQL prints JSON normalised: the lean model must see the same value.
		a := c.encode(jsonCol, sql.NullString{String: `{"b": [1, 2.50], "a": "x<y"}`, Valid: true})
		b := c.encode(jsonCol, sql.NullString{String: `{"a":"x<y","b":[1,2.50]}`, Valid: true})
		if lean && a != b {
			t.Error("lean: the same JSON value written two ways encodes differently")
		}
	}
}
