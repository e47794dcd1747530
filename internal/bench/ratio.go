package main

import "slices"

// ratio sums up the idle runs of one scale against their native runs.
type ratio struct {
	Scale  int     `json:"scale"`
	Pairs  int     `json:"pairs"`
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// idleRatio is the median of the idle runs' ratios to the native run made
// just before each: one pair alone moves with the server's own variance.
func idleRatio(runs []*runResult, scale int) (ratio, bool) {
	var rs []float64
	for _, r := range runs {
		if r.Scale == scale && r.Run == runIdle && r.VsNative > 0 {
			rs = append(rs, r.VsNative)
		}
	}
	if len(rs) == 0 {
		return ratio{}, false
	}
	slices.Sort(rs)
	m := rs[len(rs)/2]
	if len(rs)%2 == 0 {
		m = round2((rs[len(rs)/2-1] + rs[len(rs)/2]) / 2)
	}
	return ratio{Scale: scale, Pairs: len(rs), Median: m, Min: rs[0], Max: rs[len(rs)-1]}, true
}
