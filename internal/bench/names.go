package main

import (
	"fmt"
	"path/filepath"
)

// title names a run in the tables, with its pair when runs repeat.
func (r *runResult) title() string {
	if r.Pair > 0 {
		return fmt.Sprintf("%s #%d", runTitle[r.Run], r.Pair)
	}
	return runTitle[r.Run]
}

// logPath is where a godwit run's log goes: one file per run, pairs apart.
func (r *runResult) logPath(dir, stamp string) string {
	name := fmt.Sprintf("%s-%s-x%d", stamp, r.Run, r.Scale)
	if r.Pair > 0 {
		name += fmt.Sprintf("-%d", r.Pair)
	}
	return filepath.Join(dir, name+".godwit.log")
}
