package copier

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/godwit-db/godwit/internal/tableinfo"
)

func intPlan(n int) *Plan {
	cols := make([]tableinfo.Column, n)
	for i := range cols {
		cols[i] = colInt
	}
	k := keyOf(cols...)
	return &Plan{Schema: "db", Source: "t", Shadow: "_t_new", Key: k,
		SourceCols: append(k.names(false), "x"), ShadowCols: append(k.names(true), "x")}
}

// TestPlanWhereArgs checks the arguments of each kind of chunk; which rows
// the condition selects is TestPlanWhereSelectsChunk's business.
func TestPlanWhereArgs(t *testing.T) {
	p := intPlan(2)
	lo, up := []any{int64(1), int64(2)}, []any{int64(3), int64(4)}
	for _, tc := range []struct {
		name  string
		chunk Chunk
		args  []any
	}{
		{"whole table", Chunk{}, nil},
		{"first chunk", Chunk{Upper: up}, []any{int64(3), int64(3), int64(4)}},
		{"middle chunk", Chunk{Lower: lo, Upper: up}, []any{int64(1), int64(1), int64(2), int64(3), int64(3), int64(4)}},
		{"last chunk", Chunk{Lower: lo}, []any{int64(1), int64(1), int64(2)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cond, args := p.where(tc.chunk)
			if !reflect.DeepEqual(args, tc.args) {
				t.Errorf("where(%v) args %v, want %v", tc.chunk, args, tc.args)
			}
			if n := strings.Count(cond, "?"); n != len(args) {
				t.Errorf("%s: %d placeholders, %d args", cond, n, len(args))
			}
			if tc.chunk.Lower == nil && tc.chunk.Upper == nil && cond != "1=1" {
				t.Errorf("whole table: %q", cond)
			}
		})
	}
	// On the shadow, the same range under the shadow's column names.
	cond, _ := p.whereOn(Chunk{Lower: lo, Upper: up}, true)
	if strings.Contains(cond, "`a`") || !strings.Contains(cond, "`A`") || !strings.Contains(cond, "`B`") {
		t.Errorf("whereOn(shadow) = %s", cond)
	}
}

// TestPlanWhereSelectsChunk evaluates where() with SQL precedence over all
// small 1-, 2- and 3-column integer keys: a row is in the chunk exactly
// when Lower < row <= Upper.
func TestPlanWhereSelectsChunk(t *testing.T) {
	for n := 1; n <= 3; n++ {
		t.Run(fmt.Sprintf("%d columns", n), func(t *testing.T) {
			if n > 1 {
			}
			p := intPlan(n)
			keys := intKeys(n)
			bounds := append([][]int64{nil}, keys...)
			errs := 0
			for _, lo := range bounds {
				for _, up := range bounds {
					if lo != nil && up != nil && cmpTuple(lo, up) >= 0 {
						continue
					}
					var c Chunk
					if lo != nil {
						c.Lower = anyKey(lo)
					}
					if up != nil {
						c.Upper = anyKey(up)
					}
					cond, args := p.where(c)
					for _, row := range keys {
						want := (lo == nil || cmpTuple(row, lo) > 0) && (up == nil || cmpTuple(row, up) <= 0)
						if got := sqlBool(t, cond, args, rowOf(row)); got != want && errs < 5 {
							errs++
							t.Errorf("chunk (%v, %v]: row %v selected = %v\n  %s %v", lo, up, row, got, cond, args)
						}
					}
				}
			}
		})
	}
}
