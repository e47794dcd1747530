package throttle

import (
	"context"
	"testing"
	"time"
)

// TestPauseHeldApartFromLoad: a Pause limit holds the copy like any other,
// but its time and reason are a person's pause, not the server's load.
func TestPauseHeldApartFromLoad(t *testing.T) {
	load, pause := &fakeProbe{name: "load"}, &fakeProbe{name: "pause"}
	r := start(t, Config{Limits: []Limit{{Probe: load, Max: 10}, {Probe: pause, Pause: true}}, Interval: 5 * time.Millisecond})
	pause.set(1, nil)
	eventually(t, time.Second, "paused", func() bool { return r.State().Paused })
	ch := waitAsync(r.Throttler, 5*time.Second)
	blocked(t, ch, 100*time.Millisecond, "while paused")
	if st := r.State(); st.Throttled || st.Reason != "" || st.PauseReason != "pause 1 > 0" || st.ThrottledFor != 0 {
		t.Errorf("state while paused: %+v", st)
	}
	pause.set(0, nil)
	if err := <-ch; err != nil {
		t.Fatal(err)
	}
	load.set(11, nil)
	eventually(t, time.Second, "throttled", func() bool { return r.State().Throttled })
	time.Sleep(50 * time.Millisecond)
	load.set(0, nil)
	eventually(t, time.Second, "free", func() bool { return !r.State().Throttled })
	st := r.State()
	if st.Paused || st.PauseReason != "" || st.PausedFor < 100*time.Millisecond || st.ThrottledFor < 50*time.Millisecond {
		t.Errorf("state after both: %+v", st)
	}
}

// TestRemeasure: a caller that saw a probe's cause change gets a decision
// measured after it, not the one from the last interval.
func TestRemeasure(t *testing.T) {
	p := &fakeProbe{name: "pause", v: 1}
	r := start(t, Config{Limits: []Limit{{Probe: p, Pause: true}}, Interval: time.Hour})
	eventually(t, time.Second, "paused", func() bool { return r.State().Paused })
	p.set(0, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Remeasure(ctx); err != nil {
		t.Fatal(err)
	}
	if st := r.State(); st.Paused {
		t.Fatalf("state after Remeasure: %+v", st)
	}
}
