package copier

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/godwit-db/godwit/internal/sandboxtest"
)

// snapshots opens a consistent-snapshot transaction for each side, as the
// checksum before the cut-over does.
func snapshots(t *testing.T, db *sql.DB) [2]Querier {
	t.Helper()
	var out [2]Querier
	for i := range out {
		tx, err := db.BeginTx(t.Context(), &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tx.Rollback() })
		out[i] = tx
	}
	return out
}

// rowsTable creates src (id, v) with rows 1..n and an empty shadow
// _src_new like it, and returns godwit's pool and the plan between them.
func rowsTable(t *testing.T, sb *sandboxtest.Sandbox, n int) (*sql.DB, *Plan) {
	t.Helper()
	sb.Exec(t, "CREATE TABLE src (id INT NOT NULL PRIMARY KEY, v VARCHAR(20))")
	sb.Exec(t, fmt.Sprintf("INSERT INTO src SELECT seq, CONCAT('row', seq) FROM seq_1_to_%d", n))
	sb.Exec(t, "CREATE TABLE _src_new LIKE src")
	return openGodwit(t, sb), planFor(t, sb, "src", "_src_new", "PRIMARY")
}

func checksumRest(t *testing.T, db *sql.DB, p *Plan, keys, splits [][]any) ChecksumResult {
	t.Helper()
	res, err := p.ChecksumRest(t.Context(), snapshots(t, db), keys, splits, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestVerifierCoverage: only chunks that cover the table from its start,
// in order, to its open end make a complete verification; a copy resumed
// half way (migrate starts no Verifier for it) or a gap is an error, and
// the final checksum compares the whole table.
func TestVerifierCoverage(t *testing.T) {
	sb := sandboxtest.New(t)
	db, p := rowsTable(t, sb, 100)
	sb.Exec(t, "INSERT INTO _src_new SELECT * FROM src")
	k := func(v int64) []any { return []any{v} }
	for _, tc := range []struct {
		name     string
		chunks   []Chunk
		complete bool
		fails    bool
	}{
		{"whole", []Chunk{{nil, k(40)}, {k(40), k(80)}, {k(80), nil}}, true, false},
		{"one open chunk", []Chunk{{nil, nil}}, true, false},
		{"resumed half way", []Chunk{{k(40), k(80)}, {k(80), nil}}, false, true},
		{"not to the end", []Chunk{{nil, k(40)}, {k(40), k(80)}}, false, false},
		{"gap", []Chunk{{nil, k(40)}, {k(50), nil}}, false, true},
		{"past the end", []Chunk{{nil, nil}, {k(1), nil}}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := StartVerifier(t.Context(), p, db, NewChanges(), nil)
			defer v.Stop()
			for _, c := range tc.chunks {
				v.Add([]Chunk{c})
			}
			got, err := v.Finish(t.Context())
			if got.Complete != tc.complete || (err != nil) != tc.fails {
				t.Fatalf("complete %v, err %v; want complete %v, failure %v", got.Complete, err, tc.complete, tc.fails)
			}
			if !tc.fails && got.Differed != 0 {
				t.Fatalf("%d chunks differed in equal tables", got.Differed)
			}
		})
	}
}

// TestChecksumRestFindsDifferences: a row that differs when its chunk is
// checked during the copy, a changed key whose shadow row is wrong, and a
// row lost from the shadow where no key says so, are all found before the
// swap. The rows are counted in the ranges between the Verifier's splits.
func TestChecksumRestFindsDifferences(t *testing.T) {
	sb := sandboxtest.New(t)
	defer func(n int64) { countRangeRows = n }(countRangeRows)
	countRangeRows = 700
	db, p := rowsTable(t, sb, 3000)
	changes := NewChanges()
	changes.TrackTouched(1000)
	stream := startStream(t, sb, db, p, changes)
	v := StartVerifier(t.Context(), p, db, changes, nil)
	defer v.Stop()
	c := &Copier{DB: db, Plan: p, Changes: changes, MaxChunk: 500, Threads: 2}
	// A row of the first round goes wrong behind the binlog's back before
	// its chunk is checked.
	c.Copied = func(chunks []Chunk) {
		if chunks[0].Lower == nil {
			sb.Exec(t, "UPDATE _src_new SET v = 'wrong' WHERE id = 7")
		}
		v.Add(chunks)
	}
	if err := c.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	ahead, err := v.Finish(t.Context())
	if err != nil || !ahead.Complete || ahead.Differed != 1 || ahead.Suspects != 1 || ahead.Rows != 3000 {
		t.Fatalf("verified during the copy: %+v (%v), want complete with one differing row", ahead, err)
	}
	if len(ahead.Splits) < 2 || len(ahead.Splits) > 4 || !increasing(ahead.Splits) {
		t.Fatalf("splits %v: want 2-4 increasing keys, at least 700 rows apart, for 3000 rows", ahead.Splits)
	}
	splits := ahead.Splits
	for id := 100; id < 110; id++ {
		sb.Exec(t, "UPDATE src SET v = 'changed' WHERE id = ?", id)
	}
	catchUp(t, db, stream, c)
	keys, ok := changes.Touched()
	if !ok || len(keys) != 11 {
		t.Fatalf("touched: %v (%v), want the 10 updated keys and the differing one", keys, ok)
	}
	res := checksumRest(t, db, p, keys, splits)
	if len(res.MismatchedKeys) == 0 || fmt.Sprint(res.Examples) != "[differs: ('7')]" || res.Keys != 11 {
		t.Fatalf("the row wrong since the copy: %+v", res)
	}
	sb.Exec(t, "UPDATE _src_new SET v = 'row7' WHERE id = 7")
	if res := checksumRest(t, db, p, keys, splits); len(res.MismatchedKeys) != 0 || res.Counts != [2]int64{3000, 3000} {
		t.Fatalf("clean: %+v", res)
	}

	// A wrong row under a changed key (as if an apply had gone wrong).
	sb.Exec(t, "UPDATE _src_new SET v = 'wrong' WHERE id = 105")
	res = checksumRest(t, db, p, keys, splits)
	if len(res.MismatchedKeys) == 0 || fmt.Sprint(res.Examples) != "[differs: ('105')]" {
		t.Fatalf("wrong changed row: %+v", res)
	}
	sb.Exec(t, "UPDATE _src_new SET v = 'changed' WHERE id = 105")

	// A row lost from the shadow behind the binlog's back, or added: the
	// counts, whether the row lies inside a range or on a split, which
	// belongs to the range below it.
	for _, tc := range []struct {
		name, stmt, undo string
		want             [2]int64
	}{
		{"lost", "DELETE FROM _src_new WHERE id = 2999", "INSERT INTO _src_new SELECT * FROM src WHERE id = 2999", [2]int64{3000, 2999}},
		{"lost on a split", "DELETE FROM _src_new WHERE id = ?", "INSERT INTO _src_new SELECT * FROM src WHERE id = ?", [2]int64{3000, 2999}},
		{"added", "INSERT INTO _src_new VALUES (5000, 'extra')", "DELETE FROM _src_new WHERE id = 5000", [2]int64{3000, 3001}},
	} {
		var args []any
		if strings.Contains(tc.stmt, "?") {
			args = splits[0]
		}
		sb.Exec(t, tc.stmt, args...)
		res = checksumRest(t, db, p, keys, splits)
		if len(res.MismatchedKeys) != 0 || res.Counts != tc.want {
			t.Fatalf("%s row: %+v, want counts %v", tc.name, res, tc.want)
		}
		sb.Exec(t, tc.undo, args...)
	}
	if res := checksumRest(t, db, p, keys, splits); res.Counts != [2]int64{3000, 3000} {
		t.Fatalf("after undoing: %+v", res)
	}
}

// TestDifferingKeysSplit finds, in a chunk of several pieces, exactly the
// rows that differ, are missing or are extra, whichever piece holds them,
// and leaves out the keys it is told to skip.
func TestDifferingKeysSplit(t *testing.T) {
	sb := sandboxtest.New(t)
	db, p := rowsTable(t, sb, 25000)
	sb.Exec(t, "INSERT INTO _src_new SELECT * FROM src")
	sb.Exec(t, "UPDATE _src_new SET v = 'wrong' WHERE id IN (3, 12000, 24999)")
	sb.Exec(t, "DELETE FROM _src_new WHERE id = 15000")
	sb.Exec(t, "INSERT INTO _src_new VALUES (30000, 'extra')")
	sb.Exec(t, "UPDATE src SET v = 'in flight' WHERE id = 20000")
	for _, tc := range []struct {
		chunk Chunk
		want  string
	}{
		{Chunk{nil, nil}, "[3 12000 15000 24999 30000]"},
		{Chunk{[]any{int64(2)}, []any{int64(14000)}}, "[3 12000]"},
		{Chunk{[]any{int64(14000)}, nil}, "[15000 24999 30000]"},
	} {
		keys, err := p.differingKeysSplit(t.Context(), db, tc.chunk, [][]any{{int64(20000)}})
		if err != nil {
			t.Fatal(err)
		}
		var ids []int
		for _, k := range keys {
			ids = append(ids, int(k[0].(int64)))
		}
		slices.Sort(ids)
		if fmt.Sprint(ids) != tc.want {
			t.Errorf("chunk %v: differing keys %v, want %s", tc.chunk, ids, tc.want)
		}
	}
}

func increasing(keys [][]any) bool {
	for i := 1; i < len(keys); i++ {
		if compareKeys(keys[i-1], keys[i]) >= 0 {
			return false
		}
	}
	return true
}

// TestChecksumStepRunner: every step of the checksums, key batches and
// count ranges alike, runs through the StepRunner, which writes beside
// them as the application and the applies do: the snapshots do not see
// those writes, and a runner's error ends the checksum with it.
func TestChecksumStepRunner(t *testing.T) {
	sb := sandboxtest.New(t)
	db, p := rowsTable(t, sb, 2000)
	sb.Exec(t, "INSERT INTO _src_new SELECT * FROM src")
	var keys [][]any
	for id := int64(1); id <= 1200; id++ { // three batches of checksumKeyBatch
		keys = append(keys, []any{id})
	}
	splits := [][]any{{int64(700)}, {int64(1400)}} // three count ranges
	var steps, written int
	runner := func(ctx context.Context, step func(context.Context) error) error {
		steps++
		written++
		// A write the snapshots must not see: a step's reads stay
		// consistent whatever is applied while it runs.
		if _, err := db.ExecContext(ctx, "INSERT INTO _src_new VALUES (?, 'beside')", 10_000+written); err != nil {
			return err
		}
		return step(ctx)
	}
	snap := snapshots(t, db)
	for _, q := range snap { // open the read views before any write
		var n int
		if err := q.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM src WHERE id = 1").Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
	res, err := p.ChecksumRest(t.Context(), snap, keys, splits, runner, nil)
	if err != nil {
		t.Fatal(err)
	}
	if steps != 6 || res.Keys != 1200 || len(res.MismatchedKeys) != 0 || res.Counts != [2]int64{2000, 2000} {
		t.Fatalf("%d steps, result %+v: want 6 steps (3 key batches, 3 ranges), 1200 keys equal, 2000 rows each", steps, res)
	}

	steps = 0
	whole, err := p.Checksum(t.Context(), snap, db, runner, nil)
	if err != nil {
		t.Fatal(err)
	}
	if steps != int(whole.Chunks) || steps == 0 || len(whole.Mismatched) != 0 || whole.Rows != 2000 {
		t.Fatalf("whole checksum: %d steps, %+v: want a step a chunk, none differing", steps, whole)
	}

	stop := errors.New("stop here")
	_, err = p.ChecksumRest(t.Context(), snap, keys, splits, func(context.Context, func(context.Context) error) error { return stop }, nil)
	if !errors.Is(err, stop) {
		t.Fatalf("a runner's error: got %v", err)
	}
	if _, err := p.Checksum(t.Context(), snap, db, func(context.Context, func(context.Context) error) error { return stop }, nil); !errors.Is(err, stop) {
		t.Fatalf("a runner's error in the whole checksum: got %v", err)
	}
}
