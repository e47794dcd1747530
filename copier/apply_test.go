package copier

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// recorder is an execer that records statements instead of running them.
type recorder struct {
	stmts []string
	args  [][]any
	fail  string // fail statements containing this
}

type rowsResult int64

func (r rowsResult) LastInsertId() (int64, error) { return 0, nil }
func (r rowsResult) RowsAffected() (int64, error) { return int64(r), nil }

func (r *recorder) ExecContext(_ context.Context, q string, args ...any) (sql.Result, error) {
	r.stmts = append(r.stmts, q)
	r.args = append(r.args, append([]any(nil), args...))
	if r.fail != "" && strings.Contains(q, r.fail) {
		return nil, fmt.Errorf("injected failure")
	}
	return rowsResult(len(args)), nil
}

func TestInsertSelectSQL(t *testing.T) {
	p := intPlan(2)
	want := "/* godwit */ INSERT INTO `db`.`_t_new` (`A`, `B`, `x`) SELECT `a`, `b`, `x` FROM `db`.`t` FORCE INDEX (`PRIMARY`)"
	if got := p.insertSelect(); got != want {
		t.Errorf("insertSelect\n got %s\nwant %s", got, want)
	}
}

// TestApplyRangeStatements: the keys applied again are bounded below in
// the DELETE as well as the INSERT, or a row already right would be
// deleted and not copied back.
func TestApplyRangeStatements(t *testing.T) {
	p := intPlan(1)
	r := &recorder{}
	keys := [][]any{{int64(3)}, {int64(9)}}
	if _, err := p.applyRange(context.Background(), r, keys, []any{int64(4)}, []any{int64(20)}); err != nil {
		t.Fatal(err)
	}
	if want := "/* godwit */ DELETE FROM `db`.`_t_new` WHERE `A` IN (?, ?) AND `A` > ?"; len(r.stmts) != 2 || r.stmts[0] != want {
		t.Fatalf("statements %q, want first %s", r.stmts, want)
	}
	if want := p.insertSelect() + " WHERE `a` IN (?, ?) AND `a` > ? AND `a` <= ? LOCK IN SHARE MODE"; r.stmts[1] != want {
		t.Errorf("INSERT\n got %s\nwant %s", r.stmts[1], want)
	}
	if wantArgs := [][]any{{int64(3), int64(9), int64(4)}, {int64(3), int64(9), int64(4), int64(20)}}; !reflect.DeepEqual(r.args, wantArgs) {
		t.Errorf("args %v, want %v", r.args, wantArgs)
	}
}

func TestApplyStatements(t *testing.T) {
	p := intPlan(1)
	r := &recorder{}
	keys := [][]any{{int64(3)}, {int64(9)}}
	if _, err := p.apply(context.Background(), r, keys, []any{int64(5)}); err != nil {
		t.Fatal(err)
	}
	if len(r.stmts) != 2 {
		t.Fatalf("statements %q, want a DELETE and an INSERT", r.stmts)
	}
	if want := "/* godwit */ DELETE FROM `db`.`_t_new` WHERE `A` IN (?, ?)"; r.stmts[0] != want {
		t.Errorf("DELETE\n got %s\nwant %s", r.stmts[0], want)
	}
	// Which rows the INSERT selects is TestApplySelectsKeysUpToWatermark's.
	if head := p.insertSelect() + " WHERE `a` IN (?, ?) AND "; !strings.HasPrefix(r.stmts[1], head) {
		t.Errorf("INSERT\n got %s\nwant %s...", r.stmts[1], head)
	}
	if wantArgs := [][]any{{int64(3), int64(9)}, {int64(3), int64(9), int64(5)}}; !reflect.DeepEqual(r.args, wantArgs) {
		t.Errorf("args %v, want %v", r.args, wantArgs)
	}
}

// TestApplySelectsKeysUpToWatermark evaluates apply's statements with SQL
// precedence: the DELETE removes every changed key from the shadow, the
// INSERT re-reads exactly the changed keys at or below the watermark.
func TestApplySelectsKeysUpToWatermark(t *testing.T) {
	for n := 1; n <= 3; n++ {
		t.Run(fmt.Sprintf("%d columns", n), func(t *testing.T) {
			if n > 1 {
			}
			p := intPlan(n)
			all := intKeys(n)
			changed := [][]int64{all[1], all[len(all)/2], all[len(all)-1]}
			var keys [][]any
			isChanged := map[string]bool{}
			for _, k := range changed {
				keys = append(keys, anyKey(k))
				isChanged[fmt.Sprint(k)] = true
			}
			errs := 0
			for _, upto := range append([][]int64{nil}, all...) {
				r := &recorder{}
				var u []any
				if upto != nil {
					u = anyKey(upto)
				}
				if _, err := p.apply(context.Background(), r, keys, u); err != nil {
					t.Fatal(err)
				}
				if len(r.stmts) != 2 {
					t.Fatalf("%d statements, want 2", len(r.stmts))
				}
				del := strings.SplitN(r.stmts[0], " WHERE ", 2)[1]
				ins, locking := strings.CutSuffix(strings.SplitN(r.stmts[1], " WHERE ", 2)[1], " LOCK IN SHARE MODE")
				if !locking {
					t.Errorf("the apply's INSERT ... SELECT is not a locking read: %s", r.stmts[1])
				}
				for _, row := range all {
					inKeys := isChanged[fmt.Sprint(row)]
					if got := sqlBool(t, del, r.args[0], rowOf(row)); got != inKeys {
						t.Errorf("DELETE %s %v: row %v = %v", del, r.args[0], row, got)
					}
					want := inKeys && (upto == nil || cmpTuple(row, upto) <= 0)
					if got := sqlBool(t, ins, r.args[1], rowOf(row)); got != want && errs < 5 {
						errs++
						t.Errorf("watermark %v: INSERT selects row %v = %v, want %v\n  %s %v", upto, row, got, want, ins, r.args[1])
					}
				}
			}
		})
	}
}

