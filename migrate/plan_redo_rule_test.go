package migrate

import "testing"

func TestRedoRisk(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		index, capacity int64
		risk            bool
	}{
		{100 * mib, 96 * mib, true}, // the benchmark's 4M rows: writers stalled 0.5-1 s
		{25 * mib, 96 * mib, false}, // its 1M rows: no stall
		{48 * mib, 96 * mib, false}, // half is still fine
		{49 * mib, 96 * mib, true},  // past half
		{100 * mib, 2048 * mib, false},
		{100 * mib, 0, false}, // unknown capacity: reported as not checked, not as a risk
	} {
		if got := redoRisk(tc.index, tc.capacity); got != tc.risk {
			t.Errorf("redoRisk(%d MiB, %d MiB) = %v, want %v", tc.index/mib, tc.capacity/mib, got, tc.risk)
		}
	}
}
