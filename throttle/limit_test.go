package throttle

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
)

// fakeProbe returns whatever the test sets.
type fakeProbe struct {
	name string
	mu   sync.Mutex
	v    float64
	err  error
	n    int // measurements so far
}

func (f *fakeProbe) Name() string { return f.name }
func (f *fakeProbe) Measure(context.Context) (float64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	return f.v, f.err
}
func (f *fakeProbe) set(v float64, err error) {
	f.mu.Lock()
	f.v, f.err = v, err
	f.mu.Unlock()
}

func TestJudge(t *testing.T) {
	boom := errors.New("boom")
	type step struct {
		v        float64
		err      error
		over     bool
		critical bool
	}
	for _, tc := range []struct {
		name          string
		max, critical float64
		criticalAfter int
		steps         []step
	}{
		{
			name: "under max never throttles", max: 10,
			steps: []step{{v: 0}, {v: 5}, {v: 10}, {v: 9.99}},
		},
		{
			name: "over max throttles, resumes only at 80% of max", max: 10,
			steps: []step{
				{v: 5},
				{v: 11, over: true},
				{v: 10, over: true}, // at max but above the resume level
				{v: 8.5, over: true},
				{v: 8},   // at the resume level: resume
				{v: 9.5}, // back in the band without having crossed max: fine
				{v: 10.5, over: true},
				{v: 2},
			},
		},
		{
			name: "max 0 (query, flag file): over when above 0, resume at 0", max: 0,
			steps: []step{{v: 0}, {v: 1, over: true}, {v: 1, over: true}, {v: 0}, {v: -1}},
		},
		{
			name: "an error throttles, and releases through the hysteresis", max: 10,
			steps: []step{
				{v: 1},
				{err: boom, over: true},
				{err: boom, over: true},
				{v: 9, over: true}, // the error held the copy: 9 > 8 keeps it
				{v: 7},
			},
		},
		{
			name: "critical after two consecutive readings", max: 10, critical: 20, criticalAfter: 2,
			steps: []step{
				{v: 25, over: true},
				{v: 15, over: true}, // the run is broken
				{v: 21, over: true},
				{v: 22, over: true, critical: true},
			},
		},
		{
			name: "an error breaks a critical run and never is critical", max: 10, critical: 20, criticalAfter: 2,
			steps: []step{
				{v: 25, over: true},
				{err: boom, over: true},
				{v: 25, over: true},
				{err: boom, over: true},
				{err: boom, over: true},
			},
		},
		{
			name: "critical at once with criticalAfter 1", max: 0, critical: 3, criticalAfter: 1,
			steps: []step{{v: 3, over: true}, {v: 5, over: true, critical: true}},
		},
		{
			name: "no critical when 0", max: 1,
			steps: []step{{v: 1e12, over: true}, {v: 1e12, over: true}, {v: 1e12, over: true}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := Limit{Probe: &fakeProbe{name: "fake"}, Max: tc.max, Critical: tc.critical}
			after := tc.criticalAfter
			if after == 0 {
				after = DefaultCriticalAfter
			}
			var st limitState
			for i, s := range tc.steps {
				var crit string
				st, crit = judge(l, st, s.v, s.err, DefaultResume, after)
				if st.over != s.over {
					t.Errorf("step %d (v=%g err=%v): over = %v, want %v (reason %q)", i, s.v, s.err, st.over, s.over, st.reason)
				}
				if (crit != "") != s.critical {
					t.Errorf("step %d (v=%g): critical = %q, want %v", i, s.v, crit, s.critical)
				}
				if st.over && !strings.Contains(st.reason, "fake") {
					t.Errorf("step %d: reason %q does not name the probe", i, st.reason)
				}
			}
		})
	}
}

func TestReasons(t *testing.T) {
	for _, tc := range []struct {
		probe Probe
		v     float64
		max   float64
		prev  bool
		want  string
	}{
		{&fakeProbe{name: "Threads_running"}, 40, 25, false, "Threads_running 40 > 25"},
		{&fakeProbe{name: "Threads_running"}, 22, 25, true, "Threads_running 22 > 20, the resume level"},
		{&fakeProbe{name: "x"}, 2.5, 0.3, false, "x 2.5 > 0.3"},
		{NewReplicaLag("127.0.0.1:33062", nil, nil), 3.21, 2, false, "replica 127.0.0.1:33062 lag 3.2s > 2s"},
		{NewReplicaLag("r:1", nil, nil), 0.45, 0.5, true, "replica r:1 lag 450ms > 400ms, the resume level"},
		{NewFlagFile("/tmp/stop"), 1, 0, false, "flag file /tmp/stop exists"},
		{NewQuery(nil, "SELECT 5;"), 5, 0, false, "throttle query returned 5 > 0"},
	} {
		st, _ := judge(Limit{Probe: tc.probe, Max: tc.max}, limitState{over: tc.prev}, tc.v, nil, 0.8, 1)
		if st.reason != tc.want {
			t.Errorf("reason = %q, want %q", st.reason, tc.want)
		}
	}
	if q := NewQuery(nil, " SELECT 5 ; \n").query; q != "SELECT 5" {
		t.Errorf("query trimmed to %q", q)
	}
}