func TestApplyBatches(t *testing.T) {
	p := intPlan(2)
	var keys [][]any
	for i := range 1201 {
		keys = append(keys, []any{int64(i / 10), int64(i % 10)})
	}
	r := &recorder{}
	n, err := p.apply(context.Background(), r, keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.stmts) != 6 {
		t.Fatalf("%d statements, want 3 DELETE + 3 INSERT", len(r.stmts))
	}
	// Every DELETE before any INSERT: keys swapping a unique value across
	// batches must not meet in the shadow.
	var total int64
	for i, size := range []int{500, 500, 201} {
		del, ins := r.args[i], r.args[3+i]
		if len(del) != 2*size || len(ins) != 2*size {
			t.Errorf("batch %d: %d and %d args, want %d", i, len(del), len(ins), 2*size)
		}
		if !strings.HasPrefix(r.stmts[i], "/* godwit */ DELETE") || !strings.HasPrefix(r.stmts[3+i], "/* godwit */ INSERT") {
			t.Errorf("batch %d: %q, %q", i, r.stmts[i][:30], r.stmts[3+i][:30])
		}
		if c := strings.Count(r.stmts[i], "?"); c != 2*size {
			t.Errorf("batch %d: %d placeholders", i, c)
		}
		first := keys[i*500]
		if del[0] != first[0] || del[1] != first[1] {
			t.Errorf("batch %d starts with %v, want %v", i, del[:2], first)
		}
		total += int64(len(ins))
	}
	if n != total {
		t.Errorf("apply reported %d rows, the inserts %d", n, total)
	}
}

func TestApplyStopsOnError(t *testing.T) {
	p := intPlan(1)
	for _, fail := range []string{"DELETE", "INSERT"} {
		r := &recorder{fail: fail}
		_, err := p.apply(context.Background(), r, [][]any{{int64(1)}}, nil)
		if err == nil || !strings.Contains(err.Error(), "("+strings.ToLower(fail)+")") {
			t.Errorf("failing %s: error %v", fail, err)
		}
	}
}

// TestFlushOn applies every pending key, with no watermark, through the
// cut-over connection once the copy is done.
func TestFlushOn(t *testing.T) {
	c := &Copier{Plan: intPlan(1), Changes: NewChanges()}
	c.done = true
	c.Changes.Add([]any{int64(4)})
	c.Changes.Add([]any{int64(4)})
	r := &recorder{}
	n, err := c.FlushOn(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.stmts) != 2 || strings.Contains(r.stmts[1], "<=") || n != 1 {
		t.Errorf("FlushOn: %d rows, statements %q", n, r.stmts)
	}
	if c.Changes.Len() != 0 || c.Progress().RowsApplied != 1 {
		t.Errorf("pending %d, applied %d", c.Changes.Len(), c.Progress().RowsApplied)
	}
	r = &recorder{}
	if n, err := c.FlushOn(context.Background(), r); err != nil || n != 0 || len(r.stmts) != 0 {
		t.Errorf("FlushOn with nothing pending: %d, %v, %q", n, err, r.stmts)
	}
}

// TestFlushOnKeepsKeysWhenCutOff: an apply under the cut-over lock that
// fails part way (the budget ran out) must leave every key pending, or the
// next attempt would swap without them.
func TestFlushOnKeepsKeysWhenCutOff(t *testing.T) {
	c := &Copier{Plan: intPlan(1), Changes: NewChanges()}
	c.done = true
	for i := range applyBatch + 10 { // two batches
		c.Changes.Add([]any{int64(i)})
	}
	r := &recorder{fail: "INSERT"}
	if _, err := c.FlushOn(context.Background(), r); err == nil {
		t.Fatal("FlushOn succeeded with a failing insert")
	}
	if got := c.Changes.Len(); got != applyBatch+10 {
		t.Fatalf("%d keys pending after the failed apply, want %d", got, applyBatch+10)
	}
}
