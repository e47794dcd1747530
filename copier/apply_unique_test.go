package copier

import (
	"testing"

	"github.com/godwit-db/godwit/internal/sandboxtest"
)

// TestApplyUniqueSwap: two keys far apart swap the values of a unique
// index, among enough other changes to fill several batches and several
// parallel parts. Applied batch after batch or in parts at once, the
// shadow ends equal to the source, with no duplicate-key error between the
// keys' old and new rows.
func TestApplyUniqueSwap(t *testing.T) {
	sb := sandboxtest.New(t)
	const rows = 2000
	sb.Exec(t, "CREATE TABLE src (id INT NOT NULL PRIMARY KEY, u INT NOT NULL, v VARCHAR(20), UNIQUE KEY (u))")
	sb.Exec(t, "INSERT INTO src SELECT seq, seq, 'v0' FROM seq_1_to_2000")
	sb.Exec(t, "CREATE TABLE _src_new LIKE src")
	sb.Exec(t, "INSERT INTO _src_new SELECT * FROM src")
	db, p := openGodwit(t, sb), planFor(t, sb, "src", "_src_new", "PRIMARY")
	var keys [][]any
	for id := int64(1); id <= rows; id++ {
		keys = append(keys, []any{id})
	}
	for _, tc := range []struct {
		name  string
		apply func() (int64, error)
	}{
		{"batch after batch", func() (int64, error) { return p.applyTx(t.Context(), db, keys, nil, nil, nil) }},
		{"parts at once", func() (int64, error) { return p.applyParallel(t.Context(), db, keys, nil, nil, nil) }},
	} {
		sb.Exec(t, "UPDATE src SET v = ?", tc.name)
		sb.Exec(t, "UPDATE src SET u = -u WHERE id IN (1, 1999)")
		sb.Exec(t, "UPDATE src SET u = 1999 WHERE id = 1")
		sb.Exec(t, "UPDATE src SET u = 1 WHERE id = 1999")
		n, err := tc.apply()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if n != rows {
			t.Errorf("%s: applied %d rows, want %d", tc.name, n, rows)
		}
		sameRows(t, db, p)
		// Swapped back for the next case.
		sb.Exec(t, "UPDATE src SET u = -u WHERE id IN (1, 1999)")
		sb.Exec(t, "UPDATE src SET u = 1 WHERE id = 1")
		sb.Exec(t, "UPDATE src SET u = 1999 WHERE id = 1999")
	}
}
