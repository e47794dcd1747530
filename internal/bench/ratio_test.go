package main

import "testing"

func TestIdleRatio(t *testing.T) {
	run := func(scale int, kind string, vs float64) *runResult {
		return &runResult{Scale: scale, Run: kind, VsNative: vs}
	}
	tests := []struct {
		name string
		runs []*runResult
		want ratio
		ok   bool
	}{
		{"none", []*runResult{run(1, runNative, 1)}, ratio{}, false},
		{"odd pairs", []*runResult{run(1, runNative, 1), run(1, runIdle, 1.3), run(1, runIdle, 1.1), run(1, runIdle, 1.2), run(1, runLoad, 2.5)},
			ratio{Scale: 1, Pairs: 3, Median: 1.2, Min: 1.1, Max: 1.3}, true},
		{"even pairs", []*runResult{run(1, runIdle, 1.3), run(1, runIdle, 1.1)},
			ratio{Scale: 1, Pairs: 2, Median: 1.2, Min: 1.1, Max: 1.3}, true},
		{"other scale and failed runs left out", []*runResult{run(4, runIdle, 1.5), run(1, runIdle, 0), run(1, runIdle, 1.05)},
			ratio{Scale: 1, Pairs: 1, Median: 1.05, Min: 1.05, Max: 1.05}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := idleRatio(tt.runs, 1)
			if got != tt.want || ok != tt.ok {
				t.Errorf("idleRatio = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}
